"""One datasheet per instrument model, as data: a TOML file beside its driver.

The driver, its simulator and the metrology read the same file, so a
number the maker prints is typed once. The layout (docs/drivers.md points here)::

    [datasheet]
    manufacturer = "Keysight"
    models = ["34401A"]
    kind = "6.5-digit digital multimeter"
    source = "Keysight 34401A data sheet 5968-0162EN, 2007"
    unverified = ["what was not checked against the document"]

    [functions.DCV]
    ranges = [0.1, 1, 10, 100, 1000]      # full scale of each range
    overrange = 1.2                        # a meter reads to 120 % of range
    limits = [-1020, 1020]                 # what a source outputs / a controller holds
    frequency = [10, 300000]               # AC: the band it covers, Hz
    nplc = [0.02, 0.2, 1, 10, 100]         # integration times...
    digits = [4.5, 5.5, 5.5, 6.5, 6.5]     # ...the digits each gives
    noise_range_pct = [0.01, 0.001, 0.001, 0, 0]  # ...and the noise each adds
    resolution = 1e-6                      # or one fixed digit (an indicator)

    [[functions.DCV.accuracy]]
    interval = "1y"                        # 24h, 90d, 1y, 2y
    conditions = "Tcal +/- 5 C"
    rows = [{ range = 10, reading_pct = 0.0035, range_pct = 0.0005 }, ...]

    [functions.DCV.tempco]                 # added per degree outside the band
    band = [18, 28]
    rows = [{ range = 10, reading_pct = 0.0005, range_pct = 0.0001 }, ...]

    [functions.TEMP.performance]           # a controller's named figures
    stability = 0.01                       # or [{ to = 100, value = 0.01 }, ...]

A row's terms, in every form makers print: ``reading_pct``,
``reading_ppm`` (of reading or of output), ``range_pct``, ``range_ppm``,
``floor`` (absolute, in the function's unit), ``counts`` (of the
resolution). A row applies to one range (``range``: its full scale, > 0, or the
top of a source's range), to a band of values (``from``, ``to``) and to a
band of frequencies (``frequency = [low, high]``, AC). A malformed file is
refused in one line naming the file, the key and what was expected.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import cache
from pathlib import Path
from typing import Any

from drivers.errors import CalstationError
from drivers.roles import Function

INTERVALS = ("24h", "90d", "1y", "2y")
_TERMS = {"reading_pct": Decimal("1e-2"), "reading_ppm": Decimal("1e-6"), "range_pct": Decimal("1e-2"),
          "range_ppm": Decimal("1e-6"), "floor": Decimal(1), "counts": Decimal(1)}
_ROW_KEYS = {"range", "from", "to", "frequency", *_TERMS}


class DatasheetError(CalstationError):
    """A datasheet that does not parse, or lacks what a point needs."""


def _exact(x: float | Decimal) -> Decimal:
    """A number as it was written: a float's shortest decimal representation."""
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


@dataclass(frozen=True)
class Terms:
    """+/-(reading x |value| + range x full scale + floor + counts x digit).

    The fractions as floats (for simulators drawing errors) and exactly, as
    the datasheet writes them (``exact``: 0.0035 % of reading is 3.5e-5, not
    the binary float nearest it); `half_width` computes in decimal
    arithmetic, so a 100 mV range's limit of 8.5 uV is 8.5 uV."""

    reading: float = 0.0  # fraction of reading (or of output)
    range: float = 0.0  # fraction of the range's full scale
    floor: float = 0.0  # absolute, in the function's unit
    counts: float = 0.0  # digits of the resolution
    exact: tuple[Decimal, Decimal, Decimal, Decimal] | None = field(default=None, compare=False, repr=False)

    def exact_half_width(self, value: float, full_scale: float, digit: float = 0.0) -> Decimal:
        reading, range_, floor, counts = self.exact or tuple(_exact(x) for x in (
            self.reading, self.range, self.floor, self.counts))
        with localcontext() as ctx:
            ctx.prec = 50
            return (reading * abs(_exact(value)) + range_ * _exact(full_scale) + floor
                    + counts * _exact(digit))

    def half_width(self, value: float, full_scale: float, digit: float = 0.0) -> float:
        """The limit, computed exactly and rounded once to a float."""
        return float(self.exact_half_width(value, full_scale, digit))

    def describe(self, unit: str) -> str:
        parts = []
        if self.reading:
            parts.append(f"{self.reading * 1e2:.6g} % of reading")
        if self.range:
            parts.append(f"{self.range * 1e2:.6g} % of range")
        if self.floor:
            parts.append(f"{self.floor:.6g} {unit}")
        if self.counts:
            parts.append(f"{self.counts:g} counts")
        return " + ".join(parts) or "0"


