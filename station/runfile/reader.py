"""Reads a run file, complete or interrupted, without changing it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from drivers.transport import IOEntry, decode_io_records
from station.errors import RunFileError
from station.metrology.result import PointResult
from station.runfile import layout as L
from station.runfile.writer import InstrumentRecord, PlanRow


def _text(v: Any) -> str:
    if isinstance(v, bytes | np.bytes_):
        return bytes(v).decode("utf-8")
    if isinstance(v, np.ndarray):
        return str(v.tolist())
    return str(v)


class RunFile:
    """A run file opened read-only (also while its run is still writing it)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RunFileError(f"{self.path}: no such run file; check the path")
        try:
            self._f = h5py.File(self.path, "r", swmr=True)
        except Exception as e:  # h5py raises OSError, RuntimeError, ... on a damaged file
            raise RunFileError(
                f"{self.path}: not a readable HDF5 file ({str(e).split('(')[0].strip()}); "
                "it is corrupt or not a run file"
            ) from None
        try:
            fmt = _text(self._f.attrs.get("format", ""))
            if fmt != L.FORMAT:
                raise RunFileError(f"{self.path}: not a calstation run file (format {fmt!r})")
            version = int(self._f.attrs.get("format_version", 0))
            if version > L.FORMAT_VERSION:
                raise RunFileError(
                    f"{self.path}: run file format {version} is newer than this calstation "
                    f"reads ({L.FORMAT_VERSION}); upgrade calstation"
                )
            for name in (L.POINTS, L.PLAN, L.RAW, L.IO, L.EVENTS_INDEX, L.INSTRUMENTS):
                if name not in self._f:
                    raise RunFileError(f"{self.path}: damaged run file, /{name} is missing")
        except RunFileError:
            self._f.close()
            raise
        except Exception as e:  # h5py raises many kinds on a damaged file
            self._f.close()
            raise RunFileError(f"{self.path}: damaged run file ({e})") from None

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
        return bytes(self._f[L.PROCEDURE]["source"][...]).decode("utf-8")

    @property
    def instruments(self) -> list[InstrumentRecord]:
        out = []
        for role in json.loads(self._f[L.IO].attrs["instruments"]):
            a = self._f[L.INSTRUMENTS][role].attrs
            out.append(InstrumentRecord(**{k: _text(v) for k, v in a.items()}))
        return out

    @property
    def plan(self) -> list[PlanRow]:
        return [
            PlanRow(int(r["index"]), _text(r["function"]), float(r["range"]), float(r["nominal"]),
                    _text(r["unit"]), int(r["readings"]), float(r["settle_s"]), _text(r["phase"]),
                    _text(r["label"]), float(r["nplc"]), float(r["planned_tur"]))
            for r in self._f[L.PLAN][...]
        ]

    # -- results ----------------------------------------------------------------
    def points_array(self) -> npt.NDArray[Any]:
        return self._f[L.POINTS][...]  # type: ignore[no-any-return]

    @property
    def points(self) -> list[PointResult]:
        names = L.POINT_DTYPE.names or ()
        out = []
        for row in self.points_array():
            kw: dict[str, Any] = {}
            for n in names:
                v = row[n]
                if isinstance(v, bytes | np.bytes_):
                    kw[n] = _text(v)
                elif n in ("index", "n"):
                    kw[n] = int(v)
                else:
                    kw[n] = float(v)
            out.append(PointResult(**kw))
        return out

    def completed(self) -> list[int]:
        return [int(i) for i in self._f[L.POINTS]["index"]]

    def raw(self, point: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Timestamps and values of the raw readings of a completed point."""
        rows = self._f[L.RAW][...]
        sel = rows[rows["point"] == point]
        return sel["time"].astype(np.float64), sel["value"].astype(np.float64)

    def io(self) -> Iterator[IOEntry]:
        """Every exchange, in order, with its exact bytes."""
        names = json.loads(self._f[L.IO].attrs["instruments"])
        yield from decode_io_records(self._f[L.IO][...].tobytes(), names)

    def events(self) -> list[tuple[float, str, str]]:
        index = self._f[L.EVENTS_INDEX][...]
        data = self._f[L.EVENTS_DATA][...].tobytes()
        return [
            (float(r["time"]), _text(r["kind"]), data[int(r["offset"]):int(r["offset"]) + int(r["length"])].decode("utf-8"))
            for r in index
        ]

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
