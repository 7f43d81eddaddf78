"""GUI tests run offscreen (no display needed) through pytest-qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("PyQt6")
pytest.importorskip("pytestqt")

from gui.main_window import MainWindow  # noqa: E402
from gui.worker import SimulatedSession  # noqa: E402


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator[Callable[..., tuple[MainWindow, SimulatedSession]]]:
    """``make_window(pace=..., session_type=..., out_dir=...)``: a shown run
    window over the simulated demo, writing to ``tmp_path`` by default. Any run still going at teardown is aborted and
    waited for, so no engine thread outlives its test."""
    windows: list[MainWindow] = []

    def make(pace: float = 0.0, *, session_type: type[SimulatedSession] = SimulatedSession,
             out_dir: Path | None = None, **options: object) -> tuple[MainWindow, SimulatedSession]:
        session = session_type(out_dir=out_dir or tmp_path, pace=pace, **options)  # type: ignore[arg-type]
        window = MainWindow(session)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window, session

    yield make
    for window in windows:
        assert window.worker.shutdown(timeout_s=20.0), "the engine thread did not end"
