"""What evaluating a point costs, with and without the Monte Carlo method
of GUM Supplement 1 (`station.metrology.montecarlo.propagate`).

10 000 DC voltage points of a 34401A (10 V range, NPLC 10: 10 uV digit,
1-year specification) read ten times against a 5522A (90-day
specification, rectangular), -10 V to +10 V; the readings are generated
beforehand (Gaussian, s = 3 uV), the type B components once per point
before the clock starts (as the plan check does). Three ways, each timed
over all the points:

- bare: the mean and standard deviation of the readings alone
  (`station.metrology.uncertainty.mean_and_std`);
- GUM: the point as the engine evaluates it
  (`station.metrology.result.evaluate` with the ``meter`` budget of
  `station.metrology.budget.MODELS`) and its ``/budget`` rows
  (`station.runfile.writer.budget_rows`);
- GUM + Monte Carlo: the same, and `propagate` on the point's budget
  (p = 0.95, tolerance_digits = 2), with a generator made per point from
  the run's seed and the point's index (so that a recorded point can be
  re-derived bit for bit).

Prints microseconds per point for each and the ratio to bare, the Monte
Carlo's average number of trials (and its range), how many points
converged, and how the GUM's U = k u_c compares with the Monte Carlo's
95 % interval on these rectangular-dominated budgets. Bare and GUM run
``--repeat`` times and the best run is reported; the Monte Carlo, which
takes seconds, ``--mc-repeat`` times (default once).

    .venv/bin/python benchmarks/evaluate.py [--points 10000] [--repeat 5] [--mc-repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import NamedTuple

import numpy as np

from drivers import registry
from drivers.roles import Function
from station.metrology.budget import MODELS, Component, Distribution, Inputs
from station.metrology.decision import DecisionRule
from station.metrology.montecarlo import MonteCarlo, propagate
from station.metrology.result import Measured, evaluate
from station.metrology.uncertainty import mean_and_std
from station.runfile.writer import budget_rows

READINGS = 10
RANGE = 10.0
NPLC = 10.0
NOISE = 3e-6  # V, the DUT's reading-to-reading standard deviation
SEED = 20080101  # the run's seed
PROBABILITY = 0.95
TOLERANCE_DIGITS = 2
MODEL = MODELS["meter"]
RULE = DecisionRule.parse("simple-acceptance")


class Point(NamedTuple):
    number: int  # the point's index
    nominal: float
    readings: list[float]
    tolerance: float  # the DUT's 1-year limit
    type_b: list[Component]


def points(n: int) -> list[Point]:
    """The points, their readings and their type B components (plan time, not timed)."""
    dut = registry.datasheet("keysight-34401a").function(Function.DCV)
    std = registry.datasheet("fluke-5522a").function(Function.DCV).spec("90d")
    digit = dut.digit(RANGE, NPLC)
    rng = np.random.default_rng(SEED)
    out = []
    for i in range(n):
        nominal = round(-10.0 + 20.0 * i / (n - 1), 6)
        readings = [float(x) for x in nominal + 4e-6 + NOISE * rng.standard_normal(READINGS)]
        tolerance = dut.spec("1y").half_width(nominal, RANGE, 0.0, digit)
        inputs = Inputs(std.half_width(nominal, None, 0.0), Distribution.RECTANGULAR, dut_digit=digit)
        out.append(Point(i, nominal, readings, tolerance, MODEL.type_b(inputs)))
    return out


def bare(pts: list[Point]) -> float:
    """Seconds per point: the mean and standard deviation of the readings."""
    t0 = time.perf_counter()
    for p in pts:
        mean_and_std(p.readings)
    return (time.perf_counter() - t0) / len(pts)


def gum(pts: list[Point], mc: list[MonteCarlo] | None = None,
        expanded: list[float] | None = None) -> float:
    """Seconds per point: `evaluate` and `budget_rows`, and `propagate` when ``mc`` collects its results."""
    t0 = time.perf_counter()
    for p in pts:
        result, budget = evaluate(p.number, "DCV", "V", RANGE, p.nominal, 0.0, Measured(p.nominal, p.readings, ()),
                                  p.tolerance, MODEL, p.type_b, RULE, "as-found", 0.0, 1.0)
        budget_rows(p.number, budget.components)
        if mc is not None:
            mc.append(propagate(budget.components, PROBABILITY, rng=np.random.default_rng((SEED, p.number)),
                                tolerance_digits=TOLERANCE_DIGITS))
            if expanded is not None:
                expanded.append(result.expanded_uncertainty)
    return (time.perf_counter() - t0) / len(pts)


def generators(pts: list[Point]) -> float:
    """Seconds per point to make the per-point generator alone (part of the Monte Carlo's figure)."""
    t0 = time.perf_counter()
    for p in pts:
        np.random.default_rng((SEED, p.number))
    return (time.perf_counter() - t0) / len(pts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mc-repeat", type=int, default=1)
    args = ap.parse_args(argv)
    pts = points(args.points)
    print(f"points: {args.points}, readings per point: {READINGS}, best of {args.repeat} "
          f"(Monte Carlo: best of {args.mc_repeat}), p = {PROBABILITY}, tolerance_digits = {TOLERANCE_DIGITS}")
    b = min(bare(pts) for _ in range(args.repeat))
    g = min(gum(pts) for _ in range(args.repeat))
    runs = []
    for _ in range(args.mc_repeat):
        mc: list[MonteCarlo] = []
        expanded: list[float] = []
        runs.append((gum(pts, mc, expanded), mc, expanded))
    m, mc, expanded = min(runs, key=lambda r: r[0])
    gen = min(generators(pts) for _ in range(args.repeat))
    print(f"{'bare':>16}: {b * 1e6:9.1f} us/point (mean and standard deviation of the readings)")
    print(f"{'GUM':>16}: {g * 1e6:9.1f} us/point, ratio {g / b:7.1f} (evaluate + /budget rows)")
    print(f"{'GUM + MC':>16}: {m * 1e6:9.1f} us/point, ratio {m / b:7.1f}, added {(m - g) * 1e6:8.1f} us/point "
          f"(of which {gen * 1e6:.1f} us making the point's generator)")
    trials = [r.trials for r in mc]
    converged = sum(r.converged for r in mc)
    ratio = [u / r.half_width for u, r in zip(expanded, mc, strict=True)]
    print(f"{'':>16}  trials: average {statistics.fmean(trials):,.0f}, median {statistics.median(trials):,.0f}, "
          f"{min(trials):,} to {max(trials):,}; converged {converged} of {len(mc)}; "
          f"{(m - g) / statistics.fmean(trials) * 1e9:.0f} ns a trial")
    print(f"{'':>16}  GUM U (k = 2) / Monte Carlo 95 % half-width: median {statistics.median(ratio):.3f}, "
          f"{min(ratio):.3f} to {max(ratio):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
