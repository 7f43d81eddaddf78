"""Uncertainty budget of one point (GUM), with GTC for the coverage factor.

Model of a DMM point calibrated with a multifunction calibrator
(DOMAIN.md): E = V_indicated - V_standard + dV_resolution - dV_standard.
All sensitivity coefficients are +/-1, so the combined standard
uncertainty is the root sum of squares of the components, and the
effective degrees of freedom follow Welch-Satterthwaite.

Policy (docs/metrology.md): nu_eff is rounded DOWN to an integer before k
is looked up (GUM G.4.1 note 1 and G.6.4), k = Student's t for 95.45 %
coverage from GTC (``GTC.reporting.k_factor``). The budget is computed here
in closed form because building GTC ``ureal`` objects costs ~45 us a point,
the whole engine's budget; `tests/station/test_uncertainty.py` checks the
result against GTC's own propagation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from GTC import reporting

from station.metrology.specs import Distribution

COVERAGE_PROBABILITY = 95.45  # percent
INF = math.inf


class Component(NamedTuple):
    """One line of an uncertainty budget."""

    label: str  # short name: "standard", "resolution", "repeatability"
    description: str
    distribution: str  # "rectangular", "normal-k2", "type A"
    half_width: float  # or the estimate of a type A standard deviation of the mean
    u: float  # standard uncertainty, in the result's unit
    sensitivity: float = 1.0
    dof: float = INF

    @property
    def contribution(self) -> float:
        return abs(self.sensitivity) * self.u


class Budget(NamedTuple):
    components: tuple[Component, ...]
    u_c: float
    nu_eff: float
    k: float

    @property
    def expanded(self) -> float:
        return self.k * self.u_c


def welch_satterthwaite(contributions: Sequence[float], dofs: Sequence[float]) -> float:
    """nu_eff = u_c^4 / sum(u_i^4 / nu_i) (GUM G.2b); inf when every term is inf."""
    u_c2 = 0.0
    den = 0.0
    for c, nu in zip(contributions, dofs, strict=True):
        c2 = c * c
        u_c2 += c2
        if nu != INF and c2:
            den += c2 * c2 / nu
    if den == 0.0:
        return INF
    return (u_c2 * u_c2) / den


@lru_cache(maxsize=1024)
def _k_for_integer_dof(dof: int) -> float:
    return float(reporting.k_factor(dof, COVERAGE_PROBABILITY))


_K_INF = float(reporting.k_factor(INF, COVERAGE_PROBABILITY))


def coverage_factor(nu_eff: float) -> float:
    """k for 95.45 % coverage; nu_eff is rounded down (our documented policy)."""
    if nu_eff == INF or nu_eff > 1e7:
        return _K_INF
    dof = max(1, math.floor(nu_eff))
    return _k_for_integer_dof(dof)


def combine(components: Sequence[Component]) -> Budget:
    contributions = [c.contribution for c in components]
    u_c = math.sqrt(math.fsum([c * c for c in contributions]))
    nu = welch_satterthwaite(contributions, [c.dof for c in components])
    return Budget(tuple(components), u_c, nu, coverage_factor(nu))


def mean_and_std(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the experimental standard deviation of ``values`` (n >= 2)."""
    n = len(values)
    if n < 2:
        raise ValueError("a type A evaluation needs at least two readings")
    mean = math.fsum(values) / n
    return mean, math.sqrt(math.fsum([(v - mean) ** 2 for v in values]) / (n - 1))


def repeatability(s: float, n: int) -> Component:
    """The type A component of the mean of ``n`` readings of spread ``s``."""
    return Component("repeatability", f"repeatability, s/sqrt(n), n = {n}", "type A", s,
                     s / math.sqrt(n), 1.0, float(n - 1))


def dmm_point_budget(
    values: Sequence[float],
    standard_half_width: float,
    standard_distribution: Distribution,
    resolution: float,
) -> tuple[float, float, Budget]:
    """Budget of a DMM point: returns (mean, experimental standard deviation, budget).

    ``values`` are the DUT's readings (n >= 2), ``standard_half_width`` the
    standard's specification limit at this point, ``resolution`` one digit
    of the DUT in its configuration.
    """
    n = len(values)
    mean, s = mean_and_std(values)
    half_digit = resolution / 2.0
    components = (
        Component(
            "standard",
            "reference standard, specification",
            str(standard_distribution),
            standard_half_width,
            standard_distribution.standard_uncertainty(standard_half_width),
            -1.0,
        ),
        Component(
            "resolution",
            "DUT resolution, half the last digit",
            "rectangular",
            half_digit,
            half_digit / math.sqrt(3.0),
        ),
        repeatability(s, n),
    )
    return mean, s, combine(components)


def round_uncertainty(u: float, digits: int = 2) -> float:
    """Round an expanded uncertainty UP to ``digits`` significant digits
    (GUM 7.2.6 allows two; rounding up never understates it)."""
    if u <= 0 or not math.isfinite(u):
        return u
    exponent = math.floor(math.log10(u)) - (digits - 1)
    scale = 10.0**exponent
    # guard against 1.2000000001 -> 1.3 from binary representation
    return math.ceil(round(u / scale, 6)) * scale


def decimals_of(u_rounded: float, digits: int = 2) -> int:
    """How many decimal places a result reported with ``u_rounded`` takes."""
    if u_rounded <= 0 or not math.isfinite(u_rounded):
        return 6
    return max(0, -(math.floor(math.log10(u_rounded)) - (digits - 1)))
