"""A discovered bench, as the technician makes one: the item and the
procedure chosen, Discover asks the instruments served on 127.0.0.1 (real
TCP sockets, pyvisa-py) who they are, finds them in the register by model
and serial, proposes the roles; a role given by hand to an instrument that
cannot play it is refused with the reason; Use this bench writes the bench
file and the plan check identifies the instruments and shows each
standard's standing and each point's TUR."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QComboBox

from drivers.clock import SystemClock
from drivers.sim.bench import SimBench
from gui.discover import DiscoverDialog
from gui.newcal import NewCalibration
from station import library
from station.runfile.reader import RunFile
from tests.gui import test_flow
from tests.gui.test_flow import (
    DUT,
    TECHNICIAN,
    Station,
    cell,
    click,
    dialog,
    new_calibration,
    sign_in,
)
from tests.gui.test_main_window import LONG
from tests.gui.test_newcal import checked, view_for

settings, demo_lab, station = test_flow.settings, test_flow.demo_lab, test_flow.station

pytestmark = pytest.mark.gui

PROCEDURE = "keysight-34401a-dcv"


@pytest.fixture
def served() -> Iterator[dict[str, str]]:
    """The simulated DMM bench served on TCP ports of 127.0.0.1, in real time."""
    with SimBench("dmm-calibrator", clock=SystemClock()) as bench:
        yield bench.serve_tcp()


@pytest.fixture
def dead_port() -> str:
    """A TCP port of 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"TCPIP::127.0.0.1::{port}::SOCKET"


def choose(qtbot: Any, station: Station) -> NewCalibration:
    view = view_for(qtbot, station, simulated=False)
    view.search.setText(DUT)
    view.search.returnPressed.emit()
    view.show_all.setChecked(True)
    items = [view.procedures.item(i) for i in range(view.procedures.count())]
    names = [item.data(Qt.ItemDataRole.UserRole) for item in items if item is not None]
    view.procedures.setCurrentRow(names.index(PROCEDURE))
    assert view.procedure_name() == PROCEDURE
    return view


def open_discovery(qtbot: Any, view: NewCalibration) -> DiscoverDialog:
    click(qtbot, view.discover_button)
    qtbot.waitUntil(lambda: dialog(view, "discoverBench") is not None)
    box: DiscoverDialog = dialog(view, "discoverBench")
    return box


def search(qtbot: Any, box: DiscoverDialog, addresses: list[str]) -> None:
    """Type the addresses, ask neither VISA's list nor the machine's serial ports, Search."""
    box.addresses.setPlainText("\n".join(addresses))
    box.list_visa.setChecked(False)
    box.list_serial.setChecked(False)
    click(qtbot, box.search_button)
    qtbot.waitUntil(lambda: box.discovered is not None or "failed" in box.status.text(), timeout=30_000)


def row_of(box: DiscoverDialog, resource: str) -> list[str]:
    for r in range(box.table.rowCount()):
        if cell(box.table, r, 0).text() == resource:
            return [cell(box.table, r, c).text() for c in range(4)]
    raise AssertionError(f"{resource} is not listed")


def role_box(box: DiscoverDialog, resource: str) -> QComboBox:
    rows = [r for r in range(box.table.rowCount()) if cell(box.table, r, 0).text() == resource]
    assert len(rows) == 1, resource
    found = box.table.cellWidget(rows[0], 4)
    assert isinstance(found, QComboBox)
    return found


