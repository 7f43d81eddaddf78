"""How numbers are written for people, on the certificate and in the GUI alike.

- A quantity takes the SI prefix of its size, among those its unit is
  written with (`PREFIXES`): voltage and current no higher than the unit
  (a technician says "the 1000 V range", "10 A"), resistance from mOhm to
  GOhm, frequency Hz to GHz, temperature none. A range's values all take
  the prefix of the range: on the 100 mV range, "100.0015 mV".
- The expanded uncertainty U is rounded UP to two significant digits (GUM
  7.2.6: rounding up never understates it; `round_uncertainty`), and every
  value reported with it to the same decimal place (`Rounding`). The
  rounding is done in the unit shown (42 uV, not 4.2e-5 V then scaled).
- Frequencies: "50 Hz", "1 kHz", "1.5 MHz" (`format_frequency`).

Every text is Windows-1252 (cp1252), which the certificate's standard PDF
fonts show: the micro sign is U+00B5 (in cp1252, unlike the Greek mu
U+03BC), ohms are written "Ohm", degrees Celsius "\u00b0C".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

__all__ = [
    "LIMIT_EXTRA", "MICRO", "PREFIXES", "Rounding", "Scale", "decimals_of", "exact_decimal", "fixed", "format_error",
    "format_frequency", "format_level", "format_significant", "format_uncertainty", "format_value", "number",
    "round_uncertainty", "rounding", "scale_of", "significant",
]

MICRO = "\u00b5"  # MICRO SIGN, in cp1252 (the Greek small mu U+03BC is not)

#: Every prefix, by its power of ten.
_PREFIX = {-12: "p", -9: "n", -6: MICRO, -3: "m", 0: "", 3: "k", 6: "M", 9: "G"}

#: The powers of ten (lowest, highest) each unit is written with; a unit
#: not listed takes no prefix.
PREFIXES: dict[str, tuple[int, int]] = {
    "V": (-9, 0),
    "A": (-12, 0),
    "Ohm": (-3, 9),
    "Hz": (0, 9),
    "Pa": (0, 6),
    "W": (-6, 3),
}

#: Relative slack for binary noise when rounding up: 4.2e-05 V in uV is
#: 42.00000000000001, which is 42, not 43.
_NOISE = 1e-12


def _shift(x: float, places: int) -> float:
    """x * 10**places, by an exact integer power of ten (no 1e-3 in binary)."""
    return float(x * 10**places if places >= 0 else x / 10**-places)


def round_uncertainty(u: float, digits: int = 2) -> float:
    """An expanded uncertainty rounded UP to ``digits`` significant digits
    (GUM 7.2.6 allows two; rounding up never understates it). Zero,
    negative and non-finite values are returned as they are."""
    if u <= 0 or not math.isfinite(u):
        return u
    exponent = math.floor(math.log10(u)) - (digits - 1)
    return _shift(math.ceil(_shift(u, -exponent) * (1 - _NOISE)), exponent)


def decimals_of(u_rounded: float, digits: int = 2) -> int:
    """How many decimal places a value reported with ``u_rounded`` (already
    rounded to ``digits`` significant digits) takes: those of its last digit."""
    if u_rounded <= 0 or not math.isfinite(u_rounded):
        return 6
    return max(0, -(math.floor(math.log10(u_rounded)) - (digits - 1)))


#: A tolerance limit takes at most this many decimals more than U's to be
#: printed exactly; beyond, it is rounded inward (`Rounding.limit`).
LIMIT_EXTRA = 2


#: No more decimals than this in a scaled value (an uncertainty far below
#: the smallest prefix of its unit, 1e-20 of it, is not written out).
MAX_DECIMALS = 20
_EDGE = 1e-9  # 999.9999999 mV is 1 V: binary noise at a decade's edge


@dataclass(frozen=True)
class Scale:
    """A prefix and its power of ten: ``Scale(-3, "m")`` writes 0.1 as 100 (mV)."""

    exponent: int
    prefix: str

    @property
    def factor(self) -> float:
        """What one scaled unit is in the base unit (1e-3 for m)."""
        return 10.0**self.exponent

    def of(self, value: float) -> float:
        """``value`` (in the base unit) in the scaled unit."""
        return _shift(value, -self.exponent)

    def unit(self, unit: str) -> str:
        return f"{self.prefix}{unit}"


UNIT = Scale(0, "")


def exact_decimal(value: float, scale: Scale = UNIT) -> Decimal:
    """``value`` (in the base unit) in ``scale``'s unit, exactly: the float's
    shortest decimal representation shifted by the prefix's power of ten."""
    return Decimal(repr(float(value))).scaleb(-scale.exponent)


def scale_of(magnitude: float, unit: str) -> Scale:
    """The prefix a quantity of this size is written with in ``unit``."""
    lo, hi = PREFIXES.get(unit, (0, 0))
    m = abs(magnitude)
    if m == 0 or not math.isfinite(m):
        return UNIT if lo <= 0 <= hi else Scale(lo, _PREFIX[lo])
    exponent = 3 * math.floor(math.log10(m * (1 + _EDGE)) / 3)
    exponent = min(hi, max(lo, exponent))
    return Scale(exponent, _PREFIX[exponent])


def number(value: float) -> str:
    """A nominal value as it is written: shortest form, no float noise
    (``100``, ``1.5``, ``-10``)."""
    text = f"{value:.12g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}e{int(exp)}"
    return "0" if text in ("-0", "0") else text


def fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` places; never "-0.000"."""
    if not math.isfinite(value):
        return "-" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]
    return text


@dataclass(frozen=True)
class Rounding:
    """How a result reported with expanded uncertainty U is written in one
    scale: U rounded up to two significant digits, every value to the
    decimal place of U's second digit."""

    scale: Scale
    uncertainty: float  # U rounded up, in the scaled unit
    decimals: int

    def value(self, value: float) -> str:
        """A value (reference, indication, limit) to U's decimal place."""
        return fixed(self.scale.of(value), self.decimals)

    def signed(self, value: float) -> str:
        """An error, always with its sign: ``+0.024``."""
        text = self.value(value)
        return text if text.startswith("-") or not math.isfinite(value) else f"+{text}"

    def limit(self, value: float, lower: bool) -> str:
        """A tolerance limit, never printed wider than it is: at its exact
        value (`exact_decimal` in the scaled unit) when that needs no more
        than `LIMIT_EXTRA` decimals beyond U's, otherwise rounded INWARD
        (a lower limit up, an upper limit down) at that many decimals."""
        if not math.isfinite(value):
            return fixed(value, self.decimals)
        d = exact_decimal(value, self.scale)
        places = max(self.decimals, -d.normalize().as_tuple().exponent)  # type: ignore[operator]
        places = min(places, self.decimals + LIMIT_EXTRA)
        step = Decimal(1).scaleb(-places)
        text = str(d.quantize(step, rounding=ROUND_CEILING if lower else ROUND_FLOOR))
        return "0" + text[2:] if text.startswith("-0") and not text.strip("-0.") else text

    @property
    def U(self) -> str:  # noqa: N802 - the GUM's symbol
        return fixed(self.uncertainty, self.decimals)


def rounding(expanded_uncertainty: float, scale: Scale) -> Rounding:
    """The rounding of a result with expanded uncertainty U written in ``scale``."""
    u = round_uncertainty(scale.of(expanded_uncertainty))
    return Rounding(scale, u, min(MAX_DECIMALS, decimals_of(u)))


def _level_scale(unit: str, range_: float, value: float) -> Scale:
    """A range's values take the range's prefix; without a range (0), the value's."""
    return scale_of(range_ if range_ > 0 else value, unit)


def format_level(value: float, unit: str, range_: float = 0.0) -> str:
    """A range or nominal value, in the prefix of the range: ``100 mV``, ``-10 V``, ``10 kOhm``."""
    s = _level_scale(unit, range_, value)
    return f"{number(s.of(value))} {s.unit(unit)}"


def format_value(value: float, unit: str, range_: float, expanded_uncertainty: float) -> str:
    """A reference, indication or limit, in the range's prefix, to the
    decimal place of its rounded expanded uncertainty: ``10.000012 V``."""
    s = _level_scale(unit, range_, value)
    return f"{rounding(expanded_uncertainty, s).value(value)} {s.unit(unit)}"


def format_error(error: float, unit: str, expanded_uncertainty: float) -> str:
    """An error, signed, to the decimal place of its uncertainty: ``+24 µV``."""
    u = abs(expanded_uncertainty) if math.isfinite(expanded_uncertainty) else 0.0
    s = scale_of(max(abs(error), u) if math.isfinite(error) else u, unit)
    return f"{rounding(expanded_uncertainty, s).signed(error)} {s.unit(unit)}"


def format_uncertainty(expanded_uncertainty: float, unit: str) -> str:
    """U rounded up to two significant digits, in its own prefix: ``42 µV``."""
    s = scale_of(expanded_uncertainty, unit)
    r = rounding(expanded_uncertainty, s)
    # rounding up can carry into the next prefix: 999.5 uV -> 1000 uV -> 1.0 mV
    again = scale_of(r.uncertainty * s.factor, unit)
    if again != s:
        s, r = again, rounding(expanded_uncertainty, again)
    return f"{r.U} {s.unit(unit)}"


def significant(value: float, digits: int = 2) -> str:
    """``value`` rounded to nearest at ``digits`` significant digits, in
    fixed notation: ``290``, ``0.011``, ``100`` (99.96)."""
    if value == 0 or not math.isfinite(value):
        return number(value) if math.isfinite(value) else f"{value}"
    places = digits - 1 - math.floor(math.log10(abs(value)))
    r = round(value, places)
    if r:  # a carry into the next decade (99.96 -> 100) takes a place less
        places = digits - 1 - math.floor(math.log10(abs(r)))
    return fixed(r, max(0, places))


def format_significant(value: float, unit: str, digits: int = 2) -> str:
    """A value to ``digits`` significant digits, in its own prefix, rounded
    to nearest (a standard uncertainty in a budget: ``11 µV``, ``290 nV``)."""
    s = scale_of(value, unit)
    text = significant(s.of(value), digits)
    again = scale_of(float(text) * s.factor, unit)  # 999.7 uV -> 1000 uV: the next prefix
    if again != s:
        s, text = again, significant(again.of(float(text) * s.factor), digits)
    return f"{text} {s.unit(unit)}"


def format_frequency(hertz: float) -> str:
    """A frequency: ``50 Hz``, ``1 kHz``, ``1.5 MHz``."""
    return format_level(hertz, "Hz", hertz)
