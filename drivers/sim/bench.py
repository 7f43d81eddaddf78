"""The simulated bench: a 5522A calibrator, a 34401A DMM, leads between them.

    bench = SimBench(seed=1)                       # VirtualClock by default
    t = open_transport("sim://dmm", name="dmm", simulators=bench.simulators)

The DMM reads what the calibrator outputs through the leads, with the DUT's
own errors (`DutErrors`); the calibrator's output carries its own errors,
drawn within its specification from the seed. All waiting runs on
``bench.clock``. `serve_tcp` and `serve_pty` make the same simulators
reachable through pyvisa-py and pyserial; `close` stops the servers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from drivers.clock import Clock, VirtualClock
from drivers.sim.base import SimulatedInstrument
from drivers.sim.fluke5522a import Sim5522A
from drivers.sim.keysight34401a import DutErrors, Leads, Sim34401A
from drivers.sim.serve import PtyServer, TcpServer

__all__ = ["DutErrors", "Leads", "SimBench"]


class SimBench:
    """A simulated calibration bench.

    ``clock``: the bench clock (a fresh `VirtualClock` if None; pass a
    `SystemClock` to serve real instruments in real time). ``seed`` fixes
    the calibrator's errors and the DMM's noise. ``dut``: the DMM's errors
    (default: a good 34401A, well inside its 1-year specification).
    ``settle_time_s``: how long the calibrator takes to settle.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        seed: int = 0,
        dut: DutErrors | None = None,
        settle_time_s: float = 0.5,
    ) -> None:
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.seed = seed
        calibrator_rng, dmm_rng = np.random.default_rng(seed).spawn(2)
        self.calibrator = Sim5522A(
            name="calibrator", clock=self.clock, rng=calibrator_rng, settle_time_s=settle_time_s
        )
        self.leads = Leads(self.calibrator.terminal_voltage)
        self.dmm = Sim34401A(name="dmm", clock=self.clock, rng=dmm_rng, leads=self.leads, errors=dut)
        self.simulators: dict[str, SimulatedInstrument] = {
            "calibrator": self.calibrator,
            "dmm": self.dmm,
        }
        self._tcp: dict[str, TcpServer] = {}
        self._pty: dict[str, PtyServer] = {}

    @property
    def dut(self) -> DutErrors:
        """The DMM's errors."""
        return self.dmm.dut

    def serve_tcp(self, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None) -> dict[str, str]:
        """Serve each simulator on its own TCP port (ephemeral unless given
        in ``ports``); returns ``{"calibrator": "TCPIP::127.0.0.1::PORT::SOCKET", ...}``.
        Calling it again returns the servers already running."""
        try:
            for key, instrument in self.simulators.items():
                if key not in self._tcp:
                    port = (ports or {}).get(key, 0)
                    self._tcp[key] = TcpServer(instrument, host=host, port=port)
        except BaseException:
            self.close()
            raise
        return {key: server.resource for key, server in self._tcp.items()}

    def serve_pty(self) -> dict[str, str]:
        """Serve each simulator on a pseudo-terminal (POSIX only); returns
        ``{"calibrator": "/dev/pts/N", ...}``. Raises `TransportError` on
        Windows."""
        try:
            for key, instrument in self.simulators.items():
                if key not in self._pty:
                    self._pty[key] = PtyServer(instrument)
        except BaseException:
            self.close()
            raise
        return {key: server.resource for key, server in self._pty.items()}

    def close(self) -> None:
        """Stop every server and join its threads. Safe to call twice."""
        servers: list[TcpServer | PtyServer] = [*self._tcp.values(), *self._pty.values()]
        self._tcp.clear()
        self._pty.clear()
        for server in servers:
            server.close()

    def __enter__(self) -> SimBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
