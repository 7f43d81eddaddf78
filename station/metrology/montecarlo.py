"""A budget's distributions propagated by the Monte Carlo method (GUM
Supplement 1, JCGM 101:2008; JJF 1059.2-2012).

The budgets' measurement equation is linear (`station.metrology.budget`):
Y = sum(c_i X_i), each X_i with zero expectation (the estimates are in the
point's indication and reference; the components are the deviations from
them). `propagate` draws each X_i from the distribution its row states and
returns Y's standard deviation and its SHORTEST coverage interval relative
to the estimate: the point's interval is ``estimate + [low, high]``.

Distributions (the row's ``distribution``):

- ``rectangular``: uniform on [-a, a], a = ``half_width`` (the row's
  divisor must be sqrt(3), or the GUM u of the row would not be this
  distribution's);
- ``normal``, ``normal-k2``, ``normal-k2.58`` (any ``normal*``): Gaussian,
  standard deviation u = half_width / divisor;
- ``t`` (type A, JCGM 101 6.4.9.7): the scaled and shifted t distribution,
  nu = ``dof`` degrees of freedom, scale u = s / sqrt(n) (the row's
  half_width / divisor); an infinite dof is Gaussian. Its standard
  deviation is u sqrt(nu / (nu - 2)), larger than the GUM's u; with
  nu <= 2 (two or three readings) it has none, u(y) does not settle and the
  adaptive procedure ends at ``max_trials`` with ``converged=False`` (the
  interval is still meaningful).

The Gaussian rows are drawn as one Gaussian of variance sum((c_i u_i)^2)
(exact: a sum of independent Gaussians is Gaussian); each other row is drawn
on its own. A sensitivity coefficient's sign does not change a symmetric
distribution; its magnitude scales it.

Adaptive procedure (JCGM 101 7.9.4): batches of M = max(J, 10^4) trials,
J the smallest integer >= 100 / (1 - p). After each batch (from the second)
the averages of the batches' y, u(y), y_low and y_high, and the standard
deviation s of each average (s^2 = sum((x_r - mean)^2) / (h (h - 1))), are
compared with the numerical tolerance delta of u(y) (7.9.2: u(y) written
with ``tolerance_digits`` significant digits as c x 10^l, delta = 10^l / 2,
`numerical_tolerance`); the results have stabilised when 2 s <= delta for
all four. Then y, u(y) and the shortest interval are computed from all the
trials. A batch that would take the total past ``max_trials`` is not run:
the result is then from the trials done, with ``converged=False``.

Shortest coverage interval (7.7): with the M values sorted,
[y_(r), y_(r+q)] of least length over r = 1 .. M - q, q = pM rounded to the
nearest integer (pM + 1/2, integer part). A flat-topped distribution (one
rectangular row dominating the budget: the trapezoid of a rectangular
standard and a small resolution has a flat top holding (a - b)/a of the
probability) has many shortest intervals; the sample's shortest then lands
anywhere along the top by chance. Even where the shortest interval is
unique (a triangle, a Gaussian), the lengths of the intervals near it
differ only in the second order, and the sample's least one wanders far
more than the interval's ends do: taken literally, a batch's y_low and
y_high scatter so much that the triangle of two equal rectangulars did not
stabilise within 2 x 10^6 trials (tests/station/test_montecarlo.py's seed). Lengths within the numerical tolerance
delta of the least (equal at the digits u is stated to) are therefore taken
as equal, and of those the interval whose centre is nearest the estimate is
reported: still a coverage interval for p, no longer than the shortest by
more than delta; for the symmetric distributions of these budgets, the
symmetric interval. (For an asymmetric distribution the choice leans
towards the estimate by at most what delta allows.) This is a choice made
here, not a step of JCGM 101.

Memory: the trials' values are kept, 8 bytes a trial, in batches (8 MB for
10^6 trials), and joined once at the end for the final interval (16 MB at
that moment for 10^6 trials; 32 MB at the default ``max_trials`` of
2 x 10^6). The interval is found by partitioning (O(M)) and sorting only
the two tails of (1 - p) M values, never the whole sample. Each batch also
takes a few temporary arrays of M values (80 kB each for M = 10^4).

Deterministic for a given ``rng`` (`numpy.random.Generator`): the rows
are drawn in a fixed order (the merged Gaussian first, then the others as
the budget lists them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from station.metrology.budget import Component

FloatArray = npt.NDArray[np.float64]

#: The least number of trials in a batch (JCGM 101 7.9.4).
MIN_BATCH = 10_000
_CHUNK = 100_000  # `coverage` draws this many values at a time


class MonteCarlo(NamedTuple):
    """The Monte Carlo result of a budget, in the result's unit.

    ``low``/``high``: the shortest coverage interval for ``probability``,
    relative to the estimate. ``u``: the standard deviation of the trials'
    values (u(y), JCGM 101 7.6). ``trials``: how many were drawn.
    ``converged``: whether the adaptive procedure stabilised (7.9.4) before
    ``max_trials``."""

    low: float
    high: float
    u: float
    trials: int
    converged: bool
    probability: float

    @property
    def half_width(self) -> float:
        """Half the interval's length (the expanded uncertainty when the
        interval is symmetric about the estimate)."""
        return (self.high - self.low) / 2.0


class _Draws(NamedTuple):
    sigma: float  # the Gaussian rows, merged: standard deviation
    rectangular: tuple[float, ...]  # half-widths |c| a
    t: tuple[tuple[float, float], ...]  # (scale c u, nu)


def batch_size(probability: float) -> int:
    """M = max(J, 10^4), J the smallest integer >= 100 / (1 - p) (JCGM 101 7.9.4)."""
    _check_probability(probability)
    j = math.ceil(round(100.0 / (1.0 - probability), 6))
    return max(j, MIN_BATCH)


def numerical_tolerance(u: float, digits: int) -> float:
    """delta = 10^l / 2, where u written with ``digits`` significant digits
    is c x 10^l, c an integer of ``digits`` digits (JCGM 101 7.9.2)."""
    if digits < 1:
        raise ValueError(f"Monte Carlo: tolerance_digits must be 1 or more, not {digits}")
    if not (u > 0.0 and math.isfinite(u)):
        raise ValueError(f"Monte Carlo: the numerical tolerance needs a finite u > 0, not {u!r}")
    exponent = math.floor(math.log10(u)) - (digits - 1)
    if round(u / 10.0**exponent) >= 10**digits:  # 0.0996 with 2 digits is 10 x 10^-2
        exponent += 1
    return 0.5 * 10.0**exponent


def _check_probability(probability: float) -> None:
    if not 0.0 < probability < 1.0:
        raise ValueError(f"Monte Carlo: the coverage probability must lie between 0 and 1, not {probability!r}")


def _draws(components: Sequence[Component]) -> _Draws:
    variance = 0.0
    rect: list[float] = []
    t: list[tuple[float, float]] = []
    for c in components:
        if not (math.isfinite(c.half_width) and c.half_width >= 0.0 and c.divisor > 0.0
                and math.isfinite(c.sensitivity)):
            raise ValueError(f"Monte Carlo: component {c.name!r} has half_width {c.half_width!r}, divisor "
                             f"{c.divisor!r}, sensitivity {c.sensitivity!r}; fix the budget row")
        scale = abs(c.sensitivity) * c.u
        if scale == 0.0:
            continue
        d = c.distribution
        if d == "rectangular":
            if not math.isclose(c.divisor, math.sqrt(3.0), rel_tol=1e-9):
                raise ValueError(f"Monte Carlo: component {c.name!r} is rectangular with divisor {c.divisor!r}, "
                                 "not sqrt(3); fix the budget row")
            rect.append(abs(c.sensitivity) * c.half_width)
        elif d.startswith("normal"):
            variance += scale * scale
        elif d == "t":
            if not c.dof > 0.0:
                raise ValueError(f"Monte Carlo: component {c.name!r} is a t distribution with {c.dof!r} degrees "
                                 "of freedom; it needs at least two readings")
            if math.isinf(c.dof):
                variance += scale * scale
            else:
                t.append((c.sensitivity * c.u, c.dof))
        else:
            raise ValueError(f"Monte Carlo: component {c.name!r} has distribution {d!r}; known: rectangular, "
                             "normal (normal-k2, normal-k2.58), t")
    return _Draws(math.sqrt(variance), tuple(rect), tuple(t))


def _sample(draws: _Draws, trials: int, rng: np.random.Generator) -> FloatArray:
    if draws.sigma > 0.0:
        y = rng.standard_normal(trials)
        y *= draws.sigma
    else:
        y = np.zeros(trials)
    for a in draws.rectangular:
        y += rng.uniform(-a, a, trials)
    for scale, nu in draws.t:
        y += scale * rng.standard_t(nu, trials)
    return y


def sample(components: Sequence[Component], trials: int, *, rng: np.random.Generator) -> FloatArray:
    """``trials`` values of Y - y (the deviation from the estimate), drawn
    as `propagate` draws them."""
    return _sample(_draws(components), trials, rng)


def coverage(components: Sequence[Component], half_width: float, *, rng: np.random.Generator,
             trials: int = 1_000_000) -> float:
    """The fraction of ``trials`` Monte Carlo values of Y within
    ``estimate +/- half_width``: the coverage probability the distributions
    give a stated expanded uncertainty (the GUM's U = k u_c, say)."""
    draws = _draws(components)
    inside = 0
    for start in range(0, trials, _CHUNK):  # in chunks: memory bounded whatever ``trials``
        y = _sample(draws, min(_CHUNK, trials - start), rng)
        inside += int(np.count_nonzero(np.abs(y) <= half_width))
    return inside / trials


def _coverage_index(probability: float, m: int) -> int:
    """q = pM if pM is an integer, else the integer part of pM + 1/2 (JCGM 101 7.7)."""
    return int(math.floor(probability * m + 0.5))


def _shortest(y: FloatArray, q: int, tie: float, centre: float) -> tuple[float, float]:
    """The shortest [y_(r), y_(r+q)]; ``y`` is reordered in place."""
    m = y.size
    k = m - q  # the number of candidate intervals
    if k <= 0:
        return float(y.min()), float(y.max())
    if k <= q:  # p >= 1/2: only the k lowest and the k highest values matter
        y.partition((k - 1, q))
        lo = np.sort(y[:k])
        hi = np.sort(y[q:])
    else:
        y.sort()
        lo, hi = y[:k], y[q:]
    lengths = hi - lo
    i = int(np.argmin(lengths))
    if tie > 0.0:
        equal = np.flatnonzero(lengths <= lengths[i] + tie)
        i = int(equal[np.argmin(np.abs(lo[equal] + hi[equal] - 2.0 * centre))])
    return float(lo[i]), float(hi[i])


def shortest_interval(values: npt.ArrayLike, probability: float, tie: float = 0.0,
                      centre: float = 0.0) -> tuple[float, float]:
    """The shortest coverage interval of the values for ``probability``
    (JCGM 101 7.7). Intervals whose lengths are within ``tie`` of the
    least are taken as equal, and of those the one whose centre is nearest
    ``centre`` is returned. ``values`` is not changed."""
    _check_probability(probability)
    y = np.array(values, dtype=np.float64).ravel()
    if y.size == 0:
        raise ValueError("Monte Carlo: the shortest coverage interval needs at least one value")
    return _shortest(y, _coverage_index(probability, y.size), tie, centre)


def propagate(components: Sequence[Component], probability: float = 0.95, *, rng: np.random.Generator,
              tolerance_digits: int = 2, max_trials: int = 2_000_000) -> MonteCarlo:
    """Y = sum(c_i X_i) by the adaptive Monte Carlo procedure of JCGM 101
    7.9 (see the module's docstring): u(y) and the shortest coverage
    interval for ``probability``, relative to the estimate. A budget whose
    contributions are all zero gives an exact zero interval without a
    trial."""
    _check_probability(probability)
    if tolerance_digits < 1:
        raise ValueError(f"Monte Carlo: tolerance_digits must be 1 or more, not {tolerance_digits}")
    draws = _draws(components)
    if draws.sigma == 0.0 and not draws.rectangular and not draws.t:
        return MonteCarlo(0.0, 0.0, 0.0, 0, True, probability)
    m = batch_size(probability)
    if max_trials < m:
        raise ValueError(f"Monte Carlo: max_trials {max_trials} is less than one batch ({m} trials for "
                         f"p = {probability}); raise it")
    q = _coverage_index(probability, m)
    batches: list[FloatArray] = []
    means: list[float] = []
    variances: list[float] = []
    stats: list[tuple[float, float, float, float]] = []  # (y, u, low, high) of each batch
    converged = False
    delta = math.inf
    while (len(batches) + 1) * m <= max_trials:
        y = _sample(draws, m, rng)
        mean = float(y.mean())
        var = float(y.var(ddof=1))
        batches.append(y)
        means.append(mean)
        variances.append(var)
        delta = numerical_tolerance(_pooled_u(means, variances, m), tolerance_digits)
        low, high = _shortest(y, q, delta, 0.0)  # reorders y: its mean and variance are taken
        stats.append((mean, math.sqrt(var), low, high))
        h = len(stats)
        if h >= 2:
            s = np.asarray(stats).std(axis=0, ddof=1) / math.sqrt(h)
            if bool(np.all(2.0 * s <= delta)):
                converged = True
                break
    u = _pooled_u(means, variances, m)
    everything = np.concatenate(batches)
    batches.clear()
    n = everything.size
    low, high = _shortest(everything, _coverage_index(probability, n), delta, 0.0)
    return MonteCarlo(low, high, u, n, converged, probability)


def _pooled_u(means: Sequence[float], variances: Sequence[float], m: int) -> float:
    """The standard deviation of all h batches of m values, from each
    batch's mean and variance (ddof 1)."""
    h = len(means)
    grand = math.fsum(means) / h
    within = (m - 1) * math.fsum(variances)
    between = m * math.fsum([(x - grand) ** 2 for x in means])
    return math.sqrt((within + between) / (h * m - 1))
