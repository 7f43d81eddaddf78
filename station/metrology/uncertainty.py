"""GUM arithmetic shared by every budget model (station/metrology/budget.py).

Policy (docs/metrology.md): nu_eff is rounded DOWN to an integer before k
is looked up (GUM G.4.1 note 1 and G.6.4), k = Student's t for 95.45 %
coverage from GTC (``GTC.reporting.k_factor``). Budgets are combined in
closed form because building GTC ``ureal`` objects costs ~45 us a point;
`tests/station/test_uncertainty.py` checks the result against GTC's own
propagation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

COVERAGE_PROBABILITY = 95.45  # percent
INF = math.inf


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
def _k_for_integer_dof(dof: float) -> float:
    # GTC (and the scipy it brings, ~0.6 s) is imported when the first k is
    # needed, not when the station or its window starts
    from GTC import reporting

    return float(reporting.k_factor(dof, COVERAGE_PROBABILITY))


def coverage_factor(nu_eff: float) -> float:
    """k for 95.45 % coverage; nu_eff is rounded down (our documented policy)."""
    if nu_eff == INF or nu_eff > 1e7:
        return _k_for_integer_dof(INF)
    dof = max(1, math.floor(nu_eff))
    return _k_for_integer_dof(dof)


def mean_and_std(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the experimental standard deviation of ``values`` (n >= 2)."""
    n = len(values)
    if n < 2:
        raise ValueError("a type A evaluation needs at least two readings")
    mean = math.fsum(values) / n
    return mean, math.sqrt(math.fsum([(v - mean) ** 2 for v in values]) / (n - 1))
