"""The evaluated point: what one row of ``/points`` holds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from drivers.roles import Function
from station.metrology.decision import Decision, DecisionRule, decide, tur
from station.metrology.specs import AccuracySpec, Distribution
from station.metrology.uncertainty import (
    Budget,
    Component,
    combine,
    dmm_point_budget,
    mean_and_std,
    repeatability,
)


class PointResult(NamedTuple):
    """One evaluated point: one row of ``/points``, in the same field order.

    Values in ``unit``; limits apply to the indication. Immutable (a named
    tuple: made once per point on the hot path, and written as one row).
    """

    index: int  # type: ignore[assignment]  # the point's index; shadows tuple.index, unused
    function: str
    range: float
    nominal: float
    unit: str
    reference: float  # value applied by the standard
    indication: float  # mean of the DUT's readings
    error: float  # indication - reference
    lower_limit: float  # tolerance limits of the indication
    upper_limit: float
    expanded_uncertainty: float  # U = k u_c, unrounded
    coverage_factor: float
    tur: float
    decision: Decision
    phase: str
    n: int  # readings averaged
    std_dev: float  # experimental standard deviation of the readings
    u_standard: float  # standard uncertainties of the budget's components
    u_resolution: float
    u_repeatability: float
    u_combined: float
    nu_eff: float
    guard_band: float
    t_start: float
    t_end: float
    label: str = ""

    @property
    def tolerance(self) -> float:
        return (self.upper_limit - self.lower_limit) / 2.0


@dataclass(frozen=True)
class PointSpec:
    """What the evaluation of a point needs besides the readings."""

    dut: AccuracySpec
    standard: AccuracySpec
    standard_distribution: Distribution
    rule: DecisionRule


def evaluate(
    index: int,
    function: Function,
    range_: float,
    nominal: float,
    reference: float,
    values: list[float],
    resolution: float,
    spec: PointSpec,
    phase: str,
    t_start: float,
    t_end: float,
    label: str = "",
) -> tuple[PointResult, Budget]:
    tol = spec.dut.half_width(reference, range_)
    std_tol = spec.standard.half_width(reference)
    mean, s, budget = dmm_point_budget(values, std_tol, spec.standard_distribution, resolution)
    U = budget.expanded
    lower, upper = reference - tol, reference + tol
    w = spec.rule.guard_band(U)
    c = budget.components
    result = PointResult(
        index=index,
        function=str(function),
        range=range_,
        nominal=nominal,
        unit=function.unit,
        reference=reference,
        indication=mean,
        error=mean - reference,
        lower_limit=lower,
        upper_limit=upper,
        expanded_uncertainty=U,
        coverage_factor=budget.k,
        tur=tur(lower, upper, U),
        decision=decide(mean, lower, upper, w),
        phase=phase,
        n=len(values),
        std_dev=s,
        u_standard=c[0].u,
        u_resolution=c[1].u,
        u_repeatability=c[2].u,
        u_combined=budget.u_c,
        nu_eff=budget.nu_eff,
        guard_band=w,
        t_start=t_start,
        t_end=t_end,
        label=label,
    )
    return result, budget


def planned_tur(range_: float, reference: float, resolution: float, spec: PointSpec) -> float:
    """TUR before the run: the standard and the DUT's resolution (no
    repeatability yet), with k = 2."""
    tol = spec.dut.half_width(reference, range_)
    u_std = spec.standard_distribution.standard_uncertainty(spec.standard.half_width(reference))
    u_res = resolution / 2.0 / 3**0.5
    U = 2.0 * (u_std**2 + u_res**2) ** 0.5
    return tur(reference - tol, reference + tol, U)


def rederive(recorded: PointResult, values: Sequence[float], rule: DecisionRule) -> PointResult:
    """The point as its raw readings imply it: indication, error, type A
    term, combined and expanded uncertainty, k, TUR, guard band and
    decision recomputed from ``values`` (the point's /raw/readings) with the
    recorded standard and resolution terms and tolerance limits, by the same
    arithmetic as `evaluate`. Equal to ``recorded``, field for field, for an
    unaltered record."""
    n = len(values)
    mean, s = mean_and_std(values)
    budget = combine((
        Component("standard", "", "", 0.0, recorded.u_standard, -1.0),
        Component("resolution", "", "", 0.0, recorded.u_resolution),
        repeatability(s, n),
    ))
    U = budget.expanded
    w = rule.guard_band(U)
    lower, upper = recorded.lower_limit, recorded.upper_limit
    return recorded._replace(
        indication=mean, error=mean - recorded.reference, n=n, std_dev=s,
        u_repeatability=budget.components[2].u, u_combined=budget.u_c, nu_eff=budget.nu_eff,
        coverage_factor=budget.k, expanded_uncertainty=U, tur=tur(lower, upper, U), guard_band=w,
        decision=decide(mean, lower, upper, w),
    )


def differences(recorded: PointResult, derived: PointResult) -> list[str]:
    """The fields in which two results differ (exactly; NaN equals NaN)."""
    out = []
    for name, a, b in zip(PointResult._fields, recorded, derived, strict=True):
        same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
        if not same:
            out.append(name)
    return out
