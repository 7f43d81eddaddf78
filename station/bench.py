"""The bench: which instrument plays which role, where it is, and its standing.

A bench file (TOML) lists the instruments; the job file (TOML) says what is
calibrated for whom. Both are plain data; the engine checks them in the
plan before anything is energised.

    [[instrument]]
    role = "standard"
    driver = "fluke-5522a"
    resource = "GPIB0::4::INSTR"
    asset_id = "STD-0042"
    description = "Multifunction calibrator"
    calibrated_on = "2026-09-01"
    calibration_due = "2027-09-01"
    certificate = "NIM-2026-DC-0815"
    traceability = "National Institute of Metrology, China (NIM)"
    specification = "90d"
    distribution = "rectangular"

A reference thermometer's probe has its own certificate: its correction
(added to the readout's reading) and expanded uncertainty with its k::

    probe_certificate = "NIM-2026-T-0042"
    probe_correction = -0.004
    probe_uncertainty = 0.010
    probe_k = 2.0
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from station.errors import ConfigError


@dataclass(frozen=True)
class InstrumentConfig:
    role: str
    driver: str  # key in drivers.registry
    resource: str  # VISA resource, serial port/URL, or sim://name
    asset_id: str = ""
    description: str = ""
    calibrated_on: str = ""  # ISO date of the standard's last calibration
    calibration_due: str = ""  # ISO date; required for a standard
    certificate: str = ""  # the standard's calibration certificate
    traceability: str = ""
    #: Interval of the maker's specification used for it: 24h, 90d, 1y, 2y,
    #: or auto (the shortest its datasheet gives that covers the time since
    #: its calibration).
    specification: str = "auto"
    distribution: str = "rectangular"
    timeout_s: float = 2.0
    visa_library: str = "@py"
    baudrate: int = 9600
    serial: bool = False  # RS-232 line: drivers add their remote-mode commands
    #: Override the driver's terminations ("" keeps them): e.g. a 5522A on
    #: RS-232 ends its replies with CR LF, so read_termination = "\r\n".
    write_termination: str = ""
    read_termination: str = ""
    #: A reference probe's own calibration (thermometry): its certificate,
    #: the correction to add to its readings and its expanded uncertainty (k).
    probe_certificate: str = ""
    probe_correction: float = 0.0
    probe_uncertainty: float = 0.0
    probe_k: float = 2.0
    #: What the standard's component of a budget is: "specification" (its
    #: maker's, `specification` and `distribution`) or "certificate" (its own
    #: calibration certificate's expanded uncertainty, ppm of the value plus
    #: a floor in the function's unit, with its k).
    uncertainty_source: str = "specification"
    certificate_uncertainty_ppm: float = 0.0
    certificate_uncertainty_floor: float = 0.0
    certificate_k: float = 2.0
    #: Set by the register when a supervisor allowed a standard it would
    #: refuse (past its due date): "supervisor NAME: REASON". Not for bench files.
    override: str = ""

    def due_date(self) -> dt.date | None:
        return _date(self.calibration_due, f"instrument {self.role!r} calibration_due")

    def calibration_date(self) -> dt.date | None:
        return _date(self.calibrated_on, f"instrument {self.role!r} calibrated_on")


def _date(text: str, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what} = {text!r} is not a date; write it as YYYY-MM-DD") from None


@dataclass(frozen=True)
class BenchConfig:
    instruments: Mapping[str, InstrumentConfig]
    source: str = ""  # where it was read from

    @classmethod
    def load(cls, path: Path) -> BenchConfig:
        data = _read_toml(path, "bench")
        items = data.get("instrument")
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{path}: no [[instrument]] tables; list the bench's instruments")
        return cls.from_dicts(items, str(path))

    @classmethod
    def from_dicts(cls, items: list[Any], source: str = "") -> BenchConfig:
        known = {f.name: f for f in fields(InstrumentConfig) if f.name != "override"}
        out: dict[str, InstrumentConfig] = {}
        for i, item in enumerate(items):
            where = f"{source}: instrument #{i + 1}"
            if not isinstance(item, dict):
                raise ConfigError(f"{where} is not a table; write it as [[instrument]] with keys")
            unknown = set(item) - set(known)
            if unknown:
                raise ConfigError(f"{where} has unknown key(s) {sorted(unknown)}; {_near(unknown, known)}")
            for key in ("role", "driver", "resource"):
                if not item.get(key):
                    raise ConfigError(f"{where} needs {key!r}")
            values = {k: _typed(where, k, v, known[k].type) for k, v in item.items()}
            cfg = InstrumentConfig(**values)
            if cfg.role in out:
                raise ConfigError(f"{source}: two instruments have the role {cfg.role!r}")
            if not cfg.timeout_s > 0 or cfg.timeout_s > 3600:
                raise ConfigError(f"{where} timeout_s = {cfg.timeout_s:g}: give seconds between 0 and 3600")
            if cfg.baudrate <= 0:
                raise ConfigError(f"{where} baudrate = {cfg.baudrate}: give a positive number")
            try:
                cfg.due_date()
                cfg.calibration_date()
            except ConfigError as e:
                raise ConfigError(f"{source}: {e}") from None
            out[cfg.role] = cfg
        return cls(out, source)


def _near(unknown: set[str], known: Any) -> str:
    """A hint for a misspelt key: the closest known key, or where they are listed."""
    import difflib

    close = difflib.get_close_matches(sorted(unknown)[0], list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return hint + "the keys are listed in docs/cli.md (bench file)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _typed(where: str, key: str, value: Any, kind: Any) -> Any:
    """``value`` as the type the field ``key`` declares (str, float, int,
    bool), or a one-line `ConfigError` naming the key. A TOML date written
    without quotes is taken as its ISO text."""
    kind = str(kind)
    if kind == "str":
        if isinstance(value, dt.date):  # includes datetime
            return value.isoformat()
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} = {_show(value)} must be text; write it in quotes")
        if "\x00" in value:
            raise ConfigError(f"{where}: {key} contains a NUL character; remove it")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: {key} = {_show(value)} must be a number (without quotes)")
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key} = {_show(value)} must be a whole number (without quotes)")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} = {_show(value)} must be true or false")
        return value
    return value


@dataclass(frozen=True)
class Job:
    """What is calibrated, for whom, where, by whom (certificate header)."""

    lab_name: str = "Calibration Laboratory"
    lab_address: str = ""
    location: str = "Permanent laboratory facility"
    customer_name: str = ""
    customer_address: str = ""
    dut_description: str = ""
    dut_manufacturer: str = ""
    dut_model: str = ""
    dut_serial: str = ""
    dut_asset_id: str = ""
    dut_condition: str = "No visible damage; functional on receipt"
    date_received: str = ""
    operator: str = ""
    signatory: str = ""
    temperature_c: str = ""  # e.g. "23.0 +/- 1.0"
    humidity_pct: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Job:
        data = _read_toml(path, "job")
        known = {f.name for f in fields(cls)} - {"extra"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; known keys: {sorted(known)}")
        values: dict[str, Any] = {}
        for k, v in data.items():
            if isinstance(v, dict | list):
                raise ConfigError(f"{path}: {k} must be text, not a table or a list")
            text = v.isoformat() if isinstance(v, dt.date) else str(v)
            if "\x00" in text:
                raise ConfigError(f"{path}: {k} contains a NUL character; remove it")
            values[k] = text
        return cls(**values)

    def as_attrs(self) -> dict[str, str]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out.update(self.extra)
        return out


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file; check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a {what} file; give the file's path") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: the {what} file is not UTF-8 text (byte {e.start}); save it as "
                          "UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: malformed {what} file ({e}); fix the TOML") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what} file ({e.strerror or e}); check the "
                          "path and its permissions") from None
