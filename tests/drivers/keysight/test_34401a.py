"""Keysight 34401A: the exact bytes of every function, strict replies,
`confirm_state`, its simulator, and the driver against its simulator under
injected faults (in process, over TCP and a pseudo-terminal); at the end,
its calibration adjustment (`adjust`, role `Adjustable`): exact bytes, the
strict replies, the simulator's offset and gain adjustment, and a failing
DUT adjusted on the simulated bench until it reads within its
specification (with the 34461A's differences)."""

from __future__ import annotations

import math
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
from drivers.keysight.k34401a import Keysight34401A, sheet
from drivers.keysight.k34401a_sim import NO_ADJUSTMENT, Adjustment, DutErrors, Sim34401A
from drivers.keysight.k34461a import Keysight34461A
from drivers.keysight.k34461a_sim import Sim34461A
from drivers.roles import Adjustable, Function, Meter, SelfChecking
from drivers.sim import faults
from drivers.sim.base import Stimulus
from tests.drivers.conftest import Reached
from tests.drivers.protocol import AnsweringTransport, expected_protocol
from tests.drivers.strategies import PROPERTY, replies, wire

DCV, DCI, ACV, R2W, R4W = Function.DCV, Function.DCI, Function.ACV, Function.R2W, Function.R4W
NO_ERROR = (b"SYST:ERR?\n", b'+0,"No error"\n')
#: `confirm_state`'s one compound query (DC functions and resistance), and for AC voltage.
STATE = b"*ESR?;CONF?;:SYST:ERR?\n"
STATE_COMMAND = "*ESR?;CONF?;:SYST:ERR?"
AC_STATE = b"*ESR?;CONF?;:DET:BAND?;:SYST:ERR?\n"
AC_STATE_COMMAND = "*ESR?;CONF?;:DET:BAND?;:SYST:ERR?"
CONF_10V = b'"VOLT +1.000000E+01,+1.000000E-05"'

#: function -> (CONFigure command, second configuration command for nplc 10, CONF? name)
COMMANDS = {
    DCV: (b"CONF:VOLT:DC", b"VOLT:DC:NPLC 10", "VOLT"),
    DCI: (b"CONF:CURR:DC", b"CURR:DC:NPLC 10", "CURR"),
    ACV: (b"CONF:VOLT:AC", b"DET:BAND 20", "VOLT:AC"),
    R2W: (b"CONF:RES", b"RES:NPLC 10", "RES"),
    R4W: (b"CONF:FRES", b"FRES:NPLC 10", "FRES"),
}


def state_reply(esr: bytes = b"+0", conf: bytes = CONF_10V, err: bytes = b'+0,"No error"') -> bytes:
    """The meter's one reply to `STATE`."""
    return esr + b";" + conf + b";" + err + b"\n"


def configured(range_: bytes = b"10", nplc: bytes = b"10") -> list[tuple[bytes, bytes | None]]:
    return [(b"CONF:VOLT:DC " + range_ + b"\n", None), NO_ERROR, (b"VOLT:DC:NPLC " + nplc + b"\n", None), NO_ERROR]


def configured_as(function: Function, range_: bytes) -> list[tuple[bytes, bytes | None]]:
    conf, second, _ = COMMANDS[function]
    return [(conf + b" " + range_ + b"\n", None), NO_ERROR, (second + b"\n", None), NO_ERROR]


def manual_reading_format(reply: str) -> bool:
    """The User's Guide's ``SD.DDDDDDDDESDD``, character by character."""
    pattern = "SD.DDDDDDDDESDD"
    allowed = {"S": "+-", "D": "0123456789", ".": ".", "E": "E"}
    return len(reply) == len(pattern) and all(c in allowed[p] for c, p in zip(reply, pattern, strict=True))


# -- identify, initialize, configure: exact bytes ----------------------------------------


def test_identify_accepts_hp_agilent_keysight():
    for idn in (b"HEWLETT-PACKARD,34401A,0,11-5-2\n", b"Agilent Technologies,34401A,MY1,10-5-2\n",
                b"Keysight Technologies,34401A,MY2,11-5-3\n"):
        with expected_protocol(Keysight34401A, [(b"*IDN?\n", idn)]) as dmm:
            assert dmm.identify().matches(Keysight34401A.manufacturers, Keysight34401A.models)


def test_initialize_on_gpib():
    with expected_protocol(Keysight34401A, [(b"*CLS\n", None), NO_ERROR]) as dmm:
        dmm.initialize()


def test_initialize_on_serial_sends_syst_rem():
    with expected_protocol(Keysight34401A, [(b"*CLS\n", None), (b"SYST:REM\n", None), NO_ERROR], serial=True) as dmm:
        dmm.initialize()


def test_the_meter_is_a_self_checking_meter_of_five_functions():
    with expected_protocol(Keysight34401A, []) as dmm:
        assert isinstance(dmm, Meter) and isinstance(dmm, SelfChecking)
        assert set(dmm.functions) == {DCV, DCI, ACV, R2W, R4W}


def test_ranges_are_the_datasheets():
    with expected_protocol(Keysight34401A, []) as dmm:
        assert dmm.ranges(DCV) == (0.1, 1.0, 10.0, 100.0, 1000.0)
        assert dmm.ranges(DCI) == (0.01, 0.1, 1.0, 3.0)
        assert dmm.ranges(ACV) == (0.1, 1.0, 10.0, 100.0, 750.0)
        assert dmm.ranges(R2W) == dmm.ranges(R4W) == (100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)
        for f in (DCV, DCI, ACV, R2W, R4W):
            assert dmm.ranges(f) == sheet().function(f).ranges
        with pytest.raises(InstrumentError, match="function ACI is not supported by this driver"):
            dmm.ranges(Function.ACI)


@pytest.mark.parametrize(
    ("function", "range_", "nplc", "conf", "second", "resolution"),
    [
        (DCV, 0.1, 10, b"CONF:VOLT:DC 0.1\n", b"VOLT:DC:NPLC 10\n", 100e-9),
        (DCV, 10.0, 10, b"CONF:VOLT:DC 10\n", b"VOLT:DC:NPLC 10\n", 10e-6),
        (DCV, 10.0, 100, b"CONF:VOLT:DC 10\n", b"VOLT:DC:NPLC 100\n", 10e-6),
        (DCV, 10.0, 1, b"CONF:VOLT:DC 10\n", b"VOLT:DC:NPLC 1\n", 100e-6),
        (DCV, 1000.0, 0.2, b"CONF:VOLT:DC 1000\n", b"VOLT:DC:NPLC 0.2\n", 0.01),  # 5.5 digits at 0.2 PLC
        (DCV, 1.0, 0.02, b"CONF:VOLT:DC 1\n", b"VOLT:DC:NPLC 0.02\n", 100e-6),
        (DCI, 0.01, 10, b"CONF:CURR:DC 0.01\n", b"CURR:DC:NPLC 10\n", 10e-9),
        (DCI, 3.0, 1, b"CONF:CURR:DC 3\n", b"CURR:DC:NPLC 1\n", 30e-6),
        (ACV, 1.0, 10, b"CONF:VOLT:AC 1\n", b"DET:BAND 20\n", 1e-6),
        (ACV, 750.0, 0.02, b"CONF:VOLT:AC 750\n", b"DET:BAND 20\n", 750e-6),  # nplc ignored: 6.5 digits
        (R2W, 100.0, 10, b"CONF:RES 100\n", b"RES:NPLC 10\n", 100e-6),
        (R4W, 1e6, 100, b"CONF:FRES 1000000\n", b"FRES:NPLC 100\n", 1.0),
        (R4W, 1e8, 0.2, b"CONF:FRES 100000000\n", b"FRES:NPLC 0.2\n", 1e3),
    ],
)
def test_configure_sends_the_exact_commands_and_gives_the_datasheet_resolution(
        function, range_, nplc, conf, second, resolution):
    with expected_protocol(Keysight34401A, [(conf, None), NO_ERROR, (second, None), NO_ERROR]) as dmm:
        dmm.configure(function, range_, nplc)
        assert dmm.resolution() == pytest.approx(resolution)
        assert dmm.resolution_for(function, range_, nplc) == dmm.resolution()


def test_configure_error_names_the_command_and_message():
    pairs = [(b"CONF:VOLT:DC 10\n", None), NO_ERROR, (b"VOLT:DC:NPLC 10\n", None),
             (b"SYST:ERR?\n", b'-222,"Data out of range"\n'), NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        with pytest.raises(InstrumentError, match=r"dmm: command 'VOLT:DC:NPLC 10' failed: error -222, Data out of range"):
            dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError, match="not configured"):
            dmm.resolution()


