"""The engine off the GUI thread, and the bridge back.

`RunWorker` runs `Engine.run()` in a `threading.Thread`. The engine calls
its listeners on that thread; the worker's listener only emits a Qt signal,
delivered to the GUI thread by a queued connection, so no widget is ever
touched from the engine thread. `QtPromptChannel.ask` does the same for
prompts and then blocks the engine thread on a `threading.Event` until the
GUI answers (or the run is torn down, which answers Abort).

`SimulatedSession` builds engines for the built-in demo: by default the
Keysight 34401A DC voltage procedure, on the simulated bench its procedure
names (`station.simulated.SimulatedStation`), in process, on a `PacedClock`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from PyQt6.QtCore import QObject, Qt, pyqtBoundSignal, pyqtSignal

from drivers.clock import Clock, PacedClock, VirtualClock
from station import library
from station.engine import Engine, RunOutcome
from station.errors import PlanRefused
from station.events import Event, Listener
from station.metrology.decision import SIMPLE, DecisionRule
from station.procedure import Procedure
from station.prompts import ABORT, Prompt, PromptChannel
from station.simulated import SimulatedStation

DEMO_PROCEDURE = "keysight-34401a-dcv"
DEMO_TITLE = "Keysight 34401A DC voltage"


def queued(signal: pyqtBoundSignal, slot: Callable[..., object] | pyqtBoundSignal) -> None:
    """Connect so that ``slot`` runs on the receiver's (GUI) thread, whichever thread emits."""
    signal.connect(slot, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]  # the stub lacks ``type``


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
        """A fresh engine (and run file path) for one run."""
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
    ``procedure`` names another) on its simulated bench, in process, on a
    `PacedClock`. Run files go to ``out_dir``."""

    out_dir: Path
    readings: int = 10
    settle_s: float = 2.0
    pace: float = DEMO_PACE
    seed: int = 0
    rule: DecisionRule = SIMPLE
    bench_options: dict[str, object] = field(default_factory=dict)
    procedure: str = DEMO_PROCEDURE
    station: SimulatedStation | None = field(default=None, init=False)
    run_path: Path | None = field(default=None, init=False)

    @property
    def title(self) -> str:
        name = DEMO_TITLE if self.procedure == DEMO_PROCEDURE else self._procedure().title
        return f"{name}: simulated bench"

    def _procedure(self) -> Procedure:
        return library.load(self.procedure, readings=self.readings, settle_s=self.settle_s)

    def _station(self, procedure: Procedure, clock: Clock) -> SimulatedStation:
        return SimulatedStation(transport="inprocess", seed=self.seed, clock=clock,
                                bench_options=dict(self.bench_options), procedure=procedure)

    def details(self) -> list[tuple[str, str]]:
        procedure = self._procedure()
        with self._station(procedure, VirtualClock()) as station:
            bench, job = station.bench(), station.job()
        lines = [
            ("Procedure", f"{procedure.title} ({procedure.name} {procedure.version}), "
                          f"{len(procedure.points())} points"),
            ("DUT", f"{job.dut_manufacturer} {job.dut_model}, serial {job.dut_serial} (simulated)"),
        ]
        for role, cfg in bench.instruments.items():
            if role == procedure.dut_role:
                continue
            lines.append((role.capitalize(), f"{cfg.description}, {cfg.asset_id}, {cfg.specification} "
                                             f"specification, due {cfg.calibration_due}"))
        return [*lines, ("Decision rule", self.rule.statement.split("):")[0] + ")"),
                ("Output folder", str(self.out_dir))]

    def make_engine(self, prompts: PromptChannel, listeners: Sequence[Listener]) -> Engine:
        self.close()
        procedure = self._procedure()
        station = self._station(procedure, PacedClock(self.pace))
        self.station = station
        self.run_path = path = self._new_path(procedure.name)
        return Engine(procedure, station.bench(), station.job(), path, prompts=prompts, rule=self.rule,
                      clock=station.clock, simulators=station.simulators, listeners=listeners)

    def _new_path(self, name: str) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        path = self.out_dir / f"{stem}.h5"
        n = 2
        while path.exists():
            path = self.out_dir / f"{stem}-{n}.h5"
            n += 1
        return path

    def close(self) -> None:
        # The simulators stay readable (the tests look at the calibrator after a
        # run); only servers, if any, are stopped.
        if self.station is not None:
            self.station.close()


# -- the worker --------------------------------------------------------------------------------
class RunWorker(QObject):
    """Runs one engine at a time on its own thread.

    Signals (all delivered on the GUI thread): `engine_event` for each engine event,
    `prompt` for each `PromptRequest`, `finished` with the `RunOutcome`,
    `failed` with a message when ``run()`` raised (plan refused, or a bug)
    instead of ending the run with a status.
    """

    engine_event = pyqtSignal(object)  # station.events.Event
    prompt = pyqtSignal(object)  # PromptRequest
    finished = pyqtSignal(object)  # RunOutcome
    failed = pyqtSignal(str)
    _relay = pyqtSignal(object)  # engine thread -> GUI thread
    _done = pyqtSignal(object, str)  # engine thread -> GUI thread

    def __init__(self, session: RunSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.engine: Engine | None = None
        self.prompts: QtPromptChannel | None = None
        self._thread: threading.Thread | None = None
        # Queued: the slot runs on this object's (the GUI) thread whatever thread emits.
        queued(self._relay, self.engine_event)
        queued(self._done, self._on_done)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Engine:
        """Build an engine from the session and run it on a new thread."""
        if self.running:
            raise RuntimeError("a run is already in progress; abort it or wait for it to end")
        prompts = QtPromptChannel(self)
        queued(prompts.requested, self.prompt)
        engine = self.session.make_engine(prompts, [self._listen])
        self.prompts, self.engine = prompts, engine
        self._thread = threading.Thread(target=self._run, args=(engine,), name="calstation-engine")
        self._thread.start()
        return engine

    def _listen(self, event: Event) -> None:
        # Called on the engine thread (and on the GUI thread for pause/resume):
        # only hand over, never touch a widget here.
        self._relay.emit(event)

    def _run(self, engine: Engine) -> None:
        outcome: RunOutcome | None = None
        error = ""
        try:
            outcome = engine.run()
        except Exception as e:  # plan refused, or a bug: the GUI must hear of it
            error = f"plan refused: {e}" if isinstance(e, PlanRefused) else f"{type(e).__name__}: {e}"
        finally:
            try:
                self.session.close()
            finally:
                self._done.emit(outcome, error)

    def _on_done(self, outcome: RunOutcome | None, error: str) -> None:
        if self._thread is not None:
            self._thread.join()
        if outcome is not None:
            self.finished.emit(outcome)
        else:
            self.failed.emit(error or "the run ended without an outcome")

    # -- control from the GUI ---------------------------------------------------------------
    def pause(self) -> None:
        if self.engine is not None and self.running:
            self.engine.pause()

    def resume(self) -> None:
        if self.engine is not None and self.running:
            self.engine.resume()

    def abort(self, reason: str) -> None:
        """Abort the run: at its next checkpoint, the engine puts the bench in
        its safe state. A pending prompt is answered Abort."""
        if self.engine is not None and self.running:
            self.engine.abort(reason)
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

