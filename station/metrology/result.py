"""The evaluated point: what one row of ``/points`` holds, and how it is
derived from the raw readings and the point's recorded budget."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import NamedTuple

from station.metrology.budget import Budget, Component, Model, combine
from station.metrology.budget import rederive as rederive_budget
from station.metrology.decision import (
    Decision,
    DecisionRule,
    decide,
    exact,
    limits,
    probability_of_conformity,
    tur,
)
from station.metrology.uncertainty import mean_and_std


class PointResult(NamedTuple):
    """One evaluated point: one row of ``/points``, in the same field order.

    Values in ``unit``; limits apply to the indication. The point's budget
    is in ``/budget`` (`station.metrology.budget`). Immutable (a named
    tuple: made once per point on the hot path, and written as one row).
    """

    index: int  # type: ignore[assignment]  # the point's index; shadows tuple.index, unused
    function: str
    range: float
    nominal: float
    frequency: float  # Hz, AC points; 0 for DC
    unit: str
    reference: float  # the reference value: applied by a source, or the mean of a reference's readings + correction
    indication: float  # the DUT's: mean of its readings, or its setting (a source)
    error: float  # indication - reference
    lower_limit: float  # tolerance limits of the indication
    upper_limit: float
    expanded_uncertainty: float  # U = k u_c, unrounded
    coverage_factor: float
    tur: float
    decision: Decision
    phase: str
    n: int  # readings averaged (the DUT's, or the reference's when the DUT is a source)
    std_dev: float  # experimental standard deviation of those readings
    correction: float  # added to the mean of the reference's readings (its certificate's correction)
    p_conform: float  # probability that the true value lies within the limits (JCGM 106, normal)
    gum_expanded: float  # the GUM's U = k u_c (k Student's t for 95.45 %, nu_eff rounded down)
    mc_low: float  # Monte Carlo (GUM S1) shortest 95 % interval of the error, relative to it (NaN: not run)
    mc_high: float
    mc_trials: int  # its trials (0: not run)
    u_combined: float
    nu_eff: float
    guard_band: float
    t_start: float
    t_end: float
    label: str = ""

    @property
    def tolerance(self) -> float:
        return (self.upper_limit - self.lower_limit) / 2.0


#: The methods of evaluating the expanded uncertainty a run may choose.
METHODS = ("gum", "monte-carlo")
#: The coverage probability of the Monte Carlo method's interval (GUM S1 practice).
MC_PROBABILITY = 0.95


def _expanded(budget: Budget, method: str, seed: int, index: int) -> tuple[float, float, float, float, int]:
    """(U, k, mc_low, mc_high, mc_trials) by the run's method: the GUM's
    k u_c, or the half-width of the smallest symmetric interval holding the
    Monte Carlo method's shortest 95 % interval (its generator seeded from
    the run's seed and the point's index, so verify draws the same)."""
    if method != "monte-carlo":
        return budget.expanded, budget.k, math.nan, math.nan, 0
    import numpy as np

    from station.metrology.montecarlo import propagate

    mc = propagate(budget.components, MC_PROBABILITY, rng=np.random.default_rng((seed, index)))
    U = max(-mc.low, mc.high)
    return U, (U / budget.u_c if budget.u_c > 0 else math.nan), mc.low, mc.high, mc.trials


class Measured(NamedTuple):
    """What a point observed: the DUT's readings (none for a source DUT)
    and the reference's (none when a source applies the reference value)."""

    applied: float  # the value a source was set to (the standard's, or the DUT's)
    dut: Sequence[float]
    reference: Sequence[float]
    correction: float = 0.0
    #: A single reading's repeatability from an earlier evaluation: (s, dof).
    stored: tuple[float, float] | None = None


def exact_mean(values: Sequence[float]) -> float:
    """The mean of ``values`` computed in decimal arithmetic on the
    readings as they were read (`exact`), rounded once to a float: the mean
    of readings on the meter's display grid that all equal a limit is
    exactly that limit."""
    with localcontext() as ctx:
        ctx.prec = 50
        return float(sum((exact(v) for v in values), Decimal(0)) / len(values))


def _spread(values: Sequence[float]) -> float:
    """The experimental standard deviation (NaN for a single reading)."""
    return mean_and_std(values)[1] if len(values) >= 2 else math.nan


def indication_and_reference(m: Measured) -> tuple[float, float, int, float]:
    """(indication, reference, n, s): means of the readings where there are
    readings (`exact_mean`), the applied value where there are none."""
    if m.dut:
        s = _spread(m.dut)
        indication, n = exact_mean(m.dut), len(m.dut)
    else:
        indication, s, n = m.applied, 0.0, 0
    if m.reference:
        s_ref = _spread(m.reference)
        with localcontext() as ctx:
            ctx.prec = 50
            reference = float(exact(exact_mean(m.reference)) + exact(m.correction))
        if not m.dut:
            s, n = s_ref, len(m.reference)
    else:
        reference = m.applied
    return indication, reference, n, s


