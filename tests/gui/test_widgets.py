"""The window's parts on synthetic events: number formatting, the results
table, the capped plot, the prompt dialog and the blocking prompt channel."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PyQt6.QtCore import QModelIndex, QModelRoleData, QModelRoleDataSpan, Qt, QTimer
from PyQt6.QtGui import QBrush, QColor, QImage
from PyQt6.QtWidgets import QPushButton

from drivers.clock import PacedClock
from drivers.roles import Function
from gui.main_window import MainWindow
from gui.widgets import (
    COL_DECISION,
    COL_TUR,
    COLUMNS,
    FAIL_BG,
    IMAGE_SIZE,
    LOW_TUR_BG,
    PASS_BG,
    PENDING_FG,
    ErrorPlot,
    ResultsModel,
    ResultsTable,
    choice_of,
    decimate,
    format_tur,
    prompt_dialog,
)
from gui.worker import PromptRequest, QtPromptChannel, RunWorker, SimulatedSession, WorkGate
from station.certificates.numbers import MICRO
from station.events import Message, PlanChecked, PointDone, PointStarted, RunStarted
from station.metrology.budget import MODELS, Component, Distribution, Inputs
from station.metrology.result import PointResult
from station.procedure import TestPoint
from station.prompts import ABORT, CONTINUE, Prompt

pytestmark = pytest.mark.gui


def result(index: int, rng: float = 10.0, nominal: float = 10.0, error: float = 20e-6,
           tol: float = 380e-6, U: float = 41.3e-6, decision: str = "pass", function: str = "DCV",
           unit: str = "V", frequency: float = 0.0) -> PointResult:
    return PointResult(
        index=index, function=function, range=rng, nominal=nominal, frequency=frequency, unit=unit,
        reference=nominal, indication=nominal + error, error=error, lower_limit=nominal - tol,
        upper_limit=nominal + tol, expanded_uncertainty=U, coverage_factor=2.0, tur=tol / U,
        decision=decision, phase="as_found", n=10, std_dev=1e-6, correction=0.0, p_conform=1.0, gum_expanded=U, mc_low=math.nan, mc_high=math.nan, mc_trials=0,  # type: ignore[arg-type]
        u_combined=U / 2.0, nu_eff=1e6, guard_band=0.0, t_start=0.0, t_end=1.0,
    )


def budget(extra: tuple[Component, ...] = ()) -> list[Component]:
    """A meter's budget at 10 V: the standard's specification, the DUT's digit, ten readings."""
    b = MODELS["meter"].budget(Inputs(30e-6, Distribution.RECTANGULAR, dut_digit=1e-5),
                               dut=[10.0 + k * 1e-6 for k in range(10)])
    return [*b.components, *extra]


