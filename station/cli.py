"""The ``calstation`` command.

Exit codes (docs/cli.md, station/exitcodes.py): 0 success; 1 bad input
(unknown procedure, corrupt file, bad configuration); 2 usage; 3 plan
refused; 4 aborted; 5 failed; 6 completed with the DUT out of tolerance at
one or more points; 7 a run file that fails verification.

Every error reaches the user as one line on standard error with one of
these codes, never as a traceback (``CALSTATION_DEBUG=1`` shows the
traceback of an unexpected error). This module imports only the standard
library and light parts of the core at start-up: ``--help`` and
``--version`` load none of numpy, h5py, GTC or Qt; each command imports
what it uses.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

#: Stop signals (Ctrl-C, SIGTERM, SIGHUP) received outside a run.
_stops: list[int] = []
#: A stop's KeyboardInterrupt has been raised in this command: another stop
#: (Ctrl-C pressed again while the first is reported) is only recorded.
_interrupting = False


def _hold_stop(signum: int, frame: FrameType | None) -> None:
    """While this module loads: recorded; `main` then ends the command."""
    _stops.append(signum)


def _on_stop(signum: int, frame: FrameType | None) -> None:
    """Outside a run, a stop signal ends the command at once as a
    `KeyboardInterrupt`, and is recorded: Python prints and drops a
    KeyboardInterrupt raised in a weakref callback or a ``__del__`` (imports
    run some), and the record still stops a run before anything is
    energised (`_stopped`). Raised once per command: a second Ctrl-C
    while the first is reported is not a traceback."""
    _stops.append(signum)
    if not _interrupting:
        _interrupt()


def _interrupt() -> NoReturn:
    global _interrupting
    _interrupting = True
    raise KeyboardInterrupt


def _hold_stops_while_loading() -> list[tuple[int, Any]]:
    """A Ctrl-C while the command starts must not be a traceback: stop
    signals still at their default are held until `main` takes them (the
    command) or, when another program imports this module, until it has
    loaded."""
    held: list[tuple[int, Any]] = []
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        previous = signal.getsignal(sig)
        if previous in (signal.default_int_handler, signal.SIG_DFL):
            try:
                signal.signal(sig, _hold_stop)
            except ValueError:  # imported outside the main thread
                break
            held.append((sig, previous))
    return held


_held_while_loading = _hold_stops_while_loading()

import argparse  # noqa: E402 - after the stop signals are held
import datetime as dt  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from station import __version__  # noqa: E402
from station.certificates.issue import LANGUAGES  # noqa: E402
from station.cli_discover import add_parser as add_discover_parser  # noqa: E402
from station.cli_register import add_db, verify_files  # noqa: E402
from station.cli_register import add_parsers as add_register_parsers  # noqa: E402
from station.errors import CalstationError, ConfigError, one_line  # noqa: E402
from station.exitcodes import EXIT_ABORTED, EXIT_ERROR, EXIT_OK, EXIT_VERIFY_FAILED  # noqa: E402
from station.interrupts import held_stops, stop_signals  # noqa: E402
from station.prompts import ABORT, AutoAnswer, Prompt, PromptChannel  # noqa: E402

if TYPE_CHECKING:
    from station.engine import RunOutcome
    from station.events import Event
    from station.procedure import PointPlan, TestPoint

RULES = ("simple", "guarded", "non-binary", "guard-band")


def _rule(args: argparse.Namespace) -> Any:
    """The decision rule the options name (``guard-band`` is ``guarded``)."""
    from station.metrology.decision import SIMPLE, DecisionRule

    if args.rule == "simple":
        return SIMPLE
    return DecisionRule("non-binary" if args.rule == "non-binary" else "guarded-acceptance", args.guard_band)


def _say(text: str, stream: TextIO | None = None, end: str = "\n") -> None:
    """Print, ignoring a stream that is gone (a closed terminal, ``| head``)."""
    try:
        print(text, file=stream or sys.stderr, end=end, flush=True)
    except (OSError, ValueError):
        pass


class _Cancelled(BaseException):
    """Raised by a stop signal into a prompt waiting on the terminal."""


class TerminalPrompts:
    """Asks on the terminal. No answer (end of input), a terminal that is
    gone, or a stop signal (Ctrl-C, SIGTERM, SIGHUP) while waiting means
    Abort, at once."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self._asking = False

    def cancel(self) -> None:
        """Called from the signal handler (the main thread) when the run is
        stopped: a prompt waiting in ``input()`` is interrupted."""
        if self._asking and threading.current_thread() is threading.main_thread():
            self._asking = False
            raise _Cancelled

    def ask(self, prompt: Prompt) -> str:
        mark = "!! HAZARDOUS VOLTAGE !! " if prompt.hazard else ""
        keys = {c[0].lower(): c for c in prompt.choices}
        options = "/".join(f"[{c[0]}]{c[1:]}" for c in prompt.choices)
        default = "" if prompt.hazard else f" (Enter = {prompt.default})"
        try:
            print(f"\n{mark}{prompt.title}: {prompt.message}", file=self.stream)
            while True:
                print(f"{options}{default}: ", end="", file=self.stream, flush=True)
                self._asking = True
                try:
                    line = input().strip().lower()
                finally:
                    self._asking = False
                if not line:
                    if prompt.hazard:
                        continue  # a hazard needs a deliberate answer, not Enter
                    return prompt.default
                if line[0] in keys:
                    return keys[line[0]]
        except _Cancelled:
            _say("\nstopped: aborting", self.stream)
            return ABORT
        except EOFError:
            _say("\nno answer (end of input): aborting; use --yes to answer automatically", self.stream)
            return ABORT
        except (OSError, ValueError):  # the terminal is gone: nobody can answer
            return ABORT


