"""The ``calstation`` command.

Exit codes (docs/cli.md): 0 success; 1 bad input (unknown procedure,
corrupt file, bad configuration); 2 usage; 3 plan refused; 4 aborted;
5 failed (instrument fault, procedure error); 6 completed with the DUT out
of tolerance at one or more points.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from station import __version__
from station.engine import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PLAN_REFUSED,
    Engine,
    RunOutcome,
)
from station.errors import CalstationError, ConfigError, PlanRefused
from station.events import Event, Message, PlanChecked, PointDone, RunStarted
from station.metrology.decision import DecisionRule
from station.procedure import TestPoint
from station.prompts import ABORT, AutoAnswer, Prompt, PromptChannel

RULES = {"simple": DecisionRule.SIMPLE, "guard-band": DecisionRule.GUARD_BAND_U}


class TerminalPrompts:
    """Asks on the terminal. No answer (end of input) means Abort."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream

    def ask(self, prompt: Prompt) -> str:
        mark = "!! HAZARDOUS VOLTAGE !! " if prompt.hazard else ""
        print(f"\n{mark}{prompt.title}: {prompt.message}", file=self.stream)
        keys = {c[0].lower(): c for c in prompt.choices}
        options = "/".join(f"[{c[0]}]{c[1:]}" for c in prompt.choices)
        while True:
            print(f"{options} (Enter = {prompt.default}): ", end="", file=self.stream, flush=True)
            try:
                line = input().strip().lower()
            except EOFError:
                print("\nno answer (end of input): aborting; use --yes to answer automatically",
                      file=self.stream)
                return ABORT
            if not line:
                return prompt.default
            if line[0] in keys:
                return keys[line[0]]