def points(n: int) -> tuple[TestPoint, ...]:
    return tuple(TestPoint(Function.DCV, 10.0 if i < n // 2 else 100.0, float(i)) for i in range(n))


# -- numbers ------------------------------------------------------------------------------------
def test_the_table_writes_numbers_as_the_certificate_does(qtbot) -> None:
    """Through station.certificates.numbers (property-tested in tests/certificates)."""
    m = ResultsModel()
    m.start((TestPoint(Function.DCV, 0.1, 0.1), TestPoint(Function.ACV, 1.0, 1.0, frequency=1e3),
             TestPoint(Function.R4W, 10e3, 10e3), TestPoint(Function.TEMP, 0.0, 140.0)))
    m.set_result(result(0, rng=0.1, nominal=0.1, error=1.5e-6, U=2.9e-6))
    m.set_result(result(1, rng=1.0, nominal=1.0, function="ACV", frequency=1e3, error=-0.2e-3, U=2.0e-3))
    m.set_result(result(2, rng=10e3, nominal=10e3, function="R4W", unit="Ohm", error=0.3, U=0.41))
    m.set_result(result(3, rng=0.0, nominal=140.0, function="TEMP", unit="\u00b0C", error=0.012,
                        U=0.0213, tol=0.1))

    def cells(row: int, *names: str) -> list[str]:
        return [m.data(m.index(row, COLUMNS.index(n))) for n in names]

    assert cells(0, "Function", "Range", "Nominal", "Indication", "Error", "U") == [
        "DCV", "100 mV", "100 mV", "100.0015 mV", f"+1.5 {MICRO}V", f"2.9 {MICRO}V"]
    assert cells(1, "Function", "Nominal", "Error", "U") == ["ACV", "1 V, 1 kHz", "-0.2 mV", "2.0 mV"]
    assert cells(2, "Range", "Reference", "U") == ["10 kOhm", "10.00000 kOhm", "410 mOhm"]
    assert cells(3, "Range", "Nominal", "Indication", "U") == ["—", "140 \u00b0C", "140.012 \u00b0C",
                                                              "0.022 \u00b0C"]
    assert format_tur(2.94) == "2.9" and format_tur(float("inf")) == "∞" and format_tur(250.0) == "250"


def test_the_tooltip_is_the_points_recorded_budget(qtbot) -> None:
    m = ResultsModel()
    m.start(points(2))
    emf = Component("thermal EMF", "B", "rectangular", 2e-6, 3**0.5, 1.0, float("inf"),
                    "thermal EMF of the connections")
    components = budget((emf,))
    m.set_result(result(0))
    tip = m.data(m.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert "run ends" in tip and "thermal EMF" not in tip  # not known yet: said so
    m.set_budgets({0: components})
    tip = m.data(m.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    for c in components:  # every component as recorded: its name and where it comes from
        assert c.name in tip and c.description in tip
    assert "thermal EMF of the connections" in tip and "DUT repeatability" in tip
    # its standard uncertainty in the result's unit: 2 uV / sqrt(3) = 1.2 uV
    assert f"1.2 {MICRO}V" in tip
    assert f"U = 42 {MICRO}V" in tip  # the same rounding as the table
    # given with the result, the budget is there at once
    m.set_result(result(1), components)
    assert "thermal EMF" in m.data(m.index(1, 0), Qt.ItemDataRole.ToolTipRole)


# -- the table ----------------------------------------------------------------------------------
def test_results_model_follows_the_events(qtbot) -> None:
    m = ResultsModel()
    m.start(points(4))
    m.set_planned_tur([3.0, 4.0, 5.0, 6.0])
    assert m.rowCount() == 4 and m.columnCount() == len(COLUMNS)
    tur_col = COLUMNS.index("TUR")
    assert m.data(m.index(1, tur_col)) == "4.0"  # planned, before the point is taken
    m.mark_measuring(0)
    assert m.data(m.index(0, COL_DECISION)) == "measuring…"
    m.set_result(result(0))
    m.set_result(result(1, decision="fail", error=500e-6))
    assert m.data(m.index(0, COL_DECISION)) == "PASS"
    assert m.data(m.index(1, COL_DECISION)) == "FAIL"
    bg = m.data(m.index(0, COL_DECISION), Qt.ItemDataRole.BackgroundRole)
    assert isinstance(bg, QBrush) and bg.color() == PASS_BG
    assert m.data(m.index(1, COL_DECISION), Qt.ItemDataRole.BackgroundRole).color() == FAIL_BG
    assert m.data(m.index(1, COLUMNS.index("Error / tol."))) == "+131.6 %"
    assert m.data(m.index(0, COLUMNS.index("U"))) == f"42 {MICRO}V"
    m.finish()
    assert [m.data(m.index(r, COL_DECISION)) for r in range(4)] == [
        "PASS", "FAIL", "not measured", "not measured"]
    assert m.headerData(0, Qt.Orientation.Horizontal) == "#"


def test_a_point_changes_its_one_row(qtbot) -> None:
    m = ResultsModel()
    m.start(points(3000))
    m.set_planned_tur([3.0] * 3000)
    changed: list[tuple[int, int]] = []
    structure: list[str] = []
    m.dataChanged.connect(lambda a, b, roles=(): changed.append((a.row(), b.row())))
    for name in ("modelReset", "layoutChanged", "rowsInserted", "rowsRemoved"):
        getattr(m, name).connect(lambda *_, name=name: structure.append(name))
    for i in range(3000):
        m.mark_measuring(i)
        m.set_result(result(i, decision="fail" if i % 100 == 7 else "pass", error=500e-6 if i % 100 == 7 else 20e-6))
    assert structure == []
    assert all(a == b for a, b in changed) and len(changed) == 2 * 3000
    assert m.counts() == (3000, 30) and len(m.results()) == 3000
    assert m.data(m.index(2999, COL_DECISION)) == "PASS" and m.data(m.index(107, COL_DECISION)) == "FAIL"


def test_a_row_changing_reads_only_the_rows_on_screen(qtbot) -> None:
    """The table neither measures its columns nor re-reads rows off screen when a point comes."""
    asked: set[int] = set()

    class Counting(ResultsModel):
        def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
            asked.add(index.row())
            return super().data(index, role)

        def multiData(self, index: QModelIndex, roleDataSpan: QModelRoleDataSpan) -> None:  # noqa: N802,N803
            asked.add(index.row())
            super().multiData(index, roleDataSpan)

    m = Counting()
    table = ResultsTable(m)
    qtbot.addWidget(table)
    table.resize(1200, 400)
    table.show()
    qtbot.waitExposed(table)
    m.start(points(2000))
    table.fit([0])
    m.set_result(result(0))
    table.fit([0])
    qtbot.wait(20)  # the scroll bar comes, the columns share the width left
    widths = table.column_widths()
    asked.clear()
    for i in range(1, 2000):
        m.mark_measuring(i)
        m.set_result(result(i, error=123.456e-6 * (i % 7)))
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)  # the table repaints
    qtbot.wait(20)
    on_screen = 400 // ResultsTable.ROW_HEIGHT + 1
    assert asked and max(asked) <= on_screen, max(asked)
    assert table.column_widths() == widths  # fixed: measured when asked, not per point
    # the representative row made the value columns wide enough for their text
    metrics = table.fontMetrics()
    for name in ("Indication", "Lower limit", "U"):
        col = COLUMNS.index(name)
        assert widths[col] >= metrics.horizontalAdvance(m.data(m.index(0, col)))


def test_a_cell_reads_the_same_through_data_and_multi_data(qtbot) -> None:
    """The view paints from multiData (every role of a cell in one call): it must say what data says."""
    m = ResultsModel()
    m.start(points(4))
    m.set_planned_tur([3.0] * 4)
    m.mark_measuring(1)
    m.set_result(result(0, decision="fail", error=500e-6))
    roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.BackgroundRole,
             Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ToolTipRole,
             Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.CheckStateRole]
    for row in range(3):
        for col in range(len(COLUMNS)):
            index = m.index(row, col)
            items = [QModelRoleData(int(r.value)) for r in roles]
            span = QModelRoleDataSpan(items)
            m.multiData(index, span)
            for k, role in enumerate(roles):
                got, want = span[k].data(), m.data(index, role)
                if isinstance(want, QBrush):
                    assert isinstance(got, QBrush) and got.color() == want.color(), (row, col, role)
                elif want is None:
                    assert got is None, (row, col, role, got)
                else:
                    assert got == want, (row, col, role, got, want)
    assert m.data(m.index(0, COL_DECISION)) == "FAIL" and m.data(m.index(1, COL_DECISION)) == "measuring…"


def test_the_window_goes_first(qtbot) -> None:
    """While the GUI thread works, the engine's thread waits at its next event (for a bounded time)."""
    gate = WorkGate()
    waited: list[float] = []

    def engine() -> None:
        t = time.perf_counter()
        gate.give_way()
        waited.append(time.perf_counter() - t)

    gate.LIMIT_S = 5.0
    with gate.working():
        with gate.working():  # nested pieces of work
            thread = threading.Thread(target=engine)
            thread.start()
            time.sleep(0.05)
        time.sleep(0.05)
        assert waited == []  # still waiting: the outer piece goes on
    thread.join(5)
    assert waited and 0.09 <= waited[0] < 1.0
    gate.LIMIT_S = 0.05
    with gate.working():  # never longer than the limit, whatever the window does
        thread = threading.Thread(target=engine)
        thread.start()
        thread.join(5)
    assert 0.04 <= waited[1] < 0.5
    t = time.perf_counter()
    gate.give_way()  # the window idle: no wait
    assert time.perf_counter() - t < 0.01


# -- the plot -----------------------------------------------------------------------------------
def test_plot_keeps_every_point_and_decimates_what_it_draws(qtbot) -> None:
    plot = ErrorPlot(max_drawn=50, error_bars=20)
    qtbot.addWidget(plot)
    plot.start(points(400))
    for i in range(400):
        big = i == 123  # one point far out, among many
        plot.add(result(i, error=500e-6 if big else 190e-6 if i % 2 else -95e-6,
                        decision="fail" if big else "pass"))
    assert plot.drawn_count() == 0  # drawn at the next redraw, not point by point
    qtbot.waitUntil(lambda: plot.drawn_count() > 0, timeout=1000)
    assert plot.point_count() == 400
    kept = plot.points()
    assert [p.x for p in kept] == list(range(1, 401))  # every point, by point number
    assert kept[-1].y == pytest.approx(50.0) and kept[-2].y == pytest.approx(-25.0)
    assert kept[-1].u == pytest.approx(100 * 41.3e-6 / 380e-6)
    assert kept[123].y == pytest.approx(100 * 500e-6 / 380e-6) and not kept[123].passed
    # drawn: about 50 markers of the passes, the extremes among them, the newest point, and the fail
    x, y = plot.drawn()
    assert plot.drawn_count() == len(x) <= 70  # 50, the newest not yet decimated, the fail
    assert 124 in x and 400 in x
    assert y.max() == pytest.approx(100 * 500e-6 / 380e-6) and y.min() == pytest.approx(-25.0)
    assert plot.bar_count() == 20  # U of the last 20 points
    plot.clear()
    assert plot.point_count() == 0 == plot.drawn_count() == plot.bar_count()


def test_a_few_points_are_all_drawn(qtbot) -> None:
    plot = ErrorPlot()
    qtbot.addWidget(plot)
    plot.start(points(17))
    for i in range(17):
        plot.add(result(i))
    plot.flush()
    x, y = plot.drawn()
    assert sorted(x) == list(range(1, 18)) and plot.bar_count() == 17
    assert y == pytest.approx([100 * 20e-6 / 380e-6] * 17)


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=3000), st.integers(4, 400))
@settings(max_examples=200, deadline=None)
def test_decimation_keeps_the_extremes_and_the_newest_point(ys: list[float], limit: int) -> None:
    y = np.array(ys)
    x = np.arange(1.0, len(y) + 1)
    dx, dy = decimate(x, y, limit)
    assert len(dx) == len(dy) <= limit + 2 * len(y) // limit + 1
    assert np.all(np.diff(dx) > 0)  # points of the input, in order, none twice
    assert np.array_equal(dy, y[(dx - 1).astype(int)])
    assert dy.max() == y.max() and dy.min() == y.min()
    assert dx[-1] == len(y)
    if len(y) <= limit:
        assert np.array_equal(dx, x)