class Progress:
    """A progress bar on a terminal; a line per point otherwise (CI logs).
    A failure to write (a closed terminal, a broken pipe) propagates: the
    engine then drops this display and carries on."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        try:
            self.tty = stream.isatty()
        except (OSError, ValueError):
            self.tty = False
        self.total = 0

    def __call__(self, event: Event) -> None:
        from station.events import Message, PlanChecked, PointDone, RunStarted

        if isinstance(event, RunStarted):
            self.total = len(event.points)
            if event.completed:
                print(f"resuming {event.path}: {len(event.completed)} of {self.total} points already done",
                      file=self.stream)
        elif isinstance(event, PlanChecked):
            low = [f"{i + 1}" for i, t in enumerate(event.tur) if t < 4.0]
            if low:
                print(f"note: planned TUR below 4:1 at point(s) {', '.join(low)}", file=self.stream)
        elif isinstance(event, PointDone):
            r = event.result
            at = f" at {r.frequency:g} Hz" if r.frequency else ""
            on = f" ({r.range:g} {r.unit} range)" if r.range else ""
            text = (f"{event.done:3d}/{event.total} {r.function} {r.nominal:g} {r.unit}{at}{on}: "
                    f"error {r.error:+.3g} {r.unit}, {r.decision}")
            if self.tty:
                width = 30
                filled = int(width * event.done / max(event.total, 1))
                bar = "#" * filled + "-" * (width - filled)
                print(f"\r[{bar}] {text:<70}", end="", file=self.stream, flush=True)
                if event.done == event.total:
                    print(file=self.stream)
            else:
                print(text, file=self.stream, flush=True)
        elif isinstance(event, Message):
            print(f"\n{event.text}" if self.tty else event.text, file=self.stream)


def _report(outcome: RunOutcome) -> None:
    line = f"run {outcome.status}: {outcome.reason}"
    if outcome.status == "completed" and outcome.out_of_tolerance:
        line += f"; DUT OUT OF TOLERANCE at {outcome.out_of_tolerance} point(s)"
    _say(line)
    _say(f"run file: {outcome.path}", sys.stdout)


def _prompts(args: argparse.Namespace) -> PromptChannel:
    return AutoAnswer() if args.yes else TerminalPrompts()


def _procedure_options(args: argparse.Namespace) -> dict[str, object]:
    opts: dict[str, object] = {}
    if getattr(args, "readings", None) is not None:
        opts["readings"] = args.readings
    if getattr(args, "settle", None) is not None:
        opts["settle_s"] = args.settle
    return opts


def _folder(path: Path, what: str) -> Path:
    """A folder to write into, created if needed, or a one-line error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{path}: is a file, not a folder; give a folder for the {what}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot create the folder for the {what} ({e.strerror or e}); "
                          "choose another") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"{path}: the folder for the {what} is not writable; choose another")
    return path


