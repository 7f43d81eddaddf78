"""The worked example of docs/metrology.md, computed with the project's own
code: every number the page states is checked here."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from drivers import registry
from station.certificates.numbers import rounding, scale_of
from station.metrology.budget import MODELS, Distribution, Inputs
from station.metrology.decision import SIMPLE
from station.metrology.result import Measured, evaluate

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metrology.md").read_text(encoding="utf-8")
READINGS = [10.000048, 10.000050, 10.000052, 10.000049, 10.000051, 10.000050, 10.000047, 10.000053,
            10.000050, 10.000050]


def test_the_34401a_point_at_10_v_is_as_the_page_says() -> None:
    dut = registry.datasheet("keysight-34401a").function("DCV")
    std = registry.datasheet("fluke-5522a").function("DCV").spec("90d")
    tolerance = dut.spec("1y").half_width(10.0, 10.0) + dut.noise(10.0, 10.0)
    half = std.half_width(10.0)
    type_b = MODELS["meter"].type_b(Inputs(half, Distribution.RECTANGULAR, dut_digit=dut.digit(10.0, 10.0)))
    result, budget = evaluate(0, "DCV", "V", 10.0, 10.0, 0.0, Measured(10.0, READINGS, []), tolerance,
                              MODELS["meter"], type_b, SIMPLE, "as_found", 0.0, 1.0)
    standard, resolution, repeatability = budget.components
    stated = {
        "400 uV": tolerance * 1e6,
        "120 uV": half * 1e6,
        "69.282 uV": standard.u * 1e6,
        "2.887 uV": resolution.u * 1e6,
        "1.764 uV": repeatability.half_width * 1e6,
        "0.558 uV": repeatability.u * 1e6,
        "69.344 uV": budget.u_c * 1e6,
        "138.69 uV": budget.expanded * 1e6,
        "2.88 ": result.tur,
    }
    for text, value in stated.items():
        assert text in DOC, text
        number = float(text.split()[0])
        decimals = len(text.split()[0].partition(".")[2])
        assert round(value, decimals) == pytest.approx(number), (text, value)
    assert repeatability.dof == 9.0 and f"{budget.nu_eff:.3g}" in DOC and f"k = {budget.k:.2f}" in DOC
    assert (repr(result.lower_limit), repr(result.upper_limit)) == ("9.9996", "10.0004")
    assert "9.9996 V to 10.0004 V" in DOC
    r = rounding(result.expanded_uncertainty, scale_of(10.0, "V"))
    assert f"certified {r.U} V" in DOC
    assert f"{r.value(result.indication)} V, {r.signed(result.error)} V" in DOC
    assert result.decision == "pass" and f"| decision | {result.decision} |" in DOC
    assert f"{result.p_conform:.7f}" in DOC
    share = standard.contribution ** 2 / budget.u_c ** 2
    assert f"{100 * share:.1f} % of u_c^2" in DOC
    assert math.isclose(budget.k, 2.0, abs_tol=1e-5)
    # "the Monte Carlo 95 % interval of this budget is about 114 uV"
    import numpy as np

    from station.metrology.montecarlo import propagate

    mc = propagate(budget.components, 0.95, rng=np.random.default_rng(1))
    assert "about 114 uV" in DOC and max(-mc.low, mc.high) * 1e6 == pytest.approx(114.0, abs=1.0)


def test_gum_annex_h1_end_gauge_through_the_budget_code() -> None:
    """GUM (JCGM 100:2008) H.1, the calibration of an end gauge, Table H.1:
    the contributions c_i u(x_i) with their degrees of freedom, combined by
    the project's `combine`: u_c = 32 nm, nu_eff = 16 (16.7 rounded down),
    and U99 = t_99(16) u_c = 93 nm as the GUM states."""
    from GTC import reporting

    from station.metrology.budget import Component, combine

    nm = 1e-9
    components = [
        Component("calibration of the standard", "B", "t", 25 * nm, 1.0, 1.0, 18.0),
        Component("measured difference", "A", "t", 9.7 * nm, 1.0, 1.0, 25.6),
        # c = -l_s theta = -(0.05 m)(-0.1 C); c = -l_s alpha_s = -(0.05 m)(11.5e-6 /C)
        Component("difference in expansion coefficients", "B", "rectangular", 0.58e-6, 1.0, 0.005, 50.0),
        Component("difference in temperatures", "B", "rectangular", 0.029, 1.0, -0.575e-6, 2.0),
    ]
    budget = combine(components)
    # Table H.1 prints 25, 9.7, 2.9 and 16.6 nm (the last from an unrounded u(delta theta))
    assert [c.contribution / nm for c in components] == pytest.approx([25.0, 9.7, 2.9, 16.6], abs=0.1)
    assert round(budget.u_c / nm) == 32
    assert math.floor(budget.nu_eff) == 16
    assert round(float(reporting.k_factor(16, 99)) * budget.u_c / nm) == 93
    # the project's own k, for its 95.45 % policy: Student's t at 16 dof
    assert budget.k == pytest.approx(float(reporting.k_factor(16, 95.45)))


def test_the_temperature_point_is_as_the_page_says() -> None:
    from station.metrology.budget import ENVIRONMENT

    well = registry.datasheet("fluke-9142").function("TEMP")
    readout = registry.datasheet("fluke-1524").function("TEMP")
    dut = registry.datasheet("generic-temperature-indicator").function("TEMP")
    env = {k: well.figure(k, 100.0) for k, _ in ENVIRONMENT if k in well.performance}
    inputs = Inputs(readout.spec("1y").half_width(100.0), Distribution.RECTANGULAR,
                    standard_digit=readout.digit(0.0), dut_digit=dut.digit(0.0), probe_uncertainty=0.010,
                    probe_k=2.0, environment=env)
    ref = [100.012, 100.014, 100.013, 100.011, 100.013, 100.012, 100.014, 100.013, 100.012, 100.013]
    ind = [100.05, 100.06, 100.05, 100.05, 100.06, 100.05, 100.05, 100.06, 100.05, 100.05]
    model = MODELS["comparison"]
    result, budget = evaluate(0, "TEMP", "\u00b0C", 0.0, 100.0, 0.0, Measured(100.0, ind, ref, -0.004), 0.2,
                              model, model.type_b(inputs), SIMPLE, "as_found", 0.0, 1.0)
    section = DOC[DOC.index("## Worked example: a temperature indicator"):]
    for c in budget.components:
        row = next(line for line in section.splitlines() if line.startswith(f"| {c.name} |"))
        assert f"| {c.u:.6f} |" in row, (c.name, c.u, row)
    assert f"u_c = {budget.u_c:.5f} C" in section and f"k = {budget.k:.2f}" in section
    assert f"U = {budget.expanded:.4f} C" in section
    r = rounding(result.expanded_uncertainty, scale_of(1.0, "\u00b0C"))
    assert f"(certified {r.U} C)" in section
    assert f"reference =\n100.0127 - 0.004 = {result.reference:.4f} C" in section
    assert f"indication {result.indication:.3f} C; error {result.error:+.4f} C" in section
    assert f"limits {result.lower_limit:.4f} C to {result.upper_limit:.4f} C" in section
    assert f"TUR {result.tur:.2f}; {result.decision}." in section
    axial = next(c for c in budget.components if c.name == "axial uniformity")
    assert f"({100 * axial.contribution ** 2 / budget.u_c ** 2:.0f} % of u_c^2)" in section
