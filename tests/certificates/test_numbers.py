"""How numbers are written for people (station/certificates/numbers.py):
examples a technician would check, and properties over any value."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from station.certificates.numbers import (
    MICRO,
    PREFIXES,
    fixed,
    format_error,
    format_frequency,
    format_level,
    format_significant,
    format_uncertainty,
    format_value,
    number,
    rounding,
    scale_of,
    significant,
)

PROPERTY = settings(max_examples=300, deadline=None)
UNITS = ["V", "A", "Ohm", "Hz", "Pa", "\u00b0C"]
_FACTOR = {"p": 1e-12, "n": 1e-9, MICRO: 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}

magnitudes = st.floats(min_value=1e-11, max_value=1e11, allow_nan=False, allow_infinity=False)
signs = st.sampled_from([1.0, -1.0])


def parse(text: str, unit: str) -> float:
    """A formatted quantity back to a float in the base unit."""
    value, shown = text.split(" ")
    assert shown.endswith(unit), (text, unit)
    prefix = shown[: len(shown) - len(unit)]
    return float(value) * _FACTOR[prefix]


def decimals(text: str) -> int:
    number_part = text.split(" ")[0]
    return len(number_part.split(".")[1]) if "." in number_part else 0


def mantissa(x: float) -> float:
    """x / 10^(its second significant digit's place): an integer for two digits."""
    return x / 10.0 ** (math.floor(math.log10(x)) - 1)


# -- examples ---------------------------------------------------------------------------------
def test_quantities_are_written_as_a_technician_reads_them() -> None:
    assert format_level(0.1, "V", 0.1) == "100 mV"
    assert format_level(-1000.0, "V", 1000.0) == "-1000 V"  # no kV: "the 1000 V range"
    assert format_level(0.0, "V", 0.1) == "0 mV"
    assert format_level(10e3, "Ohm", 10e3) == "10 kOhm"
    assert format_level(1.9e6, "Ohm", 10e6) == "1.9 MOhm"
    assert format_level(10e-3, "A", 10e-3) == "10 mA"
    assert format_level(100e-6, "A", 1e-3) == "0.1 mA"  # the range's prefix
    assert format_level(140.0, "\u00b0C") == "140 \u00b0C"
    assert format_level(0.1 * 3, "V", 1.0) == "0.3 V"  # no float noise
    assert format_frequency(1000.0) == "1 kHz"
    assert format_frequency(50.0) == "50 Hz"
    assert format_frequency(1.5e6) == "1.5 MHz"
    assert format_value(10.000012345, "V", 10.0, 41.3e-6) == "10.000012 V"
    assert format_value(0.1000015, "V", 0.1, 2.9e-6) == "100.0015 mV"
    assert format_value(99.9871, "\u00b0C", 0.0, 0.0213) == "99.987 \u00b0C"
    assert format_uncertainty(41.3e-6, "V") == f"42 {MICRO}V"  # rounded up, never down
    assert format_uncertainty(41.0e-6, "V") == f"41 {MICRO}V"  # two digits already: unchanged
    assert format_uncertainty(2.0e-3, "V") == "2.0 mV"
    assert format_uncertainty(999.3e-6, "V") == "1.0 mV"  # the carry moves the prefix
    assert format_uncertainty(0.0213, "\u00b0C") == "0.022 \u00b0C"
    assert format_error(23.7e-6, "V", 41.3e-6) == f"+24 {MICRO}V"
    assert format_error(-0.2e-3, "V", 2.0e-3) == "-0.2 mV"
    assert format_error(0.0, "Ohm", 3e-3) == "+0.0 mOhm"
    assert fixed(-0.0004, 3) == "0.000" and fixed(-0.0006, 3) == "-0.001"
    assert format_significant(11.3e-6, "V") == f"11 {MICRO}V" and format_significant(0.29e-6, "V") == "290 nV"
    assert format_significant(999.7e-6, "V") == "1.0 mV" and significant(99.96) == "100"
    r = rounding(41.3e-6, scale_of(10.0, "V"))
    assert (r.U, r.value(10.000012345), r.signed(12.3e-6)) == ("0.000042", "10.000012", "+0.000012")


def test_every_text_is_windows_1252() -> None:
    for unit in UNITS:
        for text in (format_level(1.5e-6, unit, 1e-6), format_uncertainty(3e-7, unit),
                     format_error(-1e-7, unit, 3e-7), format_value(1.0, unit, 1.0, 1e-6)):
            text.encode("cp1252")
    assert format_level(1e-6, "V", 1e-6).encode("cp1252") == b"1 \xb5V"


# -- properties ---------------------------------------------------------------------------------
@PROPERTY
@given(magnitudes, st.sampled_from(UNITS))
def test_uncertainty_is_rounded_up_to_two_significant_digits(U: float, unit: str) -> None:
    text = format_uncertainty(U, unit)
    shown = parse(text, unit)
    assert shown >= U * (1 - 1e-11)  # never understated (but for binary noise)
    assert shown <= U * 1.1 * (1 + 1e-9) + 1e-300  # by at most one unit of its second digit
    assert abs(mantissa(shown) - round(mantissa(shown))) < 1e-6  # two digits


@PROPERTY
@given(magnitudes, magnitudes, signs, st.sampled_from(UNITS))
def test_a_value_is_written_to_the_decimal_place_of_its_uncertainty(
        range_: float, U: float, sign: float, unit: str) -> None:
    value = sign * range_ * 0.7
    s = scale_of(range_, unit)
    r = rounding(U, s)
    shown_value = r.value(value)
    assert decimals(shown_value) == decimals(r.U) == r.decimals
    # the value is rounded to that place, not cut: within half a unit of it
    assert abs(float(shown_value) - s.of(value)) <= 0.5 * 10.0**-r.decimals * (1 + 1e-9) + 1e-9 * abs(s.of(value))
    # the same in the formatted text
    text = format_value(value, unit, range_, U)
    assert text == f"{shown_value} {s.unit(unit)}"


@PROPERTY
@given(magnitudes, st.sampled_from(UNITS))
def test_a_level_takes_the_prefix_of_its_size_within_its_units_prefixes(value: float, unit: str) -> None:
    s = scale_of(value, unit)
    lo, hi = PREFIXES.get(unit, (0, 0))
    assert lo <= s.exponent <= hi and s.exponent % 3 == 0
    scaled = s.of(value)
    # between 1 and 1000 unless the unit has no smaller (or larger) prefix
    if (s.exponent > lo or scaled >= 1) and (s.exponent < hi or scaled < 1000):
        assert 1 - 1e-9 <= scaled < 1000
    assert math.isclose(parse(format_level(value, unit, value), unit), value, rel_tol=1e-11)


@PROPERTY
@given(st.floats(min_value=1.0, max_value=999e6, allow_nan=False))
def test_a_frequency_reads_back(hertz: float) -> None:
    text = format_frequency(hertz)
    value, unit = text.split(" ")
    assert unit in ("Hz", "kHz", "MHz")
    assert 1 - 1e-9 <= float(value) < 1000
    assert math.isclose(parse(text, "Hz"), hertz, rel_tol=1e-11)


@PROPERTY
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
       st.integers(0, 9))
