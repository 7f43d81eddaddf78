"""Fluke 5522A: the exact bytes of every function, strict replies,
`confirm_state`, its simulator, and the driver against its simulator under
injected faults (in process, over TCP and a pseudo-terminal)."""

from __future__ import annotations

import re
import time

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
from drivers.fluke.f5522a import Fluke5522A, sheet
from drivers.fluke.f5522a_sim import Sim5522A
from drivers.roles import Function, SelfChecking, Source
from drivers.sim import faults
from drivers.sim.bench import SimBench
from drivers.transport import open_transport
from tests.drivers.conftest import Reached
from tests.drivers.protocol import AnsweringTransport, expected_protocol
from tests.drivers.strategies import PROPERTY, replies, wire

DCV, DCI, ACV, R2W, R4W = Function.DCV, Function.DCI, Function.ACV, Function.R2W, Function.R4W
NO_ERROR = (b"ERR?\n", b'0,"No Error"\n')
#: `confirm_state`'s one compound query, the same without ``OPER?``
#: (operate state unknown), and for resistance.
STATE = b"*ESR?;OPER?;OUT?;ERR?\n"
STATE_WITHOUT_OPER = b"*ESR?;OUT?;ERR?\n"
STATE_COMMAND = "*ESR?;OPER?;OUT?;ERR?"
OHMS_STATE = b"*ESR?;OPER?;OUT?;ZCOMP?;ERR?\n"
OHMS_STATE_COMMAND = "*ESR?;OPER?;OUT?;ZCOMP?;ERR?"


def out_reply(amplitude: bytes, unit: bytes = b"V", frequency: bytes = b"0.00E+00") -> bytes:
    return amplitude + b"," + unit + b",0.000000E+00,0," + frequency + b"\n"


def state_reply(esr: bytes = b"0", oper: bytes | None = b"1", amplitude: bytes = b"1.000000E+01",
                err: bytes = b'0,"No Error"', unit: bytes = b"V", frequency: bytes = b"0.00E+00",
                zcomp: bytes | None = None) -> bytes:
    """The calibrator's one reply to `STATE` (``oper=None``: to `STATE_WITHOUT_OPER`;
    ``zcomp``: to `OHMS_STATE`)."""
    parts = [esr, *([] if oper is None else [oper]), out_reply(amplitude, unit, frequency)[:-1],
             *([] if zcomp is None else [zcomp]), err]
    return b";".join(parts) + b"\n"


def programmed(value: bytes = b"10") -> list[tuple[bytes, bytes | None]]:
    return [(b"OUT " + value + b" V\n", None), NO_ERROR, (b"OPER\n", None), NO_ERROR]


# -- Source: exact bytes ----------------------------------------------------------------


def test_identify():
    with expected_protocol(Fluke5522A, [(b"*IDN?\n", b"FLUKE,5522A,1234567,1.4\n")]) as cal:
        ident = cal.identify()
    assert (ident.manufacturer, ident.model, ident.serial) == ("FLUKE", "5522A", "1234567")
    assert ident.matches(Fluke5522A.manufacturers, Fluke5522A.models)


def test_the_calibrator_is_a_self_checking_source_of_five_functions():
    with expected_protocol(Fluke5522A, []) as cal:
        assert isinstance(cal, Source) and isinstance(cal, SelfChecking)
        assert set(cal.functions) == {DCV, DCI, ACV, R2W, R4W}


def test_initialize_on_gpib_does_not_send_remote_or_reset():
    with expected_protocol(Fluke5522A, [(b"*CLS\n", None), (b"STBY\n", None), NO_ERROR]) as cal:
        cal.initialize()


def test_initialize_on_serial_sends_remote_first():
    with expected_protocol(Fluke5522A, [(b"*CLS\n", None), (b"REMOTE\n", None), NO_ERROR, (b"STBY\n", None), NO_ERROR],
                           serial=True) as cal:
        cal.initialize()


def test_output_limits_are_the_datasheets():
    with expected_protocol(Fluke5522A, []) as cal:
        assert cal.output_limits(DCV) == (-1020.0, 1020.0)
        assert cal.output_limits(DCI) == (-2.99999, 2.99999)  # the AUX terminal
        assert cal.output_limits(ACV) == (1e-3, 1020.0)
        assert cal.output_limits(R2W) == cal.output_limits(R4W) == (0.0, 1.1e9)
        for f in (DCV, DCI, ACV, R2W, R4W):
            assert cal.output_limits(f) == sheet().function(f).limits
        with pytest.raises(InstrumentError, match="function ACI is not supported by this driver"):
            cal.output_limits(Function.ACI)


