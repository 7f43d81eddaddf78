"""Writes the run file as the calibration happens.

Every exchange with an instrument, every event and every point is buffered
in memory and committed to the file at each point (and after each prompt):
the rows are appended, a /chain row seals them to everything before
(chain.py), and the file is flushed. A crash of the process loses at most
the point in progress. The file is synced to the disk at least once a
second (`SYNC_INTERVAL_S`) and when the run ends, so a power cut loses at
most the last second. The file is created, resumed and given its final
status as a whole image written beside it and moved into place
(files.py), so no moment exists at which a crash leaves a damaged file,
and HDF5 never writes where a full disk could crash it: while the run goes,
the free space is checked at each sync, and the run is stopped while the
final status still fits. See layout.py and docs/runfile.md.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from drivers.transport import IOLog
from station.errors import RunFileError
from station.metrology.budget import Component
from station.metrology.result import PointResult
from station.runfile import chain
from station.runfile import layout as L
from station.runfile.files import one_line, open_h5, stale_temporaries, write_image
from station.runfile.records import InstrumentRecord, PlanRow, RunHeader

__all__ = ["InstrumentRecord", "PlanRow", "RunHeader", "RunWriter", "point_row", "space_needed"]

#: The file is synced to the disk at least this often while a run goes.
SYNC_INTERVAL_S = 1.0
#: Free space kept in hand beyond a copy of the run file (the final status
#: is written on a copy), checked at each sync.
SPARE_BYTES = 4 * 1024 * 1024
#: Bytes a point adds besides its raw readings (the /points and /chain rows
#: and a generous allowance for its I/O log); used to check the free space
#: before a run starts.
_POINT_BYTES = 4096


def space_needed(points: int, readings: int, current: int = 0) -> int:
    """Free bytes a run of ``points`` points of ``readings`` readings needs
    on its disk: the file it will grow to, a copy of it for the final
    status, and `SPARE_BYTES`."""
    final = current + points * (_POINT_BYTES + readings * L.RAW_DTYPE.itemsize) + 65536
    return 2 * final + SPARE_BYTES


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


_BUDGET_ROW = struct.Struct("<i32s1s16sddddddb128s")
assert _BUDGET_ROW.size == L.BUDGET_DTYPE.itemsize


def budget_rows(point: int, components: Sequence[Component]) -> bytes:
    """The /budget rows of a point's components, as bytes in the file's layout."""
    pack = _BUDGET_ROW.pack
    return b"".join(
        pack(point, _fixed(c.name, 32), c.kind.encode("ascii"), _fixed(c.distribution, 16), c.half_width,
             c.divisor, c.sensitivity, c.dof, c.u, c.contribution, c.readings, _fixed(c.description, 128))
        for c in components)


def _build(f: h5py.File, header: RunHeader) -> None:
    f.attrs["format"] = L.FORMAT
    f.attrs["format_version"] = L.FORMAT_VERSION
    f.attrs["status"] = "running"
    f.attrs["end_reason"] = ""
    f.attrs["run_id"] = header.run_id
    f.attrs["created"] = header.created
    f.attrs["finished"] = ""
    f.attrs["seal"] = ""
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
             p.settle_s, _fixed(p.phase, 16), _fixed(p.label, 64), p.nplc, p.planned_tur,
             p.frequency, p.tolerance, _fixed(p.spec, 128))
            for p in header.plan
        ],
        dtype=L.PLAN_DTYPE,
    )
    f.create_dataset(L.PLAN, data=plan)
    _table(f, L.POINTS, L.POINT_DTYPE)
    _table(f, L.RAW, L.RAW_DTYPE)
    _table(f, L.BUDGET, L.BUDGET_DTYPE)
    io = _table(f, L.IO, L.IO_DTYPE)
    io.attrs["instruments"] = json.dumps([r.role for r in header.instruments])
    ev = f.create_group("events")
    _table(ev, "index", L.EVENT_DTYPE)
    _table(ev, "data", np.dtype("u1"))


def _image(build: Any) -> bytes:
    """An HDF5 file built in memory by ``build(f)``, as bytes."""
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as f:
        build(f)
    return buf.getvalue()


def _genesis(f: h5py.File) -> None:
    """Row 0 of /chain: the header's digest."""
    ch = _table(f, L.CHAIN, L.CHAIN_DTYPE)
    row = np.frombuffer(chain.chain_row(time.time(), [0] * len(L.TABLES), [0] * len(L.TABLES),
                                        chain.header_digest(f)), dtype=L.CHAIN_DTYPE)
    ch.resize((1,))
    ch[0] = row[0]