def test_the_window_is_fed_from_events_alone(qtbot, tmp_path: Path) -> None:
    window = MainWindow(SimulatedSession(out_dir=tmp_path))
    qtbot.addWidget(window)
    view = window.run_view
    pts = points(6)
    emit = window.worker.engine_event.emit  # the signal the engine thread uses
    emit(RunStarted(str(tmp_path / "run.h5"), "synthetic", pts, ()))
    emit(PlanChecked((3.0, 5.0, 5.0, 5.0, 5.0, 5.0)))
    emit(PointStarted(0, pts[0]))
    emit(PointDone(result(0), 1, 6))
    emit(PointStarted(1, pts[1]))
    emit(PointDone(result(1, decision="fail", error=-400e-6), 2, 6))
    assert window.plot.point_count() == 2 and window.model.rowCount() == 6
    qtbot.waitUntil(lambda: view.progress.value() == 2)  # within the refresh interval
    assert view.progress.maximum() == 6
    assert "Point 2 of 6" in view.status_label.text()
    assert "1</b> fail" in view.summary_label.text()
    assert view.run_file_label.text().endswith("run.h5")
    assert not (tmp_path / "run.h5").exists()  # nothing was read or written


def test_a_planned_tur_below_4_is_a_warning_not_a_grey_value(qtbot) -> None:
    m = ResultsModel()
    m.start(points(3))
    m.set_planned_tur([3.2, 4.0, 12.0])
    low, ok = m.index(0, COL_TUR), m.index(1, COL_TUR)
    assert m.data(low) == "3.2" and m.data(ok) == "4.0"
    assert m.data(low, Qt.ItemDataRole.BackgroundRole).color() == LOW_TUR_BG
    assert m.data(ok, Qt.ItemDataRole.BackgroundRole) is None
    for index in (low, ok):  # a planned value reads as clearly as a measured one
        assert m.data(index, Qt.ItemDataRole.ForegroundRole) is None
    assert "below 4:1" in m.data(low, Qt.ItemDataRole.ToolTipRole)
    m.set_result(result(0, tol=380e-6, U=120e-6))  # TUR 3.2, as measured: still marked
    assert m.data(low, Qt.ItemDataRole.BackgroundRole).color() == LOW_TUR_BG
    m.finish()
    assert m.data(m.index(2, COL_DECISION), Qt.ItemDataRole.ForegroundRole).color() == QColor(PENDING_FG)


