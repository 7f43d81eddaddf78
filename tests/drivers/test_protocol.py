"""The exact bytes each driver sends and the replies it understands."""

from __future__ import annotations

import pytest

from drivers.clock import VirtualClock
from drivers.errors import GarbledReply, InstrumentError, InstrumentTimeout
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from drivers.roles import Function
from tests.drivers.protocol import ProtocolError, ProtocolTransport, expected_protocol

NO_ERROR_5522A = (b"ERR?\n", b'0,"No Error"\n')
NO_ERROR_34401A = (b"SYST:ERR?\n", b'+0,"No error"\n')


# -- the helper itself ---------------------------------------------------------


def test_protocol_helper_rejects_a_different_command():
    with pytest.raises(ProtocolError, match="expected b'OPER\\\\n'"):
        with expected_protocol(Fluke5522A, [(b"OPER\n", None), NO_ERROR_5522A]) as cal:
            cal.standby()


def test_protocol_helper_rejects_an_unfinished_conversation():
    with pytest.raises(ProtocolError, match="stopped after 1 of 2"):
        with expected_protocol(Fluke5522A, [(b"*IDN?\n", b"FLUKE,5522A,1,1\n"), (b"OPER\n", None)]) as cal:
            cal.identify()


# -- Fluke 5522A ----------------------------------------------------------------


def test_5522a_identify():
    with expected_protocol(Fluke5522A, [(b"*IDN?\n", b"FLUKE,5522A,1234567,1.4\n")]) as cal:
        ident = cal.identify()
    assert (ident.manufacturer, ident.model, ident.serial) == ("FLUKE", "5522A", "1234567")
    assert ident.matches(Fluke5522A.manufacturers, Fluke5522A.models)


def test_5522a_initialize_on_gpib_does_not_send_remote_or_reset():
    with expected_protocol(Fluke5522A, [(b"*CLS\n", None), (b"STBY\n", None), NO_ERROR_5522A]) as cal:
        cal.initialize()


def test_5522a_initialize_on_serial_sends_remote_first():
    with expected_protocol(
        Fluke5522A,
        [(b"*CLS\n", None), (b"REMOTE\n", None), NO_ERROR_5522A, (b"STBY\n", None), NO_ERROR_5522A],
        serial=True,
    ) as cal:
        cal.initialize()


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (10.0, b"OUT 10 V\n"),
        (-5, b"OUT -5 V\n"),
        (0.1, b"OUT 0.1 V\n"),
        (1.000001, b"OUT 1.000001 V\n"),
        (-1.5e-6, b"OUT -1.5E-06 V\n"),
        (1020.0, b"OUT 1020 V\n"),
    ],
)
def test_5522a_set_output_sends_the_exact_value(value, sent):
    with expected_protocol(Fluke5522A, [(sent, None), NO_ERROR_5522A]) as cal:
        cal.set_output(Function.DCV, value)


def test_5522a_set_output_outside_limits_sends_nothing():
    with expected_protocol(Fluke5522A, [], name="calibrator") as cal:
        with pytest.raises(InstrumentError, match=r"calibrator: command 'OUT 1100 V' failed: 1100 V is outside"):
            cal.set_output(Function.DCV, 1100.0)


def test_5522a_operate_and_standby():
    with expected_protocol(Fluke5522A, [(b"OPER\n", None), NO_ERROR_5522A,
                                        (b"STBY\n", None), NO_ERROR_5522A]) as cal:
        cal.operate()
        cal.standby()


def test_5522a_error_names_instrument_command_and_message_and_drains_queue():
    pairs = [
        (b"OUT 10 V\n", None),
        (b"ERR?\n", b'537,"Entry exceeds limits"\n'),
        (b"ERR?\n", b'1302,"Unknown command"\n'),
        NO_ERROR_5522A,
    ]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        with pytest.raises(InstrumentError) as err:
            cal.set_output(Function.DCV, 10.0)
    message = str(err.value)
    assert "calibrator" in message and "'OUT 10 V'" in message and "Entry exceeds limits" in message
    assert "\n" not in message
    assert err.value.command == "OUT 10 V"


def test_5522a_wait_settled_polls_isr_every_50_ms_of_bench_time():
    clock = VirtualClock()
    pairs = [(b"ISR?\n", b"1\n"), (b"ISR?\n", b"1\n"), (b"ISR?\n", b"4097\n")]
    with expected_protocol(Fluke5522A, pairs, clock=clock) as cal:
        cal.wait_settled(timeout_s=5.0)
    assert clock.now() == pytest.approx(0.10)


