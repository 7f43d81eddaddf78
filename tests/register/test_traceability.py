"""The plan takes each standard's standing from the register: overdue,
retired or unrecorded standards are refused, a supervisor's override is
recorded in the run file and the audit trail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from station.register import Register
from station.runfile.reader import RunFile
from tests.register.lab import TODAY, Lab


@pytest.fixture
def lab(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Lab:
    return Lab(db_url, tmp_path, capsys).set_up()


def test_a_run_takes_the_standing_the_dut_and_the_customer_from_the_register(lab: Lab) -> None:
    code, path = lab.run()
    assert code == 0, lab.last_err
    assert "entered in the register" in lab.last_err
    with RunFile(path) as rf:
        std = next(i for i in rf.instruments if i.role == "standard")
        assert std.asset_id == "SIM-STD-5522A"
        assert std.certificate == f"NIM-SIM-STD-5522A-{TODAY - dt.timedelta(days=30):%Y%m%d}"
        assert std.calibration_due == (TODAY + dt.timedelta(days=335)).isoformat()
        assert rf.job["customer_name"] == "ACME Instruments (艾克米仪器)"
        assert rf.job["dut_serial"] == "MY123" and rf.job["operator"] == "Li Lei (李雷)"
        points = rf.points
    out = lab.ok("register", "history", "DUT-1")
    assert "completed verdict pass" in out and out.count(" as_found ") == len(points)
    for p in points:  # each point's error, as the run file holds it
        assert f"error {p.error:+.4e}" in out


@pytest.fixture
def overdue(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Lab:
    return Lab(db_url, tmp_path, capsys).set_up(overdue_by=35)


def test_an_overdue_standard_is_refused_naming_its_due_date(overdue: Lab) -> None:
    lab = overdue
    code, path = lab.run()
    due = (TODAY - dt.timedelta(days=35)).isoformat()
    assert code == 1 and not path.exists()
    assert "SIM-STD-5522A" in lab.last_err and f"its calibration was due on {due}" in lab.last_err
    assert lab.last_err.count("\n") == 1


def test_a_supervisor_may_override_and_it_is_recorded(overdue: Lab) -> None:
    lab = overdue
    code, _ = lab.run("a.h5", "--override", "SIM-STD-5522A", "--supervisor", "li", "--override-reason", "x")
    assert code == 1 and "technician and may not allow a refused standard" in lab.last_err
    code, path = lab.run("b.h5", "--override", "SIM-STD-5522A", "--supervisor", "sun",
                         "--override-reason", "recalibration booked; checked against the 3458A today")
    assert code == 0, lab.last_err
    with RunFile(path) as rf:
        events = [m for _, k, m in rf.events() if k == "override"]
    assert len(events) == 1 and "Sun Qian" in events[0] and "checked against the 3458A today" in events[0]
    assert f"its calibration was due on {TODAY - dt.timedelta(days=35)}" in events[0]
    # and a newer record lifts the refusal
    lab.calibrate("SIM-STD-5522A", TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=364), "NEW-1")
    code, path = lab.run("c.h5")
    assert code == 0, lab.last_err
    with Register.open(lab.db) as reg:
        last = [e for e in reg.audit_entries() if e.action == "override"]
    assert last and last[-1].actor == "sun" and last[-1].entity_key == "SIM-STD-5522A"


def test_a_retired_or_unrecorded_standard_is_refused(lab: Lab) -> None:
    lab.ok("register", "retire", "SIM-AMB-1620A", "--reason", "sensor drifted", "--user", "ada")
    code, _ = lab.run()
    assert code == 1 and "SIM-AMB-1620A" in lab.last_err and "it is retired" in lab.last_err
    code, _ = lab.run("c.h5", "--override", "SIM-STD-5522A", "--supervisor", "sun", "--override-reason", "r")
    assert code == 1 and "it is retired" in lab.last_err


def test_a_standard_missing_from_the_register_is_refused(db_url: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab(db_url, tmp_path, capsys)
    lab.ok("register", "user", "add", "ada", "--role", "administrator", "--full-name", "Ada")
    lab.ok("register", "add", "dut", "DUT-1", "--manufacturer", "K", "--model", "34401A", "--serial", "1",
           "--user", "ada")
    lab.ok("register", "customer", "ACME", "--name", "ACME", "--user", "ada")
    code, _ = lab.run(user="ada")
    assert code == 1 and "asset 'SIM-STD-5522A' is not in the register" in lab.last_err
