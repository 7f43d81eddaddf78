"""Fluke 5522A: strict replies, `confirm_state`, and the driver against its
simulator under injected faults (in process, over TCP and a
pseudo-terminal)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.clock import VirtualClock
from drivers.errors import CalstationError, GarbledReply, InstrumentError, TransportError
from drivers.fluke.f5522a import Fluke5522A
from drivers.roles import Function, SelfChecking
from drivers.sim import faults
from drivers.sim.fluke5522a import Sim5522A
from tests.drivers.conftest import Reached
from tests.drivers.protocol import AnsweringTransport, expected_protocol
from tests.drivers.strategies import PROPERTY, replies, wire

DCV = Function.DCV
NO_ERROR = (b"ERR?\n", b'0,"No Error"\n')
ESR_CLEAR = (b"*ESR?\n", b"0\n")


def out_reply(amplitude: bytes) -> bytes:
    return amplitude + b",V,0.000000E+00,0,0.00E+00\n"


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


def test_confirm_state_costs_four_exchanges():
    pairs = [*programmed(), ESR_CLEAR, (b"OPER?\n", b"1\n"), (b"OUT?\n", out_reply(b"1.000000E+01")), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        cal.confirm_state()


@pytest.mark.parametrize(
    ("value", "sent", "reported"),
    [(0.0, b"0", b"0.000000E+00"), (-1.5e-6, b"-1.5E-06", b"-1.500000E-06"), (0.1, b"0.1", b"1.000000E-01"),
     (1.23456789, b"1.23456789", b"1.234568E+00"),  # the calibrator reports 7 figures
     (1020.0, b"1020", b"1.020000E+03")],
)
def test_confirm_state_compares_the_output_as_the_calibrator_reports_it(value, sent, reported):
    pairs = [(b"OUT " + sent + b" V\n", None), NO_ERROR, (b"STBY\n", None), NO_ERROR,
             ESR_CLEAR, (b"OPER?\n", b"0\n"), (b"OUT?\n", out_reply(reported)), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, value)
        cal.standby()
        cal.confirm_state()


@pytest.mark.parametrize("reported", [b"1.900000E+01", b"1.000002E+01", b"-1.000000E+01", b"1.000000E+00"])
def test_confirm_state_sees_another_output(reported):
    pairs = [*programmed(), ESR_CLEAR, (b"OPER?\n", b"1\n"), (b"OUT?\n", out_reply(reported))]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError) as err:
            cal.confirm_state()
    message = str(err.value)
    assert message.startswith(f"calibrator: command 'OUT?' failed: the output is {float(reported):.9g} V, "
                              "not 10 V as programmed; the point's readings are invalid")
    assert "\n" not in message


def test_confirm_state_sees_standby():
    pairs = [*programmed(), ESR_CLEAR, (b"OPER?\n", b"0\n")]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command 'OPER\\?' failed: the output is in standby, "
                                                  "not in operate as commanded"):
            cal.confirm_state()


def test_confirm_state_sees_a_power_cycle():
    with expected_protocol(Fluke5522A, [*programmed(), (b"*ESR?\n", b"128\n")], name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command '\\*ESR\\?' failed: the calibrator was "
                                                  "switched off and on \\(PON\\)"):
            cal.confirm_state()


def test_confirm_state_sees_a_queued_error():
    pairs = [*programmed(), ESR_CLEAR, (b"OPER?\n", b"1\n"), (b"OUT?\n", out_reply(b"1.000000E+01")),
             (b"ERR?\n", b'104,"Hardware relay trip occurred"\n'), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command 'ERR\\?' failed: error 104: Hardware relay"):
            cal.confirm_state()


def test_confirm_state_expects_the_standby_the_calibrator_goes_to_above_33_v():
    pairs = [*programmed(), (b"OUT 100 V\n", None), NO_ERROR,
             ESR_CLEAR, (b"OPER?\n", b"0\n"), (b"OUT?\n", out_reply(b"1.000000E+02")), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        cal.set_output(DCV, 100.0)  # the calibrator's safety rule: standby
        cal.confirm_state()


def test_confirm_state_after_safe_state_expects_standby_at_zero():
    pairs = [*programmed(), (b"STBY\n", None), NO_ERROR, (b"OUT 0 V\n", None), NO_ERROR,
             ESR_CLEAR, (b"OPER?\n", b"0\n"), (b"OUT?\n", out_reply(b"0.000000E+00")), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, 10.0)
        cal.operate()
        cal.safe_state()
        cal.confirm_state()


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
    reply = amplitude + ",V,0.000000E+00,0,0.00E+00"
    transport = AnsweringTransport({"OUT?": [wire(reply)]},
                                   {"*ESR?": b"0\n", "OPER?": b"0\n", "ERR?": b'0,"No Error"\n'})
    cal = Fluke5522A(transport, VirtualClock())
    cal.set_output(DCV, value)
    try:
        cal.confirm_state()
    except CalstationError:
        assert amplitude != f"{value:.6E}"  # the calibrator's own report of the value always passes
    else:
        assert MANUAL_OUT_FORMAT.fullmatch(reply)
        assert float(amplitude) == pytest.approx(value, rel=1e-6, abs=1e-12)


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
