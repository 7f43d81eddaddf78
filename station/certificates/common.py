"""What the PDF and the DCC (and the register) read from a run file alike:
its SHA-256, the instants of its events, and whether it may be certified."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path

from station.errors import CalstationError, one_line


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
