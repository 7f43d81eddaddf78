"""The run screen's parts: results table model, error plot, prompt dialog.

Every view here is fed from engine events (`RunStarted`, `PlanChecked`,
`PointStarted`, `PointDone`); none reads the run file. A point's
uncertainty budget, which its row's tooltip shows, comes with its
`PointDone` (and, for the points of an earlier session of a resumed run,
from the run file when the run ends, `ResultsModel.set_budgets`). Numbers
are written as the certificate writes them (`station.certificates.numbers`).
The table keeps one row per planned point, the plot every point taken.

A long run must cost the window the same per point at its 10,000th point
as at its 10th: the table's columns are measured from a representative row,
never from the whole table, and a point changes its one row
(`ResultsTable`, `ResultsModel`); the plot appends to arrays and redraws at
most every `ErrorPlot.REDRAW_MS`, decimating what it draws (`ErrorPlot`).

Every text shown goes through `gui.i18n.tr`; a text kept in a table to be
translated when shown is marked with `tr_later` (so that the catalogue
test finds it). `retranslate` methods write the texts again when the
language changes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QModelRoleDataSpan,
    QObject,
    Qt,
    QTimer,
)
from PyQt6.QtGui import QBrush, QColor, QFont, QFontMetrics, QKeyEvent, QPixmap, QResizeEvent
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import tr
from gui.worker import WINDOW_AT_WORK
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
from station.metrology.decision import NOT_CONFORMING
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
BAND_COLOR = QColor(46, 125, 50, 28)  # the tolerance band, behind the points
LOW_TUR_BG = QColor("#ffe0b2")  # a planned TUR below 4:1: a warning, not a greyed-out value
LOW_TUR = 4.0


def tr_later(text: str) -> str:
    """Mark ``text`` for translation where it is shown (``tr(text)`` there):
    for texts kept in tables and constants."""
    return text


def tr_or_same(text: str) -> str:
    """``text`` in the window's language when the catalogue has it, else as
    it is (a symbol such as "U", a procedure's own word)."""
    return tr(text) or text if text else text


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
    tr_later("Function"),
    tr_later("Range"),
    tr_later("Nominal"),
    tr_later("Reference"),
    tr_later("Indication"),
    tr_later("Error"),
    tr_later("Lower limit"),
    tr_later("Upper limit"),
    "U",
    "k",
    "TUR",
    tr_later("Error / tol."),
    tr_later("Decision"),
)
COL_DECISION = COLUMNS.index("Decision")
COL_TUR = COLUMNS.index("TUR")

_TIPS: dict[str, str] = {
    "Nominal": tr_later("Nominal value (and frequency, for an AC point)"),
    "Reference": tr_later("Value applied by the standard"),
    "Indication": tr_later("Mean of the DUT's readings"),
    "Error": tr_later("Indication - reference"),
    "Lower limit": tr_later("Tolerance limits of the indication (DUT specification)"),
    "Upper limit": tr_later("Tolerance limits of the indication (DUT specification)"),
    "U": tr_later("Expanded uncertainty of measurement, rounded up to two significant digits"),
    "k": tr_later("Coverage factor"),
    "TUR": tr_later("Test uncertainty ratio: tolerance span / 2U (planned before the point is taken; "
                    "below 4:1 marked in amber)"),
    "Error / tol.": tr_later("Error in % of the tolerance (the limits are ±100 %)"),
}

_DECISION_TEXT: dict[RowState, str] = {
    "pending": "", "measuring": tr_later("measuring…"), "done": "", "earlier": tr_later("done earlier"),
    "not measured": tr_later("not measured")}
#: What the Decision column shows of a decision (upper case: it is read at a glance).
DECISIONS: dict[str, str] = {
    "pass": tr_later("PASS"), "fail": tr_later("FAIL"), "conditional pass": tr_later("CONDITIONAL PASS"),
    "conditional fail": tr_later("CONDITIONAL FAIL")}


def decision_text(decision: str) -> str:
    """A decision as the Decision column shows it, in the window's language."""
    return tr_or_same(DECISIONS.get(decision, decision.upper()))