def _new_name(stem: str) -> str:
    """A run file name that no other run picks, even in the same second."""
    return f"{stem}-{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}.h5"


def cmd_run(args: argparse.Namespace) -> int:
    from station import library
    from station.bench import BenchConfig, Job
    from station.engine import Engine

    name = args.procedure
    if name is None:
        if not args.resume:
            raise ConfigError("name the procedure to run (calstation run PROCEDURE ...), or --resume a run file")
        from station.runfile.reader import RunFile

        with RunFile(Path(args.resume)) as rf:
            name = rf.procedure["name"]
        if name not in library.available():
            raise ConfigError(f"{args.resume} is a run of procedure {name!r}, which is not in the library; "
                              f"give its file: calstation run PATH.py --resume {args.resume}")
    procedure = library.load(name, **_procedure_options(args))
    path = Path(args.resume or args.out or _new_name(procedure.name))
    sim = None
    closing: list[Any] = []
    try:
        if args.simulated:
            from station.simulated import SimulatedStation

            sim = SimulatedStation(transport=args.transport, seed=args.seed, procedure=procedure)
            bench, simulators, clock = sim.bench(), sim.simulators, sim.clock
            job = Job.load(Path(args.job)) if args.job else sim.job()
        else:
            if not args.bench:
                raise ConfigError("a real bench needs --bench FILE (or use --simulated)")
            if not (args.job or args.resume or args.check or args.dut):
                raise ConfigError("a run on a real bench needs --job FILE (customer, DUT, conditions), or the DUT "
                                  "from the register (--user NAME --dut ASSET); --check needs neither")
            bench = BenchConfig.load(Path(args.bench))
            job = Job.load(Path(args.job)) if args.job else Job()
            simulators, clock = None, None
        reg = _run_register(args)
        if reg is not None:
            closing.append(reg)
            bench, job = _from_register(reg, args, bench, job, procedure.dut_role)
        engine = Engine(procedure, bench, job, path, prompts=_prompts(args), rule=_rule(args), low_tur=args.low_tur, uncertainty=args.uncertainty,
                        clock=clock, simulators=simulators, listeners=[Progress()],
                        resume=bool(args.resume), command="calstation run")
        if args.check:
            _print_plan(procedure.name, engine.preview())
            return EXIT_OK
        # from here a stop signal aborts the run (or, once it has ended, is
        # ignored): it never turns into a KeyboardInterrupt that would hide
        # how the run ended
        with held_stops(engine.interrupt):
            _stopped()
            outcome = engine.run()
            if sim is not None:
                sim.close()
                sim = None
            _report(outcome)
        if reg is not None and outcome.status == "completed":
            row = reg.register_run(args.user, outcome.path)
            _say(f"entered in the register at {reg.where} as run {row['run_id']}: it awaits review by a "
                 "signatory (calstation approve, or reject)")
        return outcome.exit_code
    finally:
        if sim is not None:
            sim.close()
        for c in closing:
            c.close()


def _run_register(args: argparse.Namespace) -> Any:
    """The register a run uses: named by --db or CALSTATION_DB, or implied
    by --user; None for a station without one (the bench file's own
    standing is used)."""
    from station.register import db

    wanted = args.user or args.db or os.environ.get(db.ENV) or args.dut or args.customer or args.override
    if not wanted:
        return None
    if not args.user:
        raise ConfigError("with a register, say who runs the calibration: --user NAME")
    if args.override and not (args.supervisor and args.override_reason.strip()):
        raise ConfigError("--override needs --supervisor NAME and --override-reason TEXT")
    from station.cli_register import open_register

    return open_register(args)


