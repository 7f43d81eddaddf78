"""How the run window keeps up with a long run, offscreen.

Two measurements, each against a bare baseline taken in the same run:

1. Start-up: from the process start to the first paint of the run window
   (``gui.app.main``, as ``calstation gui --simulated`` opens it), against
   a bare Qt window (a QApplication and an empty QMainWindow) and a bare
   interpreter (``python -c pass``). Best of ``--repeat``. Target: < 1.0 s.
2. A long run: an unpaced run of N points (``tests/data/long_dcv.py``, the
   10 V range swept, on the simulated bench in process) through the window,
   with its live table and plot, as the Start button starts it. A QTimer
   every 10 ms records the gaps in the event loop; the longest gap is the
   worst stall (target: none over 50 ms). The GUI thread's CPU time per
   point (all of its work: events, timers, paints), and the time spent in
   the window's event handler per `PointDone`, at each N (target: flat in
   N). The
   baselines: the same timer in an empty event loop, and with the same
   engine running on a thread and no window (what the engine's holding of
   the GIL costs any Python GUI).

Also printed: the time the Start button's handler takes, how long the
engine took, and how far the window was behind it when the run ended.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui.py [--points 1000 2000 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder leads sys.path, and this file (gui.py)
# would hide the gui package: take the folder out.
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != ROOT / "benchmarks"]
PROCEDURE = ROOT / "tests" / "data" / "long_dcv.py"
TICK_MS = 10

# -- 1. start-up: a child process that reports the window's first paint ------------------------
_CHILD = r"""
import os, sys
from pathlib import Path
from PyQt6.QtCore import QEvent, QObject, QTimer
from PyQt6.QtWidgets import QApplication, QLabel, QMainWindow

app = QApplication(sys.argv[:1])

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            QTimer.singleShot(0, done)  # after the whole window's paint
        return False

def done():
    sys.stdout.write("painted\n")
    sys.stdout.flush()
    os._exit(0)

watch = FirstPaint()
app.installEventFilter(watch)
if sys.argv[1] == "bare":
    window = QMainWindow()
    window.setCentralWidget(QLabel("bare"))
    window.resize(1480, 920)
    window.show()
    app.exec()
else:
    from gui import app as gui_app
    gui_app.main([], simulated=True, out_dir=Path(sys.argv[2]), pace=0.0)
"""


def first_paint(kind: str, out_dir: Path) -> float:
    """Seconds from starting the process to its window's first paint."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, "-c", _CHILD, kind, str(out_dir)] if kind != "python" else [
        sys.executable, "-c", "print('painted')"]
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=ROOT) as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        t = time.perf_counter() - t0
        child.wait(30)
        if line.strip() != "painted":
            raise RuntimeError(f"{kind}: no paint reported ({child.stderr.read() if child.stderr else ''})")
    return t


def startup(repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="calstation-bench-") as tmp:
        best = {kind: min(first_paint(kind, Path(tmp)) for _ in range(repeat))
                for kind in ("python", "bare", "window")}
    print(f"start-up, best of {repeat}:")
    print(f"  bare interpreter (python -c):          {best['python'] * 1e3:7.1f} ms")
    print(f"  bare Qt window, first paint:           {best['bare'] * 1e3:7.1f} ms")
    print(f"  run window (gui.app.main), first paint: {best['window'] * 1e3:6.1f} ms  "
          f"(adds {(best['window'] - best['bare']) * 1e3:.0f} ms to the bare window, ratio "
          f"{best['window'] / best['bare']:.2f}; target < 1000 ms)")


# -- 2. the event loop while a run goes ---------------------------------------------------------
@dataclass
class Loop:
    """The GUI thread's event loop, watched: the gaps between 10 ms ticks, and
    the CPU time the thread used (events, timers, paints: all of its work);
    and the interpreter's full garbage collections meanwhile (start, end,
    thread), which hold every thread."""

    ticks: list[float] = field(default_factory=list)
    cpu: float = 0.0
    collections: list[tuple[float, float, str]] = field(default_factory=list)
    _gc_start: float = 0.0

    def gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.collections.append((self._gc_start, time.perf_counter(), threading.current_thread().name))

    def tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1e3 for a, b in zip(self.ticks, self.ticks[1:], strict=False)]


