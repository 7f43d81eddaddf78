"""The catchable ways a process is told to stop, turned into one call.

Ctrl-C (SIGINT), ``kill PID`` or a service stop (SIGTERM), a closed
terminal or a dropped SSH session (SIGHUP), and on Windows Ctrl-Break
(SIGBREAK) and the console window being closed, the user logging off or
the machine shutting down (console control events) all reach
``on_stop(reason)`` while `held_stops` is active, and never interrupt the
code that runs meanwhile: the engine turns the first into an abort at its
next checkpoint and goes through the safe state (after QCoDeS'
DelayedKeyboardInterrupt and OpenHTF's teardown).

SIGKILL (``kill -9``) and a power cut cannot be caught by any program: the
instruments then stay as they were (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

#: Signal name -> why the run stops, as the run file records it.
REASONS = {
    "SIGINT": "interrupted by Ctrl-C",
    "SIGTERM": "terminated (SIGTERM: kill, or a service stop)",
    "SIGHUP": "the terminal was closed (SIGHUP)",
    "SIGBREAK": "interrupted by Ctrl-Break",
}
#: Windows console control events (wincon.h) -> why the run stops.
CONSOLE_EVENTS = {2: "the console window was closed", 5: "the user logged off",
                  6: "the computer is shutting down"}
#: Windows ends a process this long after a close event; the ending must fit.
CONSOLE_GRACE_S = 4.5


def stop_signals() -> list[signal.Signals]:
    """The signals this platform has, of those in `REASONS`."""
    return [getattr(signal, name) for name in REASONS if hasattr(signal, name)]


@contextlib.contextmanager
def held_stops(on_stop: Callable[[str], None], ended: threading.Event | None = None) -> Iterator[None]:
    """Route every catchable stop to ``on_stop(reason)`` while the block runs.

    Signal handlers can only be installed from the main thread; elsewhere
    (the GUI's engine thread) this does nothing, and the application
    handles the signals itself (gui/app.py). ``ended`` is set by the caller
    when its ending is complete: a Windows console close waits for it (the
    process dies when the handler returns)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        on_stop(REASONS.get(signal.Signals(signum).name, f"signal {signum}"))

    previous: list[tuple[signal.Signals, Any]] = []
    try:
        for sig in stop_signals():
            previous.append((sig, signal.signal(sig, handler)))
        with _console_events(on_stop, ended):
            yield
    finally:
        for sig, old in reversed(previous):
            signal.signal(sig, old)


@contextlib.contextmanager
def _console_events(on_stop: Callable[[str], None], ended: threading.Event | None) -> Iterator[None]:
    """Windows: console close, logoff and shutdown (SetConsoleCtrlHandler).
    Elsewhere: nothing (SIGHUP covers a closed terminal)."""
    if sys.platform != "win32":
        yield
        return
    import ctypes
    from ctypes import wintypes

    handler_type = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)

    def console(event: int) -> bool:
        reason = CONSOLE_EVENTS.get(event)
        if reason is None:
            return False  # Ctrl-C and Ctrl-Break arrive as signals
        on_stop(reason)
        if ended is not None:
            ended.wait(CONSOLE_GRACE_S)  # returning lets Windows end the process
        return True

    callback = handler_type(console)  # kept referenced until removed
    kernel32 = ctypes.windll.kernel32
    kernel32.SetConsoleCtrlHandler(callback, True)
    try:
        yield
    finally:
        kernel32.SetConsoleCtrlHandler(callback, False)