# What data() hands the view, made once (the view asks for every visible cell and role on every paint).
_DISPLAY, _ALIGN, _BACKGROUND, _FOREGROUND, _FONT, _TOOLTIP = (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.BackgroundRole,
    Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ToolTipRole)
_CENTER = Qt.AlignmentFlag.AlignCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_PASS_BRUSH, _FAIL_BRUSH, _MEASURING_BRUSH = QBrush(PASS_BG), QBrush(FAIL_BG), QBrush(MEASURING_BG)
_LOW_TUR_BRUSH = QBrush(LOW_TUR_BG)
_DECISION_BRUSH, _PENDING_BRUSH = QBrush(DECISION_FG), QBrush(PENDING_FG)


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
    texts: tuple[str, ...] | None = None  # what its cells show, once asked (None: to be written)


class ResultsModel(QAbstractTableModel):
    """One row per planned point; filled in from `PointDone` events.

    Every change is a `dataChanged` of the rows it touches (one row per
    point taken), never a reset or a layout change while a run goes; a
    row's texts are written once, when first shown after a change."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._measuring: int | None = None
        self._taken = 0
        self._nonconforming = 0
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
        self._measuring = None
        self._taken = self._nonconforming = 0
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._measuring = None
        self._taken = self._nonconforming = 0
        self.endResetModel()

    def set_planned_tur(self, turs: Sequence[float]) -> None:
        for row, t in zip(self._rows, turs, strict=False):
            row.planned_tur = t
            row.texts = None
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_TUR), self.index(len(self._rows) - 1, COL_TUR))

    def mark_measuring(self, index: int) -> None:
        previous = self._measuring
        if previous is not None and previous != index and previous < len(self._rows):
            row = self._rows[previous]
            if row.state == "measuring":
                row.state = "pending"
                self._changed(previous)
        self._measuring = None
        if 0 <= index < len(self._rows):
            row = self._rows[index]
            row.state = "measuring"
            self._measuring = index
            self._changed(index)

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
        if row.result is not None:  # taken again: count it once
            self._taken -= 1
            self._nonconforming -= row.result.decision in NOT_CONFORMING
        row.function, row.range, row.nominal, row.unit, row.frequency = (
            result.function, result.range, result.nominal, result.unit, result.frequency)
        row.result = result
        row.budget = tuple(budget) or row.budget
        row.state = "done"
        self._taken += 1
        self._nonconforming += result.decision in NOT_CONFORMING
        if self._measuring == i:
            self._measuring = None
        self._changed(i)

    def set_budgets(self, budgets: Mapping[int, Sequence[Component]]) -> None:
        """The uncertainty budgets of taken points, by point index (as the
        run file's ``/budget`` holds them: `RunFile.budgets`)."""
        for i, components in budgets.items():
            if 0 <= i < len(self._rows) and components:
                self._rows[i].budget = tuple(components)
        if self._rows:  # the tooltips only
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1),
                                  [_TOOLTIP])

    def finish(self) -> None:
        """The run ended: points neither taken nor taken earlier were not measured."""
        for row in self._rows:
            if row.state in ("pending", "measuring"):
                row.state = "not measured"
                row.texts = None
        self._measuring = None
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    def retranslate(self) -> None:
        """The language changed: every text is written again when next shown."""
        for row in self._rows:
            row.texts = None
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    # -- reading back ---------------------------------------------------------------
    @property
    def rows(self) -> list[Row]:
        return list(self._rows)

    def results(self) -> list[PointResult]:
        return [r.result for r in self._rows if r.result is not None]

    def counts(self) -> tuple[int, int]:
        """(points taken, of which not conforming), kept as the results come."""
        return self._taken, self._nonconforming

    def texts(self, row: int) -> tuple[str, ...]:
        """What each cell of ``row`` shows."""
        r = self._rows[row]
        if r.texts is None:
            r.texts = tuple(self.text(r, col) for col in range(len(COLUMNS)))
        return r.texts

    def _changed(self, row: int) -> None:
        self._rows[row].texts = None
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # -- QAbstractTableModel ---------------------------------------------------------
    def rowCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == _DISPLAY:
            return tr_or_same(COLUMNS[section])
        if role == _TOOLTIP:
            tip = _TIPS.get(COLUMNS[section])
            return tr(tip) if tip else None
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return self._value(index.row(), index.column(), role)

    def multiData(self, index: QModelIndex, roleDataSpan: QModelRoleDataSpan) -> None:  # noqa: N802,N803 - Qt's names
        # The view asks for every role of a cell at once: one call into Python
        # per cell painted, not one per role.
        row, col = index.row(), index.column()
        for k in range(len(roleDataSpan)):
            item = roleDataSpan[k]
            item.setData(self._value(row, col, item.role()))

    def _value(self, i: int, col: int, role: int) -> Any:
        if not 0 <= i < len(self._rows):
            return None
        if role == _DISPLAY:
            return self.texts(i)[col]
        row = self._rows[i]
        if role == _ALIGN:
            return _CENTER if col == COL_DECISION else _RIGHT
        if role == _BACKGROUND:
            if col == COL_DECISION and row.result is not None:
                return _PASS_BRUSH if row.result.decision == "pass" else _FAIL_BRUSH
            if col == COL_TUR:
                tur = row.result.tur if row.result is not None else row.planned_tur
                if tur is not None and tur < LOW_TUR:
                    return _LOW_TUR_BRUSH
            return _MEASURING_BRUSH if row.state == "measuring" else None
        if role == _FOREGROUND:
            if col == COL_DECISION and row.result is not None:
                return _DECISION_BRUSH
            if row.result is None and row.state in ("not measured", "earlier"):
                return _PENDING_BRUSH
            return None
        if role == _FONT:
            return self._bold if col == COL_DECISION else None
        if role == _TOOLTIP:
            if row.result is not None:
                return budget_tooltip(row.result, row.budget)
            if col == COL_TUR and row.planned_tur is not None and row.planned_tur < LOW_TUR:
                return tr("Planned TUR below 4:1: the standard's uncertainty is large against this "
                          "point's tolerance")
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
                text = _DECISION_TEXT[row.state]
                return tr(text) if text else ""
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
        return decision_text(r.decision)


