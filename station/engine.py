"""Runs a procedure on a bench: plan check, sequencing, prompts, pause,
abort to safe state, resume, recording and evaluation.

The engine owns the run's whole life. Every way a run can end (the last
point, Abort, an instrument fault, an exception in the procedure, Ctrl-C,
SIGTERM, SIGHUP, a closed console, a standard that expires, a full disk)
goes through `Engine._end`: every instrument with a safe state is put in
it first, and only then is the run file marked with its status and
sealed. A stop signal becomes an abort at the next checkpoint (a prompt
waiting for an answer is answered Abort at once), and further signals are
held back until the run has ended (after QCoDeS' DelayedKeyboardInterrupt
and OpenHTF's teardown phases). A run holds an exclusive lock on its run
file and on every instrument it opens, from before the plan check until
its ending is written, so that no second run can share either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import math
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from drivers import registry
from drivers.clock import Clock, SystemClock
from drivers.datasheet import Datasheet, DatasheetError
from drivers.errors import InstrumentTimeout
from drivers.roles import (
    Ambient,
    Controller,
    Function,
    Identity,
    Indicator,
    Instrument,
    Meter,
    SafeState,
    SelfChecking,
    Source,
    capabilities_of,
)
from drivers.transport import IOLog, Transport, open_transport
from station import __version__
from station.bench import BenchConfig, InstrumentConfig, Job
from station.certificates.text import first_problem
from station.errors import (
    CalstationError,
    ConfigError,
    InstrumentError,
    PlanRefused,
    RunAborted,
    RunFileError,
    StatusNotWritten,
    WrongInstrument,
    one_line,
)
from station.events import (
    Event,
    Listener,
    Message,
    PlanChecked,
    PointDone,
    PointStarted,
    RunFinished,
    RunStarted,
    RunStatus,
    StateChanged,
)
from station.exitcodes import (
    EXIT_ABORTED,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_OUT_OF_TOLERANCE,
    EXIT_PLAN_REFUSED,
    EXIT_USAGE,
    EXIT_VERIFY_FAILED,
)
from station.interrupts import held_stops
from station.locks import HeldLock, LockBusy, normalise_resource, resource_lock, run_file_lock
from station.metrology.budget import MODELS, Budget, Component, Distribution, Model
from station.metrology.decision import NOT_CONFORMING, SIMPLE, DecisionRule
from station.metrology.result import METHODS, Measured, PointResult, evaluate, planned_tur
from station.procedure import Observation, PointPlan, Procedure, Role, TestPoint
from station.prompts import ABORT, CONTINUE, Cancellable, Prompt, PromptChannel
from station.runfile.layout import ambient_message
from station.runfile.reader import RunFile
from station.runfile.writer import InstrumentRecord, PlanRow, RunHeader, RunWriter, space_needed

__all__ = [
    "EXIT_ABORTED", "EXIT_ERROR", "EXIT_FAILED", "EXIT_OK", "EXIT_OUT_OF_TOLERANCE",
    "EXIT_PLAN_REFUSED", "EXIT_USAGE", "EXIT_VERIFY_FAILED", "Engine", "RunOutcome",
]

_INTERVAL_DAYS = {"24h": 1, "90d": 90, "1y": 365, "2y": 730}
_WAIT_SLICE_S = 0.25  # abort and pause take effect within this much of a dwell
_SETTLE_TIMEOUT_S = 60.0  # a source that has not settled by then is faulty
_SAFE_ATTEMPTS = 3  # a failed safe state is tried again this often, each on a new connection
_SAFE_RETRY_S = 1.0  # bench-clock seconds before each new attempt
#: A reading further than this many (tolerance + one digit) from the
#: median of its point's readings makes the point invalid.
_SPREAD_LIMIT = 3.0
#: The Monte Carlo method's type A components need at least 3 degrees of freedom.
MC_MIN_READINGS = 4
#: The bench file's role of a thermo-hygrometer (capability Ambient).
AMBIENT_ROLE = "ambient"
_AMBIENT_LOG_S = 60.0  # the conditions are logged at most this often (bench clock)
_AMBIENT_POLL_S = 10.0  # while the run is held, the conditions are read this often
_AMBIENT_READ_S = 5.0  # a reading younger than this (bench clock) is used again
#: Below this planned TUR the lab's policy (`Engine.low_tur`) applies.
LOW_TUR = 4.0
_STABLE_POLL_S = 5.0  # how often a controller's stability is asked while waiting for it

#: Values from which a point is announced to the operator as a hazard, once
#: a run, before it is applied (by any source or controller, standard or DUT):
#: IEC 61010-1 6.3.1 (30 V rms, 60 V DC as hazardous live; 30 V is taken for
#: both), hot surfaces from 50 C (IEC 61010-1 10.1, touchable surfaces),
#: currents from 2 A (leads and terminals heat), pressures from 1 MPa.
HAZARDS: dict[Function, tuple[float, str, str]] = {
    Function.DCV: (30.0, "Hazardous voltage", "Keep clear of the terminals and leads until the run ends."),
    Function.ACV: (30.0, "Hazardous voltage", "Keep clear of the terminals and leads until the run ends."),
    Function.DCI: (2.0, "High current", "Use leads rated for the current; they and the terminals get warm."),
    Function.ACI: (2.0, "High current", "Use leads rated for the current; they and the terminals get warm."),
    Function.TEMP: (50.0, "Hot surface", "The block and the probes will be hot: do not touch them, and let "
                    "them cool before removing the probes."),
    Function.PRES: (1e6, "High pressure", "Check every fitting is tight and rated; keep clear of the lines."),
}


@dataclass(frozen=True)
class RunOutcome:
    status: RunStatus
    reason: str
    path: Path
    points: int
    out_of_tolerance: int

    @property
    def exit_code(self) -> int:
        if self.status == "aborted":
            return EXIT_ABORTED
        if self.status == "failed":
            return EXIT_FAILED
        return EXIT_OUT_OF_TOLERANCE if self.out_of_tolerance else EXIT_OK


def procedure_source(procedure: Procedure) -> tuple[str, str]:
    """The procedure module's source text and its SHA-256."""
    try:
        text = inspect.getsource(inspect.getmodule(type(procedure)) or type(procedure))
    except (OSError, TypeError):
        text = ""
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Instruments:
    """The opened instruments of a run, by role, with their locks."""

    def __init__(self) -> None:
        self.drivers: dict[str, Instrument] = {}
        self.transports: dict[str, Transport] = {}
        self.identities: dict[str, Identity] = {}
        self.locks: list[HeldLock] = []

    def close(self) -> list[str]:
        problems = []
        for role, t in self.transports.items():
            try:
                t.close()
            except Exception as e:  # closing must not hide why the run ended
                problems.append(f"{role}: {e}")
        self.transports.clear()
        for lock in self.locks:
            lock.release()
        self.locks.clear()
        return problems


