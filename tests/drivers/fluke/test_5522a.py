"""Fluke 5522A: strict replies, `confirm_state`, and the driver against its
simulator under injected faults (in process, over TCP and a
pseudo-terminal)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.clock import VirtualClock
from drivers.errors import CalstationError, GarbledReply, InstrumentError, TransportError
from drivers.fluke.f5522a import Fluke5522A
from drivers.roles import Function, SelfChecking
from drivers.sim import faults
from drivers.fluke.f5522a_sim import Sim5522A
from tests.drivers.conftest import Reached
from tests.drivers.protocol import AnsweringTransport, expected_protocol
from tests.drivers.strategies import PROPERTY, replies, wire

DCV = Function.DCV
NO_ERROR = (b"ERR?\n", b'0,"No Error"\n')
#: `confirm_state`'s one compound query, and the same without ``OPER?``
#: (operate state unknown).
STATE = b"*ESR?;OPER?;OUT?;ERR?\n"
STATE_WITHOUT_OPER = b"*ESR?;OUT?;ERR?\n"
STATE_COMMAND = "*ESR?;OPER?;OUT?;ERR?"


def out_reply(amplitude: bytes) -> bytes:
    return amplitude + b",V,0.000000E+00,0,0.00E+00\n"


def state_reply(esr: bytes = b"0", oper: bytes | None = b"1", amplitude: bytes = b"1.000000E+01",
                err: bytes = b'0,"No Error"') -> bytes:
    """The calibrator's one reply to `STATE` (``oper=None``: to `STATE_WITHOUT_OPER`)."""
    parts = [esr, *([] if oper is None else [oper]), out_reply(amplitude)[:-1], err]
    return b";".join(parts) + b"\n"


def programmed(value: bytes = b"10") -> list[tuple[bytes, bytes | None]]:
    return [(b"OUT " + value + b" V\n", None), NO_ERROR, (b"OPER\n", None), NO_ERROR]


# -- strict replies, exact bytes -------------------------------------------------


@pytest.mark.parametrize("reply", [b"4096.0", b"+4096", b"0x1000", b"65536", b" 4096", b"4096 ", b"", b"-1",
                                   b"40960000"])