def _rewrite(path: Path, change: Callable[[h5py.File], None], doing: str) -> None:
    """Put a copy of the closed run file at ``path``, changed by
    ``change``, in its place in one step (built in memory: files.py)."""

    def build(new: h5py.File) -> None:
        with open_h5(path) as old:
            for k, val in old.attrs.items():
                new.attrs[k] = val
            _copy_into(old, new)
        change(new)

    try:
        write_image(path, _image(build), new=False)
    except OSError as e:
        raise _disk_error(path, e, doing) from None


#: Rows copied at a time when a long table is copied: between two slices
#: other threads (the window) get their turn, where one HDF5 object copy of
#: a 10,000-point run's tables held the interpreter for 40-110 ms.
_SLICE_ROWS = 1 << 15


def _copy_into(old: h5py.Group, new: h5py.Group) -> None:
    """Copy every object of ``old`` into ``new``: long one-dimensional
    tables slice by slice (same dtype, shape, chunks, filters, fill value
    and attributes: `h5py.Group.create_dataset_like`), anything else as one
    HDF5 object copy. The hash chain covers names, attributes, dtypes and
    row bytes, which both ways keep exactly."""
    for name, obj in old.items():
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.shape[0] > _SLICE_ROWS:
            ds = new.create_dataset_like(name, obj)
            for k, val in obj.attrs.items():
                ds.attrs[k] = val
            for start in range(0, obj.shape[0], _SLICE_ROWS):
                ds[start:start + _SLICE_ROWS] = obj[start:start + _SLICE_ROWS]
        elif isinstance(obj, h5py.Group):
            group = new.create_group(name)
            for k, val in obj.attrs.items():
                group.attrs[k] = val
            _copy_into(obj, group)
        else:
            old.copy(obj, new, name=name)


def _set_ending(f: h5py.File, status: str, reason: str, finished: str, seal: str) -> None:
    """The root attributes that change when a run ends (or is resumed)."""
    f.attrs["status"] = status
    f.attrs["end_reason"] = reason
    f.attrs["finished"] = finished
    f.attrs["seal"] = seal


def _disk_error(path: Path, e: OSError, doing: str) -> RunFileError:
    return RunFileError(f"{path}: cannot {doing} ({e.strerror or one_line(e)}); check the folder "
                        "exists, is writable and has free space")


