"""The home view: what needs doing at the station today.

- standards overdue, due within 30 days, or without a calibration record
  (`Register.due`);
- runs awaiting a signatory's approval (the register's completed runs);
- runs in progress: run files in the runs folder whose status is still
  ``running`` (a run going on, or one that stopped without ending: resume
  it);
- the latest certificates.

The run files are looked at off the GUI thread, header attributes only,
and a file that is no longer running is not opened again while it stays
the same (size and modification time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PyQt6.QtCore import QEvent, pyqtSignal
from PyQt6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import tr
from gui.jobs import Task
from gui.register_views import (
    STANDING_COLOURS,
    VERDICT_COLOURS,
    certificate_files,
    fill,
    row_data,
    standing_of,
    status_text,
    table,
    verdict_kind,
    verdict_text,
    when,
    wrapping,
)
from gui.signin import role_name
from station.errors import CalstationError
from station.register import schema as S
from station.register.core import CertificateRow, Register, User

RECENT_CERTIFICATES = 10


@dataclass(frozen=True)
class AwaitingRun:
    """A completed run in the register that no signatory has approved or rejected yet."""

    run_id: str
    path: Path
    procedure: str
    dut: str
    customer: str
    technician: str
    finished: str
    verdict: str


def awaiting_runs(register: Register) -> list[AwaitingRun]:
    """The register's runs with status completed, oldest first."""
    q = (sa.select(S.runs.c.run_id, S.runs.c.path, S.runs.c.dut, S.runs.c.customer, S.runs.c.technician,
                   S.runs.c.finished, S.runs.c.verdict, S.procedures.c.name, S.procedures.c.version)
         .join(S.procedures, S.procedures.c.id == S.runs.c.procedure)
         .where(S.runs.c.status == "completed")
         .order_by(S.runs.c.finished, S.runs.c.id))
    with register.engine.connect() as conn:
        return [AwaitingRun(r.run_id, Path(r.path), f"{r.name} {r.version}", r.dut, r.customer, r.technician,
                            r.finished, r.verdict) for r in conn.execute(q)]


@dataclass(frozen=True)
class RunHeader:
    """What the home view shows of a run file: its header attributes."""

    path: Path
    status: str
    procedure: str
    dut: str
    operator: str
    created: str


#: path -> (modification time ns, size, header or None when unreadable)
ScanCache = dict[Path, tuple[int, int, RunHeader | None]]


def scan_runs(folder: Path, cache: ScanCache) -> tuple[list[RunHeader], ScanCache]:
    """The run files in ``folder`` whose status is ``running``, and the
    cache for the next scan. Reads header attributes only; a file the
    cache has seen with the same size and time is not opened again."""
    from station.runfile.reader import RunFile

    new: ScanCache = {}
    running: list[RunHeader] = []
    try:
        files = sorted(folder.glob("*.h5"))
    except OSError:
        files = []
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        seen = cache.get(path)
        if seen is not None and seen[:2] == (st.st_mtime_ns, st.st_size) and \
                (seen[2] is None or seen[2].status != "running"):
            new[path] = seen
        else:
            header: RunHeader | None
            try:
                with RunFile(path) as rf:
                    a, job, proc = rf.attrs, rf.job, rf.procedure
                header = RunHeader(path, a.get("status", ""), proc.get("title") or proc.get("name", ""),
                                   job.get("dut_asset_id") or " ".join(
                                       v for v in (job.get("dut_model", ""), job.get("dut_serial", "")) if v),
                                   job.get("operator", ""), a.get("created", ""))
            except (CalstationError, OSError):
                header = None  # being moved into place, damaged, or not a run file
            new[path] = (st.st_mtime_ns, st.st_size, header)
        h = new[path][2]
        if h is not None and h.status == "running":
            running.append(h)
    return running, new


