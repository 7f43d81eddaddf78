"""The fault campaign: faults injected at random moments of real runs.

Each fault is tried ``--trials`` times (default 100), spread over the ways
the station reaches its instruments: in process (``sim://``), over TCP
through pyvisa-py, and over pseudo-terminals through pyserial. Every trial
runs a real procedure (the Keysight 34401A DC voltage calibration, 17
points, or a 200-point sweep for the process-level faults) and checks:

- **safe**: the simulated 5522A's own state at the end: standby, 0 V
  (kill -9 is the exception no program can help: reported, not counted);
- **verified**: the run file opens and `RunFile.verify` passes (a refused
  plan leaves no file, which counts as verified);
- **lost**: points announced as done but missing from the file;
- **invalid**: raw readings recorded that the DMM never sent (corrupted on
  the way), or taken while the calibrator did not apply the point (an
  error more than 10 tolerances): readings from a faulted exchange kept as
  valid. Serial noise that turns digits into other digits is the known
  exception (no format check can see it; see docs/reliability.md);
- **resumed**: after kill -9, the file resumes to completion with every
  point once, each within the noise of an uninterrupted run (the two
  errors differ by less than the sum of their expanded uncertainties).

Instrument faults (in the campaign's process, the engine in process too):
``timeout`` (an instrument goes silent), ``drop`` (the connection is
lost), ``garble`` and ``truncate`` (one reply), ``error`` (an error pushed
into an instrument's queue), ``reset`` (a power cycle), ``noise`` (a burst
on a serial line, pseudo-terminals only), ``expiry`` (the standard's
calibration runs out during the run). A silent instrument or a lost
connection comes back after a second, as a glitch does; the engine's
second attempt at the safe state then reaches it.

Process faults (``calstation run`` in a child process, the simulated bench
served over TCP or a pseudo-terminal by the campaign): ``kill9`` (mid
point), ``kill9-resume`` (during the resume), ``sigint``, ``sigint2``,
``sigterm``, ``sighup``, ``disk-full`` (a 40 MiB tmpfs filled by another
program mid-run; root on Linux only), ``second-run`` (a second run on the
same file or the same bench).

    .venv/bin/python benchmarks/faults.py [--trials 100] [--only KIND,...] [--seed 1]

prints one line per fault and transport, and the table for
docs/reliability.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from drivers.clock import SystemClock, VirtualClock  # noqa: E402
from drivers.sim import faults  # noqa: E402
from drivers.sim.base import Direction, SimulatedInstrument  # noqa: E402
from drivers.sim.bench import SimBench  # noqa: E402
from procedures.keysight_34401a_dcv import Keysight34401aDcv  # noqa: E402
from station.bench import BenchConfig  # noqa: E402
from station.engine import Engine  # noqa: E402
from station.errors import CalstationError  # noqa: E402
from station.events import Event, PointDone  # noqa: E402
from station.prompts import AutoAnswer  # noqa: E402
from station.runfile.reader import RunFile  # noqa: E402
from station.simulated import SimulatedStation, demo_job  # noqa: E402

INSTRUMENT_FAULTS = ("timeout", "drop", "garble", "truncate", "error", "reset", "noise", "expiry")
PROCESS_FAULTS = ("kill9", "kill9-resume", "sigint", "sigint2", "sigterm", "sighup", "disk-full", "second-run")
READING = re.compile(rb"[+-]\d\.\d{8}E[+-]\d\d")
SWEEP_POINTS = 200


@dataclass
class Trial:
    fault: str
    transport: str
    outcome: str  # run status, "refused", or "exit N"
    safe: bool | None  # None: not applicable (kill -9)
    verified: bool
    lost: int = 0
    invalid: int = 0
    undetectable: int = 0  # invalid readings of the known undetectable kind (digit for digit)
    resumed: bool | None = None
    note: str = ""

    @property
    def passed(self) -> bool:
        return (self.safe is not False and self.verified and self.lost == 0
                and self.invalid == self.undetectable and self.resumed is not False)


# -- instrument faults ---------------------------------------------------------------------------
class GlitchClock(VirtualClock):
    """Virtual time on which a glitch ends: waiting a second or more (the
    engine's wait before another attempt at the safe state) restores every
    instrument's link and voice."""

    def __init__(self) -> None:
        super().__init__()
        self.instruments: list[SimulatedInstrument] = []

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if seconds >= 1.0:
            for inst in self.instruments:
                inst.link_down = False
                inst.silent = False


class Injector:
    """A line fault that records the instrument's true replies and acts once,
    at the ``n``-th message the instrument receives."""

    def __init__(self, n: int, action: Callable[[], None] | None = None,
                 byte_fault: Callable[[bytes, Direction], bytes] | None = None,
                 direction: Direction = "out") -> None:
        self.n, self.action, self.byte_fault, self.direction = n, action, byte_fault, direction
        self.count = 0
        self.fired = False
        self.replies: list[bytes] = []  # what the instrument really said

    def __call__(self, data: bytes, direction: Direction) -> bytes:
        if direction == "out":
            self.replies.append(data)
        if direction == "in":
            self.count += 1
        if self.fired or self.count < self.n:
            return data
        if self.action is not None:
            self.fired = True
            self.action()
            return data
        if self.byte_fault is not None and direction == self.direction and data:
            self.fired = True
            return self.byte_fault(data, direction)
        return data


def _fast(bench: BenchConfig) -> BenchConfig:
    """Short timeouts: a silent instrument costs 0.3 s, not 2."""
    return BenchConfig({r: replace(c, timeout_s=0.3) for r, c in bench.instruments.items()}, bench.source)


def _messages(transport: str) -> int:
    """How many messages the instruments receive in a fault-free run."""
    with SimulatedStation(transport=transport, seed=0) as st:  # type: ignore[arg-type]
        counters = [Injector(10**9), Injector(10**9)]
        st.sim.calibrator.line_fault, st.sim.dmm.line_fault = counters
        with tempfile.TemporaryDirectory() as tmp:
            Engine(Keysight34401aDcv(readings=3, settle_s=0), _fast(st.bench()), demo_job(),
                   Path(tmp) / "run.h5", prompts=AutoAnswer(), clock=st.clock, simulators=st.simulators).run()
        return min(c.count for c in counters)


def instrument_trial(kind: str, transport: str, rng: np.random.Generator, folder: Path, messages: int) -> Trial:
    clock = GlitchClock()
    path = folder / "run.h5"
    seed = int(rng.integers(1 << 30))
    with SimulatedStation(transport=transport, seed=seed, clock=clock) as st:  # type: ignore[arg-type]
        cal, dmm = st.sim.calibrator, st.sim.dmm
        clock.instruments = [cal, dmm]
        target: SimulatedInstrument = cal if rng.random() < 0.5 else dmm
        n = int(rng.integers(1, messages))
        calendar: Callable[[], dt.date] | None = None
        inject: Injector | None = None
        if kind == "timeout":
            inject = Injector(n, action=lambda: setattr(target, "silent", True))
        elif kind == "drop":
            inject = Injector(n, action=lambda: setattr(target, "link_down", True))
        elif kind == "garble":
            inject = Injector(n, byte_fault=faults.garble(rng, 1.0))
        elif kind == "truncate":
            inject = Injector(n, byte_fault=faults.truncate(rng, 1.0))
        elif kind == "error":
            code = (-222, "Data out of range") if target is dmm else (537, "Entry exceeds limits")
            inject = Injector(n, action=lambda: target.push_error(*code))
        elif kind == "reset":
            inject = Injector(n, action=target.power_cycle)
        elif kind == "noise":
            inject = Injector(n, byte_fault=faults.noise(rng, 1.0), direction="in" if rng.random() < 0.5 else "out")
        elif kind == "expiry":
            due = dt.date.fromisoformat(st.bench().instruments["standard"].calibration_due)
            flip = int(rng.integers(1, 17))
            calls = [0]

            def calendar_() -> dt.date:
                calls[0] += 1
                return dt.date.today() if calls[0] <= flip else due + dt.timedelta(days=1)

            calendar = calendar_
        recorder = inject or Injector(10**9)
        if target is dmm:
            dmm.line_fault = recorder
        else:
            target.line_fault = recorder
            dmm.line_fault = recorder = Injector(10**9)  # the DMM's true replies
        announced = [0]

        def count(event: Event) -> None:
            if isinstance(event, PointDone):
                announced[0] = event.done

        engine = Engine(Keysight34401aDcv(readings=3, settle_s=0), _fast(st.bench()), demo_job(), path,
                        prompts=AutoAnswer(), clock=clock, simulators=st.simulators, listeners=[count],
                        calendar=calendar)
        outcome: str
        try:
            outcome = engine.run().status
        except CalstationError as e:
            outcome = "refused" if not path.exists() else f"error: {e}"
        safe = not cal.operating and cal.output_value == 0.0
        truth = {float(m) for reply in recorder.replies for m in READING.findall(reply)}
    return _judge(kind, transport, outcome, safe, path, announced[0], truth)


def _judge(kind: str, transport: str, outcome: str, safe: bool | None, path: Path, announced: int,
           truth: set[float] | None) -> Trial:
    if not path.exists():
        return Trial(kind, transport, outcome, safe, True)
    try:
        with RunFile(path) as rf:
            check = rf.verify()
            points = rf.points
            raw = rf.raw_by_point()
    except CalstationError as e:
        return Trial(kind, transport, outcome, safe, False, note=str(e))
    corrupted = wrong_input = 0
    for p in points:
        values = raw.get(p.index)
        if values is None:
            continue
        if truth is not None:  # readings the DMM never sent: changed on the way, yet well-formed
            corrupted += sum(1 for v in values.tolist() if v not in truth)
        if abs(p.error) > 10 * p.tolerance:  # the calibrator did not apply the point
            wrong_input += len(values)
    return Trial(kind, transport, outcome, safe, check.ok, max(0, announced - len(points)),
                 corrupted + wrong_input, corrupted if kind == "noise" else 0,
                 note="" if check.ok else check.message)


# -- process faults ------------------------------------------------------------------------------
def _sweep(folder: Path) -> Path:
    source = (ROOT / "tests" / "data" / "long_dcv.py").read_text()
    path = folder / "sweep.py"
    path.write_text(source.replace("points: int = 4000", f"points: int = {SWEEP_POINTS}"))
    return path


def _bench_file(folder: Path, resources: dict[str, str], serial: bool) -> Path:
    today = dt.date.today()
    path = folder / "bench.toml"
    line = "serial = true\n" if serial else ""
    path.write_text(f"""
[[instrument]]
role = "standard"
driver = "fluke-5522a"
resource = "{resources['calibrator']}"
asset_id = "SIM-STD-5522A"
calibrated_on = "{today - dt.timedelta(days=30)}"
calibration_due = "{today + dt.timedelta(days=300)}"
certificate = "SIM-0001"
traceability = "simulated"
timeout_s = 1.0
{line}
[[instrument]]
role = "dut"
driver = "keysight-34401a"
resource = "{resources['dmm']}"
timeout_s = 1.0
{line}""")
    (folder / "job.toml").write_text('customer_name = "Campaign"\n')
    return path


@contextmanager
def served(transport: str, seed: int) -> Iterator[tuple[SimBench, dict[str, str]]]:
    bench = SimBench(clock=SystemClock(), seed=seed, settle_time_s=0.0)
    try:
        yield bench, (bench.serve_tcp() if transport == "tcp" else bench.serve_pty())
    finally:
        bench.close()


def _calstation() -> list[str]:
    exe = Path(sys.executable).parent / ("calstation.exe" if os.name == "nt" else "calstation")
    return [str(exe)]


def _start(args: list[str], folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(_calstation() + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, cwd=folder)


def _points_in(path: Path) -> int:
    try:
        with RunFile(path) as rf:
            return len(rf.completed())
    except CalstationError:
        return 0


def _wait_points(path: Path, n: int, proc: subprocess.Popen[bytes], limit: float = 60.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end and proc.poll() is None:
        if path.exists() and _points_in(path) >= n:
            return True
        time.sleep(0.005)
    return proc.poll() is None


def _announced(err: bytes) -> int:
    done = [int(m) for m in re.findall(rb"^\s*(\d+)/\d+ DCV", err, re.M)]
    return max(done, default=0)


def process_trial(kind: str, transport: str, rng: np.random.Generator, folder: Path,
                  reference: dict[int, tuple[float, float]]) -> Trial:
    sweep = _sweep(folder)
    out = folder / "run.h5"
    with served(transport, int(rng.integers(1 << 30))) as (bench, res):
        bench_file = _bench_file(folder, res, serial=transport == "pty")
        run_args = ["run", str(sweep), "--bench", str(bench_file), "--job", str(folder / "job.toml"), "--yes"]
        if kind in ("disk-full", "second-run"):  # slower points: the run is still going when the fault comes
            run_args += ["--settle", "0.01"]
        cal = bench.calibrator
        if kind == "disk-full":
            return _disk_full(folder, run_args, rng, cal, transport)
        proc = _start([*run_args, "--out", str(out)], folder)
        if not _wait_points(out, int(rng.integers(1, SWEEP_POINTS // 2)), proc):
            proc.communicate()
            return Trial(kind, transport, f"exit {proc.returncode}", None, False, note="ended before the fault")
        time.sleep(float(rng.uniform(0, 0.02)))  # a random moment within a point
        if kind == "second-run":
            return _second_run(folder, run_args, proc, out, rng, transport)
        if kind in ("kill9", "kill9-resume"):
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            announced = _announced(err)
            if kind == "kill9-resume":
                again = _start([*run_args, "--resume", str(out)], folder)
                before = _points_in(out)
                _wait_points(out, before + int(rng.integers(1, 20)), again)
                time.sleep(float(rng.uniform(0, 0.02)))
                again.send_signal(signal.SIGKILL)
                _, err2 = again.communicate()
                announced = max(announced, _announced(err2))
            lost = max(0, announced - _points_in(out))
            final = subprocess.run(_calstation() + [*run_args, "--resume", str(out)], capture_output=True,
                                   timeout=300, cwd=folder)
            trial = _judge(kind, transport, f"exit {final.returncode}", None, out, 0, None)
            trial.lost = lost
            trial.resumed = final.returncode == 0 and _same_within_noise(out, reference)
            if not trial.resumed:
                trial.note = final.stderr.decode()[-300:]
            return trial
        signals = {"sigint": ["SIGINT"], "sigint2": ["SIGINT", "SIGINT"], "sigterm": ["SIGTERM"],
                   "sighup": ["SIGHUP"]}[kind]
        for name in signals:
            proc.send_signal(getattr(signal, name))
            time.sleep(0.005)
        _, err = proc.communicate(timeout=120)
        safe = not cal.operating and cal.output_value == 0.0
        trial = _judge(kind, transport, f"exit {proc.returncode}", safe, out, _announced(err), None)
        if proc.returncode != 4 or b"Traceback" in err:
            trial.verified = False
            trial.note = err.decode()[-300:]
        return trial


def _same_within_noise(path: Path, reference: dict[int, tuple[float, float]]) -> bool:
    with RunFile(path) as rf:
        points = rf.points
        if rf.status != "completed" or [p.index for p in points] != list(range(SWEEP_POINTS)):
            return False
        return all(abs(p.error - reference[p.index][0]) <= p.expanded_uncertainty + reference[p.index][1]
                   for p in points)


def _second_run(folder: Path, run_args: list[str], first: subprocess.Popen[bytes], out: Path,
                rng: np.random.Generator, transport: str) -> Trial:
    same_file = rng.random() < 0.5
    second_out = out if same_file else folder / "second.h5"
    second = subprocess.run(_calstation() + [*run_args, *(["--resume", str(out)] if same_file
                                                          else ["--out", str(second_out)])],
                            capture_output=True, timeout=120, cwd=folder)
    _, err = first.communicate(timeout=300)
    trial = _judge("second-run", transport, f"exit {first.returncode}/{second.returncode}", None, out,
                   _announced(err), None)
    refused = second.returncode == 3 and b"in use" in second.stderr and (same_file or not second_out.exists())
    trial.safe = None
    if not refused or first.returncode != 0:
        trial.verified = False
        trial.note = (second.stderr + err).decode()[-300:]
    return trial


def _disk_full(folder: Path, run_args: list[str], rng: np.random.Generator, cal: Any, transport: str) -> Trial:
    disk = folder / "disk"
    disk.mkdir(exist_ok=True)
    if os.name != "posix" or os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(disk)], capture_output=True).returncode:
        return Trial("disk-full", transport, "skipped", None, True, note="needs root on Linux (tmpfs)")
    try:
        out = disk / "run.h5"
        proc = _start([*run_args, "--out", str(out)], folder)
        _wait_points(out, int(rng.integers(1, SWEEP_POINTS // 2)), proc)
        leave = int(rng.integers(0, 4096)) * 1024
        with open(disk / "filler", "wb") as fh:
            while (free := shutil.disk_usage(disk).free - leave) > 0:
                try:
                    fh.write(b"\0" * min(free, 1 << 20))
                    fh.flush()
                except OSError:
                    break
        _, err = proc.communicate(timeout=120)
        (disk / "filler").unlink()
        safe = not cal.operating and cal.output_value == 0.0
        trial = _judge("disk-full", transport, f"exit {proc.returncode}", safe, out, _announced(err), None)
        lines = [ln for ln in err.decode().splitlines() if ln.startswith("calstation:")]
        if proc.returncode not in (0, 5) or b"Traceback" in err or len(lines) > 1:
            trial.verified = False
            trial.note = err.decode()[-300:]
        return trial
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _reference(transport: str, folder: Path) -> dict[int, tuple[float, float]]:
    """An uninterrupted run of the sweep: each point's error and U."""
    out = folder / f"reference-{transport}.h5"
    with served(transport, 0) as (_, res):
        bench_file = _bench_file(folder, res, serial=transport == "pty")
        subprocess.run(_calstation() + ["run", str(_sweep(folder)), "--bench", str(bench_file), "--job",
                                        str(folder / "job.toml"), "--yes", "--out", str(out)],
                       check=True, capture_output=True, timeout=300)
    with RunFile(out) as rf:
        return {p.index: (p.error, p.expanded_uncertainty) for p in rf.points}


# -- the campaign --------------------------------------------------------------------------------
TRANSPORTS: dict[str, tuple[str, ...]] = {
    kind: (("pty",) if kind == "noise" else ("inprocess", "tcp", "pty")) for kind in INSTRUMENT_FAULTS}
TRANSPORTS.update({kind: ("tcp", "pty") for kind in PROCESS_FAULTS})


@dataclass
class Summary:
    trials: list[Trial] = field(default_factory=list)

    def line(self) -> str:
        t = self.trials
        applicable = [x for x in t if x.safe is not None]
        safe = sum(1 for x in applicable if x.safe)
        outcomes: dict[str, int] = defaultdict(int)
        for x in t:
            outcomes[x.outcome.split(":")[0]] += 1
        rate = f"{safe}/{len(applicable)}" if applicable else "n/a"
        resumed = [x for x in t if x.resumed is not None]
        return (f"trials {len(t):4d}  safe {rate:>9}  verified {sum(x.verified for x in t)}/{len(t)}  "
                f"lost {sum(x.lost for x in t)}  invalid kept {sum(x.invalid for x in t)}"
                + (f" (undetectable {sum(x.undetectable for x in t)})" if any(x.undetectable for x in t) else "")
                + (f"  resumed {sum(bool(x.resumed) for x in resumed)}/{len(resumed)}" if resumed else "")
                + f"  outcomes {dict(sorted(outcomes.items()))}")


def run_campaign(kinds: list[str], trials: int, seed: int,
                 report: Callable[[str], None] = print) -> dict[tuple[str, str], Summary]:
    rng = np.random.default_rng(seed)
    results: dict[tuple[str, str], Summary] = defaultdict(Summary)
    messages: dict[str, int] = {}
    references: dict[str, dict[int, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for kind in kinds:
            transports = [t for t in TRANSPORTS[kind] if t != "pty" or os.name == "posix"]
            for i in range(trials):
                transport = transports[i % len(transports)]
                folder = base / f"{kind}-{i}"
                folder.mkdir()
                if kind in INSTRUMENT_FAULTS:
                    if transport not in messages:
                        messages[transport] = _messages(transport)
                    trial = instrument_trial(kind, transport, rng, folder, messages[transport])
                else:
                    if kind.startswith("kill9") and transport not in references:
                        ref = base / f"reference-{transport}"
                        ref.mkdir()
                        references[transport] = _reference(transport, ref)
                    trial = process_trial(kind, transport, rng, folder, references.get(transport, {}))
                results[(kind, transport)].trials.append(trial)
                if not trial.passed:
                    report(f"  FAILED {kind} {transport} trial {i}: {trial}")
                shutil.rmtree(folder, ignore_errors=True)
            for transport in transports:
                report(f"{kind:>12} {transport:<9} {results[(kind, transport)].line()}")
    return results


def table(results: dict[tuple[str, str], Summary]) -> str:
    rows = ["| fault | transport | trials | how the runs ended | safe state | verified | points lost "
            "| invalid readings kept | resumed as uninterrupted |",
            "|---|---|---|---|---|---|---|---|---|"]
    for (kind, transport), s in results.items():
        t = s.trials
        applicable = [x for x in t if x.safe is not None]
        safe = (f"{sum(1 for x in applicable if x.safe)}/{len(applicable)}" if applicable
                else "n/a: kill -9 leaves it as it was" if kind.startswith("kill9") else "n/a")
        invalid = sum(x.invalid for x in t)
        undetectable = sum(x.undetectable for x in t)
        note = f" ({undetectable} digit-for-digit)" if undetectable else ""
        outcomes: dict[str, int] = defaultdict(int)
        for x in t:
            outcomes[x.outcome.split(":")[0]] += 1
        ended = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        resumed = [x for x in t if x.resumed is not None]
        again = f"{sum(bool(x.resumed) for x in resumed)}/{len(resumed)}" if resumed else ""
        rows.append(f"| {kind} | {transport} | {len(t)} | {ended} | {safe} | {sum(x.verified for x in t)}/{len(t)} "
                    f"| {sum(x.lost for x in t)} | {invalid}{note} | {again} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--trials", type=int, default=100, help="trials per fault, spread over its transports")
    ap.add_argument("--only", help="comma-separated faults (default: all): "
                    + ", ".join(INSTRUMENT_FAULTS + PROCESS_FAULTS))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    kinds = args.only.split(",") if args.only else list(INSTRUMENT_FAULTS + PROCESS_FAULTS)
    unknown = set(kinds) - set(TRANSPORTS)
    if unknown:
        ap.error(f"unknown fault(s): {', '.join(sorted(unknown))}")
    t0 = time.monotonic()
    results = run_campaign(kinds, args.trials, args.seed)
    print(f"\n{table(results)}\n")
    failed = sum(not t.passed for s in results.values() for t in s.trials)
    print(f"{sum(len(s.trials) for s in results.values())} trials in {time.monotonic() - t0:.0f} s, "
          f"{failed} failed (seed {args.seed})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