@pytest.mark.parametrize(
    ("function", "range_", "nplc", "says"),
    [
        (DCV, 20.0, 10, "'CONF:VOLT:DC 20'.*20 V is not one of its DC voltage ranges"),
        (DCV, 10.0, 5, "'VOLT:DC:NPLC 5'.*5 is not an integration time"),
        (DCI, 10.0, 10, "'CONF:CURR:DC 10'.*10 A is not one of its DC current ranges"),
        (DCI, 0.1, 3, "'CURR:DC:NPLC 3'"),
        (ACV, 1000.0, 10, "'CONF:VOLT:AC 1000'.*1000 V is not one of its AC voltage ranges"),
        (R2W, 50.0, 10, "'CONF:RES 50'.*50 Ohm is not one of its resistance, 2-wire ranges"),
        (R4W, 1e9, 10, "'CONF:FRES 1000000000'"),
        (Function.ACI, 1.0, 10, "function ACI is not supported"),
    ],
)
def test_configure_refuses_what_the_meter_does_not_have_without_sending(function, range_, nplc, says):
    with expected_protocol(Keysight34401A, [], name="dmm") as dmm:
        with pytest.raises(InstrumentError, match=says):
            dmm.configure(function, range_, nplc)


def test_ac_voltage_takes_any_nplc_and_selects_the_medium_filter():
    pairs = [(b"CONF:VOLT:AC 10\n", None), NO_ERROR, (b"DET:BAND 20\n", None), NO_ERROR] * 2
    with expected_protocol(Keysight34401A, pairs) as dmm:
        dmm.configure(ACV, 10.0, 5)  # no integration time in AC: ignored
        dmm.configure(ACV, 10.0, 0.0)
        assert dmm.resolution() == pytest.approx(10e-6)


# -- reading: exact bytes and strict replies -----------------------------------------------


def test_read():
    with expected_protocol(Keysight34401A, [(b"READ?\n", b"+1.00000230E+01\n"),
                                            (b"READ?\n", b"-9.99999800E-02\n")]) as dmm:
        assert dmm.read() == 10.0000230
        assert dmm.read() == -0.0999999800


def test_read_many_sets_the_sample_count_once_and_reads_a_block():
    with expected_protocol(Keysight34401A, [
        (b"SAMP:COUN 3\n", None), NO_ERROR,
        (b"READ?\n", b"+1.00000230E+01,+1.00000240E+01,+1.00000220E+01\n"),
        (b"READ?\n", b"+1.00000230E+01,+1.00000250E+01,+1.00000220E+01\n"),
        (b"SAMP:COUN 1\n", None), NO_ERROR,
        (b"READ?\n", b"+1.00000230E+01\n"),
    ]) as dmm:
        assert dmm.read_many(3) == [10.0000230, 10.0000240, 10.0000220]
        assert dmm.read_many(3)[1] == 10.0000250  # the count is kept: no second SAMP:COUN
        assert dmm.read() == 10.0000230  # a single reading sets it back to 1


def test_read_many_refuses_a_short_block():
    with expected_protocol(Keysight34401A, [(b"SAMP:COUN 2\n", None), NO_ERROR, (b"READ?\n", b"+1.00000230E+01\n")],
                           name="dmm") as dmm:
        with pytest.raises(GarbledReply, match="1 readings where 2 were asked for"):
            dmm.read_many(2)


def test_overload_is_an_error_not_a_reading():
    with expected_protocol(Keysight34401A, [(b"READ?\n", b"+9.90000000E+37\n")], name="dmm") as dmm:
        with pytest.raises(InstrumentError, match="dmm: command 'READ\\?' failed: overload"):
            dmm.read()


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


def test_confirm_state_before_configure_reads_only_the_error_queue():
    with expected_protocol(Keysight34401A, [NO_ERROR]) as dmm:
        dmm.confirm_state()


@pytest.mark.parametrize(
    ("function", "range_", "conf"),
    [
        (DCV, 10.0, b'"VOLT +1.000000E+01,+1.000000E-05"'),
        (DCI, 0.1, b'"CURR +1.000000E-01,+1.000000E-07"'),
        (R2W, 1e3, b'"RES +1.000000E+03,+1.000000E-03"'),
        (R4W, 1e7, b'"FRES +1.000000E+07,+1.000000E+01"'),
    ],
)
def test_confirm_state_is_one_exchange_per_function(function, range_, conf):
    pairs = [*configured_as(function, str(int(range_)).encode() if range_ >= 1 else str(range_).encode()),
             (STATE, state_reply(conf=conf))]
    with expected_protocol(Keysight34401A, pairs) as dmm:
        dmm.configure(function, range_, 10)
        dmm.confirm_state()


def test_confirm_state_of_ac_voltage_also_asks_for_the_filter():
    pairs = [*configured_as(ACV, b"1"),
             (AC_STATE, b'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";+2.00000000E+01;+0,"No error"\n')]
    with expected_protocol(Keysight34401A, pairs) as dmm:
        dmm.configure(ACV, 1.0, 10)
        dmm.confirm_state()


@pytest.mark.parametrize("resolution", [b"+1.000000E-06", b"+1.000000E-05", b"+3.000000E-07"])
def test_confirm_state_of_ac_voltage_does_not_hold_the_meter_to_an_ac_resolution(resolution):
    conf = b'"VOLT:AC +1.000000E+00,' + resolution + b'"'
    pairs = [*configured_as(ACV, b"1"), (AC_STATE, b"+0;" + conf + b';+2.00000000E+01;+0,"No error"\n')]
    with expected_protocol(Keysight34401A, pairs) as dmm:
        dmm.configure(ACV, 1.0, 10)
        dmm.confirm_state()  # what a real 34401A reports there is UNVERIFIED


