"""Work the views hand off the GUI thread.

- `Task`: a function run on a thread of Qt's global pool (reading a run
  file, scanning a folder of run files, verifying a certificate); its result
  or its error comes back on the GUI thread as a signal.
- `CliProcess`: a ``calstation`` command in a process of its own
  (``python -m station.cli ...``): approval renders and signs a PDF, which
  holds the GIL for the better part of a second, so it never runs in the
  window's process. Its error comes back as the command's one line.

Errors reach the views as one line (a `CalstationError`'s message, or the
command's ``calstation: error: ...`` line without its prefix).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QProcess, QProcessEnvironment, QRunnable, QThreadPool, pyqtSignal

from station.errors import CalstationError

#: What the command-line front end puts before its one-line errors.
_PREFIXES = ("calstation: plan refused: ", "calstation: error: ", "calstation: ")


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, CalstationError):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Task(QObject):
    """``fn()`` on a pool thread. ``done(result)`` or ``failed(message)``
    is emitted once, delivered to slots on the GUI thread. Keep a reference
    to the task while it runs (the views keep the latest one)."""

    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.finished = False

    def start(self) -> Task:
        QThreadPool.globalInstance().start(_Runnable(self))  # type: ignore[union-attr]
        return self


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task

    def run(self) -> None:
        task = self.task
        try:
            try:
                result = task.fn()
            except Exception as e:  # noqa: BLE001 - every error reaches the view as one line
                task.finished = True
                task.failed.emit(one_line(e))
            else:
                task.finished = True
                task.done.emit(result)
        except RuntimeError:  # the task's Qt object is gone: nobody is waiting for it
            pass


def wait_for_tasks(timeout_ms: int = 30_000) -> bool:
    """Wait until no task runs (tests, closing the application)."""
    return bool(QThreadPool.globalInstance().waitForDone(timeout_ms))  # type: ignore[union-attr]


def error_line(stderr: str, code: int, crashed: bool) -> str:
    """The one line a failed ``calstation`` command said, without its prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "the command crashed" if crashed else f"the command ended with exit code {code}"
    line = lines[-1]
    for prefix in _PREFIXES:
        if line.startswith(prefix):
            return line[len(prefix):]
    return line


class CliProcess(QObject):
    """One ``calstation`` command at a time, in a process of its own.

    ``succeeded(stdout, stderr)`` when it exits with 0, ``failed(message)``
    otherwise (or when it cannot start). The child imports this calstation,
    wherever it was imported from, with the same interpreter."""

    succeeded = pyqtSignal(str, str)
    failed = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)

    @property
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, arguments: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        environment = QProcessEnvironment.systemEnvironment()
        here = str(Path(__file__).resolve().parents[1])
        environment.insert("PYTHONPATH", os.pathsep.join(
            p for p in (here, environment.value("PYTHONPATH")) if p))
        for k, v in (env or {}).items():
            environment.insert(k, v)
        self.process.setProcessEnvironment(environment)
        self.process.start(sys.executable, ["-m", "station.cli", *arguments])

    def wait(self, timeout_ms: int) -> bool:
        """Wait for the command to end (closing a view); True when it has."""
        return not self.running or bool(self.process.waitForFinished(timeout_ms))

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        out = bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
        err = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
        if status == QProcess.ExitStatus.NormalExit and code == 0:
            self.succeeded.emit(out, err)
        else:
            self.failed.emit(error_line(err, code, status != QProcess.ExitStatus.NormalExit))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.failed.emit(f"{sys.executable} did not start ({self.process.errorString()})")