def test_isr_reply_must_be_an_integer_0_to_65535(reply):
    with expected_protocol(Fluke5522A, [(b"ISR?\n", reply + b"\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'ISR\\?' failed: reply .* is not an integer 0..65535"):
            cal.status()


@pytest.mark.parametrize("reply", [b"", b"2", b"10", b"1 ", b"ON", b"1.0"])
def test_oper_reply_must_be_0_or_1(reply):
    with expected_protocol(Fluke5522A, [(b"OPER?\n", reply + b"\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'OPER\\?' failed"):
            _ = cal.operating


@pytest.mark.parametrize(
    "reply",
    [b"1.000000E+01", b"1.000000E+01,V", b"1.000000E+0,V,0.000000E+00,0,0.00E+00", b"10,V,0,0,0",
     b"1.000000E+01,V,0.000000E+00,0,0.00E+00,", b"1.00000", b"1.000000E+01,v,0.000000E+00,0,0.00E+00", b""],
)
def test_out_reply_must_have_its_five_fields(reply):
    with expected_protocol(Fluke5522A, [(b"OUT?\n", reply + b"\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'OUT\\?' failed"):
            _ = cal.output


def test_out_in_another_unit_is_not_a_voltage():
    with expected_protocol(Fluke5522A, [(b"OUT?\n", b"1.000000E-03,A,0.000000E+00,0,0.00E+00\n")],
                           name="calibrator") as cal:
        with pytest.raises(InstrumentError, match="calibrator: command 'OUT\\?' failed: the output is in A"):
            _ = cal.output


@pytest.mark.parametrize("reply", [b"0", b'0,No Error', b'0,"No Error', b'x,"No Error"', b'0;"No Error"',
                                   b'0,"No Error" ', b'10000,"x"'])
def test_err_reply_must_be_code_comma_quoted_text(reply):
    with expected_protocol(Fluke5522A, [(b"STBY\n", None), (b"ERR?\n", reply + b"\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'ERR\\?' failed: reply .* is not <code>"):
            cal.standby()


# -- confirm_state, exact bytes --------------------------------------------------


def test_the_calibrator_is_self_checking():
    with expected_protocol(Fluke5522A, []) as cal:
        assert isinstance(cal, SelfChecking)


def test_confirm_state_before_set_output_reads_only_the_error_queue():
    with expected_protocol(Fluke5522A, [(b"*CLS\n", None), (b"STBY\n", None), NO_ERROR, NO_ERROR]) as cal:
        cal.initialize()
        cal.confirm_state()


def test_confirm_state_is_one_exchange():
    pairs = [*programmed(),
             (b"*ESR?;OPER?;OUT?;ERR?\n", b'0;1;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"\n')]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        cal.confirm_state()


def test_confirm_state_takes_the_rs232_cr_lf_reply():
    pairs = [(b"OUT 10 V\n", None), NO_ERROR, (b"STBY\n", None), NO_ERROR,
             (STATE, state_reply(oper=b"0")[:-1] + b"\r\n")]
    with expected_protocol(Fluke5522A, pairs, serial=True) as cal:
        cal.set_output(DCV, 10.0)
        cal.standby()
        cal.confirm_state()


@pytest.mark.parametrize(
    ("value", "sent", "reported"),
    [(0.0, b"0", b"0.000000E+00"), (-1.5e-6, b"-1.5E-06", b"-1.500000E-06"), (0.1, b"0.1", b"1.000000E-01"),
     (1.23456789, b"1.23456789", b"1.234568E+00"),  # the calibrator reports 7 figures
     (1020.0, b"1020", b"1.020000E+03")],
)
def test_confirm_state_compares_the_output_as_the_calibrator_reports_it(value, sent, reported):
    pairs = [(b"OUT " + sent + b" V\n", None), NO_ERROR, (b"STBY\n", None), NO_ERROR,
             (STATE, state_reply(oper=b"0", amplitude=reported))]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, value)
        cal.standby()
        cal.confirm_state()


@pytest.mark.parametrize("reported", [b"1.900000E+01", b"1.000002E+01", b"-1.000000E+01", b"1.000000E+00"])
def test_confirm_state_sees_another_output(reported):
    pairs = [*programmed(), (STATE, state_reply(amplitude=reported))]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError) as err:
            cal.confirm_state()
    message = str(err.value)
    assert message.startswith(f"calibrator: command 'OUT?' failed: the output is {float(reported):.9g} V, "
                              "not 10 V as programmed; the point's readings are invalid")
    assert "\n" not in message


def test_confirm_state_sees_another_unit():
    pairs = [*programmed(), (STATE, b'0;1;1.000000E+01,A,0.000000E+00,0,0.00E+00;0,"No Error"\n')]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command 'OUT\\?' failed: the output is 10 A, not 10 V"):
            cal.confirm_state()


def test_confirm_state_sees_standby():
    pairs = [*programmed(), (STATE, state_reply(oper=b"0"))]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command 'OPER\\?' failed: the output is in standby, "
                                                  "not in operate as commanded"):
            cal.confirm_state()


def test_confirm_state_sees_a_power_cycle():
    pairs = [*programmed(), (STATE, state_reply(esr=b"128", oper=b"0", amplitude=b"0.000000E+00"))]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command '\\*ESR\\?' failed: the calibrator was "
                                                  "switched off and on \\(PON\\)"):
            cal.confirm_state()


def test_confirm_state_sees_a_queued_error_and_drains_the_queue():
    pairs = [*programmed(), (STATE, state_reply(err=b'104,"Hardware relay trip occurred"')),
             (b"ERR?\n", b'1302,"Unknown command"\n'), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command 'ERR\\?' failed: error 104: Hardware relay"):
            cal.confirm_state()


def test_confirm_state_takes_an_error_text_holding_a_semicolon():
    pairs = [*programmed(), (STATE, state_reply(err=b'104,"Relay trip; output off"')), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError) as err:
            cal.confirm_state()
    assert str(err.value).startswith("calibrator: command 'ERR?' failed: error 104: Relay trip; output off (")


def test_confirm_state_expects_the_standby_the_calibrator_goes_to_above_33_v():
    pairs = [*programmed(), (b"OUT 100 V\n", None), NO_ERROR,
             (STATE, state_reply(oper=b"0", amplitude=b"1.000000E+02"))]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        cal.set_output(DCV, 100.0)  # the calibrator's safety rule: standby
        cal.confirm_state()


def test_confirm_state_leaves_oper_out_while_the_operate_state_is_unknown():
    pairs = [(b"OPER\n", None), NO_ERROR, (b"OUT 100 V\n", None), NO_ERROR,
             (b"*ESR?;OUT?;ERR?\n", b'0;1.000000E+02,V,0.000000E+00,0,0.00E+00;0,"No Error"\n')]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.operate()
        cal.set_output(DCV, 100.0)  # standby or not depends on an output never programmed here
        cal.confirm_state()


def test_confirm_state_after_safe_state_expects_standby_at_zero():
    pairs = [*programmed(), (b"STBY\n", None), NO_ERROR, (b"OUT 0 V\n", None), NO_ERROR,
             (STATE, state_reply(oper=b"0", amplitude=b"0.000000E+00"))]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        cal.safe_state()
        cal.confirm_state()


OUT_10 = b"1.000000E+01,V,0.000000E+00,0,0.00E+00"


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b"", "has 1 part(s) separated by ';', not 4"),
        (b"0;1;" + OUT_10, "has 3 part(s)"),  # ERR? unanswered
        (b'0;1;0,"No Error"', "has 3 part(s)"),  # OUT? unanswered
        (b"0,1," + OUT_10 + b',0,"No Error"', "has 1 part(s)"),  # another separator
        (b"0;1;" + OUT_10 + b';0,"No Error";0,"No Error"', "to ERR? is not <code>"),  # a reply too many
        (b"0;1;" + OUT_10 + b';0,"No Error";', "to ERR? is not <code>"),
        (b"0;1;" + OUT_10 + b';0,"No Error', "to ERR? is not <code>"),  # cut short
        (b"0;1;" + OUT_10 + b';0,"No Error" ', "to ERR? is not <code>"),
        (b"0;1;1.000000E+01,V,0.0000;0,\"No Error\"", "to OUT? is not <amplitude>"),
        (b"0;1;1.000000E+01;0,\"No Error\"", "to OUT? is not <amplitude>"),
        (b"0;1;1.000000E+01,V,0.000000E+00;0,0.00E+00;0,\"No Error\"", "to OUT? is not <amplitude>"),
        (b"0;2;" + OUT_10 + b';0,"No Error"', "to OPER? is not 0 or 1"),
        (b"0; 1;" + OUT_10 + b';0,"No Error"', "to OPER? is not 0 or 1"),
        (b"256;1;" + OUT_10 + b';0,"No Error"', "to *ESR? is not an integer 0..255"),
        (b"x;1;" + OUT_10 + b';0,"No Error"', "to *ESR? is not an integer 0..255"),
        (b"128;1;1.0000;0,\"No Error\"", "to OUT?"),  # garbled: the PON it shows is not believed either
    ],
)
def test_confirm_state_refuses_a_compound_reply_not_exactly_as_asked(reply, says):
    pairs = [*programmed(), (STATE, reply + b"\n")]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(GarbledReply) as err:
            cal.confirm_state()
    message = str(err.value)
    assert message.startswith("calibrator: command '*ESR?;OPER?;OUT?;ERR?' failed: reply ")
    assert says in message and "\n" not in message


# -- property tests: every parser, arbitrary replies ---------------------------------

NR3 = r"[+-]?[0-9]\.[0-9]{1,14}E[+-][0-9]{2}"
MANUAL_ERR_FORMAT = re.compile(r'[+-]?[0-9]{1,4},"[ !#-~]*"')
MANUAL_OUT_FORMAT = re.compile(rf"{NR3},[A-Z]+,{NR3},([A-Z]+|0),{NR3}")


@PROPERTY
@given(replies(st.integers(0, 70000).map(str)))
def test_isr_parser(reply):
    with expected_protocol(Fluke5522A, [(b"ISR?\n", wire(reply))]) as cal:
        try:
            value = cal.status()
        except CalstationError:
            assert not (reply.isascii() and reply.isdigit() and len(reply) <= 5 and int(reply) <= 65535)
        else:
            assert reply.isascii() and reply.isdigit() and value == int(reply) <= 65535


@PROPERTY
@given(replies(st.sampled_from(["0", "1"])))
def test_oper_parser(reply):
    with expected_protocol(Fluke5522A, [(b"OPER?\n", wire(reply))]) as cal:
        try:
            operating = cal.operating
        except CalstationError:
            assert reply not in ("0", "1")
        else:
            assert reply in ("0", "1") and operating is (reply == "1")


@PROPERTY
@given(replies(st.builds("{:.6E},{},0.000000E+00,0,0.00E+00".format,
                         st.floats(-1100, 1100, allow_nan=False), st.sampled_from(["V", "V", "A"])), max_size=60))
def test_out_parser(reply):
    with expected_protocol(Fluke5522A, [(b"OUT?\n", wire(reply))]) as cal:
        try:
            value = cal.output
        except CalstationError:
            assert not MANUAL_OUT_FORMAT.fullmatch(reply) or reply.split(",")[1] != "V"
        else:
            assert MANUAL_OUT_FORMAT.fullmatch(reply) and reply.split(",")[1] == "V"
            assert value == float(reply.split(",")[0])


@PROPERTY
@given(replies(st.from_regex(r'[+-]?[0-9]{1,4},"[ !#-~]{0,30}"', fullmatch=True), max_size=50))
def test_err_parser(reply):
    transport = AnsweringTransport({"ERR?": [wire(reply)]}, {"ERR?": b'0,"No Error"\n'}, name="calibrator")
    cal = Fluke5522A(transport, VirtualClock())
    well_formed = MANUAL_ERR_FORMAT.fullmatch(reply) is not None
    try:
        cal.check_errors("X")
    except GarbledReply:
        assert not well_formed
    except InstrumentError as e:
        code = int(reply.partition(",")[0])
        assert well_formed and code != 0
        assert str(e).startswith(f"calibrator: command 'X' failed: error {code}: ")
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from the error queue")
    else:
        assert well_formed and int(reply.partition(",")[0]) == 0


@PROPERTY
@given(st.floats(-1020, 1020, allow_nan=False).filter(lambda v: v == 0 or abs(v) >= 1e-20), st.data())
def test_confirm_state_passes_only_when_out_reports_the_programmed_value(value, data):
    amplitude = data.draw(replies(st.just(f"{value:.6E}"), max_size=16))
    reply = f'0;{amplitude},V,0.000000E+00,0,0.00E+00;0,"No Error"'
    transport = AnsweringTransport({"*ESR?;OUT?;ERR?": [wire(reply)]}, {"ERR?": b'0,"No Error"\n'})
    cal = Fluke5522A(transport, VirtualClock())
    cal.set_output(DCV, value)  # operate state unknown: OPER? is left out
    try:
        cal.confirm_state()
    except CalstationError:
        assert amplitude != f"{value:.6E}"  # the calibrator's own report of the value always passes
    else:
        assert MANUAL_OUT_FORMAT.fullmatch(reply.split(";")[1])
        assert float(amplitude) == pytest.approx(value, rel=1e-6, abs=1e-12)
    assert transport.sent[-1] == "*ESR?;OUT?;ERR?"


MANUAL_ESR_FORMAT = re.compile(r"[+-]?[0-9]{1,3}")
#: Well-formed parts, the calibrator as programmed (10 V, operate) often enough.
ESR_REPLIES = st.one_of(st.just("0"), st.just("0"), st.sampled_from(["128", "32", "160"]), st.integers(0, 300).map(str))
OPER_REPLIES = st.sampled_from(["1", "1", "1", "0"])
OUT_REPLIES = st.one_of(st.just("1.000000E+01,V,0.000000E+00,0,0.00E+00"),
                        st.builds("{:.6E},{},0.000000E+00,0,0.00E+00".format,
                                  st.sampled_from([10.0, 19.0, 10.00002, -10.0]), st.sampled_from(["V", "A"])))
ERR_REPLIES = st.one_of(st.just('0,"No Error"'), st.just('0,"No Error"'),
                        st.sampled_from(['104,"Hardware relay trip occurred"', '1302,"a;b"']),
                        st.from_regex(r'[+-]?[0-9]{1,4},"[ !#-~]{0,20}"', fullmatch=True))


def expected_state_outcome(reply: str, with_oper: bool) -> str | None:
    """What `confirm_state` must do with ``reply``, by the manual's formats,
    for an output programmed to 10 V in operate: "garbled", the command a
    check names, or None (passes)."""
    count = 4 if with_oper else 3
    parts = reply.split(";", count - 1)
    if len(parts) != count:
        return "garbled"
    esr, out, err = parts[0], parts[-2], parts[-1]
    oper = parts[1] if with_oper else "1"
    if not (MANUAL_ESR_FORMAT.fullmatch(esr) and 0 <= int(esr) <= 255 and oper in ("0", "1")
            and MANUAL_OUT_FORMAT.fullmatch(out) and MANUAL_ERR_FORMAT.fullmatch(err)):
        return "garbled"
    if int(esr) & 128:
        return "*ESR?"
    if oper != "1":
        return "OPER?"
    amplitude, unit = out.split(",")[:2]
    if unit != "V" or abs(float(amplitude) - 10.0) > 10.0 * 1e-6 + 1e-12:
        return "OUT?"
    if int(err.partition(",")[0]) != 0:
        return "ERR?"
    return None


@PROPERTY
@given(st.booleans(), st.data())
def test_compound_state_reply_parser(with_oper, data):
    """Arbitrary replies to the compound query: the calibrator passes only
    for an exactly well-formed reply saying so, a check fails only on a
    well-formed reply, and anything else is a `GarbledReply`."""
    valid_parts = [ESR_REPLIES, *([OPER_REPLIES] if with_oper else []), OUT_REPLIES, ERR_REPLIES]
    whole = st.tuples(*valid_parts).map(";".join)
    each = st.tuples(*(replies(p, max_size=50) for p in valid_parts)).map(";".join)
    reply = data.draw(st.one_of(replies(whole, max_size=120), each))
    command = "*ESR?;OPER?;OUT?;ERR?" if with_oper else "*ESR?;OUT?;ERR?"
    transport = AnsweringTransport({command: [wire(reply)]}, {"ERR?": b'0,"No Error"\n'}, name="calibrator")
    cal = Fluke5522A(transport, VirtualClock())
    if with_oper:
        cal.operate()
        cal.set_output(DCV, 10.0)
    else:
        cal.set_output(DCV, 10.0)
    assert cal._operating is (True if with_oper else None)
    expected = expected_state_outcome(reply, with_oper)
    try:
        cal.confirm_state()
    except GarbledReply as e:
        assert expected == "garbled" and e.command == command
    except InstrumentError as e:
        assert expected == e.command
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from confirm_state")
    else:
        assert expected is None
    assert transport.sent.count(command) == 1


# -- the simulator --------------------------------------------------------------------


def test_simulator_refuses_numbers_beyond_the_exponents_it_parses():
    sim = Sim5522A()
    sim.handle("OUT 7.5E-118 V;OUT 1E21 V")
    assert sim.output_value == 0.0
    assert sim.handle("ERR?;ERR?;ERR?") == '1310,"Bad number";1310,"Bad number";0,"No Error"'
    sim.handle("OUT 1E-20 V")
    assert sim.handle("OUT?") == "1.000000E-20,V,0.000000E+00,0,0.00E+00"


def test_power_cycle_puts_the_calibrator_in_standby_at_zero_locally_with_pon():
    sim = Sim5522A()
    sim.handle("REMOTE;OUT 10 V;OPER;FROB")
    stream = sim.stream()
    assert stream.feed(b"OUT 2") == b""  # a partial line, then the power goes
    sim.power_cycle()
    assert (sim.operating, sim.output_value, sim.remote) == (False, 0.0, False)
    assert sim.terminal_voltage() == 0.0 and not sim.errors
    assert stream.feed(b"0 V\n") == b""  # '0 V' alone: the partial 'OUT 2' was forgotten
    assert sim.output_value == 0.0
    assert sim.handle("*ESR?;*ESR?;ERR?;ERR?") == '160;0;1302,"Unknown command";0,"No Error"'


def test_simulator_answers_the_compound_state_query_in_one_reply():
    sim = Sim5522A()
    sim.handle("OUT 10 V;OPER")
    assert sim.handle("*ESR?;OPER?;OUT?;ERR?") == '0;1;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"'
    assert sim.handle("*ESR?;OUT?;ERR?") == '0;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"'
    sim.push_error(104, "Relay trip; output off")
    sim.power_cycle()
    sim.push_error(104, "Relay trip; output off")
    assert sim.handle("*ESR?;OPER?;OUT?;ERR?") == ('128;0;0.000000E+00,V,0.000000E+00,0,0.00E+00;'
                                                  '104,"Relay trip; output off"')
    assert (sim.handle("*ESR?;OPER?;OUT?;ERR?") or "").startswith("0;0;")  # *ESR? read clears it


# -- the driver against its simulator, with faults, over every transport ---------------


def calibrator(r: Reached, timeout_s: float = 2.0) -> Fluke5522A:
    return Fluke5522A(r.open("calibrator", timeout_s), r.bench.clock)


def test_confirm_state_passes_on_an_undisturbed_calibrator(reached: Reached):
    cal = calibrator(reached)
    cal.initialize()
    cal.confirm_state()
    for value in (0.0, 10.0, -0.1, 1.000001, 100.0, 1020.0, -1.5e-6):
        cal.set_output(DCV, value)
        cal.operate()
        cal.wait_settled(5.0)
        cal.confirm_state()
    cal.safe_state()
    cal.confirm_state()


def test_confirm_state_is_one_message_and_one_reply(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    cal.set_output(DCV, 10.0)
    cal.operate()
    before = len(reached.log.entries())
    received = len(sim.received)
    cal.confirm_state()
    assert list(sim.received)[received:] == ["*ESR?;OPER?;OUT?;ERR?"]
    assert [(e.instrument, e.direction, e.data) for e in reached.log.entries()[before:]] == [
        ("calibrator", "tx", b"*ESR?;OPER?;OUT?;ERR?\n"),
        ("calibrator", "rx", b'0;1;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"\n')]


@pytest.mark.parametrize("fault", ["garble", "truncate, termination kept"])
def test_garbled_or_truncated_state_replies_are_refused(reached: Reached, fault):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    cal.set_output(DCV, 10.0)
    cal.operate()
    rng = np.random.default_rng(6)
    sim.line_fault = faults.garble(rng, 1.0) if fault == "garble" else faults.truncate(rng, 1.0, keep_termination=True)
    for _ in range(5):
        with pytest.raises(GarbledReply, match="calibrator: command '\\*ESR\\?;OPER\\?;OUT\\?;ERR\\?' failed: reply"):
            cal.confirm_state()
    sim.line_fault = None
    cal.confirm_state()


def test_power_cycle_while_programming_is_caught(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    cal.initialize()
    cal.set_output(DCV, 10.0)
    sim.line_fault = faults.once(faults.when(b"OPER", sim.power_cycle))
    cal.operate()  # the power goes just before OPER: operating, but at 0 V
    assert sim.operating and sim.output_value == 0.0
    with pytest.raises(InstrumentError) as err:
        cal.confirm_state()
    assert str(err.value).startswith("calibrator: command '*ESR?' failed: the calibrator was switched off and on")


def test_a_queued_error_is_caught(reached: Reached):
    cal = calibrator(reached)
    cal.set_output(DCV, 1.0)
    cal.operate()
    reached.bench.calibrator.push_error(104, "Hardware relay trip occurred")
    with pytest.raises(InstrumentError, match="calibrator: command 'ERR\\?' failed: error 104: Hardware relay trip"):
        cal.confirm_state()
    assert not reached.bench.calibrator.errors


def test_a_corrupted_out_command_is_caught(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    corruption = faults.once(faults.substitute(b"OUT 10 V", b"OUT 19 V"))
    sim.line_fault = corruption
    cal.set_output(DCV, 10.0)  # accepted without an error: 19 V is a valid output
    cal.operate()
    assert corruption.fired == 1 and sim.output_value == 19.0
    with pytest.raises(InstrumentError) as err:
        cal.confirm_state()
    assert str(err.value).startswith("calibrator: command 'OUT?' failed: the output is 19 V, not 10 V as programmed")


def test_link_down_is_a_one_line_transport_error_and_safe_state_works_again_after(reached: Reached):
    cal = calibrator(reached, timeout_s=0.2)
    sim = reached.bench.calibrator
    cal.set_output(DCV, 10.0)
    cal.operate()
    sim.link_down = True
    with pytest.raises(TransportError) as err:
        cal.safe_state()  # both steps tried, the first failure raised
    message = str(err.value)
    assert message.startswith("calibrator: ") and "\n" not in message
    assert "'STBY'" in message or "'ERR?'" in message  # TCP and serial writes may succeed: the reply fails
    assert sim.operating  # nothing reached it
    sim.link_down = False
    if reached.kind == "tcp":  # the connection was reset: open a new one
        cal = calibrator(reached)
    cal.safe_state()
    assert not sim.operating and sim.output_value == 0.0
    cal.confirm_state()
