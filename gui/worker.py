"""The engine off the GUI thread, and the bridge back.

`RunWorker` builds the engine (`RunSession.make_engine`: the procedure,
the bench, the run file's path) and runs `Engine.run()` in a
`threading.Thread`, so that neither stalls the window. The engine calls its
listeners on that thread; the worker's listener only queues the event and,
when the queue was empty, wakes the GUI thread with a queued Qt signal. The
GUI thread takes the queued events in batches (`RunWorker.DRAIN_MS` after
the wake-up, for at most `RunWorker.DRAIN_BUDGET_S` at a time, so that a fast
engine never holds the event loop) and re-emits each as `engine_event`; no
widget is ever touched from the engine thread. `QtPromptChannel.ask` hands
a prompt over (through the same queue, so that it comes after the events
before it) and then blocks the engine thread on a `threading.Event` until
the GUI answers (or the run is torn down, which answers Abort).

`SimulatedSession` builds engines for the built-in demo: by default the
Keysight 34401A DC voltage procedure, on the simulated bench its procedure
names (`station.simulated.SimulatedStation`), in process, on a `PacedClock`.
`CalibrationSession` builds the engine of a calibration chosen in the New
calibration view (its DUT, customer and operator from the register, the
standards' standing resolved by the register); `ResumeSession` continues an
interrupted run from its file (``Engine(resume=True)``, as ``calstation run
--resume`` does). `BackgroundTask` runs any other slow call (a plan check,
entering a run in the register) on a thread and reports back on the GUI
thread.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import inspect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtBoundSignal, pyqtSignal

from drivers.clock import Clock, PacedClock, VirtualClock
from gui.i18n import tr
from station import library
from station.bench import BenchConfig, Job
from station.engine import Engine, RunOutcome
from station.errors import CalstationError, ConfigError, PlanRefused, one_line
from station.events import Event, Listener, PointDone, RunStarted
from station.metrology.budget import Component
from station.metrology.decision import SIMPLE, DecisionRule
from station.procedure import Procedure
from station.prompts import ABORT, Prompt, PromptChannel
from station.runfile.reader import RunFile
from station.simulated import SimulatedStation

if TYPE_CHECKING:
    from station.register.core import Register

#: A run's status, as the window says it (the register's views translate the same words).
STATUSES = {"running": "running", "aborted": "aborted", "failed": "failed"}


def tr_status(status: str) -> str:
    """A run file's status in the window's language ("running", "aborted", "failed")."""
    return (tr(STATUSES[status]) or status) if status in STATUSES else status

DEMO_PROCEDURE = "keysight-34401a-dcv"
DEMO_TITLE = "Keysight 34401A DC voltage"


def queued(signal: pyqtBoundSignal, slot: Callable[..., object] | pyqtBoundSignal) -> None:
    """Connect so that ``slot`` runs on the receiver's (GUI) thread, whichever thread emits."""
    signal.connect(slot, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]  # the stub lacks ``type``


# -- the window first --------------------------------------------------------------------------
class WorkGate:
    """Lets the window's work go before the engine's.

    The engine's thread and the GUI thread share one interpreter lock (the
    GIL); when both run Python, each gets it in turns of the interpreter's
    switch interval, so 10 ms of the window's work (a batch of events, a
    repaint) takes 20 ms or more, and a repaint that calls back into Python
    for every cell takes far longer. The GUI thread marks its bounded pieces
    of work (`working`); the engine's thread, at each event it hands over
    (`give_way`, between points, never inside one), waits until the window
    is done, for at most `LIMIT_S`. The engine loses only the window's share
    of the time, and nothing it does is held in between.
    """

    LIMIT_S = 0.1

    def __init__(self) -> None:
        self._idle = threading.Event()
        self._idle.set()
        self._depth = 0  # GUI thread only

    @contextmanager
    def working(self) -> Iterator[None]:
        """Around a piece of the window's work, on the GUI thread."""
        self._depth += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth:
                self._idle.set()

    def give_way(self) -> None:
        """On the engine's thread: wait while the window works (at most `LIMIT_S`)."""
        if not self._idle.is_set():
            self._idle.wait(self.LIMIT_S)


#: The gate of this process's window (`RunWorker`, `ResultsTable`, `ErrorPlot`, `MainWindow`).
WINDOW_AT_WORK = WorkGate()


