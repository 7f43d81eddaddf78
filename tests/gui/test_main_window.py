"""Whole runs driven through the run screen as a technician does: click
Start, answer the prompt dialogs by clicking their buttons, Pause, Resume,
Abort (confirmed once), the draft certificate; the held run, the time left,
as found -> adjust -> as left; the window at 1366x768; `calstation gui`
where no window can open. The engine runs on its own thread on the
simulated bench."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QDialog, QLabel, QMessageBox, QPushButton, QWidget

from gui import app
from gui.main_window import ABORT_REASON, MainWindow, RunView
from gui.widgets import COL_DECISION, COLUMNS
from gui.worker import SimulatedSession
from station.events import Listener, PointDone
from station.prompts import CONTINUE
from station.runfile.reader import RunFile

pytestmark = pytest.mark.gui

POINTS = 17  # keysight-34401a-dcv
SCREENSHOT = Path(os.environ.get("CALSTATION_GUI_SCREENSHOT", "/tmp/gui.png"))

Prompted = list[tuple[str, bool]]  # (window title, marked hazardous)


def click(qtbot, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def prompt_boxes(window: QWidget) -> list[QDialog]:
    """Prompt dialogs on screen, found as a user sees them: children of the window."""
    return [b for b in window.findChildren(QDialog)
            if b.isVisible() and b.objectName() in ("prompt", "hazardPrompt")]


def message_box(window: QWidget, name: str) -> QMessageBox | None:
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible() and b.objectName() == name]
    return boxes[0] if boxes else None


def confirm_abort(qtbot, view: RunView) -> None:
    """Abort, and answer its one question Yes."""
    click(qtbot, view.abort_button)
    qtbot.waitUntil(lambda: message_box(view, "abortConfirm") is not None)
    box = message_box(view, "abortConfirm")
    assert box is not None
    yes = box.button(QMessageBox.StandardButton.Yes)
    assert yes is not None
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)


def drive(qtbot, window: QWidget, until: Callable[[], bool], prompted: Prompted,
          answer: str = CONTINUE, timeout_s: float = 20.0) -> None:
    """Keep the event loop going; answer each prompt dialog by clicking
    ``answer`` on it, until ``until()`` holds."""
    deadline = time.monotonic() + timeout_s
    banner = window.findChild(QLabel, "banner")
    while not until():
        assert time.monotonic() < deadline, f"timed out; banner: {banner.text() if banner else ''!r}"
        for box in prompt_boxes(window):
            prompted.append((box.windowTitle(), bool(box.property("hazard"))))
            button = box.findChild(QPushButton, f"choice:{answer}")
            assert button is not None, f"no {answer} button on {box.windowTitle()!r}"
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.wait(5)


def finished(window: MainWindow | RunView) -> Callable[[], bool]:
    return lambda: window.outcome is not None and not window.running


def decisions(window: MainWindow) -> list[str]:
    m = window.model
    return [m.data(m.index(r, COL_DECISION)) for r in range(m.rowCount())]


def render_pdf_available() -> bool:
    try:
        importlib.import_module("station.certificates.pdf").render_pdf  # noqa: B018
    except (ImportError, AttributeError):
        return False
    return True


LONG = Path(__file__).resolve().parents[1] / "data" / "long_dcv.py"


def test_a_2000_point_run_keeps_every_point_in_the_table_and_the_plot(qtbot, make_window) -> None:
    """The long run the tester's window froze on: every point reaches the table and the plot."""
    n = 2000
    window, _ = make_window(pace=0.0, procedure=str(LONG), readings=2, settle_s=0.0, options={"points": n})
    click(qtbot, window.run_view.start_button)
    drive(qtbot, window, finished(window), [], timeout_s=120.0)
    outcome = window.outcome
    assert outcome is not None and outcome.status == "completed", window.banner.text()
    with RunFile(outcome.path) as rf:
        recorded = rf.points
    assert len(recorded) == n
    m = window.model
    assert m.rowCount() == n and m.counts() == (n, 0)
    assert decisions(window) == [p.decision.upper() for p in recorded] == ["PASS"] * n
    indication = COLUMNS.index("Indication")
    assert m.data(m.index(n - 1, indication)) == m.text(m.rows[n - 1], indication) != ""
    plotted = window.plot.points()
    assert [p.x for p in plotted] == list(range(1, n + 1))
    assert [p.y for p in plotted] == pytest.approx(
        [100.0 * r.error / r.tolerance for r in recorded], rel=1e-9, abs=1e-9)
    assert 0 < window.plot.drawn_count() <= 2 * window.plot.max_drawn
    x, _ = window.plot.drawn()
    assert n in x  # the last point is on screen
    assert window.run_view.progress.value() == n == window.run_view.progress.maximum()
    assert f"<b>{n}</b> pass" in window.run_view.summary_label.text()
    assert "Completed" in window.banner.text()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SCREENSHOT.with_name(f"{SCREENSHOT.stem}-{n}{SCREENSHOT.suffix}")))


