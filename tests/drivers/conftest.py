"""Fixtures: a simulated bench reached over each transport."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

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

    def open(self, key: str, timeout_s: float = 2.0) -> Transport:
        t = open_transport(self.resources[key], name=key, io_log=self.log, timeout_s=timeout_s,
                           simulators=self.bench.simulators)
        self.opened.append(t)
        return t


@pytest.fixture
def bench() -> Iterator[SimBench]:
    b = SimBench(seed=1)
    yield b
    b.close()


@pytest.fixture(params=KINDS)
def reached(request: pytest.FixtureRequest, bench: SimBench) -> Iterator[Reached]:
    kind = request.param
    if kind == "sim":
        resources = {k: f"sim://{k}" for k in bench.simulators}
    elif kind == "tcp":
        resources = bench.serve_tcp()
    else:
        if os.name != "posix":
            pytest.skip("pseudo-terminals need POSIX")
        resources = bench.serve_pty()
    r = Reached(bench, kind, resources)
    yield r
    for t in r.opened:
        t.close()
