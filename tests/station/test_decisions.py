"""Decisions an assessor signs off (ILAC-G8:09/2019): exact comparisons on
the limits, every rule at, just inside and just outside both limits, the
probability of conformity, the lab's low-TUR policy through the command line,
and limits never printed wider than they are."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import registry
from station.certificates.numbers import exact_decimal, rounding, scale_of
from station.cli import main
from station.engine import EXIT_OK, EXIT_PLAN_REFUSED
from station.metrology.budget import MODELS, Distribution, Inputs
from station.metrology.decision import SIMPLE, DecisionRule, decide, probability_of_conformity
from station.metrology.result import Measured, evaluate

SPEC = registry.datasheet("keysight-34401a").function("DCV").spec("1y")


def _point(readings: list[float], rule: DecisionRule = SIMPLE, nominal: float = 0.1, range_: float = 0.1):
    """A 34401A point through the project's own evaluation, as the engine makes it."""
    tolerance = SPEC.half_width(nominal, range_)
    type_b = MODELS["meter"].type_b(Inputs(1e-6, Distribution.RECTANGULAR, dut_digit=1e-7))
    result, _ = evaluate(0, "DCV", "V", range_, nominal, 0.0, Measured(nominal, readings, []), tolerance,
                         MODELS["meter"], type_b, rule, "as_found", 0.0, 1.0)
    return result


@pytest.mark.parametrize(("reading", "decision"), [
    (0.0999915, "pass"), (0.1000085, "pass"),  # ON each limit: inside, at both
    (0.0999914, "fail"), (0.1000086, "fail"),  # one digit of the 6.5-digit display outside
    (0.0999916, "pass"), (0.1000084, "pass"),  # one digit inside
])
def test_a_reading_on_either_limit_gets_the_same_verdict(reading: float, decision: str) -> None:
    """The issue's case: on the 100 mV range the 1-year limit is 8.5 uV; a
    float subtraction made the lower limit 0.09999150000000001, so 99.9915
    mV failed while 100.0085 mV passed."""
    p = _point([reading] * 10)
    assert p.decision == decision
    assert repr(p.lower_limit) == "0.0999915" and repr(p.upper_limit) == "0.1000085"


def test_the_negative_range_is_judged_the_same_way() -> None:
    assert _point([-0.0999915] * 4, nominal=-0.1).decision == "pass"
    assert _point([-0.1000085] * 4, nominal=-0.1).decision == "pass"
    assert _point([-0.1000086] * 4, nominal=-0.1).decision == "fail"


RULES = [SIMPLE, DecisionRule("guarded-acceptance", 1.0), DecisionRule("guarded-acceptance", 0.5),
         DecisionRule("non-binary", 1.0)]


@pytest.mark.parametrize("rule", RULES, ids=str)
@pytest.mark.parametrize("side", [-1, 1])
def test_every_rule_at_just_inside_and_just_outside_each_limit(rule: DecisionRule, side: int) -> None:
    lo, hi, U = Decimal("9.9996"), Decimal("10.0004"), 0.0001
    w = Decimal(repr(rule.guard_band(U)))
    edge = hi if side > 0 else lo
    acceptance = edge - side * w  # the acceptance limit, w inside the tolerance limit
    eps = Decimal("0.000001") * side
    assert decide(acceptance, lo, hi, w, rule) == "pass"  # on the acceptance limit: accepted
    assert decide(acceptance - eps, lo, hi, w, rule) == "pass"
    outside_acceptance = decide(acceptance + eps, lo, hi, w, rule)
    on_limit = decide(edge, lo, hi, w, rule)
    beyond = decide(edge + eps, lo, hi, w, rule)
    far = decide(edge + side * (w + Decimal("0.0001")), lo, hi, w, rule)
    if rule.kind == "simple-acceptance":
        assert (outside_acceptance, on_limit, beyond, far) == ("fail", "pass", "fail", "fail")
    elif rule.kind == "guarded-acceptance":
        assert (outside_acceptance, on_limit, beyond, far) == ("fail", "fail", "fail", "fail")
    else:
        assert (outside_acceptance, on_limit, beyond, far) == (
            "conditional pass", "conditional pass", "conditional fail", "fail")
        assert decide(edge + side * w, lo, hi, w, rule) == "conditional fail"  # w outside: still conditional


def test_a_guard_band_larger_than_the_tolerance_is_never_a_pass_but_non_binary_says_why() -> None:
    """With w = U > tolerance a DUT with zero error cannot pass a binary
    guarded rule; the non-binary rule calls it a conditional pass."""
    lo, hi, U = 9.9996, 10.0004, 0.001
    assert decide(10.0, lo, hi, U, DecisionRule("guarded-acceptance", 1.0)) == "fail"
    assert decide(10.0, lo, hi, U, DecisionRule("non-binary", 1.0)) == "conditional pass"


def test_the_rule_is_written_and_read_back_from_the_run_file_text() -> None:
    for rule in RULES:
        assert DecisionRule.parse(str(rule)) == rule
        assert "ILAC-G8:09/2019" in rule.statement and "on a limit" in rule.statement
    assert DecisionRule.parse("guard-band-u") == DecisionRule("guarded-acceptance", 1.0)
    with pytest.raises(ValueError):
        DecisionRule("guarded-acceptance", 0.0)