def test_no_negative_zero_and_a_fixed_place(value: float, places: int) -> None:
    text = fixed(value, places)
    assert decimals(text) == places
    assert not (text.startswith("-") and float(text) == 0.0)
    assert abs(float(text) - value) <= 0.5 * 10.0**-places + 1e-9 * abs(value)


@PROPERTY
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_a_nominal_value_reads_back(value: float) -> None:
    assert math.isclose(float(number(value)), value, rel_tol=1e-11, abs_tol=1e-300)


@PROPERTY
@given(magnitudes, magnitudes, signs, st.sampled_from(UNITS))
def test_an_error_is_signed_and_as_fine_as_its_uncertainty(error: float, U: float, sign: float,
                                                           unit: str) -> None:
    e = sign * error
    text = format_error(e, unit, U)
    assert text[0] in "+-"
    # in the prefix of the larger of the error and U, to the decimal place of U
    s = scale_of(max(abs(e), U), unit)
    r = rounding(U, s)
    assert text.split(" ")[1] == s.unit(unit)
    assert decimals(text) == r.decimals
    assert abs(float(text.split(" ")[0]) - s.of(e)) <= 0.5 * 10.0**-r.decimals * (1 + 1e-9) + 1e-9 * abs(s.of(e))


@PROPERTY
@given(magnitudes, signs, st.sampled_from(UNITS), st.integers(1, 4))
def test_a_budget_figure_keeps_its_significant_digits(value: float, sign: float, unit: str,
                                                      digits: int) -> None:
    v = sign * value
    text = format_significant(v, unit, digits)
    shown = parse(text, unit)
    # rounded to nearest at that many significant digits: within half a unit of the last
    assert abs(shown - v) <= 0.5 * 10.0 ** (math.floor(math.log10(abs(v))) - digits + 1) * (1 + 1e-9)
    written = text.split(" ")[0].lstrip("-")
    figures = written.replace(".", "").lstrip("0") if "." in written else written.strip("0")
    assert len(figures) <= digits  # no more digits than asked (zeros that only place the point aside)
