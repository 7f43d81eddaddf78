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
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from drivers.transport import IOLog
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
    nplc: float
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


def _table(f: h5py.Group, name: str, dtype: np.dtype[Any]) -> h5py.Dataset:
    return f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(L.chunk_rows(dtype),))


class _Appender:
    """Appends rows to a 1-D chunked dataset, fast.

    The last, partly filled chunk is kept in memory as bytes and written
    whole with HDF5's direct chunk write (no type conversion, no
    selection): about 4 us an append, where ``ds.resize`` plus
    ``ds[n:] = rows`` costs about 40 (docs/performance.md). Rows are
    complete once the /points row that covers them is written after them.
    """

    def __init__(self, ds: h5py.Dataset) -> None:
        self._id = ds.id
        self._itemsize = int(ds.dtype.itemsize)
        self._chunk_rows = int(ds.chunks[0])
        self._chunk_bytes = self._chunk_rows * self._itemsize
        self.n = int(ds.shape[0])
        self._buf = bytearray(self._chunk_bytes)
        fill = self.n % self._chunk_rows
        self._pos = fill * self._itemsize  # bytes of the last chunk already used
        if fill:  # a reopened file: carry on filling its last chunk
            self._buf[: self._pos] = ds[self.n - fill : self.n].tobytes()

    def append(self, rows: npt.NDArray[Any]) -> None:
        self.append_bytes(rows.tobytes())

    def append_bytes(self, data: bytes) -> None:
        """Append rows given as their bytes in the file's layout."""
        size, cb, buf = self._itemsize, self._chunk_bytes, self._buf
        pos = self._pos
        total = len(data)
        i = 0
        while i < total:
            take = min(total - i, cb - pos)
            buf[pos : pos + take] = data[i : i + take]
            start = self.n - pos // size
            self.n += take // size
            i += take
            pos += take
            self._id.set_extent((self.n,))  # HDF5 writes a chunk only inside the extent
            self._id.write_direct_chunk((start,), buf)
            if pos == cb:
                pos = 0
        self._pos = pos


assert PointResult._fields == L.POINT_DTYPE.names, "PointResult and /points must have the same fields"

def _struct_of(dtype: np.dtype[Any]) -> tuple[struct.Struct, tuple[tuple[int, int], ...]]:
    """A struct with the same packed layout as ``dtype``, and its string fields."""
    codes, strings = [], []
    for i, name in enumerate(dtype.names or ()):
        ft = dtype.fields[name][0]  # type: ignore[index]
        if ft.kind == "S":
            codes.append(f"{ft.itemsize}s")
            strings.append((i, ft.itemsize))
        else:
            codes.append({"<i4": "i", "<f8": "d"}[ft.str])
    st = struct.Struct("<" + "".join(codes))
    assert st.size == dtype.itemsize
    return st, tuple(strings)


_POINT_ROW, _POINT_STRINGS = _struct_of(L.POINT_DTYPE)