# -- prompts -------------------------------------------------------------------------------
class PromptRequest:
    """One question from the engine thread, waiting for the GUI's answer."""

    def __init__(self, prompt: Prompt) -> None:
        self.prompt = prompt
        self._answered = threading.Event()
        self._answer: str | None = None
        self._lock = threading.Lock()

    def answer(self, choice: str) -> bool:
        """Answer once; later answers are ignored (returns whether this one counted)."""
        if choice not in self.prompt.choices:
            raise ValueError(f"{choice!r} is not a choice of prompt {self.prompt.title!r} "
                             f"({', '.join(self.prompt.choices)})")
        with self._lock:
            if self._answered.is_set():
                return False
            self._answer = choice
            self._answered.set()
            return True

    def cancel(self) -> bool:
        """Answer Abort (or the default when Abort is not a choice): the run is going away."""
        return self.answer(ABORT if ABORT in self.prompt.choices else self.prompt.default)

    @property
    def answered(self) -> bool:
        return self._answered.is_set()

    def wait(self) -> str:
        self._answered.wait()
        assert self._answer is not None
        return self._answer


class QtPromptChannel(QObject):
    """A `PromptChannel` answered on the GUI thread.

    ``ask`` is called on the engine thread: it emits `requested` with a
    `PromptRequest` and blocks until someone calls ``request.answer``.
    After `close` every pending and later prompt is answered Abort.
    """

    requested = pyqtSignal(object)  # PromptRequest

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: list[PromptRequest] = []
        self._closed = False
        self._gui_thread = threading.get_ident()  # created on the GUI thread

    def ask(self, prompt: Prompt) -> str:
        if threading.get_ident() == self._gui_thread:
            raise RuntimeError("QtPromptChannel.ask was called on the GUI thread, where it would "
                               "deadlock; the engine must run on its own thread (RunWorker)")
        request = PromptRequest(prompt)
        with self._lock:
            if self._closed:
                request.cancel()
                return request.wait()
            self._pending.append(request)
        try:
            self.requested.emit(request)
            return request.wait()
        finally:
            with self._lock:
                self._pending.remove(request)

    def pending(self) -> list[PromptRequest]:
        with self._lock:
            return list(self._pending)

    def close(self) -> None:
        """Answer Abort to what is pending and to anything asked later."""
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        for request in pending:
            request.cancel()


# -- sessions: what builds an engine -------------------------------------------------------
class RunSession(Protocol):
    """What the run window needs from whoever knows the bench and the procedure."""

    @property
    def title(self) -> str: ...
    def details(self) -> list[tuple[str, str]]:
        """(label, text) lines describing the run before it starts."""
        ...
    def make_engine(self, prompts: PromptChannel, listeners: Sequence[Listener]) -> Engine:
        """A fresh engine (and run file path) for one run (called on the engine thread)."""
        ...
    def close(self) -> None:
        """Release the bench after a run (called on the engine thread)."""
        ...


#: Real seconds per virtual second in the GUI demo: the ~1 min of settling
#: and reading of the 34401A DCV run shows in a few seconds.
DEMO_PACE = 0.1


