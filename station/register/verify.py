"""`calstation verify FILE`: a certificate PDF, a DCC or a run file, checked
against its signature, the run file's hash and the register's entry.

Each check is a line; the file holds when every line does. What fails is
named: the signature (and so some byte of the document), the signer's key,
the register's entry (unknown number, void, a different document), the run
file (its hash chain, or a SHA-256 the register does not know).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from station import signing
from station.certificates.common import file_sha256
from station.errors import CalstationError
from station.register.core import Register


@dataclass
class Report:
    path: Path
    kind: str = ""
    holds: list[str] = field(default_factory=list)
    fails: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.fails and bool(self.holds)

    def summary(self) -> str:
        if self.ok:
            return f"{self.path}: all holds ({self.kind}): " + "; ".join(self.holds)
        return f"{self.path}: FAILS ({self.kind or 'unknown'}): " + "; ".join(self.fails)


def kind_of(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89HDF\r\n\x1a\n"):
        return "run"
    head = data[:200].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "dcc"
    return ""


def verify_file(path: Path, reg: Register | None, public_key: str | None = None) -> Report:
    rep = Report(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        rep.fails.append(f"cannot read it ({e.strerror or e}); check the path")
        return rep
    rep.kind = kind_of(data)
    try:
        if rep.kind == "run":
            _run(path, reg, rep)
        elif rep.kind in ("pdf", "dcc"):
            _document(path, data, reg, public_key, rep)
        else:
            rep.fails.append("not a certificate PDF, a DCC or a run file")
    except CalstationError as e:
        rep.fails.append(str(e))
    return rep


def _run(path: Path, reg: Register | None, rep: Report) -> None:
    from station.runfile.reader import RunFile

    with RunFile(path) as rf:
        check = rf.verify()
        run_id = rf.attrs.get("run_id", "")
    (rep.holds if check.ok else rep.fails).append(check.message.split(": ", 1)[-1])
    if reg is None:
        return
    row = reg.run(run_id)
    if row is None:
        # not a fault of the file: only completed runs made with the register
        # are entered (when they end, or when approved or rejected)
        rep.holds.append(f"run {run_id} is not entered in the register at {reg.where}")
        return
    sha = file_sha256(path)
    if sha != row["sha256"]:
        rep.fails.append(f"its SHA-256 {sha[:16]}... is not the one the register holds for run {run_id} "
                         f"({row['sha256'][:16]}...): the file was changed after it was registered")
        return
    certs = [c.number for c in reg.certificates_of_run(run_id) if c.status == "issued"]
    rep.holds.append(f"SHA-256 as registered for run {run_id} ({row['status']}"
                     + (f", certificate {', '.join(certs)}" if certs else "") + ")")


def _document(path: Path, data: bytes, reg: Register | None, public_key: str | None, rep: Report) -> None:
    if rep.kind == "pdf":
        from station.certificates.pdf import read_pdf

        doc = read_pdf(data, str(path))
    else:
        from station.certificates.dcc import read_dcc

        doc = read_dcc(data, str(path))
    if doc.block is None:
        rep.fails.append("it carries no signature: a draft or an unsigned copy certifies nothing")
        return
    key = public_key
    owner = ""
    if key is None and reg is not None:
        user = reg.key_owner(doc.block.key_id)
        if user is None or user.public_key is None:
            rep.fails.append(f"it is signed with key {doc.block.key_id}, which no user of the register at "
                             f"{reg.where} holds")
            return
        key, owner = user.public_key, f"{user.full_name} ({user.name})"
    if key is None:
        rep.fails.append("no register and no --key: nothing to check the signature against")
        return
    if signing.key_id(key) != doc.block.key_id:
        rep.fails.append(f"it is signed with key {doc.block.key_id}, not with the key given "
                         f"({signing.key_id(key)})")
        return
    if not signing.check(key, doc.block.signature, doc.signed):
        rep.fails.append(f"the signature does not match its content: the {rep.kind.upper()} was changed after "
                         "it was signed")
        return
    rep.holds.append(f"signature of certificate {doc.number} valid (key {doc.block.key_id}"
                     + (f", {owner}" if owner else "") + ")")
    if reg is None:
        rep.holds.append("register not consulted")
        return
    cert = reg.certificate(doc.number)
    if cert is None:
        rep.fails.append(f"certificate {doc.number} is not in the register at {reg.where}")
        return
    if cert.status != "issued":
        rep.fails.append(f"certificate {doc.number} is {cert.status} in the register"
                         + (f" ({cert.note})" if cert.note else ""))
        return
    sha = hashlib.sha256(data).hexdigest()
    expected = cert.pdf_sha256 if rep.kind == "pdf" else cert.dcc_sha256
    if sha != expected:
        rep.fails.append(f"the register holds another {rep.kind.upper()} for certificate {doc.number} "
                         f"(SHA-256 {expected[:16]}..., this one {sha[:16]}...)")
        return
    if doc.run_sha256 != cert.run_sha256:
        rep.fails.append(f"it names run file SHA-256 {doc.run_sha256[:16]}..., the register "
                         f"{cert.run_sha256[:16]}...")
        return
    rep.holds.append(f"entered in the register as issued on {cert.approved_at[:10]} by {cert.approver}, "
                     f"for run file SHA-256 {cert.run_sha256[:16]}...")
