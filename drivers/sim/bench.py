"""The simulated bench, built from its topology: data, not code.

A topology file (``drivers/sim/benches/<name>.toml``) says which
simulators stand on the bench, which role of a procedure each serves, how
leads join them, and what the lab's register says of the standards::

    name = "dmm-calibrator"
    title = "A DMM calibrated with a multifunction calibrator"

    [instruments.calibrator]               # simulator key: sim://calibrator
    driver = "fluke-5522a"                 # drivers/registry.py
    role = "standard"                      # the procedure role it serves
    options = { settle_time_s = 0.5 }      # the simulator's constructor options
    register = { asset_id = "SIM-STD-5522A", specification = "90d", ... }

    [[leads]]
    name = "leads"
    from = "calibrator.output"             # an output port ...
    to = "dmm.input"                       # ... into an input port
    offset = 0.0                           # added on the way (a gradient, a thermal EMF)

    [dut]                                  # what the demo job says of the DUT
    description = "Digital multimeter, 6.5 digit"

    bench = SimBench("dmm-calibrator", seed=1)   # VirtualClock by default
    t = open_transport("sim://dmm", name="dmm", simulators=bench.simulators)

Every simulator is ``Sim(name, clock, rng, **options)``: ``rng`` is drawn
from the bench's seed in the file's order. The option ``serial`` is not
the constructor's: it sets the serial number field of the simulator's
``*IDN?`` reply (the DUT's serial number the demo registers). All waiting runs on
``bench.clock``. `serve_tcp` and `serve_pty` make the same simulators
reachable through pyvisa-py and pyserial; `close` stops the servers.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from drivers import registry
from drivers.clock import Clock, VirtualClock
from drivers.errors import CalstationError
from drivers.sim.base import OPEN, Port, SimulatedInstrument, Stimulus
from drivers.sim.serve import PtyServer, TcpServer

__all__ = ["BENCHES", "Lead", "SimBench", "Topology", "TopologyError", "load_topology", "topologies"]

#: Where the topologies shipped with calstation live.
BENCHES = Path(__file__).resolve().with_name("benches")


class TopologyError(CalstationError):
    """A topology file that does not parse or names what does not exist."""


@dataclass(frozen=True)
class SimInstrumentSpec:
    key: str
    driver: str
    role: str
    options: Mapping[str, Any] = field(default_factory=dict)
    register: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadSpec:
    name: str
    source: tuple[str, str]  # (instrument key, output port)
    target: tuple[str, str]  # (instrument key, input port)
    offset: float = 0.0


@dataclass(frozen=True)
class Topology:
    name: str
    title: str
    path: Path
    instruments: tuple[SimInstrumentSpec, ...]
    leads: tuple[LeadSpec, ...]
    dut: Mapping[str, str]

    def by_role(self, role: str) -> SimInstrumentSpec | None:
        return next((i for i in self.instruments if i.role == role), None)


def _fail(path: Path, key: str, expected: str, got: object = None) -> TopologyError:
    shown = "" if got is None else f", got {got!r}"[:80]
    return TopologyError(f"{path}: {key}: expected {expected}{shown}; fix the bench topology")


def _port(path: Path, key: str, text: object, keys: Mapping[str, object]) -> tuple[str, str]:
    if not isinstance(text, str) or text.count(".") != 1:
        raise _fail(path, key, "INSTRUMENT.PORT", text)
    inst, port = text.split(".")
    if inst not in keys:
        raise _fail(path, key, "an instrument of this bench (" + ", ".join(keys) + ")", inst)
    return inst, port


@cache
def load_topology(where: str | Path) -> Topology:
    """A topology by name (``drivers/sim/benches/NAME.toml``) or path."""
    path = Path(where) if str(where).endswith(".toml") else BENCHES / f"{where}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(sorted(topologies())) or "none"
        raise TopologyError(f"no simulated bench {str(where)!r} ({path}); known: {known}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TopologyError(f"{path}: not valid TOML ({e}); fix the bench topology") from None
    raw = data.get("instruments")
    if not isinstance(raw, dict) or not raw:
        raise _fail(path, "instruments", "a table of instruments")
    instruments = []
    for key, item in raw.items():
        if not isinstance(item, dict):
            raise _fail(path, f"instruments.{key}", "a table", item)
        driver = item.get("driver")
        if not isinstance(driver, str) or driver not in registry.DRIVERS:
            raise _fail(path, f"instruments.{key}.driver", "a driver of drivers/registry.py ("
                        + ", ".join(sorted(registry.DRIVERS)) + ")", driver)
        role = item.get("role", key)
        options = item.get("options", {})
        register = item.get("register", {})
        if not isinstance(role, str) or not isinstance(options, dict) or not isinstance(register, dict):
            raise _fail(path, f"instruments.{key}", "role a string, options and register tables")
        instruments.append(SimInstrumentSpec(key, driver, role, options, register))
    leads = []
    for i, item in enumerate(data.get("leads", [])):
        if not isinstance(item, dict):
            raise _fail(path, f"leads[{i}]", "a table", item)
        offset = item.get("offset", 0.0)
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise _fail(path, f"leads[{i}].offset", "a number", offset)
        leads.append(LeadSpec(str(item.get("name", f"lead{i + 1}")),
                              _port(path, f"leads[{i}].from", item.get("from"), raw),
                              _port(path, f"leads[{i}].to", item.get("to"), raw), float(offset)))
    dut = data.get("dut", {})
    if not isinstance(dut, dict):
        raise _fail(path, "dut", "a table", dut)
    return Topology(str(data.get("name", path.stem)), str(data.get("title", "")), path,
                    tuple(instruments), tuple(leads), {k: str(v) for k, v in dut.items()})


def topologies() -> dict[str, Path]:
    """Every topology shipped with calstation, by name."""
    return {p.stem: p for p in sorted(BENCHES.glob("*.toml"))}


class Lead:
    """A lead from an output port to an input port. ``connected = False``
    models the operator not having connected it (the input sees nothing)."""

    def __init__(self, spec: LeadSpec, source: Port) -> None:
        self.spec = spec
        self.source = source
        self.connected = True
        self.offset = spec.offset

    def __call__(self) -> Stimulus:
        if not self.connected:
            return OPEN
        s = self.source()
        return replace(s, value=s.value + self.offset) if self.offset and s.function else s


class SimBench:
    """A simulated calibration bench.

    ``topology``: a name or path (`load_topology`). ``clock``: the bench
    clock (a fresh `VirtualClock` if None; a `SystemClock` serves in real
    time). ``seed`` fixes every simulator's errors and noise. ``options``:
    per instrument key, constructor options that override the file's.
    ``dut`` and ``settle_time_s`` are shorthands: the ``errors`` option of
    the instrument in role ``dut`` and the ``settle_time_s`` of the one in
    role ``standard``.
    """

    def __init__(
        self,
        topology: str | Path | Topology = "dmm-calibrator",
        clock: Clock | None = None,
        seed: int = 0,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        dut: Any = None,
        settle_time_s: float | None = None,
    ) -> None:
        self.topology = topology if isinstance(topology, Topology) else load_topology(topology)
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.seed = seed
        extra: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (options or {}).items()}
        for role, name, value in (("dut", "errors", dut), ("standard", "settle_time_s", settle_time_s)):
            spec = self.topology.by_role(role)
            if value is not None and spec is not None:
                extra.setdefault(spec.key, {})[name] = value
        rngs = np.random.default_rng(seed).spawn(len(self.topology.instruments))
        self.simulators: dict[str, SimulatedInstrument] = {}
        for spec, rng in zip(self.topology.instruments, rngs, strict=True):
            cls = registry.load_simulator(spec.driver)
            kwargs = {**spec.options, **extra.get(spec.key, {})}
            serial = kwargs.pop("serial", None)
            try:
                self.simulators[spec.key] = sim = cls(name=spec.key, clock=self.clock, rng=rng, **kwargs)
            except TypeError as e:
                raise TopologyError(f"{self.topology.path}: instruments.{spec.key}.options: {e}; "
                                    "fix the bench topology") from None
            if serial is not None:
                fields = sim.idn.split(",")
                if len(fields) != 4 or not isinstance(serial, str) or "," in serial:
                    raise TopologyError(f"{self.topology.path}: instruments.{spec.key}.options.serial: "
                                        f"{spec.driver}'s simulator has no *IDN? serial field to set, or "
                                        f"{serial!r} is not a serial number; fix the bench topology")
                sim.idn = ",".join([fields[0], fields[1], serial, fields[3]])
        self.wires: dict[str, Lead] = {}
        for lead in self.topology.leads:
            try:
                out = self.simulators[lead.source[0]].output(lead.source[1])
                wire = Lead(lead, out)
                self.simulators[lead.target[0]].connect(lead.target[1], wire)
            except KeyError as e:
                raise TopologyError(f"{self.topology.path}: lead {lead.name}: {e.args[0]}; "
                                    "fix the bench topology") from None
            self.wires[lead.name] = wire
        self._tcp: dict[str, TcpServer] = {}
        self._pty: dict[str, PtyServer] = {}

    def __getattr__(self, name: str) -> Any:
        """A simulator or a lead by its key (``bench.dmm``, ``bench.leads``)."""
        if name.startswith("_") or name in ("simulators", "wires"):
            raise AttributeError(name)
        if name in self.simulators:
            return self.simulators[name]
        if name in self.wires:
            return self.wires[name]
        raise AttributeError(f"the {self.topology.name} bench has no instrument or lead {name!r}")

    def by_role(self, role: str) -> SimulatedInstrument:
        spec = self.topology.by_role(role)
        if spec is None:
            raise KeyError(f"the {self.topology.name} bench has no instrument in role {role!r}")
        return self.simulators[spec.key]

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
