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

import sys
import tempfile
from pathlib import Path

from PyQt6.QtWidgets import QApplication

from gui.main_window import MainWindow
from gui.worker import DEMO_PACE, SimulatedSession
from station.errors import ConfigError

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
    window.show()
    code = app.exec()
    # The window only closes once a run has reached its safe state; make sure.
    window.worker.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
