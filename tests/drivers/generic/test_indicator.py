"""Generic temperature indicator (the DUT): exact bytes, the strict reading
format (hypothesis), the simulator, and the driver against its simulator
in process, over TCP and a pseudo-terminal, with faults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.clock import VirtualClock
from drivers.errors import CalstationError, GarbledReply, InstrumentError
from drivers.generic.indicator import TEMP_SHEET, TemperatureIndicator
from drivers.generic.indicator_sim import SimTemperatureIndicator
from drivers.roles import Function, Identity, Indicator, SelfChecking, capabilities_of
from drivers.sim import faults
from drivers.sim.base import Stimulus
from drivers.sim.bench import SimBench
from drivers.transport import open_transport
from tests.drivers.conftest import Reached, reached_on
from tests.drivers.protocol import ProtocolTransport
from tests.drivers.strategies import PROPERTY, replies, wire

FETCH = b"fetch?\n"


@contextmanager
def protocol(pairs: list[tuple[bytes, bytes | None]]) -> Iterator[TemperatureIndicator]:
    """The indicator on a scripted conversation, replies ending CR LF (1521 User's Guide, 8.1)."""
    transport = ProtocolTransport(pairs, name="dut", read_termination="\r\n")
    yield TemperatureIndicator(transport, VirtualClock())
    transport.assert_done()


# -- exact bytes --------------------------------------------------------------------


def test_a_generic_indicator_matches_any_maker_and_model_and_only_indicates():
    with protocol([]) as dut:
        assert capabilities_of(dut) == ("Indicator",)
        assert isinstance(dut, Indicator) and not isinstance(dut, SelfChecking)  # nothing to confirm
        assert dut.functions == (Function.TEMP,)
    for idn in ("HART,1521,A12345,1.10", "GENERIC,TI-100,SIM-2,1.00", "Acme Instruments,T 9,0,0"):
        assert Identity.from_idn(idn).matches(TemperatureIndicator.manufacturers, TemperatureIndicator.models)


def test_initialize_checks_the_indicator_answers():
    with protocol([(b"*IDN?\n", b"HART,1521,A12345,1.10\r\n")]) as dut:
        dut.initialize()
    with protocol([(b"*IDN?\n", b"t: 25.587 C\r\n")]) as dut:
        with pytest.raises(GarbledReply, match="dut: command '\\*IDN\\?' failed: reply 't: 25.587 C' is not four"):
            dut.initialize()


@pytest.mark.parametrize(("reply", "value", "digit"), [
    (b"t: 25.587 C", 25.587, 0.001), (b"t: -14.653 C", -14.653, 0.001), (b"t:    0.000 C", 0.0, 0.001),
    (b"t: 125.75 C", 125.75, 0.01), (b"t: 419.5274 C", 419.5274, 0.0001), (b"t: 25.6 C", 25.6, 0.1)])
def test_read_takes_the_reading_and_its_digit(reply, value, digit):
    with protocol([(FETCH, reply + b"\r\n")]) as dut:
        assert dut.resolution() == TEMP_SHEET.fixed_resolution  # before any reading: the datasheet's
        assert dut.read() == value
        assert dut.resolution() == pytest.approx(digit, rel=1e-12)


@pytest.mark.parametrize("reply", [
    b"", b"25.587", b"t:25.587 C", b"t: 25.587C", b"t: 25.587 C ", b"T: 25.587 C", b"t: 25.587 c", b"t: 25.587",
    b"t: 25,587 C", b"t: 25.58.7 C", b"t: 25 C", b"t: +25.587 C", b"t: 125.745 C 03-01-1999 15:49:15",
    b"min: -14.653 C", b"t: 25.587 C\r", b" t: 25.587 C", b"t: 12345.6 C", b"t: 25.58712 C"])
def test_read_refuses_anything_but_the_simple_format(reply):
    with protocol([(FETCH, reply + b"\r\n")]) as dut:
        with pytest.raises(GarbledReply) as err:
            dut.read()
    message = str(err.value)
    assert message.startswith("dut: command 'fetch?' failed: reply ") and "is not a reading such as" in message
    assert "\n" not in message


@pytest.mark.parametrize(("unit", "name"), [(b"F", "degrees Fahrenheit"), (b"K", "kelvin"), (b"O", "ohms"),
                                            (b"R", "a resistance ratio")])
def test_a_reading_in_another_unit_is_not_taken_for_celsius(unit, name):
    with protocol([(FETCH, b"t: 77.000 " + unit + b"\r\n")]) as dut:
        with pytest.raises(InstrumentError, match=f"the indicator reads in {name}, not in degrees C; set the "
                                                  "indicator to Celsius"):
            dut.read()


def test_no_valid_measurement_is_reported_as_such():
    with protocol([(FETCH, b"t: OL C\r\n")]) as dut:
        with pytest.raises(InstrumentError, match="dut: command 'fetch\\?' failed: the indicator shows OL: no valid "
                                                  "measurement; check its probe"):
            dut.read()


# -- property test -------------------------------------------------------------------------

MANUAL_READING = re.compile(r"t: +-?[0-9]{1,4}\.[0-9]{1,4} [CFKOR]")


@PROPERTY
@given(replies(st.builds("t: {:.3f} {}".format, st.floats(-200, 700, allow_nan=False),
                         st.sampled_from(["C", "C", "C", "F", "O"]))))
def test_reading_parser(reply):
    transport = ProtocolTransport([(FETCH, wire(reply))], name="dut")
    try:
        value = TemperatureIndicator(transport, VirtualClock()).read()
    except GarbledReply:
        assert not MANUAL_READING.fullmatch(reply) and reply[:6] != "t: OL "
    except InstrumentError as e:
        assert (MANUAL_READING.fullmatch(reply) and not reply.endswith(" C")) or "OL" in str(e)
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from a reading")
    else:
        assert MANUAL_READING.fullmatch(reply) and reply.endswith(" C")
        assert value == float(reply[2:-2])


# -- the simulator --------------------------------------------------------------------------


def at(sim: SimTemperatureIndicator, temperature: float) -> None:
    sim.connect("probe", lambda: Stimulus("TEMP", temperature))


@pytest.mark.parametrize("seed", range(5))
def test_by_default_the_simulated_indicator_is_well_inside_0_1_c(seed):
    sim = SimTemperatureIndicator(rng=np.random.default_rng(seed))
    for true in (-25.0, 0.0, 25.0, 100.0, 150.0):
        at(sim, true)
        for _ in range(20):
            reply = sim.handle("fetch?") or ""
            assert re.fullmatch(r"t: -?[0-9]+\.[0-9]{3} C", reply)
            assert abs(float(reply[2:-2]) - true) < 0.06


def test_options_make_the_indicator_fail():
    sim = SimTemperatureIndicator(offset=0.3, gain=0.001, noise=0.0)
    at(sim, 100.0)
    assert sim.handle("fetch?") == "t: 100.400 C"


@pytest.mark.parametrize("command", ["fetch?", "FETCH?", "f", "fet", "read?", "rea", "meas?", "me", "measure?"])
def test_the_simulator_answers_the_read_commands_as_the_1521_table_writes_them(command):
    sim = SimTemperatureIndicator(noise=0.0)
    at(sim, 25.567)
    assert sim.handle(command) == "t: 25.590 C"  # 25.567 x 1.0001 + 0.02


@pytest.mark.parametrize("command", ["fetch?x", "r", "m", "t", "SYST:ERR?", "*RST", "*ESR?", "fetch? now"])
def test_anything_else_is_ignored_without_an_error_queue(command):
    sim = SimTemperatureIndicator()
    at(sim, 25.0)
    if command == "fetch? now":  # an argument is ignored, as the readout ignores the rest of a line
        assert sim.handle(command) is not None
        return
    assert sim.handle(command) is None and not sim.errors


def test_no_probe_reads_ol_and_a_power_cycle_changes_nothing():
    sim = SimTemperatureIndicator(noise=0.0)
    assert sim.handle("fetch?") == "t: OL C"
    at(sim, 50.0)
    before = sim.handle("fetch?")
    sim.power_cycle()
    assert sim.handle("fetch?") == before and sim.handle("*IDN?") == "GENERIC,TI-100,SIM-2,1.00"


# -- the driver against its simulator, over every transport --------------------------


reached = reached_on("drywell-comparison")


def dut_on(r: Reached, timeout_s: float = 2.0) -> TemperatureIndicator:
    transport = open_transport(r.resources["dut"], name="dut", io_log=r.log, timeout_s=timeout_s, baudrate=2400,
                               write_termination=TemperatureIndicator.write_termination,
                               read_termination=TemperatureIndicator.read_termination, simulators=r.bench.simulators)
    r.opened.append(transport)
    return TemperatureIndicator(transport, r.bench.clock, serial=True if r.kind == "pty" else None)


def settle_well(bench: SimBench, setpoint: float) -> None:
    bench.well.handle(f"SOUR:SPO {setpoint}")
    while bench.well.handle("SOUR:STAB:TEST?") != "1":
        bench.clock.sleep(20.0)


def test_the_dut_reads_its_probe_in_the_well(reached: Reached):
    dut = dut_on(reached)
    sim = reached.bench.dut
    dut.initialize()
    offset = reached.bench.wires["dut-probe"].offset  # the DUT's probe sits 5 mK warmer
    for setpoint in (-20.0, 50.0, 140.0):  # rising after the first, as a comparison runs
        settle_well(reached.bench, setpoint)
        expected = sim.indication(reached.bench.well.block_temperature() + offset)
        reading = dut.read()
        assert abs(reading - expected) <= 5 * sim.noise + dut.resolution()
        assert abs(reading - reached.bench.well.block_temperature()) < 0.1
    assert dut.resolution() == 0.001
    before = len(reached.log.entries())
    dut.read()
    tx, rx = reached.log.entries()[before:]
    assert tx.data == b"fetch?\n" and re.fullmatch(rb"t: -?[0-9]+\.[0-9]{3} C\r\n", rx.data)


def test_an_indicator_out_of_tolerance_reads_so():
    with SimBench("drywell-comparison", seed=1, options={"dut": {"offset": 0.3}}) as bench:
        dut = TemperatureIndicator(open_transport("sim://dut", name="dut", read_termination="\r\n",
                                                  simulators=bench.simulators), bench.clock)
        settle_well(bench, 100.0)
        assert dut.read() - bench.well.block_temperature() > 0.25


def test_a_probe_left_unconnected_reads_ol(reached: Reached):
    dut = dut_on(reached)
    reached.bench.wires["dut-probe"].connected = False
    with pytest.raises(InstrumentError, match="the indicator shows OL"):
        dut.read()
    reached.bench.wires["dut-probe"].connected = True
    assert abs(dut.read() - reached.bench.well.block_temperature()) < 0.1


@pytest.mark.parametrize("fault", ["garble", "truncate"])
def test_garbled_or_cut_readings_are_refused(reached: Reached, fault):
    dut = dut_on(reached)
    sim = reached.bench.dut
    rng = np.random.default_rng(8)
    # Cut short with its termination kept, a reading loses its unit: never a valid reading.
    sim.line_fault = faults.garble(rng, 1.0) if fault == "garble" else faults.truncate(rng, 1.0, keep_termination=True)
    for _ in range(10):
        with pytest.raises(GarbledReply, match="dut: command 'fetch\\?' failed: reply "):
            dut.read()
    sim.line_fault = None
    dut.read()


def test_a_power_cycle_cannot_be_seen_and_reading_goes_on(reached: Reached):
    dut = dut_on(reached)
    sim = reached.bench.dut
    first = dut.read()
    sim.line_fault = faults.once(faults.when(b"fetch?", sim.power_cycle))
    second = dut.read()  # the indicator lost power just before: it has no state to lose
    assert abs(second - first) < 0.02 and not hasattr(dut, "confirm_state")