@pytest.mark.parametrize(
    ("function", "value", "frequency", "sent"),
    [
        (DCV, 10.0, 0.0, [b"OUT 10 V\n"]),
        (DCV, -5, 0.0, [b"OUT -5 V\n"]),
        (DCV, 0.1, 0.0, [b"OUT 0.1 V\n"]),
        (DCV, 1.000001, 0.0, [b"OUT 1.000001 V\n"]),
        (DCV, -1.5e-6, 0.0, [b"OUT -1.5E-06 V\n"]),
        (DCV, 1020.0, 0.0, [b"OUT 1020 V\n"]),
        (DCI, 0.1, 0.0, [b"OUT 0.1 A\n"]),
        (DCI, -2.5, 0.0, [b"OUT -2.5 A\n"]),
        (DCI, 1e-5, 0.0, [b"OUT 1E-05 A\n"]),
        (ACV, 1.0, 1000.0, [b"OUT 1 V, 1000 HZ\n"]),
        (ACV, 0.01, 50.5, [b"OUT 0.01 V, 50.5 HZ\n"]),
        (ACV, 750.0, 1e3, [b"OUT 750 V, 1000 HZ\n"]),
        (R2W, 100.0, 0.0, [b"OUT 100 OHM\n", b"ZCOMP WIRE2\n"]),
        (R4W, 1e6, 0.0, [b"OUT 1000000 OHM\n", b"ZCOMP WIRE4\n"]),
        (R4W, 0.0, 0.0, [b"OUT 0 OHM\n", b"ZCOMP WIRE4\n"]),
    ],
)
def test_set_output_sends_the_exact_value_in_the_functions_unit(function, value, frequency, sent):
    pairs = [p for command in sent for p in ((command, None), NO_ERROR)]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(function, value, frequency)


@pytest.mark.parametrize(
    ("function", "value", "frequency", "says"),
    [
        (DCV, 1100.0, 0.0, "'OUT 1100 V' failed: 1100 V is outside the output limits -1020 V to 1020 V"),
        (DCI, 3.0, 0.0, "'OUT 3 A' failed: 3 A is outside the output limits"),
        (DCI, -5.0, 0.0, "'OUT -5 A' failed"),
        (ACV, -1.0, 1000.0, "'OUT -1 V, 1000 HZ' failed: -1 V is outside"),
        (ACV, 0.0, 1000.0, "0 V is outside the output limits 0.001 V"),
        (ACV, 1.0, 0.0, "'OUT 1 V, 0 HZ' failed: 0 Hz is outside the calibrator's band 10 Hz to 500000 Hz"),
        (ACV, 1.0, 1e6, "1e\\+06 Hz is outside the calibrator's band"),
        (DCV, 1.0, 60.0, "'OUT 1 V' failed: DCV takes no frequency \\(got 60 Hz\\)"),
        (R2W, -1.0, 0.0, "'OUT -1 OHM' failed: -1 Ohm is outside the output limits 0 Ohm"),
        (R4W, 2e9, 0.0, "2e\\+09 Ohm is outside"),
        (R4W, 100.0, 50.0, "R4W takes no frequency"),
        (Function.ACI, 1e-3, 1000.0, "function ACI is not supported"),
    ],
)
def test_set_output_refuses_what_the_calibrator_cannot_give_without_sending(function, value, frequency, says):
    with expected_protocol(Fluke5522A, [], name="calibrator") as cal:
        with pytest.raises(InstrumentError, match=says) as err:
            cal.set_output(function, value, frequency)
    assert str(err.value).startswith("calibrator: command 'OUT ") and "\n" not in str(err.value)


def test_operate_and_standby():
    with expected_protocol(Fluke5522A, [(b"OPER\n", None), NO_ERROR, (b"STBY\n", None), NO_ERROR]) as cal:
        cal.operate()
        cal.standby()


