"""The run window's parts: results table model, error plot, prompt dialog.

Every view here is fed from engine events (`RunStarted`, `PlanChecked`,
`PointStarted`, `PointDone`); none reads the run file. A point's
uncertainty budget, which its row's tooltip shows, comes with its
`PointDone` (and, for the points of an earlier session of a resumed run,
from the run file when the run ends, `ResultsModel.set_budgets`). Numbers are written as the certificate
writes them (`station.certificates.numbers`). The plot keeps at most
`ErrorPlot.max_points` points, the table one row per planned point.
"""

from __future__ import annotations

import html
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PyQt6.QtGui import QBrush, QColor, QFont
from PyQt6.QtWidgets import QMessageBox, QPushButton, QVBoxLayout, QWidget

from station.certificates.numbers import (
    format_error,
    format_frequency,
    format_level,
    format_significant,
    format_uncertainty,
    format_value,
    significant,
)
from station.metrology.budget import Component
from station.metrology.result import PointResult
from station.procedure import TestPoint
from station.prompts import ABORT, Prompt

# -- colours (also used by the main window) -----------------------------------------
PASS_BG = QColor("#2e7d32")
FAIL_BG = QColor("#c62828")
DECISION_FG = QColor("#ffffff")
MEASURING_BG = QColor("#fff59d")
PENDING_FG = QColor("#9e9e9e")
LIMIT_COLOR = "#c62828"

# -- numbers --------------------------------------------------------------------------
# Written as the certificate writes them: station.certificates.numbers.
def format_tur(tur: float) -> str:
    if not math.isfinite(tur):
        return "∞"
    return f"{tur:.1f}" if tur < 100 else f"{tur:.0f}"


def percent_of_tolerance(result: PointResult) -> float:
    """The error in % of the tolerance half-width (±100 % are the limits)."""
    tol = result.tolerance
    return 100.0 * result.error / tol if tol > 0 else math.nan


# -- the results table -------------------------------------------------------------------
RowState = Literal["pending", "measuring", "done", "earlier", "not measured"]

COLUMNS: tuple[str, ...] = (
    "#",
    "Function",
    "Range",
    "Nominal",
    "Reference",
    "Indication",
    "Error",
    "Lower limit",
    "Upper limit",
    "U",
    "k",
    "TUR",
    "Error / tol.",
    "Decision",
)
COL_DECISION = COLUMNS.index("Decision")
COL_TUR = COLUMNS.index("TUR")

_TIPS: dict[str, str] = {
    "Nominal": "Nominal value (and frequency, for an AC point)",
    "Reference": "Value applied by the standard",
    "Indication": "Mean of the DUT's readings",
    "Error": "Indication - reference",
    "Lower limit": "Tolerance limits of the indication (DUT specification)",
    "Upper limit": "Tolerance limits of the indication (DUT specification)",
    "U": "Expanded uncertainty of measurement, rounded up to two significant digits",
    "k": "Coverage factor",
    "TUR": "Test uncertainty ratio: tolerance span / 2U (grey: planned, before the point is taken)",
    "Error / tol.": "Error in % of the tolerance (the limits are ±100 %)",
}


@dataclass
class Row:
    """One planned point and, once taken, its result and its uncertainty budget."""

    index: int
    function: str
    range: float
    nominal: float
    unit: str
    frequency: float = 0.0
    state: RowState = "pending"
    planned_tur: float | None = None
    result: PointResult | None = None
    budget: tuple[Component, ...] = ()


