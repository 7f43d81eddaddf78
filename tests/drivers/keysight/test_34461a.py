"""Keysight 34461A, a new model of the 34401A's family: the exact bytes where
it differs from the 34401A (identity, no SYST:REM, its ranges, its AC
filter command), its datasheet against the 34401A's, its simulator, and the
driver against its simulator in every function, in process and over TCP
(the 34461A has no RS-232, so no pseudo-terminal). What it shares with the
34401A is tested in test_34401a.py."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers import registry
from drivers.clock import VirtualClock
from drivers.datasheet import DatasheetError
from drivers.errors import CalstationError, GarbledReply, InstrumentError
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from drivers.keysight.k34401a_sim import DutErrors, Sim34401A
from drivers.keysight.k34461a import Keysight34461A
from drivers.keysight.k34461a_sim import DUT_ERRORS, Sim34461A
from drivers.roles import Function, Identity, Meter, SelfChecking
from drivers.sim.base import Stimulus
from drivers.sim.bench import SimBench, load_topology
from drivers.transport import Transport, open_transport
from tests.drivers.protocol import AnsweringTransport, expected_protocol
from tests.drivers.strategies import PROPERTY, replies, wire

DCV, DCI, ACV, R2W, R4W = Function.DCV, Function.DCI, Function.ACV, Function.R2W, Function.R4W
NO_ERROR = (b"SYST:ERR?\n", b'+0,"No error"\n')
AC_STATE_COMMAND = "*ESR?;CONF?;:VOLT:AC:BAND?;:SYST:ERR?"
SHEET = registry.datasheet("keysight-34461a")
SHEET_34401A = registry.datasheet("keysight-34401a")

#: IDNs as each model answers (34461A firmware string in the Truevolt shape; UNVERIFIED).
IDN_34461A = ("Keysight Technologies,34461A,MY53000001,A.02.14-02.40-02.14-00.49-01-01",
              "Agilent Technologies,34461A,MY53000002,A.01.10-02.25-01.10-00.35-01-01")
IDN_34401A = ("HEWLETT-PACKARD,34401A,0,11-5-2", "Agilent Technologies,34401A,MY1,10-5-2",
              "Keysight Technologies,34401A,MY2,11-5-3")


# -- identity: each driver takes its own model and refuses the other ----------------


@pytest.mark.parametrize("idn", IDN_34461A)
def test_identify_takes_a_34461a_and_the_34401a_driver_refuses_it(idn):
    with expected_protocol(Keysight34461A, [(b"*IDN?\n", idn.encode() + b"\n")]) as dmm:
        identity = dmm.identify()
    assert identity.model == "34461A"
    assert identity.matches(Keysight34461A.manufacturers, Keysight34461A.models)
    assert not identity.matches(Keysight34401A.manufacturers, Keysight34401A.models)


@pytest.mark.parametrize("idn", IDN_34401A)
def test_a_34401a_is_not_a_34461a(idn):
    identity = Identity.from_idn(idn)
    assert identity.matches(Keysight34401A.manufacturers, Keysight34401A.models)
    assert not identity.matches(Keysight34461A.manufacturers, Keysight34461A.models)


# -- exact bytes where the 34461A differs --------------------------------------------


@pytest.mark.parametrize("serial", [None, True])
def test_initialize_never_sends_syst_rem(serial):
    """No RS-232 on a 34461A: even a transport said to be a serial line gets
    no ``SYST:REM`` (the 34401A driver sends it there)."""
    with expected_protocol(Keysight34461A, [(b"*CLS\n", None), NO_ERROR], serial=serial) as dmm:
        dmm.initialize()
    with expected_protocol(Keysight34401A, [(b"*CLS\n", None), (b"SYST:REM\n", None), NO_ERROR], serial=True) as old:
        old.initialize()


def test_the_meter_is_a_self_checking_meter_of_five_functions_with_its_own_ranges():
    with expected_protocol(Keysight34461A, []) as dmm:
        assert isinstance(dmm, Meter) and isinstance(dmm, SelfChecking)
        assert set(dmm.functions) == {DCV, DCI, ACV, R2W, R4W}
        assert dmm.ranges(DCV) == (0.1, 1.0, 10.0, 100.0, 1000.0)
        assert dmm.ranges(DCI) == (100e-6, 1e-3, 0.01, 0.1, 1.0, 3.0)
        assert dmm.ranges(ACV) == (0.1, 1.0, 10.0, 100.0, 750.0)
        assert dmm.ranges(R2W) == dmm.ranges(R4W) == (100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)
        for f in dmm.functions:
            assert dmm.ranges(f) == SHEET.function(f).ranges


@pytest.mark.parametrize(
    ("function", "range_", "nplc", "conf", "second", "resolution"),
    [
        (DCI, 100e-6, 10, b"CONF:CURR:DC 0.0001\n", b"CURR:DC:NPLC 10\n", 100e-12),
        (DCI, 1e-3, 0.02, b"CONF:CURR:DC 0.001\n", b"CURR:DC:NPLC 0.02\n", 100e-9),
        (DCI, 3.0, 1, b"CONF:CURR:DC 3\n", b"CURR:DC:NPLC 1\n", 30e-6),
        (DCV, 10.0, 100, b"CONF:VOLT:DC 10\n", b"VOLT:DC:NPLC 100\n", 10e-6),
        (ACV, 1.0, 10, b"CONF:VOLT:AC 1\n", b"VOLT:AC:BAND 20\n", 1e-6),
        (R4W, 1e3, 10, b"CONF:FRES 1000\n", b"FRES:NPLC 10\n", 1e-3),
    ],
)
def test_configure_sends_the_exact_commands(function, range_, nplc, conf, second, resolution):
    with expected_protocol(Keysight34461A, [(conf, None), NO_ERROR, (second, None), NO_ERROR]) as dmm:
        dmm.configure(function, range_, nplc)
        assert dmm.resolution() == pytest.approx(resolution)


@pytest.mark.parametrize(
    ("function", "range_", "nplc", "says"),
    [
        (DCI, 10.0, 10, "'CONF:CURR:DC 10'.*10 A is not one of its DC current ranges.*"
                        "use one of 0.0001, 0.001, 0.01, 0.1, 1, 3 A"),  # the 10 A terminal is not driven
        (DCV, 10.0, 5, "'VOLT:DC:NPLC 5'.*5 is not an integration time of the 34461A"),
        (Function.ACI, 1.0, 10, "function ACI is not supported"),
    ],
)
def test_configure_refuses_what_it_does_not_drive_without_sending(function, range_, nplc, says):
    with expected_protocol(Keysight34461A, [], name="dmm") as dmm:
        with pytest.raises(InstrumentError, match=says):
            dmm.configure(function, range_, nplc)


def test_the_34401a_driver_has_no_100_ua_range():
    with expected_protocol(Keysight34401A, [], name="dmm") as old:
        with pytest.raises(InstrumentError, match="0.0001 A is not one of its DC current ranges"):
            old.configure(DCI, 100e-6, 10)


def test_confirm_state_of_dc_current_on_the_100_ua_range():
    pairs = [(b"CONF:CURR:DC 0.0001\n", None), NO_ERROR, (b"CURR:DC:NPLC 10\n", None), NO_ERROR,
             (b"*ESR?;CONF?;:SYST:ERR?\n", b'+0;"CURR +1.000000E-04,+1.000000E-10";+0,"No error"\n')]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        dmm.configure(DCI, 100e-6, 10)
        dmm.confirm_state()


def test_confirm_state_of_ac_voltage_asks_for_the_truevolt_filter_query():
    pairs = [(b"CONF:VOLT:AC 1\n", None), NO_ERROR, (b"VOLT:AC:BAND 20\n", None), NO_ERROR,
             (AC_STATE_COMMAND.encode() + b"\n",
              b'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";+2.00000000E+01;+0,"No error"\n'),
             (AC_STATE_COMMAND.encode() + b"\n",
              b'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";+3.00000000E+00;+0,"No error"\n'),
             (AC_STATE_COMMAND.encode() + b"\n",
              b'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";20;+0,"No error"\n')]
    with expected_protocol(Keysight34461A, pairs, name="dmm") as dmm:
        dmm.configure(ACV, 1.0, 10)
        dmm.confirm_state()
        with pytest.raises(InstrumentError, match="dmm: command 'VOLT:AC:BAND\\?' failed: the AC filter is 3 Hz, "
                                                  "not 20 Hz as configured"):
            dmm.confirm_state()
        with pytest.raises(GarbledReply, match="reply '20' to VOLT:AC:BAND\\? is not a number"):
            dmm.confirm_state()


BANDS = st.one_of(st.just("+2.00000000E+01"), st.sampled_from(["+3.00000000E+00", "+2.00000000E+02"]),
                  st.from_regex(r"[+-][0-9]\.[0-9]{8}E[+-][0-9]{2}", fullmatch=True))
MANUAL_BAND_FORMAT = re.compile(r"[+-][0-9]\.[0-9]{8}E[+-][0-9]{2}")


@PROPERTY
@given(replies(BANDS, 20))
def test_the_filter_part_of_the_state_reply_passes_only_as_a_number_saying_20_hz(band):
    """Everything around the filter well-formed and as configured: the
    meter passes only for a filter reply in the reading format equal to
    20 Hz; any other number fails the filter check, anything else is garbled."""
    reply = f'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";{band};+0,"No error"'
    transport = AnsweringTransport({AC_STATE_COMMAND: [wire(reply)]}, {"SYST:ERR?": b'+0,"No error"\n'}, name="dmm")
    dmm = Keysight34461A(transport, VirtualClock())
    dmm.configure(ACV, 1.0, 10)
    well_formed = MANUAL_BAND_FORMAT.fullmatch(band) is not None and ";" not in band
    try:
        dmm.confirm_state()
    except GarbledReply as e:
        assert not well_formed and e.command == AC_STATE_COMMAND
    except InstrumentError as e:
        assert well_formed and float(band) != pytest.approx(20.0, rel=1e-6) and e.command == "VOLT:AC:BAND?"
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from confirm_state")
    else:
        assert well_formed and float(band) == pytest.approx(20.0, rel=1e-6)
    assert transport.sent.count(AC_STATE_COMMAND) == 1


# -- the datasheet: its own, and where the makers' numbers differ --------------------


def test_the_datasheet_is_the_34461a_s_and_says_what_is_unverified():
    assert SHEET.path.name == "k34461a.toml" and SHEET.models == ("34461A",)
    assert "5991-1983EN" in SHEET.source
    unverified = " ".join(SHEET.unverified)
    for what in ("DCI", "ACV", "R2W", "R4W", "10 A", "digits"):
        assert what in unverified


def test_dc_voltage_2_year_column_which_the_34401a_has_not():
    spec = SHEET.function(DCV).spec("2y")
    assert spec.half_width(10.0, 10.0) == pytest.approx(10.0 * 50e-6 + 10.0 * 5e-6)  # 0.0050 % + 0.0005 %
    assert spec.half_width(0.1, 0.1) == pytest.approx(0.1 * 65e-6 + 0.1 * 35e-6)
    with pytest.raises(DatasheetError, match="no 2y accuracy"):
        SHEET_34401A.function(DCV).spec("2y")


@pytest.mark.parametrize("interval", ["24h", "90d", "1y"])
def test_dc_voltage_rows_are_the_same_numbers_as_the_34401a_s(interval):
    """Both makers' data sheets print the same DC voltage figures here."""
    for range_ in SHEET.function(DCV).ranges:
        new = SHEET.function(DCV).spec(interval).row(range_, range_).terms
        assert new == SHEET_34401A.function(DCV).spec(interval).row(range_, range_).terms


