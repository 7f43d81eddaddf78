"""The simulators on their bench and their servers, as a driver or a user
would see them. Each model's simulator alone is tested in its model's file."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
import serial

from drivers import registry
from drivers.keysight.k34401a_sim import DutErrors
from drivers.roles import Function
from drivers.sim.base import ByteStream, SimulatedInstrument, scpi_header
from drivers.sim.bench import SimBench
from drivers.sim.serve import start_servers

posix_only = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals need POSIX")


class Echo(SimulatedInstrument):
    def execute(self, header: str, argument: str) -> str | None:
        return f"{header}|{argument}" if header.endswith("?") else None


# -- the byte-stream adapter ----------------------------------------------------------


def test_stream_splits_lines_in_any_pieces_and_terminations():
    s = Echo("echo").stream()
    assert s.feed(b"A? 1\n") == b"A?|1\n"
    assert s.feed(b"B") == b""
    assert s.feed(b"? 2") == b""
    assert s.feed(b"\r\n") == b"B?|2\n"
    assert s.feed(b"C?\rD?\n\nE?\r") == b"C?|\nD?|\nE?|\n"
    assert s.feed(b"\n") == b""  # the LF of a CR LF split across reads is not a command
    assert s.feed(b"X 1;Y? 2 ; Z?\n") == b"Y?|2;Z?|\n"


def test_stream_drops_an_overlong_line():
    s = ByteStream(Echo("echo"))
    assert s.feed(b"A" * 70000) == b""
    assert s.feed(b"B?\n") == b"B?|\n"


def test_scpi_header_short_and_long_forms():
    nplc = scpi_header("[SENSe:]VOLTage[:DC]:NPLCycles?")
    for h in ("VOLT:DC:NPLC?", "SENS:VOLT:NPLC?", ":SENSE:VOLTAGE:DC:NPLCYCLES?", "VOLT:NPLC?"):
        assert nplc.match(h), h
    for h in ("VOLT:DC:NPLC", "VOL:DC:NPLC?", "VOLT:DC:NPLCY?", "SENS:NPLC?"):
        assert not nplc.match(h), h


# -- the simulated bench: calibrator and DMM ---------------------------------------------

#: The SCPI that configures the 34401A simulator, and the OUT that programs the 5522A's.
CONF = {Function.DCV: "CONF:VOLT:DC {};VOLT:DC:NPLC 10", Function.DCI: "CONF:CURR:DC {};CURR:DC:NPLC 10",
        Function.ACV: "CONF:VOLT:AC {}", Function.R2W: "CONF:RES {};RES:NPLC 10",
        Function.R4W: "CONF:FRES {};FRES:NPLC 10"}
OUT = {Function.DCV: "OUT {} V", Function.DCI: "OUT {} A", Function.ACV: "OUT {} V, 1 KHZ",
       Function.R2W: "OUT {} OHM;ZCOMP WIRE2", Function.R4W: "OUT {} OHM;ZCOMP WIRE4"}


def worst_error(bench: SimBench, function: Function = Function.DCV) -> float:
    """Largest |DMM reading - calibrator setpoint| / the DMM's 1-year
    specification (its datasheet) over zero, +-full scale and half scale of
    every range the calibrator can source (AC: full and half scale at
    1 kHz; resistance: no negative values)."""
    meter = registry.datasheet("keysight-34401a").function(function)
    spec = meter.spec("1y")
    low, high = registry.datasheet("fluke-5522a").function(function).limits or (0.0, 0.0)
    frequency = 1000.0 if function.is_ac else 0.0
    worst = 0.0
    cal, dmm = bench.calibrator, bench.dmm
    for range_ in meter.ranges:
        dmm.handle(CONF[function].format(range_))
        for nominal in (0.0, range_, -range_, range_ / 2):
            nominal = min(max(nominal, low), high)
            if function.is_ac and nominal < 0.05 * range_:
                continue  # the AC specification holds from 5 % of range
            cal.handle(f"STBY;{OUT[function].format(nominal)};OPER")
            assert cal.handle("ERR?") == '0,"No Error"'
            bench.clock.sleep(1.0)
            tolerance = spec.half_width(nominal, range_, frequency)
            for _ in range(3):
                error = float(dmm.handle("READ?") or "nan") - nominal
                worst = max(worst, abs(error) / tolerance)
    return worst


@pytest.mark.parametrize("function", list(CONF))
def test_default_dut_is_well_inside_its_one_year_specification(function):
    for seed in range(3):
        assert worst_error(SimBench(seed=seed), function) < 0.6


def test_a_bad_dut_fails():
    assert worst_error(SimBench(dut=DutErrors(gain=80e-6))) > 1.0
    assert worst_error(SimBench(dut=DutErrors(ohms_gain=200e-6)), Function.R4W) > 1.0


def test_leads_disconnected_the_dmm_sees_nothing():
    bench = SimBench()
    bench.calibrator.handle("OUT 10 V;OPER")
    bench.clock.sleep(1)
    bench.dmm.handle("CONF:VOLT:DC 10")
    bench.leads.connected = False
    assert abs(float(bench.dmm.handle("READ?") or "nan")) < 1e-4
    bench.calibrator.handle("OUT 100 OHM;ZCOMP WIRE4;OPER")
    bench.dmm.handle("CONF:FRES 100")
    assert bench.dmm.handle("READ?") == "+9.90000000E+37"  # open: overload


# -- servers --------------------------------------------------------------------------


def _recv_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_tcp_server_survives_disconnects_partial_lines_and_crlf():
    with SimBench() as bench:
        port = int(bench.serve_tcp()["dmm"].split("::")[2])
        a = socket.create_connection(("127.0.0.1", port), timeout=2)
        a.sendall(b"*ID")  # a partial line, then the client goes away
        a.close()
        b = socket.create_connection(("127.0.0.1", port), timeout=2)
        c = socket.create_connection(("127.0.0.1", port), timeout=2)  # two clients at once
        b.sendall(b"*IDN?\r\n")
        assert _recv_line(b) == b"HEWLETT-PACKARD,34401A,0,11-5-2\n"
        c.sendall(b"*I")
        c.sendall(b"DN?\n")
        assert _recv_line(c) == b"HEWLETT-PACKARD,34401A,0,11-5-2\n"
        b.sendall(b"SYST:ERR?\n")  # the aborted '*ID' did not reach the instrument
        assert _recv_line(b) == b'+0,"No error"\n'
        b.close()
        c.close()


def test_close_stops_every_server_thread():
    before = set(threading.enumerate())
    bench = SimBench()
    resources = start_servers(bench, tcp=True, pty=os.name == "posix")
    assert set(resources) == set(bench.simulators) == {"calibrator", "dmm", "ambient"}
    assert all(r["tcp"].startswith("TCPIP::127.0.0.1::") for r in resources.values())
    port = int(resources["dmm"]["tcp"].split("::")[2])
    client = socket.create_connection(("127.0.0.1", port), timeout=2)  # still connected at close
    client.sendall(b"*IDN?\n")
    assert _recv_line(client).startswith(b"HEWLETT")
    started = time.monotonic()
    bench.close()
    assert time.monotonic() - started < 2.0
    assert set(threading.enumerate()) - before == set()
    assert client.recv(10) == b""  # the server hung up
    client.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


@posix_only
def test_pty_server_partial_lines_crlf_and_reopen():
    with SimBench() as bench:
        port = bench.serve_pty()["calibrator"]
        assert port.startswith("/dev/")
        with serial.Serial(port, timeout=2) as s:
            s.write(b"*IDN?\r\n")
            assert s.readline() == b"FLUKE,5522A,1234567,1.4\n"
            s.write(b"OUT 1")
            s.flush()
            s.write(b" V\n")
            s.write(b"OUT?\n")
            assert s.readline() == b"1.000000E+00,V,0.000000E+00,0,0.00E+00\n"
        with serial.Serial(port, timeout=2) as s:  # closed and opened again
            s.write(b"ERR?\n")
            assert s.readline() == b'0,"No Error"\n'
        assert bench.calibrator.output_value == 1.0


def test_serve_forever_until_stopped():
    from drivers.sim.serve import serve_forever

    bench = SimBench()
    stop = threading.Event()
    ready: list[dict[str, dict[str, str]]] = []
    got_ready = threading.Event()

    def on_ready(resources: dict[str, dict[str, str]]) -> None:
        ready.append(resources)
        got_ready.set()

    server = threading.Thread(target=serve_forever, args=(bench, stop),
                              kwargs={"pty": False, "on_ready": on_ready}, daemon=True)
    server.start()
    assert got_ready.wait(5)
    port = int(ready[0]["calibrator"]["tcp"].split("::")[2])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
        client.sendall(b"*IDN?\n")
        assert _recv_line(client) == b"FLUKE,5522A,1234567,1.4\n"
    stop.set()
    server.join(5)
    assert not server.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