def _from_register(reg: Any, args: argparse.Namespace, bench: Any, job: Any, dut_role: str) -> tuple[Any, Any]:
    import dataclasses

    from station.register.trace import lab_job, resolve_bench

    user = reg.user(args.user)
    overrides = {a: (args.supervisor, args.override_reason) for a in (args.override or [])}
    if not args.job and not args.simulated:  # the laboratory's header from the register's settings
        lab = lab_job(reg)
        job = dataclasses.replace(job, lab_name=lab.lab_name, lab_address=lab.lab_address, location=lab.location)
    bench = resolve_bench(reg, bench, dut_role, dt.date.today(), overrides)
    changes: dict[str, Any] = {"operator": user.full_name,
                               "extra": {**job.extra, "operator_user": user.name}}
    if args.dut:
        a = reg.asset(args.dut)
        if a is None:
            raise ConfigError(f"--dut {args.dut}: no such asset in the register at {reg.where}; add it with "
                              "calstation register add dut ...")
        changes.update(dut_asset_id=a.asset_id, dut_manufacturer=a.manufacturer, dut_model=a.model,
                       dut_serial=a.serial, dut_description=a.description or job.dut_description)
        if not job.date_received:
            changes["date_received"] = dt.date.today().isoformat()
    if args.customer:
        c = reg.customer(args.customer)
        if c is None:
            raise ConfigError(f"--customer {args.customer}: no such customer in the register at {reg.where}")
        changes.update(customer_name=c.name, customer_address=c.address)
    return bench, dataclasses.replace(job, **changes)


def _print_plan(name: str, plan: list[tuple[TestPoint, float, PointPlan]]) -> None:
    print(f"plan of {name}: {len(plan)} points, checked (instruments identified, points in range)")
    print(f"{'No.':>4}  {'function':<8} {'range':>8} {'nominal':>10} {'unit':<4} {'freq Hz':>8} "
          f"{'readings':>8} {'tolerance':>10} {'TUR':>7}  specification")
    for i, (p, tur, how) in enumerate(plan):
        flag = " <4:1" if tur < 4.0 else ""
        print(f"{i + 1:>4}  {p.function:<8} {p.range:>8g} {p.nominal:>10g} {p.unit:<4} {p.frequency:>8g} "
              f"{p.readings:>8} {how.tolerance:>10.3g} {tur:>7.1f}{flag:<5}  {how.spec}")
    print("planned TUR: from the type B components of each point's budget (k = 2); the run adds the "
          "repeatability of the readings")


#: The demonstrations: name -> (procedure, what it shows).
DEMOS: dict[str, tuple[str, str]] = {
    "dmm": ("keysight-34401a-basic", "a Keysight 34401A DMM in every basic function (DC and AC voltage, "
            "DC current, 2- and 4-wire resistance) against a Fluke 5522A calibrator"),
    "calibrator": ("fluke-5522a-dcv", "a Fluke 5522A calibrator's DC voltage outputs measured by a "
                   "Keysight 3458A reference multimeter"),
    "drywell": ("temperature-indicator-drywell", "a temperature indicator against a reference PRT and "
                "1524 readout in a Fluke 9142 dry-well, at four setpoints"),
}