@contextmanager
def watched() -> Iterator[Loop]:
    from PyQt6.QtCore import Qt, QTimer

    loop = Loop()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(loop.tick)
    timer.start(TICK_MS)
    gc.callbacks.append(loop.gc)
    loop.tick()
    cpu = time.thread_time()
    try:
        yield loop
    finally:
        loop.cpu = time.thread_time() - cpu
        loop.tick()
        timer.stop()
        gc.callbacks.remove(loop.gc)


def spin(until: Callable[[], bool], timeout_s: float) -> None:
    """Run the event loop (``exec``, as the application does) until ``until()`` holds."""
    from PyQt6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timed_out = False

    def check() -> None:
        nonlocal timed_out
        if until():
            loop.quit()
        elif time.monotonic() > deadline:
            timed_out = True
            loop.quit()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(20)
    if not until():
        loop.exec()
    poll.stop()
    if timed_out:
        raise TimeoutError(f"timed out after {timeout_s} s")


def session_type() -> type[Any]:
    """A `SimulatedSession` of the long sweep, that timestamps the engine's run on its thread."""
    from gui.worker import SimulatedSession
    from station.events import RunFinished, RunStarted

    class Sweep(SimulatedSession):
        engine_started = 0.0
        engine_ended = 0.0

        def make_engine(self, prompts: Any, listeners: Sequence[Any]) -> Any:
            return super().make_engine(prompts, [*listeners, self._stamp])

        def _stamp(self, event: object) -> None:
            if isinstance(event, RunStarted):
                self.engine_started = time.perf_counter()
            elif isinstance(event, RunFinished):
                self.engine_ended = time.perf_counter()

    return Sweep


def make_session(n: int, out_dir: Path) -> Any:
    return session_type()(out_dir=out_dir, pace=0.0, readings=5, settle_s=0.0,
                          procedure=str(PROCEDURE), options={"points": n})


def baseline_empty(seconds: float) -> list[float]:
    with watched() as loop:
        end = time.monotonic() + seconds
        spin(lambda: time.monotonic() > end, seconds + 5)
    return loop.gaps_ms()


def baseline_engine(n: int, out_dir: Path) -> tuple[list[float], float]:
    """The engine alone on a thread (no window, no listener), the loop ticking."""
    from station.prompts import AutoAnswer

    session = make_session(n, out_dir)
    engine = session.make_engine(AutoAnswer(), [])
    thread = threading.Thread(target=engine.run, name="bench-engine")
    with watched() as loop:
        t0 = time.perf_counter()
        thread.start()
        spin(lambda: not thread.is_alive(), 600)
        elapsed = time.perf_counter() - t0
    session.close()
    return loop.gaps_ms(), elapsed


@dataclass
class RunFigures:
    n: int
    gaps: list[float]
    cpu: float
    handler_point_done: float
    point_dones: int
    start_call: float
    engine_s: float
    lag_s: float
    total_s: float
    longest_at_s: float  # when the longest gap began, from Start
    engine_end_at_s: float  # when the engine's run ended, from Start
    collections: list[tuple[float, float, str]]  # full garbage collections: start, end (from Start), thread
    longest_in_gc: float  # how much of the longest gap a full collection took


def through_window(n: int, out_dir: Path, timeout_s: float) -> RunFigures:
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QPushButton

    from gui.main_window import MainWindow
    from station.events import PointDone
    from station.prompts import CONTINUE

    handler: dict[str, float] = {"t": 0.0, "n": 0}
    ended = {"t": 0.0}
    original, on_finished = MainWindow._on_event, MainWindow._on_finished

    def timed(self: MainWindow, event: object) -> None:
        t = time.perf_counter()
        original(self, event)
        if isinstance(event, PointDone):
            handler["t"] += time.perf_counter() - t
            handler["n"] += 1

    def finished(self: MainWindow, outcome: Any) -> None:
        ended["t"] = time.perf_counter()
        on_finished(self, outcome)

    MainWindow._on_event = timed  # type: ignore[method-assign]
    MainWindow._on_finished = finished  # type: ignore[method-assign]
    try:
        session = make_session(n, out_dir)
        window = MainWindow(session)
    finally:
        MainWindow._on_event = original  # type: ignore[method-assign]
        MainWindow._on_finished = on_finished  # type: ignore[method-assign]
    def operator() -> None:  # answers each prompt dialog at once, as tests/gui do
        for box in window.open_prompts():
            button = box.findChild(QPushButton, f"choice:{CONTINUE}")
            if button is not None:
                button.click()

    answering = QTimer(window)
    answering.timeout.connect(operator)
    answering.start(20)
    window.show()
    spin(lambda: window.isVisible(), 10)
    settle = time.monotonic() + 0.3
    spin(lambda: time.monotonic() > settle, 5)

    with watched() as loop:
        t0 = time.perf_counter()
        window.start()
        start_call = time.perf_counter() - t0
        spin(lambda: window.outcome is not None and not window.running, timeout_s)
        after = time.monotonic() + 0.2  # the last coalesced redraw
        spin(lambda: time.monotonic() > after, 5)
        total = time.perf_counter() - t0
    outcome = window.outcome
    assert outcome is not None and outcome.status == "completed", window.banner.text()
    assert window.model.rowCount() == n and len(window.model.results()) == n
    assert window.plot.point_count() == n, f"the plot holds {window.plot.point_count()} of {n} points"
    window.close()
    window.deleteLater()
    return RunFigures(n, loop.gaps_ms(), loop.cpu, handler["t"], int(handler["n"]),
                      start_call, session.engine_ended - session.engine_started,
                      ended["t"] - session.engine_ended, total, longest_at(loop) - t0,
                      session.engine_ended - t0, [(a - t0, b - t0, who) for a, b, who in loop.collections],
                      in_collections(loop))


