"""Fluke 9142 field metrology well: exact bytes, strict replies (hypothesis),
the simulator's physics, and the driver against its simulator in process,
over TCP and a pseudo-terminal, with faults."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from drivers.clock import VirtualClock
from drivers.datasheet import load
from drivers.errors import CalstationError, GarbledReply, InstrumentError
from drivers.fluke.f9142 import TEMP_SHEET, Fluke9142
from drivers.fluke.f9142_sim import Sim9142, model_time
from drivers.roles import Controller, Function, SafeState, SelfChecking, capabilities_of
from drivers.sim import faults
from drivers.sim.bench import SimBench
from drivers.transport import open_transport
from tests.drivers.conftest import Reached, reached_on
from tests.drivers.protocol import AnsweringTransport, ProtocolTransport
from tests.drivers.strategies import PROPERTY, replies, wire

TEMP = Function.TEMP
NO_ERROR = (b"SYST:ERR?\n", b'0,"No error"\r\n')
PROGRAMMED = [(b"SOUR:SPO 100\n", None), NO_ERROR, (b"OUTP:STAT 1\n", None), NO_ERROR]
STATE = [b"*ESR?\n", b"SOUR:SPO?\n", b"OUTP:STAT?\n", b"SYST:ERR?\n"]


@contextmanager
def protocol(pairs: list[tuple[bytes, bytes | None]]) -> Iterator[Fluke9142]:
    """The well on a scripted conversation, replies ending CR LF as on its RS-232 port."""
    transport = ProtocolTransport(pairs, name="well", read_termination="\r\n")
    yield Fluke9142(transport, VirtualClock())
    transport.assert_done()


def state(esr: bytes = b"0", spo: bytes = b"100.00", outp: bytes = b"1",
          err: bytes = b'0,"No error"') -> list[tuple[bytes, bytes | None]]:
    """`confirm_state`'s four exchanges and the well's replies."""
    return [(q, r + b"\r\n") for q, r in zip(STATE, (esr, spo, outp, err), strict=True)]


# -- exact bytes --------------------------------------------------------------------


def test_the_well_is_a_controller_with_a_safe_state_that_checks_itself():
    with protocol([]) as well:
        assert capabilities_of(well) == ("Controller", "SafeState", "SelfChecking")
        assert all(isinstance(well, c) for c in (Controller, SafeState, SelfChecking))
        assert well.setpoint_limits(TEMP) == (-25.0, 150.0)


def test_initialize_clears_the_status_and_sets_celsius():
    with protocol([(b"*CLS\n", None), (b"UNIT:TEMP C\n", None), NO_ERROR]) as well:
        well.initialize()


@pytest.mark.parametrize(("value", "sent"), [(100.0, b"100"), (-12.5, b"-12.5"), (150.0, b"150"),
                                             (-25.0, b"-25"), (37.004, b"37.004")])
def test_set_setpoint_programs_it_then_turns_control_on(value, sent):
    pairs = [(b"SOUR:SPO " + sent + b"\n", None), NO_ERROR, (b"OUTP:STAT 1\n", None), NO_ERROR]
    with protocol(pairs) as well:
        well.set_setpoint(TEMP, value)


@pytest.mark.parametrize("value", [150.01, -25.5, 660.0, math.nan])
def test_a_setpoint_outside_the_limits_is_refused_without_sending(value):
    with protocol([]) as well:
        with pytest.raises(InstrumentError, match=r"well: command 'SOUR:SPO .*' failed: .* outside the setpoint "
                                                  r"limits -25 C to 150 C; choose a test point"):
            well.set_setpoint(TEMP, value)


def test_another_function_is_refused():
    with protocol([]) as well:
        with pytest.raises(InstrumentError, match="function DCV is not supported by this driver; use TEMP"):
            well.set_setpoint(Function.DCV, 1.0)


def test_an_error_the_well_queues_names_the_command():
    pairs = [(b"SOUR:SPO 100\n", None), (b"SYST:ERR?\n", b'-222,"Data out of range"\r\n'), NO_ERROR]
    with protocol(pairs) as well:
        with pytest.raises(InstrumentError) as err:
            well.set_setpoint(TEMP, 100.0)
    assert str(err.value).startswith("well: command 'SOUR:SPO 100' failed: error -222, Data out of range")


@pytest.mark.parametrize(("reply", "value"), [(b"99.984", 99.984), (b"-24.9", -24.9), (b"100.00C", 100.0),
                                              (b"100.001 C", 100.001), (b"+25", 25.0)])
def test_actual_reads_the_control_sensor(reply, value):
    with protocol([(b"SOUR:SENS:DATA? TEMP\n", reply + b"\r\n")]) as well:
        assert well.actual() == value


@pytest.mark.parametrize("reply", [b"", b"99.98.4", b"1e2", b"99,984", b" 99.984", b"99.984 ", b"99.984CC",
                                   b"nan", b"+", b"12345.6", b"99.984c", b"99.984\r", b"0x10"])
def test_actual_refuses_what_is_not_a_temperature(reply):
    with protocol([(b"SOUR:SENS:DATA? TEMP\n", reply + b"\r\n")]) as well:
        with pytest.raises(GarbledReply) as err:
            well.actual()
    message = str(err.value)
    assert message.startswith("well: command 'SOUR:SENS:DATA? TEMP' failed: reply ")
    assert "is not a temperature such as 25.003" in message and "\n" not in message


def test_a_temperature_in_fahrenheit_is_not_taken_for_celsius():
    with protocol([(b"SOUR:SENS:DATA? TEMP\n", b"212.00F\r\n")]) as well:
        with pytest.raises(InstrumentError, match="the well reports in F, not in C; call initialize"):
            well.actual()


@pytest.mark.parametrize(("reply", "stable"), [(b"1", True), (b"0", False)])
def test_is_stable_asks_the_well(reply, stable):
    with protocol([(b"SOUR:STAB:TEST?\n", reply + b"\r\n")]) as well:
        assert well.is_stable() is stable


@pytest.mark.parametrize("reply", [b"", b"2", b"10", b"1 ", b"ON", b"1.0", b" 1"])
def test_is_stable_refuses_anything_but_0_or_1(reply):
    with protocol([(b"SOUR:STAB:TEST?\n", reply + b"\r\n")]) as well:
        with pytest.raises(GarbledReply, match=r"well: command 'SOUR:STAB:TEST\?' failed: reply .* is not 0 or 1"):
            well.is_stable()


def test_safe_state_holds_25_c_with_control_on():
    pairs = [(b"SOUR:SPO 25\n", None), NO_ERROR, (b"OUTP:STAT 1\n", None), NO_ERROR]
    with protocol(pairs) as well:
        well.safe_state()


def test_safe_state_tries_every_step_then_raises_the_first_failure():
    pairs = [(b"SOUR:SPO 25\n", None), (b"SYST:ERR?\n", b'-222,"Data out of range"\r\n'), NO_ERROR,
             (b"OUTP:STAT 1\n", None), NO_ERROR]
    with protocol(pairs) as well:
        with pytest.raises(InstrumentError, match="command 'SOUR:SPO 25' failed: error -222"):
            well.safe_state()


def test_the_stability_limit_is_set_and_read():
    pairs = [(b"SOUR:STAB:LIM 0.05\n", None), NO_ERROR, (b"SOUR:STAB:LIM?\n", b"0.05\r\n")]
    with protocol(pairs) as well:
        well.set_stability_limit(0.05)
        assert well.stability_limit == 0.05
    with protocol([]) as well, pytest.raises(InstrumentError, match="not a positive stability limit"):
        well.set_stability_limit(-0.1)


# -- confirm_state, exact bytes --------------------------------------------------------


def test_confirm_state_before_anything_was_programmed_reads_only_the_error_queue():
    with protocol([(b"*CLS\n", None), (b"UNIT:TEMP C\n", None), NO_ERROR, NO_ERROR]) as well:
        well.initialize()
        well.confirm_state()


def test_confirm_state_is_four_single_queries_never_a_compound_one():
    with protocol([*PROGRAMMED, *state()]) as well:
        well.set_setpoint(TEMP, 100.0)
        well.confirm_state()


def test_confirm_state_accepts_the_setpoint_as_the_well_rounds_it():
    pairs = [(b"SOUR:SPO 37.004\n", None), NO_ERROR, (b"OUTP:STAT 1\n", None), NO_ERROR, *state(spo=b"37.00")]
    with protocol(pairs) as well:
        well.set_setpoint(TEMP, 37.004)
        well.confirm_state()


@pytest.mark.parametrize("reported", [b"100.01", b"99.99", b"109.00", b"25.00", b"-100.00"])
def test_confirm_state_sees_another_setpoint(reported):
    with protocol([*PROGRAMMED, *state(spo=reported)]) as well:
        well.set_setpoint(TEMP, 100.0)
        with pytest.raises(InstrumentError) as err:
            well.confirm_state()
    assert str(err.value).startswith(f"well: command 'SOUR:SPO?' failed: the setpoint is {float(reported):g} C, "
                                     "not 100 C as programmed; the point's readings are invalid")


def test_confirm_state_sees_control_off():
    with protocol([*PROGRAMMED, *state(outp=b"0")]) as well:
        well.set_setpoint(TEMP, 100.0)
        with pytest.raises(InstrumentError, match="command 'OUTP:STAT\\?' failed: control is off, not on as commanded"):
            well.confirm_state()


def test_confirm_state_sees_a_power_cycle_first():
    with protocol([*PROGRAMMED, *state(esr=b"128", spo=b"25.00")]) as well:
        well.set_setpoint(TEMP, 100.0)
        with pytest.raises(InstrumentError, match=r"command '\*ESR\?' failed: the well was switched off and on"):
            well.confirm_state()


def test_confirm_state_sees_a_queued_error_and_drains_the_queue():
    pairs = [*PROGRAMMED, *state(err=b'-113,"Undefined header"'), (b"SYST:ERR?\n", b'-222,"x"\r\n'), NO_ERROR]
    with protocol(pairs) as well:
        well.set_setpoint(TEMP, 100.0)
        with pytest.raises(InstrumentError, match="command 'SYST:ERR\\?' failed: error -113, Undefined header"):
            well.confirm_state()


def test_confirm_state_checks_a_stability_limit_the_driver_set():
    pairs = [*PROGRAMMED, (b"SOUR:STAB:LIM 0.05\n", None), NO_ERROR,
             (b"*ESR?\n", b"0\r\n"), (b"SOUR:SPO?\n", b"100.00\r\n"), (b"OUTP:STAT?\n", b"1\r\n"),
             (b"SOUR:STAB:LIM?\n", b"0.10\r\n"), (b"SYST:ERR?\n", b'0,"No error"\r\n')]
    with protocol(pairs) as well:
        well.set_setpoint(TEMP, 100.0)
        well.set_stability_limit(0.05)
        with pytest.raises(InstrumentError, match="the stability limit is 0.1 C, not 0.05 C as set"):
            well.confirm_state()


@pytest.mark.parametrize(("index", "reply", "query"), [
    (0, b"", "*ESR?"), (0, b"256", "*ESR?"), (1, b"100.00.0", "SOUR:SPO?"), (1, b"", "SOUR:SPO?"),
    (2, b"2", "OUTP:STAT?"), (3, b'0,"No error', "SYST:ERR?"), (3, b"0", "SYST:ERR?")])
def test_confirm_state_refuses_a_garbled_reply_naming_its_query(index, reply, query):
    replies_ = [b"0", b"100.00", b"1", b'0,"No error"']
    replies_[index] = reply
    with protocol([*PROGRAMMED, *state(*replies_)]) as well:
        well.set_setpoint(TEMP, 100.0)
        with pytest.raises(GarbledReply) as err:
            well.confirm_state()
    assert str(err.value).startswith(f"well: command '{query}' failed: reply ")


# -- property tests: every parser, arbitrary replies ---------------------------------

MANUAL_TEMP = re.compile(r"[+-]?[0-9]{1,4}(\.[0-9]{1,6})?( ?[CFK])?")
MANUAL_ERR = re.compile(r'[+-]?[0-9]{1,3},"([ !#-~]|"")*"')
TEMPERATURES = st.builds("{:.3f}{}".format, st.floats(-30, 160, allow_nan=False), st.sampled_from(["", "C", " C", "F"]))


@PROPERTY
@given(replies(TEMPERATURES))
def test_temperature_parser(reply):
    transport = ProtocolTransport([(b"SOUR:SENS:DATA? TEMP\n", wire(reply))], name="well")
    well = Fluke9142(transport, VirtualClock())
    try:
        value = well.actual()
    except GarbledReply:
        assert not MANUAL_TEMP.fullmatch(reply)
    except InstrumentError as e:
        assert MANUAL_TEMP.fullmatch(reply) and reply[-1] in "FK" and "not in C" in str(e)
    else:
        assert MANUAL_TEMP.fullmatch(reply) and not reply.endswith(("F", "K"))
        assert value == float(reply.rstrip(" C"))


@PROPERTY
@given(replies(st.sampled_from(["0", "1"])))
def test_stability_parser(reply):
    transport = ProtocolTransport([(b"SOUR:STAB:TEST?\n", wire(reply))], name="well")
    well = Fluke9142(transport, VirtualClock())
    try:
        stable = well.is_stable()
    except CalstationError:
        assert reply not in ("0", "1")
    else:
        assert reply in ("0", "1") and stable is (reply == "1")


@PROPERTY
@given(replies(st.from_regex(r'[+-]?[0-9]{1,3},"[ !#-~]{0,30}"', fullmatch=True), max_size=50))
def test_error_parser(reply):
    transport = AnsweringTransport({"SYST:ERR?": [wire(reply)]}, {"SYST:ERR?": b'0,"No error"\n'}, name="well")
    well = Fluke9142(transport, VirtualClock())
    well_formed = MANUAL_ERR.fullmatch(reply) is not None
    try:
        well.check_errors("X")
    except GarbledReply:
        assert not well_formed
    except InstrumentError as e:
        code = int(reply.partition(",")[0])
        assert well_formed and code != 0 and str(e).startswith(f"well: command 'X' failed: error {code}, ")
    else:
        assert well_formed and int(reply.partition(",")[0]) == 0


ESR_PARTS = st.one_of(st.just("0"), st.just("0"), st.sampled_from(["128", "32", "160"]), st.integers(0, 300).map(str))
SPO_PARTS = st.one_of(st.just("100.00"), st.sampled_from(["100.01", "99.995", "109.00", "100", "100.00C"]))
OUTP_PARTS = st.sampled_from(["1", "1", "1", "0"])
ERR_PARTS = st.one_of(st.just('0,"No error"'), st.just('0,"No error"'), st.sampled_from(['-113,"Undefined header"']))


def expected_outcome(esr: str, spo: str, outp: str, err: str) -> str | None:
    """What `confirm_state` must do with these replies for a well programmed
    to 100 C with control on: "garbled", the query a check names, or None."""
    if not (re.fullmatch(r"[+-]?[0-9]{1,3}", esr) and 0 <= int(esr) <= 255 and MANUAL_TEMP.fullmatch(spo)
            and outp in ("0", "1") and MANUAL_ERR.fullmatch(err)):
        return "garbled"
    if int(esr) & 128:
        return "*ESR?"
    if spo[-1] in "FK":
        return "SOUR:SPO?"
    if abs(float(spo.rstrip(" C")) - 100.0) > 0.005 + 1e-9:
        return "SOUR:SPO?"
    if outp != "1":
        return "OUTP:STAT?"
    if int(err.partition(",")[0]) != 0:
        return "SYST:ERR?"
    return None


@PROPERTY
@given(st.one_of(st.tuples(ESR_PARTS, SPO_PARTS, OUTP_PARTS, ERR_PARTS),
                 st.tuples(*(replies(p, max_size=20) for p in (ESR_PARTS, SPO_PARTS, OUTP_PARTS, ERR_PARTS)))))
@example(("0", "0K", "", '0,"No error"'))  # found by Hypothesis: a garbled reply beats the unit in K
def test_confirm_state_parser(parts):
    esr, spo, outp, err = parts
    no_error = b'0,"No error"\n'
    answers = {q: [wire(r)] for q, r in zip(("*ESR?", "SOUR:SPO?", "OUTP:STAT?"), parts[:3], strict=True)}
    answers["SYST:ERR?"] = [no_error, no_error, wire(err)]  # set_setpoint's two checks, then confirm_state's
    transport = AnsweringTransport(answers, {"SYST:ERR?": no_error}, name="well")
    well = Fluke9142(transport, VirtualClock())
    well.set_setpoint(TEMP, 100.0)
    del transport.sent[:]
    expected = expected_outcome(esr, spo, outp, err)
    try:
        well.confirm_state()
    except GarbledReply:
        assert expected == "garbled"
    except InstrumentError as e:
        assert expected == e.command
    else:
        assert expected is None
    assert transport.sent[:4] == ["*ESR?", "SOUR:SPO?", "OUTP:STAT?", "SYST:ERR?"]
    assert not any(";" in c for c in transport.sent)


# -- the simulator's physics ------------------------------------------------------------


def settled_sim(setpoint: float, seed: int = 3) -> tuple[Sim9142, VirtualClock]:
    """A simulated well, switched on at ambient with ``setpoint``, left until it judges itself stable."""
    clock = VirtualClock()
    sim = Sim9142(clock=clock, rng=np.random.default_rng(seed), setpoint_c=setpoint)
    while sim.handle("SOUR:STAB:TEST?") != "1":
        clock.sleep(10.0)
        assert clock.now() < 3 * 3600, "never stable"
    return sim, clock


def time_to_reach(sim: Sim9142, clock: VirtualClock, target: float, band: float = 0.1, step: float = 5.0) -> float:
    """Bench seconds until the indicated temperature stays within ``band`` of ``target`` (polled)."""
    start = clock.now()
    while abs(float(sim.handle("SOUR:SENS:DATA? TEMP") or "nan") - target) > band:
        clock.sleep(step)
        assert clock.now() - start < 4 * 3600, "never got there"
    return clock.now() - start


def test_heating_25_to_100_takes_the_order_of_the_datasheet_heating_time():
    sim, clock = settled_sim(25.0)
    sim.handle("SOUR:SPO 100")
    seconds = time_to_reach(sim, clock, 100.0)
    full = {(r.low, r.high): r.terms.floor for r in TEMP_SHEET.performance["heating_time_s"].rows}[(23.0, 150.0)]
    # 75 C of the 127 C the data sheet heats in 23 min: more than a proportional share, less than it all
    assert full * 75 / 127 < seconds < full, seconds


@pytest.mark.parametrize("name", ["heating_time_s", "cooling_time_s"])
def test_no_heating_or_cooling_is_faster_than_the_datasheet(name):
    sim = Sim9142()
    rate = sim.heating_rate if name == "heating_time_s" else sim.cooling_rate
    times = [(model_time(r.high - r.low, rate, sim.tau, 0.1), r.terms.floor)
             for r in TEMP_SHEET.performance[name].rows]
    assert all(modelled >= printed - 1e-6 for modelled, printed in times)
    assert any(math.isclose(modelled, printed, rel_tol=1e-6) for modelled, printed in times)  # the slowest binds


def test_cooling_150_to_23_takes_the_order_of_the_datasheet_cooling_time():
    sim, clock = settled_sim(150.0)
    sim.handle("SOUR:SPO 23")
    seconds = time_to_reach(sim, clock, 23.0)
    printed = {(r.low, r.high): r.terms.floor for r in TEMP_SHEET.performance["cooling_time_s"].rows}
    assert printed[(-23.0, 150.0)] * 127 / 173 < seconds < 2 * printed[(-23.0, 150.0)], seconds


def test_judged_stable_only_after_settling_then_the_window():
    sim, clock = settled_sim(25.0)
    sim.handle("SOUR:SPO 100")
    assert sim.handle("SOUR:STAB:TEST?") == "0"  # a new setpoint restarts the judgement
    inside = sim.entered_band(sim.stability_limit - sim.noise_amplitude)
    assert inside > clock.now() + 600  # the block has 75 C to go
    clock.sleep(inside - clock.now() + sim.stable_window_s - 1.0)
    assert abs(sim.indicated() - 100.0) <= sim.stability_limit  # already close...
    assert sim.handle("SOUR:STAB:TEST?") == "0"  # ...but not yet for the whole window
    clock.sleep(2.0)
    assert sim.handle("SOUR:STAB:TEST?") == "1"
    for _ in range(200):  # and it stays within the limit while judged stable
        clock.sleep(7.3)
        assert abs(float(sim.handle("SOUR:SENS:DATA? TEMP") or "nan") - 100.0) <= sim.stability_limit
        assert sim.handle("SOUR:STAB:TEST?") == "1"
    sim.handle("OUTP:STAT 0")
    assert sim.handle("SOUR:STAB:TEST?") == "0"


def test_a_stability_limit_inside_the_control_noise_is_never_met():
    sim, clock = settled_sim(50.0)
    sim.handle("SOUR:STAB:LIM 0.01")  # the datasheet's stability is +/-0.01 C
    for _ in range(60):
        clock.sleep(60)
        assert sim.handle("SOUR:STAB:TEST?") == "0"
    sim.handle("SOUR:STAB:LIM 0.1")
    assert sim.handle("SOUR:STAB:TEST?") == "1"


def test_an_hour_of_heating_runs_in_well_under_a_second():
    clock = VirtualClock()
    sim = Sim9142(clock=clock)
    sim.handle("SOUR:SPO 150")
    start = time.perf_counter()
    for _ in range(3600):
        clock.sleep(1.0)
        sim.handle("SOUR:SENS:DATA? TEMP")
        sim.handle("SOUR:STAB:TEST?")
    assert time.perf_counter() - start < 0.5
    assert abs(sim.indicated() - 150.0) < 0.05 and sim.handle("SOUR:STAB:TEST?") == "1"


def test_the_temperature_does_not_depend_on_how_often_the_well_is_asked():
    polled, quiet = VirtualClock(), VirtualClock()
    a, b = Sim9142(clock=polled, rng=np.random.default_rng(5)), Sim9142(clock=quiet, rng=np.random.default_rng(5))
    for sim in (a, b):
        sim.handle("SOUR:SPO 120")
    for _ in range(1234):
        polled.sleep(1.0)
        a.handle("SOUR:SENS:DATA? TEMP")
    quiet.sleep(1234.0)
    assert a.handle("SOUR:SENS:DATA? TEMP") == b.handle("SOUR:SENS:DATA? TEMP")
    assert a.block_temperature() == b.block_temperature()


def test_the_block_differs_from_the_display_within_the_display_accuracy():
    accuracy = TEMP_SHEET.spec("1y").half_width(100.0)
    for seed in range(20):
        sim, clock = settled_sim(100.0, seed)
        offset = sim.indicated() - sim.port_block().value
        assert offset != 0.0 and abs(offset) <= accuracy
        assert sim.port_block().function == "TEMP"


def test_the_control_noise_stays_within_the_stability_specification():
    sim, clock = settled_sim(-20.0)
    clock.sleep(3600.0)  # the first-order approach long over
    stability = TEMP_SHEET.figure("stability", -20.0)
    seen = []
    for _ in range(500):
        clock.sleep(1.7)
        seen.append(sim.indicated() + 20.0)
    assert max(map(abs, seen)) <= stability
    assert max(seen) - min(seen) > stability  # it does move


def test_with_control_off_the_block_drifts_to_ambient():
    sim, clock = settled_sim(150.0)
    sim.handle("OUTP:STAT 0")
    clock.sleep(4 * 3600)
    assert abs(sim.indicated() - sim.ambient) < 1.0
    assert sim.handle("OUTP:STAT?") == "0" and sim.handle("SOUR:STAB:TEST?") == "0"


def test_the_simulator_refuses_bad_commands_with_scpi_errors():
    sim = Sim9142()
    sim.handle("SOUR:SPO 150.5")
    sim.handle("SOUR:SPO abc")
    sim.handle("OUTP:STAT 2")
    sim.handle("SOUR:STAB:LIM 20")
    sim.handle("SOUR:SPO?;OUTP:STAT?")  # compound: refused whole
    assert sim.setpoint == 25.0 and sim.control and sim.stability_limit == 0.05
    assert [sim.handle("SYST:ERR?") for _ in range(6)] == [
        '-222,"Data out of range"', '-104,"Data type error"', '-224,"Illegal parameter value"',
        '-222,"Data out of range"', '-113,"Undefined header"', '0,"No error"']
    assert sim.handle("*ESR?") == "48"


def test_a_power_cycle_keeps_the_setpoint_and_restarts_the_judgement():
    sim, clock = settled_sim(80.0)
    sim.handle("SOUR:STAB:LIM 0.2")
    sim.push_error(-222, "Data out of range")
    sim.power_cycle()
    assert (sim.setpoint, sim.control, sim.stability_limit, sim.errors) == (80.0, True, 0.2, type(sim.errors)())
    assert sim.handle("*ESR?") == "128" and sim.handle("*ESR?") == "0"
    assert sim.handle("SOUR:STAB:TEST?") == "0"
    clock.sleep(sim.stable_window_s)
    assert sim.handle("SOUR:STAB:TEST?") == "1"


def test_the_datasheet_has_every_figure_the_simulator_and_metrology_use():
    sheet = load(TEMP_SHEET.sheet.path).function(TEMP)
    for name in ("stability", "axial_uniformity", "radial_uniformity", "loading", "hysteresis"):
        assert 0 < sheet.figure(name, 50.0) < 1
    assert sheet.spec("1y").half_width(-25.0) == sheet.spec("1y").half_width(150.0) == 0.2
    assert sheet.fixed_resolution == 0.01 and sheet.limits == (-25.0, 150.0)


# -- the driver against its simulator, over every transport --------------------------


reached = reached_on("drywell-comparison")


def well_on(r: Reached, timeout_s: float = 2.0) -> Fluke9142:
    transport = open_transport(r.resources["well"], name="well", io_log=r.log, timeout_s=timeout_s,
                               write_termination=Fluke9142.write_termination,
                               read_termination=Fluke9142.read_termination, simulators=r.bench.simulators)
    r.opened.append(transport)
    return Fluke9142(transport, r.bench.clock, serial=True if r.kind == "pty" else None)


def wait_stable(well: Fluke9142, bench: SimBench, limit_s: float = 3 * 3600) -> float:
    start = bench.clock.now()
    while not well.is_stable():
        bench.clock.sleep(20.0)
        assert bench.clock.now() - start < limit_s, "the well never became stable"
    return bench.clock.now() - start


def test_a_rising_comparison_on_every_transport(reached: Reached):
    well = well_on(reached)
    sim = reached.bench.well
    assert well.identify().matches(well.manufacturers, well.models)
    well.initialize()
    well.confirm_state()
    for setpoint in (0.0, 50.0, 100.0):
        well.set_setpoint(TEMP, setpoint)
        assert not well.is_stable()
        wait_stable(well, reached.bench)
        assert abs(well.actual() - setpoint) <= sim.stability_limit
        assert well.setpoint == setpoint and well.control_enabled
        well.confirm_state()
    well.safe_state()
    well.confirm_state()
    assert (sim.setpoint, sim.control) == (25.0, True)


def test_confirm_state_is_four_messages_with_no_compound_one(reached: Reached):
    well = well_on(reached)
    sim = reached.bench.well
    well.set_setpoint(TEMP, 60.0)
    before, received = len(reached.log.entries()), len(sim.received)
    well.confirm_state()
    assert list(sim.received)[received:] == ["*ESR?", "SOUR:SPO?", "OUTP:STAT?", "SYST:ERR?"]
    assert [e.data for e in reached.log.entries()[before:]] == [
        b"*ESR?\n", b"0\r\n", b"SOUR:SPO?\n", b"60.00\r\n", b"OUTP:STAT?\n", b"1\r\n",
        b"SYST:ERR?\n", b'0,"No error"\r\n']


def test_a_power_cycle_is_found_by_confirm_state(reached: Reached):
    well = well_on(reached)
    sim = reached.bench.well
    well.initialize()
    well.set_setpoint(TEMP, 100.0)
    wait_stable(well, reached.bench)
    well.confirm_state()
    sim.power_cycle()  # the setpoint survives, control comes back on: only PON tells
    with pytest.raises(InstrumentError) as err:
        well.confirm_state()
    assert str(err.value).startswith("well: command '*ESR?' failed: the well was switched off and on (PON)")
    assert not well.is_stable()  # the well's own judgement restarted too


def test_a_corrupted_setpoint_is_found_by_confirm_state(reached: Reached):
    well = well_on(reached)
    sim = reached.bench.well
    corruption = faults.once(faults.substitute(b"SOUR:SPO 100", b"SOUR:SPO 109"))
    sim.line_fault = corruption
    well.set_setpoint(TEMP, 100.0)  # 109 C is a valid setpoint: no error queued
    assert corruption.fired == 1 and sim.setpoint == 109.0
    with pytest.raises(InstrumentError, match="command 'SOUR:SPO\\?' failed: the setpoint is 109 C, not 100 C"):
        well.confirm_state()


def test_control_turned_off_at_the_front_panel_is_found(reached: Reached):
    well = well_on(reached)
    well.set_setpoint(TEMP, 40.0)
    reached.bench.well.handle("OUTP:STAT 0")
    with pytest.raises(InstrumentError, match="control is off, not on as commanded"):
        well.confirm_state()


@pytest.mark.parametrize("fault", ["garble", "truncate"])
def test_garbled_replies_are_refused(reached: Reached, fault):
    well = well_on(reached)
    sim = reached.bench.well
    well.set_setpoint(TEMP, 30.0)
    rng = np.random.default_rng(11)
    sim.line_fault = (faults.garble(rng, 1.0) if fault == "garble"
                      else faults.truncate(rng, 1.0, keep_termination=True))
    # A number cut short is often still a number ("30.012" -> "30.0"): beyond a format check,
    # like noise turning digits into digits. The truncations tried are on replies where it is not.
    calls = (well.actual, well.is_stable, well.confirm_state) if fault == "garble" else (well.is_stable,
                                                                                         well.confirm_state)
    for call in calls * 3:
        with pytest.raises(GarbledReply, match="well: command '.*' failed: reply "):
            call()
    sim.line_fault = None
    well.confirm_state()
