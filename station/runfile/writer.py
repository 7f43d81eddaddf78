"""Writes the run file as the calibration happens.

Every exchange with an instrument, every event and every point is buffered
in memory and committed to the file at each point (and after each prompt),
then flushed: a power cut loses at most the point in progress. The file is
created beside its final name and moved into place, and the final status
is set on a copy that replaces the file in one step, so no moment exists
at which a crash leaves a damaged file. See layout.py and docs/runfile.md.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from drivers.transport import IOEntry
from station.errors import RunFileError
from station.metrology.result import PointResult
from station.runfile import layout as L


@dataclass(frozen=True)
class InstrumentRecord:
    """An instrument as the run used it: identity, where it was, its standing."""

    role: str
    driver: str
    resource: str
    manufacturer: str
    model: str
    serial: str
    firmware: str
    idn: str
    asset_id: str = ""
    description: str = ""
    calibration_due: str = ""  # ISO date; empty for a DUT
    certificate: str = ""  # the standard's own calibration certificate
    traceability: str = ""
    specification: str = ""  # which specification the run used for it
    distribution: str = ""


@dataclass(frozen=True)
class PlanRow:
    index: int
    function: str
    range: float
    nominal: float
    unit: str
    readings: int
    settle_s: float
    phase: str
    label: str
    planned_tur: float


@dataclass(frozen=True)
class RunHeader:
    run_id: str
    created: str  # ISO 8601, UTC
    software: str
    procedure_name: str
    procedure_version: str
    procedure_title: str
    procedure_method: str
    procedure_sha256: str
    procedure_source: str
    decision_rule: str
    decision_statement: str
    job: Mapping[str, str]
    instruments: tuple[InstrumentRecord, ...]
    plan: tuple[PlanRow, ...]
    extra: Mapping[str, str] = field(default_factory=dict)


def _fixed(text: str, width: int) -> bytes:
    data = text.encode("utf-8")
    if len(data) > width:
        raise RunFileError(f"value {text!r} is longer than the run file's {width}-byte field")
    return data


def _table(f: h5py.Group, name: str, dtype: np.dtype[Any], chunk: int = L.CHUNK_ROWS) -> h5py.Dataset:
    return f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(chunk,))


def _append(ds: h5py.Dataset, rows: npt.NDArray[Any]) -> None:
    n = ds.shape[0]
    ds.resize((n + rows.shape[0],))
    ds[n:] = rows


def point_row(r: PointResult) -> tuple[Any, ...]:
    d = asdict(r)
    return tuple(
        _fixed(d[name], 64 if name == "label" else 16) if isinstance(d[name], str) else d[name]
        for name in L.POINT_DTYPE.names or ()
    )


def _build(f: h5py.File, header: RunHeader) -> None:
    f.attrs["format"] = L.FORMAT
    f.attrs["format_version"] = L.FORMAT_VERSION
    f.attrs["status"] = "running"
    f.attrs["end_reason"] = ""
    f.attrs["run_id"] = header.run_id
    f.attrs["created"] = header.created
    f.attrs["finished"] = ""
    f.attrs["software"] = header.software
    f.attrs["decision_rule"] = header.decision_rule
    f.attrs["decision_statement"] = header.decision_statement
    for k, v in header.extra.items():
        f.attrs[k] = v
    proc = f.create_group(L.PROCEDURE)
    for key in ("name", "version", "title", "method", "sha256"):
        proc.attrs[key] = getattr(header, f"procedure_{key}")
    proc.create_dataset("source", data=np.frombuffer(header.procedure_source.encode("utf-8"), dtype="u1"))
    job = f.create_group(L.JOB)
    for k, v in header.job.items():
        job.attrs[k] = v
    inst = f.create_group(L.INSTRUMENTS)
    for rec in header.instruments:
        g = inst.create_group(rec.role)
        for k, v in asdict(rec).items():
            g.attrs[k] = v
    plan = np.array(
        [
            (p.index, _fixed(p.function, 16), p.range, p.nominal, _fixed(p.unit, 16), p.readings,
             p.settle_s, _fixed(p.phase, 16), _fixed(p.label, 64), p.planned_tur)
            for p in header.plan
        ],
        dtype=L.PLAN_DTYPE,
    )
    f.create_dataset(L.PLAN, data=plan)
    _table(f, L.POINTS, L.POINT_DTYPE, 256)
    _table(f, L.RAW, L.RAW_DTYPE)
    io = f.create_group("io")
    io.attrs["instruments"] = json.dumps([r.role for r in header.instruments])
    _table(io, "index", L.IO_DTYPE)
    _table(io, "data", np.dtype("u1"), L.CHUNK_BYTES)
    ev = f.create_group("events")
    _table(ev, "index", L.EVENT_DTYPE, 256)
    _table(ev, "data", np.dtype("u1"), L.CHUNK_BYTES)


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RunWriter:
    """Appends to an open run file. One writer per file; call from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = h5py.File(path, "a", libver="latest")
        self._f.swmr_mode = True
        self._points = self._f[L.POINTS]
        self._raw = self._f[L.RAW]
        self._io_index = self._f[L.IO_INDEX]
        self._io_data = self._f[L.IO_DATA]
        self._ev_index = self._f[L.EVENTS_INDEX]
        self._ev_data = self._f[L.EVENTS_DATA]
        names = json.loads(self._f["io"].attrs["instruments"])
        self._instrument_ids: dict[str, int] = {n: i for i, n in enumerate(names)}
        self._io_rows: list[tuple[float, int, int, int, int]] = []
        self._io_chunks: list[bytes] = []
        self._io_offset = int(self._io_data.shape[0])
        self._io_pending = 0
        self._ev_rows: list[tuple[float, bytes, int, int]] = []
        self._ev_chunks: list[bytes] = []
        self._ev_offset = int(self._ev_data.shape[0])
        self._closed = False

    # -- creation -------------------------------------------------------
    @classmethod
    def create(cls, path: Path, header: RunHeader) -> RunWriter:
        path = Path(path)
        if path.exists():
            raise RunFileError(f"{path} already exists; choose another output name, or continue it with --resume")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_beside(path)
        try:
            with h5py.File(tmp, "w", libver="latest") as f:
                _build(f, header)
            _replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return cls(path)

    @classmethod
    def resume(cls, path: Path, completed: Iterable[int]) -> RunWriter:
        """Reopen an interrupted run to continue it.

        The file is rewritten beside itself from what it holds (raw readings
        of a point that did not complete are dropped; its I/O and events are
        kept), then moved into place, so the original stays whole until the
        copy is complete.
        """
        path = Path(path)
        done = np.array(sorted(completed), dtype="<i4")
        tmp = _tmp_beside(path)
        try:
            with h5py.File(path, "r", swmr=True) as old, h5py.File(tmp, "w", libver="latest") as new:
                for k, v in old.attrs.items():
                    new.attrs[k] = v
                for name in old:
                    if name == "raw":
                        continue
                    old.copy(old[name], new, name=name)
                raw = old[L.RAW][...]
                keep = raw[np.isin(raw["point"], done)]
                ds = new.create_dataset(L.RAW, data=keep, maxshape=(None,), chunks=(L.CHUNK_ROWS,))
                assert ds.shape[0] == keep.shape[0]
                new.attrs["status"] = "running"
                new.attrs["end_reason"] = ""
                new.attrs["finished"] = ""
            _replace(tmp, path)
        except OSError as e:
            raise RunFileError(f"{path}: cannot be resumed ({e}); the file is unchanged") from e
        finally:
            tmp.unlink(missing_ok=True)
        return cls(path)

    # -- appending --------------------------------------------------------
    def io(self, entry: IOEntry) -> None:
        """I/O log callback for the transports (buffered until `commit`)."""
        ident = self._instrument_ids.get(entry.instrument)
        if ident is None:
            raise RunFileError(f"I/O from {entry.instrument!r}, which is not an instrument of this run")
        n = len(entry.data)
        self._io_rows.append((entry.time, ident, 0 if entry.direction == "tx" else 1, self._io_offset + self._io_pending, n))
        self._io_chunks.append(entry.data)
        self._io_pending += n

    def event(self, kind: str, message: str, t: float | None = None) -> None:
        data = message.encode("utf-8")
        pending = sum(len(c) for c in self._ev_chunks)
        self._ev_rows.append((time.time() if t is None else t, _fixed(kind, 16), self._ev_offset + pending, len(data)))
        self._ev_chunks.append(data)

    def point(self, result: PointResult, times: Sequence[float] | npt.NDArray[np.float64],
              values: Sequence[float] | npt.NDArray[np.float64]) -> None:
        """Record an evaluated point with its raw readings, and commit."""
        raw = np.empty(len(values), dtype=L.RAW_DTYPE)
        raw["point"] = result.index
        raw["time"] = times
        raw["value"] = values
        # raw before the /points row: a crash in between leaves readings
        # without a point, which readers ignore and resume drops.
        _append(self._raw, raw)
        self._write_logs()
        _append(self._points, np.array([point_row(result)], dtype=L.POINT_DTYPE))
        self._f.flush()

    def commit(self) -> None:
        """Write what is buffered and flush it to disk."""
        self._write_logs()
        self._f.flush()

    def _write_logs(self) -> None:
        if self._io_rows:
            _append(self._io_data, np.frombuffer(b"".join(self._io_chunks), dtype="u1"))
            _append(self._io_index, np.array(self._io_rows, dtype=L.IO_DTYPE))
            self._io_offset += self._io_pending
            self._io_rows, self._io_chunks, self._io_pending = [], [], 0
        if self._ev_rows:
            blob = b"".join(self._ev_chunks)
            _append(self._ev_data, np.frombuffer(blob, dtype="u1"))
            _append(self._ev_index, np.array(self._ev_rows, dtype=L.EVENT_DTYPE))
            self._ev_offset += len(blob)
            self._ev_rows, self._ev_chunks = [], []

    # -- ending -----------------------------------------------------------
    def finish(self, status: str, reason: str) -> None:
        """Commit, close, and set the final status (on a copy moved into place)."""
        if status not in L.STATUSES:
            raise ValueError(status)
        if self._closed:
            return
        try:
            self.commit()
        finally:
            self._f.close()
            self._closed = True
        tmp = _tmp_beside(self.path)
        try:
            shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "a", libver="latest") as f:
                f.attrs["status"] = status
                f.attrs["end_reason"] = reason
                f.attrs["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            _replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """Close without a final status (the file stays 'running', resumable)."""
        if not self._closed:
            try:
                self.commit()
            finally:
                self._f.close()
                self._closed = True
