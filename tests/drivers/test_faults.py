"""The fault hooks of the simulators and their servers, and the fault makers
of `drivers.sim.faults`."""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import pytest
import serial

from drivers.errors import CalstationError, TransportError
from drivers.sim import faults
from drivers.sim.base import ByteStream, Direction, SimulatedInstrument
from drivers.sim.bench import SimBench
from drivers.transport import open_transport
from tests.drivers.conftest import Reached

posix_only = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals need POSIX")


class Echo(SimulatedInstrument):
    def execute(self, header: str, argument: str) -> str | None:
        return f"{header}|{argument}" if header.endswith("?") else None

    def reset(self) -> None:
        pass


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- the fault makers ------------------------------------------------------------------


def test_garble_keeps_length_and_line_ends_and_only_touches_its_direction():
    fault = faults.garble(rng(), 1.0)
    reply = b"+1.00000230E+01\r\n-113,\"Undefined header\"\n"
    out = fault(reply, "out")
    assert len(out) == len(reply) and out != reply
    assert [i for i, c in enumerate(out) if c in b"\r\n"] == [i for i, c in enumerate(reply) if c in b"\r\n"]
    assert all(0x20 <= c < 0x7F for c in out if c not in b"\r\n")
    assert fault(b"READ?\n", "in") == b"READ?\n"
    assert fault.fired == 1
    assert faults.garble(rng(), 0.0)(reply, "out") == reply


def test_truncate_cuts_short_keeping_or_dropping_the_termination():
    reply = b"+1.00000230E+01\n"
    kept = faults.truncate(rng(), 1.0, keep_termination=True)
    dropped = faults.truncate(rng(), 1.0, keep_termination=False)
    for _ in range(50):
        out = kept(reply, "out")
        assert out.endswith(b"\n") and reply.startswith(out[:-1]) and len(out) < len(reply)
        out = dropped(reply, "out")
        assert b"\n" not in out and reply.startswith(out)
    either = faults.truncate(rng(), 1.0)
    endings = {either(reply, "out").endswith(b"\n") for _ in range(50)}
    assert endings == {True, False}  # both cases happen
    assert either(b"*IDN?\n", "in") == b"*IDN?\n"  # replies only


def test_noise_replaces_a_short_burst_in_either_direction():
    fault = faults.noise(rng(), 1.0, burst=(1, 4))
    data = bytes(range(32, 96))
    seen: set[Direction] = set()
    for direction in ("in", "out") * 50:
        out = fault(data, direction)
        assert len(out) == len(data)
        changed = [i for i in range(len(data)) if out[i] != data[i]]
        if changed:
            seen.add(direction)
            assert changed[-1] - changed[0] < 4  # one burst of at most 4 bytes
    assert seen == {"in", "out"}
    only_in = faults.noise(rng(), 1.0, direction="in")
    assert only_in(data, "out") == data