def cmd_demo(args: argparse.Namespace) -> int:
    """A calibration on the simulated bench, from the register to the signed
    certificate: the demonstration register (made once in --out) holds the
    users, the standards and their calibration records; the technician's
    run is entered in it, a signatory approves it, and the PDF, the DCC and
    the run file are verified."""
    import dataclasses

    from station import library, signing
    from station.engine import Engine
    from station.locks import waiting_lock
    from station.register import Register
    from station.register import demo as demo_register
    from station.register.approval import approve
    from station.register.trace import resolve_bench
    from station.register.verify import verify_file
    from station.simulated import SimulatedStation

    if args.list:
        for key, (proc, what) in DEMOS.items():
            print(f"{key:<11} {proc:<30} {what}")
        return EXIT_OK
    if args.name not in DEMOS:
        raise ConfigError(f"no demonstration {args.name!r}; calstation demo --list names them: "
                          + ", ".join(DEMOS))
    name, what = DEMOS[args.name]
    procedure = library.load(name)
    out = _folder(Path(args.out), "demonstration's files")
    path = out / _new_name(f"demo-{args.name}")
    url = args.db or f"sqlite:///{(out / 'demo-register.sqlite').resolve().as_posix()}"
    _say(f"calstation {__version__} demo {args.name}: {what}, on the simulated bench ({args.transport})")
    today = dt.date.today()
    with Register.open(url) as reg:
        with SimulatedStation(transport=args.transport, seed=args.seed, procedure=procedure) as sim:
            job = sim.job()
            # demos started together into one folder make its register once
            (out / "keys").mkdir(exist_ok=True)
            with waiting_lock(out / "keys" / "seed.lock"):
                users = demo_register.seed(reg, sim.bench(), job, procedure.dut_role, out / "keys", today)
            bench = resolve_bench(reg, sim.bench(), procedure.dut_role, today)
            job = dataclasses.replace(job, operator=users.technician_name,
                                      extra={**job.extra, "operator_user": users.technician})
            engine = Engine(procedure, bench, job, path, prompts=_prompts(args),
                            rule=_rule(args), low_tur=args.low_tur, uncertainty=args.uncertainty, clock=sim.clock,
                            simulators=sim.simulators, listeners=[Progress()], command="calstation demo")
            with held_stops(engine.interrupt):  # as in cmd_run
                _stopped()
                outcome = engine.run()
                sim.close()
                _report(outcome)
        if outcome.status != "completed":
            return outcome.exit_code
        reg.register_run(users.technician, path)
        _say(f"register: {reg.where}; run entered by {users.technician}, reviewed by {users.signatory}")
        signatory = reg.user(users.signatory)
        signer = signing.Signer(signatory.name, signatory.full_name, signing.load_private_key(users.key))
        try:
            done = approve(reg, users.signatory, path, signer, args.lang, out)
        except KeyboardInterrupt:
            _say(f"calstation: interrupted: no certificate was issued; the run file {path} is complete "
                 f"(calstation approve {path} --user {users.signatory} --key {users.key} issues it)")
            return EXIT_ABORTED
        _say(f"approved by {signatory.full_name}: certificate {done.number}")
        worst = outcome.exit_code
        for f in (path, done.pdf, done.dcc):
            rep = verify_file(f, reg)
            _say(f"verify: {rep.summary()}", sys.stdout if rep.ok else sys.stderr)
            if not rep.ok:
                worst = EXIT_VERIFY_FAILED
        _say(f"certificate: {done.pdf}", sys.stdout)
        _say(f"DCC: {done.dcc}", sys.stdout)
    return worst


def cmd_inspect(args: argparse.Namespace) -> int:
    from station.runfile.reader import RunFile

    with RunFile(Path(args.file)) as rf:
        a = rf.attrs
        print(f"{rf.path}: {a['format']} v{a['format_version']}, status {a['status']}"
              + (f" ({a['end_reason']})" if a.get("end_reason") else ""))
        check = rf.verify()
        print(f"integrity: {check.message.split(': ', 1)[1]}")
        p = rf.procedure
        print(f"procedure {p['name']} {p['version']} (sha256 {p['sha256'][:16]}...), "
              f"decision rule {a['decision_rule']}")
        for inst in rf.instruments:
            print(f"  {inst.role}: {inst.manufacturer} {inst.model} s/n {inst.serial} at {inst.resource}"
                  + (f", asset {inst.asset_id}" if inst.asset_id else "")
                  + (f", due {inst.calibration_due}" if inst.calibration_due else ""))
        points = rf.points
        print(f"points: {len(points)} of {len(rf.plan)} planned")
        if args.points or not args.layout:
            for r in points:
                print(f"  {r.index + 1:3d} {r.function} {r.nominal:>10g} {r.unit} range {r.range:<6g} "
                      f"ind {r.indication:+.8g} err {r.error:+.3e} U {r.expanded_uncertainty:.2e} "
                      f"k {r.coverage_factor:.2f} TUR {r.tur:5.1f} {r.decision}")
        if args.events:
            for t, kind, msg in rf.events():
                print(f"  {dt.datetime.fromtimestamp(t, dt.UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3]
                      + f" {kind:<10} {msg}")
        if args.io:
            for e in rf.io():
                print(f"  {e.time:.6f} {e.instrument:<9} {'->' if e.direction == 'tx' else '<-'} {e.data!r}")
        if args.layout:
            print("\n".join(rf.layout()))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    return verify_files(args, _say)


def cmd_certificate(args: argparse.Namespace) -> int:
    from station.certificates.pdf import render_pdf

    src = Path(args.file)
    pdf = render_pdf(src, Path(args.output) if args.output else src.with_suffix(".draft.pdf"),
                     languages=args.lang)
    _say(f"draft (not a certificate; calstation approve issues one): {pdf}", sys.stdout)
    return EXIT_OK