def test_5522a_wait_settled_times_out_on_the_bench_clock():
    clock = VirtualClock()
    pairs = [(b"ISR?\n", b"1\n")] * 21
    with expected_protocol(Fluke5522A, pairs, clock=clock, name="calibrator") as cal:
        with pytest.raises(InstrumentTimeout, match=r"calibrator: output not settled .* within 1 s"):
            cal.wait_settled(timeout_s=1.0)
    assert clock.now() == pytest.approx(1.0)


def test_5522a_safe_state_is_standby_then_zero():
    with expected_protocol(Fluke5522A, [(b"STBY\n", None), NO_ERROR_5522A,
                                        (b"OUT 0 V\n", None), NO_ERROR_5522A]) as cal:
        cal.safe_state()


def test_5522a_safe_state_sets_zero_even_if_standby_fails_then_raises_the_first_error():
    pairs = [
        (b"STBY\n", None),
        (b"ERR?\n", b'104,"Hardware relay trip occurred"\n'),
        NO_ERROR_5522A,
        (b"OUT 0 V\n", None),
        NO_ERROR_5522A,
    ]
    with expected_protocol(Fluke5522A, pairs, name="calibrator") as cal:
        with pytest.raises(InstrumentError, match="'STBY'.*Hardware relay trip"):
            cal.safe_state()


def test_5522a_readback_queries():
    pairs = [(b"OUT?\n", b"1.000000E+01,V,0.000000E+00,0,0.00E+00\n"), (b"OPER?\n", b"1\n")]
    with expected_protocol(Fluke5522A, pairs) as cal:
        assert cal.output == 10.0
        assert cal.operating is True


def test_5522a_garbled_isr_reply():
    with expected_protocol(Fluke5522A, [(b"ISR?\n", b"OK\n")], name="calibrator") as cal:
        with pytest.raises(GarbledReply, match="calibrator: command 'ISR\\?' failed: reply 'OK'"):
            cal.wait_settled(1.0)


# -- Keysight 34401A ------------------------------------------------------------


def test_34401a_identify_accepts_hp_agilent_keysight():
    for idn in (b"HEWLETT-PACKARD,34401A,0,11-5-2\n", b"Agilent Technologies,34401A,MY1,10-5-2\n",
                b"Keysight Technologies,34401A,MY2,11-5-3\n"):
        with expected_protocol(Keysight34401A, [(b"*IDN?\n", idn)]) as dmm:
            assert dmm.identify().matches(Keysight34401A.manufacturers, Keysight34401A.models)


def test_34401a_initialize_on_gpib():
    with expected_protocol(Keysight34401A, [(b"*CLS\n", None), NO_ERROR_34401A]) as dmm:
        dmm.initialize()


def test_34401a_initialize_on_serial_sends_syst_rem():
    with expected_protocol(Keysight34401A, [(b"*CLS\n", None), (b"SYST:REM\n", None), NO_ERROR_34401A],
                           serial=True) as dmm:
        dmm.initialize()


@pytest.mark.parametrize(
    ("range_", "nplc", "conf", "nplc_cmd", "resolution"),
    [
        (0.1, 10, b"CONF:VOLT:DC 0.1\n", b"VOLT:DC:NPLC 10\n", 100e-9),
        (10.0, 10, b"CONF:VOLT:DC 10\n", b"VOLT:DC:NPLC 10\n", 10e-6),
        (10.0, 100, b"CONF:VOLT:DC 10\n", b"VOLT:DC:NPLC 100\n", 10e-6),
        (10.0, 1, b"CONF:VOLT:DC 10\n", b"VOLT:DC:NPLC 1\n", 100e-6),
        (1000.0, 0.2, b"CONF:VOLT:DC 1000\n", b"VOLT:DC:NPLC 0.2\n", 0.1),
        (1.0, 0.02, b"CONF:VOLT:DC 1\n", b"VOLT:DC:NPLC 0.02\n", 100e-6),
    ],
)
def test_34401a_configure_and_resolution(range_, nplc, conf, nplc_cmd, resolution):
    with expected_protocol(Keysight34401A, [(conf, None), NO_ERROR_34401A, (nplc_cmd, None), NO_ERROR_34401A]) as dmm:
        dmm.configure(Function.DCV, range_, nplc)
        assert dmm.resolution() == pytest.approx(resolution)


