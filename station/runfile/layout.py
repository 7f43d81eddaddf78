"""Fixed names and types of the run file (documented in docs/runfile.md).

While a run goes, the file is written in HDF5's single-writer /
multiple-reader (SWMR) mode: every flush leaves it consistent, so a
``kill -9`` at any moment leaves a file that opens and holds every
completed point. SWMR allows no variable-length data, so every string is
fixed-length and variable-length text (the I/O log, the event log) is kept
as a byte blob with an index of (offset, length) rows.

Every commit appends one row to ``/chain``: how many rows each table holds
after it, a CRC-32 of what it added to each table, and a SHA-256 digest
chained from the previous row's (station/runfile/chain.py). The root
attribute ``seal`` closes the chain with the run's final status.
"""

from __future__ import annotations

import re

import numpy as np

from drivers.transport import IO_INLINE, IO_RECORD

FORMAT = "calstation-run"
FORMAT_VERSION = 3  # 3: /budget, raw channels, per-point spec; 2: /chain and the seal

STATUSES = ("running", "completed", "aborted", "failed")

POINTS = "points"
PLAN = "plan"
RAW = "raw/readings"
IO = "io"
EVENTS_INDEX = "events/index"
EVENTS_DATA = "events/data"
INSTRUMENTS = "instruments"
JOB = "job"
PROCEDURE = "procedure"
CHAIN = "chain"
BUDGET = "budget"

#: The tables a commit appends to, in the order the chain hashes them; the
#: names of their row counts in /chain.
TABLES = (("raw", "raw/readings"), ("budget", "budget"), ("io", "io"), ("events", "events/index"),
          ("event_bytes", "events/data"), ("points", "points"))
#: Root attributes that change when the run ends (covered by the seal, not
#: by the header digest).
MUTABLE_ATTRS = ("status", "end_reason", "finished", "seal")

#: The message of an ``ambient`` event: the thermo-hygrometer's reading,
#: written by the engine (`ambient_message`) and read back by the certificate.
AMBIENT_MESSAGE = re.compile(r"(-?\d+(?:\.\d+)?) C, (-?\d+(?:\.\d+)?) %RH")


def ambient_message(temperature: float, humidity: float) -> str:
    """An ``ambient`` event's message: ``23.012 C, 45.21 %RH``."""
    return f"{temperature:.3f} C, {humidity:.2f} %RH"


S16 = "S16"
S32 = "S32"
S64 = "S64"
S128 = "S128"

POINT_DTYPE = np.dtype(
    [
        ("index", "<i4"),
        ("function", S16),
        ("range", "<f8"),
        ("nominal", "<f8"),
        ("frequency", "<f8"),
        ("unit", S16),
        ("reference", "<f8"),
        ("indication", "<f8"),
        ("error", "<f8"),
        ("lower_limit", "<f8"),
        ("upper_limit", "<f8"),
        ("expanded_uncertainty", "<f8"),
        ("coverage_factor", "<f8"),
        ("tur", "<f8"),
        ("decision", S16),  # pass, fail, conditional pass, conditional fail
        ("phase", S16),
        ("n", "<i4"),
        ("std_dev", "<f8"),
        ("correction", "<f8"),
        ("p_conform", "<f8"),
        ("gum_expanded", "<f8"),
        ("mc_low", "<f8"),
        ("mc_high", "<f8"),
        ("mc_trials", "<i4"),
        ("u_combined", "<f8"),
        ("nu_eff", "<f8"),
        ("guard_band", "<f8"),
        ("t_start", "<f8"),
        ("t_end", "<f8"),
        ("label", S64),
    ]
)

PLAN_DTYPE = np.dtype(
    [
        ("index", "<i4"),
        ("function", S16),
        ("range", "<f8"),
        ("nominal", "<f8"),
        ("unit", S16),
        ("readings", "<i4"),
        ("settle_s", "<f8"),
        ("phase", S16),
        ("label", S64),
        ("nplc", "<f8"),
        ("planned_tur", "<f8"),
        ("frequency", "<f8"),
        ("tolerance", "<f8"),
        ("spec", S128),
    ]
)

#: One row per reading: its point, arrival time, value, and whose it is
#: (``channel`` 0: the DUT's readings, 1: the reference's).
RAW_DTYPE = np.dtype([("point", "<i4"), ("time", "<f8"), ("value", "<f8"), ("channel", "u1")])

#: One row per component of each point's uncertainty budget
#: (station/metrology/budget.py): u = half_width / divisor, contribution
#: = |sensitivity| u; ``readings`` says which raw channel a type A
#: component comes from (-1: none).
BUDGET_DTYPE = np.dtype(
    [
        ("point", "<i4"),
        ("name", S32),
        ("kind", "S1"),
        ("distribution", S16),
        ("half_width", "<f8"),
        ("divisor", "<f8"),
        ("sensitivity", "<f8"),
        ("dof", "<f8"),
        ("u", "<f8"),
        ("contribution", "<f8"),
        ("readings", "<i1"),
        ("description", S128),
    ]
)

#: One row per exchange (or part of one): when, which instrument (index
#: into the ``instruments`` attribute of /io), direction (0 = sent to it,
#: 1 = received from it), and the exact bytes, ``length`` of ``data``; an
#: exchange longer than IO_INLINE (36) bytes continues in the rows after it
#: (``more`` = 1 on every row but its last). Fixed-size rows because SWMR
#: allows no variable-length data; 48 bytes, the transports' I/O log records
#: (drivers.transport.IO_RECORD) stored as they are.
IO_DTYPE = np.dtype(
    [
        ("time", "<f8"),
        ("instrument", "u1"),
        ("direction", "u1"),
        ("more", "u1"),
        ("length", "u1"),
        ("data", "u1", (IO_INLINE,)),
    ]
)

#: One row per event: kind (``started``, ``prompt``, ``answer``, ``point``,
#: ``paused``, ``aborted``, ...) and where its UTF-8 message lies in /events/data.
EVENT_DTYPE = np.dtype([("time", "<f8"), ("kind", S16), ("offset", "<u8"), ("length", "<u4")])

#: One row per commit (row 0: the header, all counts 0). Counts are the
#: rows of each table after the commit; ``crc`` the CRC-32 of the bytes the
#: commit added to each table (in TABLES order: it names the table that was
#: altered); ``digest`` = SHA-256(previous digest, counts, added bytes).
CHAIN_DTYPE = np.dtype(
    [
        ("time", "<f8"),
        *[(name, "<u8") for name, _ in TABLES],
        ("crc", "<u4", (len(TABLES),)),
        ("digest", "u1", (32,)),
    ]
)

#: The row type of each table, by its name in TABLES.
TABLE_DTYPES = (("raw", RAW_DTYPE), ("budget", BUDGET_DTYPE), ("io", IO_DTYPE), ("events", EVENT_DTYPE),
                ("event_bytes", np.dtype("u1")), ("points", POINT_DTYPE))

#: Chunks of about 4 KiB: the writer rewrites the last chunk whole at each
#: commit (direct chunk write), so a small chunk is a cheap commit.
CHUNK_BYTES = 4096


def chunk_rows(dtype: np.dtype) -> int:  # type: ignore[type-arg]
    return max(1, CHUNK_BYTES // dtype.itemsize)

assert IO_DTYPE.itemsize == IO_RECORD.size, "/io rows must be the I/O log's records"