def test_dc_current_starts_at_100_ua_where_the_34401a_starts_at_10_ma():
    new, old = SHEET.function(DCI), SHEET_34401A.function(DCI)
    assert new.ranges[:2] == (100e-6, 1e-3) and old.ranges[0] == 0.01
    assert set(old.ranges) < set(new.ranges)
    # 1 year on 100 uA: 0.050 % of reading + 0.025 % of range (UNVERIFIED row)
    assert new.spec("1y").half_width(100e-6, 100e-6) == pytest.approx(75e-9)
    with pytest.raises(DatasheetError):
        SHEET_34401A.function(DCI).spec("1y").half_width(100e-6, 100e-6)


def test_what_the_driver_computes_comes_from_the_34461a_datasheet():
    with expected_protocol(Keysight34461A, []) as dmm:
        assert dmm.sheet() is SHEET
        assert dmm.resolution_for(DCI, 100e-6, 0.02) == 100e-6 * 10.0 ** -int(SHEET.function(DCI).digits[0])


def test_the_key_is_registered_for_the_conventions():
    entry = registry.entry("keysight-34461a")
    assert registry.load_driver("keysight-34461a") is Keysight34461A
    assert registry.load_simulator("keysight-34461a") is Sim34461A
    assert entry.datasheet_path == SHEET.path


