"""What the PDF and the DCC (and the register) read from a run file alike:
its SHA-256, the instants of its events, and whether it may be certified."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from station.errors import CalstationError, one_line
from station.runfile.records import InstrumentRecord

if TYPE_CHECKING:
    from station.metrology.result import PointResult
    from station.runfile.reader import RunFile


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def refuse_status(path: Path, attrs: Mapping[str, str], error: type[CalstationError]) -> None:
    """Raise ``error`` unless the run is completed: a certificate is only
    issued for a completed run."""
    status = attrs.get("status", "")
    if status == "completed":
        return
    reason = one_line(attrs.get("end_reason", "")) or "no reason recorded"
    hint = ("it is still running or was interrupted; finish it with `calstation run ... --resume`"
            if status == "running" else "resume it to completion or repeat the calibration")
    raise error(f"{path}: run {attrs.get('run_id', '?')} is {status or 'without a status'} ({reason}); "
                f"a certificate is only issued for a completed run: {hint}")


def standards_in_calibration(path: Path, records: Iterable[InstrumentRecord], last: dt.datetime,
                             error: type[CalstationError]) -> Iterator[tuple[InstrumentRecord, dt.date]]:
    """Each standard the run used, with its due date; ``error`` for one with
    no valid due date, or one due before the run's last point: a
    certificate cannot claim traceability through it."""
    for r in records:
        if r.kind != "standard":
            continue
        try:
            due = dt.date.fromisoformat(r.calibration_due)
        except ValueError:
            raise error(f"{path}: standard {r.role!r} ({r.asset_id or r.model}) has no valid calibration "
                        f"due date ({r.calibration_due!r}); a certificate cannot claim traceability "
                        "through it") from None
        if due < last.date():
            raise error(f"{path}: standard {r.role!r} ({r.asset_id or r.model}) was due for calibration "
                        f"on {due.isoformat()}, before this calibration ({last.date().isoformat()}); "
                        "repeat the calibration with a standard in calibration")
        yield r, due


def the_dut(path: Path, records: Iterable[InstrumentRecord], error: type[CalstationError],
            advice: str) -> InstrumentRecord:
    """The one instrument of kind ``dut`` the run records; ``error`` when
    there is not exactly one, or when an instrument is of a kind this
    calstation cannot state (``advice``: what to do then)."""
    records = list(records)
    duts = [r for r in records if r.kind == "dut"]
    if len(duts) != 1:
        found = ", ".join(repr(r.role) for r in duts) or "none"
        raise error(f"{path}: the run records {len(duts)} instrument(s) of kind 'dut' ({found}); a "
                    "certificate is for exactly one item: the run file is incomplete or damaged")
    odd = [r for r in records if r.kind not in ("dut", "standard")]
    if odd:
        raise error(f"{path}: instrument {odd[0].role!r} is of kind {odd[0].kind!r}, neither 'dut' nor "
                    f"'standard'; {advice}")
    return duts[0]


def observed(rf: RunFile, points: Iterable[PointResult]) -> dict[int, tuple[int, int]]:
    """How each point was observed: (the DUT's readings, the reference's), by point index."""
    dut_raw, ref_raw = rf.raw_by_point(0), rf.raw_by_point(1)
    return {p.index: (len(dut_raw.get(p.index, ())), len(ref_raw.get(p.index, ()))) for p in points}


#: A job's ``statement_of_conformity`` that turns the statement off.
_NO = {"no", "false", "0", "off"}


def states_conformity(attrs: Mapping[str, str], job: Mapping[str, str]) -> bool:
    """Whether the certificate states conformity: the run was judged by a
    decision rule and the job did not turn the statement off."""
    return bool(attrs.get("decision_statement")) and (
        job.get("statement_of_conformity", "yes").strip().lower() not in _NO)
