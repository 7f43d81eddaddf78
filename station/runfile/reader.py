"""Reads a run file, complete or interrupted, without changing it, and
verifies it (`RunFile.verify`).

Every read is bounded: the file is checked against its recorded length
before HDF5 opens it (files.py), and no table may claim more rows than the
file has bytes for, so a damaged or forged file is refused in one line
rather than read for minutes or into all memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from drivers.transport import IOEntry, decode_io_records
from station.errors import RunFileError
from station.metrology.budget import Component
from station.metrology.decision import DecisionRule
from station.metrology.result import PointResult, differences, rederive
from station.runfile import chain
from station.runfile import layout as L
from station.runfile.files import RESTORE, one_line, open_h5
from station.runfile.records import InstrumentRecord, PlanRow

__all__ = ["RunFile", "Verification"]


def _text(v: Any) -> str:
    if isinstance(v, bytes | np.bytes_):
        return bytes(v).decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray):
        return str(v.tolist())
    return str(v)


@dataclass(frozen=True)
class Verification:
    """What `RunFile.verify` found."""

    ok: bool  # header, every commit, the seal and the structure check out
    message: str  # one line, for people
    commits: int  # commits that verified (the header not counted)
    counts: dict[str, int]  # rows of each table as of the last verified commit
    sealed: bool  # the run ended and its seal matches
    #: an interrupted run's last commit did not complete (a crash during the
    #: write): its rows are not part of the record, and resume drops them
    torn: bool = False
    uncommitted: int = 0  # rows after the last commit (an interrupted run)


def _printable(text: str) -> str:
    """Text from a file that may be damaged, safe in a one-line message."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _point_text(row: Any) -> str:
    function, unit = _printable(_text(row["function"])), _printable(_text(row["unit"]))
    return f"point {int(row['index']) + 1} ({function} {float(row['nominal']):g} {unit})"


