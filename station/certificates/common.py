"""What the PDF and the DCC (and the register) read from a run file alike:
its SHA-256, the instants of its events, and whether it may be certified."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from station.errors import CalstationError, one_line
from station.runfile.records import InstrumentRecord


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
