"""A signatory's review of a completed run, and its approval or rejection.

The view shows what the run file holds (read off the GUI thread, and
verified there: hash chain, seal, every point re-derived from its raw
readings): the header, every point, and for the point chosen its whole
uncertainty budget, its raw readings and the instrument log of its time
window. Approve and Reject run ``calstation approve`` / ``calstation
reject`` in a process of their own (approval numbers, renders and signs
the PDF and the DCC, which would hold the window); the register is named
to the child by ``CALSTATION_DB`` and the key's passphrase by
``CALSTATION_KEY_PASSPHRASE``, never on its command line.

Only a signatory approves or rejects, and nobody their own run: anyone
else sees the buttons disabled, with the reason beside them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PyQt6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QFont, QFontDatabase
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import tr
from gui.jobs import CliProcess, Task
from gui.register_views import (
    VERDICT_COLOURS,
    compact,
    fill,
    status_text,
    table,
    verdict_kind,
    verdict_text,
    when,
    wrapping,
)
from gui.signin import role_name
from station.certificates.numbers import (
    format_error,
    format_frequency,
    format_level,
    format_significant,
    format_uncertainty,
    format_value,
    significant,
)
from station.errors import CalstationError
from station.metrology.budget import Component
from station.metrology.decision import NOT_CONFORMING
from station.metrology.result import PointResult
from station.register.core import Register, User

#: How long closing waits for an approval being rendered (it is never killed half-way lightly).
APPROVAL_WAIT_MS = 60_000


# -- what the view reads from the run file -------------------------------------------------------
@dataclass(frozen=True)
class Exchange:
    time: float
    instrument: str
    sent: bool  # True: to the instrument
    data: bytes


@dataclass
class RunContent:
    """A run file's record, as the review shows it (read once, off the GUI thread)."""

    path: Path
    attrs: dict[str, str]
    job: dict[str, str]
    procedure: dict[str, str]
    points: list[PointResult]
    budgets: dict[int, list[Component]]
    raw: npt.NDArray[Any]  # the /raw rows: point, channel, time, value
    io: list[Exchange]
    io_times: list[float]
    verified: bool
    verification: str  # one line

    @property
    def run_id(self) -> str:
        return self.attrs.get("run_id", "")

    @property
    def status(self) -> str:
        return self.attrs.get("status", "")

    def as_left(self) -> list[PointResult]:
        return [p for p in self.points if p.phase == "as_left"] or self.points

    def verdict(self) -> str:
        from station.register.runs import verdict

        return verdict([str(p.decision) for p in self.as_left()])

    def technician(self) -> tuple[str, str]:
        """(register user name, name as written) of whoever made the run."""
        return self.job.get("operator_user", ""), self.job.get("operator", "")

    def readings(self, point: int, channel: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        rows = self.raw[(self.raw["point"] == point) & (self.raw["channel"] == channel)]
        return rows["time"].astype(np.float64), rows["value"].astype(np.float64)

    def exchanges(self, start: float, end: float) -> list[Exchange]:
        """The instrument log between ``start`` and ``end`` (seconds since the epoch)."""
        lo = bisect.bisect_left(self.io_times, start)
        hi = bisect.bisect_right(self.io_times, end)
        return self.io[lo:hi]


def read_run_content(path: Path) -> RunContent:
    from station.runfile.reader import RunFile

    with RunFile(path) as rf:
        check = rf.verify()
        io = [Exchange(e.time, e.instrument, e.direction == "tx", e.data) for e in rf.io()]
        io.sort(key=lambda e: e.time)
        return RunContent(path=path, attrs=rf.attrs, job=rf.job, procedure=rf.procedure, points=rf.points,
                          budgets=rf.budgets(), raw=np.array(rf.raw_array()), io=io,
                          io_times=[e.time for e in io], verified=check.ok, verification=check.message)


# -- numbers ------------------------------------------------------------------------------------
def format_tur(tur: float) -> str:
    if not math.isfinite(tur):
        return "∞"
    return f"{tur:.1f}" if tur < 100 else f"{tur:.0f}"


def decision_text(decision: str) -> str:
    return {"pass": tr("pass"), "fail": tr("FAIL"), "conditional pass": tr("conditional pass"),
            "conditional fail": tr("conditional FAIL")}.get(decision, decision)


def phase_text(phase: str) -> str:
    return {"as_found": tr("as found"), "as_left": tr("as left")}.get(phase, phase)


def nominal_text(p: PointResult) -> str:
    text = format_level(p.nominal, p.unit, p.range)
    return text + (f" @ {format_frequency(p.frequency)}" if p.frequency > 0 else "")


def _dof(nu: float) -> str:
    return "∞" if not math.isfinite(nu) or nu > 1e7 else significant(nu, 3) if nu >= 100 else f"{nu:.1f}"


def _bytes(data: bytes) -> str:
    """Bytes on the wire as text: printable ASCII as it is, the rest escaped."""
    return "".join(chr(b) if 32 <= b < 127 else {10: "\\n", 13: "\\r", 9: "\\t"}.get(b, f"\\x{b:02x}")
                   for b in data)


# -- the points table ------------------------------------------------------------------------------
FAIL_ROW = QColor("#ffebee")
FAIL_CELL = (QColor("#c62828"), QColor("#ffffff"))
PASS_CELL = (QColor("#2e7d32"), QColor("#ffffff"))
CONDITIONAL_CELL = (QColor("#f9a825"), QColor("#212121"))


class PointsModel(QAbstractTableModel):
    """Every point of the run: function, nominal, indication, error, U, k,
    TUR, limits, decision; rows of points not conforming marked."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.points: list[PointResult] = []

    @staticmethod
    def headers() -> list[str]:
        return ["#", tr("Phase"), tr("Function"), tr("Nominal"), tr("Indication"), tr("Error"), "U", "k",
                tr("TUR"), tr("Lower limit"), tr("Upper limit"), tr("Decision")]

    def set_points(self, points: list[PointResult]) -> None:
        self.beginResetModel()
        self.points = points
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.points)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.headers())

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers()[section]
        return None

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        if self.points:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.points) - 1, self.columnCount() - 1))

    def text(self, p: PointResult, column: int) -> str:
        u, unit, rng = p.expanded_uncertainty, p.unit, p.range
        match column:
            case 0:
                return str(p.index + 1)
            case 1:
                return phase_text(p.phase)
            case 2:
                return p.function + (f" ({p.label})" if p.label else "")
            case 3:
                return nominal_text(p)
            case 4:
                return format_value(p.indication, unit, rng, u)
            case 5:
                return format_error(p.error, unit, u)
            case 6:
                return format_uncertainty(u, unit)
            case 7:
                return f"{p.coverage_factor:.2f}"
            case 8:
                return format_tur(p.tur)
            case 9:
                return format_value(p.lower_limit, unit, rng, u) if math.isfinite(p.lower_limit) else "—"
            case 10:
                return format_value(p.upper_limit, unit, rng, u) if math.isfinite(p.upper_limit) else "—"
            case 11:
                return decision_text(str(p.decision))
        return ""

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        p = self.points[index.row()]
        c = index.column()
        bad = p.decision in NOT_CONFORMING
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(p, c)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter if c in (0, 7, 8, 11) else
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) if c not in (1, 2) else None
        if c == 11 and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            bg, fg = FAIL_CELL if bad else CONDITIONAL_CELL if str(p.decision).startswith("conditional") \
                else PASS_CELL
            return QBrush(bg if role == Qt.ItemDataRole.BackgroundRole else fg)
        if role == Qt.ItemDataRole.BackgroundRole and bad:
            return QBrush(FAIL_ROW)
        if role == Qt.ItemDataRole.FontRole and c == 11:
            f = QFont()
            f.setBold(True)
            return f
        return None


class ReasonDialog(QDialog):
    """Why the run is rejected: the reason is required (OK stays disabled without one)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rejectReason")
        self.setWindowTitle(tr("Reject the run"))
        self.text = QPlainTextEdit()
        self.text.setObjectName("reason")
        self.text.setTabChangesFocus(True)
        self.text.setPlaceholderText(tr("Why is the run rejected? The technician reads this."))
        label = QLabel(tr("&Reason (required):"))
        label.setBuddy(self.text)
        self.buttons = QDialogButtonBox()
        ok, cancel = QPushButton(tr("&Reject")), QPushButton()
        self.buttons.addButton(ok, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(cancel, QDialogButtonBox.ButtonRole.RejectRole)
        ok.setDefault(True)
        ok.setObjectName("confirmReject")
        cancel.setText(tr("Cancel"))
        ok.setEnabled(False)
        self.text.textChanged.connect(lambda: ok.setEnabled(bool(self.reason)))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.text)
        layout.addWidget(self.buttons)
        self.resize(480, 220)

    @property
    def reason(self) -> str:
        return " ".join(self.text.toPlainText().split())

    def accept(self) -> None:
        if self.reason:
            super().accept()


# -- the view ------------------------------------------------------------------------------------------
class ReviewView(QWidget):
    """The review of the completed run in ``run_path`` by ``user``.

    ``approved(number, pdf, dcc)`` once the certificate is issued;
    ``rejected(reason)`` once the run is rejected. ``key_path``: the
    signatory's private key (None: asked for when they approve)."""

    approved = pyqtSignal(str, Path, Path)
    rejected = pyqtSignal(str)

    def __init__(self, register: Register, user: User, run_path: Path, key_path: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewView")
        self.register = register
        self.user = user
        self.run_path = Path(run_path)
        self.key_path = key_path
        self.content: RunContent | None = None
        self.load_error = ""
        self.number = ""  # the certificate number, once approved here
        self._message: Callable[[], str] | None = None
        self._action = ""  # "approve" or "reject", while its process runs
        self._reason = ""
        self._chosen_key: Path | None = None  # the key file last chosen in the dialog

        self.process = CliProcess(self)
        self.process.succeeded.connect(self._process_succeeded)
        self.process.failed.connect(self._process_failed)

        # header
        self.title = wrapping(QLabel())
        self.title.setObjectName("reviewTitle")
        self.title.setStyleSheet("QLabel { font-weight: bold; font-size: 12pt; }")
        self.verdict = QLabel()
        self.verdict.setObjectName("verdict")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setMinimumWidth(180)
        self._field_labels: list[QLabel] = []
        self.fields: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        keys = ("procedure", "dut", "customer", "technician", "started", "finished", "rule", "file")
        for i, key in enumerate(keys):
            name, value = QLabel(), wrapping(QLabel())
            value.setObjectName(f"field:{key}")
            self._field_labels.append(name)
            self.fields[key] = value
            row, col = divmod(i, 2)
            grid.addWidget(name, row, 2 * col, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 2 * col + 1, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        head = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(self.title)
        left.addLayout(grid)
        head.addLayout(left, stretch=1)
        head.addWidget(self.verdict)

        # points and the chosen point's details
        self.model = PointsModel(self)
        self.table = QTableView()
        self.table.setObjectName("points")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        compact(self.table)
        self.table.setWordWrap(False)
        self.table.selectionModel().currentRowChanged.connect(  # type: ignore[union-attr]
            lambda cur, _prev: self.show_point(cur.row()))

        self.details = QTabWidget()
        self.details.setObjectName("pointDetails")
        self.budget = table(11, "budget")
        self.budget_total = QLabel()
        self.budget_total.setObjectName("budgetTotal")
        self.budget_total.setWordWrap(True)
        self.budget_total.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        budget_page = QWidget()
        bl = QVBoxLayout(budget_page)
        bl.setContentsMargins(4, 4, 4, 4)
        bl.addWidget(self.budget, stretch=1)
        bl.addWidget(self.budget_total)
        self.raw = table(4, "raw")
        self.raw_summary = QLabel()
        self.raw_summary.setObjectName("rawSummary")
        raw_page = QWidget()
        rl = QVBoxLayout(raw_page)
        rl.setContentsMargins(4, 4, 4, 4)
        rl.addWidget(self.raw, stretch=1)
        rl.addWidget(self.raw_summary)
        self.log = QPlainTextEdit()
        self.log.setObjectName("instrumentLog")
        self.log.setReadOnly(True)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        for page in (budget_page, raw_page, self.log):
            self.details.addTab(page, "")

        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("reviewSplit")
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([300, 220])
        split.setChildrenCollapsible(False)

        # the decision
        self.reason_label = wrapping(QLabel())
        self.reason_label.setObjectName("approvalBlocked")
        self.reason_label.setStyleSheet(
            "QLabel { background: #fff8e1; color: #e65100; padding: 4px 8px; border-radius: 3px; }")
        self.message = wrapping(QLabel())
        self.message.setObjectName("message")
        self.approve_button = QPushButton()
        self.approve_button.setObjectName("approve")
        self.approve_button.setMinimumSize(130, 36)
        self.approve_button.setStyleSheet(
            "QPushButton { background: #2e7d32; color: white; font-weight: bold; border-radius: 4px; "
            "padding: 6px 14px; } QPushButton:disabled { background: #cfd8dc; color: #90a4ae; }"
            " QPushButton:focus { border: 2px solid #212121; }")
        self.reject_button = QPushButton()
        self.reject_button.setObjectName("reject")
        self.reject_button.setMinimumSize(130, 36)
        self.reject_button.setStyleSheet(
            "QPushButton { background: #c62828; color: white; font-weight: bold; border-radius: 4px; "
            "padding: 6px 14px; } QPushButton:disabled { background: #cfd8dc; color: #90a4ae; }"
            " QPushButton:focus { border: 2px solid #212121; }")
        self.approve_button.clicked.connect(self.approve)
        self.reject_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        texts = QVBoxLayout()
        texts.addWidget(self.reason_label)
        texts.addWidget(self.message)
        bottom.addLayout(texts, stretch=1)
        bottom.addWidget(self.reject_button)
        bottom.addWidget(self.approve_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(split, stretch=1)
        layout.addLayout(bottom)
        self.setTabOrder(self.table, self.details)
        self.setTabOrder(self.details, self.reject_button)
        self.setTabOrder(self.reject_button, self.approve_button)

        self._built = True
        self.retranslate()
        self._load = Task(lambda: read_run_content(self.run_path))
        self._load.done.connect(self._loaded)
        self._load.failed.connect(self._load_failed)
        self._load.start()

    # -- state -----------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        """The run file has been read (or could not be)."""
        return self.content is not None or bool(self.load_error)

    @property
    def busy(self) -> bool:
        """An approval or a rejection is under way (its process runs)."""
        return self.process.running

    def wait(self, timeout_ms: int = APPROVAL_WAIT_MS) -> bool:
        """Wait for an approval or rejection under way to end (before the view goes away)."""
        return self.process.wait(timeout_ms)

    def blocked(self) -> str:
        """Why this user may not approve or reject this run now ("" when they may)."""
        u = self.user
        if u.role != "signatory":
            return tr("Only a signatory approves or rejects a run; you are signed in as a {role}.").format(
                role=role_name(u.role))
        if self.load_error:
            return tr("The run file cannot be read: {why}").format(why=self.load_error)
        c = self.content
        if c is None:
            return tr("Reading and verifying the run file…")
        name, written = c.technician()
        row = self.register.run(c.run_id)
        if u.name in (name, row["technician"] if row else "") or (written and written == u.full_name):
            return tr("You made this run: nobody approves their own run; another signatory reviews it.")
        if not c.verified:
            return tr("The run file does not verify, so it cannot be approved: {why}").format(why=c.verification)
        if c.status != "completed":
            return tr("The run is {status}, not completed; only a completed run is reviewed.").format(
                status=status_text(c.status))
        if row is not None and row["status"] == "approved":
            issued = [x.number for x in self.register.certificates_of_run(c.run_id) if x.status == "issued"]
            return tr("This run is approved already: certificate {number}.").format(number=", ".join(issued))
        if row is not None and row["status"] == "rejected":
            return tr("This run was rejected: {reason}").format(reason=row["reason"])
        return ""

    def _update_controls(self) -> None:
        try:
            why = self.blocked()
        except CalstationError as e:
            why = str(e)
        busy = self.busy
        self.approve_button.setEnabled(not why and not busy)
        self.reject_button.setEnabled(not why and not busy)
        self.reason_label.setText(why)
        self.reason_label.setVisible(bool(why))

    def _say(self, message: Callable[[], str] | None, error: bool = False) -> None:
        self._message = message
        text = message() if message is not None else ""
        self.message.setText(text)
        self.message.setStyleSheet("QLabel { color: #c62828; }" if error else "QLabel { color: #1b5e20; }")
        self.message.setVisible(bool(text))

    # -- text ----------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        names = (tr("Procedure"), tr("DUT"), tr("Customer"), tr("Technician"), tr("Started"), tr("Finished"),
                 tr("Decision rule"), tr("Run file"))
        for label, name in zip(self._field_labels, names, strict=True):
            label.setText(f"<b>{name}</b>")
        for i, name in enumerate((tr("&Budget"), tr("Ra&w readings"), tr("Instrument &log"))):
            self.details.setTabText(i, name)
        self.budget.setHorizontalHeaderLabels([
            tr("Component"), tr("Type"), tr("Distribution"), tr("Half-width"), tr("Divisor"),
            tr("Sensitivity"), "u", "|c|·u", tr("Share of u_c²"), "ν", tr("Source")])
        self.raw.setHorizontalHeaderLabels([tr("Reading"), tr("Time (s)"), tr("Channel"), tr("Value")])
        self.approve_button.setText(tr("&Approve…"))
        self.reject_button.setText(tr("Re&ject…"))
        self.model.retranslate()
        self._header()
        current = self.table.currentIndex()
        self.show_point(current.row() if current.isValid() else -1)
        self._say(self._message, error=self.message.styleSheet().find("c62828") >= 0)
        self._update_controls()

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    # -- content ---------------------------------------------------------------------------------------
    def _loaded(self, content: Any) -> None:
        self.content = content
        self.model.set_points(content.points)
        self.table.resizeColumnsToContents()
        for c in range(self.model.columnCount()):
            self.table.setColumnWidth(c, self.table.columnWidth(c) + 10)
        self._header()
        if content.points:
            self.table.selectRow(0)
        self._update_controls()

    def _load_failed(self, message: str) -> None:
        self.load_error = message
        self._header()
        self._say(lambda: message, error=True)
        self._update_controls()

    def _header(self) -> None:
        c = self.content
        f = self.fields
        if c is None:
            self.title.setText(tr("Review of {file}").format(file=self.run_path.name))
            for key in f:
                f[key].setText("")
            f["file"].setText(str(self.run_path))
            self._verdict("")
            return
        proc, job = c.procedure, c.job
        self.title.setText(tr("Review: {title}").format(title=proc.get("title") or proc.get("name", "")))
        f["procedure"].setText(f"{proc.get('name', '')} {proc.get('version', '')}")
        dut = " ".join(v for v in (job.get("dut_manufacturer", ""), job.get("dut_model", ""),
                                   tr("serial {serial}").format(serial=job["dut_serial"])
                                   if job.get("dut_serial") else "") if v)
        asset = job.get("dut_asset_id", "")
        f["dut"].setText(f"{dut} ({asset})" if asset else dut)
        f["customer"].setText(job.get("customer_name", ""))
        user, written = c.technician()
        f["technician"].setText(f"{written} ({user})" if user and written and user != written else written or user)
        f["started"].setText(when(c.attrs.get("created", "")))
        f["finished"].setText(when(c.attrs.get("finished", "")))
        f["rule"].setText(c.attrs.get("decision_rule", ""))
        f["rule"].setToolTip(c.attrs.get("decision_statement", ""))
        integrity = (tr("intact") if c.verified else tr("DOES NOT VERIFY")) + ": " + \
            c.verification.removeprefix(f"{c.path}: ")
        f["file"].setText(f"{c.path}\n{integrity}")
        f["file"].setToolTip(c.verification)
        self._verdict(c.verdict())

    def _verdict(self, verdict: str) -> None:
        kind = verdict_kind(verdict)
        bg, fg = VERDICT_COLOURS.get(kind, ("#eceff1", "#263238"))
        self.verdict.setText(tr("Verdict as left") + "\n" + (verdict_text(verdict) if verdict else "…"))
        self.verdict.setStyleSheet(f"QLabel {{ background: {bg}; color: {fg}; font-weight: bold; "
                                   "font-size: 14pt; padding: 8px 16px; border-radius: 4px; }")

    def show_point(self, row: int) -> None:
        """The point in ``row``: its budget, raw readings and instrument log."""
        c = self.content
        if c is None or not 0 <= row < len(c.points):
            fill(self.budget, [])
            fill(self.raw, [])
            self.budget_total.setText("")
            self.raw_summary.setText("")
            self.log.setPlainText("")
            return
        p = c.points[row]
        unit = p.unit
        budget = c.budgets.get(p.index, [])
        u2 = p.u_combined ** 2
        fill(self.budget, [[b.name, b.kind, b.distribution, format_significant(b.half_width, unit, 3),
                            significant(b.divisor, 4), significant(b.sensitivity, 3),
                            format_significant(b.u, unit), format_significant(b.contribution, unit),
                            f"{100.0 * b.contribution ** 2 / u2 if u2 > 0 else 0.0:.1f} %", _dof(b.dof),
                            b.description] for b in budget])
        self.budget_total.setText(
            tr("Point {n}: {where}. u_c = {uc}, ν_eff = {nu}, k = {k}, U = {U}, TUR {tur}").format(
                n=p.index + 1, where=nominal_text(p), uc=format_significant(p.u_combined, unit),
                nu=_dof(p.nu_eff), k=f"{p.coverage_factor:.2f}", U=format_uncertainty(p.expanded_uncertainty, unit),
                tur=format_tur(p.tur))
            if budget else tr("Point {n}: no budget recorded.").format(n=p.index + 1))

        rows: list[list[str]] = []
        for channel, name in ((0, tr("DUT")), (1, tr("reference"))):
            times, values = c.readings(p.index, channel)
            for i, (t, v) in enumerate(zip(times, values, strict=True)):
                rows.append([str(i + 1), f"{t - p.t_start:+.3f}", name, f"{v:.9g} {unit}"])
        fill(self.raw, rows)
        self.raw_summary.setText(tr("{n} readings averaged; s = {s}").format(
            n=p.n, s=format_significant(p.std_dev, unit)))

        lines = [f"{e.time - p.t_start:+10.4f} s  {e.instrument:<10} {'→' if e.sent else '←'} {_bytes(e.data)}"
                 for e in c.exchanges(p.t_start, p.t_end)]
        head = tr("Point {n}: {count} exchanges from {start} to {end} (times from the point's start)").format(
            n=p.index + 1, count=len(lines), start="0 s", end=f"{p.t_end - p.t_start:.3f} s")
        self.log.setPlainText("\n".join([head, "", *lines]))

    # -- approve --------------------------------------------------------------------------------------
    def approve(self) -> None:
        """Approve: the key file (asked for when not given), its passphrase
        when it has one, then ``calstation approve`` in its own process."""
        if self.blocked() or self.busy:
            return
        if self.key_path is not None:
            self._key_chosen(str(self.key_path))
            return
        from station.cli_register import default_key_path

        offered = self._chosen_key or default_key_path(self.user.name)
        dialog = QFileDialog(self, tr("Your private key (it signs the certificate)"),
                             str(offered.parent if offered.parent.is_dir() else Path.home()),
                             tr("Private key (*.pem);;All files (*)"))
        dialog.setObjectName("keyFile")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        if offered.is_file():
            dialog.selectFile(str(offered))
        dialog.fileSelected.connect(self._key_chosen)
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def _key_chosen(self, path: str) -> None:
        from cryptography.hazmat.primitives import serialization

        from station import signing

        key = Path(path)
        if self.key_path is None:
            self._chosen_key = key  # offered again next time, asked for again
        try:
            data = key.read_bytes()
        except OSError as e:
            why = e.strerror or str(e)
            self._say(lambda: tr("{file}: the key file cannot be read ({why}).").format(file=key, why=why),
                      error=True)
            return
        try:
            serialization.load_pem_private_key(data, None)
        except TypeError:  # protected by a passphrase
            self._ask_passphrase(key)
            return
        except ValueError:
            pass  # signing says what is wrong with it, below
        try:
            signer = signing.load_private_key(key, None)
            kid = signing.key_id(signing.public_text(signer.public_key()))
        except CalstationError as e:
            message = str(e)
            self._say(lambda: message, error=True)
            return
        if self.user.key_id and kid != self.user.key_id:
            self._say(lambda: tr("{file} is not your registered key (key id {kid}, yours is {yours}); "
                                 "choose your own key file.").format(file=key, kid=kid, yours=self.user.key_id),
                      error=True)
            return
        self._run_approve(key, None)

    def _ask_passphrase(self, key: Path) -> None:
        dialog = QInputDialog(self)
        dialog.setObjectName("passphrase")
        dialog.setWindowTitle(tr("Passphrase"))
        dialog.setLabelText(tr("The passphrase of {file}:").format(file=key.name))
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setOkButtonText(tr("&Approve"))
        dialog.setCancelButtonText(tr("Cancel"))
        dialog.textValueSelected.connect(lambda text: self._run_approve(key, text))
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def _run_approve(self, key: Path, passphrase: str | None) -> None:
        if self.blocked() or self.busy:
            return
        self._action = "approve"
        self.process.start(["approve", str(self.run_path), "--user", self.user.name, "--key", str(key)],
                           env={"CALSTATION_DB": self.register.url,
                                "CALSTATION_KEY_PASSPHRASE": passphrase or ""})
        self._say(lambda: tr("Approving: numbering, rendering and signing the certificate…"))
        self._update_controls()

    # -- reject -------------------------------------------------------------------------------------------
    def reject(self) -> None:
        """Reject, with the reason asked for in a dialog."""
        if self.blocked() or self.busy:
            return
        dialog = ReasonDialog(self)
        dialog.accepted.connect(lambda: self._run_reject(dialog.reason))
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def _run_reject(self, reason: str) -> None:
        if not reason or self.blocked() or self.busy:
            return
        self._action = "reject"
        self._reason = reason
        self.process.start(["reject", str(self.run_path), "--user", self.user.name, "--reason", reason],
                           env={"CALSTATION_DB": self.register.url})
        self._say(lambda: tr("Rejecting the run…"))
        self._update_controls()

    # -- the process's end ------------------------------------------------------------------------------------
    def _process_succeeded(self, out: str, err: str) -> None:
        action, self._action = self._action, ""
        if action == "approve":
            number = out.strip().splitlines()[0].strip() if out.strip() else ""
            files = dict(line.split(": ", 1) for line in err.splitlines() if ": " in line)
            pdf = Path(files.get("certificate", str(self.run_path.parent / f"{number}.pdf")).strip())
            dcc = Path(files.get("DCC", str(self.run_path.parent / f"{number}.dcc.xml")).strip())
            self.number = number
            self._say(lambda: tr("Certificate {number} issued: {pdf}").format(number=number, pdf=pdf))
            self._update_controls()
            self.approved.emit(number, pdf, dcc)
        elif action == "reject":
            reason = self._reason
            self._say(lambda: tr("The run was rejected: {reason}").format(reason=reason))
            self._update_controls()
            self.rejected.emit(reason)

    def _process_failed(self, message: str) -> None:
        action, self._action = self._action, ""
        if action == "approve":
            self._say(lambda: tr("Not approved: {why}").format(why=message), error=True)
        else:
            self._say(lambda: tr("Not rejected: {why}").format(why=message), error=True)
        self._update_controls()
