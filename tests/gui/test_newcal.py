"""New calibration, as the technician uses it: find the item (typing or
scanning its tag), add a new one, the procedures for its model, the bench
(simulated or a bench file), the conditions; the plan check (off the GUI
thread) with each standard's standing and each point's planned TUR; Start
only when the check passed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDialog, QPushButton

from gui import newcal
from gui.newcal import NewCalibration, procedure_matches
from gui.worker import CalibrationSession
from station import library
from station.engine import Engine
from station.prompts import AutoAnswer
from station.simulated import SimulatedStation
from tests.gui import test_flow
from tests.gui.test_flow import TECHNICIAN, Station, cell, listed

# the station's fixtures (its settings kept apart, the demonstration register)
settings, demo_lab, station = test_flow.settings, test_flow.demo_lab, test_flow.station

pytestmark = pytest.mark.gui


def view_for(qtbot: Any, station: Station, **kw: Any) -> NewCalibration:
    user = station.register.user(TECHNICIAN)
    view = NewCalibration(station.register, user, station.runs, pace=0.0, **kw)
    qtbot.addWidget(view)
    view.resize(1300, 680)
    view.show()
    qtbot.waitExposed(view)
    return view


def checked(qtbot: Any, view: NewCalibration) -> None:
    qtbot.waitUntil(lambda: not view.checking and (view.plan is not None or bool(view.check_error)), timeout=30_000)


def test_the_search_field_filters_and_a_scanned_tag_selects(qtbot: Any, station: Station) -> None:
    view = view_for(qtbot, station)
    assert view.visible_duts() == ["SIM-DUT-34401A", "SIM-DUT-5522A", "SIM-DUT-TI"]
    qtbot.keyClicks(view.search, "5522")
    assert view.visible_duts() == ["SIM-DUT-5522A"]  # by model
    view.search.clear()
    qtbot.keyClicks(view.search, "sim-2")
    assert view.visible_duts() == ["SIM-DUT-TI"]  # by serial, whatever the case
    view.search.clear()
    assert view.dut is None and not view.start_button.isEnabled()
    qtbot.keyClicks(view.search, "SIM-DUT-34401A")  # what a scanner types, then Enter
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    assert view.dut is not None and view.dut.asset_id == "SIM-DUT-34401A"
    assert "Selected: SIM-DUT-34401A" in view.search_note.text()
    view.search.clear()
    qtbot.keyClicks(view.search, "NO-SUCH-TAG")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    assert "No single item matches “NO-SUCH-TAG”" in view.search_note.text()
    assert view.visible_duts() == []


def test_a_new_item_is_added_to_the_register_as_the_signed_in_user(qtbot: Any, station: Station) -> None:
    view = view_for(qtbot, station)
    qtbot.keyClicks(view.search, "DUT-NEW-7")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)  # not there: the technician adds it
    click = view.new_item
    qtbot.mouseClick(click, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(d.isVisible() and d.objectName() == "newItem" for d in view.findChildren(QDialog)))
    dialog: Any = next(d for d in view.findChildren(QDialog) if d.objectName() == "newItem")
    assert dialog.fields["asset_id"].text() == "DUT-NEW-7"  # the tag typed is kept
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)  # no maker yet: refused, in one line
    assert dialog.isVisible() and "manufacturer" in dialog.message.text()
    for key, text in (("manufacturer", "Keysight"), ("model", "34401A"), ("serial", "MY4455")):
        qtbot.keyClicks(dialog.fields[key], text)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    asset = station.register.asset("DUT-NEW-7")
    assert asset is not None and asset.kind == "dut" and asset.serial == "MY4455"
    entry = [e for e in station.register.audit_entries() if e.entity_key == "DUT-NEW-7"]
    assert entry and entry[-1].actor == TECHNICIAN and entry[-1].action == "add"
    assert view.dut is not None and view.dut.asset_id == "DUT-NEW-7"  # and it is the item chosen
    assert set(listed(view.procedures)) == {"keysight-34401a-basic", "keysight-34401a-dcv", "keysight-34401a-dcv-adjust"}


def test_the_procedures_are_those_of_the_items_model_or_all(qtbot: Any, station: Station) -> None:
    everything = set(library.available())
    view = view_for(qtbot, station)

    def shown() -> set[str]:
        return set(listed(view.procedures))

    assert shown() == everything  # no item yet
    view.search.setText("SIM-DUT-5522A")
    view.search.returnPressed.emit()
    assert shown() == {"fluke-5522a-dcv"} and view.procedure_name() == "fluke-5522a-dcv"
    view.search.setText("SIM-DUT-TI")
    view.search.returnPressed.emit()
    assert shown() == {"temperature-indicator-drywell"}
    qtbot.mouseClick(view.show_all, Qt.MouseButton.LeftButton)
    assert shown() == everything
    cls = library.available()
    assert procedure_matches(cls["keysight-34401a-dcv"], "34401A") and procedure_matches(cls["keysight-34401a-dcv"], "34401 a")
    assert not procedure_matches(cls["keysight-34401a-dcv"], "5522A") and not procedure_matches(cls["fluke-5522a-dcv"], "")


def test_the_plan_check_runs_off_the_gui_thread_and_shows_the_engines_turs(
        qtbot: Any, station: Station, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    preview = Engine.preview

    def watched(self: Engine) -> Any:
        threads.append(threading.current_thread().name)
        return preview(self)

    monkeypatch.setattr(Engine, "preview", watched)
    view = view_for(qtbot, station)
    view.search.setText("SIM-DUT-5522A")
    view.search.returnPressed.emit()
    checked(qtbot, view)
    assert threads == ["calstation-task"]
    plan = view.plan
    assert plan is not None and plan.ok and plan.procedure == "fluke-5522a-dcv"
    # the same TURs as the engine plans on that bench
    procedure = library.load("fluke-5522a-dcv")
    with SimulatedStation(procedure=procedure) as sim:
        expected = [t for _, t, _ in Engine(procedure, sim.bench(), sim.job(), station.runs / "x.h5",
                                            prompts=AutoAnswer(), clock=sim.clock,
                                            simulators=sim.simulators).preview()]
    shown = [cell(view.points, r, 5).text().removeprefix("⚠ ") for r in range(view.points.rowCount())]
    assert shown == [f"{t:.1f}" for t in expected]
    flagged = [r for r in range(view.points.rowCount()) if cell(view.points, r, 5).text().startswith("⚠")]
    assert flagged == [r for r, t in enumerate(expected) if t < 4.0] and flagged
    assert "planned TUR below 4:1" in view.plan_status.text()
    standards = [cell(view.standards, r, 1).text() for r in range(view.standards.rowCount())]
    assert standards == ["SIM-STD-3458A"]


def test_conditions_are_typed_when_the_bench_has_no_thermo_hygrometer(qtbot: Any, station: Station) -> None:
    sessions: list[CalibrationSession] = []
    view = view_for(qtbot, station)
    view.startRequested.connect(sessions.append)
    view.search.setText("SIM-DUT-5522A")  # the 3458A bench has no thermo-hygrometer
    view.search.returnPressed.emit()
    checked(qtbot, view)
    assert view.plan is not None and view.plan.ok
    assert "No thermo-hygrometer" in view.ambient_note.text()
    assert view.temperature.text() == "" and view.start_button.isEnabled()
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    assert sessions == [] and "Type the temperature" in view.plan_status.text()
    qtbot.keyClicks(view.temperature, "22.8 ± 0.5")
    qtbot.keyClicks(view.humidity, "41")
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    assert len(sessions) == 1
    session = sessions[0]
    assert session.simulated and session.procedure == "fluke-5522a-dcv"
    job = session.job
    assert (job.temperature_c, job.humidity_pct) == ("22.8 ± 0.5", "41")
    assert job.operator == "Wang Fang (王芳)" and job.extra["operator_user"] == TECHNICIAN
    assert job.dut_asset_id == "SIM-DUT-5522A" and job.customer_name == "Demonstration customer"
    assert session.path.parent == station.runs and not session.path.exists()


def test_a_bench_file_is_checked_and_its_refusals_listed_before_anything_is_energised(
        qtbot: Any, station: Station, tmp_path: Path) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text(
        '[[instrument]]\nrole = "standard"\ndriver = "fluke-5522a"\nresource = "TCPIP::127.0.0.1::1::SOCKET"\n'
        'asset_id = "CAL-99"\ntimeout_s = 0.5\n\n'
        '[[instrument]]\nrole = "dut"\ndriver = "keysight-34401a"\nresource = "TCPIP::127.0.0.1::2::SOCKET"\n'
        'timeout_s = 0.5\n', encoding="utf-8")
    view = view_for(qtbot, station, simulated=False)
    view.search.setText("SIM-DUT-34401A")
    view.search.returnPressed.emit()
    assert "Choose the bench file" in view.plan_status.text()
    qtbot.mouseClick(view.choose_bench, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(d.isVisible() and d.objectName() == "benchFileDialog"
                                for d in view.findChildren(QDialog)))
    files: Any = next(d for d in view.findChildren(QDialog) if d.objectName() == "benchFileDialog")
    files.selectFile(str(bench))
    files.accept()
    assert view.bench_path.text() == str(bench) and view.from_file.isChecked()
    checked(qtbot, view)
    plan = view.plan
    assert plan is not None and not plan.ok and not view.start_button.isEnabled()
    row = [cell(view.standards, 0, c).text() for c in range(5)]
    assert row[:2] == ["standard", "CAL-99"] and row[4] == "refused: not in the register"
    assert "CAL-99" in view.refusals.text() and "not in the register" in view.refusals.text()
    # the register's refusal, and the engine's own check of the bench file's standard
    assert len(plan.refusals) == 2 and "CAL-99" in plan.refusals[1] and "calibration_due" in plan.refusals[1]
    assert view.points.rowCount() == 0  # no point planned: the instruments were not even opened


def test_a_plan_check_that_cannot_run_says_why_in_one_line(
        qtbot: Any, station: Station, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: Any) -> Any:
        raise RuntimeError("the simulated bench fell over")

    monkeypatch.setattr(newcal, "plan_check", broken)
    view = view_for(qtbot, station)
    view.search.setText("SIM-DUT-TI")
    view.search.returnPressed.emit()
    checked(qtbot, view)
    assert view.plan_status.text() == ("The plan could not be checked: RuntimeError: the simulated bench fell "
                                       "over")
    assert not view.start_button.isEnabled()
    assert view.findChild(QPushButton, "checkAgain").isEnabled()