def cmd_sim_serve(args: argparse.Namespace) -> int:
    from drivers.clock import SystemClock
    from drivers.sim.bench import SimBench

    bench = SimBench(args.bench, clock=SystemClock(), seed=args.seed)
    stop = threading.Event()
    try:
        tcp = bench.serve_tcp()
        print("simulated bench (real time); Ctrl-C stops it")
        for name, res in tcp.items():
            print(f"  {name:<11} TCP  {res}")
        if not args.no_pty and sys.platform != "win32":
            for name, res in bench.serve_pty().items():
                print(f"  {name:<11} PTY  {res}")
        sys.stdout.flush()
        from station.interrupts import stop_signals

        for sig in stop_signals():
            signal.signal(sig, lambda s, f: stop.set())
        while not stop.wait(0.5):
            pass
    finally:
        bench.close()
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    """The station's window. It says in one line (exit code 1) when no
    window can be opened here (no display, Qt's xcb libraries missing)."""
    from importlib.metadata import entry_points

    found = entry_points(group="calstation.frontends", name="gui")
    if not found:
        raise ConfigError("no GUI is installed (entry point calstation.frontends: gui); install calstation "
                          "with its GUI")
    gui_main = next(iter(found)).load()
    register = {"db": args.db} if args.db else {}  # without --db: CALSTATION_DB, or the front end's default
    code: int = gui_main([], simulated=args.simulated, out_dir=Path(args.out) if args.out else None, **register)
    return code


def _whole(low: int, high: int | None, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (None: no limit)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"{low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{value}: give {span} {what}")
        return value

    return parse


_seed = _whole(0, None, "(the seed of the simulated bench)")