class ResultsTable(QTableView):
    """The results table: rows of one fixed height, columns as wide as their
    header and a representative row need, measured when asked (`fit`: at the
    start of a run and at its first result), never from the whole table, so
    that a row changing costs the same at the 10th point as at the 10,000th.
    Width left over is shared out; the operator may drag a column wider."""

    ROW_HEIGHT = 23
    CELL_PAD = 18  # the cell's margins, both sides
    HEADER_PAD = 22

    def __init__(self, model: ResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self._results = model
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        rows = self.verticalHeader()
        assert rows is not None
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.ROW_HEIGHT)
        header = self.horizontalHeader()
        assert header is not None
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        self._natural: list[int] = [0] * len(COLUMNS)
        self.fit(())

    def fit(self, rows: Sequence[int]) -> None:
        """Set the columns' widths from the header, the Decision column's
        words, and the texts of ``rows`` (a few representative rows)."""
        header = self.horizontalHeader()
        assert header is not None
        head = QFontMetrics(header.font())
        plain = QFontMetrics(self.font())
        bold = QFont(self.font())
        bold.setBold(True)
        strong = QFontMetrics(bold)
        natural = []
        for col, name in enumerate(COLUMNS):
            texts = [self._results.texts(r)[col] for r in rows if 0 <= r < self._results.rowCount()]
            if col == COL_DECISION:
                texts += [tr(t) for t in _DECISION_TEXT.values() if t] + [decision_text("pass"),
                                                                          decision_text("fail")]
            metrics = strong if col == COL_DECISION else plain
            natural.append(max([head.horizontalAdvance(tr_or_same(name)) + self.HEADER_PAD,
                                *(metrics.horizontalAdvance(t) + self.CELL_PAD for t in texts)]))
        self._natural = natural
        self._spread()

    def column_widths(self) -> list[int]:
        header = self.horizontalHeader()
        assert header is not None
        return [header.sectionSize(c) for c in range(len(COLUMNS))]

    def _spread(self) -> None:
        header = self.horizontalHeader()
        viewport = self.viewport()
        assert header is not None and viewport is not None
        extra = max(0, viewport.width() - sum(self._natural))
        total = sum(self._natural) or 1
        for col, width in enumerate(self._natural):
            header.resizeSection(col, width + extra * width // total)

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._spread()

    def viewportEvent(self, event: QEvent | None) -> bool:  # noqa: N802 - Qt's name
        # Entered from Qt's event loop (which runs without the GIL), a paint
        # calls back into Python for every cell (`ResultsModel.multiData`,
        # rowCount, columnCount), and each call waits for the GIL, which the
        # engine's thread holds most of the time: up to the interpreter's
        # switch interval (5 ms) each, 100 ms stalls for a screenful. Through
        # this Python frame, the whole paint takes the GIL once, and the
        # engine gives way meanwhile.
        with WINDOW_AT_WORK.working():
            return super().viewportEvent(event)


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
        where += tr(" at {frequency}").format(frequency=format_frequency(r.frequency))
    if r.range > 0:
        where += tr(", {range} range").format(range=format_level(r.range, unit, r.range))
    head = (tr("<b>Point {n}</b>: {where}").format(n=r.index + 1, where=e(where)) + "<br>"
            + tr("n = {n} readings, s = {s}").format(n=r.n, s=e(format_significant(r.std_dev, unit))))
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
                 f"<tr><th align='left'>{tr('component')}</th><th align='left'>{tr('type')}</th>"
                 "<th align='right'>u</th>"
                 f"<th align='right' style='white-space:nowrap'>{tr('share of u<sub>c</sub>²')}</th>"
                 f"<th align='left'>{tr('source')}</th></tr>"
                 f"{rows}</table>")
    else:
        table = f"<p><i>{tr('uncertainty budget: in the run file; shown here when the run ends')}</i></p>"
    total = (f"u<sub>c</sub> = {e(format_significant(r.u_combined, unit))}, ν<sub>eff</sub> = {_dof(r.nu_eff)}, "
             f"k = {r.coverage_factor:.2f}, U = {e(format_uncertainty(r.expanded_uncertainty, unit))}"
             + (tr(", guard band {w}").format(w=e(format_uncertainty(r.guard_band, unit)))
                if r.guard_band > 0 else ""))
    return f"<p style='white-space:pre'>{head}</p>{table}<p>{total}</p>"


