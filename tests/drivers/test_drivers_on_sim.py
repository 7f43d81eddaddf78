"""The 34401A reading the 5522A through the leads of the simulated bench, in
every function: in process, over TCP (pyvisa-py) and over a
pseudo-terminal (pyserial). Each driver alone against its simulator is
tested in its model's file."""

from __future__ import annotations

import pytest

from drivers import registry
from drivers.errors import InstrumentError
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from drivers.roles import Function
from tests.drivers.conftest import Reached

DCV, DCI, ACV, R2W, R4W = Function.DCV, Function.DCI, Function.ACV, Function.R2W, Function.R4W


def calibrator(r: Reached, timeout_s: float = 2.0) -> Fluke5522A:
    return Fluke5522A(r.open("calibrator", timeout_s), r.bench.clock)


def dmm(r: Reached, timeout_s: float = 2.0) -> Keysight34401A:
    return Keysight34401A(r.open("dmm", timeout_s), r.bench.clock)


def source(cal: Fluke5522A, function: Function, value: float, frequency: float = 0.0) -> None:
    cal.set_output(function, value, frequency)
    cal.operate()
    cal.wait_settled(5.0)


def limit(function: Function, value: float, range_: float, frequency: float) -> float:
    """The two specifications combined: the 34401A's 1-year on ``range_``
    and the 5522A's 90-day, both from their datasheets."""
    meter = registry.datasheet("keysight-34401a").function(function).spec("1y")
    standard = registry.datasheet("fluke-5522a").function(function).spec("90d")
    return meter.half_width(value, range_, frequency) + standard.half_width(value, None, frequency)


@pytest.mark.parametrize(
    ("function", "range_", "value", "frequency"),
    [(DCV, 10.0, 10.0, 0.0), (DCV, 0.1, -0.05, 0.0), (DCI, 0.1, 0.1, 0.0), (DCI, 3.0, -2.0, 0.0),
     (ACV, 1.0, 1.0, 1000.0), (ACV, 100.0, 50.0, 1000.0), (R2W, 100.0, 100.0, 0.0), (R4W, 1e3, 1e3, 0.0),
     (R4W, 1e6, 5e5, 0.0)],
)
def test_the_dmm_reads_each_calibrator_function_within_the_two_specifications(reached: Reached, function, range_,
                                                                                value, frequency):
    cal, meter = calibrator(reached), dmm(reached)
    meter.initialize()
    cal.initialize()
    meter.configure(function, range_, 10)
    source(cal, function, value, frequency)
    readings = meter.read_many(5)
    allowed = limit(function, value, range_, frequency)
    for reading in readings:
        assert abs(reading - value) <= allowed, (reading, value, allowed)
        digit = meter.resolution()
        assert reading / digit == pytest.approx(round(reading / digit), abs=1e-6)  # quantised to one digit
    meter.confirm_state()
    cal.confirm_state()


def test_two_wire_reads_the_leads_and_four_wire_does_not(reached: Reached):
    cal, meter = calibrator(reached), dmm(reached)
    leads = reached.bench.dmm.lead_resistance
    assert 0 < leads < 0.2  # within the 2-wire floor of the 34401A's datasheet
    readings = {}
    for function in (R2W, R4W):
        meter.configure(function, 100.0, 100)
        source(cal, function, 100.0)
        readings[function] = sum(meter.read_many(5)) / 5
    assert readings[R2W] - readings[R4W] == pytest.approx(leads, abs=2e-3)


@pytest.mark.parametrize(
    ("sourced", "value", "frequency", "measured", "range_"),
    [(DCV, 1.0, 0.0, DCI, 0.01), (DCI, 0.1, 0.0, DCV, 0.1), (ACV, 1.0, 1000.0, DCV, 1.0), (DCV, 1.0, 0.0, ACV, 1.0)],
)
def test_another_function_reads_as_an_open_input_near_zero(reached: Reached, sourced, value, frequency, measured,
                                                           range_):
    cal, meter = calibrator(reached), dmm(reached)
    source(cal, sourced, value, frequency)
    meter.configure(measured, range_, 10)
    assert abs(meter.read()) < range_ * 1e-4


@pytest.mark.parametrize(("sourced", "value", "measured"),
                         [(DCV, 1.0, R2W), (DCI, 0.01, R4W), (R2W, 100.0, R4W), (R4W, 100.0, R2W)])
def test_another_function_reads_as_an_open_input_overload_on_resistance(reached: Reached, sourced, value, measured):
    cal, meter = calibrator(reached), dmm(reached)
    source(cal, sourced, value)
    meter.configure(measured, 100.0, 10)
    with pytest.raises(InstrumentError, match="dmm: command 'READ\\?' failed: overload"):
        meter.read()


def test_standby_leaves_the_dmm_an_open_input(reached: Reached):
    cal, meter = calibrator(reached), dmm(reached)
    meter.configure(DCV, 10.0, 10)
    source(cal, DCV, 10.0)
    assert abs(meter.read() - 10.0) < limit(DCV, 10.0, 10.0, 0.0)
    cal.standby()
    assert abs(meter.read()) < 20e-6  # standby: the meter sees 0 V


def test_block_of_readings_from_one_trigger(reached: Reached):
    cal, meter = calibrator(reached), dmm(reached)
    meter.initialize()
    meter.configure(DCV, 1.0, 10)
    source(cal, DCV, 1.0)
    block = meter.read_many(20)
    assert len(block) == 20
    assert all(abs(v - 1.0) < limit(DCV, 1.0, 1.0, 0.0) for v in block)
    assert reached.bench.dmm.sample_count == 20
    assert len({round(v / 1e-6) for v in block}) > 1  # twenty readings, not one repeated


def test_overload(reached: Reached):
    cal, meter = calibrator(reached), dmm(reached)
    source(cal, DCV, 10.0)
    meter.configure(DCV, 1.0, 10)
    with pytest.raises(InstrumentError, match="overload"):
        meter.read()
