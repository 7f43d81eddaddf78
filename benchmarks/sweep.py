"""What the engine and the run file cost per point.

A 2000-point DC voltage sweep (10 readings a point, no settling) on the
in-process simulated bench, twice:

- bare: the same driver calls in a plain loop (set output, operate, wait
  settled, take the readings), no I/O log, no evaluation, no file;
- engine: the same points through `Engine` with the full run file (every
  byte logged, every point evaluated and flushed to disk).

and in two ways of reading: ``single`` (10 x ``READ?``, each reading
timestamped: 14 exchanges a point) and ``block`` (``SAMP:COUN 10`` once,
one ``READ?`` a point: 5 exchanges a point).

Prints microseconds per point for each and their difference. Target: the
engine and run file add less than 50 us per point. Each variant runs
``--repeat`` times; the best run of each is reported (least disturbed by
the rest of the machine).

A run also has costs that do not grow with its points (opening and
identifying the instruments, checking the plan, creating the file and
setting its final status on a copy). The average above spreads them over
the 2000 points; the sweep is therefore also run with a tenth of the
points, and the difference gives the cost of one more point (marginal) and
the cost of the run itself (fixed), printed on a second line. A third
line gives the cost per point when the file is synced to the disk after
every point, against the default (a sync at most once a second, and at
the end).

    .venv/bin/python benchmarks/sweep.py [--points 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from drivers.fluke.f5522a import Fluke5522A
from drivers.keysight.k34401a import Keysight34401A
from drivers.roles import Function
from drivers.transport import open_transport
from station.engine import Engine
from station.procedure import Context, Observation, TestPoint
from station.prompts import AutoAnswer
from station.runfile import writer
from station.simulated import SimulatedStation, demo_job
from station.templates import MeterAgainstSource

READINGS = 10


def nominals(n: int) -> list[float]:
    return [round(-10.0 + 20.0 * i / (n - 1), 6) for i in range(n)]


class Sweep(MeterAgainstSource):
    name = "benchmark-dcv-sweep"
    version = "1"
    title = "Benchmark sweep"
    method = "benchmark"
    nplc = 1.0

    def __init__(self, n: int, block: bool) -> None:
        super().__init__(READINGS, 0.0)
        self.n = n
        self.block = block

    def points(self) -> Sequence[TestPoint]:
        return [TestPoint(Function.DCV, 10.0, v, READINGS, 0.0, nplc=self.nplc) for v in nominals(self.n)]

    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        ctx.configure("dut", point.function, point.range, point.nplc)
        ref = ctx.apply("standard", point.function, point.nominal)
        return ctx.read("dut", point.readings, ref, block=self.block)


def bare(n: int, block: bool) -> float:
    """Seconds per point for the driver calls alone."""
    with SimulatedStation(bench_options={"settle_time_s": 0.0}) as sim:
        cal = Fluke5522A(open_transport("sim://calibrator", name="standard", simulators=sim.simulators), sim.clock)
        dmm = Keysight34401A(open_transport("sim://dmm", name="dut", simulators=sim.simulators), sim.clock)
        cal.initialize()
        dmm.initialize()
        dmm.configure(Function.DCV, 10.0, 1.0)
        points = nominals(n)
        t0 = time.perf_counter()
        for v in points:
            cal.set_output(Function.DCV, v)
            cal.operate()
            cal.wait_settled(60.0)
            values = dmm.read_many(READINGS) if block else [dmm.read() for _ in range(READINGS)]
            assert len(values) == READINGS
        elapsed = time.perf_counter() - t0
        cal.safe_state()
    return elapsed / n


def engine(n: int, block: bool, folder: Path, k: int) -> float:
    """Seconds per point through the engine, run file included."""
    with SimulatedStation(bench_options={"settle_time_s": 0.0}) as sim:
        e = Engine(Sweep(n, block), sim.bench(), demo_job(), folder / f"sweep-{k}.h5", prompts=AutoAnswer(),
                   clock=sim.clock, simulators=sim.simulators)
        t0 = time.perf_counter()
        outcome = e.run()
        elapsed = time.perf_counter() - t0
    assert outcome.status == "completed" and outcome.points == n, outcome
    return elapsed / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"points: {args.points}, readings per point: {READINGS}, best of {args.repeat}")
    n, m = args.points, max(2, args.points // 10)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (mode, block) in enumerate((("single", False), ("block", True))):
            b = min(bare(n, block) for _ in range(args.repeat))
            e = min(engine(n, block, Path(tmp), k * 100 + i) for i in range(args.repeat))
            size = (Path(tmp) / f"sweep-{k * 100}.h5").stat().st_size
            print(f"{mode:>6}: bare {b * 1e6:6.1f} us/point, engine + run file {e * 1e6:6.1f} us/point, "
                  f"added {(e - b) * 1e6:5.1f} us/point (target < 50), ratio {e / b:4.2f}, "
                  f"file {size / n:.0f} bytes/point")
            b_m = min(bare(m, block) for _ in range(args.repeat))
            e_m = min(engine(m, block, Path(tmp), k * 100 + 50 + i) for i in range(args.repeat))
            marginal_b = (b * n - b_m * m) / (n - m)
            marginal_e = (e * n - e_m * m) / (n - m)
            fixed = (e * n - marginal_e * n) - (b * n - marginal_b * n)
            print(f"{'':>6}  one more point: bare {marginal_b * 1e6:6.1f} us, engine + run file "
                  f"{marginal_e * 1e6:6.1f} us, added {(marginal_e - marginal_b) * 1e6:5.1f} us; "
                  f"fixed cost of a run added {fixed * 1e3:5.1f} ms")
            every = writer.SYNC_INTERVAL_S
            writer.SYNC_INTERVAL_S = 0.0  # an fsync after every point, for comparison
            try:
                e_s = min(engine(n // 4, block, Path(tmp), k * 100 + 80 + i) for i in range(args.repeat))
            finally:
                writer.SYNC_INTERVAL_S = every
            print(f"{'':>6}  with an fsync after every point (not the default: at most one a second) "
                  f"{e_s * 1e6:7.1f} us/point, {(e_s - e) * 1e6:+.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