def test_confirm_state_sees_another_ac_filter():
    pairs = [*configured_as(ACV, b"1"),
             (AC_STATE, b'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";+2.00000000E+02;+0,"No error"\n')]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(ACV, 1.0, 10)
        with pytest.raises(InstrumentError, match="dmm: command 'DET:BAND\\?' failed: the AC filter is 200 Hz, "
                                                  "not 20 Hz as configured"):
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
     b'"CURR +1.000000E+01,+1.000000E-05"',
     b'"RES +1.000000E+01,+1.000000E-05"'],
)
def test_confirm_state_sees_another_configuration(conf):
    with expected_protocol(Keysight34401A, [*configured(), (STATE, state_reply(conf=conf))], name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.confirm_state()
    message = str(err.value)
    assert message.startswith("dmm: command 'CONF?' failed: the meter is set to " + conf.decode() + ", ")
    assert 'not to DC voltage on the 10 V range at 10 PLC ("VOLT +1.000000E+01,+1.000000E-05")' in message
    assert "\n" not in message


def test_confirm_state_sees_two_wire_where_four_wire_was_configured():
    pairs = [*configured_as(R4W, b"100"), (STATE, state_reply(conf=b'"RES +1.000000E+02,+1.000000E-04"'))]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(R4W, 100.0, 10)
        with pytest.raises(InstrumentError, match="not to resistance, 4-wire on the 100 Ohm range at 10 PLC"):
            dmm.confirm_state()


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


@pytest.mark.parametrize(
    ("band", "says"),
    [(b"+2.0000000E+01", "to DET:BAND\\? is not a number"), (b"20", "to DET:BAND\\? is not a number"),
     (b"", "to DET:BAND\\? is not a number")],
)
def test_confirm_state_of_ac_voltage_refuses_a_filter_reply_not_in_the_number_format(band, says):
    reply = b'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";' + band + b';+0,"No error"\n'
    with expected_protocol(Keysight34401A, [*configured_as(ACV, b"1"), (AC_STATE, reply)], name="dmm") as dmm:
        dmm.configure(ACV, 1.0, 10)
        with pytest.raises(GarbledReply, match=says):
            dmm.confirm_state()


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


#: Configured as (function, range, nplc 10), and the exact CONF? reply that goes with it.
EXACT_CONF = {
    DCV: (10.0, '"VOLT +1.000000E+01,+1.000000E-05"'),
    DCI: (0.1, '"CURR +1.000000E-01,+1.000000E-07"'),
    R2W: (1e3, '"RES +1.000000E+03,+1.000000E-03"'),
    R4W: (1e3, '"FRES +1.000000E+03,+1.000000E-03"'),
}


@PROPERTY
@given(st.sampled_from(sorted(EXACT_CONF)), st.data())
def test_confirm_state_passes_only_for_the_exact_configuration(function, data):
    range_, exact = EXACT_CONF[function]
    others = [c for _, c in EXACT_CONF.values()]
    conf = data.draw(replies(st.one_of(st.just(exact), st.sampled_from(others), CONFS), max_size=60))
    transport = AnsweringTransport({STATE_COMMAND: [wire(f'+0;{conf};+0,"No error"')]},
                                   {"SYST:ERR?": b'+0,"No error"\n'}, name="dmm")
    dmm = Keysight34401A(transport, VirtualClock())
    dmm.configure(function, range_, 10)
    try:
        dmm.confirm_state()
    except CalstationError:
        pass
    else:
        name, _, numbers = conf.strip('"').partition(" ")
        body = numbers.split(",")
        assert conf.startswith('"') and conf.endswith('"') and len(body) == 2
        assert name == exact.strip('"').partition(" ")[0]
        assert float(body[0]) == range_ and float(body[1]) == pytest.approx(range_ * 1e-6, rel=1e-6)


MANUAL_ESR_FORMAT = re.compile(r"[+-]?[0-9]{1,3}")
MANUAL_CONF_NUMBER = r"[+-][0-9]\.[0-9]{6}E[+-][0-9]{2}"
MANUAL_CONF_FORMAT = re.compile(rf'"[A-Z:]+ {MANUAL_CONF_NUMBER},{MANUAL_CONF_NUMBER}"')
#: Well-formed parts, the meter as configured (10 V range, 10 PLC) often enough.
ESR_REPLIES = st.one_of(st.just("+0"), st.just("+0"), st.sampled_from(["+128", "+32", "+160", "0"]),
                        st.integers(0, 300).map("{:+d}".format))
CONF_REPLIES = st.one_of(st.just('"VOLT +1.000000E+01,+1.000000E-05"'), CONFS,
                         st.sampled_from(['"VOLT:AC +1.000000E+01,+1.000000E-05"', '"VOLT +1.000000E+01,+3.000000E-05"',
                                          '"CURR +1.000000E+01,+1.000000E-05"']))
ERR_REPLIES = st.one_of(st.just('+0,"No error"'), st.just('+0,"No error"'),
                        st.sampled_from(['-113,"Undefined header"', '-100,"a;""b"""']), ERRORS)


def expected_state_outcome(reply: str) -> str | None:
    """What `confirm_state` must do with ``reply``, by the User's Guide's
    formats, for the meter configured to DC volts, 10 V at 10 PLC:
    "garbled", the command a check names, or None (passes)."""
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


BANDS = st.one_of(st.just("+2.00000000E+01"), st.sampled_from(["+3.00000000E+00", "+2.00000000E+02"]), READINGS)
AC_CONFS = st.one_of(st.just('"VOLT:AC +1.000000E+00,+1.000000E-06"'),
                     st.sampled_from(['"VOLT:AC +1.000000E+01,+1.000000E-05"', '"VOLT +1.000000E+00,+1.000000E-06"']))


def expected_ac_outcome(reply: str) -> str | None:
    """As `expected_state_outcome`, for AC volts on the 1 V range, medium filter."""
    parts = reply.split(";", 3)
    if len(parts) != 4:
        return "garbled"
    esr, conf, band, err = parts
    if not (MANUAL_ESR_FORMAT.fullmatch(esr) and 0 <= int(esr) <= 255 and MANUAL_CONF_FORMAT.fullmatch(conf)
            and manual_reading_format(band) and MANUAL_ERROR_FORMAT.fullmatch(err)):
        return "garbled"
    if int(esr) & 128:
        return "*ESR?"
    function, _, numbers = conf[1:-1].partition(" ")
    if function != "VOLT:AC" or abs(float(numbers.split(",")[0]) - 1.0) > 1e-6:
        return "CONF?"
    if abs(float(band) - 20.0) > 20.0 * 1e-6:
        return "DET:BAND?"
    if int(err.partition(",")[0]) != 0:
        return "SYST:ERR?"
    return None


@PROPERTY
@given(st.one_of(replies(st.tuples(ESR_REPLIES, AC_CONFS, BANDS, ERR_REPLIES).map(";".join), max_size=120),
                 st.tuples(replies(ESR_REPLIES, 8), replies(AC_CONFS, 50), replies(BANDS, 20),
                           replies(ERR_REPLIES)).map(";".join)))
def test_compound_state_reply_parser_for_ac_voltage(reply):
    transport = AnsweringTransport({AC_STATE_COMMAND: [wire(reply)]}, {"SYST:ERR?": b'+0,"No error"\n'}, name="dmm")
    dmm = Keysight34401A(transport, VirtualClock())
    dmm.configure(ACV, 1.0, 10)
    expected = expected_ac_outcome(reply)
    try:
        dmm.confirm_state()
    except GarbledReply as e:
        assert expected == "garbled" and e.command == AC_STATE_COMMAND
    except InstrumentError as e:
        assert expected == e.command
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from confirm_state")
    else:
        assert expected is None
    assert transport.sent.count(AC_STATE_COMMAND) == 1


# -- the simulator --------------------------------------------------------------------


def dmm_on(function: Function, value: float, dut: DutErrors | None = None, seed: int = 0,
           lead_resistance: float = 0.01) -> Sim34401A:
    """A simulated meter whose input sees ``value`` of ``function``."""
    sim = Sim34401A(rng=np.random.default_rng(seed), errors=dut, lead_resistance=lead_resistance)
    sim.connect("input", lambda: Stimulus(function.value, value, 1000.0 if function.is_ac else 0.0))
    return sim


def test_simulator_configuration_query_reflects_function_range_and_integration_time():
    sim = Sim34401A()
    assert sim.handle("CONF?") == '"VOLT +1.000000E+01,+1.000000E-05"'  # *RST: autorange, 10 PLC
    sim.handle("CONF:VOLT:DC 0.1;VOLT:DC:NPLC 100")
    assert sim.handle("CONF?") == '"VOLT +1.000000E-01,+3.000000E-08"'
    sim.handle("CONF:VOLT:DC 10,3E-5")  # the resolution selects the integration time: 1 PLC
    assert sim.nplc == 1.0 and sim.handle("CONF?") == '"VOLT +1.000000E+01,+3.000000E-05"'
    sim.handle("CONF:CURR:DC 0.1")
    assert sim.handle("CONF?") == '"CURR +1.000000E-01,+1.000000E-07"'
    sim.handle("CONF:VOLT:AC 1")
    assert sim.handle("CONF?") == '"VOLT:AC +1.000000E+00,+1.000000E-06"'
    sim.handle("CONFIGURE:RESISTANCE 100;:SENSE:RESISTANCE:NPLCYCLES 1")
    assert sim.handle("CONF?") == '"RES +1.000000E+02,+3.000000E-04"'
    sim.handle("CONF:FRES 1E6")
    assert sim.handle("CONF?;FRES:NPLC?") == '"FRES +1.000000E+06,+1.000000E+00";+1.00000000E+01'
    assert sim.handle("SYST:ERR?") == '+0,"No error"'


def test_simulator_keeps_settings_per_function():
    sim = Sim34401A()
    sim.handle("CONF:VOLT:DC 1;VOLT:DC:NPLC 100;CONF:CURR:DC 3;CURR:DC:NPLC 0.2")
    assert (sim.function, sim.range, sim.nplc) == (DCI, 3.0, 0.2)
    assert sim.handle("VOLT:DC:NPLC?;VOLT:DC:RANG?") == "+1.00000000E+02;+1.00000000E+00"


def test_simulator_ac_filter_and_no_integration_time_in_ac():
    sim = Sim34401A()
    assert sim.handle("DET:BAND?") == "+2.00000000E+01"  # *RST: medium
    sim.handle("DET:BAND 3;DET:BAND?")
    assert sim.ac_filter == 3.0
    sim.handle("SENS:DET:BAND 1000")  # inputs from 1 kHz: the fast filter serves
    assert sim.handle("DET:BAND?") == "+2.00000000E+02"
    sim.handle("DET:BAND 1;VOLT:AC:NPLC 10;DET:BAND DEF")
    assert sim.handle("SYST:ERR?;SYST:ERR?;SYST:ERR?") == '-222,"Data out of range";-113,"Undefined header";+0,"No error"'
    assert sim.ac_filter == 20.0


def test_simulator_with_autorange_reports_the_range_of_its_last_reading():
    sim = dmm_on(DCV, 0.05, DutErrors(noise=0))
    sim.handle("*RST")
    sim.handle("READ?")
    assert sim.handle("CONF?") == '"VOLT +1.000000E-01,+1.000000E-07"'


def test_power_cycle_restores_the_reset_defaults_and_sets_pon():
    sim = Sim34401A()
    sim.handle("SYST:REM;CONF:CURR:DC 1;CURR:DC:NPLC 100;DET:BAND 3;SAMP:COUN 5;TRIG:SOUR BUS;FOO")
    assert sim.errors
    stream = sim.stream()
    assert stream.feed(b"CONF:VOLT:DC 0") == b""  # a partial line, then the power goes
    sim.power_cycle()
    assert (sim.function, sim.range, sim.autorange, sim.nplc, sim.sample_count, sim.trigger_source) == (
        DCV, 10.0, True, 10.0, 1, "IMM")
    assert sim.ac_filter == 20.0 and sim.settings[DCI].nplc == 10.0
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
    sim.handle("CONF:VOLT:AC 10")
    assert sim.handle("*ESR?;CONF?;:DET:BAND?;:SYST:ERR?") == (
        '+0;"VOLT:AC +1.000000E+01,+1.000000E-05";+2.00000000E+01;+0,"No error"')
    sim.power_cycle()
    sim.handle("FOO")
    assert sim.handle("*ESR?;CONF?;:SYST:ERR?") == '+160;"VOLT +1.000000E+01,+1.000000E-05";-113,"Undefined header"'
    assert (sim.handle("*ESR?;CONF?;:SYST:ERR?") or "").startswith("+0;")  # *ESR? read clears it


def test_simulator_reading_format_and_scpi_errors():
    sim = dmm_on(DCV, 10.0)
    sim.handle("CONF:VOLT:DC 10")
    assert re.fullmatch(r"[+-]\d\.\d{8}E[+-]\d\d", sim.handle("READ?") or "")
    sim.handle("VOLT:DC:FOO 1")
    sim.handle("CONF:VOLT:DC 2000")
    sim.handle("VOLT:DC:NPLC 1000")
    sim.handle("CONF:CURR:DC 10")
    assert sim.handle("SYST:ERR?;SYST:ERR?;SYST:ERR?;SYST:ERR?;SYST:ERR?") == (
        '-113,"Undefined header";-222,"Data out of range";-222,"Data out of range";-222,"Data out of range";'
        '+0,"No error"')


def test_simulator_configuration_commands():
    sim = dmm_on(DCV, 0.05)
    sim.handle("CONFIGURE:VOLTAGE:DC 0.1;:SENSE:VOLTAGE:DC:NPLCYCLES 100")
    assert (sim.range, sim.nplc, sim.autorange) == (0.1, 100.0, False)
    assert sim.handle("VOLT:DC:RANG?;VOLT:DC:NPLC?") == "+1.00000000E-01;+1.00000000E+02"
    sim.handle("CONF:VOLT:DC 5")  # rounds up to the 10 V range
    assert sim.range == 10.0 and sim.nplc == 10.0
    sim.handle("SAMP:COUN 3")
    assert len((sim.handle("READ?") or "").split(",")) == 3
    assert sim.handle("SYST:ERR?") == '+0,"No error"'


def test_simulator_overload_value():
    sim = dmm_on(DCV, 1.5)
    sim.handle("CONF:VOLT:DC 1")
    assert sim.handle("READ?") == "+9.90000000E+37"
    sim = dmm_on(DCV, -1.5)
    sim.handle("CONF:VOLT:DC 1")
    assert sim.handle("READ?") == "-9.90000000E+37"
    sim.handle("CONF:VOLT:DC 10")
    assert float(sim.handle("READ?") or "nan") == pytest.approx(-1.5, abs=1e-4)


def test_simulator_quantises_to_the_datasheet_digit_of_its_nplc():
    sim = dmm_on(DCV, 1.234567891, DutErrors(offset=0, gain=0, noise=0))
    for nplc, expected in ((10, "+1.23457000E+00"), (1, "+1.23460000E+00"), (0.2, "+1.23460000E+00"),
                           (0.02, "+1.23500000E+00")):
        sim.handle(f"CONF:VOLT:DC 10;VOLT:DC:NPLC {nplc}")
        assert sim.handle("READ?") == expected


def test_simulator_readings_are_seeded():
    def readings(seed: int) -> list[str]:
        sim = dmm_on(DCV, 10.0, seed=seed)
        sim.handle("CONF:VOLT:DC 10;VOLT:DC:NPLC 1")
        return [sim.handle("READ?") or "" for _ in range(10)]

    assert readings(1) == readings(1)
    assert readings(1) != readings(2)
    assert len(set(readings(1))) > 1  # there is noise


QUIET = DutErrors(offset=0, gain=0, noise=0, dci_offset=0, dci_gain=0, acv_offset=0, acv_gain=0, acv_noise=0,
                  ohms_offset=0, ohms_gain=0)


@pytest.mark.parametrize(
    ("function", "conf", "value", "expected"),
    [
        (DCI, "CONF:CURR:DC 0.1", 0.0123456789, 0.0123457),
        (ACV, "CONF:VOLT:AC 1", 0.7071067812, 0.707107),
        (ACV, "CONF:VOLT:AC 1", -0.5, 0.5),  # RMS: positive
        (R4W, "CONF:FRES 1000", 999.87654321, 999.877),
        (R2W, "CONF:RES 1000", 999.87654321, 999.887),  # + 0.01 Ohm of leads
    ],
)
def test_simulator_reads_each_function(function, conf, value, expected):
    sim = dmm_on(function, value, QUIET)
    sim.handle(conf)
    assert float(sim.handle("READ?") or "nan") == pytest.approx(expected, abs=1e-9)


def test_two_wire_resistance_adds_the_leads_and_four_wire_does_not():
    sim = dmm_on(R2W, 100.0, QUIET, lead_resistance=0.25)
    sim.handle("CONF:RES 100")
    assert float(sim.handle("READ?") or "nan") == pytest.approx(100.25, abs=1e-9)
    sim = dmm_on(R4W, 100.0, QUIET, lead_resistance=0.25)
    sim.handle("CONF:FRES 100")
    assert float(sim.handle("READ?") or "nan") == pytest.approx(100.0, abs=1e-9)


@pytest.mark.parametrize(
    ("stimulus", "conf"),
    [(DCV, "CONF:CURR:DC 0.01"), (DCI, "CONF:VOLT:DC 0.1"), (ACV, "CONF:VOLT:DC 1"), (DCV, "CONF:VOLT:AC 0.1"),
     (R2W, "CONF:VOLT:DC 0.1"), (R4W, "CONF:CURR:DC 0.01")],
)
def test_a_stimulus_of_another_function_reads_as_an_open_input_near_zero(stimulus, conf):
    sim = dmm_on(stimulus, 0.005)
    sim.handle(conf)
    range_ = float(sim.handle(conf.split()[0].removeprefix("CONF:") + ":RANG?") or "nan")
    assert abs(float(sim.handle("READ?") or "nan")) < range_ * 1e-4


@pytest.mark.parametrize(("stimulus", "conf"), [(DCV, "CONF:RES 100"), (R2W, "CONF:FRES 100"),
                                                (R4W, "CONF:RES 100"), (ACV, "CONF:FRES 1E6")])
def test_a_stimulus_of_another_function_reads_as_overload_on_resistance(stimulus, conf):
    sim = dmm_on(stimulus, 50.0)
    sim.handle(conf)
    assert sim.handle("READ?") == "+9.90000000E+37"


def test_simulator_faults():
    sim = dmm_on(DCV, 10.0)
    sim.handle("CONF:VOLT:DC 10;VOLT:DC:NPLC 1")
    sim.fault = "stuck"
    stuck = {sim.handle("READ?") for _ in range(5)}
    assert len(stuck) == 1
    sim.fault = "dropout"
    reply = sim.handle("READ?") or ""
    with pytest.raises(ValueError):
        float(reply)
    sim.fault = "silent"
    assert sim.handle("*IDN?") is None
    sim.fault = None
    assert sim.handle("*IDN?") == "HEWLETT-PACKARD,34401A,0,11-5-2"


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


def test_identifies_and_initializes(reached: Reached):
    dmm = meter(reached)
    sim = reached.bench.dmm
    sim.push_error(-113, "Undefined header")
    assert dmm.identify().matches(dmm.manufacturers, dmm.models)
    dmm.initialize()
    assert not sim.errors
    assert sim.remote is (reached.kind == "pty")


def test_confirm_state_passes_on_an_undisturbed_meter_in_every_function(reached: Reached):
    dmm = meter(reached)
    sim = reached.bench.dmm
    dmm.initialize()
    dmm.confirm_state()
    for function, range_, nplc in ((DCV, 10.0, 10), (DCV, 0.1, 100), (DCV, 1000.0, 0.02), (DCI, 0.01, 1),
                                   (ACV, 750.0, 10), (R2W, 1e8, 0.2), (R4W, 100.0, 10)):
        dmm.configure(function, range_, nplc)
        assert (sim.function, sim.range, sim.autorange) == (function, range_, False)
        assert dmm.resolution() == dmm.resolution_for(function, range_, nplc)
        if function not in (R2W, R4W):  # open resistance reads overload: see below
            dmm.read_many(2)
        dmm.confirm_state()


def test_confirm_state_is_one_message_and_one_reply(reached: Reached):
    dmm = meter(reached)
    sim = reached.bench.dmm
    for function, range_, command, reply in (
            (DCV, 10.0, "*ESR?;CONF?;:SYST:ERR?", '+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"'),
            (ACV, 1.0, "*ESR?;CONF?;:DET:BAND?;:SYST:ERR?",
             '+0;"VOLT:AC +1.000000E+00,+1.000000E-06";+2.00000000E+01;+0,"No error"')):
        dmm.configure(function, range_, 10)
        before = len(reached.log.entries())
        received = len(sim.received)
        dmm.confirm_state()
        assert list(sim.received)[received:] == [command]
        assert [(e.instrument, e.direction, e.data) for e in reached.log.entries()[before:]] == [
            ("dmm", "tx", command.encode() + b"\n"), ("dmm", "rx", reply.encode() + b"\n")]


def test_another_function_selected_behind_the_drivers_back_is_caught(reached: Reached):
    dmm = meter(reached)
    dmm.configure(R4W, 1e3, 10)
    reached.bench.dmm.handle("CONF:RES 1000")  # someone at the front panel: 2-wire
    with pytest.raises(InstrumentError, match="dmm: command 'CONF\\?' failed: the meter is set to \"RES "):
        dmm.confirm_state()
    dmm.configure(ACV, 10.0, 10)
    reached.bench.dmm.handle("DET:BAND 3")
    with pytest.raises(InstrumentError, match="dmm: command 'DET:BAND\\?' failed"):
        dmm.confirm_state()


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


@pytest.mark.parametrize(("function", "range_", "second"), [(DCV, 1.0, b"VOLT:DC:NPLC"), (ACV, 1.0, b"DET:BAND"),
                                                             (R4W, 1e3, b"FRES:NPLC")])
def test_power_cycle_during_configuration_is_caught(reached: Reached, function, range_, second):
    dmm = meter(reached)
    sim = reached.bench.dmm
    dmm.initialize()
    power_cut = faults.once(faults.when(second, sim.power_cycle))
    sim.line_fault = power_cut
    dmm.configure(function, range_, 10)  # the power goes between CONF and its second command: no error queued
    assert power_cut.fired == 1 and sim.autorange  # the meter is not as configured
    with pytest.raises(InstrumentError) as err:
        dmm.confirm_state()
    assert str(err.value).startswith("dmm: command '*ESR?' failed: the meter was switched off and on")
    dmm.configure(function, range_, 10)
    dmm.confirm_state()  # configured again: fine


def test_a_queued_error_is_caught(reached: Reached):
    dmm = meter(reached)
    dmm.configure(DCV, 10.0, 10)
    reached.bench.dmm.push_error(-410, "Query INTERRUPTED")
    with pytest.raises(InstrumentError) as err:
        dmm.confirm_state()
    assert str(err.value).startswith("dmm: command 'SYST:ERR?' failed: error -410, Query INTERRUPTED")
    assert not reached.bench.dmm.errors


def test_instrument_error_names_instrument_command_and_message(reached: Reached):
    dmm = meter(reached)
    reached.bench.dmm.push_error(-222, "Data out of range")
    with pytest.raises(InstrumentError) as err:
        dmm.configure(DCI, 1.0, 10)
    assert err.value.instrument == "dmm"
    assert err.value.command == "CONF:CURR:DC 1"
    assert "-222, Data out of range" in str(err.value)


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


def test_garbled_reading_from_a_dropout(reached: Reached):
    dmm = meter(reached)
    dmm.configure(DCV, 10.0, 10)
    reached.bench.dmm.fault = "dropout"
    with pytest.raises(GarbledReply) as err:
        dmm.read()
    assert err.value.instrument == "dmm" and err.value.command == "READ?"
    assert "is not a number" in str(err.value)


def test_silent_times_out(reached: Reached):
    dmm = meter(reached, timeout_s=0.2)
    reached.bench.dmm.fault = "silent"
    with pytest.raises(InstrumentTimeout, match="dmm: no reply to 'READ\\?'"):
        dmm.read()


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


def test_an_open_resistance_input_is_an_overload_error(reached: Reached):
    dmm = meter(reached)
    dmm.configure(R4W, 1e3, 10)  # the calibrator is in standby: nothing at its terminals
    with pytest.raises(InstrumentError, match="overload"):
        dmm.read()
    assert math.isfinite(dmm.resolution())


# -- calibration adjustment (Adjustable): exact bytes -------------------------------------

UNSECURE = (b"CAL:SEC:STAT OFF,HP034401\n", None)
SECURE = (b"CAL:SEC:STAT ON,HP034401\n", None)
CONF_10V_REPLY = (STATE, state_reply())


def adjusting(value: bytes, reply: bytes = b"+0") -> list[tuple[bytes, bytes | None]]:
    """`adjust`'s commands after its state query, when nothing fails."""
    return [UNSECURE, NO_ERROR, (b"CAL:VAL " + value + b"\n", None), NO_ERROR, (b"CAL?\n", reply + b"\n"),
            NO_ERROR, SECURE, NO_ERROR]


def test_the_meters_of_the_family_are_adjustable():
    for cls in (Keysight34401A, Keysight34461A):
        with expected_protocol(cls, []) as dmm:
            assert isinstance(dmm, Adjustable) and isinstance(dmm, Meter) and isinstance(dmm, SelfChecking)
    assert Keysight34401A.calibration_code == "HP034401"


@pytest.mark.parametrize(
    ("function", "range_", "applied", "configuration", "state", "sent"),
    [
        (DCV, 10.0, 10.0, configured(), CONF_10V_REPLY, b"10"),
        (DCV, 10.0, 0.0, configured(), CONF_10V_REPLY, b"0"),
        (DCV, 10.0, -9.99999, configured(), CONF_10V_REPLY, b"-9.99999"),
        (DCV, 0.1, 1.5e-6, configured(b"0.1"), (STATE, state_reply(conf=b'"VOLT +1.000000E-01,+1.000000E-07"')),
         b"1.5E-06"),
        (DCI, 0.01, 0.01, configured_as(DCI, b"0.01"),
         (STATE, state_reply(conf=b'"CURR +1.000000E-02,+1.000000E-08"')), b"0.01"),
        (R4W, 1e3, 1000.0123, configured_as(R4W, b"1000"),
         (STATE, state_reply(conf=b'"FRES +1.000000E+03,+1.000000E-03"')), b"1000.0123"),
        (ACV, 1.0, 1.0, configured_as(ACV, b"1"),
         (AC_STATE, b'+0;"VOLT:AC +1.000000E+00,+1.000000E-06";+2.00000000E+01;+0,"No error"\n'), b"1"),
    ],
)
def test_adjust_sends_the_exact_commands_and_leaves_the_configuration(function, range_, applied, configuration,
                                                                      state, sent):
    pairs = [*configuration, state, *adjusting(sent), state]
    with expected_protocol(Keysight34401A, pairs) as dmm:
        dmm.configure(function, range_, 10)
        dmm.adjust(function, range_, applied)
        dmm.confirm_state()  # the configuration is unchanged: still one exchange, and it passes


def test_adjust_uses_the_code_of_the_class_or_of_the_instance():
    pairs = [*configured(), CONF_10V_REPLY, (b"CAL:SEC:STAT OFF,LAB_7\n", None), NO_ERROR, (b"CAL:VAL 10\n", None),
             NO_ERROR, (b"CAL?\n", b"+0\n"), NO_ERROR, (b"CAL:SEC:STAT ON,LAB_7\n", None), NO_ERROR]
    with expected_protocol(Keysight34401A, pairs) as dmm:
        dmm.calibration_code = "LAB_7"  # a laboratory that changed the code
        dmm.configure(DCV, 10.0, 10)
        dmm.adjust(DCV, 10.0, 10.0)
    assert Keysight34401A.calibration_code == "HP034401"  # the class keeps the factory's

    class AgilentBranded(Keysight34401A):
        calibration_code = "AG034401"

    pairs = [*configured(), CONF_10V_REPLY, (b"CAL:SEC:STAT OFF,AG034401\n", None), NO_ERROR, (b"CAL:VAL 0\n", None),
             NO_ERROR, (b"CAL?\n", b"+0\n"), NO_ERROR, (b"CAL:SEC:STAT ON,AG034401\n", None), NO_ERROR]
    with expected_protocol(AgilentBranded, pairs) as dmm:
        dmm.configure(DCV, 10.0, 10)
        dmm.adjust(DCV, 10.0, 0.0)


def test_the_34461a_stores_the_constants_before_securing_again_with_its_own_code():
    pairs = [(b"CONF:VOLT:DC 10\n", None), NO_ERROR, (b"VOLT:DC:NPLC 10\n", None), NO_ERROR, CONF_10V_REPLY,
             (b"CAL:SEC:STAT OFF,AT34461\n", None), NO_ERROR, (b"CAL:VAL 10\n", None), NO_ERROR,
             (b"CAL?\n", b"+0\n"), NO_ERROR, (b"CAL:STOR\n", None), NO_ERROR,
             (b"CAL:SEC:STAT ON,AT34461\n", None), NO_ERROR]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        dmm.configure(DCV, 10.0, 10)
        dmm.adjust(DCV, 10.0, 10.0)


@pytest.mark.parametrize(
    ("configure", "function", "range_", "applied", "says"),
    [
        (None, DCV, 10.0, 10.0, "cannot adjust DC voltage on the 10 V range: the meter is configured to nothing"),
        ((DCV, 10.0), DCV, 1.0, 1.0, "the meter is configured to DC voltage on the 10 V range"),
        ((DCV, 10.0), DCI, 10.0, 1.0, "cannot adjust DC current on the 10 A range: the meter is configured to DC "
                                      "voltage on the 10 V range"),
        ((R4W, 1e3), R2W, 1e3, 1e3, "configured to resistance, 4-wire on the 1000 Ohm range"),
        ((DCV, 10.0), DCV, 10.0, 12.5, "12.5 V is outside the 10 V range \\(up to 12 V\\)"),
        ((DCV, 10.0), DCV, 10.0, -12.5, "-12.5 V is outside the 10 V range"),
        ((DCV, 10.0), Function.ACI, 1.0, 1.0, "function ACI is not supported"),
    ],
)
def test_adjust_refuses_what_is_not_configured_without_sending(configure, function, range_, applied, says):
    pairs = configured_as(configure[0], str(configure[1]).removesuffix(".0").encode()) if configure else []
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        if configure:
            dmm.configure(configure[0], configure[1], 10)
        with pytest.raises(InstrumentError, match=says) as err:
            dmm.adjust(function, range_, applied)
    assert str(err.value).startswith("dmm: command ") and "\n" not in str(err.value)


def test_adjust_refuses_nan_before_sending_anything():
    with expected_protocol(Keysight34401A, configured()) as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(ValueError, match="cannot send nan"):
            dmm.adjust(DCV, 10.0, math.nan)


def test_adjust_refuses_a_configure_that_failed():
    pairs = [(b"CONF:VOLT:DC 10\n", None), (b"SYST:ERR?\n", b'-222,"Data out of range"\n'), NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        with pytest.raises(InstrumentError):
            dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError, match="configured to nothing: configure\\(\\) was not called or failed"):
            dmm.adjust(DCV, 10.0, 10.0)


@pytest.mark.parametrize(
    ("state", "command", "says"),
    [
        (state_reply(conf=b'"VOLT +1.000000E+02,+1.000000E-04"'), "CONF?", "the meter is set to \"VOLT +1.000000E+02"),
        (state_reply(esr=b"+128"), "*ESR?", "switched off and on"),
        (state_reply(err=b'-113,"Undefined header"'), "SYST:ERR?", "error -113, Undefined header"),
    ],
)
def test_adjust_checks_the_meter_itself_first_and_sends_nothing_else_if_it_differs(state, command, says):
    pairs = [*configured(), (STATE, state)] + ([NO_ERROR] if command == "SYST:ERR?" else [])
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError, match=re.escape(says)) as err:
            dmm.adjust(DCV, 10.0, 10.0)
    assert err.value.command == command  # and no CAL command was sent (the protocol says so)