@dataclass
class SimulatedSession:
    """The built-in demonstration: a procedure (34401A DC voltage unless
    ``procedure`` names another, by library name or ``.py`` path) on its
    simulated bench, in process, on a `PacedClock`. Run files go to
    ``out_dir``; ``options``: more keyword arguments for the procedure
    (e.g. ``points`` for ``tests/data/long_dcv.py``)."""

    out_dir: Path
    readings: int = 10
    settle_s: float = 2.0
    pace: float = DEMO_PACE
    seed: int = 0
    rule: DecisionRule = SIMPLE
    bench_options: dict[str, object] = field(default_factory=dict)
    procedure: str = DEMO_PROCEDURE
    options: dict[str, object] = field(default_factory=dict)
    station: SimulatedStation | None = field(default=None, init=False)
    run_path: Path | None = field(default=None, init=False)

    @property
    def title(self) -> str:
        name = DEMO_TITLE if self.procedure == DEMO_PROCEDURE else self._procedure().title
        return f"{name}: simulated bench"

    def _procedure(self) -> Procedure:
        return library.load(self.procedure, readings=self.readings, settle_s=self.settle_s,
                            **self.options)

    def _station(self, procedure: Procedure, clock: Clock) -> SimulatedStation:
        return SimulatedStation(transport="inprocess", seed=self.seed, clock=clock,
                                bench_options=dict(self.bench_options), procedure=procedure)

    def details(self) -> list[tuple[str, str]]:
        procedure = self._procedure()
        with self._station(procedure, VirtualClock()) as station:
            bench, job = station.bench(), station.job()
        lines = [
            ("Procedure", tr("{title} ({name} {version}), {n} points").format(
                title=procedure.title, name=procedure.name, version=procedure.version, n=len(procedure.points()))),
            ("DUT", tr("{item}, serial {serial} (simulated)").format(
                item=f"{job.dut_manufacturer} {job.dut_model}", serial=job.dut_serial)),
        ]
        for role, cfg in bench.instruments.items():
            if role == procedure.dut_role:
                continue
            lines.append((role.capitalize(), tr("{description}, {asset}, {specification} specification, due {due}")
                          .format(description=cfg.description, asset=cfg.asset_id, specification=cfg.specification,
                                  due=cfg.calibration_due)))
        return [*lines, ("Decision rule", self.rule.statement.split("):")[0] + ")"),
                ("Output folder", str(self.out_dir))]

    def make_engine(self, prompts: PromptChannel, listeners: Sequence[Listener]) -> Engine:
        self.close()
        procedure = self._procedure()
        self.folder = procedure_folder(procedure)
        station = self._station(procedure, PacedClock(self.pace))
        self.station = station
        self.run_path = path = new_run_path(self.out_dir, procedure.name)
        return Engine(procedure, station.bench(), station.job(), path, prompts=prompts, rule=self.rule,
                      clock=station.clock, simulators=station.simulators, listeners=listeners)

    #: The folder of the procedure's module (a prompt's picture is found there), once an engine is made.
    folder: Path | None = field(default=None, init=False)

    def close(self) -> None:
        # The simulators stay readable (the tests look at the calibrator after a
        # run); only servers, if any, are stopped.
        if self.station is not None:
            self.station.close()


def new_run_path(out_dir: Path, name: str) -> Path:
    """A new run file in ``out_dir`` named after the procedure and the time (never an existing one)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    path = out_dir / f"{stem}.h5"
    n = 2
    while path.exists():
        path = out_dir / f"{stem}-{n}.h5"
        n += 1
    return path


def procedure_folder(procedure: Procedure) -> Path | None:
    """The folder of the procedure's module: where the pictures its prompts name are."""
    try:
        return Path(inspect.getfile(type(procedure))).resolve().parent
    except (OSError, TypeError):
        return None


def job_for(job: Job, operator: str, operator_user: str, **changes: str) -> Job:
    """``job`` run by ``operator`` (full name; the register's user name kept in
    ``extra``, as `calstation run --user` and `calstation demo` record it)."""
    return dataclasses.replace(job, operator=operator, extra={**job.extra, "operator_user": operator_user},
                               **changes)


# -- a calibration chosen in the window ------------------------------------------------------
@dataclass
class CalibrationSession:
    """The calibration the New calibration view set up: ``procedure`` (a
    library name or a ``.py`` path) on ``bench`` (its standards' standing
    already resolved by the register) for ``job``, into ``path``. On the
    simulated bench (``simulated``), each engine gets a fresh simulated
    station of the procedure's topology, on a `PacedClock`; its instruments
    answer at the same ``sim://`` resources the bench names."""

    procedure: str
    bench: BenchConfig
    job: Job
    path: Path
    simulated: bool
    pace: float = DEMO_PACE
    seed: int = 0
    rule: DecisionRule = SIMPLE
    options: dict[str, object] = field(default_factory=dict)
    bench_options: dict[str, object] = field(default_factory=dict)
    lines: list[tuple[str, str]] = field(default_factory=list)
    station: SimulatedStation | None = field(default=None, init=False)
    folder: Path | None = field(default=None, init=False)

    @property
    def run_path(self) -> Path:
        return self.path

    @property
    def title(self) -> str:
        dut = " ".join(x for x in (self.job.dut_manufacturer, self.job.dut_model) if x)
        return f"{dut or self.procedure} ({self.job.dut_asset_id or self.job.dut_serial})"

    def details(self) -> list[tuple[str, str]]:
        return [*self.lines, ("Output folder", str(self.path.parent))]

    def make_engine(self, prompts: PromptChannel, listeners: Sequence[Listener]) -> Engine:
        self.close()
        procedure = library.load(self.procedure, **self.options)
        self.folder = procedure_folder(procedure)
        clock: Clock | None = None
        simulators = None
        if self.simulated:
            self.station = SimulatedStation(transport="inprocess", seed=self.seed, clock=PacedClock(self.pace),
                                            bench_options=dict(self.bench_options), procedure=procedure)
            clock, simulators = self.station.clock, self.station.simulators
        return Engine(procedure, self.bench, self.job, self.path, prompts=prompts, rule=self.rule, clock=clock,
                      simulators=simulators, listeners=listeners, command="calstation gui")

    def close(self) -> None:
        if self.station is not None:
            self.station.close()


