"""Decision rules (ILAC-G8:09/2019) and the test uncertainty ratio."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Decision = Literal["pass", "fail"]


class DecisionRule(StrEnum):
    #: Simple acceptance, guard band w = 0 (ILAC-G8 4.2.1): up to 50 %
    #: probability of false acceptance for a result at the limit.
    SIMPLE = "simple-acceptance"
    #: Binary statement with guard band w = U (ILAC-G8 4.2.2): acceptance
    #: limit = tolerance limit - U; false acceptance <= 2.5 %.
    GUARD_BAND_U = "guard-band-u"

    @property
    def statement(self) -> str:
        return _STATEMENTS[self]

    def guard_band(self, expanded_uncertainty: float) -> float:
        return 0.0 if self is DecisionRule.SIMPLE else expanded_uncertainty


_STATEMENTS = {
    DecisionRule.SIMPLE: (
        "Simple acceptance (ILAC-G8:09/2019, 4.2.1, guard band w = 0): a result is a pass when "
        "the measured value lies within the tolerance limits. For a result close to a limit the "
        "probability of a false acceptance can be up to 50 %."
    ),
    DecisionRule.GUARD_BAND_U: (
        "Binary statement with guard band w = U (ILAC-G8:09/2019, 4.2.2): a result is a pass when "
        "the measured value lies within the tolerance limits reduced by the expanded uncertainty U "
        "(k for 95.45 %); otherwise it is a fail. Probability of false acceptance at most 2.5 %."
    ),
}


def decide(indication: float, lower: float, upper: float, guard_band: float) -> Decision:
    """Pass when the indication lies in [lower + w, upper - w]."""
    return "pass" if lower + guard_band <= indication <= upper - guard_band else "fail"


def tur(lower: float, upper: float, expanded_uncertainty: float) -> float:
    """Test uncertainty ratio (ANSI/NCSL Z540.3 Handbook): tolerance span / (2 U95)."""
    if expanded_uncertainty <= 0:
        return float("inf")
    return (upper - lower) / (2.0 * expanded_uncertainty)