class Progress:
    """A progress bar on a terminal; a line per point otherwise (CI logs)."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.total = 0

    def __call__(self, event: Event) -> None:
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
            text = (f"{event.done:3d}/{event.total} {r.function} {r.nominal:g} {r.unit} "
                    f"({r.range:g} {r.unit} range): error {r.error:+.3g} {r.unit}, {r.decision}")
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


def _report(outcome: RunOutcome, out: TextIO = sys.stdout) -> None:
    line = f"run {outcome.status}: {outcome.reason}"
    if outcome.status == "completed" and outcome.out_of_tolerance:
        line += f"; DUT OUT OF TOLERANCE at {outcome.out_of_tolerance} point(s)"
    print(line, file=sys.stderr)
    print(f"run file: {outcome.path}", file=out)


def _prompts(args: argparse.Namespace) -> PromptChannel:
    return AutoAnswer() if args.yes else TerminalPrompts()


def _procedure_options(args: argparse.Namespace) -> dict[str, object]:
    opts: dict[str, object] = {}
    if getattr(args, "readings", None) is not None:
        opts["readings"] = args.readings
    if getattr(args, "settle", None) is not None:
        opts["settle_s"] = args.settle
    return opts


def cmd_run(args: argparse.Namespace) -> int:
    from station import library
    from station.bench import BenchConfig, Job

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
    path = Path(args.resume or args.out or f"{procedure.name}-{dt.datetime.now():%Y%m%d-%H%M%S}.h5")
    sim = None
    try:
        if args.simulated:
            from station.simulated import SimulatedStation, demo_job

            sim = SimulatedStation(transport=args.transport, seed=args.seed)
            bench, simulators, clock = sim.bench(), sim.simulators, sim.clock
            job = Job.load(Path(args.job)) if args.job else demo_job()
        else:
            if not args.bench or not (args.job or args.resume):
                raise ConfigError("a real bench needs --bench FILE and --job FILE (or use --simulated)")
            bench = BenchConfig.load(Path(args.bench))
            job = Job.load(Path(args.job)) if args.job else Job()
            simulators, clock = None, None
        engine = Engine(procedure, bench, job, path, prompts=_prompts(args), rule=RULES[args.rule],
                        clock=clock, simulators=simulators, listeners=[Progress()],
                        resume=bool(args.resume))
        if args.check:
            _print_plan(procedure.name, engine.preview())
            return EXIT_OK
        outcome = engine.run()
    finally:
        if sim is not None:
            sim.close()
    _report(outcome)
    return outcome.exit_code


def _print_plan(name: str, plan: list[tuple[TestPoint, float]]) -> None:
    print(f"plan of {name}: {len(plan)} points, checked (instruments identified, points in range)")
    print(f"{'No.':>4}  {'function':<8} {'range':>8} {'nominal':>10} {'unit':<4} {'readings':>8} {'TUR':>7}")
    for i, (p, tur) in enumerate(plan):
        flag = "  < 4:1" if tur < 4.0 else ""
        print(f"{i + 1:>4}  {p.function:<8} {p.range:>8g} {p.nominal:>10g} {p.unit:<4} {p.readings:>8} "
              f"{tur:>7.1f}{flag}")
    print("planned TUR: from the standard's specification and the DUT's resolution (k = 2); "
          "the run adds the repeatability of the readings")


def cmd_demo(args: argparse.Namespace) -> int:
    from procedures.keysight_34401a_dcv import Keysight34401aDcv
    from station.certificates.pdf import render_pdf
    from station.simulated import SimulatedStation, demo_job

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"demo-34401a-dcv-{stamp}.h5"
    n = 1
    while path.exists():
        n += 1
        path = out / f"demo-34401a-dcv-{stamp}-{n}.h5"
    print(f"calstation {__version__} demo: Keysight 34401A DC voltage against a Fluke 5522A "
          f"on the simulated bench ({args.transport})", file=sys.stderr)
    with SimulatedStation(transport=args.transport, seed=args.seed) as sim:
        engine = Engine(Keysight34401aDcv(), sim.bench(), demo_job(), path, prompts=_prompts(args),
                        rule=RULES[args.rule], clock=sim.clock, simulators=sim.simulators,
                        listeners=[Progress()])
        outcome = engine.run()
    _report(outcome)
    if outcome.status == "completed":
        pdf = render_pdf(path, path.with_suffix(".pdf"))
        print(f"certificate: {pdf}")
    return outcome.exit_code


def cmd_inspect(args: argparse.Namespace) -> int:
    from station.runfile.reader import RunFile

    with RunFile(Path(args.file)) as rf:
        a = rf.attrs
        print(f"{rf.path}: {a['format']} v{a['format_version']}, status {a['status']}"
              + (f" ({a['end_reason']})" if a.get("end_reason") else ""))
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


def cmd_certificate(args: argparse.Namespace) -> int:
    from station.certificates.pdf import render_pdf

    src = Path(args.file)
    pdf = render_pdf(src, Path(args.output) if args.output else src.with_suffix(".pdf"))
    print(f"certificate: {pdf}")
    return EXIT_OK


def cmd_sim_serve(args: argparse.Namespace) -> int:
    from drivers.clock import SystemClock
    from drivers.sim.bench import SimBench

    bench = SimBench(clock=SystemClock(), seed=args.seed)
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
        signal.signal(signal.SIGINT, lambda s, f: stop.set())
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, lambda s, f: stop.set())
        while not stop.wait(0.5):
            pass
    finally:
        bench.close()
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    if not args.simulated:
        raise ConfigError("only the simulated bench is available in the GUI so far; use --simulated")
    from gui.app import main as gui_main

    return gui_main([], simulated=True, out_dir=Path(args.out) if args.out else None)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="calstation",
        description="Automated calibration station: runs calibration procedures, records every "
                    "reading in an HDF5 run file and issues certificates.",
        epilog="exit codes: 0 success, 1 bad input, 2 usage, 3 plan refused, 4 aborted, "
               "5 failed, 6 DUT out of tolerance",
    )
    p.add_argument("--version", action="version", version=f"calstation {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common_run(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--yes", "-y", action="store_true", help="answer every prompt with its default")
        sp.add_argument("--rule", choices=sorted(RULES), default="simple",
                        help="decision rule: simple acceptance (w = 0) or guard band w = U")
        sp.add_argument("--transport", choices=("inprocess", "tcp", "pty"), default="inprocess",
                        help="how the station reaches the simulated bench")
        sp.add_argument("--seed", type=int, default=0, help="seed of the simulated bench")

    d = sub.add_parser("demo", help="calibrate a simulated 34401A against a simulated 5522A, "
                       "then write the certificate")
    d.add_argument("--out", default="demo-output", help="folder for the run file and certificate")
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
    r.add_argument("--readings", type=int, help="readings per point")
    r.add_argument("--settle", type=float, help="dwell after settling, seconds")
    r.add_argument("--check", action="store_true",
                   help="check the plan and print each point with its planned TUR; energise nothing, "
                        "write no file")
    common_run(r)
    r.set_defaults(func=cmd_run)

    i = sub.add_parser("inspect", help="print what a run file holds")
    i.add_argument("file")
    i.add_argument("--points", action="store_true", help="list the points (default)")
    i.add_argument("--events", action="store_true", help="list the event log")
    i.add_argument("--io", action="store_true", help="list every instrument exchange")
    i.add_argument("--layout", action="store_true", help="print every group, dataset and attribute")
    i.set_defaults(func=cmd_inspect)

    c = sub.add_parser("certificate", help="render the PDF certificate of a completed run")
    c.add_argument("file")
    c.add_argument("-o", "--output", help="PDF to write (default: beside the run file)")
    c.set_defaults(func=cmd_certificate)

    s = sub.add_parser("sim", help="the simulated bench")
    ssub = s.add_subparsers(dest="sim_command", required=True, metavar="SIMCOMMAND")
    ss = ssub.add_parser("serve", help="serve the simulated instruments over TCP and pseudo-terminals")
    ss.add_argument("--seed", type=int, default=0)
    ss.add_argument("--no-pty", action="store_true", help="TCP only")
    ss.set_defaults(func=cmd_sim_serve)

    g = sub.add_parser("gui", help="open the station's window")
    g.add_argument("--simulated", action="store_true", help="run the demo procedure on the simulated bench")
    g.add_argument("--out", help="folder for run files and certificates")
    g.set_defaults(func=cmd_gui)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except PlanRefused as e:
        print(f"calstation: plan refused: {e}", file=sys.stderr)
        return EXIT_PLAN_REFUSED
    except CalstationError as e:
        print(f"calstation: error: {e}", file=sys.stderr)
        return e.exit_code if e.exit_code else EXIT_ERROR
    except KeyboardInterrupt:
        print("calstation: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
