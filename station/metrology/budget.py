"""The uncertainty budget as data: labelled components, one model per kind
of measurement (GUM, JCGM 100:2008).

A budget is a list of `Component` rows. Everything that shows a budget
renders these rows: the planned TUR before the run, the evaluation of each
point, the run file's ``/budget`` table, the certificate's uncertainty
statement and the GUI's tooltip. A component's make-up is written once,
here, in its model.

Models (`MODELS`), each a measurement equation whose sensitivity
coefficients are +/-1, so u_c is the root sum of squares of the
contributions and nu_eff follows Welch-Satterthwaite (`combine`):

- ``meter``: a meter (the DUT) reads what a source (the standard) applies:
  E = V_dut - V_std + dV_res - dV_std. Type B: the standard's
  specification at the point, the DUT's resolution. Type A: the DUT's
  readings.
- ``source``: a source (the DUT) is measured by a meter (the standard):
  E = V_set - V_std - dV_std - dV_res. Type B: the standard meter's
  specification at the point on its range, its resolution. Type A: the
  standard's readings.
- ``comparison``: an indicator (the DUT) and a reference thermometer in
  a controlled environment (EURAMET cg-13): E = t_dut - (t_ref + c_ref)
  + dt_stab + dt_ax + dt_rad + dt_load + dt_res. Type B: the reference
  probe's calibration (its certificate's U and k), the readout's
  specification, the environment's stability, axial and radial uniformity
  and loading, the DUT's resolution. Type A: the DUT's readings and the
  reference's.

Type B components are evaluated at the point's nominal value, once, when
the plan is checked; type A components from the point's raw readings.
`rederive` recomputes a recorded budget from the run file's raw readings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple

from station.metrology.uncertainty import INF, coverage_factor, mean_and_std, welch_satterthwaite

#: Which readings a type A component comes from (the run file's raw ``channel``).
DUT_READINGS = 0
REFERENCE_READINGS = 1
NO_READINGS = -1


class Distribution(StrEnum):
    """How a limit turns into a standard uncertainty."""

    RECTANGULAR = "rectangular"  # u = a / sqrt(3)
    NORMAL_95 = "normal-k2"  # the maker states ~95 % coverage: u = a / 2
    NORMAL_99 = "normal-k2.58"  # the maker states 99 % coverage: u = a / 2.576

    @property
    def divisor(self) -> float:
        return _DIVISORS[self]

    def standard_uncertainty(self, half_width: float) -> float:
        return half_width / _DIVISORS[self]


_DIVISORS = {
    Distribution.RECTANGULAR: math.sqrt(3.0),
    Distribution.NORMAL_95: 2.0,
    Distribution.NORMAL_99: 2.576,
}


class Component(NamedTuple):
    """One line of an uncertainty budget."""

    name: str  # short label: "standard", "resolution", "repeatability", ...
    kind: Literal["A", "B"]
    distribution: str  # "rectangular", "normal", "normal-k2", "t" (type A)
    half_width: float  # a (type B), or s of the readings (type A)
    divisor: float  # u = half_width / divisor (type A: sqrt(n))
    sensitivity: float
    dof: float  # degrees of freedom (inf for type B)
    description: str = ""
    readings: int = NO_READINGS  # type A: which readings (DUT_READINGS, REFERENCE_READINGS)

    @property
    def u(self) -> float:
        """Standard uncertainty of the input quantity."""
        return self.half_width / self.divisor

    @property
    def contribution(self) -> float:
        """|c_i| u(x_i): its standard uncertainty in the result's unit."""
        return abs(self.sensitivity) * self.u


class Budget(NamedTuple):
    components: tuple[Component, ...]
    u_c: float
    nu_eff: float
    k: float

    @property
    def expanded(self) -> float:
        return self.k * self.u_c


def combine(components: Sequence[Component]) -> Budget:
    """u_c (root sum of squares), nu_eff (Welch-Satterthwaite) and k for
    95.45 % (nu_eff rounded down, `coverage_factor`)."""
    contributions = [c.contribution for c in components]
    u_c = math.sqrt(math.fsum([c * c for c in contributions]))
    nu = welch_satterthwaite(contributions, [c.dof for c in components])
    return Budget(tuple(components), u_c, nu, coverage_factor(nu))


def type_a(values: Sequence[float], readings: int, name: str, description: str,
           sensitivity: float = 1.0) -> Component:
    """The type A component of the mean of ``values`` (n >= 2): s/sqrt(n), n - 1 dof."""
    n = len(values)
    _, s = mean_and_std(values)
    return Component(name, "A", "t", s, math.sqrt(n), sensitivity, float(n - 1),
                     f"{description}, s/sqrt(n), n = {n}", readings)


def rectangular(name: str, half_width: float, description: str, sensitivity: float = 1.0) -> Component:
    """A type B component known by its limits +/- ``half_width``."""
    return Component(name, "B", "rectangular", half_width, math.sqrt(3.0), sensitivity, INF, description)


def normal(name: str, expanded: float, k: float, description: str, sensitivity: float = 1.0) -> Component:
    """A type B component from a certificate: expanded uncertainty and its k."""
    return Component(name, "B", "normal", expanded, k, sensitivity, INF, description)


def stored_repeatability(s: float, dof: float, name: str = "repeatability",
                         description: str = "DUT repeatability", sensitivity: float = 1.0) -> Component:
    """The type A component of a single reading, from an earlier evaluation
    of the same measurement (EA-4/02 M:2022, S3: the standard deviation s of
    a single reading, with the degrees of freedom of that evaluation). It
    is recorded as it is, not re-derived from the point's readings."""
    return Component(name, "A", "t", s, 1.0, sensitivity, dof,
                     f"{description}, stored evaluation s = {s:.3g}, nu = {dof:g}, single reading", NO_READINGS)


