"""The GUI entry point: ``calstation gui [--simulated] [--db URL] [--out DIR]``.

`main` checks that a window can be opened at all (`display_problem`:
before Qt is started, which would otherwise abort the process), creates
the QApplication with the Chinese font loaded (`install_cjk_font`), and
shows the station's window; the register is opened off the GUI thread,
then the language is asked (first start) and someone signs in.

The register: ``db`` (``--db``), else ``CALSTATION_DB``; else, with
``simulated``, a demonstration register in the output folder (made once,
like ``calstation demo``'s: a technician, a signatory with a key pair, the
simulated benches' standards and items); else the station's own SQLite
file.

Where files go: run files (``PROCEDURE-YYYYmmdd-HHMMSS.h5``) are written to
``out_dir``. When no ``out_dir`` is given it is ``~/calstation/runs``
(created if needed); when the home folder is not writable, a fresh
``calstation-runs-*`` folder under the system's temporary directory.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from PyQt6.QtCore import QLibraryInfo, QTimer
from PyQt6.QtGui import QFont, QFontDatabase
from PyQt6.QtWidgets import QApplication

from gui import i18n
from gui.main_window import MainWindow
from gui.worker import DEMO_PACE, BackgroundTask
from station.errors import CalstationError, ConfigError
from station.interrupts import REASONS, stop_signals

DEFAULT_OUT_DIR = Path.home() / "calstation" / "runs"
#: The procedures whose simulated benches the demonstration register knows (their standards and items).
DEMO_PROCEDURES = ("keysight-34401a-basic", "fluke-5522a-dcv", "temperature-indicator-drywell")
#: Qt platforms that need no display.
HEADLESS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay", "minimalegl")
XCB_LIBRARIES = ("`make demo` installs them (apt: libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
                 "libxcb-render-util0 libxcb-xkb1 libxkbcommon-x11-0)")
NO_DISPLAY = ("no display: set DISPLAY (or WAYLAND_DISPLAY) or run the window under a desktop; on a server "
              "use QT_QPA_PLATFORM=offscreen for tests; the xcb libraries come with `make demo`")


class NoDisplay(ConfigError):
    """The window cannot be opened here; the message says what is missing and what to do."""


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


# -- can a window be opened? ---------------------------------------------------------------------
def _x_display_reachable(display: str, timeout_s: float = 2.0) -> str:
    """"" when the X server of ``display`` (``[host]:N[.S]``) answers a
    connection; else why not."""
    host, _, rest = display.rpartition(":")
    try:
        number = int(rest.split(".")[0])
    except ValueError:
        return f"DISPLAY={display!r} is not an X display name (such as :0)"
    if host in ("", "unix") or host.startswith("/"):
        path = host if host.startswith("/") else f"/tmp/.X11-unix/X{number}"
        if not hasattr(socket, "AF_UNIX"):
            return ""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = path
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, 6000 + number)
    s.settimeout(timeout_s)
    try:
        s.connect(target)
    except OSError as e:
        return f"no X server answers at DISPLAY={display} ({e.strerror or e})"
    finally:
        s.close()
    return ""


def _xcb_plugin_problem() -> str:
    """Why Qt's xcb platform plugin cannot load ("" when it can): a system
    library it needs is missing (libxcb-cursor0 on a fresh Ubuntu)."""
    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return ""  # a Qt built otherwise: let it say
    try:
        ctypes.CDLL(str(plugin))
    except OSError as e:
        missing = str(e).split(":")[0].strip()
        return (f"the window cannot open on the X display: Qt's xcb platform needs {missing}, which is not "
                f"installed; {XCB_LIBRARIES}; on a server use QT_QPA_PLATFORM=offscreen for tests")
    return ""


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """Why no window can be opened here ("" when one can), checked before Qt
    starts (Qt aborts the process when its platform cannot start)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in HEADLESS or not platform.startswith("linux"):
        return ""
    display, wayland = env.get("DISPLAY", "").strip(), env.get("WAYLAND_DISPLAY", "").strip()
    if qpa.startswith("wayland"):
        return "" if wayland else NO_DISPLAY
    if qpa == "xcb" and not display:
        return NO_DISPLAY
    if not display:
        return "" if wayland else NO_DISPLAY
    if wayland and qpa != "xcb":
        return ""  # Qt chooses Wayland where it is there
    problem = _xcb_plugin_problem()
    if problem:
        return problem
    unreachable = _x_display_reachable(display)
    if unreachable:
        return (f"{unreachable}: start the desktop (or an X server) or set DISPLAY to one that runs; on a "
                "server use QT_QPA_PLATFORM=offscreen for tests")
    return ""


# -- the Chinese font -----------------------------------------------------------------------------------
def cjk_font_path() -> Path | None:
    """The file of the CJK font the certificates use (`station.certificates.fonts.cjk_font`), or None."""
    from station.certificates.fonts import FontError, cjk_font

    try:
        return cjk_font().path
    except FontError:
        return None