def test_34401a_configure_error_names_the_command_and_message():
    pairs = [(b"CONF:VOLT:DC 10\n", None), NO_ERROR_34401A, (b"VOLT:DC:NPLC 10\n", None),
             (b"SYST:ERR?\n", b'-222,"Data out of range"\n'), NO_ERROR_34401A]
    with expected_protocol(Keysight34401A, pairs, name="dmm") as dmm:
        with pytest.raises(InstrumentError, match=r"dmm: command 'VOLT:DC:NPLC 10' failed: error -222, Data out of range"):
            dmm.configure(Function.DCV, 10.0, 10)
        with pytest.raises(InstrumentError, match="not configured"):
            dmm.resolution()


def test_34401a_configure_rejects_a_range_it_does_not_have_without_sending():
    with expected_protocol(Keysight34401A, [], name="dmm") as dmm:
        with pytest.raises(InstrumentError, match="'CONF:VOLT:DC 20'.*20 V is not a DC voltage range"):
            dmm.configure(Function.DCV, 20.0, 10)
        with pytest.raises(InstrumentError, match="'VOLT:DC:NPLC 5'"):
            dmm.configure(Function.DCV, 10.0, 5)


def test_34401a_read():
    with expected_protocol(Keysight34401A, [(b"READ?\n", b"+1.00000230E+01\n"),
                                            (b"READ?\n", b"-9.99999800E-02\n")]) as dmm:
        assert dmm.read() == 10.0000230
        assert dmm.read() == -0.0999999800


def test_34401a_read_many_sets_the_sample_count_once_and_reads_a_block():
    with expected_protocol(Keysight34401A, [
        (b"SAMP:COUN 3\n", None),
        (b"SYST:ERR?\n", b'+0,"No error"\n'),
        (b"READ?\n", b"+1.00000230E+01,+1.00000240E+01,+1.00000220E+01\n"),
        (b"READ?\n", b"+1.00000230E+01,+1.00000250E+01,+1.00000220E+01\n"),
        (b"SAMP:COUN 1\n", None),
        (b"SYST:ERR?\n", b'+0,"No error"\n'),
        (b"READ?\n", b"+1.00000230E+01\n"),
    ]) as dmm:
        assert dmm.read_many(3) == [10.0000230, 10.0000240, 10.0000220]
        assert dmm.read_many(3)[1] == 10.0000250  # the count is kept: no second SAMP:COUN
        assert dmm.read() == 10.0000230  # a single reading sets it back to 1


def test_34401a_read_many_refuses_a_short_block():
    with expected_protocol(Keysight34401A, [
        (b"SAMP:COUN 2\n", None),
        (b"SYST:ERR?\n", b'+0,"No error"\n'),
        (b"READ?\n", b"+1.00000230E+01\n"),
    ], name="dmm") as dmm:
        with pytest.raises(GarbledReply, match="1 readings where 2 were asked for"):
            dmm.read_many(2)


def test_34401a_garbled_reading():
    with expected_protocol(Keysight34401A, [(b"READ?\n", b"+1.0\x00\x13#?E+0\n")], name="dmm") as dmm:
        with pytest.raises(GarbledReply) as err:
            dmm.read()
    assert err.value.instrument == "dmm" and err.value.command == "READ?"
    assert "+1.0\\x00\\x13#?E+0" in str(err.value)


def test_34401a_overload_is_an_error_not_a_reading():
    with expected_protocol(Keysight34401A, [(b"READ?\n", b"+9.90000000E+37\n")], name="dmm") as dmm:
        with pytest.raises(InstrumentError, match="dmm: command 'READ\\?' failed: overload"):
            dmm.read()


def test_serial_is_inferred_from_the_resource():
    for resource, serial in (("ASRL1::INSTR", True), ("COM3", True), ("/dev/ttyUSB0", True),
                             ("GPIB0::22::INSTR", False), ("TCPIP::10.0.0.2::5025::SOCKET", False),
                             ("sim://dmm", False)):
        t = ProtocolTransport([])
        t.resource = resource
        assert Keysight34401A(t, VirtualClock()).serial is serial
        assert Fluke5522A(t, VirtualClock()).serial is serial