def test_probability_of_conformity() -> None:
    assert probability_of_conformity(10.0, 9.0, 11.0, 0.1) == pytest.approx(1.0)
    assert probability_of_conformity(11.0, 9.0, 11.0, 0.1) == pytest.approx(0.5)
    # 1.96 u inside the upper limit: 97.5 % (the other limit is 20 u away)
    assert probability_of_conformity(11.0 - 0.196, 9.0, 11.0, 0.1) == pytest.approx(0.975, abs=1e-3)
    p = _point([0.1000084] * 10)
    assert 0.0 < p.p_conform < 1.0


@settings(max_examples=300, deadline=None)
@given(ref=st.floats(-1000, 1000, allow_nan=False), tol=st.floats(1e-9, 10.0), U=st.floats(1e-9, 1.0),
       rng=st.sampled_from([0.1, 1.0, 10.0, 100.0, 1000.0]))
def test_a_printed_limit_is_never_outside_the_exact_one(ref: float, tol: float, U: float, rng: float) -> None:
    lower, upper = ref - tol, ref + tol
    r = rounding(U, scale_of(rng, "V"))
    printed_lo, printed_hi = Decimal(r.limit(lower, lower=True)), Decimal(r.limit(upper, lower=False))
    assert printed_lo >= exact_decimal(lower, r.scale)
    assert printed_hi <= exact_decimal(upper, r.scale)
    # and it is the exact value whenever that needs at most two decimals more than U
    for value, printed in ((lower, printed_lo), (upper, printed_hi)):
        exact = exact_decimal(value, r.scale)
        if -exact.normalize().as_tuple().exponent <= r.decimals + 2:  # type: ignore[operator]
            assert printed == exact


def test_the_issue_s_limit_at_50_v_prints_whole() -> None:
    """49.99715 V on the 100 V range, U = 2.0 mV: printed as 49.99715, not 49.9971."""
    r = rounding(2.0e-3, scale_of(100.0, "V"))
    assert r.limit(49.99715, lower=True) == "49.99715"
    assert r.limit(50.00285, lower=False) == "50.00285"


def test_the_lab_s_low_tur_policy(capsys: pytest.CaptureFixture[str]) -> None:
    """The 34401A on its 1-year spec against a 5522A on its 90-day one has
    planned TURs below 4:1 (docs/metrology.md)."""
    base = ["run", "keysight-34401a-dcv", "--simulated", "--yes", "--check"]
    assert main(base) == EXIT_OK
    capsys.readouterr()
    assert main([*base, "--low-tur", "refuse"]) == EXIT_PLAN_REFUSED
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "below 4:1" in err and "refuses" in err
    assert main([*base, "--low-tur", "guard"]) == EXIT_PLAN_REFUSED
    assert "--rule guarded" in capsys.readouterr().err
    assert main([*base, "--low-tur", "guard", "--rule", "non-binary", "--guard-band", "0.5"]) == EXIT_OK


def test_monte_carlo_is_a_per_run_choice_recorded_beside_the_gum_and_re_derived(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--uncertainty monte-carlo`: each point's shortest 95 % interval (GUM
    S1) is in the run file beside the GUM's U, the chosen one is certified,
    and verify draws the same numbers again from the recorded seed."""
    from station.runfile.reader import RunFile

    out = tmp_path / "mc.h5"
    assert main(["run", "keysight-34401a-dcv", "--simulated", "--yes", "--readings", "5",
                 "--uncertainty", "monte-carlo", "--out", str(out)]) == EXIT_OK, capsys.readouterr().err
    assert main(["verify", str(out)]) == 0
    with RunFile(out) as rf:
        assert rf.attrs["uncertainty_method"] == "monte-carlo"
        points = rf.points
    for p in points:
        assert p.mc_trials >= 10_000 and p.mc_low < 0 < p.mc_high
        assert p.expanded_uncertainty == max(-p.mc_low, p.mc_high)
        assert p.gum_expanded == pytest.approx(2.0 * p.u_combined, rel=0.1)
    # 10 V on the 10 V range: the 5522A's rectangular specification dominates;
    # the GUM's k = 2 interval is about a fifth wider than the 95 % one
    ten = next(p for p in points if p.range == 10.0 and p.nominal == 10.0)
    assert 1.1 < ten.gum_expanded / ten.expanded_uncertainty < 1.3
    assert main(["certificate", str(out)]) == 0


def test_monte_carlo_refuses_too_few_readings_before_anything_is_energised(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "keysight-34401a-dcv", "--simulated", "--yes", "--readings", "3",
                 "--uncertainty", "monte-carlo", "--check"]) == EXIT_PLAN_REFUSED
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "at least 4" in err and "--uncertainty gum" in err


def test_the_certificate_states_coverage_truthfully(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Where the rectangular specification dominates, k = 2 covers not less
    than 95 %: the certificate says so instead of 'approximately 95.45 %' alone."""
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = tmp_path / "run.h5"
    assert main(["run", "keysight-34401a-dcv", "--simulated", "--yes", "--readings", "4", "--out", str(out)]) == 0
    assert main(["certificate", str(out)]) == 0
    text = " ".join(subprocess.run(["pdftotext", str(out.with_suffix(".draft.pdf")), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "not less than 95 %" in text and "rectangular" in text
    assert "A result on a limit is taken to be within it" in text
    # the conditions the bench's thermo-hygrometer recorded, beside the job's
    assert "measured during the calibration" in text and "thermo-hygrometer SIM-AMB-1620A" in text