def test_a_whole_run_through_the_window(qtbot, make_window) -> None:
    window, session = make_window(pace=0.0)
    assert not window.run_view.pause_button.isEnabled() and not window.run_view.abort_button.isEnabled()
    assert not window.run_view.certificate_button.isEnabled()

    click(qtbot, window.run_view.start_button)
    prompted: Prompted = []
    drive(qtbot, window, finished(window), prompted)

    # both prompts came as dialogs, the hazard one visibly marked
    assert prompted[0] == ("Connect the leads", False)
    assert prompted[1][1] is True and "HAZARDOUS VOLTAGE" in prompted[1][0]
    assert len(prompted) == 2

    assert window.outcome is not None and window.outcome.status == "completed"
    assert window.model.rowCount() == POINTS
    assert decisions(window) == ["PASS"] * POINTS
    assert window.plot.point_count() == POINTS and window.plot.drawn_count() == POINTS
    assert window.run_view.progress.value() == POINTS == window.run_view.progress.maximum()
    assert "Completed" in window.banner.text() and "PASS" in window.banner.text()

    run_path = window.outcome.path
    assert run_path.parent == session.out_dir
    with RunFile(run_path) as rf:
        assert rf.status == "completed"
        assert len(rf.points) == POINTS
        # the table shows what the run file holds
        assert [p.decision.upper() for p in rf.points] == decisions(window)
        answers = [text for _, kind, text in rf.events() if kind == "answer"]
        budgets = rf.budgets()
    # each row's tooltip is its point's budget, as recorded
    m = window.model
    for row in (0, POINTS - 1):
        tip = m.data(m.index(row, COL_DECISION), Qt.ItemDataRole.ToolTipRole)
        assert budgets[row] and all(c.name in tip and c.description in tip for c in budgets[row])
    assert answers == ["Connect the leads: Continue", "Hazardous voltage: Continue"]
    assert window.run_view.start_button.isEnabled() and not window.run_view.abort_button.isEnabled()

    if render_pdf_available():
        assert window.run_view.certificate_button.isEnabled()
        click(qtbot, window.run_view.certificate_button)
        pdf = run_path.with_suffix(".draft.pdf")

        def offer() -> QMessageBox | None:
            boxes = [b for b in window.findChildren(QMessageBox)
                     if b.isVisible() and b.objectName() == "certificateOffer"]
            return boxes[0] if boxes else None

        qtbot.waitUntil(lambda: offer() is not None, timeout=20_000)
        assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
        assert window.run_view.certificate_path == pdf
        box = offer()
        assert box is not None
        close = box.button(QMessageBox.StandardButton.Close)
        assert close is not None
        qtbot.mouseClick(close, Qt.MouseButton.LeftButton)  # do not launch a PDF viewer
        qtbot.waitUntil(lambda: offer() is None)
        assert "Draft certificate saved" in window.banner.text()

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SCREENSHOT))


@pytest.mark.skipif(not render_pdf_available(), reason="no certificate renderer")
def test_a_certificate_that_cannot_be_rendered_says_why(qtbot, make_window) -> None:
    window, _ = make_window(pace=0.0)
    click(qtbot, window.run_view.start_button)
    drive(qtbot, window, finished(window), [])
    assert window.outcome is not None and window.outcome.status == "completed"
    run_path = window.outcome.path
    run_path.write_bytes(run_path.read_bytes()[:4096])  # the run file damaged after the run
    click(qtbot, window.run_view.certificate_button)
    assert window.run_view.rendering and not window.run_view.certificate_button.isEnabled()
    qtbot.waitUntil(lambda: not window.run_view.rendering and "could not be rendered" in window.banner.text(),
                    timeout=30_000)
    assert str(run_path.name) in window.banner.text(), window.banner.text()
    assert not run_path.with_suffix(".draft.pdf").exists()
    assert window.run_view.certificate_button.isEnabled()  # try again, once the file is put right


