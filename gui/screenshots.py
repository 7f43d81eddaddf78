"""Screenshots of the station's main screens, in English and in Chinese.

    python -m gui.screenshots [--out docs/screenshots] [--lang en zh]

Offscreen, on a 1366x768 screen (the smallest the window is made for), with
a demonstration register and a simulated run made in a temporary folder,
the way a technician and a signatory go through them: sign in; Home; New
calibration with its plan check; the run in progress; Review (signed in as
the signatory); the certificate, approved through the review; the register
with the item's history. Nothing of the user's own (settings, register,
keys) is read or written. Files: ``NN-SCREEN-LANG.png`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SCREEN = (1366, 768)
#: What a desktop's task bar takes of the screen (the window is fitted to the rest).
TASKBAR = 40
TITLE_BAR = 26  # drawn over each window and dialog, as a desktop would
SCREENS = ("sign-in", "home", "new-calibration", "run", "review", "certificate", "register", "discover")


def _offscreen(folder: Path) -> None:
    """Qt's offscreen platform with one 1366x768 screen, less a task bar."""
    config = folder / "screen.json"
    config.write_text(json.dumps({"screens": [{
        "name": "screen", "x": 0, "y": 0, "width": SCREEN[0], "height": SCREEN[1] - TASKBAR,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}), encoding="utf-8")
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config.as_posix()}"


class Shooter:
    """Drives the window through the flow and saves what it shows."""

    def __init__(self, out: Path, work: Path, app: Any) -> None:
        from gui import app as gui_app

        self.out = out
        self.work = work
        self.app = app
        self.saved: list[Path] = []
        self.runs = work / "runs"
        self.runs.mkdir(parents=True, exist_ok=True)
        self.register = gui_app.open_register(gui_app.demo_register_url(work), work)
        self.keys = work / "keys"

    # -- waiting without sleeping: the event loop runs meanwhile ------------------------------------
    def wait(self, until: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
        from PyQt6.QtCore import QEventLoop, QTimer

        deadline = time.monotonic() + timeout_s
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: loop.quit() if until() or time.monotonic() > deadline else None)
        timer.start(20)
        if not until():
            loop.exec()
        timer.stop()
        if not until():
            raise TimeoutError(f"screenshots: timed out waiting for {what or 'the window'}")

    def settle(self, ms: int = 250) -> None:
        end = time.monotonic() + ms / 1000
        self.wait(lambda: time.monotonic() > end, timeout_s=ms / 1000 + 5)

    # -- pictures ----------------------------------------------------------------------------------------
    def shoot(self, window: Any, name: str, language: str, settle_ms: int = 250) -> Path:
        """The window and the dialogs over it, each with a title bar, on the screen's background."""
        from PyQt6.QtCore import QRect, Qt
        from PyQt6.QtGui import QColor, QFont, QPainter, QPixmap
        from PyQt6.QtWidgets import QApplication, QWidget

        if settle_ms:
            self.settle(settle_ms)
        picture = QPixmap(SCREEN[0], SCREEN[1])
        picture.fill(QColor("#455a64"))
        painter = QPainter(picture)
        font = QFont(window.font())
        font.setBold(True)
        painter.setFont(font)
        tops = [w for w in QApplication.topLevelWidgets()
                if isinstance(w, QWidget) and w.isVisible() and w is not window and w.isWindow()
                and w.windowType() in (Qt.WindowType.Dialog, Qt.WindowType.Window)]
        for w in [window, *tops]:
            g = w.geometry()
            frame = QRect(g.x(), g.y() - TITLE_BAR, g.width(), g.height() + TITLE_BAR)
            if w is window:
                frame.moveTo(0, 0)
                g = QRect(0, TITLE_BAR, g.width(), g.height())
            painter.fillRect(frame.adjusted(-1, -1, 1, 1), QColor("#263238"))
            painter.fillRect(QRect(frame.x(), frame.y(), frame.width(), TITLE_BAR), QColor("#37474f"))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(QRect(frame.x() + 10, frame.y(), frame.width() - 20, TITLE_BAR),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, w.windowTitle())
            painter.drawPixmap(g.topLeft(), w.grab())
        painter.end()
        path = self.out / f"{SCREENS.index(name) + 1:02d}-{name}-{language}.png"
        picture.save(str(path))
        self.saved.append(path)
        return path

    # -- the flow ----------------------------------------------------------------------------------------
    def flow(self, language: str) -> None:
        from PyQt6.QtCore import Qt
        from PyQt6.QtWidgets import QPushButton

        from gui import i18n
        from gui.main_window import MainWindow

        i18n.save_language(language)
        i18n.install(language)
        users = {u.name: u for u in self.register.users()}
        window: Any = MainWindow(register=self.register, runs_dir=self.runs, pace=0.004, keys_dir=self.keys)
        window.resize(SCREEN[0], SCREEN[1] - TASKBAR - TITLE_BAR)
        window.move(0, TITLE_BAR)
        window.show()
        try:
            # sign in
            window.sign_in()
            self.wait(lambda: window.findChild(QPushButton, "signInButton") is not None, what="the sign-in")
            dialog: Any = window.findChild(QPushButton, "signInButton").window()
            dialog.name.setEditText("wang.fang")
            self.shoot(window, "sign-in", language)
            dialog.accept()
            self.wait(lambda: window.user is not None, what="signing in")

            # new calibration, the plan checked
            window.new_calibration()
            new: Any = window.newcal
            new.search.setText("SIM-DUT-34401A")
            new._select_typed()
            for row in range(new.procedures.count()):
                item = new.procedures.item(row)
                if item is not None and item.data(Qt.ItemDataRole.UserRole) == "keysight-34401a-basic":
                    new.procedures.setCurrentRow(row)
            self.wait(lambda: new.plan is not None or bool(new.check_error), what="the plan check")
            self.shoot(window, "new-calibration", language)
            self.discover(window, new, language)

            # the run, in progress
            new.start()
            view: Any = window.run_view

            def answer() -> bool:
                asked = view.open_prompts()
                for box in asked:
                    box.buttons["Continue"].click()
                return not asked and 9 <= len(view.model.results()) < 19

            self.wait(answer, what="the run's first points")
            view.plot.flush()
            view._refresh()
            self.shoot(window, "run", language, settle_ms=0)  # at once: the run goes on
            self.wait(lambda: (answer(), view.outcome is not None and not view.running)[1], what="the run's end")
            self.wait(lambda: view.review_ready, what="the run's entry in the register")
            run = view.outcome.path if view.outcome is not None else None
            assert run is not None

            # home: the run awaits review
            window.show_page("home")
            self.wait(lambda: getattr(window.home, "scanned", True), what="home")
            self.shoot(window, "home", language)

            # review, by the signatory
            window.set_user(users["chen.jie"])
            window.review(run)
            review: Any = window.review_view
            self.wait(lambda: review is not None and (review.content is not None or bool(review.load_error)),
                      what="the review")
            self.shoot(window, "review", language)

            # approved through the review: the certificate
            review.approve()
            self.wait(lambda: window.current_page() == "certificate", timeout_s=120, what="the approval")
            certificate: Any = window.certificate_view
            self.wait(lambda: certificate is not None and certificate.page_count > 0, what="the certificate")
            self.shoot(window, "certificate", language)

            # the register: the item's history
            window.open_register()
            window.register_view.show_history("SIM-DUT-34401A")
            self.shoot(window, "register", language)
        finally:
            window.close()
            window.deleteLater()
            self.settle(100)


    def discover(self, window: Any, new: Any, language: str) -> None:
        """The bench discovered: the simulated bench served on 127.0.0.1, found by its addresses."""
        from PyQt6.QtWidgets import QDialog

        from drivers.clock import SystemClock
        from drivers.sim.bench import SimBench

        with SimBench("dmm-calibrator", clock=SystemClock()) as bench:
            served = bench.serve_tcp()
            new.discover_bench()
            self.wait(lambda: new.findChild(QDialog, "discoverBench") is not None, what="the discovery")
            box: Any = new.findChild(QDialog, "discoverBench")
            box.addresses.setPlainText("\n".join([*served.values(), "TCPIP::127.0.0.1::5025::SOCKET"]))
            box.list_visa.setChecked(False)
            box.list_serial.setChecked(False)
            box.search()
            self.wait(lambda: box.discovered is not None, what="the instruments' answers")
            self.shoot(window, "discover", language)
            box.reject()
            self.settle(50)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gui.screenshots", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screenshots", help="folder for the PNG files (default docs/screenshots)")
    ap.add_argument("--lang", nargs="+", choices=("en", "zh"), default=["en", "zh"])
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="calstation-screenshots-") as tmp:
        work = Path(tmp)
        _offscreen(work)
        from PyQt6.QtCore import QSettings
        from PyQt6.QtWidgets import QApplication

        for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
            QSettings.setPath(fmt, QSettings.Scope.UserScope, str(work / "settings"))
        os.environ.pop("CALSTATION_DB", None)
        os.environ["XDG_DATA_HOME"] = str(work / "data")
        app = QApplication(sys.argv[:1])
        app.setApplicationName("calstation")
        app.setOrganizationName("calstation")
        app.setStyle("Fusion")
        from gui.app import install_cjk_font

        install_cjk_font(app)
        shooter = Shooter(out, work, app)
        try:
            for language in args.lang:
                shooter.flow(language)
        finally:
            shooter.register.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
