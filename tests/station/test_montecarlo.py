"""The Monte Carlo method (GUM Supplement 1, JCGM 101:2008) against the
distributions a metrologist can work out on paper: the rectangular, the
trapezoid of two rectangulars, the Gaussian, Student's t; and what it says
of the GUM's k = 2 interval for a budget dominated by a rectangular
specification.

"Agrees" means within the numerical tolerance delta the adaptive procedure
stopped at (u written with two significant digits, JCGM 101 7.9.2): the
procedure's own claim of accuracy. The generators are seeded, so each check
gives the same figures on every run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from station.metrology.budget import (
    MODELS,
    Component,
    Distribution,
    Inputs,
    combine,
    rectangular,
    type_a,
)
from station.metrology.montecarlo import (
    MonteCarlo,
    batch_size,
    coverage,
    numerical_tolerance,
    propagate,
    sample,
    shortest_interval,
)

INF = math.inf
P = 0.95
#: Two-sided 95 % points from the tables (scipy is not a dependency of the project).
Z_975 = 1.959964  # standard normal
T_975_4 = 2.776445  # Student's t, 4 degrees of freedom
T_975_1 = 12.706205  # Student's t, 1 degree of freedom


def rng(seed: int = 101) -> np.random.Generator:
    return np.random.default_rng(seed)


def normal(name: str, u: float, sensitivity: float = 1.0) -> Component:
    return Component(name, "B", "normal", u, 1.0, sensitivity, INF, "")


def delta(r: MonteCarlo) -> float:
    """The numerical tolerance the result claims (two significant digits of u)."""
    return numerical_tolerance(r.u, 2)


def trapezoid_half_width(a: float, b: float, p: float) -> float:
    """The shortest p interval of X1 + X2, X1 uniform on [-a, a] and X2 on
    [-b, b]: a symmetric trapezoid, base half-width A = a + b, top
    half-width B = |a - b|, height 1 / (A + B).

    The flat top holds B / max(a, b) of the probability. If p is no more,
    any interval of length p (A + B) inside the top is a shortest one: half
    width p max(a, b). Otherwise the interval is [-y0, y0] with y0 on the
    slopes, each slope's tail beyond y0 holding (A - y0)^2 / (2 (A^2 - B^2)):
    1 - p = (A - y0)^2 / (A^2 - B^2), A^2 - B^2 = 4ab, so
    y0 = a + b - 2 sqrt((1 - p) a b)."""
    big = max(a, b)
    if p <= abs(a - b) / big:
        return p * big
    return a + b - 2.0 * math.sqrt((1.0 - p) * a * b)


def trapezoid_coverage(a: float, b: float, x: float) -> float:
    """The probability of [-x, x] under the trapezoid above, for |a - b| <= x <= a + b."""
    A = a + b
    return 1.0 - (A - x) ** 2 / (4.0 * a * b)


# -- one and two rectangular components --------------------------------------------


def test_one_rectangular_gives_p_a_and_u_a_over_sqrt3() -> None:
    a = 120e-6  # a 5522A's 90-day limit at 10 V
    r = propagate([rectangular("standard", a, "")], P, rng=rng())
    assert r.converged and r.probability == P
    assert r.u == pytest.approx(a / math.sqrt(3.0), abs=delta(r))
    assert r.half_width == pytest.approx(P * a, abs=delta(r))
    # any interval of length 2pa inside [-a, a] is a shortest one: the centred one is reported
    assert abs(r.low + r.high) / 2.0 <= delta(r)


@pytest.mark.parametrize(("a", "b"), [(1.0, 0.5), (1.0, 1.0), (0.3, 1.0), (1.0, 0.02)],
                         ids=["trapezoid", "triangle", "b-larger", "flat-top"])
def test_two_rectangulars_give_the_trapezoid_interval(a: float, b: float) -> None:
    r = propagate([rectangular("a", a, ""), rectangular("b", b, "")], P, rng=rng())
    assert r.converged
    y0 = trapezoid_half_width(a, b, P)
    assert r.u == pytest.approx(math.sqrt((a * a + b * b) / 3.0), abs=delta(r))
    assert r.high == pytest.approx(y0, abs=delta(r))
    assert r.low == pytest.approx(-y0, abs=delta(r))


def test_the_trapezoid_formula_meets_its_limits() -> None:
    """The closed form used above: the triangle 2a(1 - sqrt(1 - p)), and the
    rectangle p a when the second component vanishes."""
    assert trapezoid_half_width(1.0, 1.0, P) == pytest.approx(2.0 * (1.0 - math.sqrt(0.05)))
    assert trapezoid_half_width(1.0, 1e-9, P) == pytest.approx(P)
    assert trapezoid_half_width(1.0, 0.05, P) == pytest.approx(P)  # the top holds exactly 95 %


# -- Gaussian and many components ------------------------------------------------------


@pytest.mark.parametrize("row", [
    normal("probe", 3e-3),
    Component("standard", "B", str(Distribution.NORMAL_95), 6e-3, Distribution.NORMAL_95.divisor, -1.0, INF, ""),
    Component("readings", "A", "t", 3e-3 * math.sqrt(30.0), math.sqrt(30.0), 1.0, INF, ""),
], ids=["normal", "normal-k2", "t-infinite-dof"])
def test_a_gaussian_component_gives_1_96_u(row: Component) -> None:
    u = 3e-3
    r = propagate([row], P, rng=rng())
    assert r.converged
    assert r.u == pytest.approx(u, abs=delta(r))
    assert r.high == pytest.approx(Z_975 * u, abs=delta(r))
    assert r.low == pytest.approx(-Z_975 * u, abs=delta(r))


def test_many_equal_components_approach_the_gum_interval() -> None:
    """The central limit theorem, seen by the coverage factor k = high / u_c:
    1.645 for one rectangular, 1.902 for two (the triangle), and within the
    tolerance of 1.96 for twelve."""
    ks = []
    for n, expected in ((1, P * math.sqrt(3.0)), (2, 2.0 * (1.0 - math.sqrt(0.05)) * math.sqrt(1.5)), (12, Z_975)):
        components = [rectangular(f"x{i}", 1.0, "") for i in range(n)]
        u_c = combine(components).u_c
        r = propagate(components, P, rng=rng())
        assert r.converged
        assert r.high == pytest.approx(expected * u_c, abs=delta(r)), n
        ks.append(r.high / u_c)
    assert ks[0] < ks[1] < ks[2]
    assert ks[0] == pytest.approx(1.645, abs=0.01)


# -- type A: Student's t ---------------------------------------------------------------


def test_a_type_a_component_with_4_dof_gives_the_t_interval() -> None:
    readings = [10.000012, 10.000009, 10.000015, 10.000011, 10.000013]  # five readings: 4 dof
    row = type_a(readings, 0, "repeatability", "DUT repeatability")
    assert row.dof == 4.0
    r = propagate([row], P, rng=rng())
    assert r.converged
    assert r.high == pytest.approx(T_975_4 * row.u, abs=delta(r))
    assert r.low == pytest.approx(-T_975_4 * row.u, abs=delta(r))
    # the t distribution's standard deviation is u sqrt(nu / (nu - 2)), not the GUM's u
    assert r.u == pytest.approx(math.sqrt(2.0) * row.u, abs=delta(r))


def test_two_readings_give_no_standard_deviation_and_never_settle() -> None:
    """One degree of freedom: the t distribution has no variance, so u(y)
    never stabilises; the interval does exist (t_0.975,1 u)."""
    row = type_a([1.0, 1.1], 0, "repeatability", "DUT repeatability")
    r = propagate([row], P, rng=rng(), max_trials=200_000)
    assert not r.converged and r.trials == 200_000
    assert r.high == pytest.approx(T_975_1 * row.u, rel=0.05)
    assert r.low == pytest.approx(-T_975_1 * row.u, rel=0.05)


# -- what the GUM's k = 2 interval covers ------------------------------------------------


def test_gum_k2_interval_covers_more_than_95_percent_of_a_rectangular_dominated_budget() -> None:
    """A 34401A read at 10 V against a 5522A (90-day limit 120 uV,
    rectangular), 10 uV resolution, ten readings: the GUM's U = k u_c
    (k = 2, nu_eff ~ inf) covers nearly all the Monte Carlo values, and the
    Monte Carlo 95 % interval is shorter than U."""
    readings = [10.000004 + 3e-6 * math.sin(i) for i in range(10)]
    budget = MODELS["meter"].budget(Inputs(120e-6, Distribution.RECTANGULAR, dut_digit=10e-6), readings)
    assert budget.k == pytest.approx(2.0, abs=0.01)
    covered = coverage(budget.components, budget.expanded, rng=rng())
    assert covered >= 0.97
    r = propagate(budget.components, P, rng=rng())
    assert r.converged
    assert r.half_width < budget.expanded
    assert r.half_width == pytest.approx(P * 120e-6, rel=0.02)  # about the rectangle's p a


def test_the_coverage_of_k2_on_a_trapezoid_agrees_with_its_closed_form() -> None:
    """a = 1, b = 0.5: u_c = 0.645, 2 u_c = 1.291 inside the slopes, where
    the trapezoid leaves (1.5 - 1.291)^2 / (4 a b) = 2.2 % outside."""
    components = [rectangular("a", 1.0, ""), rectangular("b", 0.5, "")]
    budget = combine(components)
    U = budget.expanded
    expected = trapezoid_coverage(1.0, 0.5, U)
    assert expected == pytest.approx(0.978, abs=0.001)
    assert coverage(components, U, rng=rng()) == pytest.approx(expected, abs=0.001)  # 10^6 trials: sd 1.5e-4


# -- sensitivity coefficients, reproducibility, the adaptive stop ------------------------------


def mixed(sign: float) -> list[Component]:
    return [
        Component("standard", "B", "rectangular", 2.0, math.sqrt(3.0), sign, INF, ""),
        normal("probe", 0.4, sign),
        Component("repeatability", "A", "t", 1.0, math.sqrt(5.0), sign, 4.0, ""),
    ]


def test_sensitivity_coefficients_of_minus_one_give_the_same_interval() -> None:
    plus = propagate(mixed(1.0), P, rng=rng())
    minus = propagate(mixed(-1.0), P, rng=rng())
    assert plus.converged and minus.converged
    assert minus.u == pytest.approx(plus.u, abs=delta(plus))
    assert minus.low == pytest.approx(plus.low, abs=delta(plus))
    assert minus.high == pytest.approx(plus.high, abs=delta(plus))


@pytest.mark.parametrize(("row", "k", "sd"), [
    (rectangular("standard", 1.0, "", sensitivity=-2.0), P * math.sqrt(3.0), 1.0),
    (normal("probe", 1.0, sensitivity=-2.0), Z_975, 1.0),
    (Component("repeatability", "A", "t", 1.0, 1.0, 2.0, 4.0, ""), T_975_4, math.sqrt(2.0)),
], ids=["rectangular", "normal", "t"])
def test_a_sensitivity_coefficient_scales_the_interval(row: Component, k: float, sd: float) -> None:
    """|c| = 2 doubles the interval (+/- k u of the row) and the standard
    deviation (sd u of the row: sqrt(nu / (nu - 2)) u for a t)."""
    r = propagate([row], P, rng=rng())
    assert r.high == pytest.approx(2.0 * k * row.u, abs=delta(r))
    assert r.low == pytest.approx(-2.0 * k * row.u, abs=delta(r))
    assert r.u == pytest.approx(2.0 * sd * row.u, abs=delta(r))


def test_the_same_seed_gives_the_same_result() -> None:
    first = propagate(mixed(1.0), P, rng=rng(7))
    assert propagate(mixed(1.0), P, rng=rng(7)) == first
    other = propagate(mixed(1.0), P, rng=rng(8))
    assert other != first  # the generator is used ...
    assert other.high == pytest.approx(first.high, abs=2 * delta(first))  # ... and the result is stable


def test_too_few_trials_allowed_is_reported_as_not_converged() -> None:
    triangle = [rectangular("a", 1.0, ""), rectangular("b", 1.0, "")]
    short = propagate(triangle, P, rng=rng(), max_trials=50_000)
    assert not short.converged
    assert short.trials == 50_000
    full = propagate(triangle, P, rng=rng())
    assert full.converged and full.trials > 50_000
    with pytest.raises(ValueError, match="less than one batch"):
        propagate(triangle, P, rng=rng(), max_trials=9_999)


def test_trials_come_in_batches_of_the_gum_s1_size() -> None:
    r = propagate(mixed(1.0), P, rng=rng())
    assert r.trials % 10_000 == 0 and r.trials >= 20_000
    assert batch_size(0.95) == 10_000  # 100 / (1 - p) = 2000 < 10^4
    assert batch_size(0.999) == 100_000
    r99 = propagate([normal("probe", 1.0)], 0.999, rng=rng(), max_trials=200_000)
    assert r99.trials % 100_000 == 0


def test_numerical_tolerance_is_half_a_unit_in_the_last_of_the_digits_of_u() -> None:
    assert numerical_tolerance(0.02468, 2) == pytest.approx(0.0005)  # 25 x 10^-3
    assert numerical_tolerance(0.0996, 2) == pytest.approx(0.005)  # 10 x 10^-2
    assert numerical_tolerance(1.0, 2) == pytest.approx(0.05)  # 10 x 10^-1
    assert numerical_tolerance(6.93e-5, 1) == pytest.approx(0.5e-5)  # 7 x 10^-5
    with pytest.raises(ValueError):
        numerical_tolerance(0.0, 2)


# -- the interval is the shortest, not the symmetric one -------------------------------


def test_shortest_interval_of_a_skewed_distribution() -> None:
    """Exponential values: the shortest 95 % interval is [0, -ln 0.05] =
    [0, 3.00]; the probabilistically symmetric one would be [0.025, 3.69]."""
    values = rng().exponential(1.0, 1_000_000)
    low, high = shortest_interval(values, P)
    assert low == pytest.approx(0.0, abs=0.01)
    assert high == pytest.approx(-math.log(0.05), abs=0.02)
    assert values.size == 1_000_000 and values[0] != np.sort(values)[0]  # the caller's values are untouched


def test_the_samples_have_the_budgets_standard_deviation() -> None:
    """Rectangular and Gaussian rows: the samples' standard deviation is the GUM's u_c."""
    components = mixed(1.0)[:2]
    y = sample(components, 1_000_000, rng=rng())
    assert float(y.std()) == pytest.approx(combine(components).u_c, rel=0.003)
    assert abs(float(y.mean())) < 0.003


# -- rows it cannot draw ---------------------------------------------------------------


def test_rows_it_cannot_draw_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'drift'.*triangular"):
        propagate([Component("drift", "B", "triangular", 1.0, math.sqrt(6.0), 1.0, INF)], rng=rng())
    with pytest.raises(ValueError, match="'standard'.*divisor"):
        propagate([Component("standard", "B", "rectangular", 1.0, 2.0, 1.0, INF)], rng=rng())
    with pytest.raises(ValueError, match="probability"):
        propagate(mixed(1.0), 1.0, rng=rng())


def test_a_budget_of_zeros_is_an_exact_zero() -> None:
    r = propagate([rectangular("resolution", 0.0, "")], P, rng=rng())
    assert r == MonteCarlo(0.0, 0.0, 0.0, 0, True, P)
