"""Fluke 1524 reference thermometer: exact bytes, strict replies (hypothesis),
the simulator's readings, and the driver against its simulator in process,
over TCP and a pseudo-terminal, with faults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.clock import VirtualClock
from drivers.errors import CalstationError, GarbledReply, InstrumentError, InstrumentTimeout
from drivers.fluke.f1524 import TEMP_SHEET, Fluke1524
from drivers.fluke.f1524_sim import Sim1524
from drivers.roles import Function, Readout, SelfChecking, capabilities_of
from drivers.sim import faults
from drivers.sim.base import Stimulus
from drivers.sim.bench import SimBench
from drivers.transport import open_transport
from tests.drivers.conftest import Reached, reached_on
from tests.drivers.protocol import AnsweringTransport, ProtocolTransport
from tests.drivers.strategies import PROPERTY, replies, wire

NO_ERROR = (b"SYST:ERR?\n", b'0,"No error"\r\n')
INITIALIZED = [(b"*CLS\n", None), (b"UNIT:TEMP C\n", None), NO_ERROR]
STATE = [b"*ESR?\n", b"UNIT:TEMP?\n", b"SYST:ERR?\n"]


@contextmanager
def protocol(pairs: list[tuple[bytes, bytes | None]]) -> Iterator[Fluke1524]:
    """The readout on a scripted conversation, replies ending CR LF as on its RS-232 port."""
    transport = ProtocolTransport(pairs, name="reference", read_termination="\r\n")
    yield Fluke1524(transport, VirtualClock())
    transport.assert_done()


def state(esr: bytes = b"0", unit: bytes = b"C", err: bytes = b'0,"No error"') -> list[tuple[bytes, bytes | None]]:
    return [(q, r + b"\r\n") for q, r in zip(STATE, (esr, unit, err), strict=True)]


# -- exact bytes --------------------------------------------------------------------


def test_the_readout_reads_and_checks_itself():
    with protocol([]) as ref:
        assert capabilities_of(ref) == ("Indicator", "Readout", "SelfChecking")
        assert isinstance(ref, Readout) and isinstance(ref, SelfChecking)
        assert ref.resolution() == TEMP_SHEET.fixed_resolution == 0.001
        assert ref.functions == (Function.TEMP,)


def test_initialize_clears_the_status_and_sets_celsius():
    with protocol(INITIALIZED) as ref:
        ref.initialize()


@pytest.mark.parametrize(("reply", "value"), [(b"100.012", 100.012), (b"-38.8344", -38.8344), (b"0.000", 0.0),
                                              (b"+25.1", 25.1)])
def test_read_measures_the_selected_channel(reply, value):
    with protocol([(b"MEAS? 1\n", reply + b"\r\n"), (b"MEAS? 2\n", reply + b"\r\n")]) as ref:
        assert ref.channel == 1 and ref.read() == value
        ref.select_channel(2)
        assert ref.channel == 2 and ref.read() == value


@pytest.mark.parametrize("channel", [0, 3, -1])
def test_a_channel_the_1524_lacks_is_refused_without_sending(channel):
    with protocol([]) as ref:
        with pytest.raises(InstrumentError, match=f"the 1524 has no channel {channel}; use a channel from 1 to 2"):
            ref.select_channel(channel)


@pytest.mark.parametrize("reply", [b"", b"100", b"100.", b".5", b"1e2", b" 100.012", b"100.012 ", b"100.012C",
                                   b"100,012", b"nan", b"12345.1", b"100.012\r", b"0,\"No error\"", b"--1.0"])
def test_read_refuses_what_is_not_a_temperature(reply):
    with protocol([(b"MEAS? 1\n", reply + b"\r\n")]) as ref:
        with pytest.raises(GarbledReply) as err:
            ref.read()
    message = str(err.value)
    assert message.startswith("reference: command 'MEAS? 1' failed: reply ") and "\n" not in message
    assert "is not a temperature such as 25.003" in message


def test_an_open_probe_is_reported_with_the_readouts_own_error():
    transport = AnsweringTransport({"SYST:ERR?": [b'-230,"Data corrupt or stale"\n']},
                                   {"SYST:ERR?": b'0,"No error"\n'}, name="reference")
    ref = Fluke1524(transport, VirtualClock())
    ref.select_channel(2)
    with pytest.raises(InstrumentError) as err:
        ref.read()  # MEAS? 2 is not answered
    assert str(err.value) == ("reference: command 'MEAS? 2' failed: error -230, Data corrupt or stale (no measurement "
                              "on channel 2: check its probe and connector); see the 1523, 1524 Technical Guide "
                              "(error messages)")
    assert transport.sent == ["MEAS? 2", "SYST:ERR?", "SYST:ERR?"]


def test_a_silent_readout_with_no_error_is_a_timeout():
    transport = AnsweringTransport({}, {"SYST:ERR?": b'0,"No error"\n'}, name="reference")
    with pytest.raises(InstrumentTimeout, match="reference: no reply to 'MEAS\\? 1'"):
        Fluke1524(transport, VirtualClock()).read()


# -- confirm_state, exact bytes --------------------------------------------------------


def test_confirm_state_before_initialize_reads_only_the_error_queue():
    with protocol([NO_ERROR]) as ref:
        ref.confirm_state()


def test_confirm_state_is_three_single_queries():
    with protocol([*INITIALIZED, *state()]) as ref:
        ref.initialize()
        ref.confirm_state()


def test_confirm_state_sees_a_power_cycle():
    with protocol([*INITIALIZED, *state(esr=b"128")]) as ref:
        ref.initialize()
        with pytest.raises(InstrumentError, match=r"'\*ESR\?' failed: the readout was switched off and on \(PON\)"):
            ref.confirm_state()


@pytest.mark.parametrize("unit", [b"F", b"K"])
def test_confirm_state_sees_another_unit(unit):
    with protocol([*INITIALIZED, *state(unit=unit)]) as ref:
        ref.initialize()
        with pytest.raises(InstrumentError, match=f"'UNIT:TEMP\\?' failed: the readout reads in {unit.decode()}, "
                                                  "not in C"):
            ref.confirm_state()


def test_confirm_state_sees_a_queued_error_and_drains_the_queue():
    with protocol([*INITIALIZED, *state(err=b'-230,"Data corrupt or stale"'), NO_ERROR]) as ref:
        ref.initialize()
        with pytest.raises(InstrumentError, match="'SYST:ERR\\?' failed: error -230, Data corrupt or stale"):
            ref.confirm_state()


@pytest.mark.parametrize(("index", "reply", "query"), [(0, b"x", "*ESR?"), (0, b"", "*ESR?"), (1, b"c", "UNIT:TEMP?"),
                                                       (1, b"CEL", "UNIT:TEMP?"), (2, b"0,No error", "SYST:ERR?")])
def test_confirm_state_refuses_a_garbled_reply_naming_its_query(index, reply, query):
    parts = [b"0", b"C", b'0,"No error"']
    parts[index] = reply
    with protocol([*INITIALIZED, *state(*parts)]) as ref:
        ref.initialize()
        with pytest.raises(GarbledReply) as err:
            ref.confirm_state()
    assert str(err.value).startswith(f"reference: command '{query}' failed: reply ")


# -- property tests --------------------------------------------------------------------

MANUAL_READING = re.compile(r"[+-]?[0-9]{1,4}\.[0-9]{1,7}")
MANUAL_ERR = re.compile(r'[+-]?[0-9]{1,3},"([ !#-~]|"")*"')


@PROPERTY
@given(replies(st.floats(-200, 1000, allow_nan=False).map("{:.3f}".format)))
def test_reading_parser(reply):
    transport = ProtocolTransport([(b"MEAS? 1\n", wire(reply))], name="reference")
    try:
        value = Fluke1524(transport, VirtualClock()).read()
    except CalstationError as e:
        assert isinstance(e, GarbledReply) and not MANUAL_READING.fullmatch(reply)
    else:
        assert MANUAL_READING.fullmatch(reply) and value == float(reply)


@PROPERTY
@given(replies(st.from_regex(r'[+-]?[0-9]{1,3},"[ !#-~]{0,30}"', fullmatch=True), max_size=50))
def test_error_parser(reply):
    transport = AnsweringTransport({"SYST:ERR?": [wire(reply)]}, {"SYST:ERR?": b'0,"No error"\n'}, name="reference")
    well_formed = MANUAL_ERR.fullmatch(reply) is not None
    try:
        Fluke1524(transport, VirtualClock()).check_errors("X")
    except GarbledReply:
        assert not well_formed
    except InstrumentError:
        assert well_formed and int(reply.partition(",")[0]) != 0
    else:
        assert well_formed and int(reply.partition(",")[0]) == 0


@PROPERTY
@given(st.one_of(
    st.tuples(st.sampled_from(["0", "0", "128", "32"]), st.sampled_from(["C", "C", "F"]),
              st.sampled_from(['0,"No error"', '-230,"Data corrupt or stale"'])),
    st.tuples(replies(st.sampled_from(["0", "128"]), 10), replies(st.sampled_from(["C", "F", "K"]), 10),
              replies(st.just('0,"No error"'), 30))))
def test_confirm_state_parser(parts):
    esr, unit, err = parts
    no_error = b'0,"No error"\n'
    transport = AnsweringTransport({"*ESR?": [wire(esr)], "UNIT:TEMP?": [wire(unit)],
                                    "SYST:ERR?": [no_error, wire(err)]}, {"SYST:ERR?": no_error}, name="reference")
    ref = Fluke1524(transport, VirtualClock())
    ref.initialize()
    if not (re.fullmatch(r"[+-]?[0-9]{1,3}", esr) and int(esr) <= 255 and unit in ("C", "F", "K")
            and MANUAL_ERR.fullmatch(err)):
        expected: str | None = "garbled"
    elif int(esr) & 128:
        expected = "*ESR?"
    elif unit != "C":
        expected = "UNIT:TEMP?"
    elif int(err.partition(",")[0]) != 0:
        expected = "SYST:ERR?"
    else:
        expected = None
    try:
        ref.confirm_state()
    except GarbledReply:
        assert expected == "garbled"
    except InstrumentError as e:
        assert expected == e.command
    else:
        assert expected is None
    assert not any(";" in c for c in transport.sent)


# -- the simulator ------------------------------------------------------------------------


def probe_at(sim: Sim1524, temperature: float) -> None:
    sim.connect("probe", lambda: Stimulus("TEMP", temperature))


@pytest.mark.parametrize("seed", range(8))
def test_simulated_readings_are_within_the_readouts_specification(seed):
    sim = Sim1524(rng=np.random.default_rng(seed))
    spec = TEMP_SHEET.spec("1y")
    for true in (-190.0, -100.0, -25.0, 0.0, 0.01, 25.0, 100.0, 150.0, 419.527, 600.0):
        probe_at(sim, true)
        for _ in range(5):
            reply = sim.handle("MEAS? 1") or ""
            assert re.fullmatch(r"-?[0-9]+\.[0-9]{3}", reply)  # 0.001 C resolution
            assert abs(float(reply) - true) <= spec.half_width(true)


def test_the_simulated_readout_has_an_error_and_noise():
    sim = Sim1524(rng=np.random.default_rng(2))
    probe_at(sim, 100.0)
    readings = {sim.handle("MEAS? 1") for _ in range(50)}
    assert len(readings) > 1  # noise
    assert sim.error_at(100.0) != 0.0  # a readout error, drawn from the seed


def test_a_missing_probe_gives_no_reply_and_error_230():
    sim = Sim1524()
    assert sim.handle("MEAS? 1") is None  # nothing on the probe port
    probe_at(sim, 20.0)
    assert sim.handle("MEAS? 1") is not None
    assert sim.handle("MEAS? 2") is None  # channel 2: no probe
    assert sim.handle("MEAS? 3") is None
    assert [sim.handle("SYST:ERR?") for _ in range(4)] == [
        '-230,"Data corrupt or stale"', '-230,"Data corrupt or stale"', '-224,"Illegal parameter value"',
        '0,"No error"']


def test_a_power_cycle_sets_pon_and_celsius():
    sim = Sim1524()
    sim.handle("UNIT:TEMP F")
    assert sim.handle("UNIT:TEMP?") == "F"
    sim.power_cycle()
    assert sim.handle("*ESR?;UNIT:TEMP?;SYST:ERR?") == '128;C;0,"No error"'


# -- the driver against its simulator, over every transport --------------------------


reached = reached_on("drywell-comparison")


def readout_on(r: Reached, timeout_s: float = 2.0) -> Fluke1524:
    transport = open_transport(r.resources["reference"], name="reference", io_log=r.log, timeout_s=timeout_s,
                               write_termination=Fluke1524.write_termination,
                               read_termination=Fluke1524.read_termination, simulators=r.bench.simulators)
    r.opened.append(transport)
    return Fluke1524(transport, r.bench.clock, serial=True if r.kind == "pty" else None)


def settle_well(bench: SimBench, setpoint: float) -> None:
    well = bench.well
    well.handle(f"SOUR:SPO {setpoint}")
    while well.handle("SOUR:STAB:TEST?") != "1":
        bench.clock.sleep(20.0)


def test_the_reference_reads_the_block_within_its_specification(reached: Reached):
    ref = readout_on(reached)
    assert ref.identify().matches(ref.manufacturers, ref.models)
    ref.initialize()
    ref.confirm_state()
    spec = TEMP_SHEET.spec("1y")
    for setpoint in (-20.0, 50.0, 140.0):
        settle_well(reached.bench, setpoint)
        true = reached.bench.well.block_temperature()
        reading = ref.read()
        assert abs(reading - true) <= spec.half_width(true) + 0.001, (reading, true)
        ref.confirm_state()


def test_confirm_state_is_three_messages(reached: Reached):
    ref = readout_on(reached)
    sim = reached.bench.reference
    ref.initialize()
    received = len(sim.received)
    ref.confirm_state()
    assert list(sim.received)[received:] == ["*ESR?", "UNIT:TEMP?", "SYST:ERR?"]


def test_a_probe_left_unconnected_is_reported(reached: Reached):
    ref = readout_on(reached, timeout_s=0.3)
    reached.bench.wires["reference-probe"].connected = False
    with pytest.raises(InstrumentError, match="command 'MEAS\\? 1' failed: error -230, Data corrupt or stale "
                                              "\\(no measurement on channel 1"):
        ref.read()
    reached.bench.wires["reference-probe"].connected = True
    assert abs(ref.read() - reached.bench.well.block_temperature()) < 0.1
    ref.select_channel(2)  # the bench has no probe on channel 2
    with pytest.raises(InstrumentError, match="no measurement on channel 2"):
        ref.read()


def test_a_power_cycle_is_found_by_confirm_state(reached: Reached):
    ref = readout_on(reached)
    ref.initialize()
    ref.read()
    reached.bench.reference.power_cycle()
    with pytest.raises(InstrumentError, match=r"reference: command '\*ESR\?' failed: the readout was switched off"):
        ref.confirm_state()


def test_a_unit_changed_at_the_front_panel_is_found(reached: Reached):
    ref = readout_on(reached)
    ref.initialize()
    reached.bench.reference.handle("UNIT:TEMP F")
    with pytest.raises(InstrumentError, match="the readout reads in F, not in C"):
        ref.confirm_state()


def test_garbled_replies_are_refused(reached: Reached):
    ref = readout_on(reached)
    ref.initialize()
    sim = reached.bench.reference
    sim.line_fault = faults.garble(np.random.default_rng(4), 1.0)
    for call in (ref.read, ref.confirm_state) * 4:
        with pytest.raises(GarbledReply, match="reference: command '.*' failed: reply "):
            call()
    sim.line_fault = None
    ref.confirm_state()