def test_the_plot_shows_the_tolerance_band_behind_the_u_bars(qtbot) -> None:
    import pyqtgraph as pg

    plot = ErrorPlot()
    qtbot.addWidget(plot)
    plot.start(points(4))
    for i in range(4):
        plot.add(result(i))
    plot.flush()
    items = plot.widget.getPlotItem().items
    bands = [it for it in items if isinstance(it, pg.LinearRegionItem)]
    assert len(bands) == 1 and tuple(bands[0].getRegion()) == (-100.0, 100.0)
    assert bands[0].zValue() < 0  # behind the points and their bars
    assert plot.bar_count() == 4
    assert [p.u for p in plot.points()] == pytest.approx([100 * 41.3e-6 / 380e-6] * 4)


# -- prompts ------------------------------------------------------------------------------------
def test_hazard_prompts_are_marked_and_escape_answers_abort(qtbot) -> None:
    prompt = Prompt("Hazardous voltage", "Up to 1000 V on the leads.", hazard=True)
    box = prompt_dialog(prompt, None)
    qtbot.addWidget(box)
    assert box.objectName() == "hazardPrompt" and box.property("hazard") is True
    assert "HAZARDOUS VOLTAGE" in box.windowTitle() and "DANGER" in box.text.text()
    assert box.escape_button() is box.findChild(QPushButton, f"choice:{ABORT}")
    assert box.default_button() is None  # no default: Enter must not answer a hazard
    box.show()
    qtbot.waitExposed(box)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert not box.isVisible() and choice_of(box, prompt) == ABORT
    plain = prompt_dialog(Prompt("Connect the leads", "<HI> to <HI>"), None)
    qtbot.addWidget(plain)
    assert plain.objectName() == "prompt" and "DANGER" not in plain.text.text()
    assert "&lt;HI&gt;" in plain.text.text()  # the procedure's text is shown, not interpreted
    assert plain.default_button() is plain.findChild(QPushButton, f"choice:{CONTINUE}")