@dataclass(frozen=True)
class Row:
    """One line of a specification table."""

    terms: Terms
    range: float | None = None
    low: float = -math.inf  # band of values it applies to
    high: float = math.inf
    f_low: float = 0.0  # band of frequencies (Hz), AC
    f_high: float = math.inf

    def applies(self, value: float, range_: float | None, frequency: float) -> bool:
        if range_ is not None and self.range is not None and not math.isclose(self.range, range_, rel_tol=1e-9):
            return False
        if range_ is None and self.range is not None and abs(value) > self.range * (1 + 1e-12):
            return False
        return self.low <= value <= self.high and self.f_low <= frequency <= self.f_high


@dataclass(frozen=True)
class Table:
    """A specification table: rows, and the conditions it holds under."""

    rows: tuple[Row, ...]
    interval: str = ""
    conditions: str = ""
    band: tuple[float, float] | None = None  # tempco: the temperature band the accuracy holds in

    def row(self, value: float, range_: float | None, frequency: float) -> Row | None:
        """The first row that applies (rows are ascending, so a source
        ranging itself gets its smallest range that holds the value)."""
        return next((r for r in self.rows if r.applies(value, range_, frequency)), None)


@dataclass(frozen=True)
class Spec:
    """A bound specification: one function of one model, one interval."""

    sheet: FunctionSheet
    interval: str

    @property
    def table(self) -> Table:
        return self.sheet.accuracy[self.interval]

    def row(self, value: float, range_: float | None = None, frequency: float = 0.0) -> Row:
        """The row that applies at ``value`` (on ``range_``, at ``frequency``);
        `DatasheetError` naming the value and what is covered otherwise."""
        found = self.table.row(value, range_, frequency)
        if found is None:
            unit = self.sheet.function.unit
            where = f"{value:g} {unit}" + (f" on the {range_:g} {unit} range" if range_ is not None else "")
            where += f" at {frequency:g} Hz" if self.sheet.function.is_ac else ""
            raise DatasheetError(f"{self.sheet.datasheet}: {self.describe()} does not cover {where} "
                                 f"({self.covers()}); choose a point it covers")
        return found

    def half_width(self, value: float, range_: float | None = None, frequency: float = 0.0,
                   digit: float = 0.0) -> float:
        """The specification limit (+/-) at ``value``, in the function's unit."""
        r = self.row(value, range_, frequency)
        full = r.range if r.range is not None else (range_ or 0.0)
        return r.terms.half_width(value, full, digit)

    def covers(self) -> str:
        unit = self.sheet.function.unit
        ranges = sorted({r.range for r in self.table.rows if r.range is not None})
        if ranges:
            return "ranges " + ", ".join(f"{x:g}" for x in ranges) + f" {unit}"
        lows = min(r.low for r in self.table.rows)
        highs = max(r.high for r in self.table.rows)
        return f"{lows:g} to {highs:g} {unit}"

    def describe(self) -> str:
        ds = self.sheet.sheet
        return (f"{ds.manufacturer} {ds.models[0]} {self.sheet.function.description}, {self.interval}"
                f" ({ds.source})")