class RunWriter:
    """Appends to an open run file. One writer per file; call from one thread.

    A writer holds the file open in SWMR mode until `finish` or `close`.
    After an error of the file, the writer takes no more records (the file
    keeps its last commit) and only `finish`/`close` may be called."""

    def __init__(self, path: Path, io_log: IOLog | None = None) -> None:
        self.path = path
        try:
            self._f = h5py.File(path, "a", libver="latest")
            self._f.swmr_mode = True
        except Exception as e:
            raise RunFileError(f"{path}: cannot be opened for writing ({one_line(e)}); check the "
                               "disk and the file's permissions") from None
        try:
            self._points = _Appender(self._f[L.POINTS])
            self._raw = _Appender(self._f[L.RAW])
            self._budget = _Appender(self._f[L.BUDGET])
            self._io = _Appender(self._f[L.IO])
            self._ev_index = _Appender(self._f[L.EVENTS_INDEX])
            self._ev_data = _Appender(self._f[L.EVENTS_DATA])
            self._chain = _Appender(self._f[L.CHAIN])
            last = self._f[L.CHAIN][self._chain.n - 1]
            counts = [int(last[name]) for name, _ in L.TABLES]
            self._digest = bytes(last["digest"])
            names = json.loads(self._f[L.IO].attrs["instruments"])
        except Exception as e:
            self._f.close()
            raise RunFileError(f"{path}: not a run file this writer can continue ({one_line(e)})") from None
        ns = [self._raw.n, self._budget.n, self._io.n, self._ev_index.n, self._ev_data.n, self._points.n]
        if counts != ns:
            self._f.close()
            raise RunFileError(f"{path}: its tables hold rows after the last commit; resume it "
                               "(which drops them) instead of appending")
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
        self._broken: str = ""  # why the file takes no more records
        self._ending = False  # finish or close under way: no more space checks
        try:
            self._fd: int | None = int(self._f.id.get_vfd_handle())
        except Exception:  # a driver without a file descriptor: sync by path
            self._fd = None
        self._synced = time.monotonic()
        self._space_checked = 0.0  # the first point checks the free space

    # -- creation -------------------------------------------------------
    @classmethod
    def create(cls, path: Path, header: RunHeader, io_log: IOLog | None = None) -> RunWriter:
        """Create a new run file at ``path``; refuses if anything is there already."""
        path = Path(path)

        def build(f: h5py.File) -> None:
            _build(f, header)
            _genesis(f)

        image = _image(build)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_image(path, image, new=True)
        except FileExistsError:
            raise RunFileError(f"{path} already exists; choose another output name, or continue it "
                               "with --resume") from None
        except OSError as e:
            raise _disk_error(path, e, "be created") from None
        return cls(path, io_log)

    @classmethod
    def resume(cls, path: Path, io_log: IOLog | None = None) -> RunWriter:
        """Reopen an interrupted run to continue it.

        The file must verify (`RunFile.verify`). It is rewritten from its
        committed record (rows after the last commit, such as the readings
        of the point in progress at a crash, are dropped), with status
        ``running`` and no seal, then moved into place: the original stays
        whole until the copy is complete. Refusals leave it untouched."""
        from station.runfile.reader import RunFile

        path = Path(path)
        with RunFile(path) as rf:
            v = rf.verify()
            if not v.ok:
                raise RunFileError(f"{v.message}; it cannot be resumed (the file is unchanged)")
        counts, commits = v.counts, v.commits

        def change(new: h5py.File) -> None:
            for name, table in L.TABLES:
                new[table].resize((counts[name],))
            new[L.CHAIN].resize((commits + 1,))
            _set_ending(new, "running", "", "", "")

        for tmp in stale_temporaries(path):  # left by a kill during an earlier write
            tmp.unlink(missing_ok=True)
        _rewrite(path, change, "be resumed; the file is unchanged")
        return cls(path, io_log)

    # -- appending --------------------------------------------------------

    def event(self, kind: str, message: str, t: float | None = None) -> None:
        data = message.encode("utf-8", errors="replace")
        self._ev_rows.append((time.time() if t is None else t, _fixed(kind, 16),
                              self._ev_data.n + self._ev_pending, len(data)))
        self._ev_chunks.append(data)
        self._ev_pending += len(data)

    def point(self, result: PointResult, times: Sequence[float] | npt.NDArray[np.float64],
              values: Sequence[float] | npt.NDArray[np.float64],
              components: Sequence[Component] = (),
              reference_times: Sequence[float] | npt.NDArray[np.float64] = (),
              reference_values: Sequence[float] | npt.NDArray[np.float64] = ()) -> None:
        """Record an evaluated point with its raw readings (the DUT's, then
        the reference's) and its budget, and commit."""
        n, m = len(values), len(reference_values)
        raw = np.empty(n + m, dtype=L.RAW_DTYPE)
        raw["point"] = result.index
        raw["time"][:n] = times
        raw["value"][:n] = values
        raw["channel"][:n] = 0
        raw["time"][n:] = reference_times
        raw["value"][n:] = reference_values
        raw["channel"][n:] = 1
        self._commit(raw.tobytes(), point_row(result), budget_rows(result.index, components))

    def commit(self) -> None:
        """Write what is buffered and flush it to the operating system."""
        self._commit(b"", b"")

    def _commit(self, raw: bytes, point: bytes, budget: bytes = b"") -> None:
        if self._broken:
            raise RunFileError(f"{self.path}: takes no more records ({self._broken})")
        if point and not self._ending and time.monotonic() - self._space_checked >= SYNC_INTERVAL_S:
            self._check_space()  # before the point: a point refused is not recorded
        try:
            # raw and logs before the /points row, the /chain row last: a crash
            # in between leaves rows after the last commit, which readers
            # ignore and resume drops.
            stray, io_b, evi_b, evd_b = self._write_logs()
            if raw:
                self._raw.append_bytes(raw)
            if budget:
                self._budget.append_bytes(budget)
            if point:
                self._points.append_bytes(point)
            parts = (raw, budget, io_b, evi_b, evd_b, point)
            if any(parts):
                counts = (self._raw.n, self._budget.n, self._io.n, self._ev_index.n, self._ev_data.n,
                          self._points.n)
                self._digest = chain.commit_digest(self._digest, counts, parts)
                self._chain.append_bytes(chain.chain_row(time.time(), counts, chain.crcs(parts), self._digest))
            self._f.flush()
            if time.monotonic() - self._synced >= SYNC_INTERVAL_S:
                self.sync()
        except RunFileError:
            raise
        except Exception as e:  # OSError, RuntimeError... from HDF5: the file takes no more
            self._broken = one_line(e)
            raise RunFileError(f"{self.path}: cannot be written ({self._broken}); the points "
                               "committed before are kept; check the disk, then resume the run") from None
        if stray:
            raise self._stray_io(stray)

    def sync(self) -> None:
        """Make what was flushed durable (fsync)."""
        if self._fd is not None:
            os.fsync(self._fd)
        else:
            with open(self.path, "rb") as fh:
                os.fsync(fh.fileno())
        self._synced = time.monotonic()

    def _check_space(self) -> None:
        """Stop taking points while the run's ending (its last commits and a
        copy of the file for the final status) still fits on the disk."""
        self._space_checked = time.monotonic()
        size = self.path.stat().st_size
        free = shutil.disk_usage(self.path.parent).free
        if free < size + SPARE_BYTES:
            raise RunFileError(
                f"{self.path}: the disk is nearly full ({free // 1024} KiB free, the run file is "
                f"{size // 1024} KiB): the run stops while its ending still fits; free space, then "
                "resume the run")

    def _write_logs(self) -> tuple[str, bytes, bytes, bytes]:
        """Append the buffered I/O and events; returns the name of an
        instrument that is not one of the run's, if any logged (its records
        are left out, everything else is written), and the bytes appended."""
        log = self.io_log
        stray = ""
        io_b = evi_b = evd_b = b""
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
                io_b = data
        if self._ev_rows:
            evd_b = b"".join(self._ev_chunks)
            evi_b = np.array(self._ev_rows, dtype=L.EVENT_DTYPE).tobytes()
            self._ev_data.append_bytes(evd_b)
            self._ev_index.append_bytes(evi_b)
            self._ev_rows, self._ev_chunks, self._ev_pending = [], [], 0
        return stray, io_b, evi_b, evd_b

    def _stray_io(self, name: str) -> RunFileError:
        return RunFileError(f"{self.path}: I/O from {name!r}, which is not an instrument of this run, "
                            "was left out of /io; report this as a bug")

    # -- ending -----------------------------------------------------------
    def finish(self, status: str, reason: str) -> None:
        """Commit, close, then set the final status and the seal on a copy
        moved into place. Raises `RunFileError` if the status could not be
        written: the file then keeps its last commit, status ``running``."""
        if status not in L.STATUSES:
            raise ValueError(status)
        if self._closed:
            return
        self._ending = True
        committed = True
        try:
            if not self._broken:
                self.commit()
        except RunFileError:
            committed = False
        finally:
            self._close_file()
        if self._broken or not committed:
            raise RunFileError(f"{self.path}: {self._broken or 'the last commit failed'}")
        finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        reason = reason.encode("utf-8", errors="replace").decode("utf-8")

        seal = chain.seal(self._digest, self._chain.n - 1, status, reason, finished)
        _rewrite(self.path, lambda new: _set_ending(new, status, reason, finished, seal),
                 "take its final status")

    def close(self) -> None:
        """Close without a final status (the file stays 'running', resumable)."""
        self._ending = True
        if not self._closed:
            try:
                if not self._broken:
                    self.commit()
            finally:
                self._close_file()

    def _close_file(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if not self._broken:
                try:
                    self.sync()
                except OSError:
                    pass  # the close below still writes what HDF5 holds
            self._f.close()
        except Exception as e:  # a file that failed a write may fail its close too
            self._broken = self._broken or one_line(e)
