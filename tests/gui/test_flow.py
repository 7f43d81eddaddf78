"""The station's whole flow through the window, as its people go through
it: the technician signs in, picks the item by its tag, checks the plan
and starts the calibration on the simulated bench, answers the prompts
(Enter never answers the hazard prompt), and the completed run is entered
in the register; Review hands the station over, the technician cannot
approve their own run, the signatory signs in and approves it, and the
certificate opens. Also: an abort (the safe state in the run file) and an
interrupted run resumed from its file.

The register is the demonstration register (`gui.app.open_register`, as
``calstation gui --simulated`` makes it), copied into each test's folder.
Nothing touches the user's own settings, register or keys.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import QCoreApplication, QSettings, Qt
from PyQt6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from gui import app as gui_app
from gui import i18n
from gui.main_window import ABORT_REASON, MainWindow
from gui.newcal import CHECK_DELAY_MS, NewCalibration
from station.prompts import CONTINUE
from station.register import Register
from station.runfile.reader import RunFile
from tests.gui.test_main_window import SMALL, fully_shown

pytestmark = pytest.mark.gui

TECHNICIAN, SIGNATORY = "wang.fang", "chen.jie"
DUT = "SIM-DUT-34401A"
DCV = "keysight-34401a-dcv"  # 17 points; a "Connect the leads" prompt, then a hazard prompt at 100 V
POINTS = 17


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, qapp: Any) -> Iterator[Path]:
    """The window's settings in a folder of the test's own (in English, chosen
    before); the user's register, keys and data are out of reach."""
    folder = tmp_path_factory.mktemp("settings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName("calstation")
    QCoreApplication.setApplicationName("calstation")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.delenv("CALSTATION_DB", raising=False)
    monkeypatch.delenv("CALSTATION_KEY_PASSPHRASE", raising=False)
    i18n.save_language("en")
    i18n.install("en")
    yield folder
    i18n.install("en")
    QSettings().remove("language")


@pytest.fixture(scope="session")
def demo_lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demonstration register and its signatory's key, made once."""
    folder = tmp_path_factory.mktemp("demo-lab")
    gui_app.open_register(gui_app.demo_register_url(folder), folder).close()
    return folder


@dataclass
class Station:
    register: Register
    folder: Path
    qtbot: Any
    windows: list[MainWindow] = field(default_factory=list)

    @property
    def runs(self) -> Path:
        return self.folder / "runs"

    @property
    def keys(self) -> Path:
        return self.folder / "keys"

    def window(self, pace: float = 0.0) -> MainWindow:
        window = MainWindow(register=self.register, runs_dir=self.runs, pace=pace, keys_dir=self.keys)
        self.qtbot.addWidget(window)
        window.show()
        self.qtbot.waitExposed(window)
        self.windows.append(window)
        return window


@pytest.fixture
def station(settings: Path, demo_lab: Path, tmp_path: Path, qtbot: Any) -> Iterator[Station]:
    lab = tmp_path / "lab"
    shutil.copytree(demo_lab, lab)
    with Register.open(gui_app.demo_register_url(lab)) as reg:
        s = Station(reg, lab, qtbot)
        yield s
        for window in s.windows:
            window.run_view.stop("the test ended")
            assert window.worker.shutdown(timeout_s=20.0), "the engine thread did not end"
            window._entering.wait(20.0)


# -- what people do -----------------------------------------------------------------------------------------
def click(qtbot: Any, button: QPushButton) -> None:
    assert button.isVisible() and button.isEnabled(), f"{button.text()} is not there to click"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def dialog(parent: QWidget, name: str) -> Any:
    found = [d for d in parent.findChildren(QDialog) if d.isVisible() and d.objectName() == name]
    return found[0] if found else None


def sign_in(qtbot: Any, window: MainWindow, name: str, *, open_it: bool = True) -> None:
    """Type the user name in the sign-in dialog and press Enter."""
    if open_it:
        window.sign_in_action.trigger()
    qtbot.waitUntil(lambda: dialog(window, "signIn") is not None)
    box = dialog(window, "signIn")
    edit = box.name.lineEdit()
    edit.clear()
    qtbot.keyClicks(edit, name)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog(window, "signIn") is None)
    # the keyboard goes back to the window (or to what it opens next)
    qtbot.waitUntil(lambda: QApplication.activeWindow() not in (None, box))