@dataclass(frozen=True)
class FunctionSheet:
    """What a datasheet says about one function."""

    function: Function
    datasheet: str  # the file, for messages
    sheet: Datasheet = field(repr=False, compare=False)
    ranges: tuple[float, ...] = ()
    overrange: float = 1.0
    limits: tuple[float, float] | None = None
    frequency: tuple[float, float] | None = None
    nplc: tuple[float, ...] = ()
    digits: tuple[float, ...] = ()
    #: Additional noise error at each integration time, as a fraction of
    #: range (a DMM's "performance versus integration time" table), added
    #: to the accuracy at that integration time (`noise`).
    noise_of_range: tuple[Decimal, ...] = ()
    fixed_resolution: float = 0.0
    accuracy: Mapping[str, Table] = field(default_factory=dict)
    tempco: Table | None = None
    performance: Mapping[str, Table] = field(default_factory=dict)

    def spec(self, interval: str) -> Spec:
        if interval not in self.accuracy:
            have = ", ".join(self.accuracy) or "none"
            raise DatasheetError(f"{self.datasheet}: no {interval} accuracy for {self.function} "
                                 f"(it has: {have}); use one of those or add the table")
        return Spec(self, interval)

    def digit(self, range_: float, nplc: float = 0.0) -> float:
        """One least significant digit on ``range_`` at ``nplc``: the fixed
        resolution, or range x 10^-int(digits) (6.5 digits: 1e-6 of range)."""
        if self.fixed_resolution:
            return self.fixed_resolution
        if not self.nplc:
            raise DatasheetError(f"{self.datasheet}: functions.{self.function} has no resolution "
                                 "(nplc and digits, or resolution)")
        for n, d in zip(self.nplc, self.digits, strict=True):
            if math.isclose(n, nplc, rel_tol=1e-9):
                return range_ * 10.0 ** -int(d)
        raise DatasheetError(f"{self.datasheet}: {self.function} has no integration time of {nplc:g} "
                             f"PLC; use one of {', '.join(f'{n:g}' for n in self.nplc)}")

    def noise(self, range_: float, nplc: float) -> float:
        """The additional noise error (+/-) at ``nplc`` on ``range_``: 0 where
        the datasheet gives none."""
        for n, fraction in zip(self.nplc, self.noise_of_range, strict=False):
            if math.isclose(n, nplc, rel_tol=1e-9):
                return float(fraction * _exact(range_))
        return 0.0

    def tempco_extra(self, value: float, range_: float | None, temperature: float | None) -> float:
        """What the temperature coefficient adds to the accuracy at ambient
        ``temperature`` (degrees C): the tempco row's limit per degree times
        the degrees outside the band the accuracy holds in; 0 inside the
        band, without a tempco, or with no temperature known."""
        if temperature is None or self.tempco is None or self.tempco.band is None:
            return 0.0
        low, high = self.tempco.band
        degrees = max(low - temperature, temperature - high, 0.0)
        if not degrees:
            return 0.0
        row = self.tempco.row(value, range_, 0.0)
        if row is None:
            raise DatasheetError(f"{self.datasheet}: functions.{self.function}.tempco has no row for "
                                 f"{value:g} {self.function.unit}; extend it")
        full = row.range if row.range is not None else (range_ or 0.0)
        return float(row.terms.exact_half_width(value, full) * _exact(degrees))

    def range_for(self, value: float) -> float:
        """The smallest range whose full scale holds ``value``."""
        for r in self.ranges:
            if abs(value) <= r * (1 + 1e-12):
                return r
        raise DatasheetError(f"{self.datasheet}: {abs(value):g} {self.function.unit} is above the "
                             f"highest {self.function} range ({self.ranges[-1]:g}); choose a lower point")

    def has_range(self, range_: float) -> bool:
        return any(math.isclose(r, range_, rel_tol=1e-9) for r in self.ranges)

    def figure(self, name: str, value: float) -> float:
        """A named performance figure (a controller's stability, uniformity)
        at ``value``."""
        table = self.performance.get(name)
        if table is None:
            raise DatasheetError(f"{self.datasheet}: functions.{self.function}.performance has no {name!r}; "
                                 "add it from the maker's specification")
        row = table.row(value, None, 0.0)
        if row is None:
            raise DatasheetError(f"{self.datasheet}: {name} is not given at {value:g} "
                                 f"{self.function.unit}; extend its table")
        return row.terms.half_width(value, 0.0)


@dataclass(frozen=True)
class Datasheet:
    """One model's datasheet."""

    path: Path
    manufacturer: str
    models: tuple[str, ...]
    kind: str
    source: str
    unverified: tuple[str, ...]
    functions: Mapping[Function, FunctionSheet]

    def function(self, function: Function | str) -> FunctionSheet:
        try:
            return self.functions[Function(function)]
        except (KeyError, ValueError):
            have = ", ".join(self.functions) or "none"
            raise DatasheetError(f"{self.path.name}: {self.manufacturer} {self.models[0]} has no "
                                 f"{function} function in its datasheet (it has: {have}); "
                                 "choose another instrument or add the function") from None