def test_a_calibration_answered_plus_1_raises_and_the_meter_is_secured_again():
    pairs = [*configured(), CONF_10V_REPLY, *adjusting(b"10", reply=b"+1")]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.adjust(DCV, 10.0, 10.0)
    assert str(err.value).startswith("dmm: command 'CAL?' failed: the meter answered +1: the adjustment failed")


def test_the_meters_error_after_the_calibration_is_raised_with_its_message_and_the_meter_secured_again():
    pairs = [*configured(), CONF_10V_REPLY, UNSECURE, NO_ERROR, (b"CAL:VAL 10\n", None), NO_ERROR,
             (b"CAL?\n", b"+1\n"), (b"SYST:ERR?\n", b'+707,"Cal signal measurement out of range"\n'), NO_ERROR,
             SECURE, NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.adjust(DCV, 10.0, 10.0)
    assert str(err.value).startswith("dmm: command 'CAL?' failed: error +707, Cal signal measurement out of range "
                                     "(the adjustment failed)")


def test_a_queued_error_fails_the_adjustment_even_if_the_meter_answered_plus_0():
    pairs = [*configured(), CONF_10V_REPLY, UNSECURE, NO_ERROR, (b"CAL:VAL 10\n", None), NO_ERROR,
             (b"CAL?\n", b"+0\n"), (b"SYST:ERR?\n", b'-410,"Query INTERRUPTED"\n'), NO_ERROR, SECURE, NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError, match="error -410, Query INTERRUPTED \\(the adjustment failed\\)"):
            dmm.adjust(DCV, 10.0, 10.0)


def test_a_wrong_code_stops_before_the_value_and_the_secure_step_is_still_attempted():
    wrong = (b"SYST:ERR?\n", b'+703,"Invalid secure code"\n')
    pairs = [*configured(), CONF_10V_REPLY, UNSECURE, wrong, NO_ERROR, SECURE, wrong, NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.adjust(DCV, 10.0, 10.0)
    assert str(err.value).startswith("dmm: command 'CAL:SEC:STAT OFF,HP034401' failed: error +703, Invalid secure "
                                     "code (the calibration stays secured: check calibration_code)")


def test_a_refused_value_is_never_calibrated_with():
    pairs = [*configured(), CONF_10V_REPLY, UNSECURE, NO_ERROR, (b"CAL:VAL 10\n", None),
             (b"SYST:ERR?\n", b'-222,"Data out of range"\n'), NO_ERROR, SECURE, NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError, match="'CAL:VAL 10' failed: error -222, Data out of range \\(the adj"):
            dmm.adjust(DCV, 10.0, 10.0)  # no CAL?: the meter would calibrate with its previous value


def test_a_meter_that_will_not_secure_again_is_reported():
    pairs = [*configured(), CONF_10V_REPLY, *adjusting(b"10")[:-1], (b"SYST:ERR?\n", b'+703,"Invalid secure code"\n'),
             NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(InstrumentError) as err:
            dmm.adjust(DCV, 10.0, 10.0)
    assert str(err.value).startswith("dmm: command 'CAL:SEC:STAT ON,HP034401' failed: error +703, Invalid secure "
                                     "code (the meter may be left unsecured")


def test_a_garbled_calibration_reply_is_refused_and_the_meter_secured_again():
    pairs = [*configured(), CONF_10V_REPLY, UNSECURE, NO_ERROR, (b"CAL:VAL 10\n", None), NO_ERROR,
             (b"CAL?\n", b"0\n"), SECURE, NO_ERROR]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        dmm.configure(DCV, 10.0, 10)
        with pytest.raises(GarbledReply) as err:
            dmm.adjust(DCV, 10.0, 10.0)
    assert str(err.value).startswith("dmm: command 'CAL?' failed: reply '0' is not +0 (passed) or +1 (failed)")


def test_calibration_count():
    with expected_protocol(Keysight34401A, [(b"CAL:COUN?\n", b"+12\n"), (b"CAL:COUN?\n", b"0\n"),
                                            (b"CAL:COUN?\n", b"+1.2E+01\n")], name="dmm") as dmm:
        assert dmm.calibration_count() == 12
        assert dmm.calibration_count() == 0
        with pytest.raises(GarbledReply, match="dmm: command 'CAL:COUN\\?' failed: reply '\\+1.2E\\+01' is not an int"):
            dmm.calibration_count()


# -- calibration adjustment: the strict replies (hypothesis) ------------------------------


def adjusting_answers(reply: str) -> AnsweringTransport:
    """A meter configured to DC volts, 10 V, 10 PLC, answering ``reply`` to ``CAL?``."""
    return AnsweringTransport({"CAL?": [wire(reply)]},
                              {STATE_COMMAND: state_reply(), "SYST:ERR?": b'+0,"No error"\n'}, name="dmm")


@PROPERTY
@given(replies(st.sampled_from(["+0", "+1"]), max_size=8))
def test_calibrate_reply_parser(reply):
    """Arbitrary replies to ``CAL?``: the adjustment passes only for exactly
    ``+0``, fails as refused for exactly ``+1``, and anything else is a
    `GarbledReply`; the meter is secured again whatever it answered."""
    transport = adjusting_answers(reply)
    dmm = Keysight34401A(transport, VirtualClock())
    dmm.configure(DCV, 10.0, 10)
    try:
        dmm.adjust(DCV, 10.0, 10.0)
    except GarbledReply as e:
        assert reply not in ("+0", "+1") and e.command == "CAL?"
    except InstrumentError as e:
        assert reply == "+1" and e.command == "CAL?" and "the adjustment failed" in str(e)
    except CalstationError:
        pytest.fail("only GarbledReply or InstrumentError may come from adjust")
    else:
        assert reply == "+0"
    assert transport.sent[-2:] == ["CAL:SEC:STAT ON,HP034401", "SYST:ERR?"]
    assert transport.sent.count("CAL?") == 1


@PROPERTY
@given(replies(st.integers(0, 10**6).map("{:+d}".format), max_size=12))
def test_calibration_count_parser(reply):
    dmm = Keysight34401A(AnsweringTransport({"CAL:COUN?": [wire(reply)]}, name="dmm"), VirtualClock())
    try:
        count = dmm.calibration_count()
    except GarbledReply:
        assert not re.fullmatch(r"\+?[0-9]{1,10}", reply)
    else:
        assert re.fullmatch(r"\+?[0-9]{1,10}", reply) and count == int(reply)


# -- calibration adjustment: the simulator -------------------------------------------------


class Input:
    """A stimulus whose value a test sets."""

    def __init__(self, function: Function, value: float = 0.0) -> None:
        self.function, self.value = function, value

    def __call__(self) -> Stimulus:
        return Stimulus(self.function.value, self.value, 1000.0 if self.function.is_ac else 0.0)


def sim_with_input(function: Function, dut: DutErrors, cls: type[Sim34401A] = Sim34401A) -> tuple[Sim34401A, Input]:
    sim = cls(rng=np.random.default_rng(0), errors=dut)
    source = Input(function)
    sim.connect("input", source)
    return sim, source


def reading(sim: Sim34401A) -> float:
    return float(sim.handle("READ?") or "nan")


BAD = DutErrors(offset=30e-6, gain=80e-6, noise=0.0, ohms_offset=5e-3, ohms_gain=150e-6)


def test_simulator_adjusts_the_offset_at_zero_and_the_gain_at_full_scale():
    sim, source = sim_with_input(DCV, BAD)
    sim.handle("CONF:VOLT:DC 10")
    assert reading(sim) == pytest.approx(30e-6, abs=1e-9)  # as found: its offset
    source.value = 10.0
    assert reading(sim) == pytest.approx(10.00083, abs=1e-9)  # and its gain
    assert sim.handle("CAL:SEC:STAT?;CAL:COUN?") == "1;+0"  # secured
    sim.handle("CAL:SEC:STAT OFF,HP034401")
    source.value = 0.0
    assert sim.handle("CAL:VAL 0;CAL?") == "+0"  # zero: the offset
    assert reading(sim) == 0.0
    source.value = 10.0
    assert reading(sim) == pytest.approx(10.0008, abs=1e-9)  # the gain is not adjusted yet
    assert sim.handle("CAL:VAL 10;CAL?") == "+0"  # full scale: the gain
    sim.handle("CAL:SEC:STAT ON,HP034401")
    assert sim.handle("CAL:SEC:STAT?;CAL:COUN?;SYST:ERR?") == '1;+2;+0,"No error"'
    for value in (10.0, 0.0, -10.0, 5.0, 1e-3):
        source.value = value
        assert reading(sim) == pytest.approx(value, abs=1e-9)  # one offset and one gain: the whole line
    adjustment = sim.adjustments[(DCV, 10.0)]
    assert adjustment.gain == pytest.approx(1 / (1 + 80e-6)) and adjustment.offset == pytest.approx(-30e-6, rel=1e-3)
    sim.handle("CONF:VOLT:DC 1")  # another range has its own constants: not adjusted
    source.value = 1.0
    assert reading(sim) == pytest.approx(1.00011, abs=1e-9)
    assert sim.adjustment(DCV, 1.0) == NO_ADJUSTMENT and sim.adjustment(DCI, 10.0) == NO_ADJUSTMENT


@pytest.mark.parametrize("value", [1000.0, 999.9876, 0.0, -0.5])
def test_simulator_adjusts_resistance_to_the_value_applied(value):
    sim, source = sim_with_input(R4W, BAD)
    sim.handle("CONF:FRES 1000;CAL:SEC:STAT OFF,HP034401")
    source.value = max(value, 0.0)
    assert sim.handle(f"CAL:VAL {value};CAL?;SYST:ERR?") == '+0;+0,"No error"'
    assert reading(sim) == pytest.approx(value, abs=1e-3)  # one digit on 1 kOhm at 10 PLC
    kind = Adjustment(offset=sim.adjustments[(R4W, 1000.0)].offset)  # zero: only the offset moved
    assert (sim.adjustments[(R4W, 1000.0)] == kind) is (abs(value) < 10.0)


@pytest.mark.parametrize(
    ("commands", "error"),
    [
        ("CAL:VAL 10;CAL?", '+702,"Cal secured"'),  # never unsecured
        ("CAL:SEC:STAT OFF,HP034402;CAL:VAL 10;CAL?", '+703,"Invalid secure code"'),
        ("CAL:SEC:STAT OFF,hp034401;CAL:VAL 10;CAL?", '+703,"Invalid secure code"'),
        ("CAL:SEC:STAT OFF;CAL:VAL 10;CAL?", '-109,"Missing parameter"'),
        ("CAL:SEC:STAT MAYBE,HP034401;CAL:VAL 10;CAL?", '-224,"Illegal parameter value"'),
        ("CAL:SEC:STAT OFF,HP034401;CAL:VAL 12.5;CAL?", '-222,"Data out of range"'),  # beyond 120 % of 10 V
        ("CAL:SEC:STAT OFF,HP034401;CAL:VAL -20;CAL?", '-222,"Data out of range"'),
        ("CAL:SEC:STAT OFF,HP034401;CAL?", '-221,"Settings conflict"'),  # no CAL:VAL
        ("CAL:SEC:STAT OFF,HP034401;CAL:VAL;CAL?", '-109,"Missing parameter"'),
        ("CAL:SEC:STAT OFF,HP034401;CAL:VAL TEN;CAL?", '-141,"Invalid character data"'),
        ("CAL:SEC:STAT OFF,HP034401;CAL:VAL NAN;CAL?", '-224,"Illegal parameter value"'),
        ("CAL:SEC:STAT OFF,HP034401;CAL:VAL 1;CAL?", '+707,"Cal signal measurement out of range"'),  # 10 V in
    ],
)
def test_simulator_refuses_an_adjustment_and_changes_nothing(commands, error):
    sim, source = sim_with_input(DCV, BAD)
    source.value = 10.0
    sim.handle("CONF:VOLT:DC 10")
    before = reading(sim)
    replies_ = (sim.handle(commands) or "").split(";")
    assert replies_[-1] == "+1"  # CAL?: failed
    assert sim.handle("SYST:ERR?") == error
    assert sim.adjustments == {} and sim.calibration_count == 0 and reading(sim) == before
    assert sim.handle("*ESR?") != "+0"  # the error set its bit in the status register


def test_simulator_refuses_a_resistance_adjustment_with_nothing_on_its_input():
    sim = Sim34401A(errors=BAD)  # nothing connected: an open input reads overload
    assert sim.handle("CONF:FRES 100;CAL:SEC:STAT OFF,HP034401;CAL:VAL 100;CAL?") == "+1"
    assert sim.handle("SYST:ERR?") == '+707,"Cal signal measurement out of range"'


def test_simulator_security_takes_quoted_codes_and_booleans_and_its_own_code():
    sim = Sim34401A()
    for command, secured in (('CAL:SEC:STAT 0,"HP034401"', "0"), ("CAL:SEC:STAT ON, 'HP034401'", "1"),
                             ("CALIBRATION:SECURE:STATE OFF,HP034401", "0"), ("CAL:SEC:STAT 1,HP034401", "1")):
        sim.handle(command)
        assert sim.handle("CAL:SEC:STAT?") == secured
    assert sim.handle("SYST:ERR?") == '+0,"No error"'
    own = Sim34401A(security_code="LAB_7")
    own.handle("CAL:SEC:STAT OFF,HP034401")
    assert own.handle("CAL:SEC:STAT?;SYST:ERR?") == '1;+703,"Invalid secure code"'
    own.handle("CAL:SEC:STAT OFF,LAB_7")
    assert own.handle("CAL:SEC:STAT?;SYST:ERR?") == '0;+0,"No error"'


def test_simulator_calibration_value_query():
    sim = Sim34401A()
    assert sim.handle("CAL:VAL?") == "+0.00000000E+00"
    sim.handle("CAL:VAL 9.99999")
    assert sim.handle("CALIBRATION:VALUE?") == "+9.99999000E+00" and sim.calibration_value == 9.99999


def test_power_cycle_keeps_the_adjustments_and_the_count_but_secures_the_meter():
    sim, source = sim_with_input(DCV, BAD)
    sim.handle("CONF:VOLT:DC 10;CAL:SEC:STAT OFF,HP034401")
    source.value = 10.0
    assert sim.handle("CAL:VAL 10;CAL?") == "+0"
    sim.handle("*RST")  # a reset keeps everything: the constants and the security state
    assert sim.handle("CAL:SEC:STAT?;CAL:COUN?") == "0;+1" and (DCV, 10.0) in sim.adjustments
    sim.power_cycle()
    assert sim.handle("CAL:SEC:STAT?;CAL:COUN?") == "1;+1"  # secured again; the count is kept
    sim.handle("CONF:VOLT:DC 10")
    assert reading(sim) == pytest.approx(10.0, abs=1e-9)  # the adjustment is kept (non-volatile)
    sim.handle("CAL:SEC:STAT OFF,HP034401")
    assert sim.handle("CAL?;SYST:ERR?") == '+1;-221,"Settings conflict"'  # the CAL:VAL value was not kept


def test_the_34461a_simulator_keeps_constants_only_once_stored():
    sim, source = sim_with_input(DCV, BAD, Sim34461A)
    source.value = 10.0
    sim.handle("CONF:VOLT:DC 10")
    assert sim.handle("CAL:SEC:STAT OFF,HP034401;SYST:ERR?") == '+703,"Invalid secure code"'
    sim.handle("CAL:SEC:STAT OFF,AT34461;CAL:VAL 10")
    assert sim.handle("CALIBRATION:ALL?") == "+0"
    assert reading(sim) == pytest.approx(10.0, abs=1e-9)  # in force at once
    sim.power_cycle()
    sim.handle("CONF:VOLT:DC 10")
    assert reading(sim) == pytest.approx(10.00083, abs=1e-9)  # not stored: lost
    sim.handle("CAL:SEC:STAT OFF,AT34461;CAL:VAL 10;CAL?;CAL:STOR;CAL:SEC:STAT ON,AT34461")
    sim.handle("CAL:STOR")  # secured: refused
    assert sim.handle("SYST:ERR?;SYST:ERR?") == '+702,"Cal secured";+0,"No error"'
    sim.power_cycle()
    sim.handle("CONF:VOLT:DC 10")
    assert reading(sim) == pytest.approx(10.0, abs=1e-9)  # stored: kept


# -- calibration adjustment: the driver on the simulated dmm-calibrator bench -------------


def bench_for_adjustment(r: Reached, dut: DutErrors) -> tuple[Keysight34401A, Fluke5522A]:
    """The meter as ``dut`` (noiseless but for its own noise), configured to
    DC volts, 10 V, 10 PLC, and the calibrator in operate at 0 V."""
    r.bench.dmm.dut = dut
    cal = Fluke5522A(r.open("calibrator"), r.bench.clock)
    cal.set_output(DCV, 0.0)
    cal.operate()
    cal.wait_settled(5.0)
    dmm = meter(r)
    dmm.configure(DCV, 10.0, 10)
    return dmm, cal


def errors_over_the_range(dmm: Keysight34401A, cal: Fluke5522A) -> list[float]:
    """|reading - applied| / the 1-year specification, at 0, +-full scale and half scale."""
    spec = sheet().function(DCV).spec("1y")
    ratios = []
    for value in (0.0, 10.0, -10.0, 5.0):
        cal.set_output(DCV, value)
        cal.wait_settled(5.0)
        ratios.append(max(abs(r - value) for r in dmm.read_many(3)) / spec.half_width(value, 10.0))
    return ratios


def test_adjusting_a_failing_dut_brings_it_within_its_specification(reached: Reached):
    dmm, cal = bench_for_adjustment(reached, DutErrors(gain=80e-6))
    sim = reached.bench.dmm
    count = dmm.calibration_count()
    as_found = errors_over_the_range(dmm, cal)
    assert max(as_found) > 1.5  # the DUT fails at +-10 V
    cal.set_output(DCV, 0.0)
    cal.wait_settled(5.0)
    dmm.adjust(DCV, 10.0, 0.0)  # zero: the offset
    cal.set_output(DCV, 10.0)
    cal.wait_settled(5.0)
    dmm.adjust(DCV, 10.0, 10.0)  # full scale: the gain
    dmm.confirm_state()  # still configured as before, no error queued
    as_left = errors_over_the_range(dmm, cal)
    assert max(as_left) < 0.25  # well within its specification over the whole range (one digit at 0 V: 0.2)
    assert dmm.calibration_count() == count + 2
    assert sim.secured and set(sim.adjustments) == {(DCV, 10.0)}
    assert [m for m in sim.received if m.startswith("CAL:SEC")] == [
        "CAL:SEC:STAT OFF,HP034401", "CAL:SEC:STAT ON,HP034401"] * 2


def test_adjusting_with_the_calibrator_in_standby_fails_and_leaves_the_meter_secured(reached: Reached):
    dmm, cal = bench_for_adjustment(reached, DutErrors(gain=80e-6))
    cal.standby()  # the operator forgot OPER: 0 V where 10 V is said to be applied
    with pytest.raises(InstrumentError) as err:
        dmm.adjust(DCV, 10.0, 10.0)
    assert str(err.value).startswith("dmm: command 'CAL?' failed: error +707, Cal signal measurement out of range "
                                     "(the adjustment failed)")
    sim = reached.bench.dmm
    assert sim.secured and sim.adjustments == {} and sim.calibration_count == 0
    dmm.confirm_state()  # the error was read: the meter is fine to go on


def test_adjusting_with_a_wrong_code_fails_and_changes_nothing(reached: Reached):
    dmm, _ = bench_for_adjustment(reached, DutErrors(gain=80e-6))
    dmm.calibration_code = "HP034402"
    with pytest.raises(InstrumentError, match="'CAL:SEC:STAT OFF,HP034402' failed: error \\+703, Invalid secure code"):
        dmm.adjust(DCV, 10.0, 0.0)
    sim = reached.bench.dmm
    assert sim.secured and sim.adjustments == {}
    assert not any(m.startswith(("CAL:VAL", "CAL?")) for m in sim.received)
    dmm.confirm_state()


def test_a_power_cycle_before_adjusting_is_caught_and_nothing_is_sent(reached: Reached):
    dmm, _ = bench_for_adjustment(reached, DutErrors(gain=80e-6))
    sim = reached.bench.dmm
    sim.power_cycle()  # the meter is back on autorange: adjusting would write another range's constants
    with pytest.raises(InstrumentError, match="dmm: command '\\*ESR\\?' failed: the meter was switched off and on"):
        dmm.adjust(DCV, 10.0, 0.0)
    assert not any(m.startswith("CAL") for m in sim.received)


def test_a_power_cut_at_the_calibration_fails_the_adjustment_and_is_seen_after(reached: Reached):
    dmm, cal = bench_for_adjustment(reached, DutErrors(gain=80e-6))
    sim = reached.bench.dmm
    cut = faults.once(faults.when(b"CAL?", sim.power_cycle))
    sim.line_fault = cut
    cal.set_output(DCV, 10.0)
    cal.wait_settled(5.0)
    with pytest.raises(InstrumentError, match="'CAL\\?' failed: error \\+702, Cal secured \\(the adjustment failed"):
        dmm.adjust(DCV, 10.0, 10.0)
    assert cut.fired == 1 and sim.secured and sim.adjustments == {}
    with pytest.raises(InstrumentError, match="switched off and on"):
        dmm.confirm_state()
