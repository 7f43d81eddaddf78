"""The point budget against GTC's own propagation, and the reporting policy."""

from __future__ import annotations

import math

import pytest
from GTC import reporting, type_a, ureal
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.roles import Function
from station.metrology.decision import DecisionRule, decide, tur
from station.metrology.specs import Distribution, lookup
from station.metrology.uncertainty import (
    coverage_factor,
    decimals_of,
    dmm_point_budget,
    round_uncertainty,
)

readings = st.lists(st.floats(min_value=9.9999, max_value=10.0001), min_size=2, max_size=30)


@settings(max_examples=60, deadline=None)
@given(values=readings, std_tol=st.floats(1e-7, 1e-3), resolution=st.sampled_from([1e-6, 1e-5, 1e-4]))
def test_budget_agrees_with_gtc(values: list[float], std_tol: float, resolution: float) -> None:
    mean, s, budget = dmm_point_budget(values, std_tol, Distribution.RECTANGULAR, resolution)
    # the same model, propagated by GTC
    indication = type_a.estimate(values)
    d_std = ureal(0.0, std_tol / math.sqrt(3))
    d_res = ureal(0.0, resolution / 2 / math.sqrt(3))
    error = indication - 10.0 + d_res - d_std
    assert budget.u_c == pytest.approx(error.u, rel=1e-9)
    assert mean - 10.0 == pytest.approx(error.x, abs=1e-12)
    if math.isinf(error.df) or error.df > 1e7:
        assert budget.nu_eff > 1e7
    else:
        assert budget.nu_eff == pytest.approx(error.df, rel=1e-6)
    assert s == pytest.approx(float(type_a.standard_deviation(values)), rel=1e-9, abs=1e-15)


def test_k_rounds_nu_eff_down_before_looking_up_t() -> None:
    # 9.9 effective degrees of freedom is treated as 9 (GUM G.4.1 note)
    assert coverage_factor(9.9) == pytest.approx(reporting.k_factor(9, 95.45))
    assert coverage_factor(9.9) > reporting.k_factor(9.9, 95.45)
    assert coverage_factor(math.inf) == pytest.approx(2.0, abs=1e-3)


def test_repeatability_dominated_point_has_few_degrees_of_freedom() -> None:
    values = [10.0, 10.00002, 9.99998, 10.00001, 9.99999]
    _, _, budget = dmm_point_budget(values, 1e-9, Distribution.RECTANGULAR, 1e-9)
    assert 3.9 < budget.nu_eff < 4.1  # n - 1
    assert budget.k == pytest.approx(reporting.k_factor(4, 95.45))


@pytest.mark.parametrize(
    ("u", "expected", "decimals"),
    [(0.0001234, 0.00013, 5), (0.00012, 0.00012, 5), (1.23, 1.3, 1), (98.1, 99.0, 0), (0.0995, 0.1, 2)],
)
def test_uncertainty_rounded_up_to_two_significant_digits(u: float, expected: float, decimals: int) -> None:
    assert round_uncertainty(u) == pytest.approx(expected)
    assert decimals_of(round_uncertainty(u)) == decimals


def test_34401a_one_year_tolerance_from_the_datasheet_table() -> None:
    spec = lookup("Keysight", "34401A", Function.DCV, "1y")
    # 10 V range: 0.0035 % of reading + 0.0005 % of range
    assert spec.half_width(10.0, 10.0) == pytest.approx(10 * 35e-6 + 10 * 5e-6)
    # 100 mV range at zero: the range term alone
    assert spec.half_width(0.0, 0.1) == pytest.approx(0.1 * 35e-6)


def test_5522a_picks_the_smallest_range_that_holds_the_value() -> None:
    spec = lookup("Fluke", "5522A", Function.DCV, "90d")
    assert spec.half_width(10.0) == pytest.approx(10 * 10e-6 + 20e-6)  # 32.99999 V range
    assert spec.half_width(3.0) == pytest.approx(3 * 9e-6 + 2e-6)
    assert spec.half_width(-1000.0) == pytest.approx(1000 * 15e-6 + 1.5e-3)


def test_guard_band_turns_a_marginal_pass_into_a_fail() -> None:
    lower, upper, U = 9.9996, 10.0004, 0.0001
    marginal = 10.00035
    assert decide(marginal, lower, upper, DecisionRule.SIMPLE.guard_band(U)) == "pass"
    assert decide(marginal, lower, upper, DecisionRule.GUARD_BAND_U.guard_band(U)) == "fail"
    assert decide(10.00045, lower, upper, 0.0) == "fail"
    assert tur(lower, upper, U) == pytest.approx(4.0)
