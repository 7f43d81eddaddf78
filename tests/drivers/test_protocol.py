"""The exact-bytes protocol helper itself, and what every driver shares.

Each model's exact bytes are tested in its own file."""

from __future__ import annotations

import pytest

from drivers.clock import VirtualClock
from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from tests.drivers.protocol import ProtocolError, ProtocolTransport, expected_protocol

NO_ERROR_5522A = (b"ERR?\n", b'0,"No Error"\n')


# -- the helper itself ---------------------------------------------------------


def test_protocol_helper_rejects_a_different_command():
    with pytest.raises(ProtocolError, match="expected b'OPER\\\\n'"):
        with expected_protocol(Fluke5522A, [(b"OPER\n", None), NO_ERROR_5522A]) as cal:
            cal.standby()


def test_protocol_helper_rejects_an_unfinished_conversation():
    with pytest.raises(ProtocolError, match="stopped after 1 of 2"):
        with expected_protocol(Fluke5522A, [(b"*IDN?\n", b"FLUKE,5522A,1,1\n"), (b"OPER\n", None)]) as cal:
            cal.identify()


# -- every driver ------------------------------------------------------------
# The exact bytes of each model, function by function, are in its own file
# (tests/drivers/fluke/test_5522a.py, tests/drivers/keysight/test_34401a.py).


def test_serial_is_inferred_from_the_resource():
    for resource, serial in (("ASRL1::INSTR", True), ("COM3", True), ("/dev/ttyUSB0", True),
                             ("GPIB0::22::INSTR", False), ("TCPIP::10.0.0.2::5025::SOCKET", False),
                             ("sim://dmm", False)):
        t = ProtocolTransport([])
        t.resource = resource
        assert Keysight34401A(t, VirtualClock()).serial is serial
        assert Fluke5522A(t, VirtualClock()).serial is serial
