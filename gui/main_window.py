"""The run window: start a calibration, watch it, answer its prompts, get
the certificate.

Everything the window shows while a run goes comes from engine events,
handed over to the GUI thread by `gui.worker.RunWorker`, which also builds
the engine on the run's own thread. Each event costs the window the same
at any point of a long run: it changes the point's row of the table and
appends to the plot; the labels, the progress bar and the table's
scrolling are brought up to date together at most every `REFRESH_MS`, the
plot at most every `ErrorPlot.REDRAW_MS` (apart, so that the two redraws
seldom fall in one turn of the event loop).
The run file is opened only once its run has ended (the engine has closed
it): on the run's thread, to read the uncertainty budgets of points that
came without theirs (a resumed run's earlier points), for the results'
tooltips; and by the certificate renderer, ``calstation certificate`` in a process of its
own (`QProcess`), so that rendering never holds the window.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import sys
from pathlib import Path

from PyQt6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer, QUrl
from PyQt6.QtGui import QCloseEvent, QDesktopServices, QFont
from PyQt6.QtWidgets import (
    QApplication,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import ErrorPlot, ResultsModel, ResultsTable, choice_of, prompt_dialog
from gui.worker import WINDOW_AT_WORK, PromptRequest, RunSession, RunWorker, queued
from station.certificates.numbers import format_frequency, format_level
from station.engine import RunOutcome
from station.events import (
    Message,
    PlanChecked,
    PointDone,
    PointStarted,
    RunFinished,
    RunStarted,
    StateChanged,
)
from station.metrology.decision import NOT_CONFORMING
from station.metrology.result import PointResult

ABORT_REASON = "aborted by the operator from the GUI"
LOG_LINES = 2000  # the operator log keeps this many lines
REFRESH_MS = 80  # the labels, progress bar and scrolling follow the run at most this often
CERTIFICATE_WAIT_MS = 10_000  # closing the window waits this long for a certificate being rendered

_BANNER = {
    "idle": ("#eceff1", "#263238"),
    "running": ("#e3f2fd", "#0d47a1"),
    "paused": ("#fff8e1", "#e65100"),
    "aborting": ("#fff3e0", "#bf360c"),
    "completed": ("#2e7d32", "#ffffff"),
    "completed-fail": ("#c62828", "#ffffff"),
    "aborted": ("#ef6c00", "#ffffff"),
    "failed": ("#b71c1c", "#ffffff"),
}


class MainWindow(QMainWindow):
    """The calibration run window over a `RunSession`."""

    def __init__(self, session: RunSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.worker = RunWorker(session, self)
        self.outcome: RunOutcome | None = None
        self.run_path: Path | None = None
        self.certificate_path: Path | None = None
        self.state = "idle"
        self._total = 0
        self._done = 0
        self._dialogs: dict[PromptRequest, QMessageBox] = {}
        self._close_when_done = False
        self._current: PointStarted | None = None  # the point being taken, for the status line
        self._fitted = False  # the table's columns measured against a taken point, this run
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh)
        self._certificate = QProcess(self)
        self._certificate.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._certificate.finished.connect(self._on_certificate_finished)
        self._certificate.errorOccurred.connect(self._on_certificate_process_error)

        self.setWindowTitle(f"calstation: {session.title}")
        self.resize(1480, 920)
        self._build()

        # The worker emits these on this (the GUI) thread, in batches: no second queue.
        self.worker.engine_event.connect(self._on_event)
        self.worker.prompt.connect(self._on_prompt)
        queued(self.worker.finished, self._on_finished)
        queued(self.worker.failed, self._on_failed)
        self._set_controls()
        self._banner("idle", "Ready. Press Start to run the calibration.")

    # -- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(10, 8, 10, 8)
        outer.setSpacing(8)

        top = QHBoxLayout()
        info = QFormLayout()
        info.setHorizontalSpacing(12)
        info.setVerticalSpacing(2)
        for label, text in self.session.details():
            value = QLabel(text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            info.addRow(QLabel(f"<b>{label}</b>"), value)
        self.run_file_label = QLabel("not started")
        self.run_file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        info.addRow(QLabel("<b>Run file</b>"), self.run_file_label)
        top.addLayout(info, stretch=1)

        buttons = QVBoxLayout()
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        self.start_button = self._button("Start", "Check the plan and run every point", "#2e7d32")
        self.pause_button = self._button("Pause", "Hold the run at the next checkpoint", "#546e7a")
        self.abort_button = self._button(
            "Abort", "Stop the run: every source goes to standby, the run file says aborted", "#c62828")
        self.certificate_button = self._button(
            "Certificate…", "Render the PDF certificate next to the run file", "#1565c0")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.abort_button.clicked.connect(self.abort)
        self.certificate_button.clicked.connect(self.make_certificate)
        row1.addWidget(self.start_button)
        row1.addWidget(self.pause_button)
        row2.addWidget(self.abort_button)
        row2.addWidget(self.certificate_button)
        buttons.addLayout(row1)
        buttons.addLayout(row2)
        buttons.addStretch(1)
        top.addLayout(buttons)
        outer.addLayout(top)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setMinimumHeight(38)
        font = QFont(self.banner.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.banner.setFont(font)
        outer.addWidget(self.banner)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m points")
        self.progress.setTextVisible(True)
        self.status_label = QLabel("")
        self.status_label.setMinimumWidth(520)
        self.summary_label = QLabel("")
        progress_row.addWidget(self.progress, stretch=2)
        progress_row.addWidget(self.status_label, stretch=3)
        progress_row.addWidget(self.summary_label)
        outer.addLayout(progress_row)

        self.model = ResultsModel(self)
        self.table = ResultsTable(self.model)

        self.plot = ErrorPlot()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setPlaceholderText("Operator log: prompts, answers, pause, abort, messages")

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.plot)
        lower.addWidget(self.log)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setSizes([880, 560])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setSizes([500, 330])
        outer.addWidget(split, stretch=1)

        self.setCentralWidget(central)

    def _button(self, text: str, tip: str, color: str) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.setMinimumSize(130, 40)
        b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        b.setStyleSheet(
            f"QPushButton {{ background: {color}; color: white; font-weight: bold; "
            f"border-radius: 4px; padding: 6px 14px; }}"
            "QPushButton:disabled { background: #cfd8dc; color: #90a4ae; }"
        )
        return b

    # -- controls --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker.running

    def start(self) -> None:
        if self.running:
            return
        self.outcome = None
        self.run_path = None
        self.certificate_path = None
        self._current = None
        self._fitted = False
        self._refresh_timer.stop()
        self.model.clear()
        self.plot.clear()
        self.log.clear()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.summary_label.setText("")
        self.status_label.setText("")
        self.run_file_label.setText("checking the plan…")
        self.state = "running"
        self._banner("running", "Checking the plan: identifying the instruments…")
        self._log("start requested")
        try:
            self.worker.start()  # the engine is built on the run's thread: failures come as `failed`
        except Exception as e:  # no thread: say so, stay usable
            self.state = "idle"
            self._banner("failed", f"Cannot start: {e}")
        self._set_controls()

    def toggle_pause(self) -> None:
        if self.state == "paused":
            self.worker.resume()
        elif self.state == "running":
            self.worker.pause()

    def abort(self) -> None:
        if self.running and self.state != "aborting":
            self.worker.abort(ABORT_REASON)

    def _set_controls(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running and not self._close_when_done)
        self.pause_button.setEnabled(running and self.state in ("running", "paused"))
        self.pause_button.setText("Resume" if self.state == "paused" else "Pause")
        self.abort_button.setEnabled(running and self.state != "aborting")
        self.certificate_button.setEnabled(
            not running and self.outcome is not None and self.outcome.status == "completed"
            and not self.rendering)

    def _banner(self, kind: str, text: str) -> None:
        bg, fg = _BANNER[kind]
        self.banner.setStyleSheet(
            f"QLabel {{ background: {bg}; color: {fg}; padding: 6px 10px; border-radius: 4px; }}")
        self.banner.setText(text)

    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{dt.datetime.now():%H:%M:%S}  {text}")

    # -- engine events (GUI thread) -------------------------------------------------------
    def _on_event(self, event: object) -> None:
        if isinstance(event, PointDone):  # the most frequent first
            self.model.set_result(event.result, event.budget)
            self.plot.add(event.result)
            self._done, self._total = event.done, event.total
            if not self._fitted:  # the columns, against the first point taken
                self._fitted = True
                self.table.fit([0, event.result.index])
            if event.result.decision in NOT_CONFORMING:
                self._log(f"point {event.result.index + 1} is OUT OF TOLERANCE")
            self._later()
        elif isinstance(event, PointStarted):
            self.model.mark_measuring(event.index)
            self._current = event
            self._later()
        elif isinstance(event, RunStarted):
            self.run_path = Path(event.path)
            self.run_file_label.setText(event.path)
            self._total = len(event.points)
            self._done = len(event.completed)
            self.model.start(event.points, event.completed)
            self.table.fit([0])
            self.plot.start(event.points)
            self._refresh()
            self._log(f"run started: {event.procedure}, {self._total} points -> {event.path}")
        elif isinstance(event, PlanChecked):
            self.model.set_planned_tur(event.tur)
            worst = min(event.tur) if event.tur else float("nan")
            self._log(f"plan checked; lowest planned TUR {worst:.1f}")
            self._banner("running", "Running.")
        elif isinstance(event, StateChanged):
            self._on_state(event.state)
        elif isinstance(event, Message):
            self._log(event.text)
        elif isinstance(event, RunFinished):
            self._log(f"run finished: {event.status}: {event.reason}")

    def _later(self) -> None:
        """Bring the labels, the progress bar, the scrolling and the plot up to date soon."""
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh(self) -> None:
        with WINDOW_AT_WORK.working():
            self._bring_up_to_date()

    def _bring_up_to_date(self) -> None:
        self._refresh_timer.stop()
        self.progress.setRange(0, max(1, self._total))
        self.progress.setValue(self._done)
        self._summary()
        current = self._current
        if current is not None:
            self._current = None
            p = current.point
            self.table.scrollTo(self.model.index(current.index, 0))
            at = f" at {format_frequency(p.frequency)}" if p.frequency > 0 else ""
            on = f" on the {format_level(p.range, p.unit, p.range)} range" if p.range > 0 else ""
            self.status_label.setText(
                f"Point {current.index + 1} of {self._total}: {p.function} "
                f"{format_level(p.nominal, p.unit, p.range)}{at}{on}, applying and reading…")

    def _on_state(self, state: str) -> None:
        if not self.running:
            return
        self.state = state
        if state == "paused":
            self._banner("paused", "Paused. The sources keep their output; press Resume to go on, "
                                   "or Abort to put them in standby.")
            self._log("paused by the operator")
        elif state == "running":
            self._banner("running", "Running.")
            self._log("running again")
        elif state == "suspended":
            self._banner("paused", "Held: the ambient conditions are outside the procedure's limits. The "
                                   "run goes on by itself when they return; Abort puts the sources in standby.")
        elif state == "aborting":
            self._banner("aborting", "Aborting: putting every source in standby…")
            self._log(ABORT_REASON if not self._close_when_done else "aborting: the window is closing")
        self._set_controls()

    def _summary(self) -> None:
        taken, fails = self.model.counts()
        text = (f"<b>{taken - fails}</b> pass, <b style='color:#c62828'>{fails}</b> fail" if fails
                else f"<b>{taken}</b> pass" if taken else "")
        if text != self.summary_label.text():
            self.summary_label.setText(text)

    def _on_finished(self, outcome: RunOutcome) -> None:
        self.outcome = outcome
        self.run_path = outcome.path
        self.state = outcome.status
        self._refresh()
        self.plot.flush()  # the last points, drawn now
        self.model.finish()
        if self.worker.budgets:  # those of a resumed run's earlier points, read on the run's thread
            self.model.set_budgets(self.worker.budgets)
        if self.worker.budget_error:
            self._log(f"the uncertainty budgets could not be read from the run file: "
                      f"{self.worker.budget_error}")
        self.status_label.setText("")
        self._close_prompts()
        results: list[PointResult] = self.model.results()
        fails = sum(1 for r in results if r.decision == "fail")
        if outcome.status == "completed":
            verdict = (f"all {len(results)} points PASS" if not fails
                       else f"{fails} of {len(results)} points OUT OF TOLERANCE")
            self._banner("completed-fail" if fails else "completed",
                         f"Completed: {verdict}. Run file: {outcome.path.name}")
        elif outcome.status == "aborted":
            self._banner("aborted", f"Aborted ({outcome.reason}) after {outcome.points} of "
                                    f"{self._total} points. The sources are in standby.")
        else:
            self._banner("failed", f"Failed: {outcome.reason}")
        self._set_controls()
        if self._close_when_done:
            self.close()

    def _on_failed(self, message: str) -> None:
        self.state = "failed"
        self._refresh()
        self.plot.flush()
        self.status_label.setText("")
        self.model.finish()
        self._close_prompts()
        self.run_file_label.setText("no run file written" if self.run_path is None else str(self.run_path))
        self._banner("failed", f"The run did not start: {message}")
        self._log(message)
        self._set_controls()
        if self._close_when_done:
            self.close()

    # -- prompts (GUI thread) ------------------------------------------------------------------
    def _on_prompt(self, request: PromptRequest) -> None:
        if request.answered:  # answered Abort while it was on its way
            return
        prompt = request.prompt
        self._refresh()  # the point that asks, on the status line; then the question over it
        box = prompt_dialog(prompt, self)
        self._dialogs[request] = box
        self._log(("HAZARD PROMPT: " if prompt.hazard else "prompt: ") + prompt.title)
        self.status_label.setText(f"Waiting for the operator: {prompt.title}")
        self._banner("paused", f"Waiting for you: {prompt.title}. The run goes on when you answer.")

        def answered(_: int) -> None:
            choice = choice_of(box, prompt)
            self._dialogs.pop(request, None)
            if request.answer(choice):
                self._log(f"answer to {prompt.title!r}: {choice}")
            if self.state == "running" and self.running:
                self._banner("running", "Running.")
            box.deleteLater()

        box.finished.connect(answered)
        box.open()
        QApplication.alert(self)

    def open_prompts(self) -> list[QMessageBox]:
        """The prompt dialogs now on screen."""
        return [b for b in self._dialogs.values() if b.isVisible()]

    def _close_prompts(self) -> None:
        for request, box in list(self._dialogs.items()):
            request.cancel()
            box.done(0)
        self._dialogs.clear()

    # -- certificate ------------------------------------------------------------------------
    @property
    def rendering(self) -> bool:
        """A certificate is being rendered."""
        return self._certificate.state() != QProcess.ProcessState.NotRunning

    def make_certificate(self) -> None:
        """Render the certificate next to the run file: ``calstation
        certificate RUNFILE -o PDF`` in a process of its own, so that the
        window goes on answering (and no lock of this process is held)."""
        if self.outcome is None or self.outcome.status != "completed" or self.rendering:
            return
        if importlib.util.find_spec("station.certificates.pdf") is None:
            QMessageBox.information(
                self, "Certificate", "The certificate renderer (station.certificates.pdf) is not "
                "installed in this calstation. The run file is complete: render it later with "
                "`calstation certificate RUNFILE`.")
            return
        run_path = self.outcome.path
        pdf_path = run_path.with_suffix(".pdf")
        self.certificate_path = pdf_path
        self._banner("running", f"Rendering the certificate {pdf_path.name}…")
        env = QProcessEnvironment.systemEnvironment()
        # The child imports this calstation, wherever it was imported from.
        here = str(Path(__file__).resolve().parents[1])
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (here, env.value("PYTHONPATH")) if p))
        self._certificate.setProcessEnvironment(env)
        self._certificate.start(sys.executable, ["-m", "station.cli", "certificate", str(run_path),
                                                 "-o", str(pdf_path)])
        self._set_controls()

    def _on_certificate_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        pdf_path = self.certificate_path
        errors = bytes(self._certificate.readAllStandardError().data()).decode("utf-8", "replace")
        self._certificate.readAllStandardOutput()
        if status == QProcess.ExitStatus.NormalExit and code == 0 and pdf_path is not None \
                and pdf_path.is_file():
            self._on_certificate_done(pdf_path)
            return
        lines = [line.strip() for line in errors.splitlines() if line.strip()]
        why = lines[-1] if lines else (f"the renderer ended with exit code {code}"
                                       if status == QProcess.ExitStatus.NormalExit
                                       else "the renderer crashed")
        self._on_certificate_error(why)

    def _on_certificate_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._on_certificate_error(f"the renderer did not start ({sys.executable}: "
                                       f"{self._certificate.errorString()})")

    def _on_certificate_done(self, pdf_path: Path) -> None:
        self._set_controls()
        self._banner("completed", f"Certificate saved: {pdf_path}")
        self._log(f"certificate rendered: {pdf_path}")
        box = QMessageBox(QMessageBox.Icon.Information, "Certificate",
                          f"The certificate was saved as\n{pdf_path}\n\nOpen it now?",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Close, self)
        box.setObjectName("certificateOffer")
        box.setDefaultButton(QMessageBox.StandardButton.Open)

        def done(result: int) -> None:
            if box.clickedButton() is box.button(QMessageBox.StandardButton.Open):
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(pdf_path)))
            box.deleteLater()

        box.finished.connect(done)
        box.open()

    def _on_certificate_error(self, message: str) -> None:
        self._set_controls()
        self._banner("failed", f"The certificate could not be rendered: {message}")
        self._log(f"certificate failed: {message}")

    # -- closing ----------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Close the window without asking (a stop signal: SIGTERM, SIGHUP,
        Ctrl-C in the terminal that started it): a run in progress is
        aborted, goes through the safe state, and the window closes then."""
        if self.running and not self._close_when_done:
            self._close_when_done = True
            self.worker.abort(f"the calstation window was stopped: {reason}")
            self._close_prompts()
            self._set_controls()
        self.close()

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt's name
        assert event is not None
        if not self.running:
            if self.rendering:  # let the certificate be written whole, if it comes soon
                self._certificate.waitForFinished(CERTIFICATE_WAIT_MS)
                if self.rendering:
                    self._certificate.kill()
                    self._certificate.waitForFinished(1000)
            event.accept()
            return
        if not self._close_when_done:
            answer = QMessageBox.question(
                self, "A run is in progress",
                "Abort the run and close? Every source is put in standby first.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self._close_when_done = True
            self.worker.abort("the operator closed the calstation window")
            self._close_prompts()
            self._set_controls()
        event.ignore()  # closes itself once the bench is safe (_on_finished)
