"""Accuracy specifications of instruments, as their makers publish them.

A specification is +/-(fraction of reading + fraction of range + floor),
per range. DMMs are written as % of reading + % of range; calibrators as
ppm of output + a floor. Every table cites its source; a table that is not
verified against the maker's document does not go in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from drivers.errors import CalstationError
from drivers.roles import Function


class SpecError(CalstationError):
    pass


class Distribution(StrEnum):
    """How a specification limit turns into a standard uncertainty."""

    RECTANGULAR = "rectangular"  # u = a / sqrt(3)
    NORMAL_95 = "normal-k2"  # the maker states ~95 % coverage: u = a / 2
    NORMAL_99 = "normal-k2.58"  # the maker states 99 % coverage: u = a / 2.576

    def standard_uncertainty(self, half_width: float) -> float:
        return half_width / _DIVISORS[self]

    @property
    def divisor(self) -> float:
        return _DIVISORS[self]


_DIVISORS = {
    Distribution.RECTANGULAR: math.sqrt(3.0),
    Distribution.NORMAL_95: 2.0,
    Distribution.NORMAL_99: 2.576,
}


@dataclass(frozen=True)
class RangeSpec:
    """Accuracy on one range: +/-(of_reading * |value| + of_range * range + floor)."""

    range: float  # full scale (DMM range, or the top of a calibrator range)
    of_reading: float  # fraction of reading (0.0035 % -> 35e-6)
    of_range: float  # fraction of range
    floor: float = 0.0  # absolute, in the function's unit

    def half_width(self, value: float) -> float:
        return self.of_reading * abs(value) + self.of_range * self.range + self.floor


@dataclass(frozen=True)
class AccuracySpec:
    manufacturer: str
    model: str
    function: Function
    interval: str  # "24h", "90d", "1y"
    ranges: tuple[RangeSpec, ...]  # ascending
    source: str  # citation

    def band(self, value: float, range_: float | None = None) -> RangeSpec:
        """The range specification that applies: the named range, or (for a
        source that ranges itself) the smallest range that holds ``value``."""
        if range_ is not None:
            for r in self.ranges:
                if math.isclose(r.range, range_, rel_tol=1e-9):
                    return r
            raise SpecError(
                f"{self.model} {self.function} has no {range_:g} {self.function.unit} range "
                f"in its {self.interval} specification; use one of "
                + ", ".join(f"{r.range:g}" for r in self.ranges)
            )
        for r in self.ranges:
            if abs(value) <= r.range * (1 + 1e-12):
                return r
        raise SpecError(
            f"{value:g} {self.function.unit} is outside the {self.model} {self.function} "
            f"specification (max {self.ranges[-1].range:g} {self.function.unit}); "
            "choose a point within the standard's range"
        )

    def half_width(self, value: float, range_: float | None = None) -> float:
        """The specification limit (+/-) at ``value``, in the function's unit."""
        return self.band(value, range_).half_width(value)

    def describe(self) -> str:
        return f"{self.manufacturer} {self.model} {self.function.description}, {self.interval} ({self.source})"


def _dmm(range_: float, pct_reading: float, pct_range: float) -> RangeSpec:
    return RangeSpec(range_, pct_reading / 100.0, pct_range / 100.0)


def _cal(top: float, ppm: float, floor: float) -> RangeSpec:
    return RangeSpec(top, ppm * 1e-6, 0.0, floor)


_K34401A = "Keysight 34401A data sheet 5968-0162EN, DC voltage accuracy +/-(% of reading + % of range)"
_F5522A = "Fluke 5522A 90-day specification, DC voltage output (from Fluke's 90-day verification table)"

SPECS: dict[tuple[str, str, Function, str], AccuracySpec] = {}


def _add(spec: AccuracySpec) -> None:
    SPECS[(spec.manufacturer.upper(), spec.model.upper(), spec.function, spec.interval)] = spec


for _interval, _rows in {
    "24h": [(0.1, 0.0030, 0.0030), (1, 0.0020, 0.0006), (10, 0.0015, 0.0004), (100, 0.0020, 0.0006), (1000, 0.0020, 0.0006)],
    "90d": [(0.1, 0.0040, 0.0035), (1, 0.0030, 0.0007), (10, 0.0020, 0.0005), (100, 0.0035, 0.0006), (1000, 0.0035, 0.0010)],
    "1y": [(0.1, 0.0050, 0.0035), (1, 0.0040, 0.0007), (10, 0.0035, 0.0005), (100, 0.0045, 0.0006), (1000, 0.0045, 0.0010)],
}.items():
    _add(AccuracySpec("Keysight", "34401A", Function.DCV, _interval,
                      tuple(_dmm(r, a, b) for r, a, b in _rows), _K34401A))

_add(AccuracySpec("Fluke", "5522A", Function.DCV, "90d", (
    _cal(0.3299999, 15, 1e-6),
    _cal(3.299999, 9, 2e-6),
    _cal(32.99999, 10, 20e-6),
    _cal(329.9999, 15, 150e-6),
    _cal(1020.0, 15, 1.5e-3),
), _F5522A))


def lookup(manufacturer: str, model: str, function: Function, interval: str) -> AccuracySpec:
    """The specification of a model, or `SpecError` naming what is missing."""
    key = (manufacturer.upper(), model.upper(), function, interval)
    try:
        return SPECS[key]
    except KeyError:
        have = sorted(i for (ma, mo, f, i) in SPECS if (ma, mo, f) == key[:3])
        hint = f"available intervals: {', '.join(have)}" if have else "add its table to station/metrology/specs.py"
        raise SpecError(
            f"no {interval} {function} specification for {manufacturer} {model}; {hint}"
        ) from None
