"""Review and approval through the CLI: who may approve, the certificate
number, the signed PDF and DCC, verify, rejection, reverse traceability;
numbering under concurrent approvals from several processes."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from station.register import Register
from station.register.approval import approve
from station.signing import Signer, load_private_key
from tests.register.lab import TODAY, Lab

NUMBER = re.compile(r"^CAL-\d{4}-\d{5}$")


@pytest.fixture
def lab(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Lab:
    return Lab(db_url, tmp_path, capsys).set_up()


def _flip(path: Path, offset: int) -> Path:
    """A copy of ``path`` with one byte changed."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    bad = path.with_name("tampered-" + path.name)
    bad.write_bytes(bytes(data))
    return bad


def test_a_signatory_approves_and_every_file_verifies(lab: Lab) -> None:
    code, run = lab.run()
    assert code == 0, lab.last_err
    # who may not approve
    code, _, err = lab.cli("approve", str(run), "--user", "li", "--key", str(lab.key))
    assert code == 1 and "user 'li' is a technician; only a signatory approves" in err
    code, _, err = lab.cli("approve", str(run), "--user", "sun", "--key", str(lab.tmp / "none.pem"))
    assert code == 1 and "no such key file" in err
    out = lab.ok("approve", str(run), "--user", "sun", "--key", str(lab.key), "--out", str(lab.tmp))
    number = out.strip()
    assert NUMBER.match(number), out
    pdf, dcc = lab.tmp / f"{number}.pdf", lab.tmp / f"{number}.dcc.xml"
    assert pdf.exists() and dcc.exists()
    for f in (run, pdf, dcc):
        code, out, err = lab.cli("verify", str(f))
        assert code == 0 and "all holds" in out, err
    code, out, _ = lab.cli("verify", str(pdf))
    assert f"signature of certificate {number} valid" in out and "Sun Qian" in out
    # the same run cannot be approved twice
    code, _, err = lab.cli("approve", str(run), "--user", "sun", "--key", str(lab.key))
    assert code == 1 and f"already approved (certificate {number})" in err
    # one byte changed anywhere fails, and says what
    data = pdf.read_bytes()
    for offset in (len(data) // 3, data.index(number.encode()) + len(number) - 1, len(data) - 40):
        code, _, err = lab.cli("verify", str(_flip(pdf, offset)))
        assert code == 7 and "FAILS" in err, offset
    code, _, err = lab.cli("verify", str(_flip(dcc, dcc.read_bytes().index(b"<dcc:measurementResults"))))
    assert code == 7 and "FAILS" in err
    code, _, err = lab.cli("verify", str(_flip(run, run.stat().st_size // 2)))
    assert code == 7 and "FAILS" in err
    # reverse traceability: the calibrator's certificates since yesterday
    out = lab.ok("register", "affected", "SIM-STD-5522A", "--since", (TODAY - dt.timedelta(days=1)).isoformat())
    assert number in out and "1 certificate(s)" in out
    out = lab.ok("register", "affected", "SIM-STD-5522A", "--since", (TODAY + dt.timedelta(days=1)).isoformat())
    assert number not in out and "0 certificate(s)" in out


def test_nobody_approves_their_own_run_and_a_rejection_needs_a_reason(lab: Lab) -> None:
    lab.ok("register", "user", "add", "zhou", "--role", "signatory", "--full-name", "Zhou", "--key-out",
           str(lab.tmp / "zhou.pem"), "--user", "ada")
    code, run = lab.run(user="zhou")
    assert code == 0, lab.last_err
    code, _, err = lab.cli("approve", str(run), "--user", "zhou", "--key", str(lab.tmp / "zhou.pem"))
    assert code == 1 and "nobody approves their own run" in err
    code, _, err = lab.cli("approve", str(run), "--user", "sun", "--key", str(lab.tmp / "zhou.pem"))
    assert code == 1 and "not 'sun''s registered key" in err
    code, _, err = lab.cli("reject", str(run), "--user", "sun", "--reason", " ")
    assert code == 1 and "say why" in err
    lab.ok("reject", str(run), "--user", "sun", "--reason", "point 3 repeated with a different lead")
    code, _, err = lab.cli("approve", str(run), "--user", "sun", "--key", str(lab.key))
    assert code == 1 and "already rejected: point 3 repeated with a different lead" in err


def test_a_failed_rendering_voids_its_number_and_the_next_is_not_reused(lab: Lab) -> None:
    _, run1 = lab.run("one.h5")
    _, run2 = lab.run("two.h5")

    def broken(run: Path, out: Path, issue: object, signer: object) -> Path:
        raise OSError("disk full")

    with Register.open(lab.db) as reg:
        signer = Signer("sun", "Sun Qian", load_private_key(lab.key))
        with pytest.raises(OSError, match="disk full"):
            approve(reg, "sun", run1, signer, "en", lab.tmp, render_dcc=broken)
        assert not list(lab.tmp.glob("CAL-*"))  # nothing half-written
        first = approve(reg, "sun", run1, signer, "en", lab.tmp)
        second = approve(reg, "sun", run2, signer, "en", lab.tmp)
        numbers = [int(n.rsplit("-", 1)[1]) for n in (first.number, second.number)]
        assert numbers == [2, 3]
        void = reg.certificate(first.number.rsplit("-", 1)[0] + "-00001")
        assert void is not None and void.status == "void" and "disk full" in void.note
        assert reg.audit_verify().ok


def test_concurrent_approvals_from_eight_processes_never_share_a_number(lab: Lab) -> None:
    runs = []
    for i in range(8):
        code, run = lab.run(f"r{i}.h5")
        assert code == 0, lab.last_err
        runs.append(run)
    exe = Path(sys.executable).parent / "calstation"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    procs = [subprocess.Popen([str(exe), "approve", str(r), "--user", "sun", "--key", str(lab.key), "--lang", "en",
                               "--db", lab.db, "--out", str(lab.tmp)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for r in runs]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in results]
    numbers = sorted(out.strip() for out, _ in results)
    year = dt.datetime.now(dt.UTC).year
    assert numbers == [f"CAL-{year}-{i:05d}" for i in range(1, 9)]
    with Register.open(lab.db) as reg:
        assert all(reg.certificate(n).status == "issued" for n in numbers)  # type: ignore[union-attr]
        assert reg.audit_verify().ok


def test_a_number_already_used_is_refused_and_nothing_changes(lab: Lab) -> None:
    _, run1 = lab.run("one.h5")
    _, run2 = lab.run("two.h5")
    first = lab.ok("approve", str(run1), "--user", "sun", "--key", str(lab.key), "--lang", "en").strip()
    with Register.open(lab.db) as reg, reg.engine.begin() as c:  # someone set the counter back
        c.execute(sa.text("UPDATE counters SET value = value - 1"))
    code, _, err = lab.cli("approve", str(run2), "--user", "sun", "--key", str(lab.key), "--lang", "en")
    assert code == 1 and f"certificate number {first} is already in the register" in err
    assert err.count("\n") == 1
    with Register.open(lab.db) as reg:
        issued = reg.certificate(first)
        assert issued is not None and issued.status == "issued"
        assert not reg.certificates_of_run(_run_id(run2))
        assert reg.run(_run_id(run2))["status"] == "completed"  # type: ignore[index]
        assert reg.audit_verify().ok
    assert sorted(p.name for p in lab.tmp.glob("CAL-*")) == [f"{first}.dcc.xml", f"{first}.pdf"]


def _run_id(path: Path) -> str:
    from station.runfile.reader import RunFile

    with RunFile(path) as rf:
        return rf.attrs["run_id"]


def test_a_customer_checks_a_certificate_with_the_labs_published_key(lab: Lab, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _, run = lab.run()
    number = lab.ok("approve", str(run), "--user", "sun", "--key", str(lab.key), "--lang", "en").strip()
    published = tmp_path / "sun.pub"
    lab.ok("register", "user", "show", "sun", "--public-key", str(published))
    pdf = lab.tmp / f"{number}.pdf"
    code, out, _ = lab.cli("verify", str(pdf), "--no-register", "--key", str(published), db=False)
    assert code == 0 and "all holds" in out and "register not consulted" in out
    # another signatory's published key does not vouch for it
    monkeypatch.setenv("CALSTATION_KEY_PASSPHRASE", "correct horse")
    lab.ok("register", "user", "add", "zhou", "--role", "signatory", "--full-name", "Zhou", "--key-out",
           str(tmp_path / "zhou.pem"), "--user", "ada")
    other = tmp_path / "zhou.pub"
    lab.ok("register", "user", "show", "zhou", "--public-key", str(other))
    code, _, err = lab.cli("verify", str(pdf), "--no-register", "--key", str(other), db=False)
    assert code == 7 and "not with the key given" in err
    # a key protected by a passphrase signs only with it
    _, run2 = lab.run("two.h5")
    monkeypatch.setenv("CALSTATION_KEY_PASSPHRASE", "wrong")
    code, _, err = lab.cli("approve", str(run2), "--user", "zhou", "--key", str(tmp_path / "zhou.pem"))
    assert code == 1 and "wrong passphrase" in err
    monkeypatch.setenv("CALSTATION_KEY_PASSPHRASE", "correct horse")
    assert NUMBER.match(lab.ok("approve", str(run2), "--user", "zhou", "--key", str(tmp_path / "zhou.pem"),
                               "--lang", "en").strip())


def test_an_approval_killed_midway_is_voided_later_and_the_run_approved_again(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from station.register import approval

    _, run = lab.run()

    def killed(run: Path, out: Path, issue: object, signer: object) -> Path:
        raise SystemExit(137)  # stands for SIGKILL: nothing after this point runs

    with Register.open(lab.db) as reg:
        signer = Signer("sun", "Sun Qian", load_private_key(lab.key))
        monkeypatch.setattr(approval, "_void", lambda *a, **k: None)  # the killed process voids nothing
        with pytest.raises(SystemExit):
            approve(reg, "sun", run, signer, "en", lab.tmp, render_pdf=killed)
        monkeypatch.undo()
        stuck = reg.certificates_of_run(_run_id(run))
        assert [c.status for c in stuck] == ["issuing"]
    # within the window another approval might still be writing: refused
    code, _, err = lab.cli("approve", str(run), "--user", "sun", "--key", str(lab.key), "--lang", "en")
    assert code == 1 and "already approved" in err
    with Register.open(lab.db) as reg, reg.engine.begin() as c:  # eleven minutes later
        c.execute(sa.text("UPDATE certificates SET approved_at = '2000-01-01T00:00:00Z'"))
    number = lab.ok("approve", str(run), "--user", "sun", "--key", str(lab.key), "--lang", "en").strip()
    with Register.open(lab.db) as reg:
        states = {c.number: c.status for c in reg.certificates_of_run(_run_id(run))}
        assert states == {stuck[0].number: "void", number: "issued"}
        assert "abandoned" in (reg.certificate(stuck[0].number) or stuck[0]).note
        assert reg.audit_verify().ok


def test_a_run_the_register_never_entered_verifies_as_intact(lab: Lab) -> None:
    """An aborted run, or one made without the register, is not entered in it:
    verify says so and still holds for an intact file."""
    code, run = lab.run("a.h5", "--rule", "simple")
    assert code == 0
    with Register.open(lab.db) as reg, reg.engine.begin() as c:  # as if it had never been entered
        c.execute(sa.text("DELETE FROM run_points"))
        c.execute(sa.text("DELETE FROM run_standards"))
        c.execute(sa.text("DELETE FROM runs"))
    code, out, err = lab.cli("verify", str(run))
    assert code == 0 and "all holds" in out and "is not entered in the register" in out, err
