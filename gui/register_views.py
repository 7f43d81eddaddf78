"""The lab's register, read-only: standards and their standing, DUTs,
customers, certificates, and a DUT's history (its calibrations and each
point's error over time).

Also the small pieces the other register views share: a standard's
standing in words and colour, a run's status and verdict in words, where a
certificate's files are, and a read-only table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import sqlalchemy as sa
from PyQt6.QtCore import QEvent, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import tr
from station.certificates.numbers import format_level
from station.register import schema as S
from station.register.core import DUE_SOON_DAYS, Asset, Calibration, CertificateRow, Register, User

#: The certificates tab shows the latest this many.
CERTIFICATES_SHOWN = 1000
#: The history plot names its lines in a legend up to this many (the point chooser names them all).
MAX_LEGEND = 8

# -- standing, status, verdict in words and colour -------------------------------------
#: (background, text) of a standard's standing
STANDING_COLOURS: dict[str, tuple[str, str]] = {
    "in calibration": ("#c8e6c9", "#1b5e20"),
    "due soon": ("#ffe0b2", "#e65100"),
    "overdue": ("#ffcdd2", "#b71c1c"),
    "no record": ("#f8bbd0", "#880e4f"),
    "retired": ("#e0e0e0", "#616161"),
}
#: (background, text) of a verdict
VERDICT_COLOURS: dict[str, tuple[str, str]] = {
    "pass": ("#2e7d32", "#ffffff"),
    "conditional pass": ("#f9a825", "#212121"),
    "fail": ("#c62828", "#ffffff"),
}


def standing_of(asset: Asset, record: Calibration | None, today: dt.date) -> tuple[str, str]:
    """(kind, words) of a standard's standing on ``today``: kind is a key of
    `STANDING_COLOURS` (the same rule as the register's `due`)."""
    if asset.status == "retired":
        return "retired", tr("retired")
    if record is None:
        return "no record", tr("no calibration record")
    due = dt.date.fromisoformat(record.due)
    if due < today:
        return "overdue", tr("overdue since {date}").format(date=record.due)
    if (due - today).days <= DUE_SOON_DAYS:
        return "due soon", tr("due soon ({date})").format(date=record.due)
    return "in calibration", tr("in calibration")


def verdict_kind(verdict: str) -> str:
    v = verdict.strip().lower()
    return "fail" if v in ("fail", "conditional fail") else "conditional pass" if v.startswith("conditional") \
        else "pass" if v == "pass" else ""


def verdict_text(verdict: str) -> str:
    return {"pass": tr("PASS"), "conditional pass": tr("CONDITIONAL PASS"),
            "fail": tr("FAIL")}.get(verdict_kind(verdict), verdict)


def status_text(status: str) -> str:
    """A run's or a certificate's status in the register, in words."""
    return {"completed": tr("awaiting approval"), "approved": tr("approved"), "rejected": tr("rejected"),
            "issuing": tr("issuing"), "issued": tr("issued"), "void": tr("void"),
            "running": tr("running"), "aborted": tr("aborted"), "failed": tr("failed"),
            "active": tr("active")}.get(status, status)


def when(instant: str) -> str:
    """An ISO instant (UTC) of the register or a run file, in local time to the minute;
    a date as it is."""
    try:
        t = dt.datetime.fromisoformat(instant.replace("Z", "+00:00"))
    except ValueError:
        return instant
    if t.tzinfo is None:
        return instant[:16].replace("T", " ")
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


def epoch(instant: str) -> float:
    """An ISO instant (UTC) as seconds since the epoch; NaN when it is not one."""
    try:
        t = dt.datetime.fromisoformat(instant.replace("Z", "+00:00"))
    except ValueError:
        return math.nan
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def certificate_files(register: Register, cert: CertificateRow,
                      folders: Sequence[Path] = ()) -> tuple[Path | None, Path | None]:
    """Where a certificate's PDF and DCC are: beside its run file (where
    `calstation approve` writes them), else in one of ``folders``. None for
    a file found in neither."""
    run = register.run(cert.run_id)
    places = ([Path(run["path"]).parent] if run is not None else []) + list(folders)

    def find(name: str) -> Path | None:
        return next((p / name for p in places if (p / name).is_file()), None)

    return find(f"{cert.number}.pdf"), find(f"{cert.number}.dcc.xml")


def wrapping(label: QLabel) -> QLabel:
    """A label of one or more lines that never widens its window: it wraps
    at the width it is given (a long path or number without spaces is cut
    at the edge, and is whole in the tooltip and when selected)."""
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    label.setSizePolicy(policy)
    label.setMinimumWidth(1)
    return label


def compact(view: QTableView) -> None:
    """Rows one line of text high, no row numbers."""
    rows = view.verticalHeader()
    assert rows is not None
    rows.setVisible(False)
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(view.fontMetrics().height() + 8)


def table(columns: int, object_name: str) -> QTableWidget:
    """A read-only table, whole rows selected."""
    t = QTableWidget(0, columns)
    t.setObjectName(object_name)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setAlternatingRowColors(True)
    compact(t)
    t.horizontalHeader().setStretchLastSection(True)  # type: ignore[union-attr]
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # type: ignore[union-attr]
    t.setWordWrap(False)
    return t


def fill(t: QTableWidget, rows: Sequence[Sequence[str]], colours: Sequence[dict[int, tuple[str, str]]] = (),
         data: Sequence[Any] = ()) -> None:
    """Put ``rows`` in ``t``; ``colours[r]``: column -> (background, text);
    ``data[r]``: kept with the row's first cell (Qt.UserRole)."""
    t.clearContents()
    t.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c == 0 and r < len(data):
                item.setData(Qt.ItemDataRole.UserRole, data[r])
            if r < len(colours) and c in colours[r]:
                bg, fg = colours[r][c]
                item.setBackground(QBrush(QColor(bg)))
                item.setForeground(QBrush(QColor(fg)))
            t.setItem(r, c, item)
    t.resizeColumnsToContents()
    for c in range(t.columnCount() - 1):  # room for the long ones, but not the whole screen
        t.setColumnWidth(c, min(t.columnWidth(c) + 12, 360))


def row_data(t: QTableWidget, row: int) -> Any:
    item = t.item(row, 0)
    return None if item is None else item.data(Qt.ItemDataRole.UserRole)


# -- the history plot -------------------------------------------------------------------------
@dataclass
class Series:
    """One point of a DUT's calibrations, over time."""

    name: str
    unit: str
    t: list[float]
    error: list[float]
    u: list[float]  # expanded uncertainty
    tolerance: list[float]  # half-width of the limits (0: none)


def history_series(history: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]]) -> list[Series]:
    """Each point of the calibrations in ``history`` (`Register.history`),
    one series per point, in the order they first appear: a labelled point
    by its label, else by its place in the procedure, function and nominal
    (the register keeps no range, and a procedure may take the same nominal
    on several ranges); as-left points apart."""
    out: dict[tuple[Any, ...], Series] = {}
    for run, points in history:
        t = epoch(run["started"] or run["finished"])
        for p in points:
            if p["label"]:
                key: tuple[Any, ...] = (p["phase"], p["label"])
                name = p["label"]
            else:
                key = (p["phase"], p["idx"], p["function"], p["nominal"], p["unit"])
                name = f"{p['idx'] + 1}: {p['function']} {format_level(p['nominal'], p['unit'])}"
            if p["phase"] == "as_left":
                name += " " + tr("(as left)")
            s = out.setdefault(key, Series(name, p["unit"], [], [], [], []))
            s.t.append(t)
            s.error.append(float(p["error"]))
            s.u.append(float(p["expanded_uncertainty"]))
            s.tolerance.append(float(p["tolerance"]))
    return list(out.values())