def _uniform(values: Sequence[Any]) -> Any:
    return values[0] if values and all(v == values[0] for v in values) else None


@dataclass
class ResumeSession:
    """An interrupted run continued from its file: the engine is made with
    ``resume=True`` as ``calstation run --resume`` makes it (the file must
    verify, belong to the procedure and not be completed; the points it
    holds are kept). A run made on the simulated bench continues on a fresh
    simulated station; one made on a real bench needs its ``bench_file``.
    With a ``register``, the standards' standing comes from it."""

    path: Path
    bench_file: Path | None = None
    register: Register | None = None
    pace: float = DEMO_PACE
    seed: int = 0
    station: SimulatedStation | None = field(default=None, init=False)
    folder: Path | None = field(default=None, init=False)
    procedure_name: str = field(default="", init=False)
    simulated: bool = field(default=False, init=False)
    _lines: list[tuple[str, str]] = field(default_factory=list, init=False)
    _options: dict[str, object] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        """Read what the run file says about itself (its procedure, its bench, how far it got)."""
        with RunFile(self.path) as rf:
            self.procedure_name = rf.procedure["name"]
            status = rf.status
            plan = rf.plan
            job = rf.job
            done = len(rf.completed())
            self.simulated = all(i.resource.startswith("sim://") for i in rf.instruments)
            title = rf.procedure.get("title", self.procedure_name)
        readings = _uniform([r.readings for r in plan])
        settle = _uniform([r.settle_s for r in plan])
        if readings is not None:
            self._options["readings"] = int(readings)
        if settle is not None:
            self._options["settle_s"] = float(settle)
        dut = " ".join(x for x in (job.get("dut_manufacturer", ""), job.get("dut_model", ""),
                                   job.get("dut_serial", "")) if x)
        self._lines = [("Procedure", f"{title} ({self.procedure_name})"), ("DUT", dut),
                       ("Resuming", tr("{file}: {done} of {n} points done; the run had ended {status}").format(
                           file=self.path.name, done=done, n=len(plan), status=tr_status(status)))]
        if status == "completed":
            raise ConfigError(f"{self.path}: this run is already completed; there is nothing to resume")
        if not self.simulated and self.bench_file is None:
            raise ConfigError(f"{self.path} was made on a real bench: choose its bench file to resume it")

    @property
    def run_path(self) -> Path:
        return self.path

    @property
    def title(self) -> str:
        return f"{self.procedure_name}: {self.path.name}"

    def details(self) -> list[tuple[str, str]]:
        bench = tr("simulated bench") if self.simulated else str(self.bench_file)
        return [*self._lines, ("Bench", bench), ("Output folder", str(self.path.parent))]

    def _procedure(self) -> Procedure:
        """The run's procedure, with the readings and dwell its plan was made with."""
        if self.procedure_name not in library.available():
            raise ConfigError(f"{self.path} is a run of procedure {self.procedure_name!r}, which is not in the "
                              f"library; resume it with `calstation run PATH.py --resume {self.path}`")
        try:
            return library.load(self.procedure_name, **self._options)
        except CalstationError:  # a procedure that takes no such options
            return library.load(self.procedure_name)

    def make_engine(self, prompts: PromptChannel, listeners: Sequence[Listener]) -> Engine:
        self.close()
        procedure = self._procedure()
        self.folder = procedure_folder(procedure)
        clock: Clock | None = None
        simulators = None
        if self.simulated:
            self.station = SimulatedStation(transport="inprocess", seed=self.seed, clock=PacedClock(self.pace),
                                            procedure=procedure)
            bench = self.station.bench()
            clock, simulators = self.station.clock, self.station.simulators
        else:
            assert self.bench_file is not None
            bench = BenchConfig.load(self.bench_file)
        if self.register is not None:
            from station.register.trace import resolve_bench

            bench = resolve_bench(self.register, bench, procedure.dut_role, dt.date.today())
        return Engine(procedure, bench, Job(), self.path, prompts=prompts, clock=clock, simulators=simulators,
                      listeners=listeners, resume=True, command="calstation gui")

    def close(self) -> None:
        if self.station is not None:
            self.station.close()