def test_enter_answers_an_ordinary_prompt_but_never_a_hazard_prompt(qtbot) -> None:
    plain = prompt_dialog(Prompt("Connect the leads", "HI to HI"), None)
    qtbot.addWidget(plain)
    plain.show()
    qtbot.waitExposed(plain)
    qtbot.keyClick(plain.focusWidget(), Qt.Key.Key_Return)
    assert not plain.isVisible() and plain.choice == CONTINUE

    hazard = Prompt("Hazardous voltage", "Up to 1000 V on the leads.", hazard=True)
    box = prompt_dialog(hazard, None)
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    focused = box.focusWidget()
    assert not isinstance(focused, QPushButton)  # the focus starts on the text, not on a choice
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        qtbot.keyClick(focused, key)
        qtbot.keyClick(box, key)
    qtbot.wait(50)
    assert box.isVisible() and box.choice is None  # Enter answered nothing
    # the operator moves to a choice deliberately, then presses it
    for _ in range(5):
        if box.focusWidget() is box.buttons[CONTINUE]:
            break
        qtbot.keyClick(box.focusWidget(), Qt.Key.Key_Tab)
    assert box.focusWidget() is box.buttons[CONTINUE]
    qtbot.keyClick(box.focusWidget(), Qt.Key.Key_Space)
    assert not box.isVisible() and choice_of(box, hazard) == CONTINUE


