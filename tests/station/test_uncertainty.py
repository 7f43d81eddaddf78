"""Each budget model against GTC's own propagation of the same measurement
equation, and the reporting policy."""

from __future__ import annotations

import math

import pytest
from GTC import reporting, type_a, ureal
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import registry
from station.certificates.numbers import decimals_of, round_uncertainty
from station.metrology.budget import MODELS, Distribution, Inputs
from station.metrology.decision import GUARD_BAND_U, SIMPLE, decide, tur
from station.metrology.uncertainty import coverage_factor

readings = st.lists(st.floats(min_value=9.9999, max_value=10.0001), min_size=2, max_size=30)


@settings(max_examples=60, deadline=None)
@given(values=readings, std_tol=st.floats(1e-7, 1e-3), resolution=st.sampled_from([1e-6, 1e-5, 1e-4]))
def test_meter_budget_agrees_with_gtc(values: list[float], std_tol: float, resolution: float) -> None:
    budget = MODELS["meter"].budget(Inputs(std_tol, Distribution.RECTANGULAR, dut_digit=resolution), values)
    # E = V_dut - V_std + dV_res - dV_std, propagated by GTC
    indication = type_a.estimate(values)
    d_std = ureal(0.0, std_tol / math.sqrt(3))
    d_res = ureal(0.0, resolution / 2 / math.sqrt(3))
    error = indication - 10.0 + d_res - d_std
    _same(budget.u_c, budget.nu_eff, error)
    assert [c.name for c in budget.components] == ["standard", "resolution", "repeatability"]


def _same(u_c: float, nu_eff: float, gtc: ureal) -> None:
    assert u_c == pytest.approx(gtc.u, rel=1e-9)
    if math.isinf(gtc.df) or gtc.df > 1e7:
        assert nu_eff > 1e7
    else:
        assert nu_eff == pytest.approx(gtc.df, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(values=readings, std_tol=st.floats(1e-7, 1e-3), digit=st.sampled_from([1e-8, 1e-7, 1e-6]))
def test_source_budget_agrees_with_gtc(values: list[float], std_tol: float, digit: float) -> None:
    budget = MODELS["source"].budget(Inputs(std_tol, Distribution.NORMAL_95, standard_digit=digit),
                                     reference=values)
    # E = V_set - (V_ref + dV_std + dV_res), the reference meter read n times
    measured = type_a.estimate(values)
    error = 10.0 - (measured + ureal(0.0, std_tol / 2) + ureal(0.0, digit / 2 / math.sqrt(3)))
    _same(budget.u_c, budget.nu_eff, error)


@settings(max_examples=40, deadline=None)
@given(dut=st.lists(st.floats(99.9, 100.1), min_size=2, max_size=12),
       ref=st.lists(st.floats(99.95, 100.05), min_size=2, max_size=12),
       probe=st.floats(0.001, 0.05), readout=st.floats(0.001, 0.05))
def test_comparison_budget_agrees_with_gtc(dut: list[float], ref: list[float], probe: float,
                                           readout: float) -> None:
    env = {"stability": 0.01, "axial_uniformity": 0.05, "radial_uniformity": 0.01, "loading": 0.006}
    inputs = Inputs(readout, Distribution.RECTANGULAR, standard_digit=0.001, dut_digit=0.01,
                    probe_uncertainty=probe, probe_k=2.0, environment=env)
    budget = MODELS["comparison"].budget(inputs, dut, ref)
    r3 = math.sqrt(3)
    t_ref = type_a.estimate(ref) + ureal(0.0, probe / 2) + ureal(0.0, readout / r3)
    t_dut = type_a.estimate(dut) + ureal(0.0, 0.005 / r3)
    for half in env.values():
        t_dut = t_dut + ureal(0.0, half / r3)
    _same(budget.u_c, budget.nu_eff, t_dut - t_ref)
    assert {c.name for c in budget.components} >= {"reference probe", "readout", "axial uniformity",
                                                   "repeatability", "reference repeatability"}


def test_k_rounds_nu_eff_down_before_looking_up_t() -> None:
    # 9.9 effective degrees of freedom is treated as 9 (GUM G.4.1 note)
    assert coverage_factor(9.9) == pytest.approx(reporting.k_factor(9, 95.45))
    assert coverage_factor(9.9) > reporting.k_factor(9.9, 95.45)
    assert coverage_factor(math.inf) == pytest.approx(2.0, abs=1e-3)


def test_repeatability_dominated_point_has_few_degrees_of_freedom() -> None:
    values = [10.0, 10.00002, 9.99998, 10.00001, 9.99999]
    budget = MODELS["meter"].budget(Inputs(1e-9, Distribution.RECTANGULAR, dut_digit=1e-9), values)
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
    spec = registry.datasheet("keysight-34401a").function("DCV").spec("1y")
    # 10 V range: 0.0035 % of reading + 0.0005 % of range
    assert spec.half_width(10.0, 10.0) == pytest.approx(10 * 35e-6 + 10 * 5e-6)
    # 100 mV range at zero: the range term alone
    assert spec.half_width(0.0, 0.1) == pytest.approx(0.1 * 35e-6)


def test_5522a_picks_the_smallest_range_that_holds_the_value() -> None:
    spec = registry.datasheet("fluke-5522a").function("DCV").spec("90d")
    assert spec.half_width(10.0) == pytest.approx(10 * 10e-6 + 20e-6)  # 32.99999 V range
    assert spec.half_width(3.0) == pytest.approx(3 * 9e-6 + 2e-6)
    assert spec.half_width(-1000.0) == pytest.approx(1000 * 15e-6 + 1.5e-3)


def test_guard_band_turns_a_marginal_pass_into_a_fail() -> None:
    lower, upper, U = 9.9996, 10.0004, 0.0001
    marginal = 10.00035
    assert decide(marginal, lower, upper, SIMPLE.guard_band(U)) == "pass"
    assert decide(marginal, lower, upper, GUARD_BAND_U.guard_band(U)) == "fail"
    assert decide(10.00045, lower, upper, 0.0) == "fail"
    assert tur(lower, upper, U) == pytest.approx(4.0)