class Engine:
    """Runs one procedure on one bench into one run file.

    ``run()`` blocks; ``pause()``, ``resume()`` and ``abort()`` may be
    called from any thread (the GUI's, a signal handler).
    """

    def __init__(
        self,
        procedure: Procedure,
        bench: BenchConfig,
        job: Job,
        path: Path,
        *,
        prompts: PromptChannel,
        rule: DecisionRule = SIMPLE,
        clock: Clock | None = None,
        simulators: Mapping[str, Any] | None = None,
        listeners: Sequence[Listener] = (),
        resume: bool = False,
        today: dt.date | None = None,
        calendar: Callable[[], dt.date] | None = None,
        command: str = "",
        low_tur: str = "note",
        uncertainty: str = "gum",
    ) -> None:
        self.procedure = procedure
        self.bench = bench
        self.job = job
        self.path = Path(path)
        self.prompts = prompts
        self.rule = rule
        #: The lab's policy for a planned TUR below 4:1: "note", "guard" (a
        #: guard band is required) or "refuse".
        self.low_tur = low_tur
        #: How U is evaluated: "gum" (k from Student's t) or "monte-carlo"
        #: (GUM Supplement 1), with the seed every point's draws derive from.
        if uncertainty not in METHODS:
            raise ConfigError(f"uncertainty method {uncertainty!r} is not one of {', '.join(METHODS)}")
        self.uncertainty = uncertainty
        self.mc_seed = secrets.randbits(62)
        self.clock: Clock = clock or SystemClock()
        self.simulators = simulators
        self.listeners: list[Listener] = list(listeners)
        self.resuming = resume
        #: Today's date, read at the plan check and before every point (a
        #: standard may run out of calibration while the run goes).
        self.calendar: Callable[[], dt.date] = calendar or ((lambda: today) if today else dt.date.today)
        self.today = self.calendar()
        #: What holds the locks, as a second run is told (e.g. "calstation run").
        self.command = command or "calstation"
        self._cond = threading.Condition()
        self._state = "running"
        self._abort_reason = ""
        self._writer: RunWriter | None = None
        self._instruments = _Instruments()
        self._points: list[TestPoint] = list(procedure.points())
        self._roles: dict[str, Role] = procedure.role_needs()
        if AMBIENT_ROLE in bench.instruments and AMBIENT_ROLE not in self._roles:
            # the lab's thermo-hygrometer, on any bench that has one
            self._roles[AMBIENT_ROLE] = Role((Ambient,), "the laboratory's ambient conditions")
        self._ambient_logged = -math.inf  # bench-clock time the conditions were last logged
        self._ambient_ready = False  # the thermo-hygrometer has been initialised
        self._ambient_driver: Ambient | None = None
        self._ambient_last: tuple[float, tuple[float, float]] | None = None  # (bench time, reading)
        self._earlier: list[PointResult] = []  # on resume: the points an earlier session recorded
        #: Every transport of the run logs here, numbered in the order of the
        #: procedure's roles (as the run file's /io numbers them); the run file
        #: drains it at each commit.
        self._io_log = IOLog(list(self._roles))
        self._model: Model = MODELS[procedure.measurement]
        self._plans: list[PointPlan] = []
        self._type_b: list[tuple[Component, ...]] = []
        self._planned_tur: list[float] = []
        self._recorded_idn: dict[str, str] = {}  # on resume: *IDN? of each role when the run started
        self._stops: list[str] = []  # stop signals received (the first aborts)
        self._valid_until: dict[str, dt.date] = {}  # standard role -> last day it may be used
        #: standard role -> the specification interval used for it (the bench
        #: file's, or with "auto" the shortest one its datasheet gives that
        #: covers the time since its calibration)
        self._intervals: dict[str, str] = {}
        self._overrides: dict[str, str] = {}  # standard role -> who allowed it despite its due date, and why
        self._run_lock: HeldLock | None = None
        self._previous_ending: tuple[str, str, bool] = ("", "", False)
        #: Set when the run's ending is written (a Windows console close waits for it).
        self.ended = threading.Event()

    # -- control from other threads --------------------------------------------
    def pause(self) -> None:
        """Hold the run at its next checkpoint (sources keep their output)."""
        with self._cond:
            if self._state == "running":
                self._state = "paused"
                self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            if self._state == "paused":
                self._state = "running"
                self._cond.notify_all()

    def abort(self, reason: str = "aborted by the operator") -> None:
        """End the run at its next checkpoint, through the safe state. A
        prompt waiting for its answer is answered Abort at once."""
        with self._cond:
            if self._abort_reason:
                return
            self._abort_reason = reason
            self._state = "aborting"
            self._cond.notify_all()
        if isinstance(self.prompts, Cancellable):
            self.prompts.cancel()

    def interrupt(self, reason: str = "interrupted by Ctrl-C") -> None:
        """What a stop signal does (Ctrl-C, SIGTERM, SIGHUP, a closed
        console): the first aborts, later ones are held back."""
        self._stops.append(reason)
        if len(self._stops) == 1:
            self.abort(reason)
        # the safe state is under way; a second signal must not interrupt it

    @property
    def points(self) -> list[TestPoint]:
        return list(self._points)

    @property
    def planned_tur(self) -> list[float]:
        return list(self._planned_tur)

    # -- events and logs ---------------------------------------------------------
    def _emit(self, event: Event) -> None:
        """Tell the listeners. A listener that fails (a display whose
        terminal is gone, a broken pipe) is logged and dropped: a display
        never fails a run."""
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as e:  # noqa: BLE001 - whatever a view does wrong
                self.listeners = [x for x in self.listeners if x is not listener]
                self._log("display", f"a display failed and was dropped ({type(e).__name__}: {e})")

    def _log(self, kind: str, text: str) -> None:
        if self._writer is not None:
            self._writer.event(kind, text)

    def _commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()

    # -- checkpoints -----------------------------------------------------------
    def checkpoint(self) -> None:
        """Where pause and abort take effect. Runs on the engine's thread, so
        the run file and the listeners hear of them from that thread only."""
        if self._state == "running":
            return
        if self._state == "paused":
            self._log("paused", "paused by the operator")
            self._commit()
            self._emit(StateChanged("paused"))
            with self._cond:
                while self._state == "paused":
                    self._cond.wait()
            if not self._abort_reason:
                self._log("continued", "continued by the operator")
                self._emit(StateChanged("running"))
        if self._abort_reason:
            self._emit(StateChanged("aborting"))
            raise RunAborted(self._abort_reason)

    def wait(self, seconds: float) -> None:
        end = self.clock.now() + seconds
        while True:
            self.checkpoint()
            left = end - self.clock.now()
            if left <= 0:
                return
            self.clock.sleep(min(left, _WAIT_SLICE_S))

    # -- the plan ------------------------------------------------------------------
    def _open(self, role: str, cfg: InstrumentConfig, need: Role) -> Instrument:
        lock = resource_lock(cfg.resource, self.command)
        if lock is not None:
            self._instruments.locks.append(lock)
        driver = self._connect(role, cfg)
        ident = driver.identify()
        self._instruments.identities[role] = ident
        if not ident.matches(driver.manufacturers, driver.models):
            raise WrongInstrument(
                f"{role} at {cfg.resource} is a {ident.manufacturer} {ident.model} "
                f"(serial {ident.serial}), not a {' or '.join(driver.models)} as the bench file says "
                f"(driver {cfg.driver}); connect the right instrument or correct the bench file"
            )
        missing = [cap.__name__ for cap in need.needs if not isinstance(driver, cap)]
        if missing:
            has = ", ".join(capabilities_of(driver)) or "nothing the procedure can use"
            raise PlanRefused(
                f"role {role!r} of {self.procedure.name} needs {need.describe()}; {cfg.driver} at "
                f"{cfg.resource} is not a {' or '.join(missing)} (it can be: {has}); give the role "
                "an instrument that can, in the bench file"
            )
        self._instruments.drivers[role] = driver
        return driver

    def _connect(self, role: str, cfg: InstrumentConfig) -> Instrument:
        """Open the transport to ``role``'s instrument and its driver (not yet identified)."""
        cls = registry.load_driver(cfg.driver)
        transport = open_transport(
            cfg.resource,
            name=role,
            io_log=self._io_log,
            timeout_s=cfg.timeout_s,
            write_termination=cfg.write_termination or getattr(cls, "write_termination", "\n"),
            read_termination=cfg.read_termination or getattr(cls, "read_termination", "\n"),
            visa_library=cfg.visa_library,
            baudrate=cfg.baudrate,
            simulators=self.simulators,
        )
        self._instruments.transports[role] = transport
        kwargs: dict[str, Any] = {"serial": True} if cfg.serial else {}
        driver: Instrument = cls(transport, self.clock, **kwargs)
        return driver

    def _make_safe(self, role: str, drv: SafeState) -> str:
        """Put one instrument in its safe state; returns why it failed, or "".

        A safe state that fails (a lost connection, a reply garbled on the
        line, an instrument silent for a moment) is tried again on a fresh
        connection, up to `_SAFE_ATTEMPTS` times `_SAFE_RETRY_S` apart on the
        bench's clock, after checking that the same instrument answers."""
        writer = self._writer
        assert writer is not None
        try:
            drv.safe_state()
            writer.event("safe_state", f"{role}: safe state")
            return ""
        except BaseException as e:  # noqa: BLE001 - any failure: try again on a new connection
            first: BaseException = e
        last = first
        cfg = self.bench.instruments[role]
        recorded = self._instruments.identities.get(role)
        for attempt in range(1, _SAFE_ATTEMPTS + 1):
            self.clock.sleep(_SAFE_RETRY_S)
            old = self._instruments.transports.get(role)
            if old is not None:
                try:
                    old.close()
                except Exception:  # noqa: BLE001 - it is being replaced
                    pass
            try:
                fresh = self._connect(role, cfg)
                ident = fresh.identify()
                if recorded is not None and ident.raw != recorded.raw:
                    raise WrongInstrument(f"{cfg.resource} now answers {ident.raw!r}, not {recorded.raw!r}")
                if not isinstance(fresh, SafeState):
                    raise PlanRefused(f"{role}: driver {cfg.driver} has no safe state")
                fresh.safe_state()
            except BaseException as e:  # noqa: BLE001 - try again, then report the last
                last = e
                continue
            self._instruments.drivers[role] = fresh
            writer.event("safe_state", f"{role}: safe state on a new connection, "
                         f"attempt {attempt}, after: {first}")
            return ""
        return f"{first}; {_SAFE_ATTEMPTS} more attempts on a new connection failed ({last})"

    def _check_standing(self, role: str, cfg: InstrumentConfig) -> None:
        what = f"standard {role!r} ({cfg.asset_id or cfg.driver})"
        if not cfg.asset_id:
            raise PlanRefused(f"{what} has no asset_id in the bench file; only registered standards may be used")
        due = cfg.due_date()
        if due is None:
            raise PlanRefused(f"{what} has no calibration_due date in the bench file; add it from its certificate")
        if due < self.today and not cfg.override:
            raise PlanRefused(
                f"{what} calibration expired on {due.isoformat()}; recalibrate it or use another standard"
            )
        if cfg.override:
            # A supervisor allowed it (the register recorded who and why);
            # the run file's events say so, and the standard's
            # specification interval still applies from its calibration.
            self._overrides[role] = cfg.override
            due = max(due, self.today)
        since = cfg.calibration_date()
        if since is None:
            raise PlanRefused(f"{what} has no calibrated_on date; no specification interval can be applied to it")
        elapsed = (self.today - since).days
        interval = cfg.specification
        if interval == "auto":
            have = set().union(*(fs.accuracy for fs in registry.datasheet(cfg.driver).functions.values()))
            fitting = sorted((d, i) for i, d in _INTERVAL_DAYS.items() if i in have and d >= elapsed)
            if not fitting:
                longest = max(have, key=lambda i: _INTERVAL_DAYS.get(i, 0), default="none")
                raise PlanRefused(
                    f"{what} was calibrated on {since.isoformat()}, {elapsed} days ago; its datasheet specifies "
                    f"it for at most {longest} after calibration: recalibrate it or use another standard")
            interval = fitting[0][1]
        days = _INTERVAL_DAYS.get(interval)
        if days is None:
            raise ConfigError(f"{what}: specification {interval!r} is not one of auto, {', '.join(_INTERVAL_DAYS)}")
        if elapsed > days:
            raise PlanRefused(
                f"{what} was calibrated on {since.isoformat()}, more than {interval} ago: its "
                f"{interval} specification no longer applies; choose a longer specification interval, or auto"
            )
        self._intervals[role] = interval
        self._valid_until[role] = min(due, since + dt.timedelta(days=days))

    def _check_still_valid(self) -> None:
        """Before every point: a standard whose calibration (or the interval
        of the specification the run uses for it) ran out while the run went
        may not be used for another point."""
        today = self.calendar()
        if today == self.today:
            return
        for role, last in self._valid_until.items():
            if today > last:
                cfg = self.bench.instruments[role]
                raise CalstationError(
                    f"standard {role!r} ({cfg.asset_id or cfg.driver}) may be used until "
                    f"{last.isoformat()} (calibration due {cfg.calibration_due}, {self._intervals.get(role)} "
                    "specification) and that date passed during the run: the points measured before "
                    "are kept; recalibrate it or use another standard, then resume the run")
        self.today = today

    def check_plan(self) -> list[float]:
        """Open and identify every instrument, check every point; no output is switched on.

        Returns the planned TUR of each point. Raises `PlanRefused` (or
        another `CalstationError`) naming the point or instrument and why.
        """
        proc = self.procedure
        if not self._points:
            raise PlanRefused(f"procedure {proc.name} declares no points")
        if proc.dut_role not in self._roles:
            raise PlanRefused(f"procedure {proc.name} names {proc.dut_role!r} as its DUT, but its roles are "
                              f"{', '.join(self._roles)}; fix its dut_role")
        for role in self._roles:
            if role not in self.bench.instruments:
                raise PlanRefused(
                    f"procedure {proc.name} needs an instrument in role {role!r}; add it to the bench file "
                    f"(it has: {', '.join(self.bench.instruments) or 'none'})"
                )
        seen: dict[str, str] = {}
        for role in self._roles:
            resource = self.bench.instruments[role].resource
            key = normalise_resource(resource) or resource
            if key in seen:
                raise PlanRefused(f"the bench gives {resource} to both {seen[key]!r} and {role!r}; one "
                                  "instrument cannot play two roles: give each role its own instrument")
            seen[key] = role
        for role, need in self._roles.items():
            cfg = self.bench.instruments[role]
            if role != proc.dut_role:
                self._check_standing(role, cfg)
            self._open(role, cfg, need)
        view = _PlanView(self)
        turs: list[float] = []
        self._plans, self._type_b = [], []
        for i, p in enumerate(self._points):
            where = f"point {i + 1} ({p.describe()})"
            stored = proc.repeatability(p) if p.readings == 1 else None
            if p.readings < 2 and stored is None:
                raise PlanRefused(f"{where} takes {p.readings} reading(s); a type A evaluation needs at least 2 "
                                  "(or, for one reading, the procedure's stored repeatability)")
            enough = p.readings >= MC_MIN_READINGS or (stored is not None and stored[1] >= MC_MIN_READINGS - 1)
            if self.uncertainty == "monte-carlo" and not enough:
                raise PlanRefused(f"{where} takes {p.readings} readings; the Monte Carlo method needs at least "
                                  f"{MC_MIN_READINGS} (a t distribution of fewer than 3 degrees of freedom has no "
                                  "standard deviation): take more readings or use --uncertainty gum")
            try:
                plan = proc.plan(view, p)
                type_b = (*self._model.type_b(plan.inputs), *proc.influences(p))
            except (DatasheetError, PlanRefused, InstrumentError, ConfigError) as e:
                raise PlanRefused(f"{where}: {e}") from None
            if not plan.tolerance > 0:
                raise PlanRefused(f"{where}: its tolerance ({plan.spec}) is {plan.tolerance:g}; a point "
                                  "needs a tolerance above zero: fix the procedure or the datasheet")
            self._plans.append(plan)
            self._type_b.append(type_b)
            turs.append(planned_tur(plan.tolerance, type_b))
        self._check_low_tur(turs)
        self._check_certificate_text()
        self._planned_tur = turs
        return turs

    def _check_low_tur(self, turs: Sequence[float]) -> None:
        """The lab's policy for points whose planned TUR is below 4:1."""
        low = [i + 1 for i, t in enumerate(turs) if t < LOW_TUR]
        if not low or self.low_tur == "note":
            return
        shown = ", ".join(map(str, low[:8])) + (" ..." if len(low) > 8 else "")
        worst = min(turs)
        if self.low_tur == "refuse":
            raise PlanRefused(f"point(s) {shown} have a planned TUR below {LOW_TUR:g}:1 (lowest {worst:.2f}) and "
                              "the lab's policy refuses them: use a better standard or a wider tolerance")
        if self.rule.kind == "simple-acceptance":
            raise PlanRefused(f"point(s) {shown} have a planned TUR below {LOW_TUR:g}:1 (lowest {worst:.2f}) and "
                              "the lab's policy requires a guard band there: use --rule guarded or non-binary")

    def _check_certificate_text(self) -> None:
        """Everything the certificate will print, checked before anything
        is energised (station/certificates/text.py)."""
        proc = self.procedure
        checks: list[tuple[str, Mapping[str, str]]] = [
            ("job field", self.job.as_attrs()),
            (f"procedure {proc.name}", {"name": proc.name, "version": proc.version, "title": proc.title,
                                        "method": proc.method}),
        ]
        for role, ident in self._instruments.identities.items():
            cfg = self.bench.instruments[role]
            fields = {k: str(v) for k, v in asdict(cfg).items()
                      if k in ("asset_id", "description", "calibration_due", "certificate", "traceability",
                               "probe_certificate")}
            fields.update(manufacturer=ident.manufacturer, model=ident.model, serial=ident.serial,
                          idn=ident.raw)
            checks.append((f"instrument {role!r} ({cfg.resource})", fields))
        checks.append(("procedure points", {f"label of point {i + 1}": p.label
                                            for i, p in enumerate(self._points)}))
        for what, values in checks:
            found = first_problem(what, values)
            if found:
                raise PlanRefused(found)

    def preview(self) -> list[tuple[TestPoint, float, PointPlan]]:
        """Check the plan, then close the instruments again: nothing is
        energised and no run file is written. Returns each point with its
        planned TUR and how it is judged (its spec and tolerance)."""
        try:
            turs = self.check_plan()
        except CalstationError as e:
            raise e if isinstance(e, PlanRefused) else PlanRefused(str(e)) from None
        finally:
            self._instruments.close()
        return list(zip(self._points, turs, self._plans, strict=True))

    # -- the run file ------------------------------------------------------------
    def _header(self) -> RunHeader:
        proc = self.procedure
        source, sha = procedure_source(proc)
        records = []
        dut_specs = sorted({self._plans[i].spec for i in range(len(self._points))})
        for role in self._instruments.drivers:
            cfg = self.bench.instruments[role]
            ident = self._instruments.identities[role]
            is_dut = role == proc.dut_role
            if is_dut:
                used = "; ".join(dut_specs)
            else:
                sheet = registry.datasheet(cfg.driver)
                cited = sheet.source.split(";")[0].strip()  # the first document the datasheet cites
                cited = cited if len(cited) <= 120 else cited[:117].rstrip() + "..."
                used = (f"{sheet.manufacturer} {sheet.models[0]}, {self._intervals.get(role, cfg.specification)} "
                        f"specification ({cited})")
            records.append(InstrumentRecord(
                role=role, kind="dut" if is_dut else "standard", driver=cfg.driver, resource=cfg.resource,
                manufacturer=ident.manufacturer, model=ident.model, serial=ident.serial,
                firmware=ident.firmware, idn=ident.raw, asset_id=cfg.asset_id,
                description=cfg.description, calibration_due="" if is_dut else cfg.calibration_due,
                certificate="" if is_dut else cfg.certificate,
                probe_certificate="" if is_dut else cfg.probe_certificate,
                traceability="" if is_dut else cfg.traceability,
                specification=used,
                distribution="" if is_dut else cfg.distribution,
                capabilities=", ".join(capabilities_of(self._instruments.drivers[role])),
            ))
        plan = tuple(
            PlanRow(i, str(p.function), p.range, p.nominal, p.unit, p.readings, p.settle_s, p.phase,
                    p.label, p.nplc, self._planned_tur[i], p.frequency, self._plans[i].tolerance,
                    self._plans[i].spec)
            for i, p in enumerate(self._points)
        )
        return RunHeader(
            run_id=str(uuid.uuid4()),
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            software=f"calstation {__version__}",
            procedure_name=proc.name,
            procedure_version=proc.version,
            procedure_title=proc.title,
            procedure_method=proc.method,
            procedure_sha256=sha,
            procedure_source=source,
            decision_rule=str(self.rule),
            decision_statement=self.rule.statement,
            job=self.job.as_attrs(),
            instruments=tuple(records),
            plan=plan,
            extra={"measurement": proc.measurement, "dut_role": proc.dut_role, "low_tur_policy": self.low_tur,
                   "uncertainty_method": self.uncertainty, "mc_seed": str(self.mc_seed)},
        )

    def _previous(self) -> list[int]:
        """On resume: the file must verify, belong to this procedure and
        plan, and not be completed; returns the points already done."""
        with RunFile(self.path) as rf:
            status = rf.status
            v = rf.verify()
            if not v.ok:
                raise PlanRefused(f"{v.message}; it cannot be resumed (the file is unchanged)")
            if status == "completed":
                raise PlanRefused(f"{self.path}: this run is already completed; there is nothing to resume")
            proc = rf.procedure
            _, sha = procedure_source(self.procedure)
            if proc["name"] != self.procedure.name:
                raise PlanRefused(f"{self.path} is a run of {proc['name']}, not {self.procedure.name}")
            if proc["sha256"] != sha:
                raise PlanRefused(
                    f"{self.path}: procedure {self.procedure.name} changed since this run started "
                    f"(version {proc['version']}); resume it with the procedure that started it"
                )
            self.rule = DecisionRule.parse(rf.attrs["decision_rule"])
            self.uncertainty = rf.attrs.get("uncertainty_method", "gum")
            self.mc_seed = int(rf.attrs.get("mc_seed", "0") or 0)
            planned = [(r.function, r.range, r.nominal, r.readings, r.nplc, r.frequency) for r in rf.plan]
            mine = [(str(p.function), p.range, p.nominal, p.readings, p.nplc, p.frequency) for p in self._points]
            if planned != mine:
                raise PlanRefused(f"{self.path}: its plan differs from the procedure's points; it cannot be resumed")
            self._recorded_idn = {inst.role: inst.idn for inst in rf.instruments}
            self._earlier = rf.derived_points()
            self._previous_ending = (status, rf.attrs.get("end_reason", ""), v.torn)
            return rf.completed()

    def _check_same_instruments(self) -> None:
        """A resumed run must use the instruments it started with: its
        traceability and results are stated for them."""
        for role, idn in self._recorded_idn.items():
            now = self._instruments.identities.get(role)
            if now is None or now.raw != idn:
                raise PlanRefused(
                    f"{self.path}: {role} is now {now.raw if now else 'absent'!r} but the run started with "
                    f"{idn!r}; resume with the same instruments, or start a new run"
                )

    def _check_space(self, completed: Sequence[int]) -> None:
        """Refuse a run whose file (and the copy its final status is written
        on) would not fit on its disk."""
        done = set(completed)
        remaining = [p for i, p in enumerate(self._points) if i not in done]
        readings = max((p.readings for p in remaining), default=0)
        current = self.path.stat().st_size if self.path.exists() else 0
        need = space_needed(len(remaining), readings, current)
        folder = self.path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        if free < need:
            raise PlanRefused(
                f"{self.path}: its disk has {free / 1e6:.1f} MB free and this run needs about "
                f"{need / 1e6:.1f} MB (the run file, a copy for its final status and a reserve); "
                "free space or write the run file elsewhere")

    # -- the run -----------------------------------------------------------------------
    def run(self) -> RunOutcome:
        """Check the plan, then run every point not yet done. Blocks.

        Raises `PlanRefused` (nothing energised, no file written or
        changed), `RunAborted` (stopped before the run started) or another
        `CalstationError`; once the run has started it always ends through
        `_end` and returns its outcome (or raises `StatusNotWritten`)."""
        try:
            with held_stops(self.interrupt, self.ended):
                return self._run()
        finally:
            self._instruments.close()
            if self._run_lock is not None:
                self._run_lock.release()
            self.ended.set()

    def _run(self) -> RunOutcome:
        if not self.resuming:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                blocking = next((p for p in reversed(self.path.parents) if p.is_file()), None)
                why = f"{blocking} is a file, not a folder" if blocking else (e.strerror or str(e))
                raise ConfigError(f"{self.path}: cannot create its folder {self.path.parent} ({why}); "
                                  "choose another output file") from None
        try:
            self._run_lock = run_file_lock(self.path, self.command)
        except LockBusy as e:
            raise PlanRefused(str(e)) from None
        completed: list[int] = self._previous() if self.resuming else []
        if not self.resuming and self.path.exists():
            raise PlanRefused(f"{self.path} already exists; choose another output file, or continue it with --resume")
        try:
            turs = self.check_plan()
            self._check_same_instruments()
            if self._abort_reason:
                raise RunAborted(f"{self._abort_reason} before the run started: nothing was energised "
                                 "and no run file was written or changed")
            self._check_space(completed)
            if self.resuming:
                self._writer = RunWriter.resume(self.path, self._io_log)
            else:
                self._writer = RunWriter.create(self.path, self._header(), self._io_log)
        except (RunAborted, RunFileError):
            self._instruments.close()
            raise
        except CalstationError as e:
            self._instruments.close()
            if isinstance(e, PlanRefused):
                raise
            raise PlanRefused(str(e)) from None
        except BaseException:
            self._instruments.close()
            raise
        status: RunStatus = "failed"
        reason = "the run ended without a status"
        results: list[PointResult] = []
        done = set(completed)
        try:
            status, reason = self._body(done, results, turs, completed)
        except BaseException as e:  # noqa: BLE001 - anything at all still ends in the safe state
            status, reason = "failed", f"unexpected {type(e).__name__}: {e}"
        status, reason = self._end(status, reason)
        final = [r for r in [*self._earlier, *results] if r.phase == "as_left"] or [*self._earlier, *results]
        return RunOutcome(status, reason, self.path, len(done),
                          sum(1 for r in final if r.decision in NOT_CONFORMING))

    def _body(self, done: set[int], results: list[PointResult], turs: Sequence[float],
              completed: Sequence[int]) -> tuple[RunStatus, str]:
        writer = self._writer
        assert writer is not None and self._plans
        try:
            if self.resuming:
                status, why, torn = self._previous_ending
                writer.event("resumed", f"resumed after {len(completed)} completed point(s); the run had "
                             f"ended {status}" + (f" ({why})" if why else "")
                             + ("; its last commit had not completed and was dropped" if torn else ""))
            else:
                writer.event("started", f"{self.procedure.name} {self.procedure.version}")
                for role, text in self._overrides.items():
                    writer.event("override", f"{role}: {text}")
            for role, ident in self._instruments.identities.items():
                writer.event("identified", f"{role}: {ident.raw}")
            writer.event("plan", "plan checked; planned TUR " + ", ".join(f"{t:.1f}" for t in turs))
            writer.commit()
            self._emit(RunStarted(str(self.path), self.procedure.name, tuple(self._points), tuple(completed)))
            self._emit(PlanChecked(tuple(turs)))
            ctx = _Context(self)
            drivers = self._instruments.drivers
            # confirmed after every point: a reset, a power cycle, a command
            # garbled on the way or an error in the queue voids its readings
            checking = [d for d in drivers.values() if isinstance(d, SelfChecking)]
            for drv in drivers.values():
                self.checkpoint()
                drv.initialize()
            self.procedure.setup(ctx)
            total = len(self._points)
            adjustment_decided = any(self._points[i].phase == "as_left" for i in done)
            for i, point in enumerate(self._points):
                if i in done:
                    continue
                if point.phase == "as_left" and not adjustment_decided:
                    adjustment_decided = True
                    if not self._adjust(ctx, results):
                        break
                self.checkpoint()
                self._check_still_valid()
                self._emit(PointStarted(i, point))
                while True:
                    self._hold_for_ambient()
                    t0 = time.time()
                    obs = self.procedure.measure(ctx, point)
                    for drv in checking:
                        drv.confirm_state()
                    if self._ambient_holds():
                        break
                    writer.event("repeated", f"point {i + 1}: the ambient conditions left the procedure's "
                                 "limits while it was taken; it is taken again when they return")
                result, budget = self._evaluate(i, point, obs, t0)
                try:
                    writer.point(result, obs.times, obs.values, budget.components,
                                 obs.reference_times, obs.reference_values)
                except RunFileError:
                    raise
                except (OSError, RuntimeError, ValueError) as err:
                    raise RunFileError(f"{self.path}: cannot write point {i + 1} to the run file ({err}); "
                                       "check the disk, then resume the run") from err
                done.add(i)
                results.append(result)
                self._emit(PointDone(result, len(done), total, budget.components))
            self.checkpoint()
            self.procedure.teardown(ctx)
            return "completed", "all points completed"
        except RunAborted as e:
            return "aborted", str(e)
        except KeyboardInterrupt:
            return "aborted", "interrupted by Ctrl-C"
        except CalstationError as e:
            return "failed", str(e)
        except Exception as e:  # a bug in the procedure: record it, end safely
            return "failed", f"procedure {self.procedure.name} raised {type(e).__name__}: {e}"

    # -- adjustment -------------------------------------------------------------------------
    def _adjust(self, ctx: _Context, results: Sequence[PointResult]) -> bool:
        """Between the as-found and the as-left points: the procedure decides
        whether the DUT needs adjusting and adjusts it (`Procedure.adjust`).
        True: adjusted, the as-left points follow. False: not adjusted, the
        as-found results stand as the as-left ones and the as-left points
        are not taken (an ``adjustment`` event says so; verify accepts it)."""
        writer = self._writer
        assert writer is not None
        as_found = [r for r in [*self._earlier, *results] if r.phase == "as_found"]
        self.checkpoint()
        adjusted = self.procedure.adjust(ctx, as_found)
        if adjusted:
            writer.event("adjustment", "adjusted: the as-left points follow")
        else:
            writer.event("adjustment", "none: the item was not adjusted; the as-found results are the "
                         "as-left results and the as-left points were not taken")
        writer.commit()
        return adjusted

    # -- the ambient conditions ---------------------------------------------------------
    def _ambient(self) -> tuple[float, float] | None:
        """The conditions now (logged at most once a minute), or None with no
        thermo-hygrometer on the bench."""
        if not self._ambient_ready:  # read at the plan check too, before the run initialises it
            drv = self._instruments.drivers.get(AMBIENT_ROLE)
            self._ambient_driver = drv if isinstance(drv, Ambient) else None
            if self._ambient_driver is not None:
                self._ambient_driver.initialize()
            self._ambient_ready = True
        drv = self._ambient_driver
        if drv is None:
            return None
        now = self.clock.now()
        if self._ambient_last is not None and now - self._ambient_last[0] < _AMBIENT_READ_S:
            return self._ambient_last[1]  # the room does not change in seconds
        t, rh = drv.conditions()
        self._ambient_last = (now, (t, rh))
        if self._writer is not None and now - self._ambient_logged >= _AMBIENT_LOG_S:
            self._log("ambient", ambient_message(t, rh))
            self._ambient_logged = now
        return t, rh

    def _ambient_holds(self) -> bool:
        limits = self.procedure.ambient_limits
        now = self._ambient()
        return limits is None or now is None or limits.holds(*now)

    def _hold_for_ambient(self) -> None:
        """Hold the run (the suspender) while the ambient conditions are
        outside the procedure's limits; pause and abort still take effect."""
        limits = self.procedure.ambient_limits
        now = self._ambient()
        if limits is None or now is None or limits.holds(*now):
            return
        text = f"ambient {now[0]:.2f} C, {now[1]:.1f} %RH is outside {limits.describe()}"
        self._log("suspended", f"{text}: the run waits until the conditions return")
        self._commit()
        self._emit(StateChanged("suspended"))
        self._emit(Message(f"{text}: waiting for the conditions to return"))
        while True:
            self.wait(_AMBIENT_POLL_S)
            now = self._ambient()
            if now is None or limits.holds(*now):
                break
        back = f"ambient {now[0]:.2f} C, {now[1]:.1f} %RH" if now else "ambient"
        self._log("resumed", f"{back} within {limits.describe()} again: the run goes on")
        self._commit()
        self._emit(StateChanged("running"))

    def _evaluate(self, i: int, point: TestPoint, obs: Observation, t0: float) -> tuple[PointResult, Budget]:
        plan = self._plans[i]
        dut = obs.values.tolist()
        ref = obs.reference_values.tolist()
        result, budget = evaluate(
            i, str(point.function), point.unit, point.range, point.nominal, point.frequency,
            Measured(obs.reference, dut, ref, plan.correction,
                     self.procedure.repeatability(point) if point.readings == 1 else None),
            plan.tolerance, self._model,
            self._type_b[i], self.rule, point.phase, t0, time.time(), point.label, self.uncertainty, self.mc_seed,
        )
        # Readings of one settled input that scatter by several tolerances
        # are not a measurement to judge: one was changed on the way (serial
        # noise that turns a digit into another digit passes any format
        # check) or the input is not stable. Refused, not recorded.
        for whose, values in (("DUT", dut), ("reference", ref)):
            if len(values) < 2:
                continue
            ordered = sorted(values)
            half = len(ordered) // 2
            middle = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
            worst = max(ordered[-1] - middle, middle - ordered[0])
            limit = _SPREAD_LIMIT * (plan.tolerance + plan.digit)
            if worst > limit:
                role = self.procedure.dut_role if whose == "DUT" else self.procedure.standard_role
                raise InstrumentError(
                    self._instruments.drivers[role].name, "read",
                    f"point {i + 1} ({point.describe()}): a reading lies {worst:.3g} {point.unit} from the "
                    f"median of the {whose}'s readings, more than {limit:.3g} {point.unit} ({_SPREAD_LIMIT:g} x "
                    "(tolerance + one digit)): a reading was changed on the way or the input is not stable",
                    "check the leads, the cable and the interface settings; the point is not recorded",
                )
        return result, budget

    def _end(self, status: RunStatus, reason: str) -> tuple[RunStatus, str]:
        """Safe state first, then the status and the seal (stop signals are
        held back by `run`)."""
        writer = self._writer
        assert writer is not None
        reason = one_line(reason)  # whatever an instrument or HDF5 said
        if status != "completed":
            writer.event(status, reason)
        for role, drv in list(self._instruments.drivers.items()):
            if isinstance(drv, SafeState):
                failed = self._make_safe(role, drv)
                if failed:
                    writer.event("safe_state", f"{role}: SAFE STATE FAILED: {failed}")
                    if status == "completed":
                        status = "failed"
                    reason += f"; {role} could not be put in its safe state ({failed}): check it by hand"
        if len(self._stops) > 1:
            writer.event("signal", f"{len(self._stops) - 1} further stop signal(s) held back while the "
                         "bench was made safe")
        for problem in self._instruments.close():
            writer.event("close", problem)
        writer.event("finished", f"{status}: {reason}")
        try:
            writer.finish(status, reason)
        except RunFileError as err:
            # the bench is safe already; the file keeps every committed point
            why = one_line(err)
            self._emit(RunFinished("failed", f"{reason}; the final status could not be written ({why})",
                                   str(self.path)))
            raise StatusNotWritten(f"{self.path}: the run ended ({status}: {reason}) with the bench safe, "
                                   f"but its status could not be written ({why}); the points committed "
                                   "before are kept and the run can be resumed") from None
        self._emit(RunFinished(status, reason, str(self.path)))
        return status, reason