def test_a_prompt_shows_its_picture_scaled_to_fit(qtbot, tmp_path: Path) -> None:
    picture = QImage(1600, 900, QImage.Format.Format_RGB32)
    picture.fill(QColor("#1565c0"))
    assert picture.save(str(tmp_path / "leads.png"))
    box = prompt_dialog(Prompt("Connect the leads", "As in the picture.", image="leads.png"), None, tmp_path)
    qtbot.addWidget(box)
    shown = box.image.pixmap()
    assert box.image.isVisibleTo(box) and not shown.isNull()
    assert shown.width() <= IMAGE_SIZE[0] and shown.height() <= IMAGE_SIZE[1]
    assert abs(shown.width() / shown.height() - 1600 / 900) < 0.02  # scaled, not stretched
    missing = prompt_dialog(Prompt("Connect", "No picture here.", image="nowhere.png"), None, tmp_path)
    qtbot.addWidget(missing)
    assert "nowhere.png" in missing.image.text()  # said, not a blank
    none = prompt_dialog(Prompt("Connect", "No picture."), None, tmp_path)
    qtbot.addWidget(none)
    assert not none.image.isVisibleTo(none)


def test_prompt_channel_blocks_the_engine_thread_until_answered(qtbot) -> None:
    channel = QtPromptChannel()
    got: list[PromptRequest] = []
    channel.requested.connect(got.append)
    answers: list[str] = []
    asker = threading.Thread(target=lambda: answers.append(channel.ask(Prompt("Q", "?"))))
    asker.start()
    qtbot.waitUntil(lambda: len(got) == 1)
    qtbot.wait(50)
    assert asker.is_alive() and answers == []  # still waiting for the operator
    assert got[0].answer(CONTINUE) and not got[0].answer(ABORT)  # the first answer counts
    asker.join(5)
    assert answers == [CONTINUE]

    # the window going away answers Abort to what is pending and to later questions
    asker = threading.Thread(target=lambda: answers.append(channel.ask(Prompt("Q2", "?"))))
    asker.start()
    qtbot.waitUntil(lambda: len(got) == 2)
    channel.close()
    asker.join(5)
    assert answers == [CONTINUE, ABORT]
    later = threading.Thread(target=lambda: answers.append(channel.ask(Prompt("Q3", "?"))))
    later.start()
    later.join(5)
    assert answers == [CONTINUE, ABORT, ABORT]
    with pytest.raises(RuntimeError, match="GUI thread"):
        channel.ask(Prompt("Q4", "?"))  # on the GUI thread it would deadlock
    with pytest.raises(ValueError, match="not a choice"):
        PromptRequest(Prompt("Q5", "?")).answer("Maybe")


def test_the_worker_hands_events_over_in_order_and_in_batches(qtbot, tmp_path: Path) -> None:
    worker = RunWorker(SimulatedSession(out_dir=tmp_path))
    worker.DRAIN_BUDGET_S = 0.0  # one event a turn of the event loop: the most turns
    got: list[object] = []
    worker.engine_event.connect(got.append)
    worker.prompt.connect(got.append)
    request = PromptRequest(Prompt("Q", "?"))
    events = [Message(f"line {i}") for i in range(300)]

    def engine() -> None:
        for i, event in enumerate(events):
            worker._listen(event)
            if i == 150:
                worker._listen(request)  # what QtPromptChannel.requested does, on the engine thread

    seen: list[int] = []  # how many had come, at each turn of the event loop
    timer = QTimer()
    timer.timeout.connect(lambda: seen.append(len(got)))
    timer.start(0)
    thread = threading.Thread(target=engine)
    thread.start()
    thread.join(5)
    qtbot.waitUntil(lambda: len(got) == 301, timeout=5000)
    timer.stop()
    assert got[:151] == events[:151] and got[151] is request and got[152:] == events[151:]
    assert any(0 < k < 301 for k in seen)  # the loop ran between batches


def test_paced_clock_runs_virtual_time() -> None:
    clock = PacedClock(pace=0.0)
    clock.sleep(3600.0)
    assert clock.now() == 3600.0
    with pytest.raises(ValueError):
        PacedClock(pace=-1.0)