def pick_procedure(qtbot: Any, new: NewCalibration, name: str) -> None:
    for row in range(new.procedures.count()):
        item = new.procedures.item(row)
        if item is not None and item.data(Qt.ItemDataRole.UserRole) == name:
            viewport = new.procedures.viewport()
            assert viewport is not None
            qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton,
                             pos=new.procedures.visualItemRect(item).center())
            assert new.procedure_name() == name
            return
    raise AssertionError(f"{name} is not in the list")


def scan_item(qtbot: Any, window: MainWindow) -> NewCalibration:
    """Ctrl+N, scan the item's tag (its asset id and Enter)."""
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.current_page() == "new")
    new = window.newcal
    assert isinstance(new, NewCalibration)
    qtbot.keyClicks(new.search, DUT)
    qtbot.keyClick(new.search, Qt.Key.Key_Return)
    assert new.dut is not None and new.dut.asset_id == DUT
    return new


def new_calibration(qtbot: Any, window: MainWindow, procedure: str = DCV) -> NewCalibration:
    """Scan the item's tag, pick the procedure, wait for the plan check."""
    new = scan_item(qtbot, window)
    pick_procedure(qtbot, new, procedure)
    qtbot.waitUntil(lambda: not new.checking and (new.plan is not None or bool(new.check_error)), timeout=30_000)
    return new


def cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """A cell of a table the view filled (it must be there)."""
    item = table.item(row, column)
    assert item is not None, (table.objectName(), row, column)
    return item


def listed(widget: QListWidget) -> list[str]:
    """The procedures' names, in the order listed."""
    items = [widget.item(r) for r in range(widget.count())]
    return [str(i.data(Qt.ItemDataRole.UserRole)) for i in items if i is not None]


def prompts(window: QWidget) -> list[Any]:
    return [d for d in window.findChildren(QDialog) if d.isVisible() and d.objectName() in ("prompt", "hazardPrompt")]


def answer_prompts(qtbot: Any, window: MainWindow, until: Callable[[], bool], answer: str = CONTINUE,
                   timeout_s: float = 30.0) -> list[str]:
    """Click ``answer`` on every prompt until ``until()``; the titles asked."""
    asked: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not until():
        assert time.monotonic() < deadline, window.run_view.banner.text()
        for box in prompts(window):
            asked.append(box.windowTitle())
            qtbot.mouseClick(box.buttons[answer], Qt.MouseButton.LeftButton)
        qtbot.wait(5)
    return asked


def message(window: QWidget, name: str) -> QMessageBox | None:
    found = [b for b in window.findChildren(QMessageBox) if b.isVisible() and b.objectName() == name]
    return found[0] if found else None


