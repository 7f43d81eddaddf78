"""The simulated bench as the station sees it: built from a topology file
(`drivers.sim.bench`), the bench configuration a procedure's roles need,
and a job for the demonstration; served in process, over TCP or over
pseudo-terminals.

This imports the generic simulated bench only, never a simulator: which
simulators stand on a bench, and how they are coupled, is data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import TracebackType
from typing import Any, Literal

from drivers import registry
from drivers.clock import Clock, VirtualClock
from drivers.sim.bench import SimBench, Topology, load_topology
from station.bench import BenchConfig, InstrumentConfig, Job
from station.errors import ConfigError
from station.procedure import Procedure

Transport = Literal["inprocess", "tcp", "pty"]

DEFAULT_BENCH = "dmm-calibrator"

SIMULATED_REMARK = (
    "Produced on calstation's simulated bench: the instruments are software simulations. "
    "This document is a demonstration and is not a calibration of a real instrument."
)

_CONFIG_FIELDS = {f.name for f in fields(InstrumentConfig)}


def bench_config(topology: Topology, resources: Mapping[str, str], today: dt.date | None = None,
                 procedure: Procedure | None = None) -> BenchConfig:
    """The bench file of a simulated bench: each instrument in the role the
    topology gives it, its register entry from the topology, its standards
    calibrated 30 days ago for a year. With ``procedure``, a role the
    topology does not name is given the first unassigned instrument whose
    driver has the capabilities the role needs."""
    today = today or dt.date.today()
    calibrated = today - dt.timedelta(days=30)
    roles: dict[str, str] = {spec.key: spec.role for spec in topology.instruments}
    if procedure is not None:
        needs = procedure.role_needs()
        taken = set(roles.values()) & set(needs)
        for role, need in needs.items():
            if role in taken:
                continue
            for spec in topology.instruments:
                if roles[spec.key] in needs:
                    continue
                cls = registry.load_driver(spec.driver)
                if all(_class_has(cls, cap) for cap in need.needs):
                    roles[spec.key] = role
                    break
    out: dict[str, InstrumentConfig] = {}
    for spec in topology.instruments:
        role = roles[spec.key]
        register = {k: v for k, v in spec.register.items() if k in _CONFIG_FIELDS}
        is_dut = role == (procedure.dut_role if procedure is not None else "dut")
        dates = {} if is_dut else {"calibrated_on": calibrated.isoformat(),
                                   "calibration_due": (calibrated + dt.timedelta(days=365)).isoformat()}
        try:
            out[role] = InstrumentConfig(role=role, driver=spec.driver, resource=resources[spec.key],
                                         **{**dates, **register})
        except TypeError as e:
            raise ConfigError(f"{topology.path}: instruments.{spec.key}.register: {e}") from None
    return BenchConfig(out, source=f"simulated bench {topology.name}")


def _class_has(cls: type, capability: type) -> bool:
    """Whether a driver class has every method of a capability protocol."""
    wanted = [n for n in dir(capability) if not n.startswith("_")]
    return all(hasattr(cls, n) for n in wanted)


def demo_job(today: dt.date | None = None, topology: Topology | None = None) -> Job:
    today = today or dt.date.today()
    dut = (topology or load_topology(DEFAULT_BENCH)).dut
    return Job(
        lab_name="calstation demonstration laboratory",
        lab_address="1 Example Road, Demo City",
        location="Permanent laboratory facility, bench 1",
        customer_name="Demonstration customer",
        customer_address="2 Sample Street, Demo City",
        dut_description=dut.get("description", "Simulated instrument"),
        dut_manufacturer=dut.get("manufacturer", ""),
        dut_model=dut.get("model", ""),
        dut_serial=dut.get("serial", ""),
        dut_asset_id=dut.get("asset_id", ""),
        dut_condition=dut.get("condition", "Simulated instrument"),
        date_received=today.isoformat(),
        operator="demo operator",
        signatory="demo signatory",
        temperature_c="23.0 +/- 1.0",
        humidity_pct="45 +/- 10",
        extra={"remarks": SIMULATED_REMARK},
    )


@dataclass
class SimulatedStation:
    """A simulated bench and the bench configuration that reaches it.

    ``topology``: the bench (a name in drivers/sim/benches, or a path);
    ``procedure``: the procedure whose roles the bench serves (its
    ``simulated_bench`` names the topology when ``topology`` is empty)."""

    transport: Transport = "inprocess"
    seed: int = 0
    clock: Clock = field(default_factory=VirtualClock)
    bench_options: dict[str, Any] = field(default_factory=dict)
    topology: str = ""
    procedure: Procedure | None = None
    sim: SimBench = field(init=False)
    resources: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        name = self.topology or (self.procedure.simulated_bench if self.procedure else "") or DEFAULT_BENCH
        self.sim = SimBench(name, clock=self.clock, seed=self.seed, **self.bench_options)
        if self.transport == "inprocess":
            self.resources = {k: f"sim://{k}" for k in self.sim.simulators}
        elif self.transport == "tcp":
            self.resources = self.sim.serve_tcp()
        else:
            self.resources = self.sim.serve_pty()

    @property
    def simulators(self) -> Mapping[str, Any]:
        sims: Mapping[str, Any] = self.sim.simulators
        return sims

    def bench(self, today: dt.date | None = None) -> BenchConfig:
        cfg = bench_config(self.sim.topology, self.resources, today, self.procedure)
        if self.transport == "pty":
            cfg = BenchConfig({r: replace(c, serial=True) for r, c in cfg.instruments.items()}, cfg.source)
        return cfg

    def job(self, today: dt.date | None = None) -> Job:
        return demo_job(today, self.sim.topology)

    def close(self) -> None:
        self.sim.close()

    def __enter__(self) -> SimulatedStation:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()
