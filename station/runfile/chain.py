"""The run file's hash chain: what makes an altered record detectable.

Row 0 of ``/chain`` holds the digest of the header: every attribute of
every object except the four that change when the run ends (``status``,
``end_reason``, ``finished``, ``seal``), the name of every object, and the
bytes of the datasets written at creation (``/plan``, ``/procedure/source``).
Each later row is one commit of the writer: the digest is

    SHA-256(previous digest, the table row counts after the commit,
            for each table in `layout.TABLES` order: the length and bytes
            of the rows the commit appended)

so a changed, removed or inserted byte anywhere in a committed record, or
in the header, changes every digest after it. The ``seal`` root attribute,
written when the run ends, is SHA-256(last digest, number of commits,
status, end_reason, finished): the final status cannot be changed either.

What this is not: a signature. Anyone with this module can recompute a
chain over altered data; what the chain proves is that the file is the one
whose seal was recorded elsewhere (the register, a signed certificate's
QR code), and that no edit was made with ordinary tools.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import h5py
import numpy as np

from station.runfile import layout as L

_TAG = b"calstation-run-chain/1\n"
_COUNTS = struct.Struct(f"<{len(L.TABLES)}Q")
_LEN = struct.Struct("<Q")
#: Datasets whose bytes are part of the header (written once, at creation).
_STATIC = (L.PLAN, f"{L.PROCEDURE}/source")
#: Datasets that grow: covered commit by commit, not by the header.
_GROWING = {path for _, path in L.TABLES} | {L.CHAIN}


def _value(v: Any) -> bytes:
    """An attribute value as tagged bytes (a type change is a change)."""
    if isinstance(v, bytes | np.bytes_):
        return b"b" + bytes(v)
    if isinstance(v, str):
        return b"s" + v.encode("utf-8")
    if isinstance(v, np.ndarray):
        return b"a" + str(v.dtype).encode() + b":" + v.tobytes()
    if isinstance(v, bool | np.bool_):
        return b"?" + str(bool(v)).encode()
    if isinstance(v, int | np.integer):
        return b"i" + str(int(v)).encode()
    if isinstance(v, float | np.floating):
        return b"f" + float(v).hex().encode()
    return b"r" + repr(v).encode("utf-8")


def _field(h: Any, data: bytes) -> None:
    h.update(_LEN.pack(len(data)))
    h.update(data)


def header_digest(f: h5py.File) -> bytes:
    """The digest of everything a run file holds from its creation on."""
    h = hashlib.sha256(_TAG)

    def attrs(name: str, obj: h5py.HLObject, skip: Iterable[str] = ()) -> None:
        _field(h, b"object:" + name.encode("utf-8"))
        for key in sorted(obj.attrs.keys()):
            if key in skip:
                continue
            _field(h, key.encode("utf-8"))
            _field(h, _value(obj.attrs[key]))

    attrs("/", f, L.MUTABLE_ATTRS)
    names: list[str] = []
    f.visit(names.append)
    for name in sorted(names):
        obj = f[name]
        attrs(name, obj)
        if isinstance(obj, h5py.Dataset):
            _field(h, b"dtype:" + str(obj.dtype.descr).encode())
            if name in _STATIC:
                _field(h, obj[...].tobytes())
            elif name not in _GROWING:
                _field(h, b"unexpected dataset")  # never written by calstation: covered by name
    return h.digest()


def commit_digest(previous: bytes, counts: Sequence[int], parts: Sequence[bytes]) -> bytes:
    """The digest of one commit: ``parts`` are the bytes it appended to each
    table, in `layout.TABLES` order; ``counts`` the tables' rows after it."""
    h = hashlib.sha256(previous)
    h.update(_COUNTS.pack(*counts))
    for part in parts:
        h.update(_LEN.pack(len(part)))
        h.update(part)
    return h.digest()


def crcs(parts: Sequence[bytes]) -> tuple[int, ...]:
    return tuple(zlib.crc32(p) for p in parts)


def seal(last_digest: bytes, commits: int, status: str, end_reason: str, finished: str) -> str:
    """The seal of an ended run, as hex text (the ``seal`` root attribute)."""
    h = hashlib.sha256(b"seal\n" + last_digest)
    h.update(_LEN.pack(commits))
    for text in (status, end_reason, finished):
        _field(h, text.encode("utf-8"))
    return h.hexdigest()


def chain_row(t: float, counts: Sequence[int], parts_crc: Sequence[int], digest: bytes) -> bytes:
    """One /chain row, as bytes in the file's layout."""
    return _ROW.pack(t, *counts, *parts_crc, digest)


_ROW = struct.Struct(f"<d{len(L.TABLES)}Q{len(L.TABLES)}I32s")
assert _ROW.size == L.CHAIN_DTYPE.itemsize, "chain rows must match /chain"
