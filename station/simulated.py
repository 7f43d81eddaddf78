"""The simulated bench as the station sees it: a bench file and a job for
the demo, served in process, over TCP or over pseudo-terminals.

This imports the simulators (`drivers.sim`), never a concrete driver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal

from drivers.clock import Clock, VirtualClock
from drivers.sim.bench import SimBench
from station.bench import BenchConfig, InstrumentConfig, Job

Transport = Literal["inprocess", "tcp", "pty"]

SIMULATED_REMARK = (
    "Produced on calstation's simulated bench: the instruments are software simulations. "
    "This document is a demonstration and is not a calibration of a real instrument."
)


def simulated_bench_config(resources: Mapping[str, str], today: dt.date | None = None) -> BenchConfig:
    today = today or dt.date.today()
    calibrated = today - dt.timedelta(days=30)
    return BenchConfig(
        {
            "standard": InstrumentConfig(
                role="standard",
                driver="fluke-5522a",
                resource=resources["calibrator"],
                asset_id="SIM-STD-5522A",
                description="Multifunction calibrator (simulated)",
                calibrated_on=calibrated.isoformat(),
                calibration_due=(calibrated + dt.timedelta(days=365)).isoformat(),
                certificate="SIM-0001 (simulated standard, no real certificate)",
                traceability="simulated standard: no metrological traceability",
                specification="90d",
                distribution="rectangular",
            ),
            "dut": InstrumentConfig(
                role="dut",
                driver="keysight-34401a",
                resource=resources["dmm"],
                asset_id="SIM-DUT-34401A",
                description="Digital multimeter (simulated)",
            ),
        },
        source="built-in simulated bench",
    )


def demo_job(today: dt.date | None = None) -> Job:
    today = today or dt.date.today()
    return Job(
        lab_name="calstation demonstration laboratory",
        lab_address="1 Example Road, Demo City",
        location="Permanent laboratory facility, DC bench 1",
        customer_name="Demonstration customer",
        customer_address="2 Sample Street, Demo City",
        dut_description="Digital multimeter, 6.5 digit",
        dut_manufacturer="Keysight",
        dut_model="34401A",
        dut_serial="SIM-0",
        dut_asset_id="SIM-DUT-34401A",
        dut_condition="Simulated instrument; no visible damage",
        date_received=today.isoformat(),
        operator="demo operator",
        signatory="demo signatory",
        temperature_c="23.0 +/- 1.0",
        humidity_pct="45 +/- 10",
        extra={"remarks": SIMULATED_REMARK},
    )


@dataclass
class SimulatedStation:
    """A simulated bench and the bench configuration that reaches it."""

    transport: Transport = "inprocess"
    seed: int = 0
    clock: Clock = field(default_factory=VirtualClock)
    bench_options: dict[str, Any] = field(default_factory=dict)
    sim: SimBench = field(init=False)
    resources: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.sim = SimBench(clock=self.clock, seed=self.seed, **self.bench_options)
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
        cfg = simulated_bench_config(self.resources, today)
        if self.transport == "pty":
            cfg = BenchConfig({r: replace(c, serial=True) for r, c in cfg.instruments.items()}, cfg.source)
        return cfg

    def close(self) -> None:
        self.sim.close()

    def __enter__(self) -> SimulatedStation:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