# -- the flow ----------------------------------------------------------------------------------------------------
def test_the_whole_flow_from_sign_in_to_the_certificate(qtbot: Any, station: Station) -> None:
    """At 1366x768, every view's essentials in sight at each step."""
    window = station.window()
    window.resize(*SMALL)
    window.begin()  # the language was chosen before: the sign-in comes at once
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    assert window.user is not None and window.user.name == TECHNICIAN
    assert window.current_page() == "home"
    assert "Wang Fang" in window.user_label.text()

    new = new_calibration(qtbot, window)
    plan = new.plan
    assert plan is not None and plan.ok, new.refusals.text()
    # the plan check as the technician sees it: every point's planned TUR, the low ones flagged
    assert new.points.rowCount() == POINTS
    turs = [cell(new.points, r, 5).text() for r in range(POINTS)]
    low = [t for t in turs if t.startswith("⚠")]
    assert low and len(low) == sum(1 for p in plan.points if p.tur < 4.0)
    assert cell(new.points, turs.index(low[0]), 5).background().color().name() == "#ffe0b2"
    standards = {cell(new.standards, r, 1).text(): cell(new.standards, r, 4).text()
                 for r in range(new.standards.rowCount())}
    assert standards == {"SIM-STD-5522A": "in calibration", "SIM-AMB-1620A": "in calibration"}
    assert new.temperature.text() == "23.0" and new.humidity.text() == "45"  # from the thermo-hygrometer
    assert "passed" in new.plan_status.text() and new.start_button.isEnabled()
    points = new.points.viewport()
    assert points is not None
    for widget in (new.start_button, new.check_button, new.search, new.plan_status, points):
        assert fully_shown(widget, window), widget.objectName()
    header = new.points.horizontalHeader()
    assert header is not None and header.sectionViewportPosition(5) + header.sectionSize(5) <= points.width()

    click(qtbot, new.start_button)
    view = window.run_view
    assert window.current_page() == "run"
    for widget in (view.pause_button, view.abort_button, view.review_button, view.certificate_button):
        assert fully_shown(widget, window), widget.objectName()
    # the first prompt: Enter answers its default (Continue)
    qtbot.waitUntil(lambda: bool(prompts(window)), timeout=20_000)
    first = prompts(window)[0]
    assert first.objectName() == "prompt" and not view.pause_button.isEnabled()
    qtbot.keyClick(first.focusWidget(), Qt.Key.Key_Return)
    # the hazard prompt: Enter does not answer it; the technician clicks Continue
    qtbot.waitUntil(lambda: any(b.objectName() == "hazardPrompt" for b in prompts(window)), timeout=20_000)
    hazard = next(b for b in prompts(window) if b.objectName() == "hazardPrompt")
    qtbot.keyClick(hazard.focusWidget(), Qt.Key.Key_Return)
    qtbot.wait(100)
    assert hazard.isVisible() and hazard.choice is None and view.running
    qtbot.mouseClick(hazard.buttons[CONTINUE], Qt.MouseButton.LeftButton)
    answer_prompts(qtbot, window, lambda: view.outcome is not None and not view.running)
    outcome = view.outcome
    assert outcome is not None and outcome.status == "completed", view.banner.text()
    qtbot.waitUntil(lambda: view.review_ready, timeout=20_000)
    assert "Entered in the register" in view.status_label.text()
    with RunFile(outcome.path) as rf:
        job, answers = rf.job, [m for _, k, m in rf.events() if k == "answer"]
        assert len(rf.points) == POINTS
    assert job["operator"] == "Wang Fang (王芳)" and job["operator_user"] == TECHNICIAN
    assert job["dut_asset_id"] == DUT and job["temperature_c"] == "23.0"
    assert answers[:2] == ["Connect the leads: Continue", "Hazardous voltage: Continue"]
    rows = [r for r in station.register.history(DUT)]
    assert rows and rows[-1][0]["technician"] == TECHNICIAN and rows[-1][0]["status"] == "completed"

    # Review: the station is handed over; the technician cannot approve their own run
    click(qtbot, view.review_button)
    qtbot.waitUntil(lambda: message(window, "handOver") is not None)
    hand = message(window, "handOver")
    assert hand is not None
    qtbot.mouseClick(hand.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    qtbot.waitUntil(lambda: message(window, "warning") is not None)
    refused = message(window, "warning")
    assert refused is not None and "nobody approves their own run" in refused.text()
    qtbot.mouseClick(refused.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert window.current_page() != "review"

    # the signatory signs in and approves through the review
    window.show_page("run")
    click(qtbot, view.review_button)
    qtbot.waitUntil(lambda: message(window, "handOver") is not None)
    hand = message(window, "handOver")
    assert hand is not None
    qtbot.mouseClick(hand.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    sign_in(qtbot, window, SIGNATORY, open_it=False)
    qtbot.waitUntil(lambda: window.current_page() == "review")
    review: Any = window.review_view
    qtbot.waitUntil(lambda: review.content is not None or bool(review.load_error), timeout=30_000)
    assert not review.load_error
    for widget in (review.approve_button, review.reject_button, review.verdict):
        assert fully_shown(widget, window), widget.objectName()
    click(qtbot, review.approve_button)
    qtbot.waitUntil(lambda: window.current_page() == "certificate", timeout=120_000)
    certificate: Any = window.certificate_view
    assert certificate.pdf.is_file() and certificate.pdf.read_bytes().startswith(b"%PDF")
    assert certificate.verdict_value == "pass"
    qtbot.waitUntil(lambda: certificate.page_count > 0, timeout=20_000)
    assert fully_shown(certificate.verdict, window)
    number = certificate.pdf.name.removesuffix(".pdf")
    issued = station.register.certificate(number)
    assert issued is not None and issued.status == "issued" and issued.approver == SIGNATORY
    assert station.register.history(DUT)[-1][0]["status"] == "approved"
    from station.register.verify import verify_file

    assert verify_file(certificate.pdf, station.register).ok
    assert f"Certificate {number} issued." in window.note_label.text()


def test_a_refused_standard_is_shown_with_its_reason_and_start_stays_disabled(qtbot: Any, station: Station) -> None:
    """The calibrator's calibration ran out yesterday: the plan check says so
    (overdue since its due date), lists the register's refusal, and nothing
    can be started; nothing was energised."""
    import datetime as dt

    from station.register.core import Calibration

    today = dt.date.today()
    station.register.add_calibration("admin", Calibration(
        "SIM-STD-5522A", "OLD-1", "demonstration", (today - dt.timedelta(days=20)).isoformat(),
        (today - dt.timedelta(days=1)).isoformat()))
    window = station.window()
    window.begin()
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    new = new_calibration(qtbot, window)
    plan = new.plan
    assert plan is not None and not plan.ok
    due = (today - dt.timedelta(days=1)).isoformat()
    rows = {cell(new.standards, r, 1).text(): cell(new.standards, r, 4).text() for r in range(new.standards.rowCount())}
    assert rows["SIM-STD-5522A"] == f"refused: overdue: its calibration was due on {due}"
    assert rows["SIM-AMB-1620A"] == "in calibration"
    assert new.refusals.isVisible() and "SIM-STD-5522A" in new.refusals.text() and due in new.refusals.text()
    assert "refused" in new.plan_status.text() and not new.start_button.isEnabled()
    assert new.points.rowCount() == POINTS  # the points are still planned, with their TURs
    qtbot.keyClick(new, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Start's shortcut: nothing
    assert window.current_page() == "new" and not window.run_view.running
    assert not list(station.runs.glob("*.h5"))


def test_cancel_before_the_plan_check_leaves_the_instruments_alone(
        qtbot: Any, station: Station, monkeypatch: pytest.MonkeyPatch) -> None:
    """The technician scans the item and cancels at once: the plan check
    that was about to identify the bench's instruments is not made from the
    screen that is no longer shown (it once ran later, out of sight)."""
    from station.engine import Engine

    checks: list[str] = []
    preview = Engine.preview

    def counted(self: Engine) -> Any:
        checks.append(self.procedure.name)
        return preview(self)

    monkeypatch.setattr(Engine, "preview", counted)
    window = station.window()
    window.begin()
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    new = scan_item(qtbot, window)
    assert new.checking  # a plan check is due
    click(qtbot, new.cancel_button)
    assert window.current_page() == "home" and not new.checking
    qtbot.wait(5 * CHECK_DELAY_MS)
    assert checks == []
    # the same screen shown again checks its plan then
    window.stack.setCurrentWidget(new)
    qtbot.waitUntil(lambda: not new.checking and new.plan is not None, timeout=30_000)
    assert checks == [new.procedure_name()] and new.plan.ok


def test_an_abort_puts_the_bench_in_its_safe_state_and_the_run_file_says_so(qtbot: Any, station: Station) -> None:
    window = station.window(pace=0.02)
    window.begin()
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    new = new_calibration(qtbot, window)
    click(qtbot, new.start_button)
    view = window.run_view
    answer_prompts(qtbot, window, lambda: len(view.model.results()) >= 3)
    session: Any = view.session
    assert session.station is not None and session.station.sim.calibrator.operating
    click(qtbot, view.abort_button)
    qtbot.waitUntil(lambda: message(view, "abortConfirm") is not None)
    box = message(view, "abortConfirm")
    assert box is not None
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    answer_prompts(qtbot, window, lambda: view.outcome is not None and not view.running)
    outcome = view.outcome
    assert outcome is not None and outcome.status == "aborted" and ABORT_REASON in outcome.reason
    assert not session.station.sim.calibrator.operating
    with RunFile(outcome.path) as rf:
        events = [(k, m) for _, k, m in rf.events()]
        assert rf.status == "aborted"
    kinds = [k for k, _ in events]
    assert kinds.index("aborted") < kinds.index("safe_state") < kinds.index("finished")
    assert ("safe_state", "standard: safe state") in events
    assert not view.review_button.isEnabled()  # an aborted run is not reviewed
    assert station.register.history(DUT) == []  # nor entered in the register


def aborted_run(qtbot: Any, station: Station, after: int) -> tuple[MainWindow, Any]:
    """The technician signs in, starts the DC voltage calibration and aborts
    it once ``after`` points are done: the window and the run's outcome."""
    window = station.window(pace=0.02)
    window.begin()
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    new = new_calibration(qtbot, window)
    click(qtbot, new.start_button)
    view = window.run_view
    answer_prompts(qtbot, window, lambda: len(view.model.results()) >= after)
    view.abort()
    answer_prompts(qtbot, window, lambda: view.outcome is not None and not view.running)
    outcome = view.outcome
    assert outcome is not None and outcome.status == "aborted"
    return window, outcome


def test_an_interrupted_run_is_resumed_from_its_file(qtbot: Any, station: Station) -> None:
    """A run aborted after a few points is continued from File > Resume:
    its points are kept, the rest are taken, it completes and goes to the
    register."""
    window, first = aborted_run(qtbot, station, after=4)
    view = window.run_view
    kept = first.points
    assert 4 <= kept < POINTS

    window.activateWindow()  # the technician's hand goes back to the window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # File > Resume
    qtbot.waitUntil(lambda: dialog(window, "resumeFile") is not None)
    files: QFileDialog = dialog(window, "resumeFile")
    files.selectFile(str(first.path))
    files.accept()
    qtbot.waitUntil(lambda: view.running or view.outcome is not None, timeout=20_000)
    assert "Resuming" in [label for _, label in view._info_labels]
    answer_prompts(qtbot, window, lambda: view.outcome is not None and not view.running)
    outcome = view.outcome
    assert outcome is not None and outcome.status == "completed" and outcome.path == first.path
    with RunFile(outcome.path) as rf:
        assert rf.status == "completed" and len(rf.points) == POINTS and rf.verify().ok
        kinds = [k for _, k, _ in rf.events()]
    assert "resumed" in kinds
    m = view.model
    shown = [m.data(m.index(r, 13)) for r in range(m.rowCount())]
    assert shown[:kept] == ["done earlier"] * kept and shown[kept:] == ["PASS"] * (POINTS - kept)
    qtbot.waitUntil(lambda: view.review_ready, timeout=20_000)
    assert station.register.history(DUT)[-1][0]["status"] == "completed"


def test_home_resumes_a_run_left_running(qtbot: Any, station: Station) -> None:
    """Home's "Resume" is the same resume: the interrupted run completes."""
    window, first = aborted_run(qtbot, station, after=2)
    view, path = window.run_view, first.path
    home: Any = window.home
    home.resumeRun.emit(path)  # what its Resume button sends
    answer_prompts(qtbot, window, lambda: view.outcome is not None and view.outcome.status == "completed"
                   and not view.running)
    with RunFile(path) as rf:
        assert rf.status == "completed" and len(rf.points) == POINTS


def test_a_run_that_cannot_be_resumed_says_why(qtbot: Any, station: Station, tmp_path: Path) -> None:
    window = station.window()
    window.begin()
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not a run file")
    window.resume(broken)
    qtbot.waitUntil(lambda: message(window, "warning") is not None)
    box = message(window, "warning")
    assert box is not None and "broken.h5" in box.text() and "\n" not in box.text()
    assert not window.run_view.running


def test_the_signed_out_window_shows_only_what_needs_no_one(qtbot: Any, station: Station) -> None:
    window = station.window()
    page = window.signed_out
    assert window.stack.currentWidget() is page
    label = page.findChild(QLabel, "message")
    assert label is not None and "Nobody is signed in" in label.text()
    for key in ("home", "new", "review", "certificate", "register", "run"):
        assert not window.go[key].isEnabled(), key
    QApplication.processEvents()
