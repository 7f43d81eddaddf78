"""Transports: resource strings, framing, I/O log, timeouts, TCP_NODELAY."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from drivers.errors import GarbledReply, InstrumentTimeout, ResourceNotFound
from drivers.sim.base import SimulatedInstrument
from drivers.sim.bench import SimBench
from drivers.sim.serve import PtyServer, TcpServer
from drivers.transport import (
    IO_INLINE,
    IOEntry,
    IOLog,
    VisaTransport,
    is_serial_line,
    nrf,
    open_transport,
    parse_definite_length_block,
    resource_kind,
    resource_manager,
)
from tests.drivers.conftest import Reached

# -- pure functions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(10.0, "10"), (-5.0, "-5"), (0.0, "0"), (0.1, "0.1"), (1.000001, "1.000001"),
     (-1.5e-6, "-1.5E-06"), (1e-7, "1E-07"), (329.9999, "329.9999"), (0.02, "0.02")],
)
def test_nrf_is_exact(value, text):
    assert nrf(value) == text
    assert float(nrf(value)) == value


def test_nrf_refuses_nan_and_infinity():
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError, match="cannot send"):
            nrf(bad)


def test_definite_length_block():
    assert parse_definite_length_block(b"#15hello\n") == (b"hello", 8)
    assert parse_definite_length_block(b"#210" + b"0123456789") == (b"0123456789", 14)
    data = bytes(range(256)) * 4  # binary, contains '\n' and '#'
    assert parse_definite_length_block(b"#41024" + data + b"\n") == (data, 1030)
    assert parse_definite_length_block(b"#10") == (b"", 3)


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"", "does not start"), (b"15hello", "does not start"), (b"#x5hello", "not a digit"),
     (b"#0hello\n", "indefinite-length"), (b"#2 5hello", "not 2 digits"),
     (b"#15hel", "announces 5 bytes but only 3")],
)
def test_definite_length_block_errors(data, why):
    with pytest.raises(ValueError, match=why):
        parse_definite_length_block(data)


@pytest.mark.parametrize(
    ("resource", "kind", "serial"),
    [("sim://dmm", "sim", False), ("TCPIP::127.0.0.1::5025::SOCKET", "visa", False),
     ("TCPIP0::10.1.2.3::inst0::INSTR", "visa", False), ("GPIB0::22::INSTR", "visa", False),
     ("USB0::0x0957::0x0607::MY1::INSTR", "visa", False), ("ASRL3::INSTR", "visa", True),
     ("COM3", "serial", True), ("/dev/ttyUSB0", "serial", True), ("/dev/pts/4", "serial", True),
     ("socket://127.0.0.1:4000", "serial", True), ("loop://", "serial", True),
     ("dmm.local", None, False), ("", None, False)],
)
def test_resource_kinds(resource, kind, serial):
    assert resource_kind(resource) == kind
    assert is_serial_line(resource) is serial


# -- opening --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "resource",
    ["sim://nosuch", f"TCPIP::127.0.0.1::{_free_port()}::SOCKET", "GPIB0::22::INSTR",
     "/dev/nonexistent-tty", "COM99", "bogus-resource"],
)
def test_unknown_or_unreachable_resource(resource, bench):
    with pytest.raises(ResourceNotFound) as err:
        open_transport(resource, name="dmm", timeout_s=0.5, simulators=bench.simulators)
    message = str(err.value)
    assert message.startswith(f"{resource}: ")
    assert "run `calstation sim serve`" in message
    assert "\n" not in message


def test_unknown_sim_key_lists_the_known_ones(bench):
    with pytest.raises(ResourceNotFound, match=r"known: (ambient, )?calibrator, dmm"):
        open_transport("sim://dvm", name="dmm", simulators=bench.simulators)


def test_resource_managers_are_cached():
    assert resource_manager("@py") is resource_manager("@py")


def test_unloadable_visa_library():
    with pytest.raises(ResourceNotFound, match="VISA library '/no/such/visa.so' cannot be loaded"):
        open_transport("GPIB0::22::INSTR", name="dmm", visa_library="/no/such/visa.so")


# -- every transport --------------------------------------------------------------


def test_query_and_io_log_has_every_byte(reached: Reached):
    dmm = reached.open("dmm")
    assert dmm.query("*IDN?") == "HEWLETT-PACKARD,34401A,0,11-5-2"
    dmm.write("CONF:VOLT:DC 10")
    dmm.write("FOO")
    assert dmm.query("SYST:ERR?") == '-113,"Undefined header"'
    log = reached.log.entries()
    assert all(isinstance(e, IOEntry) and e.instrument == "dmm" for e in log)
    assert b"".join(e.data for e in log if e.direction == "tx") == b"*IDN?\nCONF:VOLT:DC 10\nFOO\nSYST:ERR?\n"
    assert b"".join(e.data for e in log if e.direction == "rx") == (
        b'HEWLETT-PACKARD,34401A,0,11-5-2\n-113,"Undefined header"\n')
    assert [e.direction for e in log] == ["tx", "rx", "tx", "tx", "tx", "rx"]
    times = [e.time for e in log]
    assert times == sorted(times) and abs(times[0] - time.time()) < 60


def test_exchanges_longer_than_a_log_record_are_logged_whole(reached: Reached):
    # An I/O log record holds 36 bytes; a longer exchange continues in the
    # next records and must read back as the one exchange it was.
    dmm = reached.open("dmm")
    long_command = "DISP:TEXT 'CALIBRATION IN PROGRESS, DO NOT TOUCH THE LEADS'"
    dmm.write(long_command)
    dmm.write("SAMP:COUN 5")
    reply = dmm.query("READ?")
    assert len(reply) > 2 * IO_INLINE
    assert len(reached.log) > 6  # the long ones took more than one record each
    log = reached.log.entries()
    assert [(e.direction, e.data) for e in log] == [
        ("tx", long_command.encode() + b"\n"), ("tx", b"SAMP:COUN 5\n"), ("tx", b"READ?\n"),
        ("rx", reply.encode() + b"\n")]


def test_silent_instrument_times_out(reached: Reached):
    dmm = reached.open("dmm", timeout_s=0.2)
    reached.bench.dmm.fault = "silent"
    started = time.monotonic()
    with pytest.raises(InstrumentTimeout) as err:
        dmm.query("READ?")
    assert time.monotonic() - started < 2.0
    assert str(err.value) == (f"dmm: no reply to 'READ?' within 0.2 s; check the instrument is on, "
                              f"connected, and at {reached.resources['dmm']}")
    reached.bench.dmm.fault = None
    assert dmm.query("*IDN?").startswith("HEWLETT-PACKARD")


class BlockSim(SimulatedInstrument):
    """Answers ``DATA?`` with a binary block that contains LF and '#'."""

    payload = bytes(range(256)).decode("latin-1")

    def execute(self, header: str, argument: str) -> str | None:
        if header == "DATA?":
            return f"#3{len(self.payload)}{self.payload}"
        if header == "BAD?":
            return "hello"
        return None


def test_binary_block_over_every_transport():
    payload = bytes(range(256))
    sim = BlockSim("blk")
    servers: list[TcpServer | PtyServer] = [TcpServer(sim)]
    resources = ["sim://blk", servers[0].resource]
    if os.name == "posix":
        servers.append(PtyServer(sim))
        resources.append(servers[1].resource)
    try:
        for resource in resources:
            log = IOLog()
            t = open_transport(resource, name="blk", io_log=log, timeout_s=1.0, simulators={"blk": sim})
            try:
                assert t.query_binary_block("DATA?") == payload, resource
                assert b"".join(e.data for e in log.entries() if e.direction == "rx") == b"#3256" + payload + b"\n"
                # the termination after the block was consumed: the next exchange is in step
                assert t.query_binary_block("DATA?") == payload
                with pytest.raises(GarbledReply, match="blk: command 'BAD\\?' failed: reply b'he'"):
                    t.query_binary_block("BAD?")
            finally:
                t.close()
    finally:
        for s in servers:
            s.close()


# -- TCP specifics ------------------------------------------------------------------


def test_tcp_nodelay_is_set_on_the_pyvisa_py_socket(bench: SimBench):
    resources = bench.serve_tcp()
    t = open_transport(resources["calibrator"], name="calibrator")
    try:
        assert isinstance(t, VisaTransport)
        rm = resource_manager("@py")
        session = rm.visalib.sessions[t._res.session]
        sock = session.interface
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert t.tcp_nodelay is True
    finally:
        t.close()


def test_tcp_write_then_query_does_not_stall_on_delayed_ack(bench: SimBench):
    # With Nagle on, each write+query pair waits ~40 ms for the delayed ACK.
    resources = bench.serve_tcp()
    t = open_transport(resources["calibrator"], name="calibrator")
    try:
        t.query("*IDN?")
        started = time.perf_counter()
        for _ in range(20):
            t.write("OUT 1 V")
            assert t.query("ERR?") == '0,"No Error"'
        elapsed = time.perf_counter() - started
    finally:
        t.close()
    assert elapsed < 0.4, f"20 write+query pairs took {elapsed * 1000:.0f} ms"


# -- pyvisa-sim ----------------------------------------------------------------------


def test_pyvisa_sim_resource_through_yaml():
    path = Path(__file__).with_name("pyvisa_sim_34401a.yaml")
    log = IOLog()
    t = open_transport("GPIB0::22::INSTR", name="dmm", io_log=log, visa_library=f"{path}@sim")
    try:
        assert t.query("*IDN?") == "HEWLETT-PACKARD,34401A,0,11-5-2"
        assert t.query("READ?") == "+1.00000230E+01"
    finally:
        t.close()
    assert [e.data for e in log.entries()] == [b"*IDN?\n", b"HEWLETT-PACKARD,34401A,0,11-5-2\n", b"READ?\n",
                                     b"+1.00000230E+01\n"]


def test_pyserial_url_loopback_with_crlf_terminations():
    # loop:// returns what is written: a serial transport that works on every OS.
    log = IOLog()
    t = open_transport("loop://", name="loop", io_log=log, timeout_s=0.2,
                       write_termination="\r\n", read_termination="\r\n")
    try:
        assert t.query("REMOTE") == "REMOTE"
        assert [e.data for e in log.entries()] == [b"REMOTE\r\n", b"REMOTE\r\n"]
        with pytest.raises(InstrumentTimeout, match="loop: no reply to 'REMOTE' within 0.2 s"):
            t.read()
    finally:
        t.close()