def test_discover_finds_the_served_bench_and_the_plan_check_passes_on_it(
        qtbot: Any, station: Station, served: dict[str, str], dead_port: str) -> None:
    view = choose(qtbot, station)
    box = open_discovery(qtbot, view)
    assert "Nothing is energised" in box.status.text()
    search(qtbot, box, [served["calibrator"], served["dmm"], served["ambient"], dead_port])

    assert box.table.rowCount() == 4
    assert "3 of 4 resources answered" in box.status.text()
    calibrator = row_of(box, served["calibrator"])
    assert calibrator[1:] == ["FLUKE 5522A s/n 1234567", "fluke-5522a", "SIM-STD-5522A (standard)"]
    assert row_of(box, served["ambient"])[2:] == ["fluke-1620a", "SIM-AMB-1620A (standard)"]
    dmm = row_of(box, served["dmm"])
    # it reports no serial number (0): the item chosen, found by its model
    assert dmm[1:] == ["HEWLETT-PACKARD 34401A s/n 0", "keysight-34401a", f"{DUT} (dut)"]
    dead = row_of(box, dead_port)
    assert dead[1].startswith("cannot be opened: nothing listens there") and dead[2] == "—"
    r = next(r for r in range(box.table.rowCount()) if cell(box.table, r, 0).text() == dead_port)
    assert cell(box.table, r, 1).foreground().color() == QColor("#b71c1c")
    assert not role_box(box, dead_port).isEnabled()
    # the roles proposed: the item chosen is the DUT, the registered standards the others
    assert role_box(box, served["dmm"]).currentData() == "dut"
    assert role_box(box, served["calibrator"]).currentData() == "standard"
    assert role_box(box, served["ambient"]).currentData() == "ambient"
    assert box.missing.text() == "" and box.use_button.isEnabled()

    click(qtbot, box.use_button)
    qtbot.waitUntil(lambda: dialog(view, "discoverBench") is None)
    path = box.bench_path
    assert path is not None and path.parent == station.runs / "benches"
    assert view.bench_path.text() == str(path) and view.from_file.isChecked()
    bench = tomllib.loads(path.read_text(encoding="utf-8"))
    by_role = {i["role"]: i for i in bench["instrument"]}
    assert by_role["standard"]["resource"] == served["calibrator"]
    assert by_role["standard"]["asset_id"] == "SIM-STD-5522A"
    assert by_role["dut"] == {"role": "dut", "driver": "keysight-34401a", "resource": served["dmm"],
                              "asset_id": DUT, "description": "HEWLETT-PACKARD 34401A"}

    checked(qtbot, view)
    plan = view.plan
    assert plan is not None and plan.ok, (plan and plan.refusals, view.check_error)
    standings = {cell(view.standards, r, 1).text(): cell(view.standards, r, 4).text()
                 for r in range(view.standards.rowCount())}
    assert standings == {"SIM-STD-5522A": "in calibration", "SIM-AMB-1620A": "in calibration"}
    assert view.points.rowCount() == len(plan.points) > 0
    # the conditions were read from the discovered thermo-hygrometer
    assert view.temperature.text() == "23.0" and "SIM-AMB-1620A" in view.ambient_note.text()
    assert view.start_button.isEnabled()


def test_a_role_given_by_hand_to_an_instrument_that_cannot_play_it_is_refused(
        qtbot: Any, station: Station, served: dict[str, str]) -> None:
    view = choose(qtbot, station)
    box = open_discovery(qtbot, view)
    search(qtbot, box, [served["calibrator"], served["dmm"]])
    assert box.use_button.isEnabled()
    # the DMM as the standard: it is no source, and the DUT role is left empty
    box.set_role(served["dmm"], "standard")
    box.set_role(served["calibrator"], "")
    assert not box.use_button.isEnabled()
    assert "cannot be standard" in box.missing.text() and "Source" in box.missing.text()
    assert "dut: give it an instrument that is a Meter" in box.missing.text()
    # both given the same role
    box.set_role(served["calibrator"], "standard")
    assert "two instruments are given the role standard" in box.missing.text()
    # put right, as proposed
    box.set_role(served["dmm"], "dut")
    assert box.missing.text() == "" and box.use_button.isEnabled()
    # searched again: the new rows' Role boxes hold the proposal again
    box.set_role(served["calibrator"], "")
    assert not box.use_button.isEnabled()
    search(qtbot, box, [served["dmm"], served["calibrator"]])
    assert role_box(box, served["calibrator"]).currentData() == "standard"
    assert box.missing.text() == "" and box.use_button.isEnabled()
    click(qtbot, box.cancel_button)
    qtbot.waitUntil(lambda: dialog(view, "discoverBench") is None)
    assert view.bench_path.text() == "" and not (station.runs / "benches").exists()