def install_cjk_font(app: QApplication, path: Path | None = None) -> list[str]:
    """Load the CJK font the certificates use (``path``, else `cjk_font_path`)
    into the application and make it the fallback of the window's font, so
    that Chinese shows on a machine without Chinese system fonts. Returns its
    families ([] when there is none: the system's fonts are all there is)."""
    path = path or cjk_font_path()
    if path is None:
        return []
    index = QFontDatabase.addApplicationFont(str(path))
    families = list(QFontDatabase.applicationFontFamilies(index)) if index >= 0 else []
    if not families:
        return []
    base = app.font()
    main = base.family()
    base.setFamilies([main, *[f for f in families if f != main]])
    app.setFont(base)
    for family in {main, "Sans Serif", "Monospace", "Serif"}:
        QFont.insertSubstitutions(family, families)
    return families


# -- the register ------------------------------------------------------------------------------------------
def demo_register_url(out_dir: Path) -> str:
    return f"sqlite:///{(out_dir / 'demo-register.sqlite').resolve().as_posix()}"


def open_register(url: str | None, demo_out: Path | None = None) -> Any:
    """`Register.open(url)`; with ``demo_out``, the demonstration register is
    made (or completed) there first, as ``calstation demo`` makes it: its
    keys in ``demo_out/keys``."""
    from station.register import Register

    reg = Register.open(url)
    if demo_out is None:
        return reg
    try:
        seed_demo(reg, demo_out / "keys")
    except BaseException:
        reg.close()
        raise
    return reg


def seed_demo(reg: Any, keys: Path, today: dt.date | None = None) -> None:
    """The demonstration register's users, customer, items and standards, for
    every simulated bench of `DEMO_PROCEDURES` (`station.register.demo.seed`)."""
    from station import library
    from station.register import demo
    from station.simulated import SimulatedStation

    today = today or dt.date.today()
    for name in DEMO_PROCEDURES:
        procedure = library.load(name)
        with SimulatedStation(procedure=procedure) as sim:
            demo.seed(reg, sim.bench(today), sim.job(today), procedure.dut_role, keys, today)


# -- stop signals ----------------------------------------------------------------------------------------------
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


# -- main -------------------------------------------------------------------------------------------------------
@dataclass
class Opened:
    """What `prepare` made off the GUI thread: the register, where the
    signatories' keys are (the demonstration register's), the CJK font."""

    register: Any
    keys: Path | None
    font: Path | None


def prepare(db: str | None, simulated: bool, out: Path) -> Opened:
    """Open the register (``db``; else CALSTATION_DB; else, ``simulated``, the
    demonstration register in ``out``; else the station's own) and find the
    CJK font: the slow part of the start, done while the window shows."""
    from station.register import db as register_db

    demo = simulated and not (db or os.environ.get(register_db.ENV))
    url = db or (demo_register_url(out) if demo else None)
    font = cjk_font_path()
    return Opened(open_register(url, out if demo else None), out / "keys" if demo else None, font)


def main(argv: list[str] | None = None, *, simulated: bool = True, out_dir: Path | None = None,
         pace: float = DEMO_PACE, db: str | None = None) -> int:
    """Show the station's window and run the Qt event loop; returns its exit code.

    Raises `NoDisplay` (one line: what is missing, what to do) before Qt is
    started when no window can be opened. ``simulated``: New calibration
    starts on the simulated bench, and without ``db`` (or CALSTATION_DB)
    the register is a demonstration register in ``out_dir``. ``pace``: real
    seconds per simulated second. The window paints at once; the register
    and the Chinese font are made ready on a thread meanwhile (a Chinese
    window loads its font first).
    """
    problem = display_problem()
    if problem:
        raise NoDisplay(problem)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("calstation")
    app.setOrganizationName("calstation")
    app.setStyle("Fusion")
    language = i18n.saved_language()
    if language is not None:
        i18n.install(language)
    chinese = language == "zh" and bool(install_cjk_font(app))  # before its first text
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    window = MainWindow(register=None, runs_dir=out, simulated=simulated, pace=pace)
    window.opening_register()
    restore = handle_stop_signals(window)
    opening = BackgroundTask(window)

    def opened(ready: Opened) -> None:
        if not chinese and ready.font is not None:
            install_cjk_font(app, ready.font)
        window.keys_dir = ready.keys
        window.set_register(ready.register)
        window.begin()

    opening.done.connect(opened)
    opening.failed.connect(window.register_failed)
    window.show()
    opening.start(lambda: prepare(db, simulated, out))
    try:
        code = app.exec()
    finally:
        # The window only closes once a run has reached its safe state; make sure.
        window.worker.shutdown()
        opening.wait(30.0)
        restore()
        if window.register is not None:
            window.register.close()
    return code


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except CalstationError as e:
        sys.stderr.write(f"calstation: error: {e}\n")
        raise SystemExit(e.exit_code or 1) from None
