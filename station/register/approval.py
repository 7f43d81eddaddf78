"""Review and approval: a signatory approves a completed run, the register
assigns the certificate number, the PDF and the DCC are rendered, signed
and entered; or the run is rejected with a reason.

Numbers are ``PREFIX-YEAR-NNNNN`` from one counter row per prefix and year,
incremented inside the approval's transaction under the row's lock
(PostgreSQL) or the database's write lock (SQLite), so stations sharing a
register never issue the same number. A number is never reused and never
skipped silently: if rendering or signing fails after the number was taken,
the certificate row stays, marked void with the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from station.certificates.common import file_sha256
from station.certificates.issue import LANGUAGES, Issue
from station.register import audit as A
from station.register import schema as S
from station.register.core import Register, User, utc_now
from station.register.db import RegisterError
from station.signing import Signer


@dataclass(frozen=True)
class Approved:
    number: str
    pdf: Path
    dcc: Path
    issue: Issue


#: Renders one document: (run file, output path, issue, signer) -> path.
Renderer = Callable[[Path, Path, Issue, Signer], Path]


def _render_pdf(run: Path, out: Path, issue: Issue, signer: Signer) -> Path:
    from station.certificates.pdf import render_pdf

    return render_pdf(run, out, issue, signer)


def _render_dcc(run: Path, out: Path, issue: Issue, signer: Signer) -> Path:
    from station.certificates.dcc import write_dcc

    return write_dcc(run, out, issue, signer)


def next_number(conn: sa.Connection, prefix: str, year: int) -> str:
    name = f"{prefix}-{year}"
    # the first number of a year: two stations may both find no row
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        conn.execute(postgresql.insert(S.counters).values(name=name, value=0).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects import sqlite

        conn.execute(sqlite.insert(S.counters).values(name=name, value=0).on_conflict_do_nothing())
    value = conn.execute(sa.update(S.counters).where(S.counters.c.name == name)
                         .values(value=S.counters.c.value + 1).returning(S.counters.c.value)).scalar_one()
    return f"{name}-{int(value):05d}"


def signatory(reg: Register, user: str) -> User:
    """``user``, who must be a signatory of the register to approve."""
    approver = reg.user(user)
    if approver.role != "signatory":
        raise RegisterError(f"user {user!r} is a {approver.role}; only a signatory approves certificates")
    return approver


def approve(reg: Register, user: str, run: Path, signer: Signer, languages: str = "en+zh",
            out_dir: Path | None = None, render_pdf: Renderer = _render_pdf,
            render_dcc: Renderer = _render_dcc) -> Approved:
    if languages not in LANGUAGES:
        raise RegisterError(f"language {languages!r} is not one of {', '.join(LANGUAGES)}")
    approver = signatory(reg, user)
    if signer.user != user:
        raise RegisterError(f"the key is {signer.user!r}'s, not {user!r}'s")
    if approver.key_id is None:
        raise RegisterError(f"signatory {user!r} has no public key in the register; an administrator sets it "
                            f"with `calstation register user key {user} --public-key FILE`")
    if signer.key_id != approver.key_id:
        raise RegisterError(f"the private key given (key id {signer.key_id}) is not {user!r}'s registered key "
                            f"({approver.key_id}); give their own key file with --key")
    row = reg.register_run(user, run)
    if user in (row["technician"],) or approver.full_name == row["technician"]:
        raise RegisterError(f"run {row['run_id']} was made by {user!r}: nobody approves their own run; "
                            "another signatory reviews it")
    if row["status"] == "approved" and _abandoned(reg, user, row):
        row = dict(row, status="completed")
    if row["status"] != "completed":
        done = reg.certificates_of_run(row["run_id"])
        issued = [c.number for c in done if c.status == "issued"]
        raise RegisterError(f"run {row['run_id']} is already {row['status']}"
                            + (f" (certificate {issued[0]})" if issued else "")
                            + (f": {row['reason']}" if row["reason"] else ""))
    approved_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    prefix = reg.setting("certificate_prefix", "CAL")
    number = reserve(reg, user, row["id"], row["run_id"], prefix, approved_at, languages, signer.key_id)
    issue = Issue(number=number, approved_at=approved_at, approver=approver.full_name, approver_user=user,
                  approver_role="Authorised signatory", run_sha256=row["sha256"], languages=languages,
                  lab_code=prefix)
    out_dir = out_dir or run.parent
    pdf, dcc = out_dir / f"{number}.pdf", out_dir / f"{number}.dcc.xml"
    tmp = Path(tempfile.mkdtemp(prefix=".issuing-", dir=out_dir))
    try:
        if file_sha256(run) != row["sha256"]:
            raise RegisterError(f"{run} changed while it was being approved; approve it again")
        p = render_pdf(run, tmp / pdf.name, issue, signer)
        d = render_dcc(run, tmp / dcc.name, issue, signer)
        hashes = file_sha256(p), file_sha256(d)
        complete(reg, user, number, row["run_id"], hashes, signer.key_id, languages)
        os.replace(p, pdf)
        os.replace(d, dcc)
    except BaseException as e:
        _void(reg, user, number, row["id"], f"{type(e).__name__}: {e}")
        raise
    finally:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    return Approved(number, pdf, dcc, issue)


def reserve(reg: Register, user: str, run: int, run_id: str, prefix: str, approved_at: dt.datetime,
            languages: str, key_id: str) -> str:
    """Take the next certificate number for run row ``run`` and mark the
    run approved, in one transaction; returns the number."""
    with reg._tx() as conn:
        # the run may have been approved by another station since we looked
        status = conn.execute(sa.select(S.runs.c.status).where(S.runs.c.id == run)
                              .with_for_update()).scalar_one()
        if status != "completed":
            raise RegisterError(f"run {run_id} was just {status} by someone else")
        number = next_number(conn, prefix, approved_at.year)
        if conn.execute(sa.select(S.certificates.c.id).where(S.certificates.c.number == number)).first():
            raise RegisterError(f"certificate number {number} is already in the register: the counter "
                                f"{prefix}-{approved_at.year} is behind; an administrator must correct it")
        conn.execute(S.certificates.insert().values(
            number=number, run=run, status="issuing", approver=user,
            approved_at=approved_at.strftime("%Y-%m-%dT%H:%M:%SZ"), languages=languages,
            key_id=key_id, pdf_sha256="", dcc_sha256="", note=""))
        A.append(conn, A.Entry(utc_now(), user, "approve", "run", run_id, {"status": "completed"},
                               {"status": "approved", "certificate": number}))
        conn.execute(S.runs.update().where(S.runs.c.id == run).values(status="approved"))
    return number


def complete(reg: Register, user: str, number: str, run_id: str, hashes: tuple[str, str], key_id: str,
             languages: str) -> None:
    """The certificate's documents are written and signed: enter their hashes."""
    with reg._tx() as conn:
        conn.execute(S.certificates.update().where(S.certificates.c.number == number)
                     .values(status="issued", pdf_sha256=hashes[0], dcc_sha256=hashes[1]))
        A.append(conn, A.Entry(utc_now(), user, "issue", "certificate", number, {},
                               {"run": run_id, "pdf_sha256": hashes[0], "dcc_sha256": hashes[1],
                                "key_id": key_id, "languages": languages}))