class WithoutBudgets(SimulatedSession):
    """The demo, its points' events stripped of their budgets (as a resumed run's earlier points come)."""

    def make_engine(self, prompts, listeners):
        def strip(listener: Listener) -> Listener:
            return lambda e: listener(e._replace(budget=()) if isinstance(e, PointDone) else e)

        return super().make_engine(prompts, [strip(listener) for listener in listeners])


def test_budgets_no_event_carried_are_read_from_the_run_file(qtbot, make_window) -> None:
    window, _ = make_window(pace=0.0, session_type=WithoutBudgets)
    click(qtbot, window.run_view.start_button)
    drive(qtbot, window, finished(window), [])
    assert window.outcome is not None and window.outcome.status == "completed"
    with RunFile(window.outcome.path) as rf:
        budgets = rf.budgets()
    m = window.model
    for row in (0, POINTS - 1):
        tip = m.data(m.index(row, COL_DECISION), Qt.ItemDataRole.ToolTipRole)
        assert "run ends" not in tip
        assert budgets[row] and all(c.name in tip and c.description in tip for c in budgets[row])


def test_abort_mid_run_puts_the_calibrator_in_standby(qtbot, make_window) -> None:
    window, session = make_window(pace=0.02)  # ~1 s of real time for the run
    click(qtbot, window.run_view.start_button)
    prompted: Prompted = []
    drive(qtbot, window, lambda: len(window.model.results()) >= 3, prompted)
    assert session.station is not None
    calibrator = session.station.sim.calibrator
    assert calibrator.operating, "the calibrator should be sourcing mid-run"

    confirm_abort(qtbot, window.run_view)
    drive(qtbot, window, finished(window), prompted)

    outcome = window.outcome
    assert outcome is not None and outcome.status == "aborted"
    assert ABORT_REASON in outcome.reason
    assert 3 <= outcome.points < POINTS
    assert calibrator.operating is False
    assert calibrator.output_value == 0.0 or not calibrator.operating
    with RunFile(outcome.path) as rf:
        assert rf.status == "aborted"
        assert ABORT_REASON in rf.attrs["end_reason"]
        assert len(rf.points) == outcome.points
        kinds = [kind for _, kind, _ in rf.events()]
    assert "safe_state" in kinds
    shown = decisions(window)
    assert shown[:outcome.points] == ["PASS"] * outcome.points
    assert set(shown[outcome.points:]) == {"not measured"}
    assert "Aborted" in window.banner.text()
    assert not window.run_view.certificate_button.isEnabled()
    assert window.run_view.start_button.isEnabled()


def test_pause_holds_the_run_and_resume_continues_it(qtbot, make_window) -> None:
    window, session = make_window(pace=0.02)
    click(qtbot, window.run_view.start_button)
    prompted: Prompted = []
    drive(qtbot, window, lambda: len(window.model.results()) >= 2, prompted)

    click(qtbot, window.run_view.pause_button)
    qtbot.waitUntil(lambda: window.state == "paused")
    assert window.run_view.pause_button.text() == "&Resume"
    assert "Paused" in window.banner.text()
    qtbot.wait(150)  # the point in progress stops at its next checkpoint
    assert session.station is not None
    held_at, clock_at = len(window.model.results()), session.station.clock.now()
    qtbot.wait(400)
    assert len(window.model.results()) == held_at < POINTS
    assert session.station.clock.now() == clock_at  # nothing happens on the bench
    assert window.running

    click(qtbot, window.run_view.pause_button)  # now "Resume"
    qtbot.waitUntil(lambda: window.state == "running")
    assert window.run_view.pause_button.text() == "&Pause"
    drive(qtbot, window, finished(window), prompted)

    outcome = window.outcome
    assert outcome is not None and outcome.status == "completed"
    assert decisions(window) == ["PASS"] * POINTS
    with RunFile(outcome.path) as rf:
        assert rf.status == "completed" and len(rf.points) == POINTS
        kinds = [kind for _, kind, _ in rf.events()]
    assert "paused" in kinds and "continued" in kinds