# -- other slow work -----------------------------------------------------------------------------
class BackgroundTask(QObject):
    """Runs one call at a time on a thread of its own (a plan check, entering
    a run in the register): `done` with its result, or `failed` with one line
    (a `CalstationError`'s message; another error's type and message), both
    on the GUI thread. A newer `start` makes an older call's result stale:
    only the latest is reported."""

    done = pyqtSignal(object)
    failed = pyqtSignal(str)
    _finished = pyqtSignal(int, object, str, bool)  # generation, result, error, ok

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._threads: list[threading.Thread] = []
        queued(self._finished, self._on_finished)

    @property
    def running(self) -> bool:
        self._threads = [t for t in self._threads if t.is_alive()]
        return bool(self._threads)

    def start(self, fn: Callable[[], Any]) -> None:
        self._generation += 1
        thread = threading.Thread(target=self._run, args=(self._generation, fn), name="calstation-task",
                                  daemon=True)
        self._threads.append(thread)
        thread.start()

    def cancel(self) -> None:
        """Whatever runs now is not reported."""
        self._generation += 1

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the calls still running (tests, closing); True when none is left."""
        for t in list(self._threads):
            t.join(timeout_s)
        return not self.running

    def _run(self, generation: int, fn: Callable[[], Any]) -> None:
        try:
            result, error, ok = fn(), "", True
        except CalstationError as e:
            result, error, ok = None, one_line(e), False
        except Exception as e:  # noqa: BLE001 - a bug: the view says what it was, in one line
            result, error, ok = None, one_line(f"{type(e).__name__}: {e}"), False
        try:
            self._finished.emit(generation, result, error, ok)
        except RuntimeError:  # the task's Qt object is gone: nobody waits for it
            pass

    def _on_finished(self, generation: int, result: object, error: str, ok: bool) -> None:
        if generation != self._generation:
            return
        if ok:
            self.done.emit(result)
        else:
            self.failed.emit(error)


# -- the worker --------------------------------------------------------------------------------
class RunWorker(QObject):
    """Builds and runs one engine at a time on its own thread.

    Signals (all delivered on the GUI thread): `engine_event` for each engine event
    and `prompt` for each `PromptRequest` (both emitted from `drain`, in the order
    the engine made them), `finished` with the `RunOutcome` (after the run's last `engine_event`),
    `failed` with a message when the engine could not be built or ``run()``
    raised (plan refused, or a bug) instead of ending the run with a status.

    When some point of the run came without its uncertainty budget (the
    points of an earlier session of a resumed run), the budgets are read from
    the run file on the engine's thread once the run has ended: `budgets`
    (or `budget_error`) when `finished` is emitted.
    """

    #: Events are taken this long after the GUI thread is woken (a batch, not one by one).
    DRAIN_MS = 20
    #: At most this long is spent re-emitting events before the event loop runs again.
    DRAIN_BUDGET_S = 0.01

    engine_event = pyqtSignal(object)  # station.events.Event
    prompt = pyqtSignal(object)  # PromptRequest
    finished = pyqtSignal(object)  # RunOutcome
    failed = pyqtSignal(str)
    _wake = pyqtSignal()  # engine thread -> GUI thread: events are queued
    _done = pyqtSignal(object, str)  # engine thread -> GUI thread

    def __init__(self, session: RunSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.engine: Engine | None = None
        self.prompts: QtPromptChannel | None = None
        self.budgets: dict[int, list[Component]] = {}
        self.budget_error = ""
        self._thread: threading.Thread | None = None
        self._budgets_missing = False  # a point came without its budget (engine thread)
        self._gui_thread = threading.get_ident()  # created on the GUI thread
        self._lock = threading.Lock()  # engine, the requests made before it exists, the queue
        self._abort_reason = ""
        self._pause = False
        self._events: deque[Event | PromptRequest] = deque()
        self._woken = False  # a drain is due: the engine thread need not wake the GUI thread again
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.timeout.connect(self.drain)
        # Queued: the slot runs on this object's (the GUI) thread whatever thread emits.
        queued(self._wake, self._schedule_drain)
        queued(self._done, self._on_done)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Build an engine from the session and run it, both on a new thread."""
        if self.running:
            raise RuntimeError("a run is already in progress; abort it or wait for it to end")
        prompts = QtPromptChannel(self)  # on the GUI thread: it refuses to be asked there
        # Direct: called on the engine thread, which only queues the request.
        prompts.requested.connect(self._listen, Qt.ConnectionType.DirectConnection)  # type: ignore[call-arg]
        with self._lock:
            self.prompts, self.engine = prompts, None
            self._abort_reason, self._pause = "", False
            self._events.clear()
            self._woken = False
        self.budgets, self.budget_error, self._budgets_missing = {}, "", False
        # Everything alive now (the libraries, the window, the register) lives
        # as long as the window: out of the collector's sight, a full garbage
        # collection during the run walks only what the run makes (one took
        # 55-86 ms at 10,000 points, stalling the window: docs/performance.md)
        gc.freeze()
        self._thread = threading.Thread(target=self._run, args=(prompts,), name="calstation-engine")
        self._thread.start()

    def _listen(self, event: Event | PromptRequest) -> None:
        # Called on the engine thread (and on the GUI thread for pause/resume):
        # only hand over, never touch a widget here.
        if isinstance(event, PointDone):
            self._budgets_missing = self._budgets_missing or not event.budget
        elif isinstance(event, RunStarted):
            self._budgets_missing = self._budgets_missing or bool(event.completed)
        if threading.get_ident() != self._gui_thread:
            WINDOW_AT_WORK.give_way()
        with self._lock:
            self._events.append(event)
            if self._woken:
                return
            self._woken = True
        self._wake.emit()

    def _schedule_drain(self) -> None:
        if not self._drain_timer.isActive():
            self._drain_timer.start(self.DRAIN_MS)

    def drain(self, everything: bool = False) -> None:
        """Emit `engine_event` (or `prompt`) for what is queued, in order: for at
        most `DRAIN_BUDGET_S` (the rest after the event loop has run), or
        ``everything``."""
        with WINDOW_AT_WORK.working():
            self._drain(None if everything else self.DRAIN_BUDGET_S)

    def _drain(self, budget_s: float | None) -> None:
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        while True:
            with self._lock:
                if not self._events:
                    self._woken = False
                    return
                event = self._events.popleft()
            if isinstance(event, PromptRequest):
                self.prompt.emit(event)
            else:
                self.engine_event.emit(event)
            if deadline is not None and time.perf_counter() > deadline:
                self._drain_timer.start(0)
                return

    def _run(self, prompts: QtPromptChannel) -> None:
        outcome: RunOutcome | None = None
        error = ""
        try:
            engine = self.session.make_engine(prompts, [self._listen])
            with self._lock:
                self.engine = engine
                abort, pause = self._abort_reason, self._pause
            if abort:  # asked before the engine existed
                engine.abort(abort)
            elif pause:
                engine.pause()
            outcome = engine.run()
            if self._budgets_missing and outcome.path.exists():
                self._read_budgets(outcome.path)
        except Exception as e:  # no engine, plan refused, or a bug: the GUI must hear of it
            if isinstance(e, PlanRefused):
                error = f"plan refused: {e}"
            elif self.engine is None:
                error = f"the run could not be set up ({type(e).__name__}: {e})"
            else:
                error = f"{type(e).__name__}: {e}"
        finally:
            try:
                self.session.close()
            finally:
                self._done.emit(outcome, error)

    def _read_budgets(self, path: Path) -> None:
        try:
            with RunFile(path) as rf:
                self.budgets = rf.budgets()
        except CalstationError as e:
            self.budget_error = str(e)

    def _on_done(self, outcome: RunOutcome | None, error: str) -> None:
        if self._thread is not None:
            self._thread.join()
        self.drain(everything=True)  # every event of the run before its end
        if outcome is not None:
            self.finished.emit(outcome)
        else:
            self.failed.emit(error or "the run ended without an outcome")

    # -- control from the GUI ---------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            engine = self.engine
            self._pause = engine is None and self.running
        if engine is not None and self.running:
            engine.pause()

    def resume(self) -> None:
        with self._lock:
            engine = self.engine
            self._pause = False
        if engine is not None and self.running:
            engine.resume()

    def abort(self, reason: str) -> None:
        """Abort the run: at its next checkpoint, the engine puts the bench in
        its safe state (before the engine exists: it is aborted as it is made).
        A pending prompt is answered Abort."""
        if not self.running:
            return
        with self._lock:
            engine = self.engine
            if engine is None and not self._abort_reason:
                self._abort_reason = reason
        if engine is not None:
            engine.abort(reason)
        if self.prompts is not None:
            self.prompts.close()

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Abort any run and wait for its thread (the safe state must finish);
        returns whether the thread ended."""
        self.abort("the calstation window was closed")
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True