def point_row(r: PointResult) -> bytes:
    """The /points row of a result, as bytes in the file's layout."""
    values: list[Any] = list(r)
    for i, width in _POINT_STRINGS:
        values[i] = _fixed(values[i], width)
    return _POINT_ROW.pack(*values)


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
             p.settle_s, _fixed(p.phase, 16), _fixed(p.label, 64), p.nplc, p.planned_tur)
            for p in header.plan
        ],
        dtype=L.PLAN_DTYPE,
    )
    f.create_dataset(L.PLAN, data=plan)
    _table(f, L.POINTS, L.POINT_DTYPE)
    _table(f, L.RAW, L.RAW_DTYPE)
    io = _table(f, L.IO, L.IO_DTYPE)
    io.attrs["instruments"] = json.dumps([r.role for r in header.instruments])
    ev = f.create_group("events")
    _table(ev, "index", L.EVENT_DTYPE)
    _table(ev, "data", np.dtype("u1"))


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RunWriter:
    """Appends to an open run file. One writer per file; call from one thread."""

    def __init__(self, path: Path, io_log: IOLog | None = None) -> None:
        self.path = path
        self._f = h5py.File(path, "a", libver="latest")
        self._f.swmr_mode = True
        self._points = _Appender(self._f[L.POINTS])
        self._raw = _Appender(self._f[L.RAW])
        self._io = _Appender(self._f[L.IO])
        self._ev_index = _Appender(self._f[L.EVENTS_INDEX])
        self._ev_data = _Appender(self._f[L.EVENTS_DATA])
        names = json.loads(self._f[L.IO].attrs["instruments"])
        #: Filled by the transports (``io_log=writer.io_log``), drained at each commit.
        self.io_log = io_log if io_log is not None else IOLog(names)
        if self.io_log.instruments[: len(names)] != names:
            self._f.close()
            raise RunFileError(f"{path}: the I/O log numbers instruments {self.io_log.instruments}, "
                               f"the run file {names}; open it with an I/O log of the file's instruments")
        self._io_names = len(names)
        self._ev_rows: list[tuple[float, bytes, int, int]] = []
        self._ev_chunks: list[bytes] = []
        self._ev_pending = 0
        self._closed = False

    # -- creation -------------------------------------------------------
    @classmethod
    def create(cls, path: Path, header: RunHeader, io_log: IOLog | None = None) -> RunWriter:
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
        return cls(path, io_log)

    @classmethod
    def resume(cls, path: Path, completed: Iterable[int], io_log: IOLog | None = None) -> RunWriter:
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
                ds = new.create_dataset(L.RAW, data=keep, maxshape=(None,), chunks=(L.chunk_rows(L.RAW_DTYPE),))
                assert ds.shape[0] == keep.shape[0]
                new.attrs["status"] = "running"
                new.attrs["end_reason"] = ""
                new.attrs["finished"] = ""
            _replace(tmp, path)
        except OSError as e:
            raise RunFileError(f"{path}: cannot be resumed ({e}); the file is unchanged") from e
        finally:
            tmp.unlink(missing_ok=True)
        return cls(path, io_log)

    # -- appending --------------------------------------------------------

    def event(self, kind: str, message: str, t: float | None = None) -> None:
        data = message.encode("utf-8")
        self._ev_rows.append((time.time() if t is None else t, _fixed(kind, 16),
                              self._ev_data.n + self._ev_pending, len(data)))
        self._ev_chunks.append(data)
        self._ev_pending += len(data)

    def point(self, result: PointResult, times: Sequence[float] | npt.NDArray[np.float64],
              values: Sequence[float] | npt.NDArray[np.float64]) -> None:
        """Record an evaluated point with its raw readings, and commit."""
        raw = np.empty(len(values), dtype=L.RAW_DTYPE)
        raw["point"] = result.index
        raw["time"] = times
        raw["value"] = values
        # raw and logs before the /points row: a crash in between leaves
        # readings without a point, which readers ignore and resume drops.
        self._raw.append(raw)
        stray = self._write_logs()
        self._points.append_bytes(point_row(result))
        self._f.flush()
        if stray:
            raise self._stray_io(stray)

    def commit(self) -> None:
        """Write what is buffered and flush it to disk."""
        stray = self._write_logs()
        self._f.flush()
        if stray:
            raise self._stray_io(stray)

    def _write_logs(self) -> str:
        """Append the buffered I/O and events. Returns the name of an
        instrument that is not one of the run's, if any logged: its records
        are left out, everything else is written."""
        log = self.io_log
        stray = ""
        if log.records:
            data = log.take()
            if len(log.instruments) > self._io_names:  # a bug upstream: keep what is ours
                rows = np.frombuffer(data, dtype=L.IO_DTYPE)
                ours = rows["instrument"] < self._io_names
                if not ours.all():
                    stray = log.instruments[int(rows["instrument"][~ours][0])]
                    data = rows[ours].tobytes()
            if data:
                self._io.append_bytes(data)
        if self._ev_rows:
            self._ev_data.append_bytes(b"".join(self._ev_chunks))
            self._ev_index.append(np.array(self._ev_rows, dtype=L.EVENT_DTYPE))
            self._ev_rows, self._ev_chunks, self._ev_pending = [], [], 0
        return stray

    def _stray_io(self, name: str) -> RunFileError:
        return RunFileError(f"{self.path}: I/O from {name!r}, which is not an instrument of this run, "
                            "was left out of /io; report this as a bug")

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
