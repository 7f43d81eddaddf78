"""Keysight 3458A: exact protocol bytes, strict reply parsers (hypothesis),
the simulator, and the driver against its simulator in process and over TCP
(a GPIB-LAN gateway's ``TCPIP::...::SOCKET``; the 3458A has no RS-232, so
no pseudo-terminal) measuring a Fluke 5522A's DC voltage outputs, with
injected faults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers import registry
from drivers.clock import VirtualClock
from drivers.errors import (
    CalstationError,
    GarbledReply,
    InstrumentError,
    InstrumentTimeout,
    TransportError,
)
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k3458a import DATASHEET, Keysight3458A
from drivers.keysight.k3458a_sim import ERR_TRIGGER_TOO_FAST, Sim3458A
from drivers.roles import Function, Meter, SelfChecking, capabilities_of
from drivers.sim import faults
from drivers.sim.base import Stimulus
from tests.drivers.conftest import Reached, reached_on
from tests.drivers.protocol import AnsweringTransport, Pair, ProtocolTransport
from tests.drivers.strategies import PROPERTY, replies

DCV = Function.DCV
SHEET = DATASHEET.function(DCV)
NO_ERROR: Pair = (b"ERRSTR?\n", b'0,"NO ERROR"\r\n')
#: `confirm_state`'s three exchanges on a meter left as configured (10 V range).
STATE: list[Pair] = [(b"FUNC?\n", b"1, 1.00000000E+01\r\n"), (b"TARM?\n", b"4\r\n"), NO_ERROR]


@contextmanager
def protocol(pairs: list[Pair], name: str = "ref", **kwargs: bool) -> Iterator[Keysight3458A]:
    """A driver on a scripted conversation, CR LF replies as the 3458A sends
    them; fails unless the whole conversation happened."""
    transport = ProtocolTransport(pairs, name=name, read_termination="\r\n")
    yield Keysight3458A(transport, VirtualClock(), **kwargs)
    transport.assert_done()


def crlf(reply: str) -> bytes:
    return reply.encode("latin-1") + b"\r\n"


def configured(range_: bytes = b"10", nplc: bytes = b"100", ndig: bytes = b"8") -> list[Pair]:
    return [(b"DCV " + range_ + b"\n", None), NO_ERROR, (b"NPLC " + nplc + b"\n", None), NO_ERROR,
            (b"NDIG " + ndig + b"\n", None), NO_ERROR]


def manual_reading_format(reply: str) -> bool:
    """The User's Guide's 15-byte ASCII reading, character by character:
    sign (blank or -), digit, point, 8 digits, E, sign, 2 digits."""
    pattern = "SD.DDDDDDDDEXDD"
    allowed = {"S": " -", "D": "0123456789", ".": ".", "E": "E", "X": "+-"}
    return len(reply) == len(pattern) and all(c in allowed[p] for c, p in zip(reply, pattern, strict=True))


# -- capabilities, identity, exact bytes ------------------------------------------------


def test_the_driver_is_a_self_checking_meter_that_speaks_only_dcv():
    with protocol([]) as dmm:
        assert isinstance(dmm, Meter) and isinstance(dmm, SelfChecking)
        assert set(capabilities_of(dmm)) == {"Meter", "Indicator", "SelfChecking"}
        assert dmm.ranges(DCV) == (0.1, 1.0, 10.0, 100.0, 1000.0) == SHEET.ranges
        with pytest.raises(InstrumentError, match="function ACV is not supported"):
            dmm.ranges(Function.ACV)


def test_identify_uses_id_and_rev_not_idn():
    with protocol([(b"ID?\n", b"HP3458A\r\n"), (b"REV?\n", b"9,2\r\n")]) as dmm:
        identity = dmm.identify()
    assert (identity.manufacturer, identity.model, identity.firmware) == ("HP", "3458A", "9,2")
    assert identity.matches(Keysight3458A.manufacturers, Keysight3458A.models)


@pytest.mark.parametrize("reply", [b"HP3458A ", b"3458A", b"HP 3458A", b"hp3458a", b"HP3458A,1,2,3", b"",
                                   b"HEWLETT-PACKARD,3458A,0,9", b"HP3458A\r"])
def test_identify_refuses_any_other_id_reply(reply):
    with protocol([(b"ID?\n", reply + b"\r\n")]) as dmm, pytest.raises(GarbledReply, match="'ID\\?' failed"):
        dmm.identify()


def test_a_3457a_does_not_pass_as_a_3458a():
    with protocol([(b"ID?\n", b"HP3457A\r\n"), (b"REV?\n", b"9,2\r\n")]) as dmm:
        assert not dmm.identify().matches(Keysight3458A.manufacturers, Keysight3458A.models)


def test_initialize_holds_the_trigger_arm_first_and_checks_every_setting():
    pairs: list[Pair] = [(b"TARM HOLD\n", None), (b"ERR?\n", b"0\r\n")]
    for command in (b"TRIG AUTO", b"NRDGS 1,AUTO", b"END ALWAYS", b"OFORMAT ASCII", b"MEM OFF", b"MATH OFF",
                    b"AZERO ON"):
        pairs += [(command + b"\n", None), NO_ERROR]
    with protocol(pairs) as dmm:
        dmm.initialize()
    assert not any(b"RESET" in p[0] or b"PRESET" in p[0] for p in pairs)


@pytest.mark.parametrize(
    ("range_", "nplc", "sent", "ndig", "digit"),
    [(10.0, 100, (b"10", b"100"), b"8", 1e-7), (0.1, 0.0001, (b"0.1", b"0.0001"), b"4", 1e-5),
     (1000.0, 1, (b"1000", b"1"), b"7", 1e-4), (1.0, 0.01, (b"1", b"0.01"), b"6", 1e-6),
     (100.0, 0.0006, (b"100", b"0.0006"), b"5", 1e-3)],
)
def test_configure_sends_range_nplc_and_the_datasheets_digits(range_, nplc, sent, ndig, digit):
    with protocol(configured(sent[0], sent[1], ndig)) as dmm:
        dmm.configure(DCV, range_, nplc)
        assert dmm.resolution() == pytest.approx(digit, rel=1e-12)
        assert dmm.resolution_for(DCV, range_, nplc) == SHEET.digit(range_, nplc)


@pytest.mark.parametrize(("range_", "nplc", "what"), [(3.0, 100, "not a DC voltage range"),
                                                      (10.0, 50, "not an integration time"),
                                                      (2000.0, 10, "not a DC voltage range")])
def test_configure_refuses_what_the_datasheet_lacks_without_sending(range_, nplc, what):
    with protocol([]) as dmm, pytest.raises(InstrumentError, match=what):
        dmm.configure(DCV, range_, nplc)


def test_resolution_needs_configure_and_resolution_for_sends_nothing():
    with protocol([]) as dmm:
        with pytest.raises(InstrumentError, match="not configured"):
            dmm.resolution()
        assert dmm.resolution_for(DCV, 10.0, 10) == pytest.approx(1e-7)
        with pytest.raises(InstrumentError, match="0.5 is not an integration time"):
            dmm.resolution_for(DCV, 10.0, 0.5)
        with pytest.raises(InstrumentError, match="3 V is not a DC voltage range"):
            dmm.resolution_for(DCV, 3.0, 10)


def test_a_configuration_error_names_the_command():
    pairs = [(b"DCV 10\n", None), (b"ERRSTR?\n", b'106,"PARAMETER OUT OF RANGE"\r\n'), NO_ERROR]
    with protocol(pairs) as dmm, pytest.raises(InstrumentError) as err:
        dmm.configure(DCV, 10.0, 100)
    assert str(err.value).startswith("ref: command 'DCV 10' failed: error 106: PARAMETER OUT OF RANGE")


def test_read_sets_one_reading_per_trigger_once_then_arms_once_per_reading():
    pairs = [(b"NRDGS 1,AUTO\n", None), NO_ERROR, (b"TARM SGL\n", b" 1.00000012E+01\r\n"),
             (b"TARM SGL\n", b"-3.30000010E-01\r\n")]
    with protocol(pairs) as dmm:
        assert dmm.read() == 10.0000012
        assert dmm.read() == -0.33000001


def test_read_many_takes_n_readings_from_one_trigger_arm():
    pairs = [(b"NRDGS 3,AUTO\n", None), NO_ERROR,
             (b"TARM SGL\n", b" 1.00000012E+01\r\n 1.00000011E+01\r\n 1.00000013E+01\r\n"),
             (b"NRDGS 1,AUTO\n", None), NO_ERROR, (b"TARM SGL\n", b" 1.00000012E+01\r\n")]
    with protocol(pairs) as dmm:
        assert dmm.read_many(3) == [10.0000012, 10.0000011, 10.0000013]
        assert dmm.read() == 10.0000012
        with pytest.raises(ValueError):
            dmm.read_many(0)


def test_read_many_reads_every_line_before_refusing_a_garbled_one():
    pairs = [(b"NRDGS 3,AUTO\n", None), NO_ERROR,
             (b"TARM SGL\n", b" 1.00000012E+01\r\n 1.0000001\r\n 1.00000013E+01\r\n")]
    with protocol(pairs) as dmm, pytest.raises(GarbledReply, match="reply ' 1.0000001' is not a reading"):
        dmm.read_many(3)  # and nothing is left unread (assert_done)


@pytest.mark.parametrize(
    "reply",
    [b"+1.00000012E+01", b"1.00000012E+01", b" 1.00000012E+1", b" 1.00000012e+01", b" 1.0000001E+01",
     b"  1.00000012E+01", b" 1.00000012E+01 ", b" 10.0000012E+00", b" 1.00000012E+01, 1.00000012E+01",
     b" 1.00000012E+01\r", b"", b" ", b"nan", b" inf", b" 1.00000012E+01 1.00000012E+01", b"\x00.00000012E+01"],
)
def test_read_refuses_any_reply_not_in_the_ascii_reading_format(reply):
    with protocol([(b"NRDGS 1,AUTO\n", None), NO_ERROR, (b"TARM SGL\n", reply + b"\r\n")]) as dmm:
        with pytest.raises(GarbledReply) as err:
            dmm.read()
    message = str(err.value)
    assert message.startswith("ref: command 'TARM SGL' failed: reply ") and "SD.DDDDDDDDESDD" in message
    assert "\n" not in message


@pytest.mark.parametrize("reply", [b" 1.00000000E+38", b"-1.00000000E+38"])
def test_an_overload_is_an_instrument_error_not_a_value(reply):
    with protocol([(b"NRDGS 1,AUTO\n", None), NO_ERROR, (b"TARM SGL\n", reply + b"\r\n")]) as dmm:
        with pytest.raises(InstrumentError, match="overload"):
            dmm.read()


def test_confirm_state_before_configure_reads_only_the_error_register():
    with protocol([NO_ERROR]) as dmm:
        dmm.confirm_state()


def test_confirm_state_is_three_exchanges():
    with protocol([*configured(), *STATE]) as dmm:
        dmm.configure(DCV, 10.0, 100)
        dmm.confirm_state()


@pytest.mark.parametrize(
    ("func", "tarm", "err", "command"),
    [(b"1, 1.00000000E+00", b"4", b'0,"NO ERROR"', "FUNC?"),  # range changed
     (b"2, 1.00000000E+01", b"4", b'0,"NO ERROR"', "FUNC?"),  # ACV
     (b"1, 1.00000000E+01", b"1", b'0,"NO ERROR"', "TARM?"),  # power cycle, RESET, PRESET
     (b"1, 1.00000000E+01", b"4", b'102,"TRIGGER TOO FAST"', "ERRSTR?")],
)
def test_confirm_state_names_what_differs(func, tarm, err, command):
    pairs = [*configured(), (b"FUNC?\n", func + b"\r\n"), (b"TARM?\n", tarm + b"\r\n"), (b"ERRSTR?\n", err + b"\r\n")]
    if command == "ERRSTR?":
        pairs.append(NO_ERROR)  # the rest of the register is read
    with protocol(pairs) as dmm, pytest.raises(InstrumentError) as e:
        dmm.configure(DCV, 10.0, 100)
        dmm.confirm_state()
    assert e.value.command == command and "\n" not in str(e.value)


def test_autocal_waits_on_the_bench_clock_then_reads_errors():
    clock = VirtualClock()
    transport = ProtocolTransport([(b"ACAL DCV\n", None), NO_ERROR], name="ref", read_termination="\r\n")
    dmm = Keysight3458A(transport, clock)
    dmm.autocal(180.0)
    assert clock.now() == 180.0
    transport.assert_done()


# -- every reply parser, as a property ---------------------------------------------------


READINGS = st.from_regex(r"[ -][0-9]\.[0-9]{8}E[+-][0-9]{2}", fullmatch=True)
ERRSTRS = st.one_of(st.just('0,"NO ERROR"'), st.from_regex(r'[0-9]{1,3},"[ !#-~]{0,30}"', fullmatch=True))
#: ``ERRSTR?``: a number, a comma, a quoted message of printable ASCII without quotes.
MANUAL_ERRSTR = re.compile(r'[0-9]{1,3},"[ !#-~]*"')
#: A number as the documented queries answer it (NR1, NR2 or NR3; sign +, - or blank).
MANUAL_NUMBER = r"[ +-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(E[+-]?[0-9]{1,3})?"


def answering(answers: dict[str, list[str]]) -> tuple[AnsweringTransport, Keysight3458A]:
    transport = AnsweringTransport({k: [v.encode("latin-1") + b"\n" for v in vs] for k, vs in answers.items()},
                                   {"ERRSTR?": b'0,"NO ERROR"\n'}, name="ref")
    return transport, Keysight3458A(transport, VirtualClock())


@PROPERTY
@given(replies(READINGS))
def test_read_returns_a_value_only_for_a_reading_in_the_documented_format(reply):
    with protocol([(b"NRDGS 1,AUTO\n", None), NO_ERROR, (b"TARM SGL\n", crlf(reply))]) as dmm:
        try:
            value = dmm.read()
        except CalstationError:
            assert not manual_reading_format(reply) or abs(float(reply)) >= 1e38
        else:
            assert manual_reading_format(reply) and value == float(reply)


@PROPERTY
@given(st.lists(replies(READINGS), min_size=2, max_size=2))
def test_read_many_returns_values_only_when_every_line_is_well_formed(lines):
    pairs = [(b"NRDGS 2,AUTO\n", None), NO_ERROR, (b"TARM SGL\n", crlf(lines[0]) + crlf(lines[1]))]
    with protocol(pairs) as dmm:
        try:
            values = dmm.read_many(2)
        except CalstationError:
            assert not all(map(manual_reading_format, lines)) or any(abs(float(x)) >= 1e38 for x in lines)
        else:
            assert all(map(manual_reading_format, lines)) and values == [float(x) for x in lines]


@PROPERTY
@given(replies(ERRSTRS))
def test_error_register_parser(reply):
    _, dmm = answering({"ERRSTR?": [reply]})
    well_formed = MANUAL_ERRSTR.fullmatch(reply) is not None
    try:
        dmm.check_errors("X")
    except GarbledReply:
        assert not well_formed
    except InstrumentError as e:
        code = int(reply.partition(",")[0])
        assert well_formed and code != 0 and str(e).startswith(f"ref: command 'X' failed: error {code}: ")
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from the error register")
    else:
        assert well_formed and int(reply.partition(",")[0]) == 0


@PROPERTY
@given(replies(st.sampled_from(["HP3458A", "HP3457A", "AGILENT3458A", "KEYSIGHT3458A"])),
       replies(st.from_regex(r"[0-9]{1,4},[0-9]{1,4}", fullmatch=True)))
def test_identify_parser(id_reply, rev_reply):
    _, dmm = answering({"ID?": [id_reply], "REV?": [rev_reply]})
    try:
        identity = dmm.identify()
    except GarbledReply:
        assert not (re.fullmatch(r"[A-Z][A-Z-]*[0-9]{4}[A-Z]", id_reply)
                    and re.fullmatch(r"[0-9]{1,5},[0-9]{1,5}", rev_reply))
    else:
        assert identity.manufacturer + identity.model == id_reply and identity.firmware == rev_reply


@PROPERTY
@given(replies(st.sampled_from(["1, 1.00000000E+01", "1,10", "1,1.0E+1", "1, 1.00000000E+00", "2, 1.00000000E+01"])),
       replies(st.sampled_from(["4", "4", "1", "3", "6"])), replies(ERRSTRS))
def test_confirm_state_passes_only_for_well_formed_replies_saying_so(func, tarm, err):
    transport, dmm = answering({})
    dmm.configure(DCV, 10.0, 100)
    transport.answers = {q: [r.encode("latin-1") + b"\n"] for q, r in (("FUNC?", func), ("TARM?", tarm),
                                                                       ("ERRSTR?", err))}
    transport.sent.clear()
    func_ok = re.fullmatch(rf"[1-9][0-9]?,{MANUAL_NUMBER}", func) is not None
    tarm_ok = tarm in ("1", "2", "3", "4", "5", "7", "8")
    err_ok = MANUAL_ERRSTR.fullmatch(err) is not None
    try:
        dmm.confirm_state()
    except GarbledReply as e:
        assert not (func_ok and tarm_ok and err_ok) and e.command in ("FUNC?", "TARM?", "ERRSTR?")
    except InstrumentError as e:
        assert func_ok and tarm_ok and err_ok
        number, range_ = func.split(",")
        assert {"TARM?": tarm != "4", "FUNC?": int(number) != 1 or float(range_) != 10.0,
                "ERRSTR?": not err.startswith("0,")}[e.command]
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from confirm_state")
    else:
        assert func_ok and tarm_ok and err_ok and tarm == "4" and int(err.partition(",")[0]) == 0
        number, range_ = func.split(",")
        assert int(number) == 1 and float(range_) == 10.0
    assert transport.sent[:3] == ["FUNC?", "TARM?", "ERRSTR?"]  # all three read before any is judged


@PROPERTY
@given(replies(st.one_of(st.integers(0, 300).map(str), st.just("24"))),
       replies(st.one_of(st.integers(0, 70000).map(str), st.just("0"))),
       replies(st.sampled_from([" 3.64000000E+01", "36.4", "+36", "-1.5E+01"])))
def test_status_error_register_and_temperature_parsers(stb, err, temp):
    _, dmm = answering({"STB?": [stb], "ERR?": [err], "TEMP?": [temp]})
    for query, reply, check, limit in (("STB?", stb, dmm.status_byte, 255), ("ERR?", err, dmm.error_register, 65535)):
        try:
            value = check()
        except GarbledReply as e:
            assert e.command == query
            assert not (re.fullmatch(r"[0-9]{1,5}", reply) and int(reply) <= limit)
        else:
            assert re.fullmatch(r"[0-9]{1,5}", reply) and value == int(reply) <= limit
    try:
        celsius = dmm.temperature()
    except GarbledReply:
        assert not re.fullmatch(MANUAL_NUMBER, temp)
    else:
        assert re.fullmatch(MANUAL_NUMBER, temp) and celsius == float(temp)


# -- the simulator ---------------------------------------------------------------------


def test_simulator_power_on_state_and_its_language():
    sim = Sim3458A()
    assert sim.handle("ID?") == "HP3458A" and sim.handle("REV?") == "9,2"
    assert (sim.function, sim.range, sim.nplc, sim.ndig, sim.tarm, sim.trig) == ("DCV", None, 10.0, 7, "AUTO", "AUTO")
    assert sim.handle("TARM?") == "1" and sim.handle("NDIG?") == "7"
    assert sim.handle("FUNC?") == "1, 1.00000000E-01"  # autorange, nothing on the input
    assert sim.handle("*IDN?") is None  # no IEEE 488.2 common commands
    assert sim.handle("ERRSTR?") == '104,"UNKNOWN COMMAND RECEIVED"'
    assert sim.handle("ERRSTR?") == '0,"NO ERROR"'
    sim.handle("DCV,1;NPLC 100;NDIG 8;TARM HOLD")  # header and parameter separated by a comma too
    assert sim.handle("FUNC?;TARM?;NPLC?") == "1, 1.00000000E+00\r\n4\r\n 1.00000000E+02"


@pytest.mark.parametrize(
    ("command", "error"),
    [("NPLC 2000", 106), ("NPLC -1", 106), ("NPLC", 107), ("NPLC FAST", 105), ("NDIG 9", 106), ("NDIG 2", 106),
     ("DCV 2000", 106), ("DCV TEN", 105), ("NRDGS 0", 106), ("NRDGS 5,NEVER", 105), ("TARM FOO", 105),
     ("TRIG", 107), ("OFORMAT SREAL", 105), ("FUNC ACV", 105), ("ACV 10", 104), ("PRESET FAST", 105)],
)
def test_simulator_refuses_bad_commands_and_arguments_and_changes_nothing(command, error):
    sim = Sim3458A()
    before = (sim.function, sim.range, sim.nplc, sim.ndig, sim.readings, sim.tarm, sim.trig, sim.oformat)
    sim.handle(command)
    assert (sim.function, sim.range, sim.nplc, sim.ndig, sim.readings, sim.tarm, sim.trig, sim.oformat) == before
    assert (sim.handle("ERRSTR?") or "").startswith(f"{error},")


def test_simulator_error_register_holds_each_kind_once_least_significant_first():
    sim = Sim3458A()
    sim.handle("FOO;NPLC 5000;BAR;NDIG 1;NPLC")
    assert sim.handle("STB?") == str(8 | 16 | 32)  # power-on SRQ, ready, error
    assert sim.handle("ERR?") == str((1 << 4) | (1 << 6) | (1 << 7)) and sim.handle("ERR?") == "0"
    sim.handle("FOO;NPLC 5000;BAR;NPLC")
    assert [sim.handle("ERRSTR?") for _ in range(4)] == [
        '104,"UNKNOWN COMMAND RECEIVED"', '106,"PARAMETER OUT OF RANGE"', '107,"REQUIRED PARAMETER MISSING"',
        '0,"NO ERROR"']
    sim.handle("CSB")
    assert sim.handle("STB?") == "16"


def test_simulator_reads_its_input_through_small_seeded_errors_quantised_to_its_digits():
    volts = 7.123456789
    sim = Sim3458A(rng=np.random.default_rng(4), noise_fraction=0.0)
    sim.connect("input", lambda: Stimulus("DCV", volts))
    sim.handle("DCV 10;NPLC 100;NDIG 8;TARM HOLD")
    text = sim.handle("TARM SGL") or ""
    assert manual_reading_format(text)
    value = float(text)
    limit = SHEET.spec("24h").half_width(volts, 10.0)
    assert 0 < abs(value - volts) <= 0.1 * limit + 1e-7  # within its error_fraction (0.1) of the 24 h spec
    assert value / 1e-7 == pytest.approx(round(value / 1e-7), abs=1e-6)  # 8.5 digits: 100 nV steps
    sim.handle("NDIG 5")
    assert float(sim.handle("TARM SGL") or "nan") in (7.1234, 7.1235)
    for full, (gain, offset) in sim.range_errors.items():
        terms = SHEET.spec("24h").row(full, full).terms
        assert abs(gain) <= 0.1 * terms.reading and abs(offset) <= 0.1 * terms.range * full
    assert Sim3458A(rng=np.random.default_rng(4)).range_errors == sim.range_errors
    assert Sim3458A(rng=np.random.default_rng(5)).range_errors != sim.range_errors


@pytest.mark.parametrize("stimulus", [Stimulus(), Stimulus("ACV", 10.0, 1000.0), Stimulus("DCI", 1.0)])
def test_simulator_reads_about_zero_without_a_dc_voltage(stimulus):
    sim = Sim3458A(rng=np.random.default_rng(1))
    sim.connect("input", lambda: stimulus)
    sim.handle("DCV 1;NDIG 8;TARM HOLD")
    assert abs(float(sim.handle("TARM SGL") or "nan")) <= SHEET.spec("24h").half_width(0.0, 1.0)


def test_simulator_overloads_beyond_120_percent_of_range():
    volts = [11.9]
    sim = Sim3458A(noise_fraction=0.0)
    sim.connect("input", lambda: Stimulus("DCV", volts[0]))
    sim.handle("DCV 10;TARM HOLD")
    assert float(sim.handle("TARM SGL") or "nan") == pytest.approx(11.9, abs=1e-4)
    volts[0] = 12.5
    assert sim.handle("TARM SGL") == " 1.00000000E+38"
    volts[0] = -12.5
    assert sim.handle("TARM SGL") == "-1.00000000E+38"
    sim.handle("DCV AUTO")
    assert sim.handle("FUNC?") == "1, 1.00000000E+02" and abs(float(sim.handle("TARM SGL") or "nan") + 12.5) < 1e-3


def test_simulator_triggering():
    sim = Sim3458A()
    sim.handle("TARM HOLD;NRDGS 3,AUTO")
    assert len((sim.handle("TARM SGL,2") or "").split("\r\n")) == 6 and sim.tarm == "HOLD"
    assert sim.handle("TRIG SGL") is None  # the arm holds: no trigger is taken
    sim.handle("TARM AUTO;TRIG HOLD")
    assert len((sim.handle("TRIG SGL") or "").split("\r\n")) == 3 and sim.trig == "HOLD"
    sim.handle("TARM HOLD;TRIG HOLD")
    assert sim.handle("TARM SGL") is None  # armed, but the trigger holds


def test_power_cycle_restores_the_power_on_state():
    sim = Sim3458A()
    sim.handle("DCV 1;NPLC 100;NDIG 8;TARM HOLD;NRDGS 5,AUTO;END ALWAYS;CSB;FOO")
    stream = sim.stream()
    assert stream.feed(b"NDIG 3") == b""  # a partial line, then the power goes
    sim.power_cycle()
    assert (sim.range, sim.nplc, sim.ndig, sim.tarm, sim.readings, sim.end) == (None, 10.0, 7, "AUTO", (1, "AUTO"), "OFF")
    assert not sim.errors and sim.handle("STB?") == "24"  # power-on SRQ, ready
    assert stream.feed(b"\n") == b"" and sim.ndig == 7  # the partial line was forgotten


def test_simulator_is_busy_during_acal():
    sim = Sim3458A(acal_time_s=100.0)
    sim.handle("CSB")
    sim.handle("ACAL DCV")
    assert sim.acal_count == 1 and sim.handle("STB?") == "0"  # not ready for instructions
    sim.clock.sleep(100.0)
    assert sim.handle("STB?") == "16"
    sim.handle("ACAL VOLTS")
    assert sim.acal_count == 1 and sim.handle("ERRSTR?") == '105,"UNKNOWN PARAMETER RECEIVED"'


def test_reset_and_preset_leave_the_trigger_arm_on_auto():
    sim = Sim3458A()
    for command in ("RESET", "PRESET NORM", "PRESET"):
        sim.handle("TARM HOLD;DCV 10")
        sim.handle(command)
        assert sim.handle("TARM?") == "1" and sim.range is None


# -- the driver on its simulator, measuring the 5522A, in process and over TCP -------------


#: The 3458A has no RS-232: in process and over TCP (a GPIB-LAN gateway) only.
reached = reached_on("calibrator-3458a", kinds=("sim", "tcp"))


def meter(r: Reached, timeout_s: float = 2.0) -> Keysight3458A:
    m: Keysight3458A = r.driver("reference", Keysight3458A, timeout_s)
    return m


def calibrator(r: Reached) -> Fluke5522A:
    c: Fluke5522A = r.driver("calibrator", Fluke5522A)
    return c


def output(cal: Fluke5522A, volts: float) -> None:
    cal.set_output(DCV, volts)
    cal.operate()  # the 5522A goes to standby rising to 33 V or more: operate after every value
    cal.wait_settled(5.0)


POINTS = [0.1, -0.1, 0.33, 1.0, -1.0, 3.3, 10.0, -10.0, 33.0, 100.0, -100.0, 330.0, 1000.0, -1000.0]


def test_the_3458a_reads_the_5522a_within_the_calibrators_spec(reached: Reached):
    """The issue's calibration, on the simulated bench: the 5522A (DUT) at
    its DC voltage verification points, each read by the 3458A on the
    smallest range that holds it, at 100 PLC."""
    cal, dmm = calibrator(reached), meter(reached)
    assert dmm.identify().matches(Keysight3458A.manufacturers, Keysight3458A.models)
    cal.initialize()
    dmm.initialize()
    dut_spec = registry.datasheet("fluke-5522a").function(DCV).spec("90d")
    ref_spec = SHEET.spec("24h")
    terminals = reached.bench.calibrator
    for volts in POINTS:
        output(cal, volts)
        range_ = SHEET.range_for(volts)
        dmm.configure(DCV, range_, 100)
        reading = dmm.read()
        ref_limit = ref_spec.half_width(volts, range_)
        assert abs(reading - volts) <= dut_spec.half_width(volts) + ref_limit, volts
        assert abs(reading - terminals.terminal_voltage()) <= ref_limit, volts  # the reference within its spec
        assert dmm.resolution() == SHEET.digit(range_, 100)
        dmm.confirm_state()
        cal.confirm_state()
    dmm.configure(DCV, 1.0, 100)
    with pytest.raises(InstrumentError, match="overload"):  # 1000 V on the 1 V range
        dmm.read()
    cal.safe_state()


def test_read_many_and_resolution_follow_the_integration_time(reached: Reached):
    cal, dmm = calibrator(reached), meter(reached)
    dmm.initialize()
    output(cal, 10.0)
    for nplc in SHEET.nplc:
        dmm.configure(DCV, 10.0, nplc)
        values = dmm.read_many(4)
        assert len(values) == 4 and all(abs(v - 10.0) < 2e-3 for v in values)
        digit = dmm.resolution()
        assert all(v / digit == pytest.approx(round(v / digit), abs=1e-3) for v in values)
        dmm.confirm_state()
    assert reached.bench.reference.readings == (4, "AUTO")


def test_confirm_state_is_three_queries_each_answered_with_cr_lf(reached: Reached):
    dmm = meter(reached)
    dmm.initialize()
    dmm.configure(DCV, 10.0, 100)
    before = len(reached.log.entries())
    dmm.confirm_state()
    assert [(e.direction, e.data) for e in reached.log.entries()[before:]] == [
        ("tx", b"FUNC?\n"), ("rx", b"1, 1.00000000E+01\r\n"), ("tx", b"TARM?\n"), ("rx", b"4\r\n"),
        ("tx", b"ERRSTR?\n"), ("rx", b'0,"NO ERROR"\r\n')]


@pytest.mark.parametrize("when", ["after", "during configure"])
def test_a_power_cycle_is_caught_by_confirm_state(reached: Reached, when):
    cal, dmm, sim = calibrator(reached), meter(reached), reached.bench.reference
    output(cal, 10.0)  # autorange after power-on lands on the configured 10 V range: FUNC? alone cannot tell
    dmm.initialize()
    if when == "after":
        dmm.configure(DCV, 10.0, 100)
        sim.power_cycle()
    else:
        power_cut = faults.once(faults.when(b"NDIG", sim.power_cycle))
        sim.line_fault = power_cut
        dmm.configure(DCV, 10.0, 100)  # the power goes between NPLC and NDIG: no error is set
        assert power_cut.fired == 1
    with pytest.raises(InstrumentError) as err:
        dmm.confirm_state()
    assert str(err.value).startswith("reference: command 'TARM?' failed: the trigger arm is AUTO, not HOLD")
    dmm.initialize()
    dmm.configure(DCV, 10.0, 100)
    dmm.confirm_state()  # initialized and configured again: fine
    assert abs(dmm.read() - 10.0) < 1e-4


def test_a_change_behind_the_drivers_back_is_caught(reached: Reached):
    dmm, sim = meter(reached), reached.bench.reference
    dmm.initialize()
    dmm.configure(DCV, 10.0, 100)
    sim.handle("DCV 100")  # someone at the front panel
    with pytest.raises(InstrumentError, match="command 'FUNC\\?' failed: the meter is set to '1, 1.00000000E\\+02'"):
        dmm.confirm_state()
    dmm.configure(DCV, 10.0, 100)
    sim.handle("RESET")
    with pytest.raises(InstrumentError, match="command 'TARM\\?' failed"):
        dmm.confirm_state()
    dmm.initialize()
    dmm.configure(DCV, 10.0, 100)
    sim.push_error(*ERR_TRIGGER_TOO_FAST)
    with pytest.raises(InstrumentError, match="command 'ERRSTR\\?' failed: error 102: TRIGGER TOO FAST"):
        dmm.confirm_state()
    assert not sim.errors
    dmm.confirm_state()


@pytest.mark.parametrize("fault", ["garble", "truncate, termination kept"])
def test_garbled_or_truncated_readings_are_refused(reached: Reached, fault):
    cal, dmm, sim = calibrator(reached), meter(reached), reached.bench.reference
    output(cal, 10.0)
    dmm.initialize()
    dmm.configure(DCV, 10.0, 100)
    sim.range_noise = dict.fromkeys(sim.range_noise, 0.0)
    clean = dmm.read()
    rng = np.random.default_rng(3)
    sim.line_fault = faults.garble(rng, 1.0) if fault == "garble" else faults.truncate(rng, 1.0, keep_termination=True)
    for _ in range(5):
        with pytest.raises(GarbledReply, match="reference: command 'TARM SGL' failed: reply"):
            dmm.read()
    sim.line_fault = None
    assert dmm.read() == clean
    dmm.confirm_state()


def test_a_reading_cut_short_without_its_termination_is_not_a_value(reached: Reached):
    cal, dmm, sim = calibrator(reached), meter(reached, timeout_s=0.2), reached.bench.reference
    output(cal, 1.0)
    dmm.initialize()
    dmm.configure(DCV, 1.0, 100)
    sim.range_noise = dict.fromkeys(sim.range_noise, 0.0)
    clean = dmm.read()
    sim.line_fault = faults.once(faults.truncate(np.random.default_rng(4), 1.0, keep_termination=False))
    with pytest.raises(InstrumentTimeout, match="reference: "):
        dmm.read()
    for _ in range(2):  # what the next reply brings is refused or right, never a wrong value
        try:
            assert dmm.read() == clean
        except GarbledReply:
            pass


def test_link_down_is_a_one_line_transport_error(reached: Reached):
    dmm, sim = meter(reached, timeout_s=0.2), reached.bench.reference
    dmm.initialize()
    dmm.configure(DCV, 10.0, 100)
    sim.link_down = True
    with pytest.raises(TransportError) as err:
        dmm.read()
    assert str(err.value).startswith("reference: ") and "\n" not in str(err.value) and "TARM SGL" in str(err.value)
    sim.link_down = False
    if reached.kind == "tcp":  # the connection was reset: open a new one
        dmm = meter(reached)
    dmm.configure(DCV, 10.0, 100)
    dmm.confirm_state()


def test_the_reference_reads_about_zero_with_its_leads_off(reached: Reached):
    cal, dmm = calibrator(reached), meter(reached)
    output(cal, 10.0)
    dmm.initialize()
    dmm.configure(DCV, 0.1, 100)
    reached.bench.leads.connected = False
    assert abs(dmm.read()) <= SHEET.spec("24h").half_width(0.0, 0.1)


def test_autocal_and_temperature_on_the_simulator(reached: Reached):
    dmm, sim = meter(reached), reached.bench.reference
    dmm.initialize()
    start = reached.bench.clock.now()
    dmm.autocal(sim.acal_time_s + 10.0)
    assert sim.acal_count == 1 and reached.bench.clock.now() - start == pytest.approx(sim.acal_time_s + 10.0)
    assert dmm.status_byte() & 32 == 0  # no error bit
    assert dmm.temperature() == pytest.approx(sim.temperature_c)
    assert dmm.error_register() == 0