def longest_at(loop: Loop) -> float:
    gaps = loop.gaps_ms()
    return loop.ticks[gaps.index(max(gaps))]


def in_collections(loop: Loop) -> float:
    gaps = loop.gaps_ms()
    k = gaps.index(max(gaps))
    a, b = loop.ticks[k], loop.ticks[k + 1]
    return sum(max(0.0, min(end, b) - max(start, a)) for start, end, _ in loop.collections)


def describe(gaps: Sequence[float]) -> str:
    over = sum(1 for g in gaps if g > 50.0)
    p99 = statistics.quantiles(gaps, n=100, method="inclusive")[98] if len(gaps) > 1 else gaps[0]
    return f"longest gap {max(gaps):7.1f} ms, p99 {p99:6.1f} ms, {over} over 50 ms"


def runs(points: Sequence[int], timeout_s: float) -> None:
    from PyQt6.QtWidgets import QApplication

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setStyle("Fusion")  # as gui.app.main
    with tempfile.TemporaryDirectory(prefix="calstation-bench-") as tmp:
        out = Path(tmp)
        empty = baseline_empty(2.0)
        print(f"\nevent loop, {TICK_MS} ms ticks (gap = time between two ticks):")
        print(f"  baseline, empty loop (2 s):                  {describe(empty)}")
        engine_gaps, engine_s = baseline_engine(max(points), out / "baseline")
        print(f"  baseline, engine alone, {max(points)} points ({engine_s:5.1f} s): {describe(engine_gaps)}")
        figures = []
        for n in points:
            f = through_window(n, out / f"run-{n}", timeout_s)
            figures.append(f)
            print(f"  window, {n:5d} points ({f.total_s:5.1f} s):            {describe(f.gaps)}; ratio to "
                  f"the engine alone {max(f.gaps) / max(engine_gaps):.1f}, to the empty loop "
                  f"{max(f.gaps) / max(empty):.1f}")
        print("\nthe GUI thread per point (CPU: all its work, paints and timers included):")
        for f in figures:
            print(f"  {f.n:5d} points: CPU {f.cpu / f.n * 1e3:6.3f} ms; handler per PointDone {f.handler_point_done / max(1, f.point_dones) * 1e3:6.3f} ms; "
                  f"Start {f.start_call * 1e3:5.1f} ms; engine {f.engine_s:5.1f} s "
                  f"({f.engine_s / f.n * 1e3:5.2f} ms/point), window behind at the end {f.lag_s * 1e3:7.1f} ms; "
                  f"longest gap began {f.longest_at_s:5.2f} s after Start, the engine ended at "
                  f"{f.engine_end_at_s:5.2f} s")
            worst = max(f.collections, key=lambda c: c[1] - c[0], default=None)
            print(f"         full garbage collections: {len(f.collections)}"
                  + (f", longest {(worst[1] - worst[0]) * 1e3:.1f} ms on {worst[2]}" if worst else "")
                  + f"; {f.longest_in_gc * 1e3:.1f} ms of the longest gap")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--points", type=int, nargs="+", default=[1000, 2000, 10000])
    ap.add_argument("--repeat", type=int, default=5, help="start-up measurements (best is kept)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds a run may take")
    ap.add_argument("--no-startup", action="store_true")
    args = ap.parse_args(argv)
    if not args.no_startup:
        startup(args.repeat)
    runs(args.points, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
