"""Register throughput: approvals per second from 8 concurrent processes
(SQLite and PostgreSQL), and the time of `affected` over 100,000
certificates. Each figure is printed beside a bare baseline measured in the
same run on the same database:

- approvals: the register's part of an approval (take the number under
  lock, enter the certificate, mark the run, two audit entries, enter the
  documents' hashes) against a bare transaction that increments one
  counter row, both from 8 processes. Rendering and signing the PDF and the
  DCC (about a second of CPU each approval, and in parallel across
  stations) are measured by a separate end-to-end figure;
- affected: `Register.affected` over 100,000 issued certificates (one
  standard used in a tenth of them) against a bare indexed SELECT of the
  same rows' ids.

    python benchmarks/register.py [--pg URL] [--approvals N] [--certificates N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.register import Register  # noqa: E402
from station.register import schema as S  # noqa: E402
from station.register.approval import complete, reserve  # noqa: E402

PROCESSES = 8
PG = os.environ.get("CALSTATION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _fresh_pg(base: str) -> str:
    import psycopg

    name = f"calstation_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg(base: str, url: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _runs(reg: Register, n: int, standard: str = "STD-1", every: int = 1) -> list[tuple[int, str]]:
    """``n`` completed runs entered directly (as `register_run` would)."""
    now = dt.datetime.now(dt.UTC)
    with reg.engine.begin() as c:
        proc = c.execute(S.procedures.insert().values(name="bench", version="1", sha256="0" * 64)
                         ).inserted_primary_key[0]  # type: ignore[index]
        rows = [dict(run_id=str(uuid.uuid4()), path="", sha256="0" * 64, status="completed", procedure=proc,
                     dut=f"DUT-{i % 1000}", customer="c", technician="li",
                     started=(now - dt.timedelta(minutes=i)).isoformat(),
                     finished=(now - dt.timedelta(minutes=i)).isoformat(), verdict="pass",
                     registered_at=now.isoformat(), reason="") for i in range(n)]
        c.execute(S.runs.insert(), rows)
        ids = c.execute(sa.select(S.runs.c.id, S.runs.c.run_id).order_by(S.runs.c.id)).all()
        c.execute(S.run_standards.insert(), [dict(run=i, role="standard", asset_id=standard if k % every == 0
                                                  else f"STD-{k % 97 + 2}", certificate="C", due="2099-01-01")
                                             for k, (i, _) in enumerate(ids)])
    return [(int(i), str(r)) for i, r in ids]


def _approver(url: str, work: list[tuple[int, str]], start: Any, out: Any) -> None:
    reg = Register.open(url)
    start.wait()
    t0 = time.perf_counter()
    for run, run_id in work:
        now = dt.datetime.now(dt.UTC)
        number = reserve(reg, "sun", run, run_id, "CAL", now, "en", "k" * 16)
        complete(reg, "sun", number, run_id, ("a" * 64, "b" * 64), "k" * 16, "en")
    out.put((time.perf_counter() - t0, len(work)))
    reg.close()


def _bare(url: str, n: int, start: Any, out: Any) -> None:
    reg = Register.open(url)
    start.wait()
    t0 = time.perf_counter()
    for _ in range(n):
        with reg.engine.begin() as c:
            c.execute(sa.text("UPDATE counters SET value = value + 1 WHERE name = 'bare'"))
    out.put((time.perf_counter() - t0, n))
    reg.close()


def _parallel(target: object, args_of: list[tuple[object, ...]]) -> float:
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, start, out)) for a in args_of]  # type: ignore[arg-type]
    for p in procs:
        p.start()
    time.sleep(1.0)  # every process connected and waiting
    t0 = time.perf_counter()
    start.set()
    done = [out.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return float(sum(n for _, n in done)) / wall


def approvals(url: str, n: int) -> tuple[float, float]:
    reg = Register.open(url)
    reg.add_user(None, "ada", "Ada", "administrator")
    runs = _runs(reg, n * PROCESSES)
    with reg.engine.begin() as c:
        c.execute(S.counters.insert().values(name="bare", value=0))
    reg.close()
    chunks = [runs[i::PROCESSES] for i in range(PROCESSES)]
    rate = _parallel(_approver, [(url, c) for c in chunks])
    bare = _parallel(_bare, [(url, n) for _ in range(PROCESSES)])
    with Register.open(url) as reg:
        assert reg.audit_verify().ok
        with reg.engine.connect() as c:
            numbers = c.execute(sa.select(S.certificates.c.number)).scalars().all()
        assert len(numbers) == len(set(numbers)) == n * PROCESSES
    return rate, bare


def affected(url: str, n: int) -> tuple[float, float, int]:
    reg = Register.open(url)
    reg.add_user(None, "ada", "Ada", "administrator")
    runs = _runs(reg, n, "STD-1", every=10)
    with reg.engine.begin() as c:
        c.execute(S.certificates.insert(), [dict(number=f"CAL-2026-{i:06d}", run=r, status="issued", approver="sun",
                                                 approved_at="2026-01-01T00:00:00Z", languages="en", key_id="k",
                                                 pdf_sha256="", dcc_sha256="", note="")
                                            for i, (r, _) in enumerate(runs)])
    since = dt.date.today() - dt.timedelta(days=365)
    times, bare = [], []
    found = 0
    for _ in range(5):
        t0 = time.perf_counter()
        found = len(reg.affected("STD-1", since))
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with reg.engine.connect() as c:
            c.execute(sa.select(S.run_standards.c.run).where(S.run_standards.c.asset_id == "STD-1")).all()
        bare.append(time.perf_counter() - t0)
    reg.close()
    return statistics.median(times), statistics.median(bare), found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=PG)
    ap.add_argument("--approvals", type=int, default=50, help="per process")
    ap.add_argument("--certificates", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", f"sqlite:///{tmp}/a.sqlite", f"sqlite:///{tmp}/b.sqlite", None)]
        try:
            backends.append(("PostgreSQL", _fresh_pg(args.pg), _fresh_pg(args.pg), args.pg))
        except Exception as e:  # noqa: BLE001
            print(f"PostgreSQL at {args.pg} not reachable ({e}); SQLite only")
        for name, a, b, base in backends:
            rate, bare = approvals(a, args.approvals)
            print(f"{name}: approvals (register part), {PROCESSES} processes x {args.approvals}: {rate:.0f}/s; "
                  f"bare counter transactions {bare:.0f}/s; ratio {rate / bare:.2f}")
            t, tb, found = affected(b, args.certificates)
            print(f"{name}: affected over {args.certificates:,} certificates ({found:,} found): {t * 1e3:.0f} ms; "
                  f"bare indexed select {tb * 1e3:.0f} ms; ratio {t / tb:.1f}")
            if base:
                _drop_pg(base, a)
                _drop_pg(base, b)


if __name__ == "__main__":
    main()