def test_answering_abort_in_the_dialog_aborts_the_run(qtbot, make_window) -> None:
    window, session = make_window(pace=0.0)
    click(qtbot, window.run_view.start_button)
    prompted: Prompted = []
    drive(qtbot, window, finished(window), prompted, answer="Abort")
    assert prompted == [("Connect the leads", False)]
    assert window.outcome is not None and window.outcome.status == "aborted"
    assert "Connect the leads" in window.outcome.reason
    assert session.station is not None and not session.station.sim.calibrator.operating
    assert set(decisions(window)) == {"not measured"}


def test_a_session_that_cannot_start_says_why(qtbot, make_window, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    window, _ = make_window(pace=0.0, out_dir=blocker / "runs")
    click(qtbot, window.run_view.start_button)
    qtbot.waitUntil(lambda: window.state == "failed" and not window.running, timeout=20_000)
    text = window.banner.text()
    assert "did not start" in text and "could not be set up" in text and "not-a-folder" in text
    assert window.run_view.start_button.isEnabled() and window.outcome is None


class Watched(SimulatedSession):
    """The demo, noting the thread its engine is built on."""

    built_on: list[str] = []

    def make_engine(self, prompts, listeners):
        self.built_on.append(threading.current_thread().name)
        return super().make_engine(prompts, listeners)


def test_the_engine_is_built_off_the_gui_thread_and_an_early_abort_is_kept(qtbot, make_window) -> None:
    window, session = make_window(pace=0.0, session_type=Watched)
    click(qtbot, window.run_view.start_button)
    confirm_abort(qtbot, window.run_view)  # at once: the engine may not exist yet
    qtbot.waitUntil(lambda: not window.running and window.state in ("failed", "aborted"), timeout=20_000)
    assert Watched.built_on == ["calstation-engine"]
    assert "abort" in window.banner.text().lower(), window.banner.text()
    assert session.station is not None and not session.station.sim.calibrator.operating
    assert window.run_view.start_button.isEnabled()


class ExpiredStandard(SimulatedSession):
    """The demo, two years on: the calibrator's calibration has expired."""

    def make_engine(self, prompts, listeners):
        engine = super().make_engine(prompts, listeners)
        engine.today = dt.date.today() + dt.timedelta(days=800)
        return engine


def test_a_refused_plan_is_shown_and_nothing_is_energised(qtbot, make_window) -> None:
    window, session = make_window(pace=0.0, session_type=ExpiredStandard)
    click(qtbot, window.run_view.start_button)
    qtbot.waitUntil(lambda: window.state == "failed" and not window.running, timeout=20_000)
    text = window.banner.text()
    assert "did not start" in text and "plan refused" in text and "expired" in text
    assert window.outcome is None and not window.run_view.certificate_button.isEnabled()
    assert window.run_view.start_button.isEnabled()
    assert session.station is not None and not session.station.sim.calibrator.operating
    assert session.run_path is not None and not session.run_path.exists()


def test_closing_the_window_mid_run_aborts_to_the_safe_state_first(qtbot, make_window) -> None:
    window, session = make_window(pace=0.02)
    click(qtbot, window.run_view.start_button)
    prompted: Prompted = []
    drive(qtbot, window, lambda: len(window.model.results()) >= 2, prompted)

    def confirm() -> None:  # the "abort the run and close?" question, answered Yes
        boxes = [b for b in window.findChildren(QMessageBox)
                 if b.isVisible() and b.windowTitle() == "A run is in progress"]
        if not boxes:
            QTimer.singleShot(10, confirm)
            return
        yes = boxes[0].button(QMessageBox.StandardButton.Yes)
        assert yes is not None
        qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)

    QTimer.singleShot(10, confirm)
    window.close()
    assert window.isVisible(), "the window stays until the bench is safe"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    outcome = window.outcome
    assert outcome is not None and outcome.status == "aborted"
    assert "closed the calstation window" in outcome.reason
    assert session.station is not None and not session.station.sim.calibrator.operating
    with RunFile(outcome.path) as rf:
        assert rf.status == "aborted"


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM and SIGHUP are POSIX signals")
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_stop_signal_mid_run_aborts_to_the_safe_state_and_closes_the_window(
        qtbot, make_window, signame: str) -> None:
    import signal

    window, session = make_window(pace=0.02)
    restore = app.handle_stop_signals(window)
    try:
        click(qtbot, window.run_view.start_button)
        drive(qtbot, window, lambda: len(window.model.results()) >= 2, [])
        assert session.station is not None and session.station.sim.calibrator.operating
        os.kill(os.getpid(), getattr(signal, signame))  # what `kill PID` or a closed terminal sends
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    finally:
        restore()
    outcome = window.outcome
    assert outcome is not None and outcome.status == "aborted"
    assert signame in outcome.reason
    assert not session.station.sim.calibrator.operating
    assert session.station.sim.calibrator.output_value == 0.0
    with RunFile(outcome.path) as rf:
        assert rf.status == "aborted" and rf.verify().ok
        kinds = [k for _, k, _ in rf.events()]
    assert kinds.index("aborted") < kinds.index("safe_state") < kinds.index("finished")


