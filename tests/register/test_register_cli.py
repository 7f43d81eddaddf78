"""The register through `calstation register ...`, against SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from station.register import Register
from tests.register.lab import TODAY, Lab


@pytest.fixture
def lab(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Lab:
    return Lab(db_url, tmp_path, capsys).set_up()


def test_the_first_user_is_an_administrator_and_roles_are_enforced(db_url: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab(db_url, tmp_path, capsys)
    code, _, err = lab.cli("register", "user", "add", "li", "--role", "technician", "--full-name", "Li")
    assert code == 1 and "add an administrator first" in err
    lab.ok("register", "user", "add", "ada", "--role", "administrator", "--full-name", "Ada")
    code, _, err = lab.cli("register", "user", "add", "bo", "--role", "technician", "--full-name", "Bo")
    assert code != 0 and "--user" in err
    lab.ok("register", "user", "add", "li", "--role", "technician", "--full-name", "Li", "--user", "ada")
    code, _, err = lab.cli("register", "user", "add", "x", "--role", "technician", "--full-name", "X", "--user", "li")
    assert code == 1 and "user 'li' is a technician and may not add users" in err
    code, _, err = lab.cli("register", "add", "standard", "S1", "--manufacturer", "F", "--model", "M",
                           "--serial", "1", "--user", "nobody")
    assert code == 1 and "no user 'nobody' in the register" in err
    assert err.count("\n") == 1


def test_standards_their_records_and_due_dates(lab: Lab) -> None:
    out = lab.ok("register", "list", "standards")
    assert "SIM-STD-5522A" in out and "[in calibration]" in out
    lab.ok("register", "add", "standard", "STD-9", "--manufacturer", "Fluke", "--model", "8508A",
           "--serial", "9", "--user", "li")
    lab.calibrate("STD-9", TODAY - dt.timedelta(days=360), TODAY + dt.timedelta(days=5))
    out = lab.ok("register", "due")
    assert "STD-9" in out and f"due {(TODAY + dt.timedelta(days=5)).isoformat()}" in out
    assert "SIM-STD-5522A" not in out
    code, _, err = lab.cli("register", "calibration", "STD-9", "--certificate", "C", "--lab", "L",
                           "--date", "2026-13-01", "--due", "2027-01-01", "--user", "sun")
    assert code == 1 and "'2026-13-01' is not a date" in err
    code, _, err = lab.cli("register", "calibration", "STD-9", "--certificate", "C", "--lab", "L",
                           "--date", "2026-01-01", "--due", "2027-01-01", "--user", "li")
    assert code == 1 and "technician and may not enter calibration records" in err
    lab.ok("register", "retire", "STD-9", "--reason", "dropped", "--user", "sun")
    assert "STD-9" not in lab.ok("register", "due")
    assert "retired" in lab.ok("register", "show", "STD-9")


def test_csv_import_is_all_or_nothing(lab: Lab, tmp_path: Path) -> None:
    good = tmp_path / "assets.csv"
    good.write_text("asset_id,kind,manufacturer,model,serial,location\n"
                    "STD-A,standard,Fluke,5730A,1,bench 2\nSTD-B,standard,Fluke,8846A,2,bench 2\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("asset_id,kind,manufacturer,model,serial\n"
                   "STD-C,standard,Fluke,5730A,3\nSTD-D,gadget,Fluke,x,4\n", encoding="utf-8")
    code, _, err = lab.cli("register", "import", "assets", str(bad), "--user", "li")
    assert code == 1 and "line 3" in err and "'gadget' is not standard or dut" in err and "nothing was imported" in err
    listed = lab.ok("register", "list", "assets")
    assert "STD-C" not in listed
    assert "2 assets imported" in lab.ok("register", "import", "assets", str(good), "--user", "li")
    listed = lab.ok("register", "list", "assets")
    assert "STD-A" in listed and "STD-B" in listed and "[no calibration record]" in listed
    records = tmp_path / "cal.csv"
    records.write_text("asset_id,certificate,issuing_lab,calibrated_on,due,uncertainty_source,certificate_uncertainty_ppm\n"
                       f"STD-A,NIM-1,NIM,{TODAY - dt.timedelta(days=10)},{TODAY + dt.timedelta(days=355)},certificate,3.5\n",
                       encoding="utf-8")
    lab.ok("register", "import", "calibrations", str(records), "--user", "sun")
    with Register.open(lab.db) as reg:
        rec = reg.latest_calibration("STD-A")
        assert rec is not None and rec.values == {"uncertainty_source": "certificate",
                                                  "certificate_uncertainty_ppm": 3.5}


def test_audit_trail_names_an_edited_a_deleted_and_an_added_entry(lab: Lab) -> None:
    out = lab.ok("audit", "verify")
    assert "audit trail intact" in out
    with Register.open(lab.db) as reg:
        n = len(reg.audit_entries())
        eng = reg.engine
        with eng.begin() as c:
            c.execute(sa.text("UPDATE audit SET new = replace(new, 'Li Lei', 'Li Mei') WHERE seq = 2"))
    code, _, err = lab.cli("audit", "verify")
    assert code == 7 and "audit entry 2 (" in err and "was changed after it was written" in err
    with Register.open(lab.db) as reg, reg.engine.begin() as c:
        c.execute(sa.text("UPDATE audit SET new = replace(new, 'Li Mei', 'Li Lei') WHERE seq = 2"))
    assert lab.cli("audit", "verify")[0] == 0
    with Register.open(lab.db) as reg, reg.engine.begin() as c:
        c.execute(sa.text("DELETE FROM audit WHERE seq = 4"))
    code, _, err = lab.cli("audit", "verify")
    assert code == 7 and "audit entry 4 is missing: the trail jumps from 3 to 5" in err
    with Register.open(lab.db) as reg, reg.engine.begin() as c:
        c.execute(sa.text("DELETE FROM audit WHERE seq >= 4"))
    code, _, err = lab.cli("audit", "verify")
    assert code == 7 and f"entries 4 to {n} were removed" in err
    with Register.open(lab.db) as reg, reg.engine.begin() as c:
        c.execute(sa.text("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit WHERE seq = 3)"))
        c.execute(sa.text("INSERT INTO audit VALUES (4, '2026-01-01T00:00:00.000000Z', 'ada', 'add', 'user', 'eve', "
                          "'{}', '{}', '', 'forged', 'forged')"))
    code, _, err = lab.cli("audit", "verify")
    assert code == 7 and "audit entry 4 (" in err and "does not follow entry 3" in err