def _judge(indication: float, reference: float, tolerance: float | None, lower: float, upper: float,
           U: float, u_c: float, rule: DecisionRule) -> tuple[float, float, float, Decision, float]:
    """(lower, upper, w, decision, p_conform): the limits reference -/+
    tolerance computed exactly and rounded once to floats (or the given
    ones, ``tolerance`` None), and the decision on their exact values."""
    if tolerance is not None:
        lo, hi = limits(reference, tolerance)
        lower, upper = float(lo), float(hi)
    w = rule.guard_band(U)
    decision = decide(indication, lower, upper, w, rule)
    return lower, upper, w, decision, probability_of_conformity(indication, lower, upper, u_c)


def evaluate(
    index: int,
    function: str,
    unit: str,
    range_: float,
    nominal: float,
    frequency: float,
    measured: Measured,
    tolerance: float,
    model: Model,
    type_b: Sequence[Component],
    rule: DecisionRule,
    phase: str,
    t_start: float,
    t_end: float,
    label: str = "",
    method: str = "gum",
    seed: int = 0,
) -> tuple[PointResult, Budget]:
    """The point from its readings: ``tolerance`` is the DUT's
    specification limit (+/-) at the point, ``type_b`` the model's type B
    components for it (from the plan)."""
    indication, reference, n, s = indication_and_reference(measured)
    budget = combine(list(type_b) + model.repeatability(measured.dut, measured.reference, measured.stored))
    U, k, mc_low, mc_high, trials = _expanded(budget, method, seed, index)
    lower, upper, w, decision, p = _judge(indication, reference, tolerance, 0.0, 0.0, U, budget.u_c, rule)
    result = PointResult(
        index=index, function=function, range=range_, nominal=nominal, frequency=frequency, unit=unit,
        reference=reference, indication=indication, error=indication - reference,
        lower_limit=lower, upper_limit=upper, expanded_uncertainty=U, coverage_factor=k,
        tur=tur(lower, upper, U), decision=decision, phase=phase, n=n,
        std_dev=s, correction=measured.correction, p_conform=p, gum_expanded=budget.expanded,
        mc_low=mc_low, mc_high=mc_high, mc_trials=trials, u_combined=budget.u_c, nu_eff=budget.nu_eff,
        guard_band=w, t_start=t_start, t_end=t_end, label=label,
    )
    return result, budget


def rederive(recorded: PointResult, budget: Sequence[Component], dut: Sequence[float],
             reference: Sequence[float], rule: DecisionRule, method: str = "gum", seed: int = 0) -> PointResult:
    """The point as its raw readings imply it: indication, reference,
    error, type A terms, combined and expanded uncertainty, k, TUR, guard
    band and decision recomputed from the raw readings with the recorded
    type B components, correction and tolerance limits, by the same
    arithmetic as `evaluate`. Equal to ``recorded``, field for field, for
    an unaltered record."""
    applied = recorded.indication if not dut else recorded.reference
    indication, ref, n, s = indication_and_reference(Measured(applied, dut, reference, recorded.correction))
    b = rederive_budget(budget, dut, reference)
    U, k, mc_low, mc_high, trials = _expanded(b, method, seed, recorded.index)
    lower, upper, w, decision, p = _judge(indication, ref, None, recorded.lower_limit, recorded.upper_limit,
                                          U, b.u_c, rule)
    return recorded._replace(
        indication=indication, reference=ref, error=indication - ref, n=n, std_dev=s,
        u_combined=b.u_c, nu_eff=b.nu_eff, coverage_factor=k, expanded_uncertainty=U,
        tur=tur(lower, upper, U), guard_band=w, decision=decision, p_conform=p, gum_expanded=b.expanded,
        mc_low=mc_low, mc_high=mc_high, mc_trials=trials,
    )


def planned_tur(tolerance: float, type_b: Sequence[Component]) -> float:
    """TUR before the run: the type B components (no repeatability yet),
    with k = 2."""
    U = 2.0 * combine(type_b).u_c
    return tur(-tolerance, tolerance, U)


def differences(recorded: PointResult, derived: PointResult) -> list[str]:
    """The fields in which two results differ (exactly; NaN equals NaN)."""
    out = []
    for name, a, b in zip(PointResult._fields, recorded, derived, strict=True):
        same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
        if not same:
            out.append(name)
    return out