_MAIN = """
import sys
from pathlib import Path
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication, QDialog, QPushButton
from gui import app
from gui.main_window import MainWindow

qapp = QApplication(sys.argv[:1])

def look() -> None:
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    dialogs = [d.objectName() for d in QApplication.topLevelWidgets() if isinstance(d, QDialog) and d.isVisible()]
    if shown and shown[0].register is not None and dialogs:
        print(len(shown), shown[0].windowTitle(), ",".join(sorted(dialogs)), shown[0].runs_dir)
        english = shown[0].findChild(QPushButton, "language:en")
        if english is not None:
            english.click()  # the first start: the language, once
        shown[0].close()  # the last window closed ends the event loop
    else:
        QTimer.singleShot(50, look)

QTimer.singleShot(50, look)
sys.exit(app.main([], simulated=True, out_dir=Path(sys.argv[1]), pace=0.0))
"""


def test_main_opens_the_window_with_its_demonstration_register(tmp_path: Path) -> None:
    """``calstation gui --simulated``: the window, the demonstration register
    made in the output folder (once), the language asked at the first start
    only, then the sign-in."""
    # In a process of its own: once QApplication.exec() has returned, Qt
    # refuses to start event loops in that process, which pytest-qt needs.
    out = tmp_path / "runs"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path / "home")}
    env.pop("CALSTATION_DB", None)
    root = Path(__file__).resolve().parents[2]
    first = subprocess.run([sys.executable, "-c", _MAIN, str(out)], capture_output=True, text=True,
                           timeout=120, env=env, cwd=root)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == f"1 calstation languageChoice {out}"
    from station.register import Register

    with Register.open(app.demo_register_url(out)) as reg:
        users = {u.name: u.role for u in reg.users()}
        assert users["wang.fang"] == "technician" and users["chen.jie"] == "signatory"
        assert {a.asset_id for a in reg.assets("dut")} >= {"SIM-DUT-34401A", "SIM-DUT-5522A", "SIM-DUT-TI"}
    assert (out / "keys" / "chen.jie.pem").is_file()
    again = subprocess.run([sys.executable, "-c", _MAIN, str(out)], capture_output=True, text=True,
                           timeout=120, env=env, cwd=root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"1 calstation signIn {out}"  # the language is kept


def test_an_out_of_tolerance_dut_shows_red(qtbot, make_window) -> None:
    from drivers.keysight.k34401a_sim import DutErrors

    window, _ = make_window(pace=0.0, bench_options={"dut": DutErrors(gain=80e-6)})
    click(qtbot, window.run_view.start_button)
    drive(qtbot, window, finished(window), [])
    outcome = window.outcome
    assert outcome is not None and outcome.status == "completed" and outcome.out_of_tolerance > 0
    shown = decisions(window)
    assert shown.count("FAIL") == outcome.out_of_tolerance
    with RunFile(outcome.path) as rf:
        assert [p.decision.upper() for p in rf.points] == shown
    failed = [p for p in window.plot.points() if not p.passed]
    assert len(failed) == outcome.out_of_tolerance and all(abs(p.y) > 100 for p in failed)
    assert "OUT OF TOLERANCE" in window.banner.text() and f"{outcome.out_of_tolerance}</b> fail" in window.run_view.summary_label.text()


def test_a_mixed_function_procedure_shows_each_function_in_its_unit(qtbot, make_window) -> None:
    window, session = make_window(pace=0.0, procedure="keysight-34401a-basic")
    from station import library

    title = library.load("keysight-34401a-basic").title
    assert window.windowTitle() == f"calstation: {title}: simulated bench"
    click(qtbot, window.run_view.start_button)
    drive(qtbot, window, finished(window), [])
    outcome = window.outcome
    assert outcome is not None and outcome.status == "completed", window.banner.text()
    m = window.model

    def cell(row: int, name: str) -> str:
        return str(m.data(m.index(row, COLUMNS.index(name))))

    with RunFile(outcome.path) as rf:
        plan = rf.plan
    assert [cell(r, "Function") for r in range(m.rowCount())] == [p.function for p in plan]
    units = {"DCV": "V", "ACV": "V", "DCI": "A", "R2W": "Ohm", "R4W": "Ohm"}
    for r, p in enumerate(plan):
        assert cell(r, "U").endswith(units[p.function]), (r, cell(r, "U"))
        if p.frequency > 0:
            assert cell(r, "Nominal").endswith("kHz") or cell(r, "Nominal").endswith(" Hz")
    ac = next(r for r, p in enumerate(plan) if p.function == "ACV")
    tip = m.data(m.index(ac, 0), Qt.ItemDataRole.ToolTipRole)
    assert "ACV" in tip and "DUT repeatability" in tip


# -- the run screen: asks once, holds, tells the time left, guides an adjustment -----------------------
def test_abort_asks_once_and_no_keeps_the_run_going(qtbot, make_window) -> None:
    window, session = make_window(pace=0.02)
    view = window.run_view
    click(qtbot, view.start_button)
    drive(qtbot, window, lambda: len(view.model.results()) >= 2, [])
    click(qtbot, view.abort_button)
    qtbot.waitUntil(lambda: message_box(view, "abortConfirm") is not None)
    box = message_box(view, "abortConfirm")
    assert box is not None and box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    no = box.button(QMessageBox.StandardButton.No)
    assert no is not None
    qtbot.mouseClick(no, Qt.MouseButton.LeftButton)
    held = len(view.model.results())
    drive(qtbot, window, lambda: len(view.model.results()) > held, [])  # it goes on
    assert view.running and view.state == "running"
    confirm_abort(qtbot, view)  # asked once more, answered Yes: the safe state at once
    drive(qtbot, window, finished(window), [])
    assert window.outcome is not None and window.outcome.status == "aborted"
    assert session.station is not None and not session.station.sim.calibrator.operating
    with RunFile(window.outcome.path) as rf:
        assert "safe_state" in [k for _, k, _ in rf.events()]


def test_pause_is_disabled_while_a_prompt_is_open(qtbot, make_window) -> None:
    window, _ = make_window(pace=0.0)
    view = window.run_view
    click(qtbot, view.start_button)
    qtbot.waitUntil(lambda: bool(prompt_boxes(window)), timeout=20_000)
    assert not view.pause_button.isEnabled() and view.abort_button.isEnabled()
    assert "Waiting for you" in view.banner.text()
    box = prompt_boxes(window)[0]
    button = box.findChild(QPushButton, f"choice:{CONTINUE}")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.pause_button.isEnabled() or not view.running, timeout=20_000)
    drive(qtbot, window, finished(window), [])


