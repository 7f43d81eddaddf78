"""Keysight 34401A: strict replies, `confirm_state`, and the driver against
its simulator under injected faults (in process, over TCP and a
pseudo-terminal)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.clock import VirtualClock
from drivers.errors import (
    CalstationError,
    GarbledReply,
    InstrumentError,
    InstrumentTimeout,
    TransportError,
)
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from drivers.roles import Function, SelfChecking
from drivers.sim import faults
from drivers.keysight.k34401a_sim import DutErrors, Sim34401A
from tests.drivers.conftest import Reached
from tests.drivers.protocol import AnsweringTransport, expected_protocol
from tests.drivers.strategies import PROPERTY, replies, wire

DCV = Function.DCV
NO_ERROR = (b"SYST:ERR?\n", b'+0,"No error"\n')
#: `confirm_state`'s one compound query.
STATE = b"*ESR?;CONF?;:SYST:ERR?\n"
STATE_COMMAND = "*ESR?;CONF?;:SYST:ERR?"
CONF_10V = b'"VOLT +1.000000E+01,+1.000000E-05"'


def state_reply(esr: bytes = b"+0", conf: bytes = CONF_10V, err: bytes = b'+0,"No error"') -> bytes:
    """The meter's one reply to `STATE`."""
    return esr + b";" + conf + b";" + err + b"\n"


def configured(range_: bytes = b"10", nplc: bytes = b"10") -> list[tuple[bytes, bytes | None]]:
    return [(b"CONF:VOLT:DC " + range_ + b"\n", None), NO_ERROR, (b"VOLT:DC:NPLC " + nplc + b"\n", None), NO_ERROR]


def manual_reading_format(reply: str) -> bool:
    """The User's Guide's ``SD.DDDDDDDDESDD``, character by character."""
    pattern = "SD.DDDDDDDDESDD"
    allowed = {"S": "+-", "D": "0123456789", ".": ".", "E": "E"}
    return len(reply) == len(pattern) and all(c in allowed[p] for c, p in zip(reply, pattern, strict=True))


# -- strict replies, exact bytes -------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [b"+1.0000023", b"+1.00000230E+1", b"+1.00000230E+015", b"1.00000230E+01", b"+1.00000230e+01",
     b" +1.00000230E+01", b"+1.00000230E+01 ", b"+10.0000230E+00", b"+1.0000023E+01", b"", b"+",
     b"+1.00000230E+01,+1.00000230E+01", b"+1.00000230E+01\r", b"nan", b"+inf", b"+1.0\x00\x13#?E+0",
     b"+1.00000230E+01+1.00000230E+01"],
)
def test_read_refuses_any_reply_not_in_the_reading_format(reply):
    with expected_protocol(Keysight34401A, [(b"READ?\n", reply + b"\n")], name="dmm") as dmm:
        with pytest.raises(GarbledReply) as err:
            dmm.read()
    message = str(err.value)
    assert message.startswith("dmm: command 'READ?' failed: reply ") and "SD.DDDDDDDDESDD" in message
    assert "\n" not in message


def test_read_accepts_the_documented_format_and_its_rs232_cr_lf_form():
    with expected_protocol(Keysight34401A, [(b"READ?\n", b"-1.23456789E-03\n")]) as dmm:
        assert dmm.read() == -1.23456789e-3
    with expected_protocol(Keysight34401A, [(b"READ?\n", b"+1.00000230E+01\r\n")], serial=True) as dmm:
        assert dmm.read() == 10.0000230  # RS-232: <cr><nl> (User's Guide, Output Data Formats)


def test_read_many_refuses_a_block_with_one_malformed_reading():
    with expected_protocol(Keysight34401A, [
        (b"SAMP:COUN 3\n", None), NO_ERROR,
        (b"READ?\n", b"+1.00000230E+01,+1.0000024,+1.00000220E+01\n"),
    ], name="dmm") as dmm:
        with pytest.raises(GarbledReply, match="reply '\\+1.0000024' is not a number"):
            dmm.read_many(3)


