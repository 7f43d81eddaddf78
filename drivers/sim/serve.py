"""Serving simulated instruments over a real TCP socket and a pseudo-terminal.

The same simulator a test reaches in process (``sim://``) is served here
so that the real transports are exercised: pyvisa-py through
``TCPIP::127.0.0.1::<port>::SOCKET`` and pyserial through ``/dev/pts/N``.

For ``calstation sim serve``::

    bench = SimBench(clock=SystemClock())
    resources = start_servers(bench)          # {"calibrator": {"tcp": ..., "pty": ...}, ...}
    ...                                       # tell the user
    serve_forever(bench, stop_event)          # or: wait, then bench.close()

Servers run on daemon threads, accept any number of clients one after the
other or at once (each connection has its own line buffer; the instrument
is shared), tolerate clients that disconnect mid-line, and accept CR, LF or
CR LF terminations. `SimBench.close` stops them and joins their threads.
Only 127.0.0.1 is used by default.

While an instrument's `SimulatedInstrument.link_down` is set, its TCP
server resets (RST) every connection at once and every new one as soon as
it is accepted, and its pseudo-terminal drops what it receives and answers
nothing (a pulled RS-232 cable). Both serve normally again once it is
cleared (a TCP client must reconnect).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from drivers.errors import TransportError
from drivers.sim.base import SimulatedInstrument

if TYPE_CHECKING:
    from drivers.sim.bench import SimBench

_JOIN_TIMEOUT_S = 2.0
#: SO_LINGER on, 0 s: close() resets the connection (RST) instead of FIN.
_ABORT_LINGER = struct.pack("ii", 1, 0)


def _abort(conn: socket.socket) -> None:
    """Make the connection's close a reset (RST, no FIN), and stop its
    reading now: the thread serving it wakes up, sees the end and closes it."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORT_LINGER)
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RD)


class _Waker:
    """A socket pair that wakes every thread blocked in select (portable:
    Windows selects on sockets only)."""

    def __init__(self) -> None:
        self.r, self._w = socket.socketpair()
        self.stopping = threading.Event()

    def wake(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._w.send(b"x")

    def close(self) -> None:
        self.r.close()
        self._w.close()


class TcpServer:
    """Serves one simulated instrument on ``host:port`` (port 0: ephemeral)."""

    def __init__(self, instrument: SimulatedInstrument, host: str = "127.0.0.1", port: int = 0) -> None:
        self.instrument = instrument
        try:
            self._listener = socket.create_server((host, port))
        except OSError as e:
            raise TransportError(
                f"{instrument.name}: cannot listen on {host}:{port} ({e.strerror or e}); "
                "choose another port or stop the program that uses it"
            ) from None
        self.host, self.port = self._listener.getsockname()[:2]
        self._waker = _Waker()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"sim-tcp-{instrument.name}", daemon=True
        )
        instrument.add_link_listener(self._on_link)
        self._accept_thread.start()

    @property
    def resource(self) -> str:
        """The VISA resource string a client opens."""
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    @property
    def connections(self) -> int:
        """Number of clients connected now."""
        with self._lock:
            return len(self._connections)

    def _accept_loop(self) -> None:
        waker = self._waker
        while not waker.stopping.is_set():
            try:
                ready, _, _ = select.select([self._listener, waker.r], [], [])
            except (OSError, ValueError):
                return
            if waker.r in ready or waker.stopping.is_set():
                return
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            if self.instrument.link_down:  # refused: reset as soon as accepted
                _abort(conn)
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"sim-tcp-{self.instrument.name}-conn", daemon=True
            )
            with self._lock:
                self._connections.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        stream = self.instrument.stream()
        waker = self._waker
        try:
            while not waker.stopping.is_set():
                ready, _, _ = select.select([conn, waker.r], [], [])
                if waker.r in ready:
                    return
                try:
                    data = conn.recv(65536)
                except OSError:  # reset by the client
                    return
                if not data:  # the client disconnected, or the link went down
                    return
                if self.instrument.link_down:
                    _abort(conn)
                    return
                reply = stream.feed(data)
                if reply:
                    try:
                        conn.sendall(reply)
                    except OSError:
                        return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _on_link(self, down: bool) -> None:
        if down:
            with self._lock:
                connections = list(self._connections)
            for conn in connections:
                _abort(conn)

    def close(self) -> None:
        """Stop accepting, drop every client, join the threads."""
        self.instrument.remove_link_listener(self._on_link)
        self._waker.wake()
        self._accept_thread.join(_JOIN_TIMEOUT_S)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(_JOIN_TIMEOUT_S)
        self._listener.close()
        self._waker.close()