def _factor(text: str) -> float:
    """An argparse type: a guard band factor r, 0 < r <= 3."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 3:
        raise argparse.ArgumentTypeError(f"{value:g}: give a factor above 0 and at most 3")
    return value
#: a type A evaluation needs two readings; 10000 is an hour at 0.4 s each
_readings = _whole(2, 10000, "readings a point")


def _seconds(text: str) -> float:
    """A dwell in seconds: finite, from 0 to an hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} s: give seconds from 0 to 3600")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="calstation",
        description="Automated calibration station: runs calibration procedures, records every "
                    "reading in an HDF5 run file and issues certificates.",
        epilog="exit codes: 0 success, 1 bad input, 2 usage, 3 plan refused, 4 aborted, "
               "5 failed, 6 DUT out of tolerance, 7 run file fails verification",
    )
    p.add_argument("--version", action="version", version=f"calstation {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common_run(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--yes", "-y", action="store_true",
                        help="answer every prompt with its default (hazard prompts included)")
        sp.add_argument("--rule", choices=RULES, default="simple",
                        help="decision rule (ILAC-G8:09/2019): simple acceptance (w = 0), guarded acceptance "
                             "(w = r U; guard-band is the same), non-binary (pass, conditional pass, "
                             "conditional fail, fail)")
        sp.add_argument("--guard-band", type=_factor, default=1.0, metavar="R",
                        help="guard band factor r of w = r U, 0 < r <= 3 (default 1)")
        sp.add_argument("--uncertainty", choices=("gum", "monte-carlo"), default="gum",
                        help="how U is evaluated: the GUM (k from Student's t, nu_eff by Welch-Satterthwaite) "
                             "or the Monte Carlo method of GUM Supplement 1 (shortest 95 %% interval; both "
                             "are recorded, the chosen one is certified)")
        sp.add_argument("--low-tur", choices=("note", "guard", "refuse"), default="note",
                        help="the lab's policy for a planned TUR below 4:1: note it (default), require a "
                             "guard band, or refuse the plan")
        sp.add_argument("--transport", choices=("inprocess", "tcp", "pty"), default="inprocess",
                        help="how the station reaches the simulated bench")
        sp.add_argument("--seed", type=_seed, default=0, help="seed of the simulated bench")

    d = sub.add_parser("demo", help="run a calibration on the simulated bench, then write the certificate "
                       "(default: a 34401A in every basic function against a 5522A)")
    d.add_argument("name", nargs="?", default="dmm", help="which demonstration (see --list); default dmm")
    d.add_argument("--list", action="store_true", help="name the demonstrations")
    d.add_argument("--out", default="demo-output", help="folder for the run file, certificate, DCC and the "
                   "demonstration register")
    d.add_argument("--lang", default="en+zh", choices=LANGUAGES,
                   help="language(s) of the certificate (default both)")
    d.add_argument("--db", metavar="URL", help="register to use (default: a demonstration register in --out)")
    common_run(d)
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("run", help="run a procedure")
    r.add_argument("procedure", nargs="?",
                   help="procedure name (see docs/procedures.md) or path to a .py file; "
                        "with --resume, defaults to the run's own procedure")
    r.add_argument("--bench", help="bench file (TOML) listing the instruments")
    r.add_argument("--job", help="job file (TOML): customer, DUT, environment")
    r.add_argument("--simulated", action="store_true", help="use the built-in simulated bench")
    r.add_argument("--out", help="run file to create (.h5)")
    r.add_argument("--resume", metavar="FILE", help="continue an interrupted run after its last completed point")
    r.add_argument("--readings", type=_readings, help="readings per point (2 to 10000)")
    r.add_argument("--settle", type=_seconds, help="dwell after settling, seconds")
    r.add_argument("--check", action="store_true",
                   help="check the plan and print each point with its planned TUR; energise nothing, "
                        "write no file")
    r.add_argument("--user", metavar="NAME", help="who runs it (a register user); with a register, the "
                   "standards' standing comes from it and the completed run is entered in it")
    r.add_argument("--dut", metavar="ASSET", help="the DUT's asset id in the register (fills the job's DUT)")
    r.add_argument("--customer", metavar="CODE", help="the customer's code in the register")
    r.add_argument("--override", action="append", metavar="ASSET",
                   help="use this standard although the register refuses it (overdue); needs --supervisor "
                        "and --override-reason, recorded in the run file and the audit trail")
    r.add_argument("--supervisor", metavar="NAME", help="the signatory or administrator allowing --override")
    r.add_argument("--override-reason", metavar="TEXT", default="")
    add_db(r)
    common_run(r)
    r.set_defaults(func=cmd_run)

    i = sub.add_parser("inspect", help="print what a run file holds")
    i.add_argument("file")
    i.add_argument("--points", action="store_true", help="list the points (default)")
    i.add_argument("--events", action="store_true", help="list the event log")
    i.add_argument("--io", action="store_true", help="list every instrument exchange")
    i.add_argument("--layout", action="store_true", help="print every group, dataset and attribute")
    i.set_defaults(func=cmd_inspect)

    v = sub.add_parser("verify", help="check certificate PDFs, DCCs and run files: signature, hash chain, "
                       "the register's entry")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--key", metavar="FILE", help="check signatures against this published public key file")
    v.add_argument("--no-register", action="store_true", help="do not consult a register")
    add_db(v)
    v.set_defaults(func=cmd_verify)

    c = sub.add_parser("certificate", help="render a DRAFT of a completed, verified run's certificate (it "
                       "certifies nothing: `calstation approve` issues the certificate)")
    c.add_argument("file")
    c.add_argument("-o", "--output", help="PDF to write (default: beside the run file, NAME.draft.pdf)")
    c.add_argument("--lang", default="en", choices=LANGUAGES)
    c.set_defaults(func=cmd_certificate)

    add_register_parsers(sub)
    add_discover_parser(sub)

    s = sub.add_parser("sim", help="the simulated bench")
    ssub = s.add_subparsers(dest="sim_command", required=True, metavar="SIMCOMMAND")
    ss = ssub.add_parser("serve", help="serve the simulated instruments over TCP and pseudo-terminals")
    ss.add_argument("--seed", type=_seed, default=0)
    ss.add_argument("--bench", default="dmm-calibrator",
                    help="which simulated bench (a topology in drivers/sim/benches)")
    ss.add_argument("--no-pty", action="store_true", help="TCP only")
    ss.set_defaults(func=cmd_sim_serve)

    g = sub.add_parser("gui", help="open the station's window")
    g.add_argument("--simulated", action="store_true",
                   help="calibrate on the simulated bench; without --db (or CALSTATION_DB) the register is a "
                        "demonstration register in --out")
    g.add_argument("--out", help="folder for run files and certificates (default ~/calstation/runs)")
    add_db(g)
    g.set_defaults(func=cmd_gui)
    return p


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at the null device so that the
    interpreter's own flush at exit does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _interrupted(error: BaseException) -> bool:
    """A Ctrl-C that an import turned into another error (a C extension's
    initialisation reports it as ``ImportError: initialization failed``)."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _listen_for_stops() -> None:
    """Outside a run every stop signal goes to `_on_stop`: SIGTERM and
    SIGHUP too end the program as Ctrl-C does, so that it closes what it
    opened and exits with one line, not silently."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in stop_signals():
        signal.signal(sig, _on_stop)


