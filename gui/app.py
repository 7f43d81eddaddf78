"""The GUI entry point: ``calstation gui --simulated``.

`main` creates the QApplication and the run window over the built-in
demonstration (Keysight 34401A DC voltage on the simulated bench, in
process, on a virtual clock paced so that a person can watch it).

Where files go: run files (``keysight-34401a-dcv-YYYYmmdd-HHMMSS.h5``) and
their certificates (same name, ``.pdf``) are written to ``out_dir``. When
no ``out_dir`` is given it is ``~/calstation/runs`` (created if needed);
when the home folder is not writable, a fresh ``calstation-runs-*`` folder
under the system's temporary directory. The window shows the folder.
"""

from __future__ import annotations

import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from gui.main_window import MainWindow
from gui.worker import DEMO_PACE, SimulatedSession
from station.errors import ConfigError
from station.interrupts import REASONS, stop_signals

DEFAULT_OUT_DIR = Path.home() / "calstation" / "runs"


def default_out_dir() -> Path:
    """``~/calstation/runs``, or a new temporary folder when home is not writable."""
    try:
        DEFAULT_OUT_DIR.mkdir(parents=True, exist_ok=True)
        probe = DEFAULT_OUT_DIR / ".calstation-write-test"
        probe.touch()
        probe.unlink()
        return DEFAULT_OUT_DIR
    except OSError:
        return Path(tempfile.mkdtemp(prefix="calstation-runs-"))


def handle_stop_signals(window: MainWindow) -> Callable[[], None]:
    """SIGINT, SIGTERM, SIGHUP (and SIGBREAK on Windows) close the window
    the way `MainWindow.stop` does: the run, if any, aborts through the safe
    state first. Qt runs no Python while it waits for events, so a timer
    lets the interpreter look at its signals four times a second. Returns
    the function that puts the previous handlers back."""

    def handler(signum: int, frame: FrameType | None) -> None:
        reason = REASONS.get(signal.Signals(signum).name, f"signal {signum}")
        QTimer.singleShot(0, lambda: window.stop(reason))

    previous: list[tuple[signal.Signals, Any]] = [(sig, signal.signal(sig, handler)) for sig in stop_signals()]
    tick = QTimer(window)
    tick.timeout.connect(lambda: None)
    tick.start(250)

    def restore() -> None:
        tick.stop()
        for sig, old in previous:
            signal.signal(sig, old)

    return restore


def main(argv: list[str] | None = None, *, simulated: bool = True, out_dir: Path | None = None,
         pace: float = DEMO_PACE) -> int:
    """Show the run window and run the Qt event loop; returns its exit code.

    ``simulated`` must be True for now: the window runs the built-in demo on
    the simulated bench (real benches run from a bench file with
    ``calstation run``). ``pace``: real seconds per simulated second.
    """
    if not simulated:
        raise ConfigError(
            "the GUI runs the simulated bench only for now: start it with `calstation gui "
            "--simulated`, or calibrate on a real bench with `calstation run` and a bench file")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("calstation")
    app.setOrganizationName("calstation")
    app.setStyle("Fusion")
    session = SimulatedSession(out_dir=Path(out_dir) if out_dir is not None else default_out_dir(),
                               pace=pace)
    window = MainWindow(session)
    restore = handle_stop_signals(window)
    window.show()
    try:
        code = app.exec()
    finally:
        # The window only closes once a run has reached its safe state; make sure.
        window.worker.shutdown()
        restore()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
