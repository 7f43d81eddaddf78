"""Fixtures: a simulated bench reached over each transport."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from drivers.sim.bench import SimBench
from drivers.transport import IOLog, Transport, open_transport

KINDS = ["sim", "tcp", "pty"]


@dataclass
class Reached:
    """A bench and the resource strings of its instruments over one transport."""

    bench: SimBench
    kind: str
    resources: dict[str, str]
    log: IOLog = field(default_factory=IOLog)
    opened: list[Transport] = field(default_factory=list)

    def open(self, key: str, timeout_s: float = 2.0, driver: type | None = None) -> Transport:
        """A transport to ``key``, with ``driver``'s terminations if given."""
        t = open_transport(self.resources[key], name=key, io_log=self.log, timeout_s=timeout_s,
                           simulators=self.bench.simulators,
                           write_termination=getattr(driver, "write_termination", "\n"),
                           read_termination=getattr(driver, "read_termination", "\n"))
        self.opened.append(t)
        return t

    def driver(self, key: str, cls: type, timeout_s: float = 2.0) -> Any:
        """``cls`` on ``key`` (``serial=True`` over a pseudo-terminal)."""
        return cls(self.open(key, timeout_s, cls), self.bench.clock, serial=True if self.kind == "pty" else None)


def reached_on(topology: str, kinds: tuple[str, ...] = tuple(KINDS), seed: int = 1) -> Callable[..., Any]:
    """A ``reached`` fixture for another simulated bench: in a test module,
    ``reached = reached_on("drywell-comparison")``."""

    @pytest.fixture(params=list(kinds))
    def reached(request: pytest.FixtureRequest) -> Iterator[Reached]:
        b = SimBench(topology, seed=seed)
        try:
            yield from _reach(request.param, b)
        finally:
            b.close()

    return reached


def _reach(kind: str, bench: SimBench) -> Iterator[Reached]:
    if kind == "sim":
        resources = {k: f"sim://{k}" for k in bench.simulators}
    elif kind == "tcp":
        resources = bench.serve_tcp()
    else:
        if os.name != "posix":
            pytest.skip("pseudo-terminals need POSIX")
        resources = bench.serve_pty()
    r = Reached(bench, kind, resources)
    try:
        yield r
    finally:
        for t in r.opened:
            t.close()


@pytest.fixture
def bench() -> Iterator[SimBench]:
    b = SimBench(seed=1)
    yield b
    b.close()


@pytest.fixture(params=KINDS)
def reached(request: pytest.FixtureRequest, bench: SimBench) -> Iterator[Reached]:
    yield from _reach(request.param, bench)