# -- loading -------------------------------------------------------------------


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str, got: object = None) -> DatasheetError:
        shown = "" if got is None else f", got {got!r}"[:80]
        return DatasheetError(f"{self.path}: {key}: expected {expected}{shown}; fix the datasheet")

    def table(self, data: Mapping[str, Any], key: str, required: bool = True) -> Mapping[str, Any]:
        value = data.get(key.rsplit(".", 1)[-1])
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        return value

    def text(self, data: Mapping[str, Any], key: str, required: bool = True) -> str:
        value = data.get(key.rsplit(".", 1)[-1], None if required else "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(key, "a non-empty string", value)
        return value

    def number(self, value: object, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, "a number", value)
        return float(value)

    def full_scale(self, value: object, key: str) -> float:
        """A range: its full scale, a number > 0."""
        number = self.number(value, key)
        if number <= 0:
            raise self.fail(key, "a range's full scale, a number > 0", value)
        return number

    def numbers(self, data: Mapping[str, Any], key: str, count: int | None = None,
                ascending: bool = False, ranges: bool = False) -> tuple[float, ...]:
        value = data.get(key.rsplit(".", 1)[-1], [])
        if not isinstance(value, list):
            raise self.fail(key, "a list of numbers", value)
        one = self.full_scale if ranges else self.number
        out = tuple(one(v, f"{key}[{i}]") for i, v in enumerate(value))
        if count is not None and out and len(out) != count:
            raise self.fail(key, f"{count} numbers", value)
        if ascending and list(out) != sorted(out):
            raise self.fail(key, "numbers in ascending order", value)
        return out

    def pair(self, data: Mapping[str, Any], key: str) -> tuple[float, float] | None:
        got = self.numbers(data, key, 2)
        if not got:
            return None
        if got[0] > got[1]:
            raise self.fail(key, "[low, high] with low <= high", list(got))
        return got[0], got[1]

    def rows(self, data: Mapping[str, Any], key: str) -> tuple[Row, ...]:
        raw = data.get("rows")
        if not isinstance(raw, list) or not raw:
            raise self.fail(f"{key}.rows", "a non-empty list of rows", raw)
        out = []
        for i, item in enumerate(raw):
            where = f"{key}.rows[{i}]"
            if not isinstance(item, dict):
                raise self.fail(where, "a table such as { range = 10, reading_pct = 0.0035 }", item)
            unknown = sorted(set(item) - _ROW_KEYS)
            if unknown:
                raise self.fail(f"{where}.{unknown[0]}", "one of " + ", ".join(sorted(_ROW_KEYS)), unknown[0])
            terms = {name: _exact(self.number(item[name], f"{where}.{name}")) * scale
                     for name, scale in _TERMS.items() if name in item}
            if not terms:
                raise self.fail(where, "at least one term (" + ", ".join(_TERMS) + ")", item)
            if any(v < 0 for v in terms.values()):
                raise self.fail(where, "terms >= 0", item)
            zero = Decimal(0)
            exact = (terms.get("reading_pct", zero) + terms.get("reading_ppm", zero),
                     terms.get("range_pct", zero) + terms.get("range_ppm", zero),
                     terms.get("floor", zero), terms.get("counts", zero))
            t = Terms(float(exact[0]), float(exact[1]), float(exact[2]), float(exact[3]), exact=exact)
            freq = self.pair(item, f"{where}.frequency") if "frequency" in item else None
            out.append(Row(
                t,
                range=self.full_scale(item["range"], f"{where}.range") if "range" in item else None,
                low=self.number(item["from"], f"{where}.from") if "from" in item else -math.inf,
                high=self.number(item["to"], f"{where}.to") if "to" in item else math.inf,
                f_low=freq[0] if freq else 0.0, f_high=freq[1] if freq else math.inf,
            ))
        return tuple(out)

    def function(self, sheet: Datasheet, name: str, data: Any) -> FunctionSheet:
        key = f"functions.{name}"
        try:
            function = Function(name)
        except ValueError:
            raise self.fail(key, "a function, one of " + ", ".join(f.value for f in Function), name) from None
        if not isinstance(data, dict):
            raise self.fail(key, "a table", data)
        ranges = self.numbers(data, f"{key}.ranges", ascending=True, ranges=True)
        nplc = self.numbers(data, f"{key}.nplc", ascending=True)
        digits = self.numbers(data, f"{key}.digits", len(nplc) if nplc else None)
        if bool(nplc) != bool(digits):
            raise self.fail(f"{key}.digits", "as many digits as nplc values", data.get("digits"))
        noise = self.numbers(data, f"{key}.noise_range_pct", len(nplc) if nplc else None)
        if noise and not nplc:
            raise self.fail(f"{key}.noise_range_pct", "nplc values it belongs to", data.get("noise_range_pct"))
        accuracy: dict[str, Table] = {}
        raw_acc = data.get("accuracy", [])
        if not isinstance(raw_acc, list):
            raise self.fail(f"{key}.accuracy", "a list of tables ([[functions.X.accuracy]])", raw_acc)
        for i, item in enumerate(raw_acc):
            where = f"{key}.accuracy[{i}]"
            if not isinstance(item, dict):
                raise self.fail(where, "a table", item)
            interval = self.text(item, f"{where}.interval")
            if interval not in INTERVALS:
                raise self.fail(f"{where}.interval", "one of " + ", ".join(INTERVALS), interval)
            if interval in accuracy:
                raise self.fail(f"{where}.interval", "each interval once", interval)
            accuracy[interval] = Table(self.rows(item, where), interval,
                                       self.text(item, f"{where}.conditions", required=False))
        tempco = None
        if "tempco" in data:
            t = self.table(data, f"{key}.tempco")
            tempco = Table(self.rows(t, f"{key}.tempco"), band=self.pair(t, f"{key}.tempco.band"))
        performance: dict[str, Table] = {}
        for pname, pvalue in self.table(data, f"{key}.performance", required=False).items():
            where = f"{key}.performance.{pname}"
            if isinstance(pvalue, list):
                performance[pname] = Table(self.rows({"rows": [
                    {"floor": v.get("value"), **{k: x for k, x in v.items() if k != "value"}}
                    if isinstance(v, dict) else v for v in pvalue]}, where))
            else:
                performance[pname] = Table((Row(Terms(floor=self.number(pvalue, where))),))
        resolution = data.get("resolution", 0.0)
        return FunctionSheet(
            function=function, datasheet=self.path.name, sheet=sheet, ranges=ranges,
            overrange=self.number(data.get("overrange", 1.0), f"{key}.overrange"),
            limits=self.pair(data, f"{key}.limits"), frequency=self.pair(data, f"{key}.frequency"),
            nplc=nplc, digits=digits, noise_of_range=tuple(_exact(x) * Decimal("1e-2") for x in noise),
            fixed_resolution=self.number(resolution, f"{key}.resolution"),
            accuracy=accuracy, tempco=tempco, performance=performance,
        )

    def load(self) -> Datasheet:
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DatasheetError(f"{self.path}: no such datasheet; put the model's TOML datasheet "
                                 "beside its driver") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise DatasheetError(f"{self.path}: not valid TOML ({e}); fix the datasheet") from None
        head = self.table(data, "datasheet")
        models = head.get("models")
        if not isinstance(models, list) or not models or not all(isinstance(m, str) and m for m in models):
            raise self.fail("datasheet.models", "a non-empty list of model names", models)
        unverified = head.get("unverified", [])
        if not isinstance(unverified, list) or not all(isinstance(u, str) for u in unverified):
            raise self.fail("datasheet.unverified", "a list of strings", unverified)
        functions: dict[Function, FunctionSheet] = {}
        sheet = Datasheet(self.path, self.text(head, "datasheet.manufacturer"), tuple(models),
                          self.text(head, "datasheet.kind"), self.text(head, "datasheet.source"),
                          tuple(unverified), functions)
        for name, fdata in self.table(data, "functions").items():
            fs = self.function(sheet, name, fdata)
            functions[fs.function] = fs
        if not functions:
            raise self.fail("functions", "at least one function")
        return sheet


@cache
def load(path: Path | str) -> Datasheet:
    """The datasheet in ``path`` (read once per process)."""
    return _Reader(Path(path)).load()


@cache
def beside(module_file: str, name: str) -> Path:
    """The datasheet ``name`` in the folder of ``module_file`` (a driver's ``__file__``)."""
    return Path(module_file).resolve().with_name(name)


def describe_rows(spec: Spec, unit: str) -> Sequence[str]:
    """Each row of a specification, as a line for people."""
    out = []
    for r in spec.table.rows:
        where = f"{r.range:g} {unit} range" if r.range is not None else f"{r.low:g} to {r.high:g} {unit}"
        if r.f_high != math.inf or r.f_low:
            where += f", {r.f_low:g} Hz to {r.f_high:g} Hz"
        out.append(f"{where}: +/-({r.terms.describe(unit)})")
    return out