class PtyServer:
    """Serves one simulated instrument on a pseudo-terminal (POSIX only).

    The slave side (`port`, e.g. ``/dev/pts/4``) is what a client opens
    with pyserial; the server keeps it open too, so a client may close and
    reopen it. The line discipline is raw: no echo, no CR/LF translation.
    """

    def __init__(self, instrument: SimulatedInstrument) -> None:
        if os.name != "posix":
            raise TransportError(
                f"{instrument.name}: pseudo-terminals need a POSIX system; serve over TCP instead"
            )
        import tty

        self.instrument = instrument
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._waker = _Waker()
        self._thread = threading.Thread(target=self._loop, name=f"sim-pty-{instrument.name}", daemon=True)
        self._thread.start()

    @property
    def resource(self) -> str:
        """The serial port a client opens."""
        return self.port

    def _loop(self) -> None:
        stream = self.instrument.stream()
        waker = self._waker
        master = self._master
        wake_fd = waker.r.fileno()
        while not waker.stopping.is_set():
            try:
                ready, _, _ = select.select([master, wake_fd], [], [])
            except (OSError, ValueError):
                return
            if wake_fd in ready:
                return
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data or self.instrument.link_down:  # deaf: the cable is pulled
                continue
            reply = stream.feed(data)
            while reply:
                try:
                    written = os.write(master, reply)
                except OSError:
                    return
                reply = reply[written:]

    def close(self) -> None:
        """Stop the reader thread and close the terminal."""
        self._waker.wake()
        self._thread.join(_JOIN_TIMEOUT_S)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._waker.close()


def start_servers(
    bench: SimBench,
    tcp: bool = True,
    pty: bool = True,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
) -> dict[str, dict[str, str]]:
    """Serve every simulator of ``bench``; returns the resource strings per
    instrument per transport::

        {"calibrator": {"tcp": "TCPIP::127.0.0.1::50123::SOCKET", "pty": "/dev/pts/5"},
         "dmm":        {"tcp": "TCPIP::127.0.0.1::50124::SOCKET", "pty": "/dev/pts/6"}}

    ``ports`` fixes TCP ports by instrument key (others are ephemeral).
    ``pty`` is ignored where pseudo-terminals do not exist (Windows): the
    ``"pty"`` entries are then missing. `SimBench.close` stops everything.
    """
    result: dict[str, dict[str, str]] = {key: {} for key in bench.simulators}
    if tcp:
        for key, resource in bench.serve_tcp(host=host, ports=ports).items():
            result[key]["tcp"] = resource
    if pty and os.name == "posix":
        for key, resource in bench.serve_pty().items():
            result[key]["pty"] = resource
    return result


def serve_forever(
    bench: SimBench,
    stop: threading.Event,
    tcp: bool = True,
    pty: bool = True,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    on_ready: Callable[[dict[str, dict[str, str]]], None] | None = None,
) -> None:
    """Serve until ``stop`` is set, then close the bench's servers.

    ``on_ready`` is called once with the resource strings (see
    `start_servers`) when the servers accept connections."""
    try:
        resources = start_servers(bench, tcp=tcp, pty=pty, host=host, ports=ports)
        if on_ready is not None:
            on_ready(resources)
        stop.wait()
    finally:
        bench.close()