@pytest.mark.parametrize(
    "reply", [b'-113,Undefined header', b'+0,"No error', b'+0 "No error"', b'+0,"No error"x', b"", b"0",
              b'+0;"No error"', b'+1000,"No error"']
)
def test_error_queue_reply_must_be_code_comma_quoted_message(reply):
    with expected_protocol(Keysight34401A, [(b"SYST:ERR?\n", reply + b"\n")], name="dmm") as dmm:
        with pytest.raises(GarbledReply, match="dmm: command 'SYST:ERR\\?' failed: reply .* is not <code>"):
            dmm.check_errors()


# -- confirm_state, exact bytes --------------------------------------------------


def test_the_meter_is_self_checking():
    with expected_protocol(Keysight34401A, []) as dmm:
        assert isinstance(dmm, SelfChecking)


def test_confirm_state_before_configure_reads_only_the_error_queue():
    with expected_protocol(Keysight34401A, [NO_ERROR]) as dmm:
        dmm.confirm_state()


def test_confirm_state_is_one_exchange():
    pairs = [*configured(),
             (b"*ESR?;CONF?;:SYST:ERR?\n", b'+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"\n')]
    with expected_protocol(Keysight34401A, pairs) as dmm:
        dmm.configure(DCV, 10.0, 10)
        dmm.confirm_state()


@pytest.mark.parametrize(
    ("range_", "nplc", "conf"),
    [
        (10.0, 10, b'"VOLT +1.000000E+01,+1.000000E-05"'),
        (10.0, 1, b'"VOLT +1.000000E+01,+3.000000E-05"'),
        (0.1, 100, b'"VOLT +1.000000E-01,+3.000000E-08"'),
        (1000.0, 0.02, b'"VOLT +1.000000E+03,+1.000000E-01"'),
        (1.0, 0.2, b'"VOLT +1.000000E+00,+1.000000E-05"'),
    ],
)
def test_confirm_state_checks_range_and_resolution(range_, nplc, conf):
    pairs = configured(str(range_).removesuffix(".0").encode(), str(nplc).encode())
    with expected_protocol(Keysight34401A, [*pairs, (STATE, state_reply(conf=conf))]) as dmm:
        dmm.configure(DCV, range_, nplc)
        dmm.confirm_state()


def test_confirm_state_takes_the_rs232_cr_lf_reply():
    with expected_protocol(Keysight34401A, [*configured(), (STATE, state_reply()[:-1] + b"\r\n")], serial=True) as dmm:
        dmm.configure(DCV, 10.0, 10)
        dmm.confirm_state()