def test_the_searched_addresses_are_remembered_and_nothing_answering_is_said(
        qtbot: Any, station: Station, dead_port: str) -> None:
    view = choose(qtbot, station)
    box = open_discovery(qtbot, view)
    search(qtbot, box, [dead_port])
    assert "0 of 1 resources answered" in box.status.text()
    assert "dut: the item SIM-DUT-34401A (Keysight 34401A s/n SIM-0) did not answer" in box.missing.text()
    assert "standard: no instrument found can be a Source" in box.missing.text()
    assert not box.use_button.isEnabled()
    click(qtbot, box.cancel_button)
    qtbot.waitUntil(lambda: dialog(view, "discoverBench") is None)
    again = open_discovery(qtbot, view)
    assert again.addresses.toPlainText() == dead_port
    assert not again.list_visa.isChecked() and not again.list_serial.isChecked()
    assert QSettings().value("discovery/probe") == dead_port
    click(qtbot, again.cancel_button)


def test_discover_asks_for_the_item_and_the_procedure_first(qtbot: Any, station: Station) -> None:
    view = view_for(qtbot, station, simulated=False)
    click(qtbot, view.discover_button)
    assert dialog(view, "discoverBench") is None
    assert "Choose the item and the procedure first" in view.plan_status.text()


def test_a_calibration_runs_in_the_window_on_the_discovered_bench(
        qtbot: Any, station: Station, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real-bench path of the window: the engine on the bench's own
    clock, pyvisa-py to TCP sockets of 127.0.0.1, the run entered in the
    register. A short lab procedure (three points, no dwell) keeps it quick."""
    lab = tmp_path / "procedures"
    lab.mkdir()
    (lab / "short_dcv.py").write_text(
        LONG.read_text(encoding="utf-8")
        .replace('name = "test-long-dcv-sweep"', 'name = "test-short-dcv"')
        .replace("readings: int = 5", "readings: int = 2").replace("points: int = 4000", "points: int = 3"),
        encoding="utf-8")
    monkeypatch.setenv(library.FOLDERS_VARIABLE, str(lab))
    with SimBench("dmm-calibrator", clock=SystemClock(), options={"calibrator": {"settle_time_s": 0.02}}) as bench:
        served = bench.serve_tcp()
        window = station.window()
        window.begin()
        sign_in(qtbot, window, TECHNICIAN, open_it=False)
        new = new_calibration(qtbot, window, "test-short-dcv")
        box = open_discovery(qtbot, new)
        search(qtbot, box, list(served.values()))
        click(qtbot, box.use_button)
        qtbot.waitUntil(lambda: new.plan is not None and not new.checking, timeout=30_000)
        plan = new.plan
        assert plan is not None, new.check_error
        assert plan.ok and not new.simulated.isChecked(), plan.refusals
        click(qtbot, new.start_button)
        view = window.run_view
        qtbot.waitUntil(lambda: view.outcome is not None and not view.running, timeout=60_000)
        outcome = view.outcome
        assert outcome is not None and outcome.status == "completed", view.banner.text()
        qtbot.waitUntil(lambda: view.review_ready, timeout=20_000)
        assert bench.dmm.received and bench.calibrator.received  # over the sockets, not in process
    with RunFile(outcome.path) as rf:
        used = {i.role: i.resource for i in rf.instruments}
        assert used == {"dut": served["dmm"], "standard": served["calibrator"], "ambient": served["ambient"]}
        assert len(rf.points) == 3 and rf.verify().ok
        safe = [m for _, k, m in rf.events() if k == "safe_state"]
        assert any(m.startswith("standard") for m in safe)  # the calibrator left in its safe state
    rows = station.register.history(DUT)
    assert rows and rows[-1][0]["technician"] == TECHNICIAN and rows[-1][0]["status"] == "completed"