def test_faults_are_reproducible_from_their_seed():
    def run(seed: int) -> list[bytes]:
        fault = faults.chain(faults.garble(rng(seed), 0.3), faults.truncate(rng(seed + 1), 0.3),
                             faults.noise(rng(seed + 2), 0.3))
        return [fault(b"+1.00000230E+01\n", "out") for _ in range(30)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_once_substitute_when_only():
    fault = faults.once(faults.substitute(b"OUT 10 V", b"OUT 19 V"))
    assert fault(b"OUT 10 V\n", "in") == b"OUT 19 V\n"
    assert fault(b"OUT 10 V\n", "in") == b"OUT 10 V\n"  # once
    calls: list[int] = []
    trigger = faults.when(b"NPLC", lambda: calls.append(1))
    assert trigger(b"VOLT:DC:NPLC 10\n", "in") == b"VOLT:DC:NPLC 10\n" and calls == [1]
    assert trigger(b"VOLT:DC:NPLC 10\n", "out") == b"VOLT:DC:NPLC 10\n" and calls == [1]
    outgoing = faults.only("out", faults.garble(rng(), 1.0, direction="in"))
    assert outgoing(b"READ?\n", "in") == b"READ?\n"
    with pytest.raises(ValueError):
        faults.garble(rng(), 1.5)
    with pytest.raises(ValueError):
        faults.substitute(b"10", b"100")


# -- the hooks in the simulator ---------------------------------------------------------


def test_line_fault_sees_both_directions_of_every_stream():
    sim = Echo("echo")
    crossings: list[tuple[bytes, str]] = []

    def spy(data: bytes, direction: Direction) -> bytes:
        crossings.append((data, direction))
        return data.replace(b"A", b"B") if direction == "in" else data.upper()

    sim.line_fault = spy
    assert sim.stream().feed(b"a? A\n") == b"A?|B\n"  # 'a? B' arrived; its reply 'A?|B' was upper-cased
    assert crossings == [(b"a? A\n", "in"), (b"A?|B\n", "out")]
    assert list(sim.received) == ["a? B"]


def test_power_cycle_forgets_the_partial_line_of_every_connection():
    sim = Echo("echo")
    first, second = sim.stream(), ByteStream(sim)
    first.feed(b"X? 1")
    second.feed(b"Y? 2")
    sim.push_error(-113, "Undefined header")
    sim.power_cycle()
    assert sim.esr == 128 and not sim.errors
    assert first.feed(b"W?\n") == b"W?|\n" and second.feed(b"Z?\n") == b"Z?|\n"


def test_power_cycle_of_the_bench_instruments_sets_pon_once(bench: SimBench):
    for sim, pon in ((bench.calibrator, "128"), (bench.dmm, "+128")):
        sim.power_cycle()
        assert sim.handle("*ESR?") == pon
        assert sim.handle("*ESR?") in ("0", "+0")


# -- link down, over every transport -----------------------------------------------------


def test_link_down_over_every_transport(reached: Reached):
    t = reached.open("dmm", timeout_s=0.2)
    assert t.query("*IDN?").startswith("HEWLETT-PACKARD")
    reached.bench.dmm.link_down = True
    started = time.monotonic()
    with pytest.raises(TransportError) as err:
        t.query("*IDN?")
    assert time.monotonic() - started < 1.5
    message = str(err.value)
    assert message.startswith("dmm: ") and "'*IDN?'" in message and "\n" not in message
    assert message.endswith(("check the cable/network and reconnect",
                             f"check the instrument is on, connected, and at {reached.resources['dmm']}"))
    reached.bench.dmm.link_down = False
    if reached.kind == "tcp":
        t = reached.open("dmm", timeout_s=0.5)  # a reset connection stays dead: reconnect
    assert t.query("*IDN?").startswith("HEWLETT-PACKARD")


def test_tcp_server_refuses_connections_while_the_link_is_down(bench: SimBench):
    resource = bench.serve_tcp()["calibrator"]
    bench.calibrator.link_down = True
    with pytest.raises(TransportError):
        t = open_transport(resource, name="calibrator", timeout_s=0.5)
        try:
            t.query("*IDN?")
        finally:
            t.close()
    bench.calibrator.link_down = False
    t = open_transport(resource, name="calibrator", timeout_s=0.5)
    try:
        assert t.query("*IDN?").startswith("FLUKE")
    finally:
        t.close()


@posix_only
def test_pty_with_the_link_down_is_deaf_then_hears_again(bench: SimBench):
    port = bench.serve_pty()["calibrator"]
    with serial.Serial(port, timeout=0.2) as s:
        bench.calibrator.link_down = True
        s.write(b"OUT 5 V\n*IDN?\n")
        assert s.readline() == b""
        assert bench.calibrator.output_value == 0.0  # the command never arrived
        bench.calibrator.link_down = False
        s.write(b"*IDN?\n")
        assert s.readline() == b"FLUKE,5522A,1234567,1.4\n"


def test_servers_shut_down_cleanly_with_the_link_down_and_clients_connected():
    before = set(threading.enumerate())
    bench = SimBench()
    resources = bench.serve_tcp()
    if os.name == "posix":
        resources.update({k + "-pty": v for k, v in bench.serve_pty().items()})
    port = int(resources["dmm"].split("::")[2])
    clients = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(2)]
    for client in clients:
        client.sendall(b"*IDN?\n")
        assert client.recv(100).startswith(b"HEWLETT")
    bench.dmm.link_down = True
    bench.calibrator.link_down = True
    for client in clients:  # reset at once
        with pytest.raises(OSError):
            client.sendall(b"*IDN?\n")
            if not client.recv(100):
                raise ConnectionResetError("closed")
        client.close()
    started = time.monotonic()
    bench.close()
    assert time.monotonic() - started < 2.0
    assert set(threading.enumerate()) - before == set()


def test_a_fault_campaign_never_ends_in_an_unexpected_exception(bench: SimBench):
    """Random noise both ways on every exchange: everything the transport
    gives back or raises is a reply or a CalstationError."""
    from drivers.fluke.f5522a import Fluke5522A
    from drivers.keysight.k34401a import Keysight34401A
    from drivers.roles import Function

    cal = Fluke5522A(open_transport("sim://calibrator", name="cal", simulators=bench.simulators), bench.clock)
    dmm = Keysight34401A(open_transport("sim://dmm", name="dmm", simulators=bench.simulators), bench.clock)
    bench.calibrator.line_fault = faults.noise(rng(11), 0.3)
    bench.dmm.line_fault = faults.chain(faults.noise(rng(12), 0.2), faults.truncate(rng(13), 0.1))
    steps = [cal.initialize, dmm.initialize, lambda: cal.set_output(Function.DCV, 1.0), cal.operate,
             lambda: cal.wait_settled(2.0), lambda: dmm.configure(Function.DCV, 1.0, 10), dmm.read,
             lambda: dmm.read_many(3), cal.confirm_state, dmm.confirm_state, cal.identify, dmm.identify,
             cal.safe_state]
    failures = 0
    for _ in range(40):
        for step in steps:
            try:
                step()
            except CalstationError:
                failures += 1
    assert failures > 20