# -- the simulator ----------------------------------------------------------------


QUIET = DutErrors(offset=0, gain=0, noise=0, dci_offset=0, dci_gain=0, acv_offset=0, acv_gain=0, acv_noise=0,
                  ohms_offset=0, ohms_gain=0)


def dmm_on(function: Function, value: float, dut: DutErrors | None = None) -> Sim34461A:
    sim = Sim34461A(rng=np.random.default_rng(0), errors=dut)
    sim.connect("input", lambda: Stimulus(function.value, value, 1000.0 if function.is_ac else 0.0))
    return sim


def test_simulator_identifies_as_a_34461a():
    sim = Sim34461A()
    idn = sim.handle("*IDN?") or ""
    assert idn.startswith("Keysight Technologies,34461A,")
    assert Identity.from_idn(idn).matches(Keysight34461A.manufacturers, Keysight34461A.models)


def test_simulator_has_the_34461a_current_ranges():
    sim = dmm_on(DCI, 12.3456789e-6, QUIET)
    sim.handle("CONF:CURR:DC 0.0001")
    assert sim.handle("CONF?") == '"CURR +1.000000E-04,+1.000000E-10"'
    assert sim.handle("READ?") == "+1.23457000E-05"  # 100 pA digit at 10 PLC
    sim.handle("CONF:CURR:DC 10")  # above 3 A: no such range on the 3 A terminal
    assert sim.handle("SYST:ERR?;SYST:ERR?") == '-222,"Data out of range";+0,"No error"'
    sim.handle("CONF:CURR:DC 0.00005")  # rounds up to 100 uA
    assert sim.range == 100e-6