def test_the_time_left_is_shown_while_the_run_goes(qtbot, make_window) -> None:
    window, _ = make_window(pace=0.02)
    view = window.run_view
    click(qtbot, view.start_button)
    drive(qtbot, window, lambda: len(view.model.results()) >= 3, [])
    qtbot.waitUntil(lambda: "left" in view.eta_label.text())
    left = view.time_left()
    assert left is not None and 0 < left < 60
    assert view.eta_label.text() == "under a minute left"
    drive(qtbot, window, finished(window), [])
    assert view.eta_label.text() == "" and view.time_left() is None


def test_a_held_run_says_why_and_goes_on_by_itself(qtbot, make_window) -> None:
    """The room's air conditioning fails for ten minutes of bench time (+6 C):
    the screen says the run is held and why (the conditions the
    thermo-hygrometer reads), and the run goes on when the room is back."""
    excursion = [[30.0, 630.0, 6.0, 0.0]]
    window, _ = make_window(pace=0.002, bench_options={"options": {"ambient": {"excursions": excursion}}})
    view = window.run_view
    click(qtbot, view.start_button)
    drive(qtbot, window, lambda: view.state == "suspended" and "ambient" in view.banner.text(), [], timeout_s=60)
    text = view.banner.text()
    assert text.startswith("Held: the ambient conditions are outside the procedure's limits.")
    assert "29." in text and "outside 18 to 28 C" in text  # the reading, and the limits
    assert view.pause_button.isEnabled() and view.abort_button.isEnabled()
    drive(qtbot, window, finished(window), [], timeout_s=60)
    assert window.outcome is not None and window.outcome.status == "completed"
    with RunFile(window.outcome.path) as rf:
        kinds = [k for _, k, _ in rf.events()]
    assert kinds.index("suspended") < kinds.index("resumed")


