"""Procedure templates for the common kinds of calibration.

A procedure on a template is a points table and a few lines: the
template declares the roles and their capabilities, judges each point by
the DUT's datasheet (its function, range and frequency, the procedure's
interval), builds the budget's inputs from the standards' datasheets and
the bench file, and takes the readings. Hazard prompts and configure
caching are the engine's (`ctx.apply`, `ctx.hold`, `ctx.configure`).

- `MeterAgainstSource`: a meter (DMM) reads what a source (calibrator) applies.
- `SourceAgainstMeter`: a source (a calibrator as the DUT) is measured by a
  reference meter.
- `ComparisonInEnvironment`: an indicator and a reference thermometer in a
  controlled environment (a dry-well, a bath), at setpoints in rising order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar, cast

import numpy as np

from drivers.datasheet import FunctionSheet
from drivers.roles import (
    Adjustable,
    Controller,
    Function,
    Indicator,
    Meter,
    Readout,
    SafeState,
    Source,
)
from station.errors import PlanRefused, ProcedureError
from station.metrology.budget import ENVIRONMENT, Inputs
from station.metrology.decision import NOT_CONFORMING
from station.metrology.result import PointResult
from station.procedure import (
    ABORT,
    AmbientLimits,
    Context,
    Observation,
    PlanView,
    PointPlan,
    Procedure,
    Role,
    TestPoint,
)

__all__ = ["ComparisonInEnvironment", "MeterAgainstSource", "SourceAgainstMeter"]

#: A row of a points table: (function, range, nominal) or (function, range, nominal, frequency).
Row = tuple[Function, float, float] | tuple[Function, float, float, float]


def _short(sheet: FunctionSheet, interval: str) -> str:
    ds = sheet.sheet
    return f"{ds.manufacturer} {ds.models[0]} {sheet.function.description}, {interval}"


def _within(sheet: FunctionSheet, value: float, what: str) -> None:
    if sheet.limits is not None and not sheet.limits[0] <= value <= sheet.limits[1]:
        lo, hi = sheet.limits
        raise PlanRefused(f"{value:g} {sheet.function.unit} is outside {what}'s range {lo:g} to {hi:g} "
                          f"{sheet.function.unit} ({sheet.datasheet}); remove the point or use another instrument")


class _Tabled(Procedure):
    """Points from a `table` of rows, and a prompt to the operator to
    (re)connect when a point needs another connection than the one before
    (`connections`: function -> text)."""

    table: ClassVar[Sequence[Row]]
    #: 23 C +/- 5 C: the temperature band of the 90-day and 1-year specifications.
    ambient_limits = AmbientLimits((18.0, 28.0), (20.0, 80.0))
    #: Integration time of the meter that reads, in power-line cycles.
    nplc: ClassVar[float]
    connections: ClassVar[Mapping[Function, str]] = {}
    #: A picture per function shown with its connection prompt: a file beside
    #: the procedure's module (e.g. "images/leads-volts.png").
    connection_images: ClassVar[Mapping[Function, str]] = {}
    #: The role whose output must be off while the operator changes leads.
    output_role: ClassVar[str] = ""

    #: Adjust the DUT when an as-found point fails or its error exceeds this
    #: fraction of its tolerance (None: no adjustment, as-found points only).
    adjust_threshold: ClassVar[float | None] = None

    def __init__(self, readings: int = 10, settle_s: float = 2.0) -> None:
        self.readings = readings
        self.settle_s = settle_s

    def points(self) -> Sequence[TestPoint]:
        found = [TestPoint(row[0], row[1], row[2], self.readings, self.settle_s, nplc=self.nplc,
                           frequency=row[3] if len(row) > 3 else 0.0) for row in self.table]
        if self.adjust_threshold is None:
            return found
        return found + [replace(p, phase="as_left") for p in found]

    def setup(self, ctx: Context) -> None:
        self._connection: str | None = None

    def connect(self, ctx: Context, function: Function) -> None:
        text = self.connections.get(function)
        if text is None or text == self._connection:
            return
        if self._connection is not None and self.output_role:
            ctx.source(self.output_role).standby()
        ctx.prompt("Connect the leads", text, image=self.connection_images.get(function, ""))
        self._connection = text


class MeterAgainstSource(_Tabled):
    """A meter (the DUT) reads what a source (the standard) applies.

    Subclasses set `table` (rows of function, DUT range, nominal[,
    frequency]), `nplc` and `connections`; the DUT is judged by its
    datasheet's `dut_interval` specification on the point's function and
    range."""

    roles = {
        "standard": Role((Source,), "a source of the points' functions (a multifunction calibrator)"),
        "dut": Role((Meter,), "the meter calibrated"),
    }
    measurement = "meter"
    output_role = "standard"
    simulated_bench = "dmm-calibrator"
    nplc = 10.0

    def plan(self, view: PlanView, point: TestPoint) -> PointPlan:
        meter = cast(Meter, view.instrument(self.dut_role))  # the plan check matched its capabilities
        dut = view.datasheet(self.dut_role).function(point.function)
        if not dut.has_range(point.range):
            raise PlanRefused(f"the DUT has no {point.range:g} {point.unit} range (it has "
                              f"{', '.join(f'{r:g}' for r in dut.ranges)}); fix the procedure")
        if abs(point.nominal) > point.range * dut.overrange:
            raise PlanRefused(f"exceeds the DUT's {point.range:g} {point.unit} range; fix the procedure")
        digit = meter.resolution_for(point.function, point.range, point.nplc)
        spec = dut.spec(self.dut_interval)
        ambient = view.ambient()
        tolerance = point.tolerance if point.tolerance is not None else (
            spec.half_width(point.nominal, point.range, point.frequency, digit) + dut.noise(point.range, point.nplc)
            + dut.tempco_extra(point.nominal, point.range, ambient))
        std_sheet = view.datasheet(self.standard_role).function(point.function)
        _within(std_sheet, point.nominal, "the standard")
        interval = view.interval(self.standard_role)
        half = (std_sheet.spec(interval).half_width(point.nominal, None, point.frequency)
                + std_sheet.tempco_extra(point.nominal, None, ambient))
        return PointPlan(tolerance, _short(dut, self.dut_interval),
                         Inputs(**view.standard(self.standard_role, half, point.nominal), dut_digit=digit),
                         digit=digit)

    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        self.connect(ctx, point.function)
        ctx.configure(self.dut_role, point.function, point.range, point.nplc)
        reference = ctx.apply(self.standard_role, point.function, point.nominal, dwell_s=point.settle_s,
                              frequency=point.frequency)
        return ctx.read(self.dut_role, point.readings, reference)

    def adjustment_points(self) -> list[tuple[Function, float, float]]:
        """Where the DUT is adjusted: for each function and range of the
        table (DC functions only), its zero if the table has one, then its
        largest positive value (offset first, then gain)."""
        out: list[tuple[Function, float, float]] = []
        for function, range_ in dict.fromkeys((row[0], row[1]) for row in self.table):
            if function.is_ac:
                continue
            values = [row[2] for row in self.table if (row[0], row[1]) == (function, range_)]
            if 0.0 in values:
                out.append((function, range_, 0.0))
            if max(values) > 0:
                out.append((function, range_, max(values)))
        return out

    def adjust(self, ctx: Context, as_found: Sequence[PointResult]) -> bool:
        """Adjust when an as-found point is not conforming or its error is
        beyond `adjust_threshold` of its tolerance, the DUT can be adjusted
        (`Adjustable`) and the operator agrees; at `adjustment_points`."""
        threshold = self.adjust_threshold if self.adjust_threshold is not None else 1.0
        needing = [p.index + 1 for p in as_found
                   if p.decision in NOT_CONFORMING or abs(p.error) > threshold * p.tolerance]
        if not needing:
            ctx.log(f"no as-found point needs adjustment (every error within {threshold:g} of its tolerance)")
            return False
        dut = ctx.instrument(self.dut_role)
        if not isinstance(dut, Adjustable):
            ctx.log("the DUT's driver cannot adjust it: as-left points not taken")
            return False
        shown = ", ".join(map(str, needing[:10])) + (" ..." if len(needing) > 10 else "")
        answer = ctx.prompt(
            "Adjust the DUT",
            f"As-found point(s) {shown} are beyond {threshold:g} of their tolerance. Adjust the DUT now "
            "(its calibration adjustment at " + ", ".join(f"{v:g} {f.unit} on the {r:g} {f.unit} range"
                                                          for f, r, v in self.adjustment_points())
            + "), then take the as-left points?", choices=("Adjust", "Skip", ABORT))
        if answer != "Adjust":
            return False
        for function, range_, value in self.adjustment_points():
            self.connect(ctx, function)
            ctx.configure(self.dut_role, function, range_, self.nplc)
            applied = ctx.apply(self.standard_role, function, value, dwell_s=self.settle_s)
            dut.adjust(function, range_, applied)
            ctx.log(f"adjusted {function} on the {range_:g} {function.unit} range at {applied:g} {function.unit}")
        return True


class SourceAgainstMeter(_Tabled):
    """A source (the DUT) is measured by a reference meter (the standard).

    Subclasses set `table` (rows of function, DUT range or 0, nominal[,
    frequency]); the reference meter takes each point on its smallest
    range that holds it, at `nplc`."""

    roles = {
        "standard": Role((Meter,), "a reference meter of the points' functions"),
        "dut": Role((Source,), "the source calibrated"),
    }
    measurement = "source"
    output_role = "dut"
    nplc = 100.0

    def _standard_range(self, sheet: FunctionSheet, value: float) -> float:
        return sheet.range_for(value)

    def plan(self, view: PlanView, point: TestPoint) -> PointPlan:
        meter = cast(Meter, view.instrument(self.standard_role))  # the plan check matched its capabilities
        dut = view.datasheet(self.dut_role).function(point.function)
        _within(dut, point.nominal, "the DUT")
        spec = dut.spec(self.dut_interval)
        tolerance = point.tolerance if point.tolerance is not None else spec.half_width(
            point.nominal, point.range or None, point.frequency)
        std_sheet = view.datasheet(self.standard_role).function(point.function)
        rng = self._standard_range(std_sheet, point.nominal)
        digit = meter.resolution_for(point.function, rng, point.nplc)
        half = std_sheet.spec(view.interval(self.standard_role)).half_width(
            point.nominal, rng, point.frequency, digit)
        return PointPlan(tolerance, _short(dut, self.dut_interval),
                         Inputs(**view.standard(self.standard_role, half, point.nominal), standard_digit=digit),
                         digit=digit)

    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        self.connect(ctx, point.function)
        meter = ctx.meter(self.standard_role)
        rng = next((r for r in meter.ranges(point.function) if abs(point.nominal) <= r * (1 + 1e-12)),
                   meter.ranges(point.function)[-1])
        ctx.configure(self.standard_role, point.function, rng, point.nplc)
        applied = ctx.apply(self.dut_role, point.function, point.nominal, dwell_s=point.settle_s,
                            frequency=point.frequency)
        values, times = ctx.take(self.standard_role, point.readings)
        empty = np.zeros(0)
        return Observation(applied, empty, empty, values, times)


class ComparisonInEnvironment(Procedure):
    """An indicator (the DUT) against a reference thermometer (a readout
    and its probe, the standard) in a controlled environment (a dry-well,
    a bath), at `setpoints` in rising order: each reached and judged
    stable by the controller, soaked `settle_s`, then `readings` of the
    reference and the DUT taken alternately.

    The DUT is judged by `tolerance` (+/-, in the function's unit) when
    set, otherwise by its datasheet's `dut_interval` specification."""

    roles = {
        "well": Role((Controller, SafeState), "the controlled environment (a dry-well, a bath)"),
        "reference": Role((Readout,), "the reference thermometer readout, its probe in the environment"),
        "dut": Role((Indicator,), "the indicator calibrated, its probe in the environment"),
    }
    standard_role = "reference"
    environment_role: ClassVar[str] = "well"
    ambient_limits = AmbientLimits((18.0, 28.0), (20.0, 80.0))
    measurement = "comparison"
    function: ClassVar[Function] = Function.TEMP
    setpoints: ClassVar[Sequence[float]]
    tolerance: ClassVar[float | None] = None
    #: How long the environment may take to become stable at a setpoint (bench-clock seconds).
    stabilise_timeout_s: ClassVar[float] = 3 * 3600.0
    reference_channel: ClassVar[int] = 1

    def __init__(self, readings: int = 10, settle_s: float = 600.0) -> None:
        self.readings = readings
        self.settle_s = settle_s

    def points(self) -> Sequence[TestPoint]:
        steps = list(self.setpoints)
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise ProcedureError(f"procedure {self.name}: its setpoints {steps} are not in rising order "
                                 "(a comparison approaches every point from below); sort them")
        return [TestPoint(self.function, 0.0, t, self.readings, self.settle_s, nplc=0.0,
                          tolerance=self.tolerance) for t in steps]

    def plan(self, view: PlanView, point: TestPoint) -> PointPlan:
        env = view.datasheet(self.environment_role).function(point.function)
        _within(env, point.nominal, "the environment")
        figures = {key: env.figure(key, point.nominal) for key, _ in ENVIRONMENT if key in env.performance}
        readout = view.datasheet(self.standard_role).function(point.function)
        half = readout.spec(view.interval(self.standard_role)).half_width(point.nominal)
        correction, U, k = view.probe(self.standard_role)
        dut = view.datasheet(self.dut_role).function(point.function)
        _within(dut, point.nominal, "the DUT")
        digit = dut.digit(0.0)
        if point.tolerance is not None:
            tolerance, spec = point.tolerance, f"+/-{point.tolerance:g} {point.unit} (procedure {self.name})"
        else:
            tolerance = dut.spec(self.dut_interval).half_width(point.nominal, None, 0.0, digit)
            spec = _short(dut, self.dut_interval)
        inputs = Inputs(**view.standard(self.standard_role, half, point.nominal), standard_digit=readout.digit(0.0),
                        dut_digit=digit, probe_uncertainty=U, probe_k=k, environment=figures)
        return PointPlan(tolerance, spec, inputs, correction=correction, digit=digit)

    def setup(self, ctx: Context) -> None:
        ctx.prompt("Insert the probes",
                   "Insert the reference probe and the DUT's probe side by side to the bottom of the "
                   "well's insert, in adjacent holes of the same diameter as the probes.")
        readout = ctx.instrument(self.standard_role)
        assert isinstance(readout, Readout)
        readout.select_channel(self.reference_channel)

    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        ctx.hold(self.environment_role, point.function, point.nominal, self.stabilise_timeout_s,
                 dwell_s=point.settle_s)
        n = point.readings
        ref, ref_t = np.empty(n), np.empty(n)
        dut, dut_t = np.empty(n), np.empty(n)
        for k in range(n):
            v, t = ctx.take(self.standard_role, 1)
            ref[k], ref_t[k] = v[0], t[0]
            v, t = ctx.take(self.dut_role, 1)
            dut[k], dut_t[k] = v[0], t[0]
        return Observation(point.nominal, dut, dut_t, ref, ref_t)
