"""What the register takes from a run file: the facts it keeps about a run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.metrology.decision import NOT_CONFORMING
from station.register.db import RegisterError


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    sha256: str
    procedure: tuple[str, str, str]  # name, version, sha256
    dut: str  # asset id
    customer: str
    technician: str  # register user name of whoever ran it ("" when not known)
    started: str
    finished: str
    verdict: str  # pass, conditional, fail: judged as left
    standards: list[dict[str, str]]
    points: list[dict[str, Any]]


def verdict(decisions_as_left: list[str]) -> str:
    if any(d in NOT_CONFORMING for d in decisions_as_left):
        return "fail"
    if any(d == "conditional pass" for d in decisions_as_left):
        return "conditional pass"
    return "pass"


def read_run(path: Path) -> RunInfo:
    """Read and check a run file: it must be intact (hash chain and seal)
    and completed; one-line `RegisterError` otherwise."""
    from station.certificates.common import file_sha256
    from station.errors import CalstationError
    from station.runfile.reader import RunFile

    try:
        with RunFile(path) as rf:
            check = rf.verify()
            if not check.ok:
                raise RegisterError(f"{check.message}; the register takes only intact run files")
            if rf.status != "completed":
                raise RegisterError(f"{path}: the run is {rf.status}, not completed; only a completed run "
                                    "is reviewed and certified (resume it with calstation run --resume)")
            a, job, proc = rf.attrs, rf.job, rf.procedure
            points = rf.points
            standards = [dict(role=i.role, asset_id=i.asset_id, certificate=i.certificate, due=i.calibration_due)
                         for i in rf.instruments if i.kind == "standard"]
    except RegisterError:
        raise
    except CalstationError as e:
        raise RegisterError(str(e)) from None
    left = [p for p in points if p.phase == "as_left"] or points
    rows = [dict(idx=p.index, phase=p.phase, label=p.label, function=p.function, nominal=p.nominal,
                 unit=p.unit, error=p.error, expanded_uncertainty=p.expanded_uncertainty,
                 tolerance=p.tolerance if math.isfinite(p.tolerance) else 0.0, decision=str(p.decision))
            for p in points]
    return RunInfo(
        run_id=a["run_id"], sha256=file_sha256(path),
        procedure=(proc.get("name", ""), proc.get("version", ""), proc.get("sha256", "")),
        dut=job.get("dut_asset_id", ""), customer=job.get("customer_name", ""),
        technician=job.get("operator_user", "") or job.get("operator", ""),
        started=a.get("created", ""), finished=a.get("finished", ""),
        verdict=verdict([str(p.decision) for p in left]), standards=standards, points=rows)
