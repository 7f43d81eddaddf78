"""Traceability at the plan: a bench's standards take their calibration
status from the register, which refuses one that is retired, overdue or
has no calibration record, unless a supervisor allows it with a reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from station.bench import BenchConfig, InstrumentConfig, Job
from station.register.core import Register
from station.register.db import RegisterError


def resolve_bench(reg: Register, bench: BenchConfig, dut_role: str, today: dt.date,
                  overrides: Mapping[str, tuple[str, str]] | None = None) -> BenchConfig:
    """``bench`` with each standard's standing from the register.

    ``overrides`` maps an asset id to (supervisor, reason). Raises a
    one-line `RegisterError` naming the standard and what is wrong."""
    overrides = dict(overrides or {})
    out: dict[str, InstrumentConfig] = {}
    for role, cfg in bench.instruments.items():
        if role == dut_role:
            out[role] = cfg
            continue
        what = f"standard {role!r}"
        if not cfg.asset_id:
            raise RegisterError(f"{what} ({cfg.driver}) names no asset_id in the bench file; give the "
                                "register's asset id of the instrument")
        asset = reg.asset(cfg.asset_id)
        if asset is None:
            raise RegisterError(f"{what}: asset {cfg.asset_id!r} is not in the register at {reg.where}; add it "
                                f"with `calstation register add standard {cfg.asset_id} ...`")
        what = f"{what} ({cfg.asset_id}, {asset.manufacturer} {asset.model} s/n {asset.serial})"
        if asset.kind != "standard":
            raise RegisterError(f"{what} is registered as a DUT, not a standard")
        record = reg.latest_calibration(cfg.asset_id)
        refused = ""
        if asset.status == "retired":
            refused = "it is retired"
        elif record is None:
            refused = "it has no calibration record"
        elif dt.date.fromisoformat(record.due) < today:
            refused = f"its calibration was due on {record.due}"
        override = ""
        if refused:
            if cfg.asset_id not in overrides:
                raise RegisterError(
                    f"{what}: the register refuses it: {refused}; recalibrate it (calstation register "
                    f"calibration {cfg.asset_id} ...) or use another standard, or a supervisor allows it "
                    f"with --override {cfg.asset_id} --supervisor NAME --override-reason TEXT")
            if record is None:
                raise RegisterError(f"{what}: {refused}; no override can stand in for a calibration: enter its "
                                    "record first")
            supervisor, reason = overrides.pop(cfg.asset_id)
            override = reg.record_override(supervisor, cfg.asset_id, reason, refused)
        assert record is not None
        values = dict(record.values)
        fields = {f.name: f for f in dataclasses.fields(InstrumentConfig)}
        update: dict[str, Any] = {k: (float(v) if fields[k].type == "float" else str(v)) for k, v in values.items() if k in fields}
        out[role] = dataclasses.replace(
            cfg, **update, calibrated_on=record.calibrated_on, calibration_due=record.due,
            certificate=record.certificate,
            traceability=record.traceability or record.issuing_lab, override=override,
            description=cfg.description or f"{asset.manufacturer} {asset.model}")
    if overrides:
        raise RegisterError(f"--override {', '.join(sorted(overrides))}: no refused standard of the bench has "
                            "that asset id; check it")
    return BenchConfig(out, bench.source)


#: The register's settings a run's job takes its header from (`calstation register set`).
LAB_SETTINGS = ("lab_name", "lab_address", "location")


def lab_job(reg: Register) -> Job:
    """The job's laboratory header (name, address, place of calibration)
    from the register's settings, the defaults where one is not set."""
    return Job(lab_name=reg.setting("lab_name", Job.lab_name), lab_address=reg.setting("lab_address", ""),
               location=reg.setting("location", Job.location))