def test_error_names_instrument_command_and_message_and_drains_queue():
    pairs = [(b"OUT 10 V\n", None), (b"ERR?\n", b'537,"Entry exceeds limits"\n'),
             (b"ERR?\n", b'1302,"Unknown command"\n'), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        with pytest.raises(InstrumentError) as err:
            cal.set_output(DCV, 10.0)
    message = str(err.value)
    assert "calibrator" in message and "'OUT 10 V'" in message and "Entry exceeds limits" in message
    assert "\n" not in message
    assert err.value.command == "OUT 10 V"


def test_a_refused_compensation_names_the_zcomp_command():
    pairs = [(b"OUT 10000000 OHM\n", None), NO_ERROR, (b"ZCOMP WIRE4\n", None),
             (b"ERR?\n", b'537,"Entry exceeds limits"\n'), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        with pytest.raises(InstrumentError, match="calibrator: command 'ZCOMP WIRE4' failed: error 537"):
            cal.set_output(R4W, 1e7)


def test_wait_settled_polls_isr_every_50_ms_of_bench_time():
    clock = VirtualClock()
    with expected_protocol(Fluke5522A, [(b"ISR?\n", b"1\n"), (b"ISR?\n", b"1\n"), (b"ISR?\n", b"4097\n")],
                           clock=clock) as cal:
        cal.wait_settled(timeout_s=5.0)
    assert clock.now() == pytest.approx(0.10)


def test_wait_settled_times_out_on_the_bench_clock():
    clock = VirtualClock()
    with expected_protocol(Fluke5522A, [(b"ISR?\n", b"1\n")] * 21, clock=clock, name="calibrator") as cal:
        with pytest.raises(InstrumentTimeout, match=r"calibrator: output not settled .* within 1 s"):
            cal.wait_settled(timeout_s=1.0)
    assert clock.now() == pytest.approx(1.0)


def test_safe_state_is_standby_then_zero_volts_whatever_the_function():
    pairs = [(b"OUT 0.5 A\n", None), NO_ERROR, (b"STBY\n", None), NO_ERROR, (b"OUT 0 V\n", None), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCI, 0.5)
        cal.safe_state()


def test_safe_state_sets_zero_even_if_standby_fails_then_raises_the_first_error():
    pairs = [(b"STBY\n", None), (b"ERR?\n", b'104,"Hardware relay trip occurred"\n'), NO_ERROR,
             (b"OUT 0 V\n", None), NO_ERROR]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        with pytest.raises(InstrumentError, match="'STBY'.*Hardware relay trip"):
            cal.safe_state()


def test_readback_queries():
    pairs = [(b"OUT?\n", b"1.000000E+01,V,0.000000E+00,0,0.00E+00\n"), (b"OPER?\n", b"1\n"), (b"ZCOMP?\n", b"WIRE2\n")]
    with expected_protocol(Fluke5522A, pairs) as cal:
        assert cal.output == 10.0
        assert cal.operating is True
        assert cal.compensation == "WIRE2"


# -- strict replies, exact bytes -------------------------------------------------


@pytest.mark.parametrize("reply", [b"4096.0", b"+4096", b"0x1000", b"65536", b" 4096", b"4096 ", b"", b"-1",
                                   b"40960000", b"OK"])
def test_isr_reply_must_be_an_integer_0_to_65535(reply):
    with expected_protocol(Fluke5522A, [(b"ISR?\n", reply + b"\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'ISR\\?' failed: reply .* is not an integer 0..65535"):
            cal.status()


@pytest.mark.parametrize("reply", [b"", b"2", b"10", b"1 ", b"ON", b"1.0"])
def test_oper_reply_must_be_0_or_1(reply):
    with expected_protocol(Fluke5522A, [(b"OPER?\n", reply + b"\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'OPER\\?' failed"):
            _ = cal.operating


@pytest.mark.parametrize("reply", [b"", b"wire4", b"WIRE4 ", b"WIRE", b"4", b"WIRE3", b"NONE,WIRE2"])
def test_zcomp_reply_must_be_none_wire2_or_wire4(reply):
    with expected_protocol(Fluke5522A, [(b"ZCOMP?\n", reply + b"\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'ZCOMP\\?' failed: reply .* is not NONE, WIRE2"):
            _ = cal.compensation


@pytest.mark.parametrize(
    "reply",
    [b"1.000000E+01", b"1.000000E+01,V", b"1.000000E+0,V,0.000000E+00,0,0.00E+00", b"10,V,0,0,0",
     b"1.000000E+01,V,0.000000E+00,0,0.00E+00,", b"1.00000", b"1.000000E+01,v,0.000000E+00,0,0.00E+00", b"",
     b"1.000000E+00,V,0.000000E+00,0,1.0E+3"],
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


def test_confirm_state_before_set_output_reads_only_the_error_queue():
    with expected_protocol(Fluke5522A, [(b"*CLS\n", None), (b"STBY\n", None), NO_ERROR, NO_ERROR]) as cal:
        cal.initialize()
        cal.confirm_state()


@pytest.mark.parametrize(
    ("function", "value", "frequency", "sent", "state", "reply"),
    [
        (DCV, 10.0, 0.0, [b"OUT 10 V\n"], STATE,
         b'0;1;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"\n'),
        (DCI, 0.1, 0.0, [b"OUT 0.1 A\n"], STATE,
         b'0;1;1.000000E-01,A,0.000000E+00,0,0.00E+00;0,"No Error"\n'),
        (ACV, 1.0, 1000.0, [b"OUT 1 V, 1000 HZ\n"], STATE,
         b'0;1;1.000000E+00,V,0.000000E+00,0,1.000000E+03;0,"No Error"\n'),
        (R2W, 100.0, 0.0, [b"OUT 100 OHM\n", b"ZCOMP WIRE2\n"], OHMS_STATE,
         b'0;1;1.000000E+02,OHM,0.000000E+00,0,0.00E+00;WIRE2;0,"No Error"\n'),
        (R4W, 1e4, 0.0, [b"OUT 10000 OHM\n", b"ZCOMP WIRE4\n"], OHMS_STATE,
         b'0;1;1.000000E+04,OHM,0.000000E+00,0,0.00E+00;WIRE4;0,"No Error"\n'),
    ],
)
def test_confirm_state_is_one_exchange_per_function(function, value, frequency, sent, state, reply):
    pairs = [*(p for command in sent for p in ((command, None), NO_ERROR)), (b"OPER\n", None), NO_ERROR,
             (state, reply)]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(function, value, frequency)
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


@pytest.mark.parametrize(
    ("function", "frequency", "reported", "says"),
    [
        (ACV, 1000.0, b"1.000000E+02", "the output is 1 V at 100 Hz, not 1 V at 1000 Hz as programmed"),
        (ACV, 1000.0, b"0.00E+00", "the output is 1 V, not 1 V at 1000 Hz as programmed"),  # DC
        (DCV, 0.0, b"1.000000E+03", "the output is 1 V at 1000 Hz, not 1 V as programmed"),  # AC
    ],
)
def test_confirm_state_sees_another_frequency(function, frequency, reported, says):
    sent = b"OUT 1 V, 1000 HZ\n" if function is ACV else b"OUT 1 V\n"
    pairs = [(sent, None), NO_ERROR, (b"OPER\n", None), NO_ERROR,
             (STATE, state_reply(amplitude=b"1.000000E+00", frequency=reported))]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(function, 1.0, frequency)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command 'OUT\\?' failed: " + says):
            cal.confirm_state()


def test_confirm_state_sees_another_compensation():
    pairs = [(b"OUT 100 OHM\n", None), NO_ERROR, (b"ZCOMP WIRE4\n", None), NO_ERROR, (b"OPER\n", None), NO_ERROR,
             (OHMS_STATE, state_reply(amplitude=b"1.000000E+02", unit=b"OHM", zcomp=b"WIRE2"))]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(R4W, 100.0)
        cal.operate()
        with pytest.raises(InstrumentError, match="calibrator: command 'ZCOMP\\?' failed: the compensation is WIRE2, "
                                                  "not WIRE4 as programmed for resistance, 4-wire"):
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


@pytest.mark.parametrize(("unit", "frequency", "reported"), [(b" V", 0.0, b"0.00E+00"),
                                                         (b" V, 1000 HZ", 1000.0, b"1.000000E+03")])
def test_confirm_state_expects_the_standby_the_calibrator_goes_to_above_33_v(unit, frequency, reported):
    function = ACV if frequency else DCV
    pairs = [(b"OUT 10" + unit + b"\n", None), NO_ERROR, (b"OPER\n", None), NO_ERROR,
             (b"OUT 100" + unit + b"\n", None), NO_ERROR,
             (STATE, state_reply(oper=b"0", amplitude=b"1.000000E+02", frequency=reported))]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(function, 10.0, frequency)
        cal.operate()
        cal.set_output(function, 100.0, frequency)  # the calibrator's safety rule: standby
        cal.confirm_state()


def test_confirm_state_leaves_oper_out_while_the_operate_state_is_unknown():
    pairs = [(b"OPER\n", None), NO_ERROR, (b"OUT 100 V\n", None), NO_ERROR,
             (b"*ESR?;OUT?;ERR?\n", b'0;1.000000E+02,V,0.000000E+00,0,0.00E+00;0,"No Error"\n')]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.operate()
        cal.set_output(DCV, 100.0)  # standby or not depends on an output never programmed here
        cal.confirm_state()


def test_confirm_state_leaves_oper_out_after_a_change_of_function_while_operating():
    pairs = [*programmed(b"1"), (b"OUT 100 OHM\n", None), NO_ERROR, (b"ZCOMP WIRE4\n", None), NO_ERROR,
             (b"*ESR?;OUT?;ZCOMP?;ERR?\n", b'0;1.000000E+02,OHM,0.000000E+00,0,0.00E+00;WIRE4;0,"No Error"\n'),
             (b"OPER\n", None), NO_ERROR, (OHMS_STATE, state_reply(amplitude=b"1.000000E+02", unit=b"OHM",
                                                                   zcomp=b"WIRE4"))]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(DCV, 1.0)
        cal.operate()
        cal.set_output(R4W, 100.0)
        cal.confirm_state()
        cal.operate()  # known again
        cal.confirm_state()


def test_confirm_state_after_safe_state_expects_standby_at_zero_volts():
    pairs = [(b"OUT 100 OHM\n", None), NO_ERROR, (b"ZCOMP WIRE2\n", None), NO_ERROR, (b"OPER\n", None), NO_ERROR,
             (b"STBY\n", None), NO_ERROR, (b"OUT 0 V\n", None), NO_ERROR,
             (STATE, state_reply(oper=b"0", amplitude=b"0.000000E+00"))]
    with expected_protocol(Fluke5522A, pairs) as cal:
        cal.set_output(R2W, 100.0)
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


@pytest.mark.parametrize(("zcomp", "says"), [(b"wire4", "to ZCOMP? is not NONE, WIRE2 or WIRE4"),
                                             (b"", "to ZCOMP? is not NONE"), (b"WIRE4,", "to ZCOMP?")])
def test_confirm_state_of_resistance_refuses_a_garbled_compensation(zcomp, says):
    pairs = [(b"OUT 100 OHM\n", None), NO_ERROR, (b"ZCOMP WIRE4\n", None), NO_ERROR, (b"OPER\n", None), NO_ERROR,
             (OHMS_STATE, state_reply(amplitude=b"1.000000E+02", unit=b"OHM", zcomp=zcomp))]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        cal.set_output(R4W, 100.0)
        cal.operate()
        with pytest.raises(GarbledReply, match=re.escape(says)):
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
@given(replies(st.sampled_from(["NONE", "WIRE2", "WIRE4"])))
def test_zcomp_parser(reply):
    with expected_protocol(Fluke5522A, [(b"ZCOMP?\n", wire(reply))]) as cal:
        try:
            compensation = cal.compensation
        except CalstationError:
            assert reply not in ("NONE", "WIRE2", "WIRE4")
        else:
            assert compensation == reply in ("NONE", "WIRE2", "WIRE4")


@PROPERTY
@given(replies(st.builds("{:.6E},{},0.000000E+00,0,{}".format,
                         st.floats(-1100, 1100, allow_nan=False), st.sampled_from(["V", "V", "A", "OHM"]),
                         st.sampled_from(["0.00E+00", "1.000000E+03"])), max_size=60))
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


@PROPERTY
@given(st.floats(10, 500000, allow_nan=False), st.data())
def test_confirm_state_of_ac_passes_only_when_out_reports_the_programmed_frequency(frequency, data):
    reported = data.draw(replies(st.just(f"{frequency:.6E}"), max_size=16))
    reply = f'0;1.000000E+00,V,0.000000E+00,0,{reported};0,"No Error"'
    transport = AnsweringTransport({"*ESR?;OUT?;ERR?": [wire(reply)]}, {"ERR?": b'0,"No Error"\n'})
    cal = Fluke5522A(transport, VirtualClock())
    cal.set_output(ACV, 1.0, frequency)
    try:
        cal.confirm_state()
    except CalstationError:
        assert reported != f"{frequency:.6E}"
    else:
        assert re.fullmatch(NR3, reported) and float(reported) == pytest.approx(frequency, rel=1e-6)


MANUAL_ESR_FORMAT = re.compile(r"[+-]?[0-9]{1,3}")
#: Well-formed parts, the calibrator as programmed (10 V, operate; or 100 Ohm 4-wire) often enough.
ESR_REPLIES = st.one_of(st.just("0"), st.just("0"), st.sampled_from(["128", "32", "160"]), st.integers(0, 300).map(str))
OPER_REPLIES = st.sampled_from(["1", "1", "1", "0"])
ERR_REPLIES = st.one_of(st.just('0,"No Error"'), st.just('0,"No Error"'),
                        st.sampled_from(['104,"Hardware relay trip occurred"', '1302,"a;b"']),
                        st.from_regex(r'[+-]?[0-9]{1,4},"[ !#-~]{0,20}"', fullmatch=True))
ZCOMP_REPLIES = st.sampled_from(["WIRE4", "WIRE4", "WIRE2", "NONE"])
#: function -> (value, unit, OUT? replies, whether ZCOMP? is asked)
CASES = {
    DCV: (10.0, "V", st.one_of(st.just("1.000000E+01,V,0.000000E+00,0,0.00E+00"),
                               st.builds("{:.6E},{},0.000000E+00,0,0.00E+00".format,
                                         st.sampled_from([10.0, 19.0, 10.00002, -10.0]), st.sampled_from(["V", "A"])))),
    R4W: (100.0, "OHM", st.one_of(st.just("1.000000E+02,OHM,0.000000E+00,0,0.00E+00"),
                                  st.builds("{:.6E},{},0.000000E+00,0,{}".format, st.sampled_from([100.0, 190.0]),
                                            st.sampled_from(["OHM", "V"]), st.sampled_from(["0.00E+00", "1.0E+03"])))),
}


def expected_state_outcome(reply: str, function: Function, with_oper: bool) -> str | None:
    """What `confirm_state` must do with ``reply``, by the manual's formats,
    for the output of `CASES` in operate: "garbled", the command a check
    names, or None (passes)."""
    value, unit, _ = CASES[function]
    with_zcomp = function is R4W
    names = ["*ESR?", *(["OPER?"] if with_oper else []), "OUT?", *(["ZCOMP?"] if with_zcomp else []), "ERR?"]
    parts = reply.split(";", len(names) - 1)
    if len(parts) != len(names):
        return "garbled"
    got = dict(zip(names, parts, strict=True))
    esr, oper, out = got["*ESR?"], got.get("OPER?", "1"), got["OUT?"]
    if not (MANUAL_ESR_FORMAT.fullmatch(esr) and 0 <= int(esr) <= 255 and oper in ("0", "1")
            and MANUAL_OUT_FORMAT.fullmatch(out) and got.get("ZCOMP?", "NONE") in ("NONE", "WIRE2", "WIRE4")
            and MANUAL_ERR_FORMAT.fullmatch(got["ERR?"])):
        return "garbled"
    if int(esr) & 128:
        return "*ESR?"
    if oper != "1":
        return "OPER?"
    fields = out.split(",")
    if fields[1] != unit or abs(float(fields[0]) - value) > value * 1e-6 + 1e-12 or float(fields[4]) != 0:
        return "OUT?"
    if with_zcomp and got["ZCOMP?"] != "WIRE4":
        return "ZCOMP?"
    if int(got["ERR?"].partition(",")[0]) != 0:
        return "ERR?"
    return None


@PROPERTY
@given(st.sampled_from([DCV, R4W]), st.booleans(), st.data())
def test_compound_state_reply_parser(function, with_oper, data):
    """Arbitrary replies to the compound query: the calibrator passes only
    for an exactly well-formed reply saying so, a check fails only on a
    well-formed reply, and anything else is a `GarbledReply`."""
    value, _, out_replies = CASES[function]
    valid_parts = [ESR_REPLIES, *([OPER_REPLIES] if with_oper else []), out_replies,
                   *([ZCOMP_REPLIES] if function is R4W else []), ERR_REPLIES]
    whole = st.tuples(*valid_parts).map(";".join)
    each = st.tuples(*(replies(p, max_size=50) for p in valid_parts)).map(";".join)
    reply = data.draw(st.one_of(replies(whole, max_size=120), each))
    command = ";".join(["*ESR?", *(["OPER?"] if with_oper else []), "OUT?", *(["ZCOMP?"] if function is R4W else []),
                        "ERR?"])
    transport = AnsweringTransport({command: [wire(reply)]}, {"ERR?": b'0,"No Error"\n'}, name="calibrator")
    cal = Fluke5522A(transport, VirtualClock())
    if with_oper:
        cal.operate()
    cal.set_output(function, value)  # without operate, the operate state is unknown: OPER? left out
    expected = expected_state_outcome(reply, function, with_oper)
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


def test_simulator_rejects_out_of_range_and_unknown_commands():
    sim = Sim5522A(clock=VirtualClock())
    assert sim.handle("OUT 10 V") is None
    assert sim.handle("OUT 2000 V") is None
    assert sim.output_value == 10.0  # unchanged
    assert sim.handle("ERR?") == '537,"Entry exceeds limits"'
    sim.handle("FROB")
    sim.handle("OUT 1 A, 60 HZ")  # AC current: not simulated
    sim.handle("OUT abc V")
    sim.handle("OUT 1 V, 5 HZ")  # below the AC band
    sim.handle("OUT 5 A")  # beyond the AUX terminal
    sim.handle("OUT 1 OHM, 60 HZ")
    sim.handle("OUT 1 F")
    sim.handle("OUT 1 QV")
    assert sim.handle("ERR?;ERR?;ERR?;ERR?;ERR?;ERR?;ERR?;ERR?;ERR?") == (
        '1302,"Unknown command";538,"Output function not simulated";1310,"Bad number";537,"Entry exceeds limits";'
        '537,"Entry exceeds limits";1303,"Bad parameter count";538,"Output function not simulated";'
        '1311,"Bad units";0,"No Error"')
    assert (sim.output_function, sim.output_value) == (DCV, 10.0)


def test_simulator_refuses_numbers_beyond_the_exponents_it_parses():
    sim = Sim5522A()
    sim.handle("OUT 7.5E-118 V;OUT 1E21 V")
    assert sim.output_value == 0.0
    assert sim.handle("ERR?;ERR?;ERR?") == '1310,"Bad number";1310,"Bad number";0,"No Error"'
    sim.handle("OUT 1E-20 V")
    assert sim.handle("OUT?") == "1.000000E-20,V,0.000000E+00,0,0.00E+00"


@pytest.mark.parametrize(
    ("command", "function", "value", "frequency", "out"),
    [
        ("OUT 100 MV", DCV, 0.1, 0.0, "1.000000E-01,V,0.000000E+00,0,0.00E+00"),
        ("OUT 5 UV", DCV, 5e-6, 0.0, "5.000000E-06,V,0.000000E+00,0,0.00E+00"),
        ("OUT 1.5E+00 V", DCV, 1.5, 0.0, "1.500000E+00,V,0.000000E+00,0,0.00E+00"),
        ("OUT 1 KV", DCV, 1000.0, 0.0, "1.000000E+03,V,0.000000E+00,0,0.00E+00"),
        ("out -2V", DCV, -2.0, 0.0, "-2.000000E+00,V,0.000000E+00,0,0.00E+00"),
        ("OUT 3", DCV, 3.0, 0.0, "3.000000E+00,V,0.000000E+00,0,0.00E+00"),  # no unit: the present one
        ("OUT 100 MA", DCI, 0.1, 0.0, "1.000000E-01,A,0.000000E+00,0,0.00E+00"),
        ("OUT 0.1 A", DCI, 0.1, 0.0, "1.000000E-01,A,0.000000E+00,0,0.00E+00"),
        ("OUT 1 V, 1 KHZ", ACV, 1.0, 1000.0, "1.000000E+00,V,0.000000E+00,0,1.000000E+03"),
        ("OUT 10 MV, 60 HZ", ACV, 0.01, 60.0, "1.000000E-02,V,0.000000E+00,0,6.000000E+01"),
        ("OUT 100 OHM", R2W, 100.0, 0.0, "1.000000E+02,OHM,0.000000E+00,0,0.00E+00"),
        ("OUT 1 KOHM", R2W, 1000.0, 0.0, "1.000000E+03,OHM,0.000000E+00,0,0.00E+00"),
        ("OUT 1 MAOHM", R2W, 1e6, 0.0, "1.000000E+06,OHM,0.000000E+00,0,0.00E+00"),
    ],
)
def test_simulator_units_multipliers_and_out_query(command, function, value, frequency, out):
    sim = Sim5522A()
    sim.handle(command)
    assert sim.handle("ERR?") == '0,"No Error"'
    assert (sim.output_function, sim.output_frequency) == (function, frequency)
    assert sim.output_value == pytest.approx(value)
    assert sim.handle("OUT?") == out


def test_simulator_compensation_and_what_the_leads_see():
    sim = Sim5522A(settle_time_s=0.0)
    sim.handle("ZCOMP WIRE4")  # not on a voltage output
    assert sim.handle("ERR?") == '537,"Entry exceeds limits"'
    sim.handle("OUT 100 OHM;OPER")
    assert sim.handle("ZCOMP?") == "NONE" and sim.port_output().function == "R2W"
    sim.handle("ZCOMP WIRE4")
    assert sim.handle("ZCOMP?") == "WIRE4" and sim.port_output().function == "R4W"
    sim.handle("OUT 1 KOHM")  # the compensation stays within resistance
    assert sim.compensation == "WIRE4" and sim.operating
    sim.handle("ZCOMP WIRE3;ZCOMP")
    assert sim.handle("ERR?;ERR?") == '1312,"Bad keyword";1303,"Bad parameter count"'
    sim.handle("OUT 1 V, 1 KHZ")
    assert sim.compensation == "NONE" and not sim.operating  # another function: standby
    sim.handle("OPER")
    stimulus = sim.port_output()
    assert (stimulus.function, stimulus.frequency) == ("ACV", 1000.0) and stimulus.value == pytest.approx(1.0, rel=1e-3)
    sim.handle("STBY")
    assert sim.port_output().function == ""  # nothing at the terminals


def test_simulator_settles_after_out_and_oper_on_its_clock():
    clock = VirtualClock()
    sim = Sim5522A(clock=clock, settle_time_s=0.5)

    def settled() -> bool:
        return bool(int(sim.handle("ISR?") or "0") & (1 << 12))

    assert settled()
    sim.handle("OUT 10 V;OPER")
    assert not settled()
    clock.sleep(0.3)
    assert not settled()
    assert 0 < sim.terminal_voltage() < 10.0  # approaching
    clock.sleep(0.2)
    assert settled()
    sim.handle("STBY")
    assert sim.terminal_voltage() == 0.0 and sim.handle("OPER?") == "0"


def test_simulator_goes_to_standby_at_33_v_in_dc_and_ac():
    sim = Sim5522A()
    for low, high in (("OUT 10 V", "OUT 100 V"), ("OUT 10 V, 1 KHZ", "OUT 100 V, 1 KHZ")):
        sim.handle(f"{low};OPER;{high}")
        assert sim.handle("OPER?") == "0"
        sim.handle(f"OPER;{high};OUT 200 V" + (", 1 KHZ" if "HZ" in high else ""))
        assert sim.handle("OPER?") == "1"  # above 33 V already: stays in operate


@pytest.mark.parametrize("function", [DCV, DCI, ACV, R2W, R4W])
def test_simulator_output_errors_are_within_its_specification(function):
    """Every range of every function, at its top and a third of it, for
    twenty seeds: the true output within the 90-day specification."""
    spec = sheet().function(function).spec("90d")
    command = {DCV: "OUT {} V", DCI: "OUT {} A", ACV: "OUT {} V, 1 KHZ", R2W: "OUT {} OHM;ZCOMP WIRE2",
               R4W: "OUT {} OHM;ZCOMP WIRE4"}[function]
    frequency = 1000.0 if function is ACV else 0.0
    for seed in range(20):
        sim = Sim5522A(rng=np.random.default_rng(seed), settle_time_s=0.0)
        for row in spec.table.rows:
            if not row.f_low <= frequency <= row.f_high:
                continue
            assert row.range is not None
            low, high = sheet().function(function).limits or (0.0, 0.0)
            for value in (row.range, row.range / 3, -row.range / 3):
                if not low <= value <= high:
                    continue
                sim.handle(f"STBY;{command.format(value)};OPER")
                assert sim.handle("ERR?") == '0,"No Error"'
                error = sim.terminal_value() - value
                assert abs(error) <= spec.half_width(value, None, frequency) * 0.25 * (1 + 1e-9)
                assert sim.port_output().function == function.value


def test_power_cycle_puts_the_calibrator_in_standby_at_zero_locally_with_pon():
    sim = Sim5522A()
    sim.handle("REMOTE;OUT 10 OHM;ZCOMP WIRE4;OPER;FROB")
    stream = sim.stream()
    assert stream.feed(b"OUT 2") == b""  # a partial line, then the power goes
    sim.power_cycle()
    assert (sim.operating, sim.output_function, sim.output_value, sim.compensation, sim.remote) == (
        False, DCV, 0.0, "NONE", False)
    assert sim.terminal_voltage() == 0.0 and not sim.errors
    assert stream.feed(b"0 V\n") == b""  # '0 V' alone: the partial 'OUT 2' was forgotten
    assert sim.output_value == 0.0
    assert sim.handle("*ESR?;*ESR?;ERR?;ERR?") == '160;0;1302,"Unknown command";0,"No Error"'


def test_simulator_answers_the_compound_state_query_in_one_reply():
    sim = Sim5522A()
    sim.handle("OUT 10 V;OPER")
    assert sim.handle("*ESR?;OPER?;OUT?;ERR?") == '0;1;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"'
    assert sim.handle("*ESR?;OUT?;ERR?") == '0;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"'
    sim.handle("OUT 100 OHM;ZCOMP WIRE2")
    assert sim.handle("*ESR?;OPER?;OUT?;ZCOMP?;ERR?") == (
        '0;0;1.000000E+02,OHM,0.000000E+00,0,0.00E+00;WIRE2;0,"No Error"')
    sim.push_error(104, "Relay trip; output off")
    sim.power_cycle()
    sim.push_error(104, "Relay trip; output off")
    assert sim.handle("*ESR?;OPER?;OUT?;ERR?") == ('128;0;0.000000E+00,V,0.000000E+00,0,0.00E+00;'
                                                  '104,"Relay trip; output off"')
    assert (sim.handle("*ESR?;OPER?;OUT?;ERR?") or "").startswith("0;0;")  # *ESR? read clears it


# -- the driver against its simulator, with faults, over every transport ---------------


def calibrator(r: Reached, timeout_s: float = 2.0) -> Fluke5522A:
    return Fluke5522A(r.open("calibrator", timeout_s), r.bench.clock)


def test_identifies_and_initializes(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    sim.push_error(1302, "Unknown command")  # left over from someone else
    assert cal.identify().matches(cal.manufacturers, cal.models)
    cal.initialize()
    assert not sim.errors
    assert sim.operating is False
    # REMOTE is for RS-232 only: sent over the pseudo-terminal, not otherwise
    assert sim.remote is (reached.kind == "pty")


def test_sources_a_settled_voltage_on_the_bench_clock(reached: Reached):
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
    assert abs(sim.terminal_voltage() - 10.0) <= sheet().function(DCV).spec("90d").half_width(10.0)
    assert cal.output == 10.0 and cal.operating is True


@pytest.mark.parametrize(
    ("function", "value", "frequency"),
    [(DCI, 0.1, 0.0), (DCI, -2.0, 0.0), (ACV, 1.0, 1000.0), (ACV, 100.0, 1000.0), (R2W, 100.0, 0.0),
     (R4W, 1e6, 0.0)],
)
def test_sources_every_function_and_confirms_it(reached: Reached, function, value, frequency):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    cal.initialize()
    cal.set_output(function, value, frequency)
    cal.operate()
    cal.wait_settled(5.0)
    assert (sim.output_function, sim.output_value, sim.output_frequency) == (
        R2W if function in (R2W, R4W) else function, value, frequency)
    stimulus = sim.port_output()
    assert stimulus.function == function.value and stimulus.frequency == frequency
    assert abs(stimulus.value - value) <= sheet().function(function).spec("90d").half_width(value, None, frequency)
    cal.confirm_state()
    cal.safe_state()
    assert (sim.operating, sim.output_function, sim.output_value) == (False, DCV, 0.0)
    cal.confirm_state()


def test_a_change_of_function_while_operating_is_confirmed_without_oper(reached: Reached):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    cal.set_output(DCV, 1.0)
    cal.operate()
    cal.set_output(R4W, 100.0)
    received = len(sim.received)
    cal.confirm_state()
    assert list(sim.received)[received:] == ["*ESR?;OUT?;ZCOMP?;ERR?"]
    cal.operate()
    cal.confirm_state()
    assert list(sim.received)[-1] == "*ESR?;OPER?;OUT?;ZCOMP?;ERR?"


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


def test_instrument_error_names_instrument_command_and_message(reached: Reached):
    cal = calibrator(reached)
    reached.bench.calibrator.push_error(104, "Hardware relay trip occurred")
    with pytest.raises(InstrumentError) as err:
        cal.operate()
    assert str(err.value) == ("calibrator: command 'OPER' failed: error 104: Hardware relay trip occurred; "
                              "see the calibrator's manual, Appendix D (error messages)")
    assert not reached.bench.calibrator.errors  # the queue was drained


@pytest.mark.parametrize(
    ("function", "value", "frequency", "sent", "corrupted", "says"),
    [
        (DCV, 10.0, 0.0, b"OUT 10 V", b"OUT 19 V", "the output is 19 V, not 10 V as programmed"),
        (ACV, 1.0, 1000.0, b"1000 HZ", b"1900 HZ", "the output is 1 V at 1900 Hz, not 1 V at 1000 Hz as programmed"),
        (DCI, 0.1, 0.0, b"OUT 0.1 A", b"OUT 0.1 V", "the output is 0.1 V, not 0.1 A as programmed"),
        (R4W, 100.0, 0.0, b"ZCOMP WIRE4", b"ZCOMP WIRE2", "the compensation is WIRE2, not WIRE4"),
    ],
)
def test_a_corrupted_command_is_caught(reached: Reached, function, value, frequency, sent, corrupted, says):
    cal = calibrator(reached)
    sim = reached.bench.calibrator
    corruption = faults.once(faults.substitute(sent, corrupted))
    sim.line_fault = corruption
    cal.set_output(function, value, frequency)  # accepted without an error: a valid output
    cal.operate()
    assert corruption.fired == 1
    with pytest.raises(InstrumentError, match=re.escape(says)):
        cal.confirm_state()


def test_settling_timeout():
    with SimBench(settle_time_s=100.0) as bench:
        cal = Fluke5522A(open_transport("sim://calibrator", name="calibrator", simulators=bench.simulators),
                         bench.clock)
        cal.set_output(DCV, 1.0)
        cal.operate()
        with pytest.raises(InstrumentTimeout, match="calibrator: output not settled"):
            cal.wait_settled(timeout_s=2.0)
        assert bench.clock.now() == pytest.approx(2.0, abs=0.06)


def test_silent_times_out(reached: Reached):
    cal = calibrator(reached, timeout_s=0.2)
    reached.bench.calibrator.silent = True
    with pytest.raises(InstrumentTimeout, match="calibrator: no reply to '\\*IDN\\?' within 0.2 s"):
        cal.identify()


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
