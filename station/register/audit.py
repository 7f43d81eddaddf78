"""The audit trail: every change to the register, hash-chained.

Entry n holds who, when, what (action, entity, key), the old and the new
values, the reason, the hash of entry n-1 (``prev``) and its own hash:

    hash = SHA-256(JSON [seq, at, actor, action, entity, entity_key, old, new, reason, prev])

(JSON with sorted keys, no spaces, UTF-8). The ``audit_head`` row holds the
sequence number and hash of the last entry and is updated in the same
transaction, under its row lock, so concurrent changes queue up and the
chain never forks. `verify` walks the chain and names the first entry that
was edited, inserted or deleted, or a removed tail.

What this is not: a signature. Someone with write access to the database
and this module could rewrite the whole chain; what it proves is that no
entry was edited, added or removed with ordinary tools since it was
written. What a customer relies on is the certificates' signatures and
their SHA-256 in the register.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from station.register import schema as S

GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    at: str
    actor: str
    action: str
    entity: str
    entity_key: str
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    seq: int = 0
    prev: str = ""
    hash: str = ""


def _canonical(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def digest(seq: int, at: str, actor: str, action: str, entity: str, key: str, old: str, new: str,
           reason: str, prev: str) -> str:
    payload = _canonical([seq, at, actor, action, entity, key, old, new, reason, prev])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(conn: sa.Connection, e: Entry) -> Entry:
    """Append ``e`` inside the caller's transaction."""
    head = conn.execute(sa.select(S.audit_head.c.seq, S.audit_head.c.hash)
                        .where(S.audit_head.c.id == 1).with_for_update()).one()
    seq, prev = int(head.seq) + 1, str(head.hash)
    old, new = _canonical(e.old), _canonical(e.new)
    h = digest(seq, e.at, e.actor, e.action, e.entity, e.entity_key, old, new, e.reason, prev)
    conn.execute(S.audit.insert().values(seq=seq, at=e.at, actor=e.actor, action=e.action, entity=e.entity,
                                         entity_key=e.entity_key, old=old, new=new, reason=e.reason,
                                         prev=prev, hash=h))
    conn.execute(S.audit_head.update().where(S.audit_head.c.id == 1).values(seq=seq, hash=h))
    return Entry(e.at, e.actor, e.action, e.entity, e.entity_key, e.old, e.new, e.reason, seq, prev, h)


def head(conn: sa.Connection) -> tuple[int, str]:
    row = conn.execute(sa.select(S.audit_head.c.seq, S.audit_head.c.hash).where(S.audit_head.c.id == 1)).one()
    return int(row.seq), str(row.hash)


def entries(conn: sa.Connection) -> list[Entry]:
    rows = conn.execute(sa.select(S.audit).order_by(S.audit.c.seq)).mappings()
    return [Entry(r["at"], r["actor"], r["action"], r["entity"], r["entity_key"], json.loads(r["old"]),
                  json.loads(r["new"]), r["reason"], r["seq"], r["prev"], r["hash"]) for r in rows]


@dataclass(frozen=True)
class Check:
    ok: bool
    entries: int
    message: str


def verify(conn: sa.Connection) -> Check:
    prev = GENESIS
    expected = 1
    n = 0
    for r in conn.execute(sa.select(S.audit).order_by(S.audit.c.seq)).mappings():
        n += 1
        seq = int(r["seq"])
        what = f"audit entry {seq} ({r['at']}, {r['actor']}, {r['action']} {r['entity']} {r['entity_key']})"
        if seq != expected:
            gone = (f"audit entries {expected} to {seq - 1} are" if seq - 1 > expected
                    else f"audit entry {expected} is")
            return Check(False, n, f"{gone} missing: the trail jumps from {expected - 1} to {seq}")
        if r["prev"] != prev:
            return Check(False, n, f"{what} does not follow entry {seq - 1}: an entry before it was "
                         "removed, inserted or changed")
        h = digest(seq, r["at"], r["actor"], r["action"], r["entity"], r["entity_key"], r["old"], r["new"],
                   r["reason"], r["prev"])
        if h != r["hash"]:
            return Check(False, n, f"{what} was changed after it was written (its hash does not match)")
        prev = r["hash"]
        expected += 1
    last, last_hash = head(conn)
    if last != expected - 1:
        if last > expected - 1:
            return Check(False, n, f"the audit trail ends at entry {expected - 1} but its head records entry "
                         f"{last}: entries {expected} to {last} were removed")
        return Check(False, n, f"the audit trail holds entries up to {expected - 1} but its head records "
                     f"{last}: entries were added without going through the register")
    if last_hash != prev:
        return Check(False, n, f"the last audit entry ({last}) does not match the head's hash: it was changed")
    return Check(True, n, f"audit trail intact: {n} entries, head {prev[:16]}...")
