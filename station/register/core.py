"""The lab's register: users, customers, assets, calibration records of
standards, runs, certificates, and the audit trail of every change.

Every change is one transaction that also appends its audit entry, so a
change and its record land together or not at all. Actions are
attributed: each change names the acting user, who must be in the register
and active, with a role that may make it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from station.register import audit as A
from station.register import db
from station.register import schema as S
from station.register.db import RegisterError

ROLES = ("technician", "signatory", "administrator")
#: Roles that keep the register's standards (calibration records, retiring).
QUALITY = ("signatory", "administrator")
#: Values of a calibration record the station uses in a budget (bench keys).
RECORD_VALUES = ("uncertainty_source", "certificate_uncertainty_ppm", "certificate_uncertainty_floor",
                 "certificate_k", "probe_certificate", "probe_correction", "probe_uncertainty", "probe_k",
                 "specification", "distribution")
DUE_SOON_DAYS = 30


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class User:
    name: str
    full_name: str
    role: str
    public_key: str | None
    key_id: str | None
    active: bool


@dataclass(frozen=True)
class Asset:
    asset_id: str
    kind: str
    manufacturer: str
    model: str
    serial: str
    description: str = ""
    owner: str = ""
    location: str = ""
    status: str = "active"


@dataclass(frozen=True)
class Calibration:
    asset_id: str
    certificate: str
    issuing_lab: str
    calibrated_on: str
    due: str
    traceability: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Customer:
    code: str
    name: str
    address: str = ""
    contact: str = ""


@dataclass(frozen=True)
class CertificateRow:
    number: str
    run_id: str
    status: str
    approver: str
    approved_at: str
    languages: str
    key_id: str
    pdf_sha256: str
    dcc_sha256: str
    run_sha256: str
    dut: str
    customer: str
    note: str = ""


def _date(text: str, what: str) -> str:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise RegisterError(f"{what} = {text!r} is not a date; write it as YYYY-MM-DD") from None


class Register:
    """One register, at one database URL. Open with `Register.open`."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str | None = None) -> Register:
        url = db.resolve_url(url)
        engine = db.create_engine(url)
        try:
            db.migrate(engine, url)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        return db.shown(self.url)

    # -- transactions ---------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as e:
            raise RegisterError(f"the register at {self.where} failed ({db._first_line(e)}); nothing "
                                "was changed; check the server and try again") from None

    def _audit(self, conn: sa.Connection, actor: str, action: str, entity: str, key: str,
               old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, reason: str = "") -> None:
        A.append(conn, A.Entry(at=utc_now(), actor=actor, action=action, entity=entity, entity_key=key,
                               old=dict(old or {}), new=dict(new or {}), reason=reason))

    # -- settings -------------------------------------------------------------
    def setting(self, key: str, default: str = "") -> str:
        with self.engine.connect() as conn:
            v = conn.execute(sa.select(S.settings.c.value).where(S.settings.c.key == key)).scalar()
        return default if v is None else str(v)

    def set_setting(self, actor: str, key: str, value: str) -> None:
        with self._tx() as conn:
            self._actor(conn, actor, ("administrator",), f"change the setting {key!r}")
            old = conn.execute(sa.select(S.settings.c.value).where(S.settings.c.key == key)).scalar()
            if old is None:
                conn.execute(S.settings.insert().values(key=key, value=value))
            else:
                conn.execute(S.settings.update().where(S.settings.c.key == key).values(value=value))
            self._audit(conn, actor, "set", "setting", key, None if old is None else {"value": old},
                        {"value": value})

    # -- users ----------------------------------------------------------------
    def _actor(self, conn: sa.Connection, name: str, roles: Sequence[str] | None, doing: str) -> User:
        row = conn.execute(sa.select(S.users).where(S.users.c.name == name)).mappings().first()
        if row is None:
            raise RegisterError(f"no user {name!r} in the register at {self.where}; an administrator adds "
                                f"them with `calstation register user add {name} --role technician`")
        user = _user(row)
        if not user.active:
            raise RegisterError(f"user {name!r} is deactivated in the register; an administrator can "
                                "reactivate them")
        if roles is not None and user.role not in roles:
            raise RegisterError(f"user {name!r} is a {user.role} and may not {doing}; that needs a "
                                f"{' or '.join(roles)}")
        return user

    def user(self, name: str) -> User:
        with self.engine.connect() as conn:
            return self._actor(conn, name, None, "")

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(sa.select(S.users).order_by(S.users.c.name)).mappings()]

    def add_user(self, actor: str | None, name: str, full_name: str, role: str,
                 public_key: str | None = None) -> User:
        """Add a user. On an empty register the first user is an
        administrator who adds themself (``actor`` None or their own name)."""
        from station import signing

        if role not in ROLES:
            raise RegisterError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not name.strip() or not full_name.strip():
            raise RegisterError("a user needs a name and a full name (--full-name)")
        kid = None
        if public_key is not None:
            signing.public_key(public_key, f"public key of {name!r}")
            kid = signing.key_id(public_key)
        with self._tx() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(S.users)).scalar_one()
            if count == 0:
                if role != "administrator":
                    raise RegisterError("the register has no users yet: add an administrator first "
                                        "(--role administrator)")
                actor = name
            else:
                if actor is None:
                    raise RegisterError("say who adds the user: --user ADMINISTRATOR")
                self._actor(conn, actor, ("administrator",), "add users")
            if conn.execute(sa.select(S.users.c.id).where(S.users.c.name == name)).first():
                raise RegisterError(f"user {name!r} is already in the register; choose another name")
            values = dict(name=name, full_name=full_name, role=role, public_key=public_key, key_id=kid,
                          active=True, created_at=utc_now())
            conn.execute(S.users.insert().values(**values))
            self._audit(conn, actor, "add", "user", name, None,
                        {k: v for k, v in values.items() if k != "created_at"})
        return self.user(name)

    def set_key(self, actor: str, name: str, public_key: str, reason: str) -> None:
        from station import signing

        signing.public_key(public_key, f"public key of {name!r}")
        kid = signing.key_id(public_key)
        with self._tx() as conn:
            if actor != name:
                self._actor(conn, actor, ("administrator",), "set another user's key")
            target = self._actor(conn, name, None, "")
            conn.execute(S.users.update().where(S.users.c.name == name)
                         .values(public_key=public_key, key_id=kid))
            self._audit(conn, actor, "set key", "user", name, {"key_id": target.key_id}, {"key_id": kid},
                        reason)

    def key_owner(self, kid: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.users).where(S.users.c.key_id == kid)).mappings().first()
        return None if row is None else _user(row)

    # -- customers ------------------------------------------------------------
    def add_customer(self, actor: str, customer: Customer) -> None:
        if not customer.code.strip() or not customer.name.strip():
            raise RegisterError("a customer needs a code and a name")
        with self._tx() as conn:
            self._actor(conn, actor, None, "add customers")
            self._insert_customer(conn, actor, customer)

    def _insert_customer(self, conn: sa.Connection, actor: str, customer: Customer) -> None:
        if conn.execute(sa.select(S.customers.c.id).where(S.customers.c.code == customer.code)).first():
            raise RegisterError(f"customer {customer.code!r} is already in the register")
        conn.execute(S.customers.insert().values(**asdict(customer)))
        self._audit(conn, actor, "add", "customer", customer.code, None, asdict(customer))

    def customer(self, code: str) -> Customer | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.customers).where(S.customers.c.code == code)).mappings().first()
        return None if row is None else Customer(row["code"], row["name"], row["address"], row["contact"])

    def customers(self) -> list[Customer]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(S.customers).order_by(S.customers.c.code)).mappings().all()
        return [Customer(r["code"], r["name"], r["address"], r["contact"]) for r in rows]

    # -- assets ---------------------------------------------------------------
    def add_asset(self, actor: str, asset: Asset) -> None:
        with self._tx() as conn:
            self._actor(conn, actor, None, "add assets")
            self._insert_asset(conn, actor, asset)

    def _insert_asset(self, conn: sa.Connection, actor: str, asset: Asset) -> None:
        if asset.kind not in ("standard", "dut"):
            raise RegisterError(f"asset {asset.asset_id!r}: kind {asset.kind!r} is not standard or dut")
        for k in ("asset_id", "manufacturer", "model", "serial"):
            if not str(getattr(asset, k)).strip():
                raise RegisterError(f"asset {asset.asset_id or '?'!r} needs {k}")
        if conn.execute(sa.select(S.assets.c.id).where(S.assets.c.asset_id == asset.asset_id)).first():
            raise RegisterError(f"asset {asset.asset_id!r} is already in the register; `calstation register "
                                f"show {asset.asset_id}` shows it")
        values = asdict(asset) | {"status": "active"}
        conn.execute(S.assets.insert().values(**values, created_at=utc_now()))
        self._audit(conn, actor, "add", "asset", asset.asset_id, None, values)

    def asset(self, asset_id: str) -> Asset | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.assets).where(S.assets.c.asset_id == asset_id)).mappings().first()
        return None if row is None else _asset(row)

    def assets(self, kind: str | None = None) -> list[Asset]:
        q = sa.select(S.assets).order_by(S.assets.c.asset_id)
        if kind:
            q = q.where(S.assets.c.kind == kind)
        with self.engine.connect() as conn:
            return [_asset(r) for r in conn.execute(q).mappings()]

    def retire(self, actor: str, asset_id: str, reason: str) -> None:
        if not reason.strip():
            raise RegisterError(f"say why {asset_id!r} is retired: --reason TEXT")
        with self._tx() as conn:
            self._actor(conn, actor, QUALITY, "retire assets")
            row = conn.execute(sa.select(S.assets).where(S.assets.c.asset_id == asset_id)).mappings().first()
            if row is None:
                raise RegisterError(f"no asset {asset_id!r} in the register at {self.where}")
            if row["status"] == "retired":
                raise RegisterError(f"asset {asset_id!r} is already retired")
            conn.execute(S.assets.update().where(S.assets.c.asset_id == asset_id).values(status="retired"))
            self._audit(conn, actor, "retire", "asset", asset_id, {"status": row["status"]},
                        {"status": "retired"}, reason)

    # -- calibration records of standards -----------------------------------
    def add_calibration(self, actor: str, record: Calibration) -> None:
        with self._tx() as conn:
            self._actor(conn, actor, QUALITY, "enter calibration records of standards")
            self._insert_calibration(conn, actor, record)

    def _insert_calibration(self, conn: sa.Connection, actor: str, record: Calibration) -> None:
        what = f"calibration record of {record.asset_id!r}"
        row = conn.execute(sa.select(S.assets).where(S.assets.c.asset_id == record.asset_id)).mappings().first()
        if row is None:
            raise RegisterError(f"{what}: no asset {record.asset_id!r} in the register; add it first")
        if row["kind"] != "standard":
            raise RegisterError(f"{what}: {record.asset_id!r} is a DUT, not a standard")
        if not record.certificate.strip():
            raise RegisterError(f"{what} needs the certificate number")
        on = _date(record.calibrated_on, f"{what}: calibrated_on")
        due = _date(record.due, f"{what}: due")
        if due <= on:
            raise RegisterError(f"{what}: due {due} is not after calibrated_on {on}")
        unknown = set(record.values) - set(RECORD_VALUES)
        if unknown:
            raise RegisterError(f"{what}: unknown value(s) {sorted(unknown)}; known: {', '.join(RECORD_VALUES)}")
        values = {"certificate": record.certificate, "issuing_lab": record.issuing_lab, "calibrated_on": on,
                  "due": due, "traceability": record.traceability,
                  "values": json.dumps(dict(record.values), sort_keys=True)}
        conn.execute(S.calibrations.insert().values(asset=row["id"], created_at=utc_now(), **values))
        self._audit(conn, actor, "add", "calibration", record.asset_id, None, values)

    def calibrations(self, asset_id: str) -> list[Calibration]:
        q = (sa.select(S.calibrations, S.assets.c.asset_id).join(S.assets)
             .where(S.assets.c.asset_id == asset_id)
             .order_by(S.calibrations.c.calibrated_on, S.calibrations.c.id))
        with self.engine.connect() as conn:
            return [_calibration(r) for r in conn.execute(q).mappings()]

    def latest_calibration(self, asset_id: str) -> Calibration | None:
        records = self.calibrations(asset_id)
        return records[-1] if records else None

    def due(self, today: dt.date, within_days: int = DUE_SOON_DAYS) -> list[tuple[Asset, Calibration | None, str]]:
        """Active standards that are overdue, due within ``within_days``, or
        have no calibration record: (asset, latest record, state)."""
        out: list[tuple[Asset, Calibration | None, str]] = []
        for a in self.assets("standard"):
            if a.status != "active":
                continue
            c = self.latest_calibration(a.asset_id)
            state = standing(c, today, within_days)
            if state != "in calibration":
                out.append((a, c, state))
        return out

    # -- import -----------------------------------------------------------------
    def import_csv(self, actor: str, kind: str, path: Path) -> int:
        """Import assets, standards' calibration records or customers from
        CSV, all rows or none. Returns the number of rows."""
        columns = {
            "assets": ("asset_id", "kind", "manufacturer", "model", "serial"),
            "calibrations": ("asset_id", "certificate", "issuing_lab", "calibrated_on", "due"),
            "customers": ("code", "name"),
        }
        if kind not in columns:
            raise RegisterError(f"cannot import {kind!r}; import one of {', '.join(columns)}")
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except FileNotFoundError:
            raise RegisterError(f"{path}: no such file; check the path") from None
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise RegisterError(f"{path}: cannot read it as UTF-8 CSV ({e})") from None
        if not rows:
            raise RegisterError(f"{path}: no rows under the header; nothing to import")
        missing = set(columns[kind]) - set(rows[0])
        if missing:
            raise RegisterError(f"{path}: the header lacks {', '.join(sorted(missing))}; the columns are "
                                f"{', '.join(columns[kind])} and optional ones (docs/register.md)")
        with self._tx() as conn:
            self._actor(conn, actor, QUALITY if kind == "calibrations" else None, f"import {kind}")
            for n, row in enumerate(rows, start=2):
                try:
                    clean = {k: (v or "").strip() for k, v in row.items() if k}
                    if kind == "assets":
                        known = {f for f in Asset.__dataclass_fields__ if f != "status"}
                        self._insert_asset(conn, actor, Asset(**{k: v for k, v in clean.items() if k in known}))
                    elif kind == "customers":
                        known = set(Customer.__dataclass_fields__)
                        self._insert_customer(conn, actor, Customer(**{k: v for k, v in clean.items()
                                                                       if k in known}))
                    else:
                        values = {k: _number_or_text(v) for k, v in clean.items() if k in RECORD_VALUES and v}
                        self._insert_calibration(conn, actor, Calibration(
                            clean["asset_id"], clean["certificate"], clean["issuing_lab"],
                            clean["calibrated_on"], clean["due"], clean.get("traceability", ""), values))
                except (RegisterError, TypeError, KeyError) as e:
                    raise RegisterError(f"{path}: line {n}: {e}; nothing was imported, fix the row and "
                                        "import again") from None
        return len(rows)

    # -- runs -------------------------------------------------------------------
    def run(self, run_id: str) -> Mapping[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.runs).where(S.runs.c.run_id == run_id)).mappings().first()
        return None if row is None else dict(row)

    def register_run(self, actor: str, path: Path) -> Mapping[str, Any]:
        """Enter a completed, intact run file: its SHA-256, procedure, the
        standards it relied on and each point (the DUT's history).
        Returns the run's row; a run already entered must be the same file."""
        from station.register.runs import read_run

        info = read_run(path)
        with self._tx() as conn:
            self._actor(conn, actor, None, "register runs")
            found = conn.execute(sa.select(S.runs).where(S.runs.c.run_id == info.run_id)).mappings().first()
            if found is not None:
                if found["sha256"] != info.sha256:
                    raise RegisterError(
                        f"{path}: run {info.run_id} is in the register with SHA-256 {found['sha256'][:16]}..., "
                        f"this file has {info.sha256[:16]}...: the file was changed or replaced; use the "
                        f"original ({found['path']})")
                return dict(found)
            proc = conn.execute(sa.select(S.procedures.c.id).where(
                S.procedures.c.name == info.procedure[0], S.procedures.c.version == info.procedure[1],
                S.procedures.c.sha256 == info.procedure[2])).scalar()
            if proc is None:
                proc = conn.execute(S.procedures.insert().values(
                    name=info.procedure[0], version=info.procedure[1], sha256=info.procedure[2])
                ).inserted_primary_key[0]  # type: ignore[index]
            values = dict(run_id=info.run_id, path=str(path), sha256=info.sha256, status="completed",
                          procedure=proc, dut=info.dut, customer=info.customer, technician=info.technician,
                          started=info.started, finished=info.finished, verdict=info.verdict,
                          registered_at=utc_now(), reason="")
            rid = conn.execute(S.runs.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
            for s in info.standards:
                conn.execute(S.run_standards.insert().values(run=rid, **s))
            if info.points:
                conn.execute(S.run_points.insert(), [dict(p, run=rid) for p in info.points])
            self._audit(conn, actor, "register", "run", info.run_id, None,
                        {k: v for k, v in values.items() if k not in ("registered_at", "procedure")}
                        | {"procedure": " ".join(info.procedure[:2])})
            return dict(conn.execute(sa.select(S.runs).where(S.runs.c.id == rid)).mappings().one())

    def reject(self, actor: str, path: Path, reason: str) -> None:
        if not reason.strip():
            raise RegisterError("say why the run is rejected: --reason TEXT")
        run = self.register_run(actor, path)
        with self._tx() as conn:
            self._actor(conn, actor, ("signatory",), "reject runs")
            row = conn.execute(sa.select(S.runs).where(S.runs.c.id == run["id"])).mappings().one()
            if row["status"] != "completed":
                raise RegisterError(f"run {row['run_id']} is already {row['status']}")
            conn.execute(S.runs.update().where(S.runs.c.id == row["id"]).values(status="rejected", reason=reason))
            self._audit(conn, actor, "reject", "run", row["run_id"], {"status": "completed"},
                        {"status": "rejected"}, reason)

    def history(self, asset_id: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Every registered calibration of an asset (as DUT), oldest first,
        with its points."""
        with self.engine.connect() as conn:
            runs = conn.execute(sa.select(S.runs).where(S.runs.c.dut == asset_id)
                                .order_by(S.runs.c.started)).mappings().all()
            out = []
            for r in runs:
                pts = conn.execute(sa.select(S.run_points).where(S.run_points.c.run == r["id"])
                                   .order_by(S.run_points.c.idx)).mappings().all()
                out.append((dict(r), [dict(p) for p in pts]))
        return out

    # -- certificates -------------------------------------------------------------
    def certificate(self, number: str) -> CertificateRow | None:
        q = self._certificate_query().where(S.certificates.c.number == number)
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return None if row is None else _certificate(row)

    def certificates_of_run(self, run_id: str) -> list[CertificateRow]:
        q = self._certificate_query().where(S.runs.c.run_id == run_id).order_by(S.certificates.c.id)
        with self.engine.connect() as conn:
            return [_certificate(r) for r in conn.execute(q).mappings()]

    def recent_certificates(self, limit: int = 20) -> list[CertificateRow]:
        q = self._certificate_query().order_by(S.certificates.c.approved_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_certificate(r) for r in conn.execute(q).mappings()]

    @staticmethod
    def _certificate_query() -> sa.Select[Any]:
        return (sa.select(S.certificates, S.runs.c.run_id, S.runs.c.sha256.label("run_sha256"),
                          S.runs.c.dut, S.runs.c.customer)
                .join(S.runs, S.runs.c.id == S.certificates.c.run))

    def affected(self, asset_id: str, since: dt.date) -> list[CertificateRow]:
        """Every issued certificate whose run relied on ``asset_id``,
        performed on or after ``since``: reverse traceability."""
        q = (self._certificate_query()
             .join(S.run_standards, S.run_standards.c.run == S.runs.c.id)
             .where(S.run_standards.c.asset_id == asset_id, S.runs.c.finished >= since.isoformat(),
                    S.certificates.c.status == "issued")
             .order_by(S.certificates.c.number))
        with self.engine.connect() as conn:
            return [_certificate(r) for r in conn.execute(q).mappings()]

    # -- audit ----------------------------------------------------------------------
    def audit_entries(self) -> list[A.Entry]:
        with self.engine.connect() as conn:
            return A.entries(conn)

    def audit_verify(self) -> A.Check:
        with self.engine.connect() as conn:
            return A.verify(conn)

    def record_override(self, supervisor: str, asset_id: str, reason: str, refused: str) -> str:
        """A supervisor allows a standard the register refused; returns the
        text the run file records."""
        if not reason.strip():
            raise RegisterError(f"an override of {asset_id!r} needs a reason (--override-reason)")
        with self._tx() as conn:
            user = self._actor(conn, supervisor, QUALITY, "allow a refused standard")
            at = utc_now()
            conn.execute(S.overrides.insert().values(asset_id=asset_id, supervisor=supervisor, reason=reason,
                                                     at=at, refused=refused))
            self._audit(conn, supervisor, "override", "asset", asset_id, None, {"refused": refused}, reason)
        return f"allowed by {user.full_name} ({supervisor}) at {at}: {reason}; the register refused: {refused}"


def standing(c: Calibration | None, today: dt.date, within_days: int = DUE_SOON_DAYS) -> str:
    if c is None:
        return "no calibration record"
    due = dt.date.fromisoformat(c.due)
    if due < today:
        return f"overdue since {c.due}"
    if (due - today).days <= within_days:
        return f"due {c.due}"
    return "in calibration"


def _number_or_text(v: str) -> Any:
    try:
        return float(v)
    except ValueError:
        return v


def _user(r: Any) -> User:
    return User(r["name"], r["full_name"], r["role"], r["public_key"], r["key_id"], bool(r["active"]))


def _asset(r: Any) -> Asset:
    return Asset(r["asset_id"], r["kind"], r["manufacturer"], r["model"], r["serial"], r["description"],
                 r["owner"], r["location"], r["status"])


def _calibration(r: Any) -> Calibration:
    return Calibration(r["asset_id"], r["certificate"], r["issuing_lab"], r["calibrated_on"], r["due"],
                       r["traceability"], json.loads(r["values"]))


def _certificate(r: Any) -> CertificateRow:
    return CertificateRow(r["number"], r["run_id"], r["status"], r["approver"], r["approved_at"],
                          r["languages"], r["key_id"], r["pdf_sha256"], r["dcc_sha256"], r["run_sha256"],
                          r["dut"], r["customer"], r["note"])
