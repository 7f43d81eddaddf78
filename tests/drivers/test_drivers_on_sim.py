"""Each driver against its simulator: in process, over TCP (pyvisa-py) and
over a pseudo-terminal (pyserial)."""

from __future__ import annotations

import time

import pytest

from drivers.errors import GarbledReply, InstrumentError, InstrumentTimeout
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from drivers.roles import Function, Meter, Source
from drivers.sim.bench import SimBench
from drivers.transport import open_transport
from tests.drivers.conftest import Reached

DCV = Function.DCV


def calibrator(r: Reached, timeout_s: float = 2.0) -> Fluke5522A:
    return Fluke5522A(r.open("calibrator", timeout_s), r.bench.clock)


def dmm(r: Reached, timeout_s: float = 2.0) -> Keysight34401A:
    return Keysight34401A(r.open("dmm", timeout_s), r.bench.clock)


# -- Fluke 5522A ------------------------------------------------------------------


def test_5522a_identifies_and_initializes(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    sim.push_error(1302, "Unknown command")  # left over from someone else
    assert isinstance(cal, Source)
    assert cal.identify().matches(cal.manufacturers, cal.models)
    cal.initialize()
    assert not sim.errors
    assert sim.operating is False
    # REMOTE is for RS-232 only: sent over the pseudo-terminal, not otherwise
    assert sim.remote is (reached.kind == "pty")


def test_5522a_sources_a_settled_voltage_on_the_bench_clock(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    clock = reached.bench.clock
    cal.initialize()
    cal.set_output(DCV, 10.0)
    assert sim.output_value == 10.0 and sim.operating is False
    assert sim.terminal_voltage() == 0.0  # standby: nothing at the terminals
    cal.operate()
    assert sim.operating is True
    assert not sim.settled()
    t_virtual, t_real = clock.now(), time.monotonic()
    cal.wait_settled(timeout_s=5.0)
    assert clock.now() - t_virtual >= sim.settle_time_s  # virtual time advanced...
    assert clock.now() - t_virtual < sim.settle_time_s + 0.1
    assert time.monotonic() - t_real < 1.0  # ...real time did not
    assert sim.settled()
    # 32.99999 V range: 10 ppm + 20 uV (90 days)
    assert abs(sim.terminal_voltage() - 10.0) <= 10.0 * 10e-6 + 20e-6
    assert cal.output == 10.0 and cal.operating is True


def test_5522a_safe_state_leaves_standby_at_zero(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    cal.set_output(DCV, 10.0)
    cal.operate()
    cal.safe_state()
    assert sim.operating is False
    assert sim.output_value == 0.0
    assert sim.terminal_voltage() == 0.0


def test_5522a_instrument_error_names_instrument_command_and_message(reached: Reached):
    cal = calibrator(reached)
    reached.bench.calibrator.push_error(104, "Hardware relay trip occurred")
    with pytest.raises(InstrumentError) as err:
        cal.operate()
    assert str(err.value) == ("calibrator: command 'OPER' failed: error 104: Hardware relay trip occurred; "
                              "see the calibrator's manual, Appendix D (error messages)")
    assert not reached.bench.calibrator.errors  # the queue was drained


def test_5522a_goes_to_standby_when_raised_above_33_v(reached: Reached):
    cal = calibrator(reached)
    cal.set_output(DCV, 10.0)
    cal.operate()
    cal.set_output(DCV, 100.0)
    assert cal.operating is False  # the calibrator's own safety rule
    cal.operate()
    cal.wait_settled(5.0)
    assert reached.bench.calibrator.operating is True


def test_5522a_settling_timeout():
    with SimBench(settle_time_s=100.0) as bench:
        cal = Fluke5522A(open_transport("sim://calibrator", name="calibrator", simulators=bench.simulators),
                         bench.clock)
        cal.set_output(DCV, 1.0)
        cal.operate()
        with pytest.raises(InstrumentTimeout, match="calibrator: output not settled"):
            cal.wait_settled(timeout_s=2.0)
        assert bench.clock.now() == pytest.approx(2.0, abs=0.06)


def test_5522a_silent_times_out(reached: Reached):
    cal = calibrator(reached, timeout_s=0.2)
    reached.bench.calibrator.silent = True
    with pytest.raises(InstrumentTimeout, match="calibrator: no reply to '\\*IDN\\?' within 0.2 s"):
        cal.identify()


# -- Keysight 34401A ---------------------------------------------------------------


def test_34401a_identifies_and_initializes(reached: Reached):
    meter = dmm(reached)
    sim = reached.bench.dmm
    sim.push_error(-113, "Undefined header")
    assert isinstance(meter, Meter)
    assert meter.identify().matches(meter.manufacturers, meter.models)
    meter.initialize()
    assert not sim.errors
    assert sim.remote is (reached.kind == "pty")


def test_34401a_reads_the_calibrator_through_the_leads(reached: Reached):
    cal, meter = calibrator(reached), dmm(reached)
    bench = reached.bench
    meter.initialize()
    meter.configure(DCV, 10.0, 10)
    assert (bench.dmm.range, bench.dmm.nplc, bench.dmm.autorange) == (10.0, 10.0, False)
    assert meter.resolution() == pytest.approx(10e-6)
    cal.set_output(DCV, 10.0)
    cal.operate()
    cal.wait_settled(5.0)
    readings = [meter.read() for _ in range(5)]
    for value in readings:
        # 34401A 1-year spec on 10 V: 0.0035 % of reading + 0.0005 % of range = 400 uV
        assert abs(value - 10.0) < 400e-6
        assert value / 10e-6 == pytest.approx(round(value / 10e-6), abs=1e-6)  # quantised to 10 uV
    cal.standby()
    assert abs(meter.read()) < 20e-6  # standby: the meter sees 0 V


def test_34401a_block_of_readings_from_one_trigger(reached: Reached):
    cal, meter = calibrator(reached), dmm(reached)
    meter.initialize()
    meter.configure(DCV, 1.0, 10)
    cal.set_output(DCV, 1.0)
    cal.operate()
    cal.wait_settled(5.0)
    block = meter.read_many(20)
    assert len(block) == 20
    assert all(abs(v - 1.0) < 47e-6 for v in block)  # 1-year spec on the 1 V range
    assert reached.bench.dmm.sample_count == 20
    assert len({round(v / 1e-6) for v in block}) > 1  # twenty readings, not one repeated


def test_34401a_instrument_error_names_instrument_command_and_message(reached: Reached):
    meter = dmm(reached)
    reached.bench.dmm.push_error(-222, "Data out of range")
    with pytest.raises(InstrumentError) as err:
        meter.configure(DCV, 1.0, 10)
    assert err.value.instrument == "dmm"
    assert err.value.command == "CONF:VOLT:DC 1"
    assert "-222, Data out of range" in str(err.value)


def test_34401a_garbled_reply(reached: Reached):
    meter = dmm(reached)
    meter.configure(DCV, 10.0, 10)
    reached.bench.dmm.fault = "dropout"
    with pytest.raises(GarbledReply) as err:
        meter.read()
    assert err.value.instrument == "dmm" and err.value.command == "READ?"
    assert "is not a number" in str(err.value)


def test_34401a_silent_times_out(reached: Reached):
    meter = dmm(reached, timeout_s=0.2)
    reached.bench.dmm.fault = "silent"
    with pytest.raises(InstrumentTimeout, match="dmm: no reply to 'READ\\?'"):
        meter.read()


def test_34401a_overload(reached: Reached):
    cal, meter = calibrator(reached), dmm(reached)
    cal.set_output(DCV, 10.0)
    cal.operate()
    cal.wait_settled(5.0)
    meter.configure(DCV, 1.0, 10)
    with pytest.raises(InstrumentError, match="overload"):
        meter.read()