def test_simulator_selects_the_ac_filter_with_the_truevolt_command():
    sim = Sim34461A()
    sim.handle("VOLT:AC:BAND 3")
    assert sim.ac_filter == 3.0 and sim.handle("SENS:VOLT:AC:BAND?") == "+3.00000000E+00"
    sim.handle("DET:BAND 200")
    assert sim.ac_filter == 3.0 and sim.handle("SYST:ERR?") == '-113,"Undefined header"'


def test_simulator_default_errors_are_inside_the_34461a_1_year_specification():
    limit = SHEET.function(DCI).spec("1y").half_width(100e-6, 100e-6)
    sim = dmm_on(DCI, 100e-6)
    sim.handle("CONF:CURR:DC 0.0001")
    readings = [float(sim.handle("READ?") or "nan") for _ in range(20)]
    assert sim.dut == DUT_ERRORS
    assert max(abs(r - 100e-6) for r in readings) < limit / 2
    # the simulated 34401A's default offset would fail this range
    assert DutErrors().dci_offset > limit


def test_simulator_shares_the_34401a_formats():
    sim = dmm_on(DCV, 1.0)
    sim.handle("CONF:VOLT:DC 1")
    assert re.fullmatch(r"[+-]\d\.\d{8}E[+-]\d\d", sim.handle("READ?") or "")
    assert sim.handle("*ESR?;CONF?;:SYST:ERR?") == '+0;"VOLT +1.000000E+00,+1.000000E-06";+0,"No error"'
    assert isinstance(sim, Sim34401A)