@dataclass(frozen=True)
class Inputs:
    """What a model's type B components are built from, for one point.

    ``standard_half_width``: the standard's specification limit at the
    point (a source's at its output; a meter's at its reading on its
    range; a readout's at the temperature). ``standard_digit`` and
    ``dut_digit``: one least significant digit of the standard and the
    DUT. ``probe_uncertainty``/``probe_k``: the reference probe's
    expanded uncertainty and coverage factor from its certificate.
    ``environment``: the controlled environment's figures at the point
    (half-widths: stability, axial_uniformity, radial_uniformity, loading)."""

    standard_half_width: float
    standard_distribution: Distribution
    standard_digit: float = 0.0
    #: "specification" (the maker's limit, `standard_distribution`) or
    #: "certificate" (the standard's calibration certificate: the half-width
    #: is its expanded uncertainty at the point, `standard_divisor` its k).
    standard_source: str = "specification"
    standard_divisor: float = 0.0
    dut_digit: float = 0.0
    probe_uncertainty: float = 0.0
    probe_k: float = 2.0
    environment: Mapping[str, float] = field(default_factory=dict)


def _standard(i: Inputs, name: str, what: str) -> Component:
    """The standard's component: its specification, or its certificate."""
    if i.standard_source == "certificate":
        return Component(name, "B", "normal", i.standard_half_width, i.standard_divisor, -1.0, INF,
                         f"{what}, calibration certificate (U, k = {i.standard_divisor:g})")
    return Component(name, "B", str(i.standard_distribution), i.standard_half_width,
                     i.standard_distribution.divisor, -1.0, INF, f"{what}, specification")


def _meter(i: Inputs) -> list[Component]:
    return [
        _standard(i, "standard", "reference standard"),
        rectangular("resolution", i.dut_digit / 2.0, "DUT resolution, half the last digit"),
    ]


def _source(i: Inputs) -> list[Component]:
    return [
        _standard(i, "standard", "reference meter"),
        rectangular("standard resolution", i.standard_digit / 2.0,
                    "reference meter resolution, half the last digit", -1.0),
    ]


#: The environment's figures a comparison takes, and how the budget names them.
ENVIRONMENT = (
    ("stability", "environment stability"),
    ("axial_uniformity", "axial uniformity"),
    ("radial_uniformity", "radial uniformity"),
    ("loading", "loading effect"),
)


def _comparison(i: Inputs) -> list[Component]:
    out = [
        Component("reference probe", "B", "normal", i.probe_uncertainty, i.probe_k, -1.0, INF,
                  f"reference probe, calibration certificate (U, k = {i.probe_k:g})"),
        _standard(i, "readout", "reference readout"),
    ]
    for key, label in ENVIRONMENT:
        if key in i.environment:
            out.append(rectangular(label, i.environment[key], f"{label}, specification"))
    out.append(rectangular("resolution", i.dut_digit / 2.0, "DUT resolution, half the last digit"))
    return out


@dataclass(frozen=True)
class Model:
    """One kind of measurement: its type B components and which readings
    give its type A ones."""

    name: str
    title: str
    type_b: Callable[[Inputs], list[Component]]
    readings: tuple[tuple[int, str, str, float], ...]  # (channel, name, description, sensitivity)

    def budget(self, inputs: Inputs, dut: Sequence[float] = (), reference: Sequence[float] = ()) -> Budget:
        """The budget of a point: type B from ``inputs``, type A from the
        readings (none at plan time)."""
        return combine(self.type_b(inputs) + self.repeatability(dut, reference))

    def repeatability(self, dut: Sequence[float], reference: Sequence[float],
                      stored: tuple[float, float] | None = None) -> list[Component]:
        """The type A components of the readings; a channel of one reading
        takes ``stored`` (s, dof) from an earlier evaluation, if given."""
        out = []
        for channel, name, description, sensitivity in self.readings:
            values = dut if channel == DUT_READINGS else reference
            if len(values) >= 2:
                out.append(type_a(values, channel, name, description, sensitivity))
            elif len(values) == 1 and stored is not None:
                out.append(stored_repeatability(stored[0], stored[1], name, description, sensitivity))
        return out


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("meter", "a meter against a source", _meter,
              ((DUT_READINGS, "repeatability", "DUT repeatability", 1.0),)),
        Model("source", "a source against a meter", _source,
              ((REFERENCE_READINGS, "repeatability", "repeatability of the reference meter's readings", -1.0),)),
        Model("comparison", "a comparison in a controlled environment", _comparison,
              ((DUT_READINGS, "repeatability", "DUT repeatability", 1.0),
               (REFERENCE_READINGS, "reference repeatability", "reference thermometer repeatability", -1.0))),
    )
}


def rederive(recorded: Sequence[Component], dut: Sequence[float], reference: Sequence[float]) -> Budget:
    """A recorded budget with its type A components recomputed from the
    raw readings (type B rows as recorded), combined again."""
    out = []
    for c in recorded:
        if c.kind == "A" and c.readings != NO_READINGS:
            values = dut if c.readings == DUT_READINGS else reference
            out.append(type_a(values, c.readings, c.name, c.description.split(", s/sqrt(n)")[0],
                              c.sensitivity))
        else:
            out.append(c)
    return combine(out)
