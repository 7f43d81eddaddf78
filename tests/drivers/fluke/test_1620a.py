"""Fluke 1620A thermo-hygrometer: exact bytes, strict replies (hypothesis),
the simulated room (scripted excursions on the bench clock), and the driver
against its simulator in process, over TCP and a pseudo-terminal, with
faults."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.base import IDN_FORMAT
from drivers.clock import VirtualClock
from drivers.errors import (
    CalstationError,
    GarbledReply,
    InstrumentError,
    InstrumentTimeout,
    TransportError,
)
from drivers.fluke.f1620a import DATASHEET, TEMP_SHEET, Fluke1620A
from drivers.fluke.f1620a_sim import Sim1620A
from drivers.roles import Ambient, Function, SelfChecking, capabilities_of
from drivers.sim import faults
from tests.drivers.conftest import Reached, reached_on
from tests.drivers.protocol import AnsweringTransport, ProtocolTransport
from tests.drivers.strategies import PROPERTY, replies, wire

NO_ERROR = (b"SYST:ERR?\n", b'0,"No error"\r\n')
SENSOR_OK = (b"SENS1:STAT?\n", b"0\r\n")
INITIALIZED = [(b"*CLS\n", None), (b"FORM:TDST:STAT 1\n", None), NO_ERROR, SENSOR_OK]
STATE = [b"*ESR?\n", b"FORM:TDST:STAT?\n", b"SENS1:STAT?\n", b"SYST:ERR?\n"]
READING = "1,1,25.629,C,29.32,%,2003,9,16,11,2,38"  # the 1620 User's Guide's example (8.4.2.16)


@contextmanager
def protocol(pairs: list[tuple[bytes, bytes | None]]) -> Iterator[Fluke1620A]:
    """The thermo-hygrometer on a scripted conversation, replies ending CR LF as on its RS-232 port."""
    transport = ProtocolTransport(pairs, name="ambient", read_termination="\r\n")
    yield Fluke1620A(transport, VirtualClock())
    transport.assert_done()


def state(esr: bytes = b"0", stamp: bytes = b"1", sensor: bytes = b"0",
          err: bytes = b'0,"No error"') -> list[tuple[bytes, bytes | None]]:
    return [(q, r + b"\r\n") for q, r in zip(STATE, (esr, stamp, sensor, err), strict=True)]


# -- exact bytes --------------------------------------------------------------------


def test_the_thermo_hygrometer_reads_the_ambient_and_checks_itself():
    with protocol([]) as amb:
        assert capabilities_of(amb) == ("Ambient", "SelfChecking")
        assert isinstance(amb, Ambient) and isinstance(amb, SelfChecking)
        assert amb.functions == (Function.TEMP,) and amb.channel == 1


def test_initialize_clears_the_status_turns_the_stamp_on_and_checks_the_sensor():
    with protocol(INITIALIZED) as amb:
        amb.initialize()


def test_initialize_refuses_a_missing_sensor():
    with protocol([*INITIALIZED[:3], (b"SENS1:STAT?\n", b"1\r\n")]) as amb:
        with pytest.raises(InstrumentError) as err:
            amb.initialize()
    assert str(err.value) == ("ambient: command 'SENS1:STAT?' failed: channel 1: sensor not attached; "
                              "check the sensor and its connector")


def test_an_error_on_the_stamp_command_names_it_and_drains_the_queue():
    with protocol([*INITIALIZED[:2], (b"SYST:ERR?\n", b'-113,"Undefined header"\r\n'), NO_ERROR]) as amb:
        with pytest.raises(InstrumentError, match="'FORM:TDST:STAT 1' failed: error -113, Undefined header; "
                                                  "see the 1620A User's Guide"):
            amb.initialize()


@pytest.mark.parametrize(("reply", "value"), [
    (READING.encode(), (25.629, 29.32)),
    (b"0,1,-3.1,C,100.00,%,2026,12,31,23,59,59", (-3.1, 100.0)),
    (b"1,1,+21.500,C,5.5,%,2026,1,1,0,0,0", (21.5, 5.5)),
])
def test_conditions_reads_the_selected_channel(reply, value):
    with protocol([(b"MEAS? 1\n", reply + b"\r\n"),
                   (b"MEAS? 2\n", reply.replace(b",1,", b",2,", 1) + b"\r\n")]) as amb:
        assert amb.conditions() == value
        amb.select_channel(2)
        assert amb.channel == 2 and amb.conditions() == value


@pytest.mark.parametrize("channel", [0, 3, -1])
def test_a_channel_the_1620a_lacks_is_refused_without_sending(channel):
    with protocol([]) as amb:
        with pytest.raises(InstrumentError, match=f"the 1620A has no channel {channel}; use a channel from 1 to 2"):
            amb.select_channel(channel)


@pytest.mark.parametrize("reply", [
    b"25.576,29.30",  # the stamp is off: no channel, no unit
    b"1,2,25.629,C,29.32,%,2003,9,16,11,2,38",  # another channel's reading
    b"1,1,25.629,C,29.32,%,1,2,25.1,C,30.00,%,2003,9,16,11,2,38",  # both channels
    b"1,1,25.629,C,29.32,%,2003,9,16,11,2",  # cut short
    b"1,1,25.629,C,29.32,2003,9,16,11,2,38", b"1,1,25.629,K,29.32,%,2003,9,16,11,2,38",
    b"2,1,25.629,C,29.32,%,2003,9,16,11,2,38", b"1,1,25.6291,C,29.32,%,2003,9,16,11,2,38",
    b"1,1,25.629,C,29.323,%,2003,9,16,11,2,38", b"1,1,25,C,29.32,%,2003,9,16,11,2,38",
    b"1,1,25.629,C,-2.32,%,2003,9,16,11,2,38", b" " + READING.encode(), READING.encode() + b"\r",
    b"", b'0,"No error"', b"1,1,nan,C,29.32,%,2003,9,16,11,2,38",
])
def test_conditions_refuses_what_is_not_a_stamped_reading_of_its_channel(reply):
    with protocol([(b"MEAS? 1\n", reply + b"\r\n")]) as amb:
        with pytest.raises(GarbledReply) as err:
            amb.conditions()
    message = str(err.value)
    assert message.startswith("ambient: command 'MEAS? 1' failed: reply ") and "\n" not in message
    assert "is not a stamped reading of channel 1 such as 1,1,25.629,C,29.32,%" in message


def test_a_reading_in_fahrenheit_is_not_taken_for_celsius():
    with protocol([(b"MEAS? 1\n", b"1,1,78.132,F,29.32,%,2003,9,16,11,2,38\r\n")]) as amb:
        with pytest.raises(InstrumentError) as err:
            amb.conditions()
    assert str(err.value) == ("ambient: command 'MEAS? 1' failed: the thermo-hygrometer reads in F, not in C; "
                              "set the temperature unit to C at its front panel")


def test_a_sensor_without_a_measurement_is_reported_with_the_instruments_own_error():
    transport = AnsweringTransport({"SYST:ERR?": [b'-230,"Data corrupt or stale"\n']},
                                   {"SYST:ERR?": b'0,"No error"\n'}, name="ambient")
    amb = Fluke1620A(transport, VirtualClock())
    with pytest.raises(InstrumentError) as err:
        amb.conditions()  # MEAS? 1 is not answered
    assert str(err.value) == ("ambient: command 'MEAS? 1' failed: error -230, Data corrupt or stale (no measurement "
                              "on channel 1: check its sensor and connector); see the 1620A User's Guide "
                              "(error messages)")
    assert transport.sent == ["MEAS? 1", "SYST:ERR?", "SYST:ERR?"]


def test_a_silent_instrument_with_no_error_is_a_timeout():
    transport = AnsweringTransport({}, {"SYST:ERR?": b'0,"No error"\n'}, name="ambient")
    with pytest.raises(InstrumentTimeout, match="ambient: no reply to 'MEAS\\? 1'"):
        Fluke1620A(transport, VirtualClock()).conditions()


@pytest.mark.parametrize(("status", "said"), [
    (b"2", "sensor read error"), (b"6", "sensor read error, sensor checksum error"),
    (b"128", "sensor lock is enabled and the wrong sensor is connected"),
])
def test_check_sensor_says_what_the_instrument_reports(status, said):
    with protocol([(b"SENS1:STAT?\n", status + b"\r\n")]) as amb:
        with pytest.raises(InstrumentError, match=f"'SENS1:STAT\\?' failed: channel 1: {said};"):
            amb.check_sensor()


# -- confirm_state, exact bytes --------------------------------------------------------


def test_confirm_state_before_initialize_reads_only_the_error_queue():
    with protocol([NO_ERROR]) as amb:
        amb.confirm_state()


def test_confirm_state_is_four_single_queries():
    with protocol([*INITIALIZED, *state()]) as amb:
        amb.initialize()
        amb.confirm_state()


def test_confirm_state_checks_the_selected_channels_sensor():
    with protocol([*INITIALIZED, (b"*ESR?\n", b"0\r\n"), (b"FORM:TDST:STAT?\n", b"1\r\n"),
                   (b"SENS2:STAT?\n", b"1\r\n"), (b"SYST:ERR?\n", b'0,"No error"\r\n')]) as amb:
        amb.initialize()
        amb.select_channel(2)
        with pytest.raises(InstrumentError, match="'SENS2:STAT\\?' failed: channel 2: sensor not attached; "
                                                  "the point's readings are invalid"):
            amb.confirm_state()


@pytest.mark.parametrize(("parts", "command", "said"), [
    ({"esr": b"128"}, "*ESR?", "the thermo-hygrometer was switched off and on (PON) since it was initialized"),
    ({"esr": b"128", "stamp": b"0"}, "*ESR?", "switched off and on (PON)"),  # the power cycle first
    ({"stamp": b"0"}, "FORM:TDST:STAT?", "the time and date stamp of its readings is off"),
    ({"sensor": b"1"}, "SENS1:STAT?", "channel 1: sensor not attached"),
])
def test_confirm_state_sees_what_changed(parts, command, said):
    with protocol([*INITIALIZED, *state(**parts)]) as amb:
        amb.initialize()
        with pytest.raises(InstrumentError) as err:
            amb.confirm_state()
    assert err.value.command == command and said in str(err.value)


def test_confirm_state_sees_a_queued_error_and_drains_the_queue():
    with protocol([*INITIALIZED, *state(err=b'-113,"Undefined header"'), NO_ERROR]) as amb:
        amb.initialize()
        with pytest.raises(InstrumentError, match="'SYST:ERR\\?' failed: error -113, Undefined header"):
            amb.confirm_state()


@pytest.mark.parametrize(("index", "reply", "query"), [
    (0, b"x", "*ESR?"), (0, b"256", "*ESR?"), (1, b"ON", "FORM:TDST:STAT?"), (1, b"", "FORM:TDST:STAT?"),
    (2, b"-1", "SENS1:STAT?"), (2, b"300", "SENS1:STAT?"), (3, b"0,No error", "SYST:ERR?"),
])
def test_confirm_state_refuses_a_garbled_reply_naming_its_query(index, reply, query):
    parts = [b"0", b"1", b"0", b'0,"No error"']
    parts[index] = reply
    with protocol([*INITIALIZED, *state(*parts)]) as amb:
        amb.initialize()
        with pytest.raises(GarbledReply) as err:
            amb.confirm_state()
    assert str(err.value).startswith(f"ambient: command '{query}' failed: reply ")


# -- property tests --------------------------------------------------------------------

MANUAL_READING = re.compile(r"[01],([12]),([+-]?[0-9]{1,3}\.[0-9]{1,3}),([CF]),([0-9]{1,3}\.[0-9]{1,2}),%,"
                            r"[0-9]{4}(,[0-9]{1,2}){5}")
MANUAL_ERR = re.compile(r'[+-]?[0-9]{1,3},"([ !#-~]|"")*"')

stamped = st.builds(
    "{},{},{:.3f},{},{:.2f},%,{},{},{},{},{},{}".format,
    st.sampled_from("01"), st.sampled_from("1112"), st.floats(-20, 60), st.sampled_from("CCF"), st.floats(0, 100),
    st.integers(2000, 2099), st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59),
    st.integers(0, 59))


@PROPERTY
@given(replies(stamped, max_size=60))
def test_reading_parser(reply):
    transport = ProtocolTransport([(b"MEAS? 1\n", wire(reply))], name="ambient")
    match = MANUAL_READING.fullmatch(reply)
    try:
        value = Fluke1620A(transport, VirtualClock()).conditions()
    except GarbledReply:
        assert match is None or match.group(1) != "1"
    except InstrumentError as e:
        assert match is not None and match.group(3) == "F" and "reads in F" in str(e)
    else:
        assert match is not None and match.group(1) == "1" and match.group(3) == "C"
        assert value == (float(match.group(2)), float(match.group(4)))


@PROPERTY
@given(replies(st.from_regex(r'[+-]?[0-9]{1,3},"[ !#-~]{0,30}"', fullmatch=True), max_size=50))
def test_error_parser(reply):
    transport = AnsweringTransport({"SYST:ERR?": [wire(reply)]}, {"SYST:ERR?": b'0,"No error"\n'}, name="ambient")
    well_formed = MANUAL_ERR.fullmatch(reply) is not None
    try:
        Fluke1620A(transport, VirtualClock()).check_errors("X")
    except GarbledReply:
        assert not well_formed
    except InstrumentError:
        assert well_formed and int(reply.partition(",")[0]) != 0
    else:
        assert well_formed and int(reply.partition(",")[0]) == 0


@PROPERTY
@given(replies(st.integers(0, 300).map(str), max_size=10))
def test_sensor_status_parser(reply):
    transport = ProtocolTransport([(b"SENS1:STAT?\n", wire(reply))], name="ambient")
    valid = re.fullmatch(r"[0-9]{1,3}", reply) is not None and int(reply) <= 255
    try:
        Fluke1620A(transport, VirtualClock()).check_sensor()
    except GarbledReply:
        assert not valid
    except InstrumentError:
        assert valid and int(reply) != 0
    else:
        assert valid and int(reply) == 0


@PROPERTY
@given(replies(st.just("HART,1620A,A1B234,1.10"), max_size=40))
def test_identity_parser(reply):
    transport = ProtocolTransport([(b"*IDN?\n", wire(reply))], name="ambient")
    try:
        identity = Fluke1620A(transport, VirtualClock()).identify()
    except CalstationError as e:
        assert isinstance(e, GarbledReply) and not IDN_FORMAT.fullmatch(reply)
    else:
        assert IDN_FORMAT.fullmatch(reply) and identity.raw == reply.strip()


@PROPERTY
@given(st.one_of(
    st.tuples(st.sampled_from(["0", "0", "128", "32"]), st.sampled_from(["1", "1", "0"]),
              st.sampled_from(["0", "0", "1", "2"]), st.sampled_from(['0,"No error"', '-113,"Undefined header"'])),
    st.tuples(replies(st.sampled_from(["0", "128"]), 10), replies(st.sampled_from(["0", "1"]), 10),
              replies(st.sampled_from(["0", "1"]), 10), replies(st.just('0,"No error"'), 30))))
def test_confirm_state_parser(parts):
    esr, stamp, sensor, err = parts
    no_error = b'0,"No error"\n'
    transport = AnsweringTransport({"*ESR?": [wire(esr)], "FORM:TDST:STAT?": [wire(stamp)],
                                    "SENS1:STAT?": [b"0\n", wire(sensor)], "SYST:ERR?": [no_error, wire(err)]},
                                   {"SYST:ERR?": no_error}, name="ambient")
    amb = Fluke1620A(transport, VirtualClock())
    amb.initialize()
    if not (re.fullmatch(r"[+-]?[0-9]{1,3}", esr) and int(esr) <= 255 and stamp in ("0", "1")
            and re.fullmatch(r"[0-9]{1,3}", sensor) and int(sensor) <= 255 and MANUAL_ERR.fullmatch(err)):
        expected: str | None = "garbled"
    elif int(esr) & 128:
        expected = "*ESR?"
    elif stamp != "1":
        expected = "FORM:TDST:STAT?"
    elif int(sensor) != 0:
        expected = "SENS1:STAT?"
    elif int(err.partition(",")[0]) != 0:
        expected = "SYST:ERR?"
    else:
        expected = None
    try:
        amb.confirm_state()
    except GarbledReply:
        assert expected == "garbled"
    except InstrumentError as e:
        assert expected == e.command
    else:
        assert expected is None
    assert not any(";" in c for c in transport.sent)


# -- the simulated room ------------------------------------------------------------------


def stamped_sim(clock: VirtualClock, **options) -> Sim1620A:
    sim = Sim1620A(clock=clock, rng=np.random.default_rng(3), **options)
    sim.handle("FORM:TDST:STAT 1")
    return sim


def read(sim: Sim1620A, channel: int = 1) -> tuple[float, float]:
    fields = (sim.handle(f"MEAS? {channel}") or "").split(",")
    assert fields[1] == str(channel) and fields[3] == "C"
    return float(fields[2]), float(fields[4])


def test_an_excursion_appears_and_goes_at_the_scripted_bench_clock_times():
    clock = VirtualClock()
    sim = stamped_sim(clock, temperature_c=21.0, humidity_pct=40.0, excursions=[(600, 1200, 3.0, 15.0)])
    seen = []
    for t in (599.5, 600.0, 1199.5, 1200.0):
        clock.sleep(t - clock.now())
        seen.append(read(sim))
    base = [abs(temperature - 21.0) < 0.1 and abs(humidity - 40.0) < 1.0 for temperature, humidity in seen]
    raised = [abs(temperature - 24.0) < 0.1 and abs(humidity - 55.0) < 1.0 for temperature, humidity in seen]
    assert base == [True, False, False, True] and raised == [False, True, True, False]


def test_an_hour_of_the_room_passes_on_the_virtual_clock():
    clock = VirtualClock()
    sim = stamped_sim(clock, temperature_c=21.0, excursions=[(1000, 1300, 2.0, 0.0), (2500, 2510, -1.5, 0.0)])
    start = time.perf_counter()
    warm = cool = 0
    for _ in range(3600):
        clock.sleep(1.0)
        temperature, _ = read(sim)
        warm += temperature > 22.0
        cool += temperature < 20.0
    # the hour passes on the virtual clock, not the wall's (a real second per
    # step would take 3600 s; how fast it is, is the benchmarks' business)
    assert time.perf_counter() - start < 60.0
    assert (warm, cool) == (300, 10)  # every measurement inside each window, none outside


def test_the_room_set_mid_run_shows_from_the_next_measurement():
    clock = VirtualClock()
    sim = stamped_sim(clock)
    assert abs(read(sim)[0] - 23.0) < 0.1
    sim.temperature_c, sim.humidity_pct = 26.0, 60.0
    sim.excursions.append((clock.now() + 5.0, clock.now() + 10.0, 0.0, -20.0))
    clock.sleep(1.0)
    assert abs(read(sim)[0] - 26.0) < 0.1 and abs(read(sim)[1] - 60.0) < 1.0
    clock.sleep(5.0)
    assert abs(read(sim)[1] - 40.0) < 1.0
    assert sim.room() == (26.0, 40.0)


@pytest.mark.parametrize("seed", range(6))
def test_simulated_readings_are_within_the_datasheet_accuracy(seed):
    clock = VirtualClock()
    spec = TEMP_SHEET.spec("1y")
    for channel in (1, 2):
        sim = Sim1620A(clock=clock, rng=np.random.default_rng(seed), sensors=(1, 2))
        sim.handle("FORM:TDST:STAT 1")
        for true_t, true_rh in ((15.0, 20.0), (16.0, 45.0), (20.0, 70.0), (23.9, 50.0), (30.0, 35.0), (35.0, 65.0)):
            sim.temperature_c, sim.humidity_pct = true_t, true_rh
            for _ in range(5):
                clock.sleep(1.0)
                reply = sim.handle(f"MEAS? {channel}") or ""
                assert re.fullmatch(r"1,[12],-?[0-9]+\.[0-9]{3},C,[0-9]+\.[0-9]{2},%,[0-9,]+", reply)
                temperature, humidity = read_fields(reply)
                assert abs(temperature - true_t) <= spec.half_width(true_t)
                assert abs(humidity - true_rh) <= TEMP_SHEET.figure("humidity_accuracy", true_t)


def read_fields(reply: str) -> tuple[float, float]:
    fields = reply.split(",")
    return float(fields[2]), float(fields[4])


def test_each_sensor_has_its_own_error_and_noise_drawn_from_the_seed():
    clock = VirtualClock()
    a, b = (Sim1620A(clock=clock, rng=np.random.default_rng(7), sensors=(1, 2)) for _ in range(2))
    assert a.offsets == b.offsets and a.offsets[1] != a.offsets[2] and 0.0 not in a.offsets[1]
    readings = set()
    for _ in range(30):
        clock.sleep(1.0)
        readings.add(a.handle("MEAS? 1"))
        assert a.handle("MEAS? 1;MEAS? 2") == b.handle("MEAS? 1;MEAS? 2")
    assert len(readings) > 5  # noise from one measurement to the next


def test_a_reading_is_the_last_measurement_whatever_how_often_it_is_asked():
    polled, quiet = VirtualClock(), VirtualClock()
    a, b = (stamped_sim(c, excursions=[(100, 200, 1.0, 5.0)]) for c in (polled, quiet))
    first = a.handle("MEAS? 1") or ""
    assert first.startswith("1,") and (a.handle("MEAS? 1") or "").startswith("0,")  # read before: status 0
    assert first[2:] == (a.handle("MEAS? 1") or "")[2:]  # the same measurement within its period
    for _ in range(150):
        polled.sleep(1.0)
        a.handle("MEAS? 1")
    quiet.sleep(150.0)
    polled.sleep(0.5)
    quiet.sleep(0.5)
    assert a.handle("MEAS? 1")[2:] == b.handle("MEAS? 1")[2:]  # type: ignore[index]


def test_the_stamp_dates_each_measurement_on_the_instrument_clock():
    clock = VirtualClock()
    sim = stamped_sim(clock, start="2026-03-01T23:59:58")
    clock.sleep(3.7)
    assert (sim.handle("MEAS? 1") or "").endswith(",2026,3,2,0,0,1")
    sim.handle("FORM:TDST:STAT 0")
    assert re.fullmatch(r"[0-9]+\.[0-9]{3},[0-9]+\.[0-9]{2}", sim.handle("MEAS? 1") or "")


def test_both_channels_with_no_channel_and_a_missing_sensor_gives_no_reply_and_error_230():
    sim = Sim1620A(sensors=(1, 2))
    assert re.fullmatch(r"[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+", sim.handle("MEAS?") or "")  # as a real 1620's READ?
    sim.attached.discard(2)
    assert sim.handle("SENS1:STAT?;SENS2:STAT?") == "0;1"
    assert sim.handle("MEAS? 2") is None and sim.handle("FETC? 3") is None and sim.handle("READ? x") is None
    assert sim.handle("MEAS? 1") is not None
    assert [sim.handle("SYST:ERR?") for _ in range(4)] == [
        '-230,"Data corrupt or stale"', '-222,"Data out of range"', '-224,"Illegal parameter value"', '0,"No error"']


def test_the_simulator_refuses_bad_commands_with_scpi_errors():
    sim = Sim1620A()
    for command in ("FOO", "FORM:TDST:STAT", "FORM:TDST:STAT 2", "*IDN? 1", "SENS1:STAT? 1"):
        assert sim.handle(command) is None
    assert sim.handle("SYST:ERR?;SYST:ERR?;SYST:ERR?;SYST:ERR?;SYST:ERR?;*ESR?") == (
        '-113,"Undefined header";-109,"Missing parameter";-224,"Illegal parameter value";'
        '-108,"Parameter not allowed";-108,"Parameter not allowed";48')


def test_a_power_cycle_sets_pon_turns_the_stamp_off_and_keeps_the_room_and_unit():
    clock = VirtualClock()
    sim = stamped_sim(clock, excursions=[(0, 100, 2.0, 0.0)])
    sim.unit = "F"
    sim.power_cycle()
    assert sim.handle("*ESR?;FORM:TDST:STAT?;SYST:ERR?") == '128;0;0,"No error"'
    sim.handle("FORM:TDST:STAT 1")
    fields = (sim.handle("MEAS? 1") or "").split(",")
    assert fields[3] == "F" and abs(float(fields[2]) - (25.0 * 1.8 + 32)) < 0.2


def test_the_datasheet_has_every_figure_the_simulator_and_metrology_use():
    spec = TEMP_SHEET.spec("1y")
    assert DATASHEET.models == ("1620A",) and DATASHEET.unverified
    assert TEMP_SHEET.fixed_resolution == 0.001 and TEMP_SHEET.figure("humidity_resolution", 23.0) == 0.01
    assert [spec.half_width(t) for t in (16.0, 20.0, 24.0, 15.0, 35.0, 10.0)] == [0.125] * 3 + [0.25] * 2 + [0.5]
    assert [TEMP_SHEET.figure("humidity_accuracy", t) for t in (20.0, 30.0, 5.0)] == [1.5, 2.0, 3.0]
    assert TEMP_SHEET.figure("humidity_accuracy_outside_20_70", 23.0) == 3.0


# -- the driver against its simulator, over every transport --------------------------


reached = reached_on("ambient-1620a")


def sensor_on(r: Reached, timeout_s: float = 2.0) -> Fluke1620A:
    amb: Fluke1620A = r.driver("ambient", Fluke1620A, timeout_s)
    return amb


def test_the_room_is_read_within_the_datasheet_accuracy(reached: Reached):
    amb = sensor_on(reached)
    assert amb.identify().matches(amb.manufacturers, amb.models)
    amb.initialize()
    amb.confirm_state()
    sim = reached.bench.ambient
    for _ in range(3):
        reached.bench.clock.sleep(60.0)
        temperature, humidity = amb.conditions()
        true_t, true_rh = sim.room()
        assert abs(temperature - true_t) <= TEMP_SHEET.spec("1y").half_width(true_t)
        assert abs(humidity - true_rh) <= TEMP_SHEET.figure("humidity_accuracy", true_t)
        amb.confirm_state()


def test_the_scripted_excursion_is_seen_through_the_driver(reached: Reached):
    amb = sensor_on(reached)
    amb.initialize()
    clock = reached.bench.clock
    seen = []
    for t in (0.0, 599.0, 600.0, 900.0, 1199.0, 1200.0, 3600.0):  # the topology: +3 C, +15 %RH from 600 s to 1200 s
        clock.sleep(t - clock.now())
        seen.append(amb.conditions())
    assert [round(temperature) for temperature, _ in seen] == [22, 22, 25, 25, 25, 22, 22]  # 21.5 C, 24.5 C
    assert [round(humidity / 5) * 5 for _, humidity in seen] == [40, 40, 55, 55, 55, 40, 40]


def test_confirm_state_is_four_messages_with_no_compound_one(reached: Reached):
    amb = sensor_on(reached)
    sim = reached.bench.ambient
    amb.initialize()
    received = len(sim.received)
    amb.confirm_state()
    assert list(sim.received)[received:] == ["*ESR?", "FORM:TDST:STAT?", "SENS1:STAT?", "SYST:ERR?"]


def test_a_power_cycle_is_found_by_confirm_state_and_refused_by_conditions(reached: Reached):
    amb = sensor_on(reached)
    amb.initialize()
    amb.conditions()
    reached.bench.ambient.power_cycle()
    with pytest.raises(GarbledReply, match="is not a stamped reading"):
        amb.conditions()  # the stamp went off with the power
    with pytest.raises(InstrumentError, match=r"ambient: command '\*ESR\?' failed: the thermo-hygrometer was "
                                              r"switched off and on \(PON\)"):
        amb.confirm_state()
    amb.initialize()
    amb.confirm_state()


def test_an_unplugged_sensor_is_reported(reached: Reached):
    amb = sensor_on(reached, timeout_s=0.3)
    amb.initialize()
    sim = reached.bench.ambient
    sim.attached.discard(1)
    with pytest.raises(InstrumentError, match="command 'MEAS\\? 1' failed: error -230, Data corrupt or stale "
                                              "\\(no measurement on channel 1"):
        amb.conditions()
    with pytest.raises(InstrumentError, match="'SENS1:STAT\\?' failed: channel 1: sensor not attached"):
        amb.confirm_state()
    sim.attached.add(1)
    amb.confirm_state()
    assert abs(amb.conditions()[0] - sim.room()[0]) < 0.5


def test_fahrenheit_chosen_at_the_front_panel_is_refused(reached: Reached):
    amb = sensor_on(reached)
    amb.initialize()
    reached.bench.ambient.unit = "F"
    with pytest.raises(InstrumentError, match="reads in F, not in C"):
        amb.conditions()


def test_garbled_replies_are_refused(reached: Reached):
    amb = sensor_on(reached)
    amb.initialize()
    sim = reached.bench.ambient
    sim.line_fault = faults.garble(np.random.default_rng(4), 1.0)
    for call in (amb.conditions, amb.confirm_state) * 3:
        with pytest.raises(GarbledReply, match="ambient: command '.*' failed: reply "):
            call()
    sim.line_fault = None
    amb.confirm_state()


def test_a_lost_link_is_a_transport_error_then_service_resumes(reached: Reached):
    amb = sensor_on(reached, timeout_s=0.3)
    amb.initialize()
    sim = reached.bench.ambient
    sim.link_down = True
    with pytest.raises(TransportError, match="^ambient: "):
        amb.conditions()
    sim.link_down = False
    if reached.kind == "tcp":
        amb = sensor_on(reached)  # a reset connection stays dead: reconnect
    assert abs(amb.conditions()[1] - sim.room()[1]) < 2.0
