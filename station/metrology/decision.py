"""Decision rules (ILAC-G8:09/2019), exact comparisons, the test
uncertainty ratio and the probability of conformity.

Exact: a result is compared with its limits in decimal arithmetic, on the
numbers as they were measured and specified (each float taken at its
shortest decimal representation, `exact`), so that an indication on the
meter's display grid equal to a limit is ON the limit, whichever limit it
is. A result on a limit is inside the tolerance (and a result on an
acceptance limit is accepted): the certificate says so.

Rules, chosen per run and stored in the run file (`DecisionRule.parse`
reads what `str` writes):

- ``simple-acceptance`` (4.2.1): pass when the indication lies within the
  tolerance limits (guard band w = 0);
- ``guarded-acceptance r=R`` (4.2.2): pass when it lies within the limits
  reduced by w = R x U; fail otherwise (``guard-band-u``, from earlier runs,
  is R = 1);
- ``non-binary r=R`` (4.2.3): pass inside the limits reduced by w; conditional
  pass between there and the limits; conditional fail outside the limits
  but within w of them; fail beyond.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Literal

Decision = Literal["pass", "conditional pass", "conditional fail", "fail"]
#: Decisions that count as not conforming (the run's exit code, the verdict).
NOT_CONFORMING: tuple[Decision, ...] = ("fail", "conditional fail")

Kind = Literal["simple-acceptance", "guarded-acceptance", "non-binary"]
_PARSE = re.compile(r"(simple-acceptance|guarded-acceptance|non-binary)(?: r=([0-9.]+))?")


def exact(x: float | Decimal) -> Decimal:
    """``x`` as the decimal it was written as: a float's shortest
    representation (0.1 is 0.1, not 0.1000000000000000055...)."""
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


@dataclass(frozen=True)
class DecisionRule:
    """A decision rule of ILAC-G8:09/2019 with its guard band factor r
    (w = r x U)."""

    kind: Kind = "simple-acceptance"
    r: float = 0.0

    def __post_init__(self) -> None:
        if self.kind == "simple-acceptance" and self.r:
            raise ValueError("simple acceptance has no guard band")
        if self.kind != "simple-acceptance" and not 0 < self.r <= 3:
            raise ValueError(f"guard band factor r = {self.r:g}: give 0 < r <= 3")

    def __str__(self) -> str:
        return self.kind if self.kind == "simple-acceptance" else f"{self.kind} r={self.r:g}"

    @classmethod
    def parse(cls, text: str) -> DecisionRule:
        """The rule ``str(rule)`` wrote (and ``guard-band-u`` of format 2 files)."""
        if text == "guard-band-u":
            return cls("guarded-acceptance", 1.0)
        m = _PARSE.fullmatch(text.strip())
        if m is None:
            raise ValueError(f"unknown decision rule {text!r}")
        kind: Kind = m.group(1)  # type: ignore[assignment]
        return cls(kind, float(m.group(2)) if m.group(2) else 0.0)

    def guard_band(self, expanded_uncertainty: float) -> float:
        return 0.0 if self.kind == "simple-acceptance" else self.r * expanded_uncertainty

    @property
    def statement(self) -> str:
        on_limit = (" A result on a limit is taken to be within it; results are compared with the limits "
                    "exactly, as measured and as specified.")
        if self.kind == "simple-acceptance":
            return ("Simple acceptance (ILAC-G8:09/2019, 4.2.1, guard band w = 0): a result is a pass when "
                    "the measured value lies within the tolerance limits, otherwise a fail. For a result close "
                    "to a limit the probability of a false acceptance can be up to 50 %." + on_limit)
        w = "w = U" if self.r == 1 else f"w = {self.r:g} U"
        if self.kind == "guarded-acceptance":
            risk = " Probability of false acceptance at most 2.5 %." if self.r >= 1 else ""
            return (f"Guarded acceptance (ILAC-G8:09/2019, 4.2.2, guard band {w}, U the expanded "
                    "uncertainty): a result is a pass when the measured value lies within the tolerance limits "
                    f"reduced by w; otherwise it is a fail.{risk}" + on_limit)
        return (f"Non-binary statement (ILAC-G8:09/2019, 4.2.3, guard band {w}, U the expanded uncertainty): "
                "pass when the measured value lies within the tolerance limits reduced by w; conditional pass "
                "when it lies within the limits but not within the reduced limits; conditional fail when it "
                "lies outside the limits by no more than w; fail when it lies outside by more than w."
                + on_limit)


SIMPLE = DecisionRule()
GUARD_BAND_U = DecisionRule("guarded-acceptance", 1.0)


def decide(indication: float | Decimal, lower: float | Decimal, upper: float | Decimal,
           guard_band: float | Decimal, rule: DecisionRule = SIMPLE) -> Decision:
    """The decision, compared exactly (`exact`): inside [lower + w, upper - w]
    is a pass; for a binary rule everything else is a fail; for a
    non-binary one, within [lower, upper] a conditional pass, within w
    outside it a conditional fail, beyond a fail."""
    x, lo, hi, w = exact(indication), exact(lower), exact(upper), exact(guard_band)
    with localcontext() as ctx:
        ctx.prec = 50
        if lo + w <= x <= hi - w:
            return "pass"
        if rule.kind != "non-binary":
            return "fail"
        if lo <= x <= hi:
            return "conditional pass"
        if lo - w <= x <= hi + w:
            return "conditional fail"
        return "fail"


def limits(reference: float | Decimal, tolerance: float | Decimal) -> tuple[Decimal, Decimal]:
    """The tolerance limits reference -/+ tolerance, exactly."""
    ref, tol = exact(reference), exact(tolerance)
    with localcontext() as ctx:
        ctx.prec = 50
        return ref - tol, ref + tol


def tur(lower: float, upper: float, expanded_uncertainty: float) -> float:
    """Test uncertainty ratio (ANSI/NCSL Z540.3-2006 Handbook): the span of
    the tolerance / (2 U95), U95 the expanded uncertainty of the
    measurement process for ~95 % coverage."""
    if expanded_uncertainty <= 0:
        return float("inf")
    return (upper - lower) / (2.0 * expanded_uncertainty)


def probability_of_conformity(measured: float, lower: float, upper: float, u_c: float) -> float:
    """The probability that the true value lies within [lower, upper],
    given the measured value and its combined standard uncertainty, the
    measurand's distribution taken as normal (JCGM 106:2012, 7.3). One
    minus it is the specific risk of a false acceptance of a result
    accepted."""
    if u_c <= 0 or not math.isfinite(u_c):
        return 1.0 if lower <= measured <= upper else 0.0
    z = 1.0 / (u_c * math.sqrt(2.0))
    return 0.5 * (math.erf((upper - measured) * z) - math.erf((lower - measured) * z))