def test_as_found_adjust_as_left_is_guided(qtbot, make_window) -> None:
    """A DMM 80 ppm high in gain: as found it fails; the screen shows the
    steps (as found, adjust, as left); the operator clicks Adjust on the
    procedure's prompt; every point is taken again as left and passes."""
    from drivers.keysight.k34401a_sim import DutErrors

    window, _ = make_window(pace=0.0, procedure="keysight-34401a-dcv-adjust",
                            bench_options={"dut": DutErrors(gain=80e-6)})
    view = window.run_view
    click(qtbot, view.start_button)
    phases: list[str] = []

    def at_adjust() -> bool:
        for box in prompt_boxes(window):
            if box.findChild(QPushButton, "choice:Adjust") is not None:
                phases.append(view.phase_label.text())
                return True
        return False

    drive(qtbot, window, at_adjust, [])
    assert "▶ Adjust" in phases[0] and view.phase_label.isVisible()
    drive(qtbot, window, finished(window), [], answer="Adjust")
    assert "▶ As left" in view.phase_label.text()
    outcome = window.outcome
    assert outcome is not None and outcome.status == "completed" and outcome.out_of_tolerance == 0
    with RunFile(outcome.path) as rf:
        found = [p for p in rf.points if p.phase == "as_found"]
        left = [p for p in rf.points if p.phase == "as_left"]
        events = rf.events()
    assert any(p.decision == "fail" for p in found) and left and all(p.decision == "pass" for p in left)
    assert any(k == "adjustment" and "adjusted" in m for _, k, m in events)


# -- 1366 x 768 -----------------------------------------------------------------------------------------------
#: What the window gets of a 1366x768 screen: less the desktop's panel and the window's title bar.
SMALL = (1366, 768 - 40 - 30)


def fully_shown(widget: QWidget, window: QWidget) -> bool:
    """Visible, inside the window, not cut by a parent, and as large as its text needs."""
    if not widget.isVisible():
        return False
    region = widget.visibleRegion().boundingRect()
    if region.width() < widget.width() or region.height() < widget.height():
        return False
    top_left = widget.mapTo(window, widget.rect().topLeft())
    inside = window.rect().contains(top_left) and window.rect().contains(
        widget.mapTo(window, widget.rect().bottomRight()))
    hint = widget.minimumSizeHint()
    return inside and widget.width() >= hint.width() and widget.height() >= hint.height()