class _PlanView:
    """What a procedure's `plan` sees: the opened instruments, their
    datasheets and what the bench file says of each role."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine
        self._temperature: float | None = None  # read once, at the first point that asks

    def instrument(self, role: str) -> Instrument:
        try:
            return self._e._instruments.drivers[role]
        except KeyError:
            raise PlanRefused(f"procedure {self._e.procedure.name} plans with role {role!r}, which it does "
                              "not declare in its roles; add it there") from None

    def datasheet(self, role: str) -> Datasheet:
        self.instrument(role)
        return registry.datasheet(self._e.bench.instruments[role].driver)

    def interval(self, role: str) -> str:
        cfg = self._e.bench.instruments[role]
        return self._e._intervals.get(role, cfg.specification)

    def distribution(self, role: str) -> Distribution:
        cfg = self._e.bench.instruments[role]
        try:
            return Distribution(cfg.distribution)
        except ValueError:
            raise ConfigError(f"instrument {role!r}: distribution {cfg.distribution!r} is not one of "
                              f"{[d.value for d in Distribution]}; fix the bench file") from None

    def probe(self, role: str) -> tuple[float, float, float]:
        cfg = self._e.bench.instruments[role]
        if not cfg.probe_uncertainty > 0 or not cfg.probe_k > 0:
            raise ConfigError(f"instrument {role!r} ({cfg.asset_id or cfg.driver}): its probe's calibration "
                              "is missing: add probe_certificate, probe_correction, probe_uncertainty and "
                              "probe_k from the probe's certificate to the bench file")
        return cfg.probe_correction, cfg.probe_uncertainty, cfg.probe_k

    def ambient(self) -> float | None:
        if self._temperature is None:
            now = self._e._ambient()
            self._temperature = math.nan if now is None else now[0]
        return None if math.isnan(self._temperature) else self._temperature

    def standard(self, role: str, specification: float, value: float) -> dict[str, Any]:
        cfg = self._e.bench.instruments[role]
        if cfg.uncertainty_source == "specification":
            return {"standard_half_width": specification, "standard_distribution": self.distribution(role)}
        if cfg.uncertainty_source != "certificate":
            raise ConfigError(f"instrument {role!r}: uncertainty_source {cfg.uncertainty_source!r} is not "
                              "specification or certificate; fix the bench file")
        U = cfg.certificate_uncertainty_ppm * 1e-6 * abs(value) + cfg.certificate_uncertainty_floor
        if not U > 0 or not cfg.certificate_k > 0:
            raise ConfigError(f"instrument {role!r} ({cfg.asset_id or cfg.driver}): uncertainty_source is "
                              "certificate but its certificate's uncertainty is missing: add "
                              "certificate_uncertainty_ppm and/or certificate_uncertainty_floor and certificate_k")
        return {"standard_half_width": U, "standard_distribution": self.distribution(role),
                "standard_source": "certificate", "standard_divisor": cfg.certificate_k}


class _Context:
    """What `Procedure.setup/measure/teardown` get as ``ctx``."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine
        # Protocol isinstance checks are slow (~25 us); do them once here.
        drivers = engine._instruments.drivers
        self._sources = {r: d for r, d in drivers.items() if isinstance(d, Source)}
        self._meters = {r: d for r, d in drivers.items() if isinstance(d, Meter)}
        self._indicators = {r: d for r, d in drivers.items() if isinstance(d, Indicator)}
        self._controllers = {r: d for r, d in drivers.items() if isinstance(d, Controller)}
        #: role -> (function, range, nplc) it was last configured to in this run
        self._configured: dict[str, tuple[Function, float, float]] = {}
        #: functions whose hazard the operator has been told of in this run
        self._warned: set[Function] = set()

    def instrument(self, role: str) -> Instrument:
        try:
            return self._e._instruments.drivers[role]
        except KeyError:
            raise CalstationError(
                f"procedure {self._e.procedure.name} asked for role {role!r}, which it does not declare "
                "in its roles; add it there"
            ) from None

    def _capable(self, role: str, table: Mapping[str, Any], what: str) -> Any:
        try:
            return table[role]
        except KeyError:
            raise CalstationError(f"procedure {self._e.procedure.name}: {role!r} is not a {what} "
                                  f"({self.instrument(role).name}); fix the procedure") from None

    def source(self, role: str) -> Source:
        src: Source = self._capable(role, self._sources, "source")
        return src

    def meter(self, role: str) -> Meter:
        m: Meter = self._capable(role, self._meters, "meter")
        return m

    def indicator(self, role: str) -> Indicator:
        ind: Indicator = self._capable(role, self._indicators, "meter or indicator")
        return ind

    def controller(self, role: str) -> Controller:
        c: Controller = self._capable(role, self._controllers, "controller")
        return c

    def configure(self, role: str, function: Function, range_: float, nplc: float) -> None:
        meter = self.meter(role)
        wanted = (function, range_, nplc)
        if self._configured.get(role) == wanted:
            return
        self._e.checkpoint()
        self._configured.pop(role, None)
        meter.configure(function, range_, nplc)
        self._configured[role] = wanted

    def _announce(self, function: Function, value: float) -> None:
        """The first hazardous value of a function in a run is announced,
        with the highest the run's remaining points reach."""
        hazard = HAZARDS.get(function)
        if hazard is None or function in self._warned or abs(value) < hazard[0]:
            return
        limit, title, advice = hazard
        top = max([abs(p.nominal) for p in self._e._points if p.function == function] + [abs(value)])
        self.prompt(title, f"The next points reach up to {top:g} {function.unit} ({function.description}). "
                    + advice, hazard=True)
        self._warned.add(function)

    def apply(self, role: str, function: Function, value: float, dwell_s: float = 0.0,
              frequency: float = 0.0) -> float:
        e = self._e
        src = self.source(role)
        self._announce(function, value)
        e.checkpoint()
        src.set_output(function, value, frequency)
        e.checkpoint()
        src.operate()
        src.wait_settled(timeout_s=_SETTLE_TIMEOUT_S)
        if dwell_s > 0:
            e.wait(dwell_s)
        return value

    def hold(self, role: str, function: Function, value: float, timeout_s: float, dwell_s: float = 0.0) -> None:
        e = self._e
        ctl = self.controller(role)
        self._announce(function, value)
        e.checkpoint()
        ctl.set_setpoint(function, value)
        deadline = e.clock.now() + timeout_s
        while not ctl.is_stable():
            if e.clock.now() >= deadline:
                raise InstrumentTimeout(
                    f"{ctl.name}: not stable at {value:g} {function.unit} within {timeout_s:g} s (it reads "
                    f"{ctl.actual():g} {function.unit}); check the insert, the probes and the setpoint")
            e.wait(_STABLE_POLL_S)
        if dwell_s > 0:
            e.wait(dwell_s)
            if not ctl.is_stable():
                raise InstrumentError(ctl.name, "stability", f"no longer stable at {value:g} {function.unit} "
                                      f"after the {dwell_s:g} s soak", "check the insert and the probes")

    def wait(self, seconds: float) -> None:
        self._e.wait(seconds)

    def take(self, role: str, n: int, block: bool = False) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        e = self._e
        now = time.time
        if block:
            meter = self.meter(role)
            e.checkpoint()
            values = meter.read_many(n)
            times = [now()] * n  # one transfer: every reading arrives at once
        else:
            read = self.indicator(role).read
            values = [0.0] * n
            times = [0.0] * n
            for k in range(n):
                if e._state != "running":
                    e.checkpoint()
                values[k] = read()
                times[k] = now()
        return np.array(values), np.array(times)

    def read(self, role: str, n: int, reference: float, block: bool = False) -> Observation:
        values, times = self.take(role, n, block)
        return Observation(reference, values, times)

    def prompt(self, title: str, message: str, choices: Sequence[str] = (CONTINUE, ABORT),
               hazard: bool = False, image: str = "") -> str:
        """Ask the operator. ``image``: a picture shipped beside the
        procedure's module (how to connect the leads), by its file name."""
        e = self._e
        e.checkpoint()
        writer = e._writer
        assert writer is not None
        p = Prompt(title, message, tuple(choices), choices[0], hazard, _beside(e.procedure, image))
        writer.event("prompt", f"{title}: {message}" + (f" [picture {image}]" if image else ""))
        writer.commit()
        answer = e.prompts.ask(p)
        writer.event("answer", f"{title}: {answer}")
        writer.commit()
        if answer == ABORT:
            e.abort(f"operator answered Abort to {title!r}")
        e.checkpoint()
        return answer

    def log(self, text: str) -> None:
        self._e._log("message", text)
        self._e._emit(Message(text))

    def checkpoint(self) -> None:
        self._e.checkpoint()


def _beside(procedure: Procedure, image: str) -> str:
    """``image`` as a path in the folder of the procedure's module ("" stays "")."""
    if not image:
        return ""
    try:
        folder = Path(inspect.getfile(type(procedure))).parent
    except (TypeError, OSError):  # a procedure class made at run time: no module file
        folder = Path.cwd()
    return str(folder / image)