#: An approval whose documents were not entered this long after its number
#: was taken was abandoned (its process was killed, the machine lost power).
ABANDONED_AFTER = dt.timedelta(minutes=10)


def _abandoned(reg: Register, user: str, row: Mapping[str, Any]) -> bool:
    """Void the run's certificate left ``issuing`` by an approval that never
    finished, so the run can be approved again; True if there was one."""
    certs = reg.certificates_of_run(row["run_id"])
    if any(c.status == "issued" for c in certs):
        return False
    now = dt.datetime.now(dt.UTC)
    stuck = [c for c in certs if c.status == "issuing"
             and now - dt.datetime.strptime(c.approved_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
             > ABANDONED_AFTER]
    if not stuck or len(stuck) != sum(c.status == "issuing" for c in certs):
        return False
    for c in stuck:
        _void(reg, user, c.number, row["id"], f"abandoned: the approval of {c.approved_at} never entered its "
              "documents (its process ended)")
    return True


def _void(reg: Register, user: str, number: str, run_id: int, why: str) -> None:
    """The number stays taken, marked void with why; the run can be approved again."""
    with reg._tx() as conn:
        conn.execute(S.certificates.update().where(S.certificates.c.number == number)
                     .values(status="void", note=why[:500]))
        conn.execute(S.runs.update().where(S.runs.c.id == run_id).values(status="completed"))
        A.append(conn, A.Entry(utc_now(), user, "void", "certificate", number, {"status": "issuing"},
                               {"status": "void"}, why[:500]))