# -- the error plot ------------------------------------------------------------------------
@dataclass(frozen=True)
class PlottedPoint:
    x: int  # point number, 1-based
    y: float  # error, % of tolerance
    u: float  # expanded uncertainty, % of tolerance
    passed: bool


def decimate(x: np.ndarray, y: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``limit`` of the points (x increasing), for drawing:
    all of them when there are no more than ``limit``; else, of each run of
    consecutive points, the lowest and the highest (so the extremes, an
    out-of-tolerance point first of all, are always drawn), and the newest
    point with those that fill no whole run yet."""
    n = len(x)
    if n <= limit:
        return x, y
    per = -(-2 * n // limit)  # points per run; two are kept of each
    runs = n // per
    blocks = y[: runs * per].reshape(runs, per)
    first = np.arange(runs) * per
    keep = np.unique(np.concatenate((first + blocks.argmin(axis=1), first + blocks.argmax(axis=1),
                                     np.arange(min(runs * per, n - 1), n))))
    return x[keep], y[keep]


class _PlotWidget(pg.PlotWidget):  # type: ignore[misc]  # pyqtgraph has no stubs
    def viewportEvent(self, event: QEvent | None) -> bool:  # noqa: N802 - Qt's name
        with WINDOW_AT_WORK.working():  # see ResultsTable.viewportEvent
            return bool(super().viewportEvent(event))


class ErrorPlot(QWidget):
    """Error of each point in % of its tolerance, with U as error bars and
    the tolerance limits at ±100 %: one scale for every range.

    Fed from `PointDone` only; keeps every point (`points`). What it draws
    costs the same however many points there are: new points are appended
    to arrays and drawn together at most every `REDRAW_MS`; beyond
    ``max_drawn`` markers of a kind (pass, fail) the markers are decimated
    (`decimate`: the extremes stay), and the error bars are those of the last
    ``error_bars`` points.
    """

    REDRAW_MS = 50
    MAX_DRAWN = 1000
    ERROR_BARS = 200
    MAX_RANGE_MARKS = 50
    MAX_LABELS = 6  # range labels along the top, at most about this many
    MIN_EXTENT = 130.0  # % of tolerance shown either side of zero, at least

    def __init__(self, parent: QWidget | None = None, max_drawn: int = MAX_DRAWN,
                 error_bars: int = ERROR_BARS) -> None:
        super().__init__(parent)
        self.max_drawn = max_drawn
        self.error_bars = error_bars
        self._n = 0
        self._x = np.empty(0, dtype=float)
        self._y = np.empty(0, dtype=float)
        self._u = np.empty(0, dtype=float)
        self._passed = np.empty(0, dtype=bool)
        self._extent = self.MIN_EXTENT
        self._drawn_n = -1  # how many points the drawing shows (-1: never drawn)
        self._view: tuple[float, float, float, float] | None = None
        self._marks: list[Any] = []
        self._planned = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.REDRAW_MS)
        self._timer.timeout.connect(self.flush)

        self.widget: Any = _PlotWidget(background="w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

        item = self.widget.getPlotItem()
        item.showGrid(x=False, y=True, alpha=0.25)
        item.setMenuEnabled(False)
        item.hideButtons()
        for axis in ("left", "bottom"):
            ax = item.getAxis(axis)
            ax.setPen(pg.mkPen("#424242"))
            ax.setTextPen(pg.mkPen("#212121"))
        limit_pen = pg.mkPen(LIMIT_COLOR, width=2, style=Qt.PenStyle.DashLine)
        # The tolerance band (the limits at ±100 %), shaded behind the points and their U bars.
        band = pg.LinearRegionItem(values=(-100.0, 100.0), orientation="horizontal", movable=False,
                                   brush=pg.mkBrush(BAND_COLOR), pen=pg.mkPen(None))
        band.setZValue(-20)
        item.addItem(band)
        # Limit labels inside the band at the right, clear of the range labels at the top.
        self._limits: list[Any] = []
        for y, anchor in ((100.0, (1, 0)), (-100.0, (1, 1))):
            limit = pg.InfiniteLine(
                pos=y, angle=0, pen=limit_pen, movable=False, label=" ",
                labelOpts={"position": 0.995, "color": LIMIT_COLOR, "anchors": [anchor, anchor]},
            )
            limit.setZValue(10)  # the limits and their labels over a crowd of points
            item.addItem(limit)
            self._limits.append(limit)
        item.addItem(pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen("#9e9e9e", width=1), movable=False))
        self._bars: Any = pg.ErrorBarItem(beam=0.25, pen=pg.mkPen("#37474f", width=1.5))
        self._outline = pg.mkPen("#212121", width=1)
        self._pass_markers: Any = pg.ScatterPlotItem(size=10, pen=self._outline, brush=pg.mkBrush(PASS_BG),
                                                     hoverable=True, tip=self._tip)
        self._fail_markers: Any = pg.ScatterPlotItem(size=10, pen=self._outline, brush=pg.mkBrush(FAIL_BG),
                                                     hoverable=True, tip=self._tip)
        item.addItem(self._bars)
        item.addItem(self._pass_markers)
        item.addItem(self._fail_markers)
        self.retranslate()
        self.flush()

    def retranslate(self) -> None:
        """Write the plot's texts in the window's language."""
        item = self.widget.getPlotItem()
        item.setTitle(tr("Error in % of tolerance; bars: U; band: the tolerance"),
                      color="#212121", size="11pt")
        item.setLabel("left", tr("Error (% of tolerance)"), color="#212121")
        item.setLabel("bottom", tr("Point"), color="#212121")
        upper, lower = self._limits
        upper.label.setFormat(tr("upper limit +100 %"))
        lower.label.setFormat(tr("lower limit −100 %"))

    @staticmethod
    def _tip(x: float, y: float, data: Any) -> str:
        return tr("point {n}: error {error} % of tolerance").format(n=f"{x:.0f}", error=f"{y:+.1f}")

    # -- fed from events ------------------------------------------------------------
    def clear(self) -> None:
        self._n = 0
        self._extent = self.MIN_EXTENT
        item = self.widget.getPlotItem()
        for m in self._marks:
            item.removeItem(m)
        self._marks.clear()
        self._planned = 0
        self.flush()

    def start(self, points: Sequence[TestPoint]) -> None:
        """A run started: fix the x axis to its points and mark where the range changes."""
        self.clear()
        self._planned = len(points)
        self._reserve(self._planned)
        # Many points: smaller markers, and no outline (the outlines of a crowd are a black band).
        crowded = self._planned > 200
        size = 10 if not crowded else 6 if self._planned <= 2000 else 4
        for markers in (self._pass_markers, self._fail_markers):
            markers.setSize(size)
            markers.setPen(pg.mkPen(None) if crowded else self._outline)
        self._bars.setData(beam=0.25 if not crowded else 0.0,
                           pen=pg.mkPen("#37474f", width=1.5 if not crowded else 1.0))
        item = self.widget.getPlotItem()
        previous: tuple[str, float] | None = None
        # a label where the range changes, unless the last one is too near (they would overlap)
        spacing = max(1, self._planned // self.MAX_LABELS)
        labelled = -spacing
        for i, p in enumerate(points):
            key = (str(p.function), p.range)
            if key != previous and len(self._marks) < self.MAX_RANGE_MARKS:
                text = ""
                if i - labelled >= spacing:
                    labelled = i
                    text = (f"{p.function} {format_level(p.range, p.unit, p.range)}" if p.range > 0
                            else str(p.function))
                line = pg.InfiniteLine(
                    pos=i + 0.5, angle=90, movable=False,
                    pen=pg.mkPen("#bdbdbd", width=1, style=Qt.PenStyle.DotLine),
                    label=text or None,
                    labelOpts={"position": 0.97, "color": "#616161", "anchors": [(0, 0), (0, 0)]},
                )
                item.addItem(line)
                self._marks.append(line)
            previous = key
        self.flush()

    def add(self, result: PointResult) -> None:
        """Keep the point; it is drawn at the next redraw (within `REDRAW_MS`)."""
        tol = result.tolerance
        if not tol > 0:
            return
        y = 100.0 * result.error / tol
        u = 100.0 * result.expanded_uncertainty / tol
        n = self._n
        if n == len(self._x):
            self._reserve(max(64, 2 * n))
        self._x[n] = result.index + 1
        self._y[n] = y
        self._u[n] = u
        self._passed[n] = result.decision == "pass"
        self._n = n + 1
        if math.isfinite(y) and math.isfinite(u):
            self._extent = max(self._extent, 1.1 * (abs(y) + u))
        if not self._timer.isActive():
            self._timer.start()

    def _reserve(self, size: int) -> None:
        if size > len(self._x):
            for name in ("_x", "_y", "_u", "_passed"):
                old = getattr(self, name)
                new = np.empty(size, dtype=old.dtype)
                new[: self._n] = old[: self._n]
                setattr(self, name, new)

    # -- reading back ---------------------------------------------------------------
    def points(self) -> list[PlottedPoint]:
        n = self._n
        return [PlottedPoint(int(x), float(y), float(u), bool(p))
                for x, y, u, p in zip(self._x[:n], self._y[:n], self._u[:n], self._passed[:n], strict=True)]

    def point_count(self) -> int:
        return self._n

    def drawn(self) -> tuple[np.ndarray, np.ndarray]:
        """The markers drawn now: (point numbers, errors in % of tolerance)."""
        xs, ys = [], []
        for markers in (self._pass_markers, self._fail_markers):
            x, y = markers.getData()
            xs.append(np.asarray(x, dtype=float))
            ys.append(np.asarray(y, dtype=float))
        return np.concatenate(xs), np.concatenate(ys)

    def drawn_count(self) -> int:
        """How many markers the plot draws now."""
        return int(len(self._pass_markers.data) + len(self._fail_markers.data))

    def bar_count(self) -> int:
        """How many error bars the plot draws now."""
        x = self._bars.opts.get("x")
        return 0 if x is None else len(x)

    # -- drawing --------------------------------------------------------------------
    def flush(self) -> None:
        """Draw what came since the last redraw (the timer calls this; call it
        to show every point at once, e.g. when the run ends)."""
        with WINDOW_AT_WORK.working():
            self._flush()

    def _flush(self) -> None:
        self._timer.stop()
        n = self._n
        if n != self._drawn_n:
            self._drawn_n = n
            x, y, u, passed = self._x[:n], self._y[:n], self._u[:n], self._passed[:n]
            for markers, mask in ((self._pass_markers, passed), (self._fail_markers, ~passed)):
                mx, my = decimate(x[mask], y[mask], self.max_drawn)
                markers.setData(x=mx, y=my)
            k = min(n, self.error_bars)
            self._bars.setData(x=x[n - k:], y=y[n - k:], top=u[n - k:], bottom=u[n - k:])
        self._set_view()

    def _set_view(self) -> None:
        if self._planned:
            left, right = 0.5, self._planned + 0.5
        elif self._n:
            left, right = self._x[0] - 0.5, self._x[self._n - 1] + 0.5
        else:
            left, right = 0.5, 10.5
        view = (float(left), float(right), -self._extent, self._extent)
        if view != self._view:  # a new range redraws every item: only when it changes
            self._view = view
            item = self.widget.getPlotItem()
            item.setXRange(view[0], view[1], padding=0)
            item.setYRange(view[2], view[3], padding=0)


# -- the prompt dialog -------------------------------------------------------------------
HAZARD_STYLE = (
    "QDialog#hazardPrompt { background: #fff3e0; border: 6px solid #c62828; }"
    "QDialog#hazardPrompt QLabel { color: #212121; }"
)
#: The largest a prompt's picture is shown (it is scaled down to fit, never up).
IMAGE_SIZE = (520, 320)
#: The choices the engine and the templates ask with (`station.prompts`, `station.templates`), translated on
#: their buttons; a procedure's own choices are shown as it wrote them.
CHOICES = (tr_later("Continue"), tr_later("Abort"), tr_later("Adjust"), tr_later("Skip"))
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class PromptDialog(QDialog):
    """A window-modal dialog for an operator prompt: its text, its picture
    (`Prompt.image`, found in the procedure's folder ``folder``), one button
    per choice.

    An ordinary prompt's default choice is its default button: Enter answers
    it. A hazard prompt is marked (red frame, warning icon, a DANGER banner,
    "HAZARDOUS VOLTAGE" in its title) and has no default button: the focus
    starts on its text, and Enter answers nothing until the operator has
    moved to a choice (Tab) or clicks one. Escape or closing the dialog
    answers Abort when Abort is a choice (the safe answer).
    """

    def __init__(self, prompt: Prompt, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.choice: str | None = None
        self.setObjectName("hazardPrompt" if prompt.hazard else "prompt")
        self.setProperty("hazard", prompt.hazard)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        title = html.escape(prompt.title)
        message = html.escape(prompt.message).replace("\n", "<br>")
        style = self.style()
        assert style is not None
        icon = QLabel()
        icon.setObjectName("icon")
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        kind = (QStyle.StandardPixmap.SP_MessageBoxWarning if prompt.hazard
                else QStyle.StandardPixmap.SP_MessageBoxInformation)
        icon.setPixmap(style.standardIcon(kind).pixmap(48, 48))
        self.text = QLabel()
        self.text.setObjectName("promptText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setMinimumWidth(420)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.text.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        if prompt.hazard:
            self.setWindowTitle(tr("⚠ HAZARDOUS VOLTAGE: {title}").format(title=prompt.title))
            self.setStyleSheet(HAZARD_STYLE)
            self.text.setText(
                '<p style="color:#b71c1c; font-size:15pt; font-weight:bold;">'
                + html.escape(tr("⚠ DANGER: HAZARDOUS VOLTAGE")) + "</p>"
                f'<p style="font-size:12pt;"><b>{title}</b></p><p>{message}</p>')
        else:
            self.setWindowTitle(prompt.title)
            self.text.setText(f'<p style="font-size:12pt;"><b>{title}</b></p><p>{message}</p>')
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.text, stretch=1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)

        self.image = QLabel()
        self.image.setObjectName("promptImage")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.hide()
        if prompt.image:
            path = (folder / prompt.image) if folder is not None else Path(prompt.image)
            picture = QPixmap(str(path))
            if picture.isNull():
                self.image.setText(tr("(picture {name} not found)").format(name=prompt.image))
            else:
                w, h = IMAGE_SIZE
                if picture.width() > w or picture.height() > h:
                    picture = picture.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation)
                self.image.setPixmap(picture)
            self.image.show()
        layout.addWidget(self.image)

        row = QHBoxLayout()
        row.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for choice in prompt.choices:
            button = QPushButton(tr_or_same(choice))
            button.setObjectName(f"choice:{choice}")
            button.setAutoDefault(False)
            button.setMinimumHeight(34)
            button.clicked.connect(lambda _=False, c=choice: self._answer(c))
            row.addWidget(button)
            self.buttons[choice] = button
        layout.addLayout(row)
        default = self.buttons.get(prompt.default)
        if prompt.hazard or default is None:
            self.text.setFocus()  # no default: Enter answers nothing
        else:
            default.setDefault(True)
            default.setFocus()

    def default_button(self) -> QPushButton | None:
        """The button Enter presses (None on a hazard prompt)."""
        return next((b for b in self.buttons.values() if b.isDefault()), None)

    def escape_button(self) -> QPushButton | None:
        """The button Escape answers (Abort, when it is a choice)."""
        return self.buttons.get(ABORT)

    def _answer(self, choice: str) -> None:
        self.choice = choice
        self.accept()

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802 - Qt's name
        assert event is not None
        if event.key() in _ENTER and self.prompt.hazard:
            focused = self.focusWidget()
            if isinstance(focused, QPushButton) and focused in self.buttons.values():
                focused.click()  # the operator moved to this choice
            event.accept()  # otherwise Enter answers nothing
            return
        super().keyPressEvent(event)


def prompt_dialog(prompt: Prompt, parent: QWidget | None, folder: Path | None = None) -> PromptDialog:
    """The dialog for ``prompt`` (`PromptDialog`)."""
    return PromptDialog(prompt, parent, folder)


def choice_of(box: PromptDialog, prompt: Prompt) -> str:
    """The choice the operator made in ``box`` (Abort if it was closed without one)."""
    if box.choice is not None:
        return box.choice
    return ABORT if ABORT in prompt.choices else prompt.default


# -- tables of text ------------------------------------------------------------------
def table_item(text: str, tip: str = "") -> QTableWidgetItem:
    """A cell that can be selected but not edited, with ``tip`` as its tooltip."""
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if tip:
        item.setToolTip(tip)
    return item


def read_only_table(name: str, columns: int) -> QTableWidget:
    """A table of text the views fill: whole rows selected, no row numbers,
    columns as wide as their contents, the last one taking the rest."""
    t = QTableWidget(0, columns)
    t.setObjectName(name)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)
    rows = t.verticalHeader()
    assert rows is not None
    rows.setVisible(False)
    rows.setDefaultSectionSize(22)
    header = t.horizontalHeader()
    assert header is not None
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return t
