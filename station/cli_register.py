"""The register's commands: ``calstation register ...``, ``approve``,
``reject``, ``audit``, and the register's part of ``run``, ``demo`` and
``verify``. Every command that touches the register takes ``--db URL``
(else ``CALSTATION_DB``, else the SQLite file in the user's data folder)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.certificates.issue import LANGUAGES
from station.errors import ConfigError
from station.exitcodes import EXIT_OK, EXIT_VERIFY_FAILED

if TYPE_CHECKING:
    from station.register.core import Register

Say = Callable[..., None]


def add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="the register's database: sqlite:///PATH or "
                   "postgresql://USER@HOST/DB (default: CALSTATION_DB, else the station's own SQLite file)")


def open_register(args: argparse.Namespace) -> Register:
    from station.register import Register

    return Register.open(getattr(args, "db", None))


def existing_register(args: argparse.Namespace) -> Register | None:
    """The register if one is named or the station's own file exists; None
    for a station without one (nothing is created)."""
    from station.register import db

    if getattr(args, "db", None) or os.environ.get(db.ENV):
        return open_register(args)
    url = db.default_url()
    if Path(url.removeprefix("sqlite:///")).exists():
        return open_register(args)
    return None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def _passphrase() -> str | None:
    return os.environ.get("CALSTATION_KEY_PASSPHRASE") or None


def default_key_path(user: str) -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("calstation", appauthor=False)) / "keys" / f"{user}.pem"


# -- register ------------------------------------------------------------------

def cmd_user_add(args: argparse.Namespace) -> int:
    from station import signing

    with open_register(args) as reg:
        public = None
        key_path = None
        if args.role == "signatory" or args.key_out:
            private = signing.generate()
            public = signing.public_text(private.public_key())
            key_path = Path(args.key_out) if args.key_out else default_key_path(args.name)
            if key_path.exists():
                raise ConfigError(f"{key_path}: a key file is already there; give another --key-out")
        user = reg.add_user(args.user, args.name, args.full_name, args.role, public)
        if key_path is not None:
            signing.save_private_key(private, key_path, _passphrase())
            print(f"user {user.name} ({user.role}) added; key id {user.key_id}; private key {key_path} "
                  "(keep it to yourself: it signs certificates)")
        else:
            print(f"user {user.name} ({user.role}) added")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        for u in reg.users():
            print(f"{u.name:<16} {u.role:<13} {'active' if u.active else 'inactive':<8} "
                  f"key {u.key_id or '-':<16} {u.full_name}")
    return EXIT_OK


def cmd_user_show(args: argparse.Namespace) -> int:
    from station import signing

    with open_register(args) as reg:
        u = reg.user(args.name)
        print(f"{u.name}: {u.full_name}, {u.role}, {'active' if u.active else 'inactive'}")
        print(f"public key: {u.public_key or '-'} (key id {u.key_id or '-'})")
        if args.public_key:
            if not u.public_key:
                raise ConfigError(f"user {u.name!r} has no public key to export")
            signing.save_public_key(u.public_key, Path(args.public_key))
            print(f"public key written to {args.public_key}")
    return EXIT_OK


def cmd_user_key(args: argparse.Namespace) -> int:
    from station import signing

    with open_register(args) as reg:
        public = signing.load_public_key_file(Path(args.public_key))
        reg.set_key(args.user, args.name, public, args.reason)
        print(f"user {args.name}: key id {signing.key_id(public)}")
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    from station.register import Asset

    with open_register(args) as reg:
        reg.add_asset(args.user, Asset(args.asset_id, args.kind, args.manufacturer, args.model, args.serial,
                                       args.description, args.owner, args.location))
        print(f"{args.kind} {args.asset_id} added")
    return EXIT_OK


def cmd_customer_add(args: argparse.Namespace) -> int:
    from station.register import Customer

    with open_register(args) as reg:
        reg.add_customer(args.user, Customer(args.code, args.name, args.address, args.contact))
        print(f"customer {args.code} added")
    return EXIT_OK


def _values(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--value {pair!r}: write KEY=VALUE, e.g. uncertainty_source=certificate")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


def cmd_calibration(args: argparse.Namespace) -> int:
    from station.register import Calibration

    with open_register(args) as reg:
        reg.add_calibration(args.user, Calibration(args.asset_id, args.certificate, args.lab, args.date, args.due,
                                                   args.traceability, _values(args.value or [])))
        print(f"calibration record of {args.asset_id} added: certificate {args.certificate}, due {args.due}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        n = reg.import_csv(args.user, args.what, Path(args.file))
        print(f"{n} {args.what} imported from {args.file}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from station.register.core import standing

    today = dt.date.today()
    with open_register(args) as reg:
        if args.what == "customers":
            for c in reg.customers():
                print(f"{c.code:<16} {c.name}  {c.address}")
            return EXIT_OK
        if args.what == "certificates":
            for cert in reg.recent_certificates(args.limit):
                print(f"{cert.number:<18} {cert.status:<7} {cert.approved_at[:10]} {cert.approver:<12} "
                      f"DUT {cert.dut or '-':<12} {cert.customer}")
            return EXIT_OK
        kind = {"standards": "standard", "duts": "dut", "assets": None}[args.what]
        for a in reg.assets(kind):
            line = f"{a.asset_id:<14} {a.kind:<8} {a.status:<7} {a.manufacturer} {a.model} s/n {a.serial}"
            if a.kind == "standard":
                state = standing(reg.latest_calibration(a.asset_id), today) if a.status == "active" else "retired"
                line += f"  [{state}]"
            print(line)
    return EXIT_OK


def cmd_due(args: argparse.Namespace) -> int:
    today = dt.date.today()
    with open_register(args) as reg:
        found = reg.due(today, args.days)
        for a, c, state in found:
            print(f"{a.asset_id:<14} {a.manufacturer} {a.model} s/n {a.serial}: {state}"
                  + (f" (certificate {c.certificate})" if c else ""))
        if not found:
            print(f"no standard is overdue or due within {args.days} days")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from station.register.core import standing

    with open_register(args) as reg:
        a = reg.asset(args.asset_id)
        if a is None:
            raise ConfigError(f"no asset {args.asset_id!r} in the register at {reg.where}")
        print(f"{a.asset_id}: {a.kind}, {a.manufacturer} {a.model} s/n {a.serial}, {a.status}"
              + (f", owner {a.owner}" if a.owner else "") + (f", at {a.location}" if a.location else ""))
        if a.description:
            print(f"  {a.description}")
        if a.kind == "standard":
            records = reg.calibrations(a.asset_id)
            print(f"  standing: {standing(records[-1] if records else None, dt.date.today())}")
            for c in records:
                print(f"  calibrated {c.calibrated_on}, due {c.due}: certificate {c.certificate} by {c.issuing_lab}")
    return EXIT_OK


def cmd_retire(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        reg.retire(args.user, args.asset_id, args.reason)
        print(f"{args.asset_id} retired")
    return EXIT_OK


def cmd_affected(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        if reg.asset(args.asset_id) is None:
            raise ConfigError(f"no asset {args.asset_id!r} in the register at {reg.where}")
        found = reg.affected(args.asset_id, args.since)
        for c in found:
            print(f"{c.number:<18} issued {c.approved_at[:10]}  run {c.run_id}  DUT {c.dut or '-'}  {c.customer}")
        print(f"{len(found)} certificate(s) relied on {args.asset_id} since {args.since.isoformat()}")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        runs = reg.history(args.asset_id)
        if not runs:
            print(f"no calibration of {args.asset_id} in the register")
        for run, points in runs:
            certs = [c.number for c in reg.certificates_of_run(run["run_id"]) if c.status == "issued"]
            print(f"{run['started'][:10]} run {run['run_id']} {run['status']} verdict {run['verdict']}"
                  + (f" certificate {', '.join(certs)}" if certs else ""))
            for p in points:
                print(f"  {p['idx'] + 1:3d} {p['phase']:<8} {p['function']:<4} {p['nominal']:>12g} {p['unit']:<3} "
                      f"error {p['error']:+.4e} U {p['expanded_uncertainty']:.2e} tol {p['tolerance']:.2e} "
                      f"{p['decision']}")
    return EXIT_OK


def cmd_set(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        reg.set_setting(args.user, args.key, args.value)
        print(f"{args.key} = {args.value}")
    return EXIT_OK


# -- approval ----------------------------------------------------------------------

def cmd_approve(args: argparse.Namespace) -> int:
    from station import signing
    from station.register.approval import approve, signatory

    key = Path(args.key) if args.key else default_key_path(args.user)
    with open_register(args) as reg:
        user = signatory(reg, args.user)  # before asking for a key a technician has none of
        signer = signing.Signer(args.user, user.full_name, signing.load_private_key(key, _passphrase()))
        done = approve(reg, args.user, Path(args.file), signer, args.lang,
                       Path(args.out) if args.out else None)
    print(done.number)
    print(f"certificate: {done.pdf}", file=sys.stderr)
    print(f"DCC: {done.dcc}", file=sys.stderr)
    return EXIT_OK


def cmd_reject(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        reg.reject(args.user, Path(args.file), args.reason)
    print(f"{args.file}: rejected: {args.reason}")
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        check = reg.audit_verify()
    print(check.message, file=sys.stdout if check.ok else sys.stderr)
    return EXIT_OK if check.ok else EXIT_VERIFY_FAILED


def cmd_audit_list(args: argparse.Namespace) -> int:
    with open_register(args) as reg:
        for e in reg.audit_entries()[-args.limit:]:
            change = ", ".join(f"{k}: {e.old.get(k, '')!s} -> {v!s}" if k in e.old else f"{k}={v!s}"
                               for k, v in e.new.items())
            print(f"{e.seq:6d} {e.at[:19]} {e.actor:<12} {e.action} {e.entity} {e.entity_key}"
                  + (f" ({change})" if change else "") + (f" reason: {e.reason}" if e.reason else ""))
    return EXIT_OK


def verify_files(args: argparse.Namespace, say: Say) -> int:
    from station import signing
    from station.register.verify import verify_file

    public = signing.load_public_key_file(Path(args.key)) if args.key else None
    reg = None if args.no_register else existing_register(args)
    worst = EXIT_OK
    try:
        for name in args.files:
            rep = verify_file(Path(name), reg, public)
            if rep.ok:
                say(rep.summary(), sys.stdout)
            else:
                say(rep.summary())
                worst = EXIT_VERIFY_FAILED
    finally:
        if reg is not None:
            reg.close()
    return worst


# -- the parser ---------------------------------------------------------------------

def add_parsers(sub: Any) -> None:
    def user_arg(p: argparse.ArgumentParser, required: bool = True) -> None:
        p.add_argument("--user", required=required, metavar="NAME", help="who does it (a register user)")

    r = sub.add_parser("register", help="the lab's register: users, assets, standards' calibrations, customers")
    rs = r.add_subparsers(dest="register_command", required=True, metavar="COMMAND")

    u = rs.add_parser("user", help="users and their roles and keys")
    us = u.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    ua = us.add_parser("add", help="add a user (the first one is an administrator who adds themself)")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=("technician", "signatory", "administrator"))
    ua.add_argument("--full-name", required=True, help="as printed on certificates")
    ua.add_argument("--key-out", metavar="FILE", help="where to write a signatory's private key (default: the "
                    "user's data folder, keys/NAME.pem); CALSTATION_KEY_PASSPHRASE protects it")
    user_arg(ua, required=False)
    ua.set_defaults(func=cmd_user_add)
    ul = us.add_parser("list", help="list the users")
    ul.set_defaults(func=cmd_user_list)
    ush = us.add_parser("show", help="show a user and their public key")
    ush.add_argument("name")
    ush.add_argument("--public-key", metavar="FILE", help="also write the public key to FILE (to publish it)")
    ush.set_defaults(func=cmd_user_show)
    uk = us.add_parser("key", help="set a user's public key from a public key file")
    uk.add_argument("name")
    uk.add_argument("--public-key", required=True, metavar="FILE")
    uk.add_argument("--reason", required=True)
    user_arg(uk)
    uk.set_defaults(func=cmd_user_key)

    a = rs.add_parser("add", help="add a standard or a DUT")
    a.add_argument("kind", choices=("standard", "dut"))
    a.add_argument("asset_id")
    a.add_argument("--manufacturer", required=True)
    a.add_argument("--model", required=True)
    a.add_argument("--serial", required=True)
    a.add_argument("--description", default="")
    a.add_argument("--owner", default="", help="the customer's code (a DUT), or empty for the lab's own")
    a.add_argument("--location", default="")
    user_arg(a)
    a.set_defaults(func=cmd_add)

    c = rs.add_parser("customer", help="add a customer")
    c.add_argument("code")
    c.add_argument("--name", required=True)
    c.add_argument("--address", default="")
    c.add_argument("--contact", default="")
    user_arg(c)
    c.set_defaults(func=cmd_customer_add)

    k = rs.add_parser("calibration", help="enter a standard's calibration record (its certificate)")
    k.add_argument("asset_id")
    k.add_argument("--certificate", required=True, help="the certificate's number")
    k.add_argument("--lab", required=True, help="the laboratory that issued it")
    k.add_argument("--date", required=True, help="date of calibration, YYYY-MM-DD")
    k.add_argument("--due", required=True, help="due date, YYYY-MM-DD")
    k.add_argument("--traceability", default="", help="to what the results are traceable")
    k.add_argument("--value", action="append", metavar="KEY=VALUE",
                   help="a value the station uses, e.g. uncertainty_source=certificate, "
                   "certificate_uncertainty_ppm=3.5 (docs/register.md)")
    user_arg(k)
    k.set_defaults(func=cmd_calibration)

    i = rs.add_parser("import", help="import rows from CSV, all or none")
    i.add_argument("what", choices=("assets", "calibrations", "customers"))
    i.add_argument("file")
    user_arg(i)
    i.set_defaults(func=cmd_import)

    ls = rs.add_parser("list", help="list standards (with their standing), DUTs, customers or certificates")
    ls.add_argument("what", nargs="?", default="standards",
                    choices=("standards", "duts", "assets", "customers", "certificates"))
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=cmd_list)

    d = rs.add_parser("due", help="standards overdue, due soon, or without a calibration record")
    d.add_argument("--days", type=int, default=30)
    d.set_defaults(func=cmd_due)

    sh = rs.add_parser("show", help="show an asset and its calibration records")
    sh.add_argument("asset_id")
    sh.set_defaults(func=cmd_show)

    rt = rs.add_parser("retire", help="retire an asset (it can no longer be used as a standard)")
    rt.add_argument("asset_id")
    rt.add_argument("--reason", required=True)
    user_arg(rt)
    rt.set_defaults(func=cmd_retire)

    af = rs.add_parser("affected", help="certificates whose results relied on a standard (reverse traceability)")
    af.add_argument("asset_id")
    af.add_argument("--since", type=_date, required=True, help="first date, YYYY-MM-DD")
    af.set_defaults(func=cmd_affected)

    h = rs.add_parser("history", help="every calibration of an asset, with each point's error")
    h.add_argument("asset_id")
    h.set_defaults(func=cmd_history)

    st = rs.add_parser("set", help="a setting of the lab: the certificates' number prefix, the laboratory's name, "
                       "address and place of calibration (the certificate's header)")
    st.add_argument("key", choices=("certificate_prefix", "lab_name", "lab_address", "location"))
    st.add_argument("value")
    user_arg(st)
    st.set_defaults(func=cmd_set)

    for p in (ua, ul, ush, uk, a, c, k, i, ls, d, sh, rt, af, h, st):
        add_db(p)

    ap = sub.add_parser("approve", help="approve a completed run: number, PDF and DCC, signed (prints the number)")
    ap.add_argument("file", help="the run file")
    user_arg(ap)
    ap.add_argument("--key", metavar="FILE", help="the signatory's private key (default: the user's data "
                    "folder, keys/NAME.pem); CALSTATION_KEY_PASSPHRASE unlocks it")
    ap.add_argument("--lang", default="en+zh", choices=LANGUAGES,
                    help="language(s) of the certificate (default both)")
    ap.add_argument("--out", metavar="DIR", help="folder for the PDF and DCC (default: beside the run file)")
    add_db(ap)
    ap.set_defaults(func=cmd_approve)

    rj = sub.add_parser("reject", help="reject a completed run, with the reason")
    rj.add_argument("file")
    user_arg(rj)
    rj.add_argument("--reason", required=True)
    add_db(rj)
    rj.set_defaults(func=cmd_reject)

    au = sub.add_parser("audit", help="the register's audit trail")
    aus = au.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    av = aus.add_parser("verify", help="check the audit trail's hash chain")
    add_db(av)
    av.set_defaults(func=cmd_audit_verify)
    al = aus.add_parser("list", help="print the last entries")
    al.add_argument("--limit", type=int, default=50)
    add_db(al)
    al.set_defaults(func=cmd_audit_list)