def test_confirm_state_sees_a_power_cycle():
    with expected_protocol(Keysight34401A, [*configured(), (STATE, state_reply(esr=b"+128"))], name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.confirm_state()
    assert str(err.value).startswith("dmm: command '*ESR?' failed: the meter was switched off and on (PON)")


@pytest.mark.parametrize(
    "conf",
    [b'"VOLT +1.000000E+02,+1.000000E-04"',  # another range
     b'"VOLT +1.000000E+01,+3.000000E-05"',  # another integration time (1 PLC)
     b'"VOLT:AC +1.000000E+01,+1.000000E-05"',  # another function
     b'"RES +1.000000E+01,+1.000000E-05"'],
)
def test_confirm_state_sees_another_configuration(conf):
    with expected_protocol(Keysight34401A, [*configured(), (STATE, state_reply(conf=conf))], name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.confirm_state()
    message = str(err.value)
    assert message.startswith("dmm: command 'CONF?' failed: the meter is set to " + conf.decode() + ", ")
    assert "not to DC volts on the 10 V range at 10 PLC" in message and "\n" not in message


def test_confirm_state_sees_a_queued_error_and_drains_the_queue():
    pairs = [*configured(), (STATE, state_reply(err=b'-113,"Undefined header"')),
             (b"SYST:ERR?\n", b'-410,"Query INTERRUPTED"\n'), NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError, match=r"dmm: command 'SYST:ERR\?' failed: error -113, Undefined header"):
            dmm.confirm_state()


def test_confirm_state_takes_an_error_message_holding_a_semicolon_and_quotes():
    pairs = [*configured(), (STATE, state_reply(err=b'-100,"Command error; ""CONF"""')), NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.confirm_state()
    assert str(err.value).startswith("dmm: command 'SYST:ERR?' failed: error -100, Command error; \"CONF\" (")


def test_confirm_state_checks_what_configure_asked_even_if_it_failed():
    pairs = [(b"CONF:VOLT:DC 1\n", None), (b"SYST:ERR?\n", b'-222,"Data out of range"\n'), NO_ERROR,
             (STATE, state_reply())]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        with pytest.raises(InstrumentError, match="-222"):
            dmm.configure(DCV, 1.0, 10)
        with pytest.raises(InstrumentError, match="CONF\\?"):
            dmm.confirm_state()


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b"", "has 1 part(s) separated by ';', not 3"),
        (b'+0;"VOLT +1.000000E+01,+1.0000', "has 2 part(s)"),  # cut short
        (b'+0;"VOLT +1.000000E+01,+1.000000E-05"', "has 2 part(s)"),  # SYST:ERR? unanswered
        (b'"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"', "has 2 part(s)"),  # *ESR? unanswered
        (b'+0,"VOLT +1.000000E+01,+1.000000E-05",+0,"No error"', "has 1 part(s)"),  # another separator
        (b'+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error";+0,"No error"', "to SYST:ERR? is not <code>"),
        (b'+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error', "to SYST:ERR? is not <code>"),
        (b'+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"x', "to SYST:ERR? is not <code>"),
        (b'+0;"VOLT +1.000000E+01;+1.000000E-05";+0,"No error"', "to CONF? is not \"<function>"),
        (b'+0;VOLT +1.000000E+01,+1.000000E-05;+0,"No error"', "to CONF? is not \"<function>"),
        (b'+0;"VOLT +1.000000E+01,+1.00000E-05";+0,"No error"', "to CONF? is not \"<function>"),
        (b'+0;"volt +1.000000E+01,+1.000000E-05";+0,"No error"', "to CONF? is not \"<function>"),
        (b'+256;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"', "to *ESR? is not an integer 0..255"),
        (b'0x0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"', "to *ESR? is not an integer 0..255"),
        (b'+128;"VOLT +1.0";+0,"No error"', "to CONF?"),  # garbled: the PON it shows is not believed either
    ],
)
def test_confirm_state_refuses_a_compound_reply_not_exactly_as_asked(reply, says):
    with expected_protocol(Keysight34401A, [*configured(), (STATE, reply + b"\n")], name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(GarbledReply) as err:
            dmm.confirm_state()
    message = str(err.value)
    assert message.startswith("dmm: command '*ESR?;CONF?;:SYST:ERR?' failed: reply ")
    assert says in message and "\n" not in message


# -- property tests: every parser, arbitrary replies ---------------------------------

READINGS = st.from_regex(r"[+-][0-9]\.[0-9]{8}E[+-][0-9]{2}", fullmatch=True)
ERRORS = st.from_regex(r'[+-]?[0-9]{1,3},"[ !#-~]{0,30}"', fullmatch=True)
CONFS = st.sampled_from(['"VOLT +1.000000E+01,+1.000000E-05"', '"VOLT +1.000000E+01,+1.000000E-06"',
                         '"VOLT +1.000000E+00,+1.000000E-05"'])


@PROPERTY
@given(replies(READINGS))
def test_read_returns_a_value_only_for_a_reading_in_the_documented_format(reply):
    with expected_protocol(Keysight34401A, [(b"READ?\n", wire(reply))]) as dmm:
        try:
            value = dmm.read()
        except CalstationError:
            assert not manual_reading_format(reply) or abs(float(reply)) >= 9.9e37
        else:
            assert manual_reading_format(reply)
            assert value == float(reply)


@PROPERTY
@given(st.lists(replies(READINGS), min_size=2, max_size=2))
def test_read_many_returns_values_only_for_well_formed_blocks(fields):
    reply = ",".join(fields)
    pairs = [(b"SAMP:COUN 2\n", None), NO_ERROR, (b"READ?\n", wire(reply))]
    with expected_protocol(Keysight34401A, pairs) as dmm:
        try:
            values = dmm.read_many(2)
        except CalstationError:
            pieces = reply.split(",")
            assert len(pieces) != 2 or not all(map(manual_reading_format, pieces)) or any(
                abs(float(p)) >= 9.9e37 for p in pieces)
        else:
            assert all(map(manual_reading_format, fields)) and values == [float(f) for f in fields]


#: ``<code>,"<message>"``: a signed integer (SCPI: up to 3 digits), a comma, a
#: quoted string of printable ASCII ("" for a quote inside).
MANUAL_ERROR_FORMAT = re.compile(r'[+-]?[0-9]{1,3},"([ !#-~]|"")*"')


@PROPERTY
@given(replies(ERRORS))
def test_error_queue_parser(reply):
    transport = AnsweringTransport({"SYST:ERR?": [wire(reply)]}, {"SYST:ERR?": b'+0,"No error"\n'}, name="dmm")
    dmm = Keysight34401A(transport, VirtualClock())
    well_formed = MANUAL_ERROR_FORMAT.fullmatch(reply) is not None
    try:
        dmm.check_errors("X")
    except GarbledReply:
        assert not well_formed
    except InstrumentError as e:
        code = int(reply.partition(",")[0])
        assert well_formed and code != 0
        assert str(e).startswith(f"dmm: command 'X' failed: error {code:+d}, ")
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from the error queue")
    else:
        assert well_formed and int(reply.partition(",")[0]) == 0


@PROPERTY
@given(replies(CONFS, max_size=60))
def test_confirm_state_passes_only_for_the_exact_configuration(conf):
    transport = AnsweringTransport({STATE_COMMAND: [wire(f'+0;{conf};+0,"No error"')]},
                                   {"SYST:ERR?": b'+0,"No error"\n'}, name="dmm")
    dmm = Keysight34401A(transport, VirtualClock())
    dmm.configure(DCV, 10.0, 10)
    try:
        dmm.confirm_state()
    except CalstationError:
        pass
    else:
        body = conf[len('"VOLT '):-1].split(",")
        assert conf.startswith('"VOLT ') and conf.endswith('"') and len(body) == 2
        assert float(body[0]) == 10.0 and float(body[1]) == pytest.approx(1e-5, rel=1e-6)


MANUAL_ESR_FORMAT = re.compile(r"[+-]?[0-9]{1,3}")
MANUAL_CONF_NUMBER = r"[+-][0-9]\.[0-9]{6}E[+-][0-9]{2}"
MANUAL_CONF_FORMAT = re.compile(rf'"[A-Z:]+ {MANUAL_CONF_NUMBER},{MANUAL_CONF_NUMBER}"')
#: Well-formed parts, the meter as configured (10 V range, 10 PLC) often enough.
ESR_REPLIES = st.one_of(st.just("+0"), st.just("+0"), st.sampled_from(["+128", "+32", "+160", "0"]),
                        st.integers(0, 300).map("{:+d}".format))
CONF_REPLIES = st.one_of(st.just('"VOLT +1.000000E+01,+1.000000E-05"'), CONFS,
                         st.sampled_from(['"VOLT:AC +1.000000E+01,+1.000000E-05"', '"VOLT +1.000000E+01,+3.000000E-05"']))
ERR_REPLIES = st.one_of(st.just('+0,"No error"'), st.just('+0,"No error"'),
                        st.sampled_from(['-113,"Undefined header"', '-100,"a;""b"""']), ERRORS)


def expected_state_outcome(reply: str) -> str | None:
    """What `confirm_state` must do with ``reply``, by the User's Guide's
    formats, for the meter configured to 10 V at 10 PLC: "garbled", the
    command a check names, or None (passes)."""
    parts = reply.split(";", 2)
    if len(parts) != 3:
        return "garbled"
    esr, conf, err = parts
    if not (MANUAL_ESR_FORMAT.fullmatch(esr) and 0 <= int(esr) <= 255 and MANUAL_CONF_FORMAT.fullmatch(conf)
            and MANUAL_ERROR_FORMAT.fullmatch(err)):
        return "garbled"
    if int(esr) & 128:
        return "*ESR?"
    function, _, numbers = conf[1:-1].partition(" ")
    range_, resolution = map(float, numbers.split(","))
    if function != "VOLT" or abs(range_ - 10.0) > 1e-5 or abs(resolution - 1e-5) > 1e-11:
        return "CONF?"
    if int(err.partition(",")[0]) != 0:
        return "SYST:ERR?"
    return None


@PROPERTY
@given(st.one_of(replies(st.tuples(ESR_REPLIES, CONF_REPLIES, ERR_REPLIES).map(";".join), max_size=120),
                 st.tuples(replies(ESR_REPLIES, 8), replies(CONF_REPLIES, 50), replies(ERR_REPLIES)).map(";".join)))
def test_compound_state_reply_parser(reply):
    """Arbitrary replies to the compound query: the meter passes only for an
    exactly well-formed reply saying so, a check fails only on a
    well-formed reply, and anything else is a `GarbledReply`."""
    transport = AnsweringTransport({STATE_COMMAND: [wire(reply)]}, {"SYST:ERR?": b'+0,"No error"\n'}, name="dmm")
    dmm = Keysight34401A(transport, VirtualClock())
    dmm.configure(DCV, 10.0, 10)
    expected = expected_state_outcome(reply)
    try:
        dmm.confirm_state()
    except GarbledReply as e:
        assert expected == "garbled" and e.command == STATE_COMMAND
    except InstrumentError as e:
        assert expected == e.command
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from confirm_state")
    else:
        assert expected is None
    assert transport.sent.count(STATE_COMMAND) == 1


# -- the simulator answers as the drivers expect ---------------------------------------


def test_simulator_configuration_query_reflects_range_and_integration_time():
    sim = Sim34401A()
    assert sim.handle("CONF?") == '"VOLT +1.000000E+01,+1.000000E-05"'  # *RST: autorange, 10 PLC
    sim.handle("CONF:VOLT:DC 0.1;VOLT:DC:NPLC 100")
    assert sim.handle("CONF?") == '"VOLT +1.000000E-01,+3.000000E-08"'
    sim.handle("CONF:VOLT:DC 10,3E-5")  # the resolution selects the integration time: 1 PLC
    assert sim.nplc == 1.0 and sim.handle("CONF?") == '"VOLT +1.000000E+01,+3.000000E-05"'


def test_simulator_with_autorange_reports_the_range_of_its_last_reading():
    sim = Sim34401A(leads=lambda: 0.05, errors=DutErrors(noise=0))
    sim.handle("*RST")
    sim.handle("READ?")
    assert sim.handle("CONF?") == '"VOLT +1.000000E-01,+1.000000E-07"'


def test_power_cycle_restores_the_reset_defaults_and_sets_pon():
    sim = Sim34401A()
    sim.handle("SYST:REM;CONF:VOLT:DC 1;VOLT:DC:NPLC 100;SAMP:COUN 5;TRIG:SOUR BUS;FOO")
    assert sim.errors
    stream = sim.stream()
    assert stream.feed(b"CONF:VOLT:DC 0") == b""  # a partial line, then the power goes
    sim.power_cycle()
    assert (sim.range, sim.autorange, sim.nplc, sim.sample_count, sim.trigger_source) == (10.0, True, 10.0, 1, "IMM")
    assert sim.remote is False and not sim.errors
    assert stream.feed(b".1\n") == b""  # the partial line was forgotten: '.1' is not a command
    assert sim.handle("SYST:ERR?") == '-113,"Undefined header"'
    assert sim.handle("*ESR?;*ESR?") == "+160;+0"  # PON (128) and the command error (32) of '.1'
    assert sim.handle("CONF?") == '"VOLT +1.000000E+01,+1.000000E-05"'


def test_simulator_answers_the_compound_state_query_in_one_reply():
    sim = Sim34401A()
    sim.handle("CONF:VOLT:DC 0.1;VOLT:DC:NPLC 100")
    assert sim.handle("*ESR?;CONF?;:SYST:ERR?") == '+0;"VOLT +1.000000E-01,+3.000000E-08";+0,"No error"'
    assert sim.handle(":SYST:ERR?") == '+0,"No error"'  # a leading colon: from the root
    sim.power_cycle()
    sim.handle("FOO")
    assert sim.handle("*ESR?;CONF?;:SYST:ERR?") == '+160;"VOLT +1.000000E+01,+1.000000E-05";-113,"Undefined header"'
    assert (sim.handle("*ESR?;CONF?;:SYST:ERR?") or "").startswith("+0;")  # *ESR? read clears it


# -- the driver against its simulator, with faults, over every transport ---------------


def meter(r: Reached, timeout_s: float = 2.0) -> Keysight34401A:
    return Keysight34401A(r.open("dmm", timeout_s), r.bench.clock)


def meter_on_10_v(r: Reached, timeout_s: float = 2.0) -> tuple[Keysight34401A, float]:
    """A noiseless meter on its 10 V range reading 10 V from the calibrator,
    and the reading it gives (taken past the wire, so no line fault)."""
    r.bench.dmm.dut = DutErrors(noise=0.0)
    cal = Fluke5522A(r.open("calibrator"), r.bench.clock)
    cal.set_output(DCV, 10.0)
    cal.operate()
    cal.wait_settled(5.0)
    dmm = meter(r, timeout_s)
    dmm.configure(DCV, 10.0, 10)
    clean = float(r.bench.dmm.handle("READ?") or "nan")
    assert abs(clean - 10.0) < 1e-3
    return dmm, clean


def test_confirm_state_passes_on_an_undisturbed_meter(reached: Reached):
    dmm = meter(reached)
    dmm.initialize()
    dmm.confirm_state()
    for range_, nplc in ((10.0, 10), (0.1, 100), (1000.0, 0.02)):
        dmm.configure(DCV, range_, nplc)
        dmm.read()
        dmm.read_many(3)
        dmm.confirm_state()


def test_confirm_state_is_one_message_and_one_reply(reached: Reached):
    dmm = meter(reached)
    sim = reached.bench.dmm
    dmm.configure(DCV, 10.0, 10)
    before = len(reached.log.entries())
    received = len(sim.received)
    dmm.confirm_state()
    assert list(sim.received)[received:] == ["*ESR?;CONF?;:SYST:ERR?"]
    assert [(e.instrument, e.direction, e.data) for e in reached.log.entries()[before:]] == [
        ("dmm", "tx", b"*ESR?;CONF?;:SYST:ERR?\n"),
        ("dmm", "rx", b'+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"\n')]


@pytest.mark.parametrize("fault", ["garble", "truncate, termination kept"])
def test_garbled_or_truncated_state_replies_are_refused(reached: Reached, fault):
    dmm = meter(reached)
    sim = reached.bench.dmm
    dmm.configure(DCV, 10.0, 10)
    rng = np.random.default_rng(7)
    sim.line_fault = faults.garble(rng, 1.0) if fault == "garble" else faults.truncate(rng, 1.0, keep_termination=True)
    for _ in range(5):
        with pytest.raises(GarbledReply, match="dmm: command '\\*ESR\\?;CONF\\?;:SYST:ERR\\?' failed: reply"):
            dmm.confirm_state()
    sim.line_fault = None
    dmm.confirm_state()


@pytest.mark.parametrize("range_", [1.0, 10.0])
def test_power_cycle_during_configuration_is_caught(reached: Reached, range_):
    dmm = meter(reached)
    sim = reached.bench.dmm
    dmm.initialize()
    power_cut = faults.once(faults.when(b"VOLT:DC:NPLC", sim.power_cycle))
    sim.line_fault = power_cut
    dmm.configure(DCV, range_, 10)  # the power goes between CONF and NPLC: no error is queued
    assert power_cut.fired == 1 and sim.autorange  # the meter is not as configured
    with pytest.raises(InstrumentError) as err:
        dmm.confirm_state()
    assert str(err.value).startswith("dmm: command '*ESR?' failed: the meter was switched off and on")
    dmm.configure(DCV, range_, 10)
    dmm.confirm_state()  # configured again: fine


def test_a_queued_error_is_caught(reached: Reached):
    dmm = meter(reached)
    dmm.configure(DCV, 10.0, 10)
    reached.bench.dmm.push_error(-410, "Query INTERRUPTED")
    with pytest.raises(InstrumentError) as err:
        dmm.confirm_state()
    assert str(err.value).startswith("dmm: command 'SYST:ERR?' failed: error -410, Query INTERRUPTED")
    assert not reached.bench.dmm.errors


def test_a_reset_by_someone_else_is_caught(reached: Reached):
    dmm = meter(reached)
    dmm.configure(DCV, 1.0, 1)
    reached.bench.dmm.handle("*RST")
    with pytest.raises(InstrumentError, match="dmm: command 'CONF\\?' failed"):
        dmm.confirm_state()


def test_link_down_is_a_one_line_transport_error(reached: Reached):
    dmm = meter(reached, timeout_s=0.2)
    dmm.configure(DCV, 10.0, 10)
    reached.bench.dmm.link_down = True
    with pytest.raises(TransportError) as err:
        dmm.read()
    message = str(err.value)
    assert message.startswith("dmm: ") and "\n" not in message and "READ?" in message
    reached.bench.dmm.link_down = False
    if reached.kind == "tcp":  # the connection was reset: open a new one
        dmm = meter(reached)
    dmm.configure(DCV, 10.0, 10)
    dmm.confirm_state()


@pytest.mark.parametrize("fault", ["garble", "truncate, termination kept"])
def test_garbled_or_truncated_readings_are_refused(reached: Reached, fault):
    dmm, clean = meter_on_10_v(reached)
    rng = np.random.default_rng(3)
    sim = reached.bench.dmm
    sim.line_fault = faults.garble(rng, 1.0) if fault == "garble" else faults.truncate(rng, 1.0, keep_termination=True)
    for _ in range(5):
        with pytest.raises(GarbledReply, match="dmm: command 'READ\\?' failed: reply"):
            dmm.read()
    sim.line_fault = None
    assert dmm.read() == clean


def test_a_reading_cut_short_without_its_termination_is_refused(reached: Reached):
    dmm, clean = meter_on_10_v(reached, timeout_s=0.2)
    reached.bench.dmm.line_fault = faults.once(faults.truncate(np.random.default_rng(4), 1.0, keep_termination=False))
    with pytest.raises(InstrumentTimeout, match="dmm: "):
        dmm.read()
    # what the next reply brings is refused or right, never a wrong value
    for _ in range(2):
        try:
            assert dmm.read() == clean
        except GarbledReply:
            pass


def test_no_wrong_reading_gets_through_garbling_and_truncation():
    """A small fault campaign in process: 300 readings, a fifth of the
    replies garbled and a fifth cut short (termination kept or not)."""
    from drivers.sim.bench import SimBench
    from drivers.transport import open_transport

    with SimBench(seed=2, dut=DutErrors(noise=0.0)) as bench:
        cal = Fluke5522A(open_transport("sim://calibrator", name="cal", simulators=bench.simulators), bench.clock)
        cal.set_output(DCV, 1.0)
        cal.operate()
        cal.wait_settled(5.0)
        dmm = Keysight34401A(open_transport("sim://dmm", name="dmm", simulators=bench.simulators), bench.clock)
        dmm.configure(DCV, 1.0, 10)
        clean = dmm.read()
        rng = np.random.default_rng(5)
        garble, cut = faults.garble(rng, 0.2), faults.truncate(rng, 0.25)
        bench.dmm.line_fault = faults.chain(garble, cut)
        outcomes = {"value": 0, "refused": 0}
        for _ in range(300):
            try:
                assert dmm.read() == clean
                outcomes["value"] += 1
            except CalstationError:
                outcomes["refused"] += 1
        assert garble.fired > 20 and cut.fired > 20
        assert outcomes["refused"] >= garble.fired and outcomes["value"] > 100
