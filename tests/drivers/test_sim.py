"""The simulators and their servers, as a driver or a user would see them."""

from __future__ import annotations

import os
import re
import socket
import threading
import time

import numpy as np
import pytest
import serial

from drivers.clock import VirtualClock
from drivers.sim.base import ByteStream, SimulatedInstrument, scpi_header
from drivers.sim.bench import DutErrors, SimBench
from drivers.fluke.f5522a_sim import DCV_RANGES, Sim5522A
from drivers.keysight.k34401a_sim import Sim34401A
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


# -- the 5522A ------------------------------------------------------------------------


def test_5522a_rejects_out_of_range_and_unknown_commands():
    sim = Sim5522A(clock=VirtualClock())
    assert sim.handle("OUT 10 V") is None
    assert sim.handle("OUT 2000 V") is None
    assert sim.output_value == 10.0  # unchanged
    assert sim.handle("ERR?") == '537,"Entry exceeds limits"'
    sim.handle("FROB")
    sim.handle("OUT 1 V, 60 HZ")  # AC: not simulated
    sim.handle("OUT abc V")
    assert sim.handle("ERR?;ERR?;ERR?;ERR?") == (
        '1302,"Unknown command";538,"Output function not simulated";1310,"Bad number";0,"No Error"')


def test_5522a_units_and_multipliers():
    sim = Sim5522A()
    for command, volts in (("OUT 100 MV", 0.1), ("OUT 5 UV", 5e-6), ("OUT 1.5E+00 V", 1.5),
                           ("OUT 1 KV", 1000.0), ("out -2V", -2.0), ("OUT 3", 3.0)):
        sim.handle(command)
        assert sim.output_value == pytest.approx(volts), command
    assert sim.handle("ERR?") == '0,"No Error"'


def test_5522a_settles_after_out_and_oper_on_its_clock():
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


def test_5522a_output_errors_are_within_its_specification():
    for seed in range(20):
        sim = Sim5522A(rng=np.random.default_rng(seed))
        sim.handle("OPER")
        for full_scale, ppm, floor in DCV_RANGES:
            for value in (full_scale, -full_scale / 3):
                sim.handle(f"STBY;OUT {value} V;OPER")
                sim.clock.sleep(1.0)
                assert abs(sim.terminal_voltage() - value) <= abs(value) * ppm + floor


# -- the 34401A -----------------------------------------------------------------------


def dmm_on(volts: float, dut: DutErrors | None = None, seed: int = 0) -> Sim34401A:
    return Sim34401A(rng=np.random.default_rng(seed), leads=lambda: volts, errors=dut)


def test_34401a_reading_format_and_scpi_errors():
    sim = dmm_on(10.0)
    sim.handle("CONF:VOLT:DC 10")
    assert re.fullmatch(r"[+-]\d\.\d{8}E[+-]\d\d", sim.handle("READ?") or "")
    sim.handle("VOLT:DC:FOO 1")
    sim.handle("CONF:VOLT:DC 2000")
    sim.handle("VOLT:DC:NPLC 1000")
    assert sim.handle("SYST:ERR?") == '-113,"Undefined header"'
    assert sim.handle("SYST:ERR?") == '-222,"Data out of range"'
    assert sim.handle("SYST:ERR?") == '-222,"Data out of range"'
    assert sim.handle("SYST:ERR?") == '+0,"No error"'


def test_34401a_configuration_commands():
    sim = dmm_on(0.05)
    sim.handle("CONFIGURE:VOLTAGE:DC 0.1;:SENSE:VOLTAGE:DC:NPLCYCLES 100")
    assert (sim.range, sim.nplc, sim.autorange) == (0.1, 100.0, False)
    assert sim.handle("VOLT:DC:RANG?;VOLT:DC:NPLC?") == "+1.00000000E-01;+1.00000000E+02"
    sim.handle("CONF:VOLT:DC 5")  # rounds up to the 10 V range
    assert sim.range == 10.0 and sim.nplc == 10.0
    sim.handle("SAMP:COUN 3")
    assert len((sim.handle("READ?") or "").split(",")) == 3
    assert sim.handle("SYST:ERR?") == '+0,"No error"'


def test_34401a_overload_value():
    sim = dmm_on(1.5)
    sim.handle("CONF:VOLT:DC 1")
    assert sim.handle("READ?") == "+9.90000000E+37"
    sim = dmm_on(-1.5)
    sim.handle("CONF:VOLT:DC 1")
    assert sim.handle("READ?") == "-9.90000000E+37"
    sim.handle("CONF:VOLT:DC 10")
    assert float(sim.handle("READ?") or "nan") == pytest.approx(-1.5, abs=1e-4)


def test_34401a_quantises_to_the_resolution_of_its_nplc():
    sim = dmm_on(1.234567891, DutErrors(offset=0, gain=0, noise=0))
    for nplc, expected in ((10, "+1.23457000E+00"), (1, "+1.23460000E+00"), (0.2, "+1.23500000E+00")):
        sim.handle(f"CONF:VOLT:DC 10;VOLT:DC:NPLC {nplc}")
        assert sim.handle("READ?") == expected


def test_34401a_readings_are_seeded():
    def readings(seed: int) -> list[str]:
        sim = dmm_on(10.0, seed=seed)
        sim.handle("CONF:VOLT:DC 10;VOLT:DC:NPLC 1")
        return [sim.handle("READ?") or "" for _ in range(10)]

    assert readings(1) == readings(1)
    assert readings(1) != readings(2)
    assert len(set(readings(1))) > 1  # there is noise


def test_34401a_faults():
    sim = dmm_on(10.0)
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


# 34401A DC voltage 1-year spec, % of reading + % of range (DOMAIN.md, datasheet 5968-0162EN)
ONE_YEAR = {0.1: (0.0050, 0.0035), 1.0: (0.0040, 0.0007), 10.0: (0.0035, 0.0005),
            100.0: (0.0045, 0.0006), 1000.0: (0.0045, 0.0010)}


def worst_error(bench: SimBench) -> float:
    """Largest |DMM reading - calibrator setpoint| / 1-year tolerance over
    zero, +-full scale and half scale of every range."""
    worst = 0.0
    cal, dmm = bench.calibrator, bench.dmm
    for range_, (pct_rdg, pct_rng) in ONE_YEAR.items():
        dmm.handle(f"CONF:VOLT:DC {range_};VOLT:DC:NPLC 10")
        for nominal in (0.0, range_, -range_, range_ / 2):
            cal.handle(f"STBY;OUT {nominal} V;OPER")
            bench.clock.sleep(1.0)
            tolerance = abs(nominal) * pct_rdg / 100 + range_ * pct_rng / 100
            for _ in range(5):
                error = float(dmm.handle("READ?") or "nan") - nominal
                worst = max(worst, abs(error) / tolerance)
    return worst


def test_default_dut_is_well_inside_its_one_year_specification():
    for seed in range(5):
        assert worst_error(SimBench(seed=seed)) < 0.6


def test_a_bad_dut_fails():
    assert worst_error(SimBench(dut=DutErrors(gain=80e-6))) > 1.0


def test_leads_disconnected_the_dmm_sees_nothing():
    bench = SimBench()
    bench.calibrator.handle("OUT 10 V;OPER")
    bench.clock.sleep(1)
    bench.dmm.handle("CONF:VOLT:DC 10")
    bench.leads.connected = False
    assert abs(float(bench.dmm.handle("READ?") or "nan")) < 1e-4


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
    assert set(resources) == {"calibrator", "dmm"}
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