class RunFile:
    """A run file opened read-only (also while its run is still writing it:
    ``follow=True``)."""

    def __init__(self, path: Path | str, follow: bool = False) -> None:
        self.path = Path(path)
        self._f = open_h5(self.path, follow)
        self._counts: dict[str, int] | None = None
        self._derived: list[PointResult] | None = None  # set by a successful verify
        try:
            fmt = _text(self._f.attrs.get("format", ""))
            if fmt != L.FORMAT:
                raise RunFileError(f"{self.path}: not a calstation run file (format {fmt!r}); give a run "
                                   "file that calstation wrote")
            self.version = int(self._f.attrs.get("format_version", 0))
            if self.version > L.FORMAT_VERSION:
                raise RunFileError(
                    f"{self.path}: run file format {self.version} is newer than this calstation "
                    f"reads ({L.FORMAT_VERSION}); upgrade calstation"
                )
            needed = [L.POINTS, L.PLAN, L.RAW, L.IO, L.EVENTS_INDEX, L.EVENTS_DATA, L.INSTRUMENTS,
                      L.JOB, L.PROCEDURE] + ([L.CHAIN] if self.version >= 2 else [])
            size = self.path.stat().st_size
            for name in needed:
                if name not in self._f:
                    raise RunFileError(f"{self.path}: damaged run file, /{name} is missing; {RESTORE}")
                obj = self._f[name]
                if isinstance(obj, h5py.Dataset) and obj.size * obj.dtype.itemsize > size:
                    raise RunFileError(f"{self.path}: damaged run file, /{name} claims {obj.shape[0]} "
                                       f"rows, more than its {size} bytes can hold; {RESTORE}")
        except RunFileError:
            self._f.close()
            raise
        except Exception as e:  # h5py raises many kinds on a damaged file
            self._f.close()
            raise RunFileError(f"{self.path}: damaged run file ({one_line(e)}); {RESTORE}") from None

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> RunFile:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    # -- header ---------------------------------------------------------------
    @property
    def attrs(self) -> dict[str, str]:
        return {k: _text(v) for k, v in self._f.attrs.items()}

    @property
    def status(self) -> str:
        return _text(self._f.attrs["status"])

    @property
    def job(self) -> dict[str, str]:
        return {k: _text(v) for k, v in self._f[L.JOB].attrs.items()}

    @property
    def procedure(self) -> dict[str, str]:
        return {k: _text(v) for k, v in self._f[L.PROCEDURE].attrs.items()}

    def procedure_source(self) -> str:
        return bytes(self._f[L.PROCEDURE]["source"][...]).decode("utf-8", errors="replace")

    @property
    def instruments(self) -> list[InstrumentRecord]:
        out = []
        known = set(InstrumentRecord.__dataclass_fields__)
        for role in json.loads(self._f[L.IO].attrs["instruments"]):
            a = self._f[L.INSTRUMENTS][role].attrs
            fields = {k: _text(v) for k, v in a.items() if k in known}
            fields.setdefault("kind", "")  # written before format 3
            out.append(InstrumentRecord(**fields))
        return out

    @property
    def plan(self) -> list[PlanRow]:
        return [
            PlanRow(int(r["index"]), _text(r["function"]), float(r["range"]), float(r["nominal"]),
                    _text(r["unit"]), int(r["readings"]), float(r["settle_s"]), _text(r["phase"]),
                    _text(r["label"]), float(r["nplc"]), float(r["planned_tur"]), float(r["frequency"]),
                    float(r["tolerance"]), _text(r["spec"]))
            for r in self._f[L.PLAN][...]
        ]

    # -- what the record holds --------------------------------------------------
    def committed(self) -> dict[str, int]:
        """Rows of each table that belong to the record: those of the last
        commit in /chain (a crash during a commit leaves rows after it,
        which are not part of the record). Format 1 files: every row."""
        if self._counts is None:
            rows = {name: int(self._f[path].shape[0]) if path in self._f else 0 for name, path in L.TABLES}
            if self.version >= 2:
                ch = self._f[L.CHAIN]
                if ch.shape[0]:
                    last = ch[ch.shape[0] - 1]
                    rows = {name: min(rows[name], int(last[name])) if name in (last.dtype.names or ()) else 0
                            for name, _ in L.TABLES}
            self._counts = rows
        return self._counts

    def _table(self, name: str, path: str) -> npt.NDArray[Any]:
        if path not in self._f:  # an earlier format without this table
            return np.zeros(0, dtype=dict(L.TABLE_DTYPES)[name])
        return self._f[path][: self.committed()[name]]  # type: ignore[no-any-return]

    def points_array(self) -> npt.NDArray[Any]:
        return self._table("points", L.POINTS)

    @property
    def points(self) -> list[PointResult]:
        return [self._result(row) for row in self.points_array()]

    @staticmethod
    def _result(row: Any) -> PointResult:
        kw: dict[str, Any] = {}
        for n in L.POINT_DTYPE.names or ():
            v = row[n]
            if isinstance(v, bytes | np.bytes_):
                kw[n] = _text(v)
            elif n in ("index", "n", "mc_trials"):
                kw[n] = int(v)
            else:
                kw[n] = float(v)
        return PointResult(**kw)

    def completed(self) -> list[int]:
        return [int(i) for i in self.points_array()["index"]]

    def raw_array(self) -> npt.NDArray[Any]:
        return self._table("raw", L.RAW)

    def raw(self, point: int, channel: int = 0) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Timestamps and values of the raw readings of a completed point
        (``channel`` 0: the DUT's, 1: the reference's)."""
        rows = self.raw_array()
        sel = rows[(rows["point"] == point) & (rows["channel"] == channel)]
        return sel["time"].astype(np.float64), sel["value"].astype(np.float64)

    def raw_by_point(self, channel: int = 0) -> dict[int, npt.NDArray[np.float64]]:
        """The values of every point's raw readings on ``channel``, read once."""
        rows = self.raw_array()
        rows = rows[rows["channel"] == channel]
        out: dict[int, npt.NDArray[np.float64]] = {}
        if not len(rows):
            return out
        points = rows["point"]
        starts = np.flatnonzero(np.r_[True, points[1:] != points[:-1]])
        for a, b in zip(starts, [*starts[1:], len(rows)], strict=True):
            p = int(points[a])
            values = rows["value"][a:b].astype(np.float64)
            out[p] = np.concatenate([out[p], values]) if p in out else values
        return out

    def budget_array(self) -> npt.NDArray[Any]:
        return self._table("budget", L.BUDGET)

    def budgets(self) -> dict[int, list[Component]]:
        """Every recorded point's uncertainty budget, by point index."""
        out: dict[int, list[Component]] = {}
        for r in self.budget_array():
            out.setdefault(int(r["point"]), []).append(Component(
                _text(r["name"]), "A" if bytes(r["kind"]) == b"A" else "B", _text(r["distribution"]), float(r["half_width"]),
                float(r["divisor"]), float(r["sensitivity"]), float(r["dof"]), _text(r["description"]),
                int(r["readings"])))
        return out

    def io(self) -> Iterator[IOEntry]:
        """Every exchange, in order, with its exact bytes."""
        names = json.loads(self._f[L.IO].attrs["instruments"])
        yield from decode_io_records(self._table("io", L.IO).tobytes(), names)

    def events(self) -> list[tuple[float, str, str]]:
        index = self._table("events", L.EVENTS_INDEX)
        data = self._table("event_bytes", L.EVENTS_DATA).tobytes()
        return [
            (float(r["time"]), _text(r["kind"]),
             data[int(r["offset"]):int(r["offset"]) + int(r["length"])].decode("utf-8", errors="replace"))
            for r in index
        ]

    # -- integrity ------------------------------------------------------------------
    def verify(self) -> Verification:
        """Check the header digest, every commit of /chain, the seal, and
        that the record is a consistent prefix of the plan whose every
        point follows from its raw readings. Reads the whole file once."""
        try:
            return self._verify()
        except RunFileError:
            raise
        except Exception as e:  # a damaged file can fail anywhere in h5py
            return self._failed(f"damaged run file ({one_line(e)}); {RESTORE}", 0, {})

    def _failed(self, why: str, commits: int, counts: dict[str, int], torn: bool = False) -> Verification:
        return Verification(False, f"{self.path}: FAILED: {why}", commits, counts, False, torn)

    def _verify(self) -> Verification:
        f = self._f
        zero = {name: 0 for name, _ in L.TABLES}
        if self.version < L.FORMAT_VERSION:
            why = ("format 1 has no integrity chain" if self.version < 2 else
                   f"format {self.version} keeps no /budget table")
            return self._failed(f"{why} (written by an earlier calstation); this version verifies "
                                f"format {L.FORMAT_VERSION} only: verify it with the version that wrote it", 0, zero)
        rows = f[L.CHAIN][...]
        if not len(rows):
            return self._failed("/chain is empty: the header was never committed", 0, zero)
        if any(int(rows[0][name]) for name, _ in L.TABLES) or bytes(rows[0]["digest"]) != chain.header_digest(f):
            return self._failed("the header (run attributes, procedure, job, instruments or plan) is "
                                "not what the run recorded when it started: it was altered", 0, zero)
        status = self.status
        running = status == "running"
        data = {name: f[path][...] for name, path in L.TABLES}
        raw_bytes = {name: a.tobytes() for name, a in data.items()}
        size = {name: a.dtype.itemsize for name, a in data.items()}
        prev, counts = bytes(rows[0]["digest"]), dict(zero)
        torn = False
        good = 0
        for i in range(1, len(rows)):
            row = rows[i]
            new = {name: int(row[name]) for name, _ in L.TABLES}
            last = i == len(rows) - 1
            where = f"commit {i} of {len(rows) - 1}"
            if any(new[n] < counts[n] or new[n] > len(data[n]) for n in new):
                if last and running:
                    torn = True
                    break
                return self._failed(f"{where} counts rows that the tables do not hold in order; the "
                                    "file was altered or damaged", good, counts)
            parts = [raw_bytes[n][counts[n] * size[n]: new[n] * size[n]] for n, _ in L.TABLES]
            digest = chain.commit_digest(prev, [new[n] for n, _ in L.TABLES], parts)
            if digest != bytes(row["digest"]):
                if last and running:
                    torn = True
                    break
                return self._failed(self._which(where, row, parts, counts, new, data), good, counts)
            prev, counts, good = digest, new, i
        self._counts = counts
        uncommitted = sum(len(data[n]) - counts[n] for n in counts)
        seal_attr = _text(f.attrs.get("seal", ""))
        if running:
            if seal_attr:
                return self._failed("the run is marked running but carries a seal; its status was "
                                    "altered", good, counts)
        else:
            if uncommitted:
                return self._failed(f"{uncommitted} row(s) after the last commit of an ended run; rows "
                                    "were added after it was sealed", good, counts)
            expected = chain.seal(prev, good, status, _text(f.attrs.get("end_reason", "")),
                                  _text(f.attrs.get("finished", "")))
            if seal_attr != expected:
                return self._failed(f"the seal does not match the status {status!r}, end reason and "
                                    "finish time with the record: they were altered", good, counts)
        problem = self._structure(data, counts, status)
        if problem:
            return self._failed(problem, good, counts)
        n_points = counts["points"]
        state = "sealed " + status if not running else "running (not sealed: in progress or interrupted)"
        note = ""
        if torn:
            note = "; its last commit did not complete (a crash during the write) and is not part of the record"
        elif uncommitted:
            note = f"; {uncommitted} row(s) after the last commit (a crash during a commit) are not part of the record"
        return Verification(
            True,
            f"{self.path}: verified: header and {good} commit(s) ({n_points} point(s), {counts['raw']} "
            f"reading(s), {counts['io']} I/O record(s), {counts['events']} event(s)), {state}{note}",
            good, counts, not running, torn, uncommitted)

    @staticmethod
    def _which(where: str, row: Any, parts: list[bytes], old: dict[str, int], new: dict[str, int],
               data: dict[str, npt.NDArray[Any]]) -> str:
        points = data["points"][old["points"]: new["points"]]
        what = f"{where} ({', '.join(_point_text(p) for p in points)})" if len(points) else where
        crcs = chain.crcs(parts)
        for k, (name, path) in enumerate(L.TABLES):
            if crcs[k] != int(row["crc"][k]):
                return (f"{what}: /{path} rows {old[name]} to {new[name] - 1} are not what was "
                        "recorded: the file was altered after it was written")
        return f"{what} does not match its digest: the file or its /chain was altered after it was written"

    def _structure(self, data: dict[str, npt.NDArray[Any]], counts: dict[str, int], status: str) -> str:
        """The record must be a prefix of the plan, each point with its raw
        readings, each point's results following from them."""
        plan = self._f[L.PLAN][...]
        points = data["points"][: counts["points"]]
        raw = data["raw"][: counts["raw"]]
        idx = points["index"].astype(np.int64)
        if len(points) > len(plan) or not np.array_equal(idx, np.arange(len(points))):
            return (f"its points are not the plan's first {len(points)} in order (indexes "
                    f"{idx[:8].tolist()}{'...' if len(idx) > 8 else ''} of {len(plan)} planned)")
        for p in points:
            q = plan[int(p["index"])]
            if (_text(p["function"]), float(p["range"]), float(p["nominal"])) != (
                    _text(q["function"]), float(q["range"]), float(q["nominal"])):
                return f"{_point_text(p)} is not the plan's point {int(p['index']) + 1}"
        if status == "completed" and len(points) != len(plan):
            missing = {_text(r["phase"]) for r in plan[len(points):]}
            not_adjusted = any(k == "adjustment" and m.startswith("none") for _, k, m in self.events())
            if missing != {"as_left"} or not not_adjusted:
                return f"marked completed with {len(points)} of {len(plan)} planned points"
        rp = raw["point"].astype(np.int64)
        if len(rp) and (np.any(np.diff(rp) < 0) or rp[-1] >= len(points) or rp[0] < 0):
            return "/raw/readings holds readings of points that are not recorded, or out of order"
        try:
            rule = DecisionRule.parse(_text(self._f.attrs.get("decision_rule", "")))
        except ValueError:
            return f"unknown decision rule {_text(self._f.attrs.get('decision_rule', ''))!r}"
        method = _text(self._f.attrs.get("uncertainty_method", "gum"))
        seed = int(_text(self._f.attrs.get("mc_seed", "0")) or 0)
        dut_raw = self.raw_by_point(0)
        ref_raw = self.raw_by_point(1)
        budgets = self.budgets()
        bp = data["budget"][: counts["budget"]]["point"].astype(np.int64)
        if len(bp) and (np.any(np.diff(bp) < 0) or bp[-1] >= len(points) or bp[0] < 0):
            return "/budget holds components of points that are not recorded, or out of order"
        derived = []
        empty = np.zeros(0)
        for p in points:
            recorded = self._result(p)
            dut = dut_raw.get(recorded.index, empty)
            ref = ref_raw.get(recorded.index, empty)
            budget = budgets.get(recorded.index, [])
            taken = len(dut) if len(dut) else len(ref)
            if taken != recorded.n:
                return f"{_point_text(p)} has {taken} raw reading(s), its result says {recorded.n}"
            if not budget:
                return f"{_point_text(p)} has no uncertainty budget in /budget"
            again = rederive(recorded, budget, dut.tolist(), ref.tolist(), rule, method, seed)
            diff = differences(recorded, again)
            if diff:
                return (f"{_point_text(p)}: {', '.join(diff)} do(es) not follow from its raw readings; "
                        "the record was altered")
            derived.append(again)
        self._derived = derived
        return ""

    def derived_points(self) -> list[PointResult]:
        """Every recorded point as its raw readings imply it, in order: what
        a successful `verify` re-derived (field for field equal to the
        recorded rows). Raises `RunFileError` before a successful verify."""
        if self._derived is None:
            raise RunFileError(f"{self.path}: its points are re-derived by a successful verify, "
                               "which has not been done")
        return list(self._derived)

    def layout(self) -> list[str]:
        """Every group and dataset with its shape and attributes, for `inspect`."""
        lines: list[str] = []

        def attrs(obj: h5py.HLObject, indent: str) -> None:
            for k, v in obj.attrs.items():
                text = _text(v)
                if len(text) > 70:
                    text = text[:67] + "..."
                lines.append(f"{indent}@{k} = {text}")

        lines.append("/")
        attrs(self._f, "  ")

        def visit(name: str, obj: h5py.HLObject) -> None:
            depth = name.count("/") + 1
            indent = "  " * depth
            if isinstance(obj, h5py.Dataset):
                fields = f" fields: {', '.join(obj.dtype.names)}" if obj.dtype.names else f" {obj.dtype}"
                lines.append(f"{indent}/{name}  [{obj.shape[0] if obj.shape else 1} rows]{fields}")
            else:
                lines.append(f"{indent}/{name}/")
            attrs(obj, indent + "  ")

        self._f.visititems(visit)
        return lines