def test_the_run_screen_fits_1366x768(qtbot, make_window) -> None:
    window, _ = make_window(pace=0.0)
    window.resize(*SMALL)
    qtbot.waitUntil(lambda: window.size().width() == SMALL[0])
    assert window.minimumSizeHint().width() <= SMALL[0] and window.minimumSizeHint().height() <= SMALL[1]
    view = window.run_view
    click(qtbot, view.start_button)
    drive(qtbot, window, lambda: len(view.model.results()) >= 3, [])
    for widget in (view.start_button, view.pause_button, view.abort_button, view.review_button,
                   view.certificate_button, view.banner, view.progress, view.table.viewport(), view.plot.widget.viewport()):
        assert fully_shown(widget, window), widget.objectName()
    for button in (view.pause_button, view.abort_button, view.certificate_button, view.review_button):
        text = button.text().replace("&", "")
        assert button.fontMetrics().horizontalAdvance(text) < button.width(), text  # no text cut
    header = view.table.horizontalHeader()
    viewport = view.table.viewport()
    assert header is not None and viewport is not None
    right = header.sectionViewportPosition(COL_DECISION) + header.sectionSize(COL_DECISION)
    assert 0 <= header.sectionViewportPosition(COL_DECISION) and right <= viewport.width()  # no scrolling to it
    drive(qtbot, window, finished(window), [])


_FIT = """
import json, sys
from PyQt6.QtWidgets import QApplication
from gui.main_window import MainWindow

app = QApplication(sys.argv[:1])
window = MainWindow()
window.show()
app.processEvents()
area = app.primaryScreen().availableGeometry()
frame = window.frameGeometry()
print(json.dumps({"area": [area.width(), area.height()], "size": [window.width(), window.height()],
                  "frame": [frame.x(), frame.y(), frame.width(), frame.height()]}))
"""


@pytest.mark.parametrize("screen", [(1366, 768), (1920, 1200)])
def test_the_window_opens_at_the_screens_size_or_its_preferred_one(tmp_path: Path, screen: tuple[int, int]) -> None:
    """On an offscreen screen of that size (with the window's frame): at most
    the screen's available area; the preferred 1480x920 where there is room."""
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"windowFrameMargins": True, "screens": [{
        "name": "s", "x": 0, "y": 0, "width": screen[0], "height": screen[1], "logicalDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    done = subprocess.run([sys.executable, "-c", _FIT], capture_output=True, text=True, timeout=60, env=env,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.splitlines()[-1])
    x, y, w, h = got["frame"]
    assert x >= 0 and y >= 0 and x + w <= got["area"][0] and y + h <= got["area"][1]
    if screen == (1920, 1200):
        assert got["size"] == [1480, 920]
    else:
        assert got["size"][0] >= 1300 and got["size"][1] >= 680  # all the screen it can have


# -- no display ------------------------------------------------------------------------------------------------
def _no_display_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "CALSTATION_DB")}
    return {**env, **extra}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY and WAYLAND_DISPLAY are Linux's")
@pytest.mark.parametrize("extra", [{}, {"DISPLAY": ":987"}, {"QT_QPA_PLATFORM": "xcb"},
                                   {"QT_QPA_PLATFORM": "wayland"}])
def test_calstation_gui_without_a_display_says_what_to_do_in_one_line(
        tmp_path: Path, calstation_cmd: list[str], extra: dict[str, str]) -> None:
    """No DISPLAY (or one no X server answers, or Qt's xcb libraries
    missing): one line saying what is missing and what to do, exit code 1;
    never Qt's own abort (exit code 134 and a core dump)."""
    env = _no_display_env(HOME=str(tmp_path), **extra)
    done = subprocess.run([*calstation_cmd, "gui", "--simulated", "--out", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1, (done.returncode, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("calstation: error: ") and "QT_QPA_PLATFORM=offscreen" in line
    assert "display" in line.lower() or "DISPLAY" in line
    assert not (tmp_path / "runs").exists()  # nothing was made before it said so


def test_display_problem_reads_the_environment() -> None:
    assert app.display_problem({}, "linux") == app.NO_DISPLAY
    assert app.display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") == ""
    assert app.display_problem({"QT_QPA_PLATFORM": "minimal:foo"}, "linux") == ""
    assert app.display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") == ""
    assert app.display_problem({"QT_QPA_PLATFORM": "wayland"}, "linux") == app.NO_DISPLAY
    assert app.display_problem({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux") == app.NO_DISPLAY
    assert app.display_problem({}, "win32") == "" and app.display_problem({}, "darwin") == ""
    assert "not an X display name" in app.display_problem({"DISPLAY": "nonsense"}, "linux") or \
        "xcb" in app.display_problem({"DISPLAY": "nonsense"}, "linux")