# -- the driver against its simulator, in process and over TCP ------------------------


@pytest.fixture(params=["sim", "tcp"])
def reached(request: pytest.FixtureRequest) -> Iterator[tuple[SimBench, dict[str, str]]]:
    """The dmm-calibrator bench with a 34461A as its DUT, and the resource
    strings of its instruments in process or over TCP."""
    topology = load_topology("dmm-calibrator")
    instruments = tuple(dataclasses.replace(i, driver="keysight-34461a") if i.key == "dmm" else i
                        for i in topology.instruments)
    with SimBench(dataclasses.replace(topology, instruments=instruments), seed=3) as bench:
        yield bench, ({k: f"sim://{k}" for k in bench.simulators} if request.param == "sim" else bench.serve_tcp())


def opened(bench: SimBench, resources: dict[str, str], key: str) -> Transport:
    return open_transport(resources[key], name=key, timeout_s=2.0, simulators=bench.simulators)


@pytest.mark.parametrize(
    ("function", "value", "frequency", "range_", "nplc"),
    [
        (DCV, 10.0, 0.0, 10.0, 10),
        (DCV, -0.05, 0.0, 0.1, 100),
        (DCI, 50e-6, 0.0, 100e-6, 10),
        (DCI, 0.5e-3, 0.0, 1e-3, 1),
        (ACV, 1.0, 1000.0, 1.0, 10),
        (R2W, 100.0, 0.0, 100.0, 10),
        (R4W, 10e3, 0.0, 10e3, 10),
    ],
)
def test_measures_in_every_function_within_its_specification(reached, function, value, frequency, range_, nplc):
    bench, resources = reached
    cal = Fluke5522A(opened(bench, resources, "calibrator"), bench.clock)
    dmm = Keysight34461A(opened(bench, resources, "dmm"), bench.clock)
    try:
        assert dmm.identify().matches(dmm.manufacturers, dmm.models)
        dmm.initialize()
        cal.set_output(function, value, frequency)
        cal.operate()
        cal.wait_settled(5.0)
        dmm.configure(function, range_, nplc)
        assert (bench.dmm.function, bench.dmm.range, bench.dmm.autorange) == (function, range_, False)
        if function is ACV:
            assert bench.dmm.ac_filter == 20.0  # VOLT:AC:BAND 20 reached the simulator
        truth = bench.dmm.sense("input").value  # what the calibrator really puts on the leads
        limit = SHEET.function(function).spec("1y").half_width(truth, range_, frequency)
        for reading in dmm.read_many(3):
            assert abs(reading - truth) <= limit
        dmm.confirm_state()
        bench.dmm.handle("CONF:VOLT:DC 1000")  # someone at the front panel
        with pytest.raises(InstrumentError, match="dmm: command 'CONF\\?' failed: the meter is set to"):
            dmm.confirm_state()
    finally:
        cal.close()
        dmm.close()


def test_the_34401a_driver_on_a_34461a_is_refused_by_identity(reached):
    bench, resources = reached
    old = Keysight34401A(opened(bench, resources, "dmm"), bench.clock)
    try:
        assert not old.identify().matches(old.manufacturers, old.models)
    finally:
        old.close()