class HomeView(QWidget):
    """What needs doing: due standards, runs awaiting approval, runs in
    progress, recent certificates. `refresh` reads them again (call it when
    the view is shown)."""

    newCalibration = pyqtSignal()  # noqa: N815 - Qt's naming
    reviewRun = pyqtSignal(Path)  # noqa: N815
    openCertificate = pyqtSignal(Path)  # noqa: N815
    resumeRun = pyqtSignal(Path)  # noqa: N815
    openRegister = pyqtSignal()  # noqa: N815

    def __init__(self, register: Register, user: User, runs_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("homeView")
        self.register = register
        self.user = user
        self.runs_dir = Path(runs_dir)
        self.in_progress: list[RunHeader] = []
        self._cache: ScanCache = {}
        self._scan: Task | None = None
        self._scan_again = False
        self.scanned = False  # the runs folder has been looked at once since the last refresh

        self.greeting = QLabel()
        self.greeting.setObjectName("greeting")
        self.greeting.setStyleSheet("QLabel { font-weight: bold; font-size: 12pt; }")
        self.new_button = QPushButton()
        self.new_button.setObjectName("newCalibration")
        self.new_button.setMinimumHeight(36)
        self.new_button.setStyleSheet(
            "QPushButton { background: #2e7d32; color: white; font-weight: bold; border-radius: 4px; "
            "padding: 6px 14px; } QPushButton:focus { border: 2px solid #212121; }")
        self.new_button.clicked.connect(self.newCalibration)
        self.register_button = QPushButton()
        self.register_button.setObjectName("openRegister")
        self.register_button.setMinimumHeight(36)
        self.register_button.clicked.connect(self.openRegister)
        self.refresh_button = QPushButton()
        self.refresh_button.setMinimumHeight(36)
        self.refresh_button.clicked.connect(self.refresh)
        head = QHBoxLayout()
        head.addWidget(self.greeting, stretch=1)
        head.addWidget(self.new_button)
        head.addWidget(self.register_button)
        head.addWidget(self.refresh_button)

        self.due = table(5, "dueStandards")
        self.awaiting = table(6, "awaitingRuns")
        self.running = table(4, "runsInProgress")
        self.recent = table(5, "recentCertificates")
        self.review_button = QPushButton()
        self.review_button.setObjectName("reviewRun")
        self.resume_button = QPushButton()
        self.resume_button.setObjectName("resumeRun")
        self.open_button = QPushButton()
        self.open_button.setObjectName("openCertificate")
        self.review_button.clicked.connect(self.review)
        self.resume_button.clicked.connect(self.resume)
        self.open_button.clicked.connect(self.open_certificate)
        self.awaiting.activated.connect(lambda _: self.review())
        self.running.activated.connect(lambda _: self.resume())
        self.recent.activated.connect(lambda _: self.open_certificate())
        self.awaiting.itemSelectionChanged.connect(self._enable)
        self.running.itemSelectionChanged.connect(self._enable)
        self.recent.itemSelectionChanged.connect(self._enable)

        self.message = wrapping(QLabel())
        self.message.setObjectName("message")
        self.message.setStyleSheet("QLabel { color: #c62828; }")

        self.due_box = self._box(self.due)
        self.awaiting_box = self._box(self.awaiting, self.review_button)
        self.running_box = self._box(self.running, self.resume_button)
        self.recent_box = self._box(self.recent, self.open_button)
        grid = QGridLayout()
        grid.addWidget(self.awaiting_box, 0, 0)
        grid.addWidget(self.due_box, 0, 1)
        grid.addWidget(self.running_box, 1, 0)
        grid.addWidget(self.recent_box, 1, 1)
        for i in range(2):
            grid.setRowStretch(i, 1)
            grid.setColumnStretch(i, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addLayout(grid, stretch=1)
        self.setTabOrder(self.new_button, self.register_button)
        self.setTabOrder(self.register_button, self.awaiting)
        self.setTabOrder(self.awaiting, self.review_button)
        self.setTabOrder(self.review_button, self.due)
        self.setTabOrder(self.due, self.running)
        self.setTabOrder(self.running, self.resume_button)
        self.setTabOrder(self.resume_button, self.recent)
        self.setTabOrder(self.recent, self.open_button)
        self._built = True
        self.retranslate()

    @staticmethod
    def _box(view: QTableWidget, button: QPushButton | None = None) -> QGroupBox:
        box = QGroupBox()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(view, stretch=1)
        if button is not None:
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(button)
            layout.addLayout(row)
        return box

    # -- text ------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.greeting.setText(tr("Signed in as {name} ({role})").format(
            name=self.user.full_name, role=role_name(self.user.role)))
        self.new_button.setText(tr("&New calibration…"))
        self.register_button.setText(tr("Re&gister…"))
        self.refresh_button.setText(tr("Re&fresh"))
        self.review_button.setText(tr("Re&view…"))
        self.resume_button.setText(tr("Res&ume…"))
        self.open_button.setText(tr("&Open certificate…"))
        self.due.setHorizontalHeaderLabels([tr("Asset"), tr("Model"), tr("Latest certificate"), tr("Due"),
                                            tr("Standing")])
        self.awaiting.setHorizontalHeaderLabels([tr("Finished"), tr("Procedure"), tr("DUT"), tr("Customer"),
                                                 tr("Technician"), tr("Verdict")])
        self.running.setHorizontalHeaderLabels([tr("Started"), tr("Procedure"), tr("DUT"), tr("Run file")])
        self.recent.setHorizontalHeaderLabels([tr("Number"), tr("Approved"), tr("DUT"), tr("Customer"),
                                               tr("Status")])
        self.refresh()

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def _titles(self) -> None:
        self.due_box.setTitle(tr("Standards due or overdue ({n})").format(n=self.due.rowCount()))
        self.awaiting_box.setTitle(tr("Runs awaiting approval ({n})").format(n=self.awaiting.rowCount()))
        self.running_box.setTitle(tr("Runs in progress ({n})").format(n=self.running.rowCount()))
        self.recent_box.setTitle(tr("Recent certificates ({n})").format(n=self.recent.rowCount()))

    # -- content -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the register and look at the runs folder again."""
        try:
            self._register_parts()
            self.message.setText("")
        except CalstationError as e:
            self.message.setText(str(e))
        self._scan_folder()
        self._titles()
        self._enable()

    def _register_parts(self) -> None:
        today = dt.date.today()
        rows, colours, ids = [], [], []
        for asset, record, _ in self.register.due(today):
            kind, words = standing_of(asset, record, today)
            rows.append([asset.asset_id, f"{asset.manufacturer} {asset.model}",
                         record.certificate if record else "", record.due if record else "", words])
            colours.append({4: STANDING_COLOURS[kind]})
            ids.append(asset.asset_id)
        fill(self.due, rows, colours, ids)

        names = {u.name: u.full_name for u in self.register.users()}
        runs = awaiting_runs(self.register)
        rows, colours = [], []
        for r in runs:
            kind = verdict_kind(r.verdict)
            rows.append([when(r.finished), r.procedure, r.dut, r.customer, names.get(r.technician, r.technician),
                         verdict_text(r.verdict)])
            colours.append({5: VERDICT_COLOURS[kind]} if kind else {})
        fill(self.awaiting, rows, colours, [r.path for r in runs])

        certs = self.register.recent_certificates(RECENT_CERTIFICATES)
        fill(self.recent, [[c.number, when(c.approved_at), c.dut, c.customer, status_text(c.status)]
                              for c in certs],
             data=certs)

    def _scan_folder(self) -> None:
        if self._scan is not None and not self._scan.finished:
            self._scan_again = True
            return
        self.scanned = False
        folder, cache = self.runs_dir, dict(self._cache)
        self._scan = Task(lambda: scan_runs(folder, cache))
        self._scan.done.connect(self._scanned)
        self._scan.failed.connect(self._scan_failed)
        self._scan.start()

    def _scanned(self, result: Any) -> None:
        running, self._cache = result
        self.in_progress = running
        fill(self.running, [[when(h.created), h.procedure, h.dut, h.path.name] for h in running],
             data=[h.path for h in running])
        self._after_scan()

    def _scan_failed(self, message: str) -> None:
        self.message.setText(tr("The runs folder {folder} could not be read: {why}").format(
            folder=self.runs_dir, why=message))
        self._after_scan()

    def _after_scan(self) -> None:
        self.scanned = True
        self._titles()
        self._enable()
        if self._scan_again:
            self._scan_again = False
            self._scan_folder()

    def _enable(self) -> None:
        self.review_button.setEnabled(self.awaiting.rowCount() > 0)
        self.resume_button.setEnabled(self.running.rowCount() > 0)
        self.open_button.setEnabled(self.recent.rowCount() > 0)

    # -- actions ------------------------------------------------------------------------------
    @staticmethod
    def _chosen(view: QTableWidget) -> Any:
        """The selected row's data, or the first row's when none is selected."""
        rows = view.selectionModel().selectedRows()  # type: ignore[union-attr]
        if rows:
            return row_data(view, rows[0].row())
        return row_data(view, 0) if view.rowCount() else None

    def review(self) -> None:
        path = self._chosen(self.awaiting)
        if path is not None:
            self.reviewRun.emit(Path(path))

    def resume(self) -> None:
        path = self._chosen(self.running)
        if path is not None:
            self.resumeRun.emit(Path(path))

    def open_certificate(self) -> None:
        cert: CertificateRow | None = self._chosen(self.recent)
        if cert is None:
            return
        pdf, _ = certificate_files(self.register, cert, [self.runs_dir])
        if pdf is None:
            self.message.setText(tr("The PDF of {number} is neither beside its run file nor in {folder}.")
                                 .format(number=cert.number, folder=self.runs_dir))
            return
        self.message.setText("")
        self.openCertificate.emit(pdf)