def _stopped() -> None:
    """Raise the `KeyboardInterrupt` of a stop signal that Python dropped."""
    if _stops:
        _interrupt()


def _ignore_stops_at_exit() -> None:
    """The command is done: a stop signal while the interpreter shuts down
    would only turn its exit code into a kill (or a traceback)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in stop_signals():
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass


def _quiet_dropped_stops(previous: Any) -> Any:
    """An unraisable-exception hook: a stop whose KeyboardInterrupt Python
    dropped is not reported as "Exception ignored" with a traceback (it is
    recorded: `_stopped` acts on it); anything else goes to ``previous``."""
    def hook(unraisable: Any) -> None:
        global _interrupting
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _stops:
            _interrupting = False  # it never reached `main`: the next stop raises again
            return
        previous(unraisable)
    return hook


def main(argv: Sequence[str] | None = None) -> int:
    global _interrupting
    unraisable = sys.unraisablehook
    sys.unraisablehook = _quiet_dropped_stops(unraisable)
    _interrupting = False
    try:
        return _main(argv)
    finally:
        if argv is None:  # the process is the command (the console script): it ends now
            _ignore_stops_at_exit()
        sys.unraisablehook = unraisable
        _stops.clear()
        _interrupting = False


def _main(argv: Sequence[str] | None) -> int:
    try:
        _listen_for_stops()
        _stopped()
        args = build_parser().parse_args(argv)
        code: int = args.func(args)
        _stopped()
        return code
    except CalstationError as e:
        from station.errors import PlanRefused

        label = "plan refused" if isinstance(e, PlanRefused) else "error"
        _say(f"calstation: {label}: {one_line(e)}")
        return e.exit_code or EXIT_ERROR
    except KeyboardInterrupt:
        _say("calstation: interrupted")
        return EXIT_ABORTED
    except BrokenPipeError:  # `calstation inspect ... | head`: the reader has what it wanted
        _quiet_stdout()
        return EXIT_OK
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        _say(f"calstation: error: {where}{e.strerror or one_line(e)}; check the path, its "
             "permissions and the free space")
        return EXIT_ERROR
    except Exception as e:  # a bug: one line, and the traceback on request
        if _interrupted(e):  # as a KeyboardInterrupt
            _say("calstation: interrupted")
            return EXIT_ABORTED
        if os.environ.get("CALSTATION_DEBUG"):
            raise
        _say(f"calstation: internal error: {type(e).__name__}: {one_line(e)}; please report it "
             "(CALSTATION_DEBUG=1 shows the traceback)")
        return EXIT_ERROR


def _release_held_stops(held: list[tuple[int, Any]]) -> None:
    """The module has loaded: Ctrl-C raises again (`_on_stop`), the other
    signals are back at their default until `main` takes them."""
    for sig, previous in held:
        signal.signal(sig, _on_stop if previous is signal.default_int_handler else previous)


def _is_the_command() -> bool:
    """This process is the ``calstation`` command (the console script, or
    ``python -m station.cli``): `main` is called next."""
    return __name__ == "__main__" or Path(sys.argv[0] if sys.argv else "").stem.lower() == "calstation"


if not _is_the_command():
    # Imported by another program (the tests, the GUI): its Ctrl-C is its own again.
    _release_held_stops(_held_while_loading)
# The command keeps holding stops until `main`, inside its try, takes them
# (`_listen_for_stops`) and acts on those held (`_stopped`): a Ctrl-C between
# the end of this module and that try is then never a traceback.

if __name__ == "__main__":
    sys.exit(main())
