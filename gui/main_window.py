"""The station's window: sign in, then Home; New calibration; the run
screen; Review; Certificate; Register, one view at a time in a stack, with
a side bar (and Ctrl+1 ... Ctrl+6) to move between them.

`RunView` is the run screen. Everything it shows while a run goes comes
from engine events, handed over to the GUI thread by `gui.worker.RunWorker`,
which also builds the engine on the run's own thread. Each event costs the
screen the same at any point of a long run: it changes the point's row of
the table and appends to the plot; the labels, the progress bar (with the
time left) and the table's scrolling are brought up to date together at
most every `REFRESH_MS`, the plot at most every `ErrorPlot.REDRAW_MS`
(apart, so that the two redraws seldom fall in one turn of the event loop).
The run file is opened only once its run has ended (the engine has closed
it): on the run's thread, to read the uncertainty budgets of points that
came without theirs (a resumed run's earlier points), for the results'
tooltips; and by the draft certificate's renderer, ``calstation
certificate`` in a process of its own (`QProcess`), so that rendering never
holds the window.

`MainWindow` holds the views and the flow between them: a completed run is
entered in the register as its technician (off the GUI thread), and Review
hands the station to a signatory, who signs in (the run's own technician
cannot approve it); an approved certificate opens in the Certificate view.
An interrupted run is resumed from its file (File > Resume..., or from Home).
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QProcess, QProcessEnvironment, QSize, Qt, QTimer, QUrl, pyqtSignal
from PyQt6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeySequence,
)
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gui import i18n
from gui.i18n import tr
from gui.widgets import (
    ErrorPlot,
    PromptDialog,
    ResultsModel,
    ResultsTable,
    choice_of,
    prompt_dialog,
    tr_later,
    tr_or_same,
)
from gui.worker import (
    DEMO_PACE,
    WINDOW_AT_WORK,
    BackgroundTask,
    CalibrationSession,
    PromptRequest,
    ResumeSession,
    RunSession,
    RunWorker,
    queued,
)
from station.certificates.numbers import format_frequency, format_level
from station.engine import RunOutcome
from station.errors import CalstationError, ConfigError, one_line
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
#: The window's size where the screen has room for it; smaller screens get what they have.
PREFERRED_SIZE = QSize(1480, 920)
#: What the window frame and a task bar take, before the window is shown and its frame known.
DECORATION = QSize(16, 40)
#: The run screen's details (procedure, item, standards, ...) take at most this height; then they scroll.
DETAILS_HEIGHT = 150

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

#: The labels sessions give their details under (`RunSession.details`), translated where shown.
DETAIL_LABELS = (
    tr_later("Procedure"), tr_later("DUT"), tr_later("Customer"), tr_later("Operator"),
    tr_later("Bench"), tr_later("Standard"), tr_later("Ambient"), tr_later("Reference"),
    tr_later("Well"), tr_later("Standards"), tr_later("Conditions"), tr_later("Decision rule"),
    tr_later("Output folder"), tr_later("Resuming"),
)

Text = Callable[[], str]  # a text made again in the window's language when it changes


def _fixed(text: str) -> Text:
    return lambda: text


# == the run screen ================================================================================
class RunView(QWidget):
    """The run screen over a `RunSession`: Start, Pause/Resume, Abort, the
    results table, the error plot, the operator log, prompts as dialogs, the
    draft certificate, and Review once the run is in the register.

    ``on_event``, ``on_finished``, ``on_failed``: what handles the worker's
    signals (the main window passes its own, which call `on_event`,
    `on_finished`, `on_failed` here); by default this view's own."""

    #: A completed (or ended) run's outcome, after the screen shows it.
    runEnded = pyqtSignal(object)  # noqa: N815 - Qt's naming
    #: Review was asked for the run in this file.
    reviewRequested = pyqtSignal(Path)  # noqa: N815
    #: The screen wants the window closed (a stop signal, or closing once the bench is safe).
    closeRequested = pyqtSignal()  # noqa: N815

    def __init__(self, session: RunSession | None = None, parent: QWidget | None = None, *,
                 on_event: Callable[[object], None] | None = None,
                 on_finished: Callable[[RunOutcome], None] | None = None,
                 on_failed: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runView")
        self.session: RunSession = session if session is not None else _NoSession()
        self.worker = RunWorker(self.session, self)
        self.outcome: RunOutcome | None = None
        self.run_path: Path | None = None
        self.certificate_path: Path | None = None
        self.state = "idle"
        self.review_ready = False  # the run is in the register: it can be reviewed
        self.close_when_done = False
        self._total = 0
        self._done = 0
        self._dialogs: dict[PromptRequest, PromptDialog] = {}
        self._current: PointStarted | None = None  # the point being taken, for the status line
        self._fitted = False  # the table's columns measured against a taken point, this run
        self._banner_kind = "idle"
        self._banner_text: Text = _fixed("")
        self._status_text: Text = _fixed("")
        self._point_text: Text = _fixed("")  # the point being taken, as the status line says it
        self._note: Text = _fixed("")
        self._suspended_why = ""
        # the time left: measured over this session's points, without the time held
        self._t_started = 0.0
        self._held_since: float | None = None
        self._held_s = 0.0
        self._session_done = 0
        self._phases = False  # the procedure has as-left points: as found, adjust, as left
        self._phase = ""
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh)
        self._certificate = QProcess(self)
        self._certificate.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._certificate.finished.connect(self._on_certificate_finished)
        self._certificate.errorOccurred.connect(self._on_certificate_process_error)
        self._abort_box: QMessageBox | None = None

        self._build()
        # The worker emits these on this (the GUI) thread, in batches: no second queue.
        self.worker.engine_event.connect(on_event or self.on_event)
        self.worker.prompt.connect(self._on_prompt)
        queued(self.worker.finished, on_finished or self.on_finished)
        queued(self.worker.failed, on_failed or self.on_failed)
        self._built = True
        self.retranslate()
        self._banner("idle", lambda: tr("Ready. Press Start to run the calibration."))
        self._set_controls()

    # -- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 8, 10, 8)
        outer.setSpacing(6)

        top = QHBoxLayout()
        self.info = QWidget()
        self.info_layout = QGridLayout(self.info)
        self.info_layout.setContentsMargins(0, 0, 0, 0)
        self.info_layout.setHorizontalSpacing(10)
        self.info_layout.setVerticalSpacing(2)
        self._info_labels: list[tuple[QLabel, str]] = []
        self.run_file_label = QLabel()
        self.run_file_label.setObjectName("runFile")
        self.run_file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_file_caption = QLabel()
        scroll = QScrollArea()
        scroll.setObjectName("details")
        scroll.setWidget(self.info)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setMaximumHeight(DETAILS_HEIGHT)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details = scroll
        self._fill_details()
        top.addWidget(scroll, stretch=1)

        buttons = QGridLayout()
        buttons.setSpacing(6)
        self.start_button = self._button("startButton", "#2e7d32")
        self.pause_button = self._button("pauseButton", "#546e7a")
        self.abort_button = self._button("abortButton", "#c62828")
        self.review_button = self._button("reviewButton", "#6a1b9a")
        self.certificate_button = self._button("certificateButton", "#1565c0")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.abort_button.clicked.connect(self.ask_abort)
        self.review_button.clicked.connect(self._review_clicked)
        self.certificate_button.clicked.connect(self.make_certificate)
        buttons.addWidget(self.start_button, 0, 0)
        buttons.addWidget(self.pause_button, 0, 1)
        buttons.addWidget(self.abort_button, 0, 2)
        buttons.addWidget(self.review_button, 1, 0, 1, 2)
        buttons.addWidget(self.certificate_button, 1, 2)
        self.review_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        top.addLayout(buttons)
        outer.addLayout(top)

        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        font = QFont(self.banner.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.banner.setFont(font)
        # two lines at least: a long run file name wraps, and the text must never be cut
        self.banner.setMinimumHeight(2 * QFontMetrics(font).lineSpacing() + 12)
        self.banner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        outer.addWidget(self.banner)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(160)
        self.eta_label = QLabel("")
        self.eta_label.setObjectName("timeLeft")
        self.phase_label = QLabel("")
        self.phase_label.setObjectName("phases")
        self.phase_label.setTextFormat(Qt.TextFormat.RichText)
        self.phase_label.hide()
        self.status_label = QLabel("")
        self.status_label.setObjectName("status")
        self.status_label.setMinimumWidth(360)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("summary")
        progress_row.addWidget(self.progress, stretch=2)
        progress_row.addWidget(self.eta_label)
        progress_row.addWidget(self.phase_label)
        progress_row.addWidget(self.status_label, stretch=3)
        progress_row.addWidget(self.summary_label)
        outer.addLayout(progress_row)

        self.model = ResultsModel(self)
        self.table = ResultsTable(self.model)
        self.table.setObjectName("results")

        self.plot = ErrorPlot()
        self.log = QPlainTextEdit()
        self.log.setObjectName("log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.plot)
        lower.addWidget(self.log)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setSizes([800, 480])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setSizes([420, 300])
        split.setChildrenCollapsible(False)
        self.table.setMinimumHeight(140)
        self.plot.setMinimumHeight(120)
        outer.addWidget(split, stretch=1)

    def _button(self, name: str, color: str) -> QPushButton:
        b = QPushButton()
        b.setObjectName(name)
        b.setMinimumSize(120, 36)
        b.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        b.setStyleSheet(
            f"QPushButton {{ background: {color}; color: white; font-weight: bold; "
            f"border-radius: 4px; padding: 6px 12px; }}"
            "QPushButton:disabled { background: #cfd8dc; color: #90a4ae; }"
            "QPushButton:focus { border: 2px solid #ffca28; }"
        )
        return b

    def _fill_details(self) -> None:
        """The session's details, two (label, text) pairs a row, and the run file."""
        layout = self.info_layout
        while layout.count():
            item = layout.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None and w not in (self.run_file_label, self.run_file_caption):
                w.deleteLater()
        self._info_labels = []
        try:
            lines = self.session.details()
        except CalstationError as e:
            lines = [("Procedure", one_line(e))]
        pairs: list[tuple[QLabel, QLabel]] = []
        for label, text in lines:
            caption = QLabel()
            self._info_labels.append((caption, label))
            value = QLabel(text)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            pairs.append((caption, value))
        for i, (caption, value) in enumerate(pairs):
            row, col = divmod(i, 2)
            layout.addWidget(caption, row, 2 * col, Qt.AlignmentFlag.AlignTop)
            layout.addWidget(value, row, 2 * col + 1, Qt.AlignmentFlag.AlignTop)
        last = (len(pairs) + 1) // 2  # the run file's path is long: a row of its own
        layout.addWidget(self.run_file_caption, last, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.run_file_label, last, 1, 1, 3, Qt.AlignmentFlag.AlignTop)
        pairs.append((self.run_file_caption, self.run_file_label))
        layout.setColumnStretch(1, 1)
        layout.setColumnStretch(3, 1)
        self._label_details()
        # as tall as the details need, up to DETAILS_HEIGHT (then they scroll)
        rows = (len(pairs) + 1) // 2
        self.details.setMinimumHeight(min(DETAILS_HEIGHT, rows * 2 * self.fontMetrics().lineSpacing() + 4))

    def _label_details(self) -> None:
        for caption, label in self._info_labels:
            caption.setText(f"<b>{tr_or_same(label)}</b>")
        self.run_file_caption.setText(f"<b>{tr('Run file')}</b>")

    # -- language -------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.start_button.setText(tr("&Start"))
        self.start_button.setToolTip(tr("Check the plan and run every point (Ctrl+Return)"))
        self._pause_text()
        self.pause_button.setToolTip(tr("Hold the run at the next checkpoint; the sources keep their output"))
        self.abort_button.setText(tr("A&bort"))
        self.abort_button.setToolTip(
            tr("Stop the run: every source goes to standby, the run file says aborted"))
        self.review_button.setText(tr("&Review…"))
        self.review_button.setToolTip(tr("Hand the station to a signatory, who signs in and reviews the run"))
        self.certificate_button.setText(tr("&Draft certificate…"))
        self.certificate_button.setToolTip(
            tr("Render a draft certificate next to the run file (it certifies nothing; approval issues "
               "the certificate)"))
        self.progress.setFormat(tr("%v / %m points"))
        self.log.setPlaceholderText(tr("Operator log: prompts, answers, pause, abort, messages"))
        if self.run_path is None and self.state in ("idle", "running"):
            self.run_file_label.setText(tr("not started") if self.state == "idle" else
                                        tr("checking the plan…"))
        self._label_details()
        self.model.retranslate()
        self.table.fit([0] if self.model.rowCount() else [])
        self.plot.retranslate()
        self._show_banner()
        self.status_label.setText(self._status_text())
        self._summary(force=True)
        self._show_phases()
        self._show_eta()

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def _pause_text(self) -> None:
        self.pause_button.setText(tr("&Resume") if self.state == "paused" else tr("&Pause"))

    # -- the session ------------------------------------------------------------------------
    def set_session(self, session: RunSession) -> None:
        """Show ``session`` and start runs from it (not while a run goes)."""
        if self.running:
            raise RuntimeError("a run is in progress; it must end before another session is set")
        self.session = session
        self.worker.session = session
        self.outcome = None
        self.run_path = None
        self.review_ready = False
        self.state = "idle"
        self._note = _fixed("")
        self.run_file_label.setText(tr("not started"))
        self._fill_details()
        self.model.clear()
        self.plot.clear()
        self.log.clear()
        self._banner("idle", lambda: tr("Ready. Press Start to run the calibration."))
        self._set_controls()

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
        self.review_ready = False
        self._note = _fixed("")
        self._current = None
        self._fitted = False
        self._refresh_timer.stop()
        self.model.clear()
        self.plot.clear()
        self.log.clear()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.summary_label.setText("")
        self._status(_fixed(""))
        self._point_text = _fixed("")
        self.eta_label.setText("")
        self._phases, self._phase = False, ""
        self._show_phases()
        self._t_started, self._held_since, self._held_s, self._session_done = time.monotonic(), None, 0.0, 0
        self.run_file_label.setText(tr("checking the plan…"))
        self.state = "running"
        self._banner("running", lambda: tr("Checking the plan: identifying the instruments…"))
        self._log(tr("start requested"))
        try:
            self.worker.start()  # the engine is built on the run's thread: failures come as `failed`
        except Exception as e:  # noqa: BLE001 - no thread: say so, stay usable
            self.state = "idle"
            message = one_line(e)
            self._banner("failed", lambda: tr("Cannot start: {reason}").format(reason=message))
        self._set_controls()

    def toggle_pause(self) -> None:
        if self._dialogs:  # a question is open: answer it first
            return
        if self.state == "paused":
            self.worker.resume()
        elif self.state in ("running", "suspended"):
            self.worker.pause()

    def ask_abort(self) -> None:
        """Abort, once the operator confirms (one question); then the safe state at once."""
        if not self.running or self.state == "aborting" or self._abort_box is not None:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, tr("Abort the run?"),
                          tr("Abort the run? Every source is put in standby at once; the points taken "
                             "are kept in the run file, which says aborted."),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("abortConfirm")
        yes, no = box.button(QMessageBox.StandardButton.Yes), box.button(QMessageBox.StandardButton.No)
        assert yes is not None and no is not None
        yes.setText(tr("Abort the run"))
        no.setText(tr("Keep running"))
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self._abort_box = box

        def answered(_: int) -> None:
            self._abort_box = None
            if box.clickedButton() is yes:
                self.abort()
            box.deleteLater()

        box.finished.connect(answered)
        box.open()

    def abort(self) -> None:
        """Abort now (no question): the engine puts the bench in its safe state."""
        if self.running and self.state != "aborting":
            self.worker.abort(ABORT_REASON)

    def _review_clicked(self) -> None:
        if self.outcome is not None and self.review_ready:
            self.reviewRequested.emit(self.outcome.path)

    def _set_controls(self) -> None:
        running = self.running
        asking = bool(self._dialogs)
        self.start_button.setEnabled(not running and not self.close_when_done
                                     and not isinstance(self.session, _NoSession))
        self.pause_button.setEnabled(running and not asking and self.state in ("running", "paused", "suspended"))
        self._pause_text()
        self.abort_button.setEnabled(running and self.state != "aborting")
        completed = not running and self.outcome is not None and self.outcome.status == "completed"
        self.certificate_button.setEnabled(completed and not self.rendering)
        self.review_button.setEnabled(completed and self.review_ready)

    def _banner(self, kind: str, text: Text) -> None:
        self._banner_kind, self._banner_text = kind, text
        self._show_banner()

    def _show_banner(self) -> None:
        bg, fg = _BANNER[self._banner_kind]
        self.banner.setStyleSheet(
            f"QLabel {{ background: {bg}; color: {fg}; padding: 5px 10px; border-radius: 4px; }}")
        self.banner.setText(self._banner_text())

    def note(self, text: Text) -> None:
        """A sentence under the banner, once the run has ended (the register's entry of the run)."""
        self._note = text
        if not self.running:
            self._status(text)

    def _status(self, text: Text) -> None:
        self._status_text = text
        self.status_label.setText(text())

    def _log(self, text: str) -> None:
        self.log.appendPlainText(f"{dt.datetime.now():%H:%M:%S}  {text}")

    # -- engine events (GUI thread) -------------------------------------------------------
    def on_event(self, event: object) -> None:
        if isinstance(event, PointDone):  # the most frequent first
            self.model.set_result(event.result, event.budget)
            self.plot.add(event.result)
            self._done, self._total = event.done, event.total
            self._session_done += 1
            if not self._fitted:  # the columns, against the first point taken
                self._fitted = True
                self.table.fit([0, event.result.index])
            if event.result.decision in NOT_CONFORMING:
                self._log(tr("point {n} is OUT OF TOLERANCE").format(n=event.result.index + 1))
            self._later()
        elif isinstance(event, PointStarted):
            self.model.mark_measuring(event.index)
            self._current = event
            if self._phases and event.point.phase != self._phase:
                self._phase = event.point.phase
                self._show_phases()
            self._later()
        elif isinstance(event, RunStarted):
            self.run_path = Path(event.path)
            self.run_file_label.setText(event.path)
            self._total = len(event.points)
            self._done = len(event.completed)
            self.model.start(event.points, event.completed)
            self.table.fit([0])
            self.plot.start(event.points)
            self._phases = any(p.phase == "as_left" for p in event.points)
            self._phase = "as_found"
            self._show_phases()
            self._refresh()
            self._log(tr("run started: {procedure}, {n} points -> {path}").format(
                procedure=event.procedure, n=self._total, path=event.path))
        elif isinstance(event, PlanChecked):
            self.model.set_planned_tur(event.tur)
            worst = min(event.tur) if event.tur else float("nan")
            self._log(tr("plan checked; lowest planned TUR {tur}").format(tur=f"{worst:.1f}"))
            self._banner("running", lambda: tr("Running."))
        elif isinstance(event, StateChanged):
            self._on_state(event.state)
        elif isinstance(event, Message):
            self._log(event.text)
            if self.state == "suspended" and event.text.startswith("ambient"):
                self._suspended_why = event.text
                self._show_suspended()
        elif isinstance(event, RunFinished):
            self._log(tr("run finished: {status}: {reason}").format(status=event.status, reason=event.reason))

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
        self._show_eta()
        current = self._current
        if current is not None:
            self._current = None
            p = current.point
            self.table.scrollTo(self.model.index(current.index, 0))
            total = self._total

            def text() -> str:
                at = tr(" at {frequency}").format(frequency=format_frequency(p.frequency)) if p.frequency > 0 else ""
                on = (tr(" on the {range} range").format(range=format_level(p.range, p.unit, p.range))
                      if p.range > 0 else "")
                return tr("Point {n} of {total}: {function} {nominal}{at}{on}, applying and reading…").format(
                    n=current.index + 1, total=total, function=p.function,
                    nominal=format_level(p.nominal, p.unit, p.range), at=at, on=on)

            self._point_text = text
            self._status(text)

    # -- the time left -------------------------------------------------------------------------
    def _hold(self, held: bool) -> None:
        """The run waits (paused, suspended, a question open): that time is not the run's pace."""
        now = time.monotonic()
        if held and self._held_since is None:
            self._held_since = now
        elif not held and self._held_since is not None:
            self._held_s += now - self._held_since
            self._held_since = None

    def time_left(self) -> float | None:
        """Seconds the run should still take, from this session's pace; None before a point is taken."""
        if self._session_done == 0 or not self.running:
            return None
        now = time.monotonic()
        held = self._held_s + (now - self._held_since if self._held_since is not None else 0.0)
        active = max(0.0, now - self._t_started - held)
        return active / self._session_done * max(0, self._total - self._done)

    def _show_eta(self) -> None:
        left = self.time_left()
        if left is None:
            self.eta_label.setText("")
            return
        if left < 60:
            text = tr("under a minute left")
        elif left < 3600:
            text = tr("about {minutes} min left").format(minutes=round(left / 60))
        else:
            hours, minutes = divmod(round(left / 60), 60)
            text = tr("about {hours} h {minutes} min left").format(hours=hours, minutes=minutes)
        self.eta_label.setText(text)

    def _show_phases(self) -> None:
        """As found -> Adjust -> As left, the current step in bold (procedures that adjust)."""
        if not self._phases:
            self.phase_label.hide()
            return
        steps = [("as_found", tr("As found")), ("adjust", tr("Adjust")), ("as_left", tr("As left"))]
        parts = [f"<b style='color:#0d47a1'>▶ {name}</b>" if key == self._phase else
                 f"<span style='color:#78909c'>{name}</span>" for key, name in steps]
        self.phase_label.setText(" → ".join(parts))
        self.phase_label.show()

    def _on_state(self, state: str) -> None:
        if not self.running:
            return
        self.state = state
        self._hold(state in ("paused", "suspended") or bool(self._dialogs))
        if state == "paused":
            self._banner("paused", lambda: tr("Paused. The sources keep their output; press Resume to go on, "
                                              "or Abort to put them in standby."))
            self._log(tr("paused by the operator"))
        elif state == "running":
            if self._suspended_why:
                self._log(tr("the ambient conditions are back within the limits: running again"))
            self._suspended_why = ""
            self._banner("running", lambda: tr("Running."))
            self._log(tr("running again"))
        elif state == "suspended":
            self._suspended_why = ""
            self._show_suspended()
        elif state == "aborting":
            self._banner("aborting", lambda: tr("Aborting: putting every source in standby…"))
            self._log(ABORT_REASON if not self.close_when_done else tr("aborting: the window is closing"))
        self._set_controls()

    def _show_suspended(self) -> None:
        why = self._suspended_why

        def text() -> str:
            head = tr("Held: the ambient conditions are outside the procedure's limits.")
            tail = tr("The run goes on by itself when they return; Abort puts the sources in standby.")
            return f"{head} ({why}) {tail}" if why else f"{head} {tail}"

        self._banner("paused", text)

    def _summary(self, force: bool = False) -> None:
        taken, fails = self.model.counts()
        if fails:
            text = tr("{passed} pass, {failed} fail").format(
                passed=f"<b>{taken - fails}</b>", failed=f"<b style='color:#c62828'>{fails}</b>")
        elif taken:
            text = tr("{passed} pass").format(passed=f"<b>{taken}</b>")
        else:
            text = ""
        if force or text != self.summary_label.text():
            self.summary_label.setText(text)

    def on_finished(self, outcome: RunOutcome) -> None:
        self.outcome = outcome
        self.run_path = outcome.path
        self.state = outcome.status
        self._hold(True)
        self._refresh()
        self.eta_label.setText("")
        self.plot.flush()  # the last points, drawn now
        self.model.finish()
        if self.worker.budgets:  # those of a resumed run's earlier points, read on the run's thread
            self.model.set_budgets(self.worker.budgets)
        if self.worker.budget_error:
            self._log(tr("the uncertainty budgets could not be read from the run file: {error}").format(
                error=self.worker.budget_error))
        self._status(_fixed(""))
        self._close_prompts()
        results: list[PointResult] = self.model.results()
        fails = sum(1 for r in results if r.decision == "fail")
        n, name = len(results), outcome.path.name
        if outcome.status == "completed":
            def verdict() -> str:
                if fails:
                    return tr("{fails} of {n} points OUT OF TOLERANCE").format(fails=fails, n=n)
                return tr("all {n} points PASS").format(n=n)
            self._banner("completed-fail" if fails else "completed",
                         lambda: tr("Completed: {verdict}. Run file: {name}").format(verdict=verdict(), name=name))
        elif outcome.status == "aborted":
            points, total, reason = outcome.points, self._total, outcome.reason
            self._banner("aborted", lambda: tr("Aborted ({reason}) after {points} of {total} points. The sources "
                                               "are in standby.").format(reason=reason, points=points, total=total))
        else:
            reason = outcome.reason
            self._banner("failed", lambda: tr("Failed: {reason}").format(reason=reason))
        self._set_controls()
        self.runEnded.emit(outcome)
        if self.close_when_done:
            self.closeRequested.emit()

    def on_failed(self, message: str) -> None:
        self.state = "failed"
        self._refresh()
        self.plot.flush()
        self._status(_fixed(""))
        self.eta_label.setText("")
        self.model.finish()
        self._close_prompts()
        self.run_file_label.setText(tr("no run file written") if self.run_path is None else str(self.run_path))
        self._banner("failed", lambda: tr("The run did not start: {reason}").format(reason=message))
        self._log(message)
        self._set_controls()
        if self.close_when_done:
            self.closeRequested.emit()

    # -- prompts (GUI thread) ------------------------------------------------------------------
    def _on_prompt(self, request: PromptRequest) -> None:
        if request.answered:  # answered Abort while it was on its way
            return
        prompt = request.prompt
        self._refresh()  # the point that asks, on the status line; then the question over it
        box = prompt_dialog(prompt, self, getattr(self.session, "folder", None))
        self._dialogs[request] = box
        self._hold(True)
        if self._phases and prompt.choices and "Adjust" in prompt.choices:
            self._phase = "adjust"
            self._show_phases()
        self._log((tr("HAZARD PROMPT: ") if prompt.hazard else tr("prompt: ")) + prompt.title)
        title = prompt.title
        self._status(lambda: tr("Waiting for the operator: {title}").format(title=title))
        self._banner("paused", lambda: tr("Waiting for you: {title}. The run goes on when you answer.").format(
            title=title))
        self._set_controls()

        def answered(_: int) -> None:
            choice = choice_of(box, prompt)
            self._dialogs.pop(request, None)
            if request.answer(choice):
                self._log(tr("answer to {title}: {choice}").format(title=repr(prompt.title), choice=choice))
            self._hold(self.state in ("paused", "suspended") or bool(self._dialogs))
            if self.state == "running" and self.running:
                self._banner("running", lambda: tr("Running."))
                self._status(self._point_text)  # the point that asked, again
            self._set_controls()
            box.deleteLater()

        box.finished.connect(answered)
        box.open()
        QApplication.alert(self.window())

    def open_prompts(self) -> list[PromptDialog]:
        """The prompt dialogs now on screen."""
        return [b for b in self._dialogs.values() if b.isVisible()]

    def _close_prompts(self) -> None:
        for request, box in list(self._dialogs.items()):
            request.cancel()
            box.done(0)
        self._dialogs.clear()
        if self._abort_box is not None:
            self._abort_box.done(0)

    # -- the draft certificate ---------------------------------------------------------------
    @property
    def rendering(self) -> bool:
        """A draft certificate is being rendered."""
        return self._certificate.state() != QProcess.ProcessState.NotRunning

    def make_certificate(self) -> None:
        """Render a draft certificate next to the run file: ``calstation
        certificate RUNFILE -o DRAFT.pdf`` in a process of its own, so that
        the window goes on answering (and no lock of this process is held)."""
        if self.outcome is None or self.outcome.status != "completed" or self.rendering:
            return
        if importlib.util.find_spec("station.certificates.pdf") is None:
            QMessageBox.information(
                self, tr("Certificate"), tr("The certificate renderer (station.certificates.pdf) is not "
                                            "installed in this calstation. The run file is complete: render it "
                                            "later with `calstation certificate RUNFILE`."))
            return
        run_path = self.outcome.path
        pdf_path = run_path.with_suffix(".draft.pdf")
        self.certificate_path = pdf_path
        name = pdf_path.name
        self._banner("running", lambda: tr("Rendering the draft certificate {name}…").format(name=name))
        env = QProcessEnvironment.systemEnvironment()
        # The child imports this calstation, wherever it was imported from.
        here = str(Path(__file__).resolve().parents[1])
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (here, env.value("PYTHONPATH")) if p))
        self._certificate.setProcessEnvironment(env)
        self._certificate.start(sys.executable, ["-m", "station.cli", "certificate", str(run_path),
                                                 "-o", str(pdf_path), "--lang",
                                                 "zh" if i18n.saved_language() == "zh" else "en"])
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
        why = lines[-1] if lines else (tr("the renderer ended with exit code {code}").format(code=code)
                                       if status == QProcess.ExitStatus.NormalExit
                                       else tr("the renderer crashed"))
        self._on_certificate_error(why)

    def _on_certificate_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._on_certificate_error(tr("the renderer did not start ({program}: {error})").format(
                program=sys.executable, error=self._certificate.errorString()))

    def _on_certificate_done(self, pdf_path: Path) -> None:
        self._set_controls()
        self._banner("completed", lambda: tr("Draft certificate saved: {path}").format(path=pdf_path))
        self._log(tr("draft certificate rendered: {path}").format(path=pdf_path))
        box = QMessageBox(QMessageBox.Icon.Information, tr("Certificate"),
                          tr("The draft certificate was saved as\n{path}\n\nOpen it now?").format(path=pdf_path),
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
        self._banner("failed", lambda: tr("The certificate could not be rendered: {reason}").format(reason=message))
        self._log(tr("certificate failed: {reason}").format(reason=message))

    # -- ending ----------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Abort without asking (the window is going away): the run goes through the safe state."""
        if self.running and not self.close_when_done:
            self.close_when_done = True
            self.worker.abort(f"the calstation window was stopped: {reason}")
            self._close_prompts()
            self._set_controls()

    def abort_for_closing(self) -> None:
        """The operator closes the window mid-run: abort, then ask to be closed once the bench is safe."""
        self.close_when_done = True
        self.worker.abort("the operator closed the calstation window")
        self._close_prompts()
        self._set_controls()

    def wait_for_certificate(self) -> None:
        """Let a draft being rendered be written whole, if it comes soon."""
        if self.rendering:
            self._certificate.waitForFinished(CERTIFICATE_WAIT_MS)
            if self.rendering:
                self._certificate.kill()
                self._certificate.waitForFinished(1000)


class _NoSession:
    """The run screen before a calibration is chosen."""

    title = ""

    def details(self) -> list[tuple[str, str]]:
        return []

    def make_engine(self, prompts: Any, listeners: Any) -> Any:
        raise ConfigError("no calibration is chosen: start one from New calibration")

    def close(self) -> None:
        pass


# == small dialogs and pages =======================================================================
class LanguageDialog(QDialog):
    """The first start: English or Simplified Chinese (asked once; Settings changes it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("languageChoice")
        self.setWindowTitle("calstation: Language / 语言")
        self.language = ""
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Choose the window's language.\n请选择界面语言。"))
        row = QHBoxLayout()
        for code, label in i18n.LANGUAGES.items():
            button = QPushButton(label)
            button.setObjectName(f"language:{code}")
            button.setMinimumSize(140, 40)
            button.clicked.connect(lambda _=False, c=code: self._choose(c))
            row.addWidget(button)
        layout.addLayout(row)

    def _choose(self, code: str) -> None:
        self.language = code
        i18n.install(code)
        i18n.save_language(code)
        self.accept()


class SettingsDialog(QDialog):
    """The window's language (at once, and kept), and where things are: the
    register's URL, the runs folder, the signatories' key folder."""

    def __init__(self, register_url: str, runs_dir: Path, keys_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings")
        self.language = QComboBox()
        self.language.setObjectName("language")
        for code, label in i18n.LANGUAGES.items():
            self.language.addItem(label, code)
        current = i18n.saved_language() or "en"
        self.language.setCurrentIndex(max(0, self.language.findData(current)))
        self.language.currentIndexChanged.connect(self._language_chosen)
        self.register = QLineEdit(register_url)
        self.register.setObjectName("registerUrl")
        self.register.setReadOnly(True)
        self.register.setMinimumWidth(420)
        self.runs = QLineEdit(str(runs_dir))
        self.runs.setReadOnly(True)
        self.keys = QLineEdit(str(keys_dir))
        self.keys.setReadOnly(True)
        self.labels = [QLabel() for _ in range(4)]
        self.labels[0].setBuddy(self.language)
        form = QFormLayout()
        for caption, field in zip(self.labels, (self.language, self.register, self.runs, self.keys), strict=True):
            form.addRow(caption, field)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._built = True
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("Settings"))
        for label, text in zip(self.labels, (tr("&Language"), tr("Register"), tr("Run files"),
                                             tr("Signatories' keys")), strict=True):
            label.setText(text)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setText(tr("Close"))

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def _language_chosen(self, index: int) -> None:
        code = str(self.language.itemData(index))
        i18n.install(code)
        i18n.save_language(code)


class MessagePage(QWidget):
    """A page with a message and, optionally, one button (signed out; a view not installed)."""

    def __init__(self, name: str, text: Text, button: Text | None = None,
                 action: Callable[[], None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._text, self._button_text = text, button
        self.label = QLabel()
        self.label.setObjectName("message")
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.label.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.label.setFont(font)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.label)
        self.button: QPushButton | None = None
        if button is not None:
            self.button = QPushButton()
            self.button.setObjectName("pageButton")
            self.button.setMinimumSize(160, 40)
            if action is not None:
                self.button.clicked.connect(action)
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(self.button)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addStretch(2)
        self._built = True
        self.retranslate()

    def retranslate(self) -> None:
        self.label.setText(self._text())
        if self.button is not None and self._button_text is not None:
            self.button.setText(self._button_text())

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)


def without_mnemonic(text: str) -> str:
    """``text`` without its mnemonic: "&Home" -> "Home", "首页(&H)" -> "首页", "R&un…" -> "Run"."""
    return re.sub(r"\(&\w\)", "", text).replace("&", "").removesuffix("…").strip()


def view_class(module: str, name: str) -> type[Any] | None:
    """``gui.<module>.<name>``, or None when that view is not installed."""
    try:
        found = importlib.import_module(f"gui.{module}")
    except ModuleNotFoundError as e:
        if e.name == f"gui.{module}":
            return None
        raise
    cls = getattr(found, name, None)
    return cls if isinstance(cls, type) else None


def technician_of(run: Path) -> str:
    """The register user who made the run (the run file's ``operator_user``; else its operator)."""
    from station.runfile.reader import RunFile

    with RunFile(run) as rf:
        job = rf.job
    return job.get("operator_user", "") or job.get("operator", "")


def fit_to_screen(window: QWidget, preferred: QSize = PREFERRED_SIZE) -> None:
    """Open at the preferred size where the screen has room for it, else at
    the screen's available size (its work area, less the window's frame),
    centred on it. Qt follows the system's scaling (device-independent pixels)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(preferred)
        return
    area = screen.availableGeometry()
    w = min(preferred.width(), area.width() - DECORATION.width())
    h = min(preferred.height(), area.height() - DECORATION.height())
    window.resize(max(w, 640), max(h, 480))
    window.move(area.x() + max(0, (area.width() - window.width()) // 2),
                area.y() + max(0, (area.height() - window.height() - DECORATION.height()) // 2))


# == the window ====================================================================================
PAGES = ("home", "new", "run", "review", "certificate", "register")


class MainWindow(QMainWindow):
    """The station's window.

    ``MainWindow(register=..., runs_dir=...)``: the whole flow (sign in,
    Home, New calibration, ...); `begin` asks the language at first start
    and opens the sign-in. ``MainWindow(session)`` alone: the run screen over
    that session (the built-in demo, tests, benchmarks/gui.py).

    ``simulated``: New calibration starts on the simulated bench; ``pace``:
    real seconds per simulated second; ``keys_dir``: where the signatories'
    private keys are (``NAME.pem``)."""

    def __init__(self, session: RunSession | None = None, *, register: Any = None, runs_dir: Path | None = None,
                 simulated: bool = True, pace: float = DEMO_PACE, keys_dir: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.register = register
        self.user: Any = None
        self.runs_dir = Path(runs_dir) if runs_dir is not None else Path.cwd()
        self.simulated = simulated
        self.pace = pace
        self.keys_dir = keys_dir
        self.home: QWidget | None = None
        self.newcal: QWidget | None = None
        self.review_view: QWidget | None = None
        self.certificate_view: QWidget | None = None
        self.register_view: QWidget | None = None
        self._entering = BackgroundTask(self)
        self._entering.done.connect(self._entered)
        self._entering.failed.connect(self._not_entered)
        self._status_note: Text = _fixed("")
        self._closing: QMessageBox | None = None  # "abort the run and close?", while it is asked

        self.stack = QStackedWidget()
        self.stack.setObjectName("views")
        self.run_view = RunView(session, self, on_event=self._on_event, on_finished=self._on_finished,
                                on_failed=self._on_failed)
        self.run_view.reviewRequested.connect(self.review)
        self.run_view.closeRequested.connect(self.close)
        self._page_text: Text = lambda: tr("Nobody is signed in. Sign in to calibrate, review and look at the "
                                           "register.")
        self.signed_out = MessagePage("signedOut", lambda: self._page_text(), lambda: tr("&Sign in…"),
                                      self.sign_in)
        self.pages: dict[str, QWidget] = {}
        self._set_page("run", self.run_view)
        self.stack.addWidget(self.signed_out)
        self.setCentralWidget(self.stack)
        self._build_actions()
        self._built = True
        self.retranslate()
        fit_to_screen(self)
        if session is not None:
            self.show_page("run")
        else:
            self.stack.setCurrentWidget(self.signed_out)
        self._update_actions()

    # -- the register --------------------------------------------------------------------------
    def _signed_out_text(self, text: Text, button: bool) -> None:
        self._page_text = text
        self.signed_out.retranslate()
        if self.signed_out.button is not None:
            self.signed_out.button.setVisible(button)

    def opening_register(self) -> None:
        """The register is being opened (off the GUI thread): say so."""
        self._signed_out_text(lambda: tr("Opening the register…"), False)

    def set_register(self, register: Any) -> None:
        """The register is open: people may sign in."""
        self.register = register
        self._signed_out_text(lambda: tr("Nobody is signed in. Sign in to calibrate, review and look at the "
                                         "register."), True)
        self._show_user()
        self._update_actions()

    def register_failed(self, message: str) -> None:
        """The register could not be opened: say why (one line) and what to do."""
        self._signed_out_text(lambda: tr("The register could not be opened: {reason}. Check --db or "
                                         "CALSTATION_DB, then start calstation again.").format(reason=message),
                              False)

    # -- the views ------------------------------------------------------------------------
    def _set_page(self, name: str, widget: QWidget) -> None:
        old = self.pages.get(name)
        self.pages[name] = widget
        self.stack.addWidget(widget)
        if old is not None and old is not widget:
            if self.stack.currentWidget() is old:
                self.stack.setCurrentWidget(widget)
            self.stack.removeWidget(old)
            old.deleteLater()

    def show_page(self, name: str) -> None:
        page = self.pages.get(name)
        if page is None:
            return
        if name == "home" and hasattr(page, "refresh"):
            page.refresh()
        self.stack.setCurrentWidget(page)
        self._update_actions()
        self._show_title()

    def _start_shortcut(self) -> None:
        """Ctrl+Return: Start, on the run screen and on New calibration (when its plan check passed)."""
        page = self.current_page()
        if page == "run":
            self.run_view.start()
        elif page == "new" and self.newcal is not None and hasattr(self.newcal, "start"):
            self.newcal.start()

    def current_page(self) -> str:
        current = self.stack.currentWidget()
        return next((n for n, w in self.pages.items() if w is current), "")

    def _missing(self, module: str) -> QWidget:
        return MessagePage(f"missing:{module}", lambda: tr("This view is not installed in this calstation "
                                                           "(gui/{module}.py).").format(module=module))

    # -- actions, menus, the side bar ----------------------------------------------------------
    def _build_actions(self) -> None:
        def action(name: str, slot: Callable[[], object], *keys: QKeySequence | QKeySequence.StandardKey | str
                   ) -> QAction:
            a = QAction(self)
            a.setObjectName(name)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.go: dict[str, QAction] = {
            "home": action("goHome", lambda: self.show_page("home"), "Ctrl+1"),
            "new": action("goNew", self.new_calibration, "Ctrl+2", QKeySequence.StandardKey.New),
            "run": action("goRun", lambda: self.show_page("run"), "Ctrl+3"),
            "review": action("goReview", lambda: self.show_page("review"), "Ctrl+4"),
            "certificate": action("goCertificate", lambda: self.show_page("certificate"), "Ctrl+5"),
            "register": action("goRegister", self.open_register, "Ctrl+6"),
        }
        group = QActionGroup(self)
        for a in self.go.values():
            a.setCheckable(True)
            group.addAction(a)
        self.resume_action = action("resume", self.choose_resume, QKeySequence.StandardKey.Open)
        self.sign_in_action = action("signIn", self.sign_in, "Ctrl+Shift+S")
        self.settings_action = action("settings", self.open_settings, "Ctrl+,")
        self.quit_action = action("quit", self.close, QKeySequence.StandardKey.Quit)
        self.start_action = action("startRun", self._start_shortcut, "Ctrl+Return")
        self.about_action = action("about", self.about)

        bar = QToolBar()
        bar.setObjectName("navigation")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setOrientation(Qt.Orientation.Vertical)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.setStyleSheet("QToolBar { spacing: 4px; padding: 4px; } QToolButton { padding: 8px 6px; "
                          "min-width: 96px; text-align: left; } QToolButton:checked { background: #bbdefb; "
                          "font-weight: bold; }")
        for a in self.go.values():
            bar.addAction(a)
        bar.addSeparator()
        bar.addAction(self.resume_action)
        bar.addAction(self.sign_in_action)
        bar.addAction(self.settings_action)
        self.navigation = bar
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)

        menus = self.menuBar()
        assert menus is not None
        self.file_menu = menus.addMenu("")
        self.view_menu = menus.addMenu("")
        self.help_menu = menus.addMenu("")
        for m in (self.file_menu, self.view_menu, self.help_menu):
            assert m is not None
        assert self.file_menu is not None and self.view_menu is not None and self.help_menu is not None
        self.file_menu.addAction(self.go["new"])
        self.file_menu.addAction(self.resume_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.sign_in_action)
        self.file_menu.addAction(self.settings_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)
        for key in ("home", "run", "review", "certificate", "register"):
            self.view_menu.addAction(self.go[key])
        self.help_menu.addAction(self.about_action)

        status = self.statusBar()
        assert status is not None
        self.user_label = QLabel()
        self.user_label.setObjectName("signedIn")
        self.register_label = QLabel()
        self.register_label.setObjectName("registerWhere")
        self.note_label = QLabel()
        self.note_label.setObjectName("note")
        status.addWidget(self.user_label)
        status.addWidget(self.note_label, 1)
        status.addPermanentWidget(self.register_label)

    def retranslate(self) -> None:
        names = {"home": tr("&Home"), "new": tr("&New calibration"), "run": tr("R&un"), "review": tr("Re&view"),
                 "certificate": tr("&Certificate"), "register": tr("Re&gister")}
        tips = {"home": tr("What needs doing today (Ctrl+1)"),
                "new": tr("Choose the item, the procedure and the bench, check the plan, start (Ctrl+N)"),
                "run": tr("The run screen (Ctrl+3)"), "review": tr("The run under review (Ctrl+4)"),
                "certificate": tr("The certificate issued last (Ctrl+5)"),
                "register": tr("Items, standards, customers and their history (Ctrl+6)")}
        for key, a in self.go.items():
            a.setText(names[key])
            a.setIconText(without_mnemonic(names[key]))  # the side bar: no "(&H)"
            a.setToolTip(tips[key])
        self.resume_action.setText(tr("&Resume a run…"))
        self.resume_action.setToolTip(tr("Continue an interrupted run from its file (Ctrl+O)"))
        self.sign_in_action.setText(tr("&Sign in…"))
        self.settings_action.setText(tr("Se&ttings…"))
        for a in (self.resume_action, self.sign_in_action, self.settings_action):
            a.setIconText(without_mnemonic(a.text()))
        self.quit_action.setText(tr("&Quit"))
        self.about_action.setText(tr("&About calstation"))
        if self.file_menu is not None and self.view_menu is not None and self.help_menu is not None:
            self.file_menu.setTitle(tr("&File"))
            self.view_menu.setTitle(tr("&View"))
            self.help_menu.setTitle(tr("&Help"))
        self._show_user()
        self._show_title()
        self.note_label.setText(self._status_note())

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def _show_title(self) -> None:
        page = self.current_page()
        names = {"home": tr("Home"), "new": tr("New calibration"), "review": tr("Review"),
                 "certificate": tr("Certificate"), "register": tr("Register")}
        title = self.run_view.session.title if page == "run" else names.get(page, "")
        self.setWindowTitle(f"calstation: {title}" if title else "calstation")

    def _show_user(self) -> None:
        if self.register is None:
            self.user_label.setText("")
            self.register_label.setText("")
            return
        u = self.user
        if u is None:
            self.user_label.setText(tr("Not signed in"))
        else:
            from gui.signin import role_name

            self.user_label.setText(tr("Signed in: {name} ({role})").format(name=u.full_name,
                                                                            role=role_name(u.role)))
        self.register_label.setText(tr("Register: {where}").format(where=self.register.where))

    def _say(self, text: Text) -> None:
        """One line in the status bar (kept in the window's language)."""
        self._status_note = text
        self.note_label.setText(text())

    def _update_actions(self) -> None:
        signed_in = self.user is not None and self.register is not None
        running = self.run_view.running
        has_run = not isinstance(self.run_view.session, _NoSession)
        for key, a in self.go.items():
            a.setEnabled(key in self.pages and (signed_in or (key == "run" and has_run)))
        self.go["new"].setEnabled(signed_in and not running)
        self.resume_action.setEnabled(not running and (signed_in or self.register is None))
        self.sign_in_action.setEnabled(self.register is not None and not running)
        current = self.current_page()
        if current in self.go:
            self.go[current].setChecked(True)

    # -- signing in ---------------------------------------------------------------------------
    def begin(self) -> None:
        """At start: the language (first start only), then sign in."""
        if i18n.saved_language() is None:
            dialog = LanguageDialog(self)
            dialog.finished.connect(lambda _: self.sign_in())
            dialog.open()
            return
        i18n.install(i18n.saved_language() or "en")
        self.sign_in()

    def sign_in(self, then: Callable[[], None] | None = None) -> None:
        """Open the sign-in dialog; once someone signs in, they are the window's user (then ``then``)."""
        if self.register is None or self.run_view.running:
            return
        cls = view_class("signin", "SignInDialog")
        if cls is None:
            QMessageBox.warning(self, tr("Sign in"), tr("The sign-in dialog (gui/signin.py) is not installed."))
            return
        dialog = cls(self.register, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def done(result: int) -> None:
            user = getattr(dialog, "user", None)
            dialog.deleteLater()
            self.activateWindow()  # the keyboard goes back to the window (Ctrl+N, ...)
            if result == QDialog.DialogCode.Accepted and user is not None:
                self.set_user(user)
                if then is not None:
                    then()

        dialog.finished.connect(done)
        dialog.open()

    def set_user(self, user: Any) -> None:
        """``user`` is at the station now: their Home."""
        self.user = user
        self._show_user()
        self._say(_fixed(""))
        cls = view_class("home", "HomeView")
        if cls is None:
            self._set_page("home", self._missing("home"))
        else:
            home = cls(self.register, user, self.runs_dir)
            home.newCalibration.connect(self.new_calibration)
            home.reviewRun.connect(self.review)
            home.openCertificate.connect(self.open_certificate)
            home.resumeRun.connect(self.resume)
            home.openRegister.connect(self.open_register)
            self._set_page("home", home)
        self.home = self.pages["home"]
        for stale in ("new", "review", "register"):  # made for the one signed in before
            old = self.pages.pop(stale, None)
            if old is not None:
                self.stack.removeWidget(old)
                old.deleteLater()
        self.newcal = self.review_view = self.register_view = None
        if not self.run_view.running:
            self.show_page("home")
        self._update_actions()

    # -- new calibration -------------------------------------------------------------------------
    def new_calibration(self) -> None:
        if self.user is None or self.register is None or self.run_view.running:
            return
        from gui.newcal import NewCalibration

        view = NewCalibration(self.register, self.user, self.runs_dir, simulated=self.simulated, pace=self.pace)
        view.startRequested.connect(self.start_calibration)
        view.cancelled.connect(lambda: self.show_page("home"))
        self.newcal = view
        self._set_page("new", view)
        self.show_page("new")

    def start_calibration(self, session: CalibrationSession | ResumeSession) -> None:
        """Run ``session`` on the run screen."""
        if self.run_view.running:
            return
        self.run_view.set_session(session)
        self._show_title()
        self.show_page("run")
        self.run_view.start()
        self._update_actions()

    # -- resuming ------------------------------------------------------------------------------
    def choose_resume(self) -> None:
        """File > Resume: pick the run file of an interrupted run."""
        if self.run_view.running:
            return
        dialog = QFileDialog(self, tr("Resume an interrupted run"), str(self.runs_dir), tr("Run files (*.h5)"))
        dialog.setObjectName("resumeFile")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(lambda name: self.resume(Path(name)))
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def resume(self, path: Path, bench_file: Path | None = None) -> None:
        """Continue the interrupted run in ``path`` on the run screen (a run
        made on a real bench asks for its bench file first)."""
        if self.run_view.running:
            return
        try:
            session = ResumeSession(Path(path), bench_file, self.register, pace=self.pace)
        except ConfigError as e:
            if bench_file is None and "bench file" in str(e):
                self._ask_bench_file(Path(path))
                return
            self._warn(tr("Resume"), one_line(e))
            return
        except CalstationError as e:
            self._warn(tr("Resume"), one_line(e))
            return
        self.start_calibration(session)

    def _ask_bench_file(self, run: Path) -> None:
        dialog = QFileDialog(self, tr("The bench file of {name}").format(name=run.name), str(self.runs_dir),
                             tr("Bench files (*.toml)"))
        dialog.setObjectName("benchFile")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(lambda name: self.resume(run, Path(name)))
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def _warn(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("warning")
        box.finished.connect(lambda _: box.deleteLater())
        box.open()

    # -- the run ends -------------------------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        self.run_view.on_event(event)

    def _on_finished(self, outcome: RunOutcome) -> None:
        self.run_view.on_finished(outcome)
        self._update_actions()
        if self.register is None or self.user is None or outcome.status != "completed":
            return
        register, actor, path = self.register, self.user.name, outcome.path
        self.run_view.note(lambda: tr("Entering it in the register…"))
        self._entering.start(lambda: register.register_run(actor, path))

    def _on_failed(self, message: str) -> None:
        self.run_view.on_failed(message)
        self._update_actions()

    def _entered(self, row: Any) -> None:
        run_id = str(row.get("run_id", "")) if hasattr(row, "get") else ""
        self.run_view.review_ready = True
        self.run_view.note(lambda: tr("Entered in the register as run {run}: it awaits review by a signatory "
                                      "(Review).").format(run=run_id[:8]))
        self.run_view._set_controls()
        if self.home is not None and hasattr(self.home, "refresh"):
            self.home.refresh()

    def _not_entered(self, message: str) -> None:
        self.run_view.note(lambda: tr("It could not be entered in the register: {reason}").format(reason=message))

    # -- review ----------------------------------------------------------------------------------------
    def review(self, run: Path) -> None:
        """Review the run in ``run``: by the signed-in signatory when they
        did not make it, else the station is handed over: a signatory signs in."""
        if self.register is None or self.run_view.running:
            return
        try:
            technician = technician_of(Path(run))
        except CalstationError as e:
            self._warn(tr("Review"), one_line(e))
            return
        u = self.user
        if u is not None and u.role == "signatory" and technician not in (u.name, u.full_name):
            self._open_review(Path(run))
            return
        box = QMessageBox(QMessageBox.Icon.Information, tr("Review"),
                          tr("A signatory reviews the run, and not the one who made it. Hand the station "
                             "over: the signatory signs in now."),
                          QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("handOver")
        ok = box.button(QMessageBox.StandardButton.Ok)
        if ok is not None:
            ok.setText(tr("&Sign in as the signatory…"))
        box.setDefaultButton(QMessageBox.StandardButton.Ok)

        def answered(_: int) -> None:
            if box.clickedButton() is ok:
                self.sign_in(then=lambda: self._review_as_signed_in(Path(run), technician))
            box.deleteLater()

        box.finished.connect(answered)
        box.open()

    def _review_as_signed_in(self, run: Path, technician: str) -> None:
        u = self.user
        if u is None:
            return
        if technician in (u.name, u.full_name):
            self._warn(tr("Review"), tr("{name} made this run: nobody approves their own run. Another "
                                        "signatory signs in to review it.").format(name=u.full_name))
            return
        if u.role != "signatory":
            self._warn(tr("Review"), tr("{name} is not a signatory: only a signatory reviews and approves "
                                        "a run.").format(name=u.full_name))
            return
        self._open_review(run)

    def key_path(self, user: str) -> Path:
        """Where ``user``'s private key is (``keys_dir/NAME.pem``; by default the user's data folder)."""
        if self.keys_dir is not None:
            return self.keys_dir / f"{user}.pem"
        from station.cli_register import default_key_path

        return default_key_path(user)

    def _open_review(self, run: Path) -> None:
        cls = view_class("review", "ReviewView")
        if cls is None:
            self._set_page("review", self._missing("review"))
        else:
            key = self.key_path(self.user.name)
            view = cls(self.register, self.user, run, key if key.exists() else None)
            view.approved.connect(self._approved)
            view.rejected.connect(self._rejected)
            self._set_page("review", view)
        self.review_view = self.pages["review"]
        self.show_page("review")

    def _approved(self, number: str, pdf: Path, dcc: Path) -> None:
        self._say(lambda: tr("Certificate {number} issued.").format(number=number))
        self.open_certificate(pdf, dcc)
        if self.home is not None and hasattr(self.home, "refresh"):
            self.home.refresh()

    def _rejected(self, reason: str) -> None:
        self._say(lambda: tr("The run was rejected: {reason}").format(reason=reason))
        self.show_page("home")

    # -- the certificate and the register ------------------------------------------------------------
    def open_certificate(self, pdf: Path, dcc: Path | None = None) -> None:
        pdf = Path(pdf)
        dcc = Path(dcc) if dcc is not None else pdf.with_name(pdf.name.removesuffix(".pdf") + ".dcc.xml")
        cls = view_class("preview", "CertificateView")
        if cls is None:
            self._set_page("certificate", self._missing("preview"))
        else:
            self._set_page("certificate", cls(pdf, dcc if dcc.exists() else None, self._verdict(pdf),
                                              self.register))
        self.certificate_view = self.pages["certificate"]
        self.show_page("certificate")

    def _verdict(self, pdf: Path) -> str:
        """The verdict of the run the certificate ``pdf`` (named by its number) reports, from the register."""
        if self.register is None:
            return ""
        try:
            row = self.register.certificate(pdf.name.removesuffix(".pdf"))
            run = self.register.run(row.run_id) if row is not None else None
        except CalstationError:
            return ""
        return str(run["verdict"]) if run is not None else ""

    def open_register(self) -> None:
        if self.user is None or self.register is None:
            return
        if "register" not in self.pages:
            cls = view_class("register_views", "RegisterView")
            if cls is None:
                self._set_page("register", self._missing("register_views"))
            else:
                view = cls(self.register, self.user)
                if hasattr(view, "openCertificate"):
                    view.openCertificate.connect(self.open_certificate)
                self._set_page("register", view)
            self.register_view = self.pages["register"]
        self.show_page("register")

    # -- settings --------------------------------------------------------------------------------------
    def open_settings(self) -> None:
        keys = self.keys_dir if self.keys_dir is not None else self.key_path("NAME").parent
        dialog = SettingsDialog(self.register.where if self.register is not None else tr("none"),
                                self.runs_dir, keys, self)
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def about(self) -> None:
        from station import __version__

        where = self.register.where if self.register is not None else tr("none")
        box = QMessageBox(QMessageBox.Icon.Information, tr("About calstation"),
                          tr("calstation {version}: an automated calibration station.\nRegister: {where}\n"
                             "Run files: {runs}").format(version=__version__, where=where, runs=self.runs_dir),
                          QMessageBox.StandardButton.Close, self)
        box.finished.connect(lambda _: box.deleteLater())
        box.open()

    # -- what the run screen shows, for those who drive the window (benchmarks/gui.py, tests) --------------
    def start(self) -> None:
        self.run_view.start()

    @property
    def worker(self) -> RunWorker:
        return self.run_view.worker

    @property
    def session(self) -> RunSession:
        return self.run_view.session

    @property
    def outcome(self) -> RunOutcome | None:
        return self.run_view.outcome

    @property
    def running(self) -> bool:
        return self.run_view.running

    @property
    def state(self) -> str:
        return self.run_view.state

    @property
    def model(self) -> ResultsModel:
        return self.run_view.model

    @property
    def plot(self) -> ErrorPlot:
        return self.run_view.plot

    @property
    def banner(self) -> QLabel:
        return self.run_view.banner

    def open_prompts(self) -> list[PromptDialog]:
        return self.run_view.open_prompts()

    # -- closing ----------------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Close the window without asking (a stop signal: SIGTERM, SIGHUP,
        Ctrl-C in the terminal that started it): a run in progress is
        aborted, goes through the safe state, and the window closes then."""
        self.run_view.stop(reason)
        self.close()

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt's name
        assert event is not None
        view = self.run_view
        if not view.running:
            view.wait_for_certificate()
            self._entering.wait(30.0)  # the run's entry in the register, if it is being written
            event.accept()
            return
        if not view.close_when_done and self._closing is None:
            # asked without a nested event loop: the run's events go on meanwhile
            box = QMessageBox(QMessageBox.Icon.Question, tr("A run is in progress"),
                              tr("Abort the run and close? Every source is put in standby first."),
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            box.setObjectName("closeConfirm")
            box.setDefaultButton(QMessageBox.StandardButton.No)
            box.setWindowModality(Qt.WindowModality.WindowModal)
            self._closing = box

            def answered(_: int) -> None:
                self._closing = None
                if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes) and view.running:
                    view.abort_for_closing()
                box.deleteLater()

            box.finished.connect(answered)
            box.open()
        event.ignore()  # closes itself once the bench is safe (RunView.closeRequested)