class ResultsModel(QAbstractTableModel):
    """One row per planned point; filled in from `PointDone` events."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._bold = QFont()
        self._bold.setBold(True)

    # -- fed from events ------------------------------------------------------------
    def start(self, points: Sequence[TestPoint], completed: Sequence[int] = ()) -> None:
        self.beginResetModel()
        earlier = set(completed)
        self._rows = [
            Row(i, str(p.function), p.range, p.nominal, p.unit, p.frequency,
                "earlier" if i in earlier else "pending")
            for i, p in enumerate(points)
        ]
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def set_planned_tur(self, turs: Sequence[float]) -> None:
        for row, t in zip(self._rows, turs, strict=False):
            row.planned_tur = t
        if self._rows:
            self._changed(0, len(self._rows) - 1)

    def mark_measuring(self, index: int) -> None:
        for row in self._rows:
            if row.state == "measuring":
                row.state = "pending"
                self._changed(row.index, row.index)
        if 0 <= index < len(self._rows):
            self._rows[index].state = "measuring"
            self._changed(index, index)

    def set_result(self, result: PointResult, budget: Sequence[Component] = ()) -> None:
        """A point was taken; ``budget``: its uncertainty budget, when known."""
        i = result.index
        if i >= len(self._rows):  # a result for a point we were not told about
            self.beginInsertRows(QModelIndex(), len(self._rows), i)
            self._rows.extend(
                Row(k, result.function, result.range, result.nominal, result.unit, result.frequency)
                for k in range(len(self._rows), i + 1)
            )
            self.endInsertRows()
        row = self._rows[i]
        row.function, row.range, row.nominal, row.unit, row.frequency = (
            result.function, result.range, result.nominal, result.unit, result.frequency)
        row.result = result
        row.budget = tuple(budget) or row.budget
        row.state = "done"
        self._changed(i, i)

    def set_budgets(self, budgets: Mapping[int, Sequence[Component]]) -> None:
        """The uncertainty budgets of taken points, by point index (as the
        run file's ``/budget`` holds them: `RunFile.budgets`)."""
        for i, components in budgets.items():
            if 0 <= i < len(self._rows) and components:
                self._rows[i].budget = tuple(components)
        if self._rows:
            self._changed(0, len(self._rows) - 1)

    def finish(self) -> None:
        """The run ended: points neither taken nor taken earlier were not measured."""
        for row in self._rows:
            if row.state in ("pending", "measuring"):
                row.state = "not measured"
        if self._rows:
            self._changed(0, len(self._rows) - 1)

    # -- reading back ---------------------------------------------------------------
    @property
    def rows(self) -> list[Row]:
        return list(self._rows)

    def results(self) -> list[PointResult]:
        return [r.result for r in self._rows if r.result is not None]

    def _changed(self, first: int, last: int) -> None:
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    # -- QAbstractTableModel ---------------------------------------------------------
    def rowCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _TIPS.get(COLUMNS[section])
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col == COL_DECISION:
                return Qt.AlignmentFlag.AlignCenter
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.BackgroundRole:
            if col == COL_DECISION and row.result is not None:
                return QBrush(PASS_BG if row.result.decision == "pass" else FAIL_BG)
            if row.state == "measuring":
                return QBrush(MEASURING_BG)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_DECISION and row.result is not None:
                return QBrush(DECISION_FG)
            if row.result is None and (col == COL_TUR or row.state in ("not measured", "earlier")):
                return QBrush(PENDING_FG)
            return None
        if role == Qt.ItemDataRole.FontRole and col == COL_DECISION:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and row.result is not None:
            return budget_tooltip(row.result, row.budget)
        return None

    @staticmethod
    def text(row: Row, col: int) -> str:
        """What cell (row, col) shows."""
        name = COLUMNS[col]
        if name == "#":
            return str(row.index + 1)
        if name == "Function":
            return row.function
        if name == "Range":
            return format_level(row.range, row.unit, row.range) if row.range > 0 else "—"
        if name == "Nominal":
            level = format_level(row.nominal, row.unit, row.range)
            return f"{level}, {format_frequency(row.frequency)}" if row.frequency > 0 else level
        r = row.result
        if r is None:
            if name == "TUR" and row.planned_tur is not None:
                return format_tur(row.planned_tur)
            if name == "Decision":
                return {"pending": "", "measuring": "measuring…", "done": "",
                        "earlier": "done earlier", "not measured": "not measured"}[row.state]
            return ""
        U = r.expanded_uncertainty
        if name == "Reference":
            return format_value(r.reference, r.unit, r.range, U)
        if name == "Indication":
            return format_value(r.indication, r.unit, r.range, U)
        if name == "Error":
            return format_error(r.error, r.unit, U)
        if name == "Lower limit":
            return format_value(r.lower_limit, r.unit, r.range, U)
        if name == "Upper limit":
            return format_value(r.upper_limit, r.unit, r.range, U)
        if name == "U":
            return format_uncertainty(U, r.unit)
        if name == "k":
            return f"{r.coverage_factor:.2f}"
        if name == "TUR":
            return format_tur(r.tur)
        if name == "Error / tol.":
            p = percent_of_tolerance(r)
            return "—" if math.isnan(p) else f"{p:+.1f} %"
        return r.decision.upper()


def _dof(nu: float) -> str:
    return "∞" if not math.isfinite(nu) or nu > 1e7 else significant(nu, 3) if nu >= 100 else f"{nu:.1f}"


def budget_tooltip(r: PointResult, budget: Sequence[Component]) -> str:
    """A taken point's uncertainty budget, as rich text: every component
    as recorded (name, type, distribution, standard uncertainty, share of
    u_c², where it comes from), then u_c, ν_eff, k and U."""
    def e(text: str) -> str:
        return html.escape(text, quote=False)

    unit = r.unit
    where = f"{r.function} {format_level(r.nominal, unit, r.range)}"
    if r.frequency > 0:
        where += f" at {format_frequency(r.frequency)}"
    if r.range > 0:
        where += f", {format_level(r.range, unit, r.range)} range"
    head = (f"<b>Point {r.index + 1}</b>: {e(where)}<br>"
            f"n = {r.n} readings, s = {e(format_significant(r.std_dev, unit))}")
    if budget:
        u2 = r.u_combined**2
        rows = "".join(
            "<tr>"
            f"<td style='white-space:nowrap'>{e(c.name)}</td><td style='white-space:nowrap'>{c.kind}, {e(c.distribution)}</td>"
            f"<td style='white-space:nowrap' align='right'>{e(format_significant(c.contribution, unit))}</td>"
            f"<td style='white-space:nowrap' align='right'>{100.0 * c.contribution**2 / u2 if u2 > 0 else 0.0:.0f} %</td>"
            f"<td style='white-space:nowrap'>{e(c.description)}</td>"
            "</tr>"
            for c in budget
        )
        table = ("<table cellspacing='0' cellpadding='3'>"
                 "<tr><th align='left'>component</th><th align='left'>type</th><th align='right'>u</th>"
                 "<th align='right' style='white-space:nowrap'>share of u<sub>c</sub>²</th><th align='left'>source</th></tr>"
                 f"{rows}</table>")
    else:
        table = "<p><i>uncertainty budget: in the run file; shown here when the run ends</i></p>"
    total = (f"u<sub>c</sub> = {e(format_significant(r.u_combined, unit))}, ν<sub>eff</sub> = {_dof(r.nu_eff)}, "
             f"k = {r.coverage_factor:.2f}, U = {e(format_uncertainty(r.expanded_uncertainty, unit))}"
             + (f", guard band {e(format_uncertainty(r.guard_band, unit))}" if r.guard_band > 0 else ""))
    return f"<p style='white-space:pre'>{head}</p>{table}<p>{total}</p>"


# -- the error plot ------------------------------------------------------------------------
@dataclass(frozen=True)
class PlottedPoint:
    x: int  # point number, 1-based
    y: float  # error, % of tolerance
    u: float  # expanded uncertainty, % of tolerance
    passed: bool


class ErrorPlot(QWidget):
    """Error of each point in % of its tolerance, with U as error bars and
    the tolerance limits at ±100 %: one scale for every range.

    Fed from `PointDone` only; keeps the last ``max_points`` points.
    """

    MAX_POINTS = 2000
    MAX_RANGE_MARKS = 50

    def __init__(self, parent: QWidget | None = None, max_points: int = MAX_POINTS) -> None:
        super().__init__(parent)
        self.max_points = max_points
        self._points: deque[PlottedPoint] = deque(maxlen=max_points)
        self._marks: list[Any] = []
        self._planned = 0

        self.widget: Any = pg.PlotWidget(background="w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

        item = self.widget.getPlotItem()
        item.setTitle("Error in % of tolerance; bars: expanded uncertainty U",
                      color="#212121", size="11pt")
        item.setLabel("left", "Error (% of tolerance)", color="#212121")
        item.setLabel("bottom", "Point", color="#212121")
        item.showGrid(x=False, y=True, alpha=0.25)
        item.setMenuEnabled(False)
        item.hideButtons()
        for axis in ("left", "bottom"):
            ax = item.getAxis(axis)
            ax.setPen(pg.mkPen("#424242"))
            ax.setTextPen(pg.mkPen("#212121"))
        limit_pen = pg.mkPen(LIMIT_COLOR, width=2, style=Qt.PenStyle.DashLine)
        # Limit labels inside the band at the right, clear of the range labels at the top.
        for y, label, anchor in ((100.0, "upper limit +100 %", (1, 0)),
                                 (-100.0, "lower limit −100 %", (1, 1))):
            item.addItem(pg.InfiniteLine(
                pos=y, angle=0, pen=limit_pen, movable=False, label=label,
                labelOpts={"position": 0.995, "color": LIMIT_COLOR, "anchors": [anchor, anchor]},
            ))
        item.addItem(pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen("#9e9e9e", width=1), movable=False))
        self._bars: Any = pg.ErrorBarItem(beam=0.25, pen=pg.mkPen("#37474f", width=1.5))
        self._scatter: Any = pg.ScatterPlotItem(size=10, pen=pg.mkPen("#212121", width=1),
                                                hoverable=True, tip=self._tip)
        item.addItem(self._bars)
        item.addItem(self._scatter)
        self._set_view()

    @staticmethod
    def _tip(x: float, y: float, data: Any) -> str:
        return f"point {x:.0f}: error {y:+.1f} % of tolerance"

    # -- fed from events ------------------------------------------------------------
    def clear(self) -> None:
        self._points.clear()
        item = self.widget.getPlotItem()
        for m in self._marks:
            item.removeItem(m)
        self._marks.clear()
        self._planned = 0
        self._redraw()

    def start(self, points: Sequence[TestPoint]) -> None:
        """A run started: fix the x axis to its points and mark where the range changes."""
        self.clear()
        self._planned = len(points)
        item = self.widget.getPlotItem()
        previous: tuple[str, float] | None = None
        for i, p in enumerate(points):
            key = (str(p.function), p.range)
            if key != previous and len(self._marks) < self.MAX_RANGE_MARKS:
                line = pg.InfiniteLine(
                    pos=i + 0.5, angle=90, movable=False,
                    pen=pg.mkPen("#bdbdbd", width=1, style=Qt.PenStyle.DotLine),
                    label=(f"{p.function} {format_level(p.range, p.unit, p.range)}" if p.range > 0
                           else str(p.function)),
                    labelOpts={"position": 0.97, "color": "#616161", "anchors": [(0, 0), (0, 0)]},
                )
                item.addItem(line)
                self._marks.append(line)
            previous = key
        self._set_view()

    def add(self, result: PointResult) -> None:
        tol = result.tolerance
        if not tol > 0:
            return
        self._points.append(PlottedPoint(
            result.index + 1,
            100.0 * result.error / tol,
            100.0 * result.expanded_uncertainty / tol,
            result.decision == "pass",
        ))
        self._redraw()

    # -- reading back ---------------------------------------------------------------
    def points(self) -> list[PlottedPoint]:
        return list(self._points)

    def point_count(self) -> int:
        return len(self._points)

    def drawn_count(self) -> int:
        """How many markers the scatter item actually holds."""
        return int(len(self._scatter.data))

    # -- drawing --------------------------------------------------------------------
    def _redraw(self) -> None:
        pts = self._points
        x = np.fromiter((p.x for p in pts), dtype=float, count=len(pts))
        y = np.fromiter((p.y for p in pts), dtype=float, count=len(pts))
        u = np.fromiter((p.u for p in pts), dtype=float, count=len(pts))
        brushes = [pg.mkBrush(PASS_BG if p.passed else FAIL_BG) for p in pts]
        self._scatter.setData(x=x, y=y, brush=brushes)
        self._bars.setData(x=x, y=y, top=u, bottom=u)
        self._set_view()

    def _set_view(self) -> None:
        item = self.widget.getPlotItem()
        extent = 130.0
        if self._points:
            extent = max(extent, 1.1 * max(abs(p.y) + p.u for p in self._points))
        item.setYRange(-extent, extent, padding=0)
        if self._planned and self._planned <= self.max_points:
            item.setXRange(0.5, self._planned + 0.5, padding=0)
        elif self._points:
            item.setXRange(self._points[0].x - 0.5, self._points[-1].x + 0.5, padding=0)
        else:
            item.setXRange(0.5, 10.5, padding=0)


# -- the prompt dialog -------------------------------------------------------------------
HAZARD_STYLE = (
    "QMessageBox { background: #fff3e0; border: 6px solid #c62828; }"
    "QMessageBox QLabel { color: #212121; }"
)


def prompt_dialog(prompt: Prompt, parent: QWidget | None) -> QMessageBox:
    """A window-modal dialog for an operator prompt, one button per choice.

    A hazard prompt is marked: red frame, warning icon, a DANGER banner and
    "HAZARDOUS VOLTAGE" in its title. Escape or closing the dialog answers
    Abort when Abort is a choice (the safe answer).
    """
    box = QMessageBox(parent)
    box.setObjectName("hazardPrompt" if prompt.hazard else "prompt")
    box.setProperty("hazard", prompt.hazard)
    box.setTextFormat(Qt.TextFormat.RichText)
    title = html.escape(prompt.title)
    message = html.escape(prompt.message).replace("\n", "<br>")
    if prompt.hazard:
        box.setWindowTitle(f"⚠ HAZARDOUS VOLTAGE: {prompt.title}")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setStyleSheet(HAZARD_STYLE)
        box.setText(
            '<p style="color:#b71c1c; font-size:15pt; font-weight:bold;">'
            "⚠ DANGER: HAZARDOUS VOLTAGE</p>"
            f'<p style="font-size:12pt;"><b>{title}</b></p><p>{message}</p>'
        )
    else:
        box.setWindowTitle(prompt.title)
        box.setIcon(QMessageBox.Icon.Information)
        box.setText(f'<p style="font-size:12pt;"><b>{title}</b></p><p>{message}</p>')
    buttons: dict[str, QPushButton] = {}
    for choice in prompt.choices:
        role = (QMessageBox.ButtonRole.RejectRole if choice == ABORT
                else QMessageBox.ButtonRole.AcceptRole)
        button = box.addButton(choice, role)
        assert button is not None
        button.setObjectName(f"choice:{choice}")
        buttons[choice] = button
    default = buttons.get(prompt.default)
    if default is not None:
        box.setDefaultButton(default)
    escape = buttons.get(ABORT)
    if escape is not None:
        box.setEscapeButton(escape)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    return box


def choice_of(box: QMessageBox, prompt: Prompt) -> str:
    """The choice the operator made in ``box`` (Abort if it was closed without one)."""
    clicked = box.clickedButton()
    for choice in prompt.choices:
        if clicked is not None and clicked.objectName() == f"choice:{choice}":
            return choice
    return ABORT if ABORT in prompt.choices else prompt.default