class _DateAxis(pg.DateAxisItem):  # type: ignore[misc]
    """Dates as ISO 8601 (2026-11-27, 14:05), the same in every language:
    pyqtgraph's own labels name days and months in English."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        import datetime as _dt

        fmt = "%Y-%m-%d" if spacing >= 86400 else "%m-%d %H:%M" if spacing >= 60 else "%H:%M:%S"
        out = []
        for v in values:
            try:
                out.append(_dt.datetime.fromtimestamp(v).strftime(fmt))
            except (OverflowError, OSError, ValueError):
                out.append("")
        return out

class HistoryPlot(QWidget):
    """Each point's error over time, with U as bars and the tolerance as a
    band: all points in % of their tolerance (the band is ±100 %), or one
    point in its unit (the band its ±tolerance)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: list[Series] = []
        self.chooser = QComboBox()
        self.chooser.setObjectName("historyPoint")
        self.chooser.currentIndexChanged.connect(lambda _: self.draw())
        self.chooser_label = QLabel()
        self.chooser_label.setBuddy(self.chooser)
        self.widget: Any = pg.PlotWidget(background="w", axisItems={"bottom": _DateAxis()})
        self.widget.setObjectName("historyPlot")
        item = self.widget.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setMenuEnabled(False)
        for axis in ("left", "bottom"):
            ax = item.getAxis(axis)
            ax.setPen(pg.mkPen("#424242"))
            ax.setTextPen(pg.mkPen("#212121"))
        self.legend: Any = item.addLegend(offset=(10, 10), labelTextColor="#212121",
                                          brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen("#9e9e9e"))
        top = QHBoxLayout()
        top.addWidget(self.chooser_label)
        top.addWidget(self.chooser, stretch=1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.widget, stretch=1)
        self.retranslate()

    def retranslate(self) -> None:
        self.chooser_label.setText(tr("&Point"))
        self.set_series(self.series)

    def set_series(self, series: list[Series]) -> None:
        keep = self.chooser.currentIndex()
        self.series = series
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItem(tr("All points (error in % of tolerance)"))
        for s in series:
            self.chooser.addItem(s.name)
        self.chooser.setCurrentIndex(keep if 0 <= keep < self.chooser.count() else 0)
        self.chooser.blockSignals(False)
        self.draw()

    def draw(self) -> None:
        item = self.widget.getPlotItem()
        item.clear()
        self.legend.clear()
        which = self.chooser.currentIndex()
        chosen = self.series if which <= 0 else [self.series[which - 1]]
        relative = which <= 0
        self.legend.setVisible(len(chosen) <= MAX_LEGEND)  # the chooser names them all
        xs: list[float] = []
        for i, s in enumerate(chosen):
            t = np.array(s.t)
            tol = np.array(s.tolerance)
            err, u = np.array(s.error), np.array(s.u)
            if relative:
                keep = tol > 0
                t, err, u = t[keep], 100.0 * err[keep] / tol[keep], 100.0 * u[keep] / tol[keep]
            if not len(t):
                continue
            colour = pg.intColor(i, hues=max(len(chosen), 1), sat=200, maxValue=200) if len(chosen) > 1 else \
                QColor("#1565c0")
            item.addItem(pg.ErrorBarItem(x=t, y=err, height=2.0 * u, beam=0.0, pen=pg.mkPen(colour, width=1.5)))
            item.addItem(pg.PlotDataItem(t, err, pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=7,
                                         symbolBrush=colour, symbolPen=pg.mkPen("#212121"), name=s.name))
            xs.extend(t.tolist())
        if not xs:
            item.setTitle(tr("No calibrations of this DUT in the register"), color="#212121", size="10pt")
            return
        pad = max((max(xs) - min(xs)) * 0.05, 86400.0)
        lo, hi = min(xs) - pad, max(xs) + pad
        band = QColor(STANDING_COLOURS["in calibration"][0])
        band.setAlpha(140)
        if relative:
            upper, lower = ([lo, hi], [100.0, 100.0]), ([lo, hi], [-100.0, -100.0])
            item.setTitle(tr("Error in % of tolerance; bars: U; band: the tolerance"), color="#212121",
                          size="10pt")
            item.setLabel("left", tr("Error (% of tolerance)"), color="#212121")
        else:
            s = chosen[0]
            x = np.array([lo, *s.t, hi])
            tol = np.array([s.tolerance[0], *s.tolerance, s.tolerance[-1]])
            order = np.argsort(x, kind="stable")
            upper, lower = (x[order].tolist(), tol[order].tolist()), (x[order].tolist(), (-tol[order]).tolist())
            item.setTitle(tr("Error of {point}; bars: U; band: the tolerance").format(point=s.name),
                          color="#212121", size="10pt")
            item.setLabel("left", tr("Error"), units=s.unit, color="#212121")
        up = pg.PlotCurveItem(*upper, pen=pg.mkPen("#2e7d32", width=1, style=Qt.PenStyle.DashLine))
        down = pg.PlotCurveItem(*lower, pen=pg.mkPen("#2e7d32", width=1, style=Qt.PenStyle.DashLine))
        fill_item = pg.FillBetweenItem(up, down, brush=pg.mkBrush(band))
        fill_item.setZValue(-10)
        for extra in (fill_item, up, down):
            item.addItem(extra)
        item.setLabel("bottom", tr("Date of calibration"), color="#212121")
        item.setXRange(lo, hi, padding=0)

    def points_drawn(self) -> int:
        """Markers on the plot now (one per point of each calibration shown)."""
        return sum(len(d.xData) for d in self.widget.getPlotItem().listDataItems()
                   if isinstance(d, pg.PlotDataItem) and d.xData is not None)


