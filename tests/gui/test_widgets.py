"""The window's parts on synthetic events: number formatting, the results
table, the capped plot, the prompt dialog and the blocking prompt channel."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush
from PyQt6.QtWidgets import QMessageBox, QPushButton

from drivers.clock import PacedClock
from drivers.roles import Function
from gui.main_window import MainWindow
from gui.widgets import (
    COL_DECISION,
    COLUMNS,
    FAIL_BG,
    PASS_BG,
    ErrorPlot,
    ResultsModel,
    format_tur,
    prompt_dialog,
)
from gui.worker import PromptRequest, QtPromptChannel, SimulatedSession
from station.certificates.numbers import MICRO
from station.events import PlanChecked, PointDone, PointStarted, RunStarted
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


# -- the plot -----------------------------------------------------------------------------------
def test_plot_normalises_to_tolerance_and_caps_what_it_draws(qtbot) -> None:
    plot = ErrorPlot(max_points=50)
    qtbot.addWidget(plot)
    plot.start(points(400))
    for i in range(400):
        plot.add(result(i, error=190e-6 if i % 2 else -95e-6, decision="pass"))
    assert plot.point_count() == 50 == plot.drawn_count()
    kept = plot.points()
    assert [p.x for p in kept] == list(range(351, 401))  # the latest, by point number
    assert kept[-1].y == pytest.approx(50.0) and kept[-2].y == pytest.approx(-25.0)
    assert kept[-1].u == pytest.approx(100 * 41.3e-6 / 380e-6)
    plot.clear()
    assert plot.point_count() == 0 == plot.drawn_count()


def test_the_window_is_fed_from_events_alone(qtbot, tmp_path: Path) -> None:
    window = MainWindow(SimulatedSession(out_dir=tmp_path))
    qtbot.addWidget(window)
    pts = points(6)
    emit = window.worker.engine_event.emit  # the signal the engine thread uses
    emit(RunStarted(str(tmp_path / "run.h5"), "synthetic", pts, ()))
    emit(PlanChecked((3.0,) * 6))
    emit(PointStarted(0, pts[0]))
    emit(PointDone(result(0), 1, 6))
    emit(PointStarted(1, pts[1]))
    emit(PointDone(result(1, decision="fail", error=-400e-6), 2, 6))
    qtbot.waitUntil(lambda: window.plot.point_count() == 2)
    assert window.model.rowCount() == 6
    assert window.progress.value() == 2 and window.progress.maximum() == 6
    assert "1</b> fail" in window.summary_label.text()
    assert window.run_file_label.text().endswith("run.h5")
    assert not (tmp_path / "run.h5").exists()  # nothing was read or written


# -- prompts ------------------------------------------------------------------------------------
def test_hazard_prompts_are_marked_and_escape_answers_abort(qtbot) -> None:
    prompt = Prompt("Hazardous voltage", "Up to 1000 V on the leads.", hazard=True)
    box = prompt_dialog(prompt, None)
    qtbot.addWidget(box)
    assert box.objectName() == "hazardPrompt" and box.property("hazard") is True
    assert "HAZARDOUS VOLTAGE" in box.windowTitle() and "DANGER" in box.text()
    assert box.icon() == QMessageBox.Icon.Warning
    assert box.escapeButton() is box.findChild(QPushButton, f"choice:{ABORT}")
    assert box.defaultButton() is box.findChild(QPushButton, f"choice:{CONTINUE}")
    plain = prompt_dialog(Prompt("Connect the leads", "<HI> to <HI>"), None)
    qtbot.addWidget(plain)
    assert plain.objectName() == "prompt" and "DANGER" not in plain.text()
    assert "&lt;HI&gt;" in plain.text()  # the procedure's text is shown, not interpreted


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


def test_paced_clock_runs_virtual_time() -> None:
    clock = PacedClock(pace=0.0)
    clock.sleep(3600.0)
    assert clock.now() == 3600.0
    with pytest.raises(ValueError):
        PacedClock(pace=-1.0)