# -- the register view ------------------------------------------------------------------------------
class RegisterView(QWidget):
    """The register, read-only, in tabs. ``openCertificate(pdf)`` when a
    certificate is opened (double-click or Enter on its row, or Open)."""

    openCertificate = pyqtSignal(Path)  # noqa: N815 - Qt's naming

    def __init__(self, register: Register, user: User, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("registerView")
        self.register = register
        self.user = user
        self.today = dt.date.today()

        self.tabs = QTabWidget()
        self.tabs.setObjectName("registerTabs")
        self.standards = table(7, "standards")
        self.duts = table(7, "duts")
        self.customers = table(4, "customers")
        self.certificates = table(7, "certificates")
        self.certificates.activated.connect(lambda _: self.open_certificate())
        self.duts.activated.connect(lambda idx: self.show_history(str(row_data(self.duts, idx.row()))))

        self.open_button = QPushButton()
        self.open_button.setObjectName("openCertificate")
        self.open_button.clicked.connect(self.open_certificate)
        self.certificate_message = wrapping(QLabel())
        self.certificate_message.setStyleSheet("QLabel { color: #c62828; }")
        cert_page = QWidget()
        cert_layout = QVBoxLayout(cert_page)
        cert_layout.addWidget(self.certificates, stretch=1)
        row = QHBoxLayout()
        row.addWidget(self.certificate_message, stretch=1)
        row.addWidget(self.open_button)
        cert_layout.addLayout(row)

        self.dut_choice = QComboBox()
        self.dut_choice.setObjectName("historyDut")
        self.dut_choice.currentIndexChanged.connect(lambda _: self._history())
        self.dut_label = QLabel()
        self.dut_label.setBuddy(self.dut_choice)
        self.history_table = table(7, "history")
        self.plot = HistoryPlot()
        history_page = QWidget()
        hl = QVBoxLayout(history_page)
        top = QHBoxLayout()
        top.addWidget(self.dut_label)
        top.addWidget(self.dut_choice, stretch=1)
        hl.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.history_table)
        split.addWidget(self.plot)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([200, 360])
        hl.addWidget(split, stretch=1)

        for page in (self.standards, self.duts, self.customers, cert_page, history_page):
            self.tabs.addTab(page, "")
        self.title = QLabel()
        self.title.setObjectName("registerTitle")
        self.title.setStyleSheet("QLabel { font-weight: bold; }")
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh)
        head = QHBoxLayout()
        head.addWidget(self.title, stretch=1)
        head.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(head)
        layout.addWidget(self.tabs, stretch=1)
        self._built = True
        self.retranslate()

    # -- text ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        for i, name in enumerate((tr("&Standards"), tr("&DUTs"), tr("C&ustomers"), tr("&Certificates"),
                                  tr("DUT &history"))):
            self.tabs.setTabText(i, name)
        self.standards.setHorizontalHeaderLabels([
            tr("Asset"), tr("Manufacturer"), tr("Model"), tr("Serial"), tr("Latest certificate"), tr("Due"),
            tr("Standing")])
        self.duts.setHorizontalHeaderLabels([
            tr("Asset"), tr("Manufacturer"), tr("Model"), tr("Serial"), tr("Owner"), tr("Location"),
            tr("Calibrations")])
        self.customers.setHorizontalHeaderLabels([tr("Code"), tr("Name"), tr("Address"), tr("Contact")])
        self.certificates.setHorizontalHeaderLabels([
            tr("Number"), tr("Approved"), tr("Approver"), tr("DUT"), tr("Customer"), tr("Status"), tr("Note")])
        self.history_table.setHorizontalHeaderLabels([
            tr("Started"), tr("Procedure"), tr("Technician"), tr("Verdict"), tr("Status"), tr("Certificate"),
            tr("Points")])
        self.open_button.setText(tr("&Open certificate"))
        self.refresh_button.setText(tr("Re&fresh"))
        self.dut_label.setText(tr("D&UT"))
        self.title.setText(tr("The register at {where}").format(where=self.register.where))
        self.plot.retranslate()
        self.refresh()

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    # -- content --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the register again."""
        self.today = dt.date.today()
        self._standards()
        self._duts()
        self._customers()
        self._certificates()
        self._history()

    def _standards(self) -> None:
        rows, colours = [], []
        for a in self.register.assets("standard"):
            c = self.register.latest_calibration(a.asset_id)
            kind, words = standing_of(a, c, self.today)
            rows.append([a.asset_id, a.manufacturer, a.model, a.serial, c.certificate if c else "",
                         c.due if c else "", words])
            colours.append({6: STANDING_COLOURS[kind]})
        fill(self.standards, rows, colours, [r[0] for r in rows])

    def _duts(self) -> None:
        counts = self._runs_per_dut()
        duts = self.register.assets("dut")
        fill(self.duts, [[a.asset_id, a.manufacturer, a.model, a.serial, a.owner, a.location,
                          str(counts.get(a.asset_id, 0))] for a in duts], data=[a.asset_id for a in duts])
        keep = self.dut_choice.currentData()
        self.dut_choice.blockSignals(True)
        self.dut_choice.clear()
        for a in duts:
            self.dut_choice.addItem(f"{a.asset_id}: {a.manufacturer} {a.model}, {a.serial}", a.asset_id)
        found = self.dut_choice.findData(keep)
        self.dut_choice.setCurrentIndex(found if found >= 0 else 0 if duts else -1)
        self.dut_choice.blockSignals(False)

    def _runs_per_dut(self) -> dict[str, int]:
        q = sa.select(S.runs.c.dut, sa.func.count()).group_by(S.runs.c.dut)
        with self.register.engine.connect() as conn:
            return {str(d): int(n) for d, n in conn.execute(q)}

    def _customers(self) -> None:
        fill(self.customers, [[c.code, c.name, " ".join(c.address.split()), c.contact]
                              for c in self.register.customers()])

    def _certificates(self) -> None:
        names = {u.name: u.full_name for u in self.register.users()}
        certs = self.register.recent_certificates(CERTIFICATES_SHOWN)
        rows, colours = [], []
        for c in certs:
            rows.append([c.number, when(c.approved_at), names.get(c.approver, c.approver), c.dut, c.customer,
                         status_text(c.status), c.note])
            colours.append({5: ("#ffcdd2", "#b71c1c")} if c.status == "void" else {})
        fill(self.certificates, rows, colours, certs)

    def _history(self) -> None:
        dut = self.dut_choice.currentData()
        history = self.register.history(str(dut)) if dut else []
        procedures = self._procedures()
        names = {u.name: u.full_name for u in self.register.users()}
        rows, colours = [], []
        for run, points in history:
            certs = [c.number for c in self.register.certificates_of_run(run["run_id"]) if c.status == "issued"]
            kind = verdict_kind(run["verdict"])
            rows.append([when(run["started"]), procedures.get(run["procedure"], ""),
                         names.get(run["technician"], run["technician"]), verdict_text(run["verdict"]),
                         status_text(run["status"]), ", ".join(certs), str(len(points))])
            colours.append({3: VERDICT_COLOURS[kind]} if kind else {})
        fill(self.history_table, rows, colours, [Path(r["path"]) for r, _ in history])
        self.plot.set_series(history_series(history))

    def _procedures(self) -> dict[int, str]:
        with self.register.engine.connect() as conn:
            return {int(r.id): f"{r.name} {r.version}" for r in conn.execute(
                sa.select(S.procedures.c.id, S.procedures.c.name, S.procedures.c.version))}

    # -- actions --------------------------------------------------------------------------
    def show_history(self, asset_id: str) -> None:
        """The DUT history tab, for ``asset_id``."""
        i = self.dut_choice.findData(asset_id)
        if i >= 0:
            self.dut_choice.setCurrentIndex(i)
        self.tabs.setCurrentIndex(4)

    def open_certificate(self) -> None:
        rows = self.certificates.selectionModel().selectedRows()  # type: ignore[union-attr]
        if not rows:
            self.certificate_message.setText(tr("Choose a certificate first."))
            return
        cert: CertificateRow = row_data(self.certificates, rows[0].row())
        pdf, _ = certificate_files(self.register, cert)
        if pdf is None:
            self.certificate_message.setText(
                tr("The PDF of {number} is not beside its run file; it was saved where it was approved.")
                .format(number=cert.number))
            return
        self.certificate_message.setText("")
        self.openCertificate.emit(pdf)
