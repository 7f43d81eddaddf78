"""The driver registry: how the core finds a driver without importing it.

A bench configuration names a driver by key (``"fluke-5522a"``); the core
calls `load_driver` and gets the class, `datasheet` and gets the model's
datasheet. Each entry names the driver and its simulated twin; the
datasheet is the TOML file beside the driver's module
(``drivers/keysight/k34401a.py`` -> ``k34401a.toml``). What an instrument
can do (its capabilities, `drivers.roles`) is read from its driver class,
not written here. `tests/drivers/test_conventions.py` checks every entry.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from drivers import datasheet as ds
from drivers.errors import CalstationError


@dataclass(frozen=True)
class DriverEntry:
    key: str
    driver: str  # "module:Class"
    simulator: str  # "module:Class"

    @property
    def datasheet_path(self) -> Path:
        module = self.driver.partition(":")[0]
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise UnknownDriver(f"driver {self.key}: module {module} is not installed")
        return Path(spec.origin).with_suffix(".toml")


DRIVERS: dict[str, DriverEntry] = {
    e.key: e
    for e in (
        DriverEntry("fluke-5522a", "drivers.fluke.f5522a:Fluke5522A", "drivers.fluke.f5522a_sim:Sim5522A"),
        DriverEntry("keysight-34401a", "drivers.keysight.k34401a:Keysight34401A",
                    "drivers.keysight.k34401a_sim:Sim34401A"),
        DriverEntry("keysight-34461a", "drivers.keysight.k34461a:Keysight34461A", "drivers.keysight.k34461a_sim:Sim34461A"),
        DriverEntry("keysight-3458a", "drivers.keysight.k3458a:Keysight3458A",
                    "drivers.keysight.k3458a_sim:Sim3458A"),
        DriverEntry("fluke-9142", "drivers.fluke.f9142:Fluke9142", "drivers.fluke.f9142_sim:Sim9142"),
        DriverEntry("fluke-1524", "drivers.fluke.f1524:Fluke1524", "drivers.fluke.f1524_sim:Sim1524"),
        DriverEntry("fluke-1620a", "drivers.fluke.f1620a:Fluke1620A", "drivers.fluke.f1620a_sim:Sim1620A"),
        DriverEntry("generic-temperature-indicator", "drivers.generic.indicator:TemperatureIndicator",
                    "drivers.generic.indicator_sim:SimTemperatureIndicator"),
    )
}


class UnknownDriver(CalstationError):
    pass


def _load(path: str) -> type:
    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type)
    return cls


def entry(key: str) -> DriverEntry:
    try:
        return DRIVERS[key]
    except KeyError:
        known = ", ".join(sorted(DRIVERS))
        raise UnknownDriver(f"unknown driver {key!r}; use one of: {known}") from None


def load_driver(key: str) -> type:
    """The driver class registered under ``key``."""
    return _load(entry(key).driver)


def load_simulator(key: str) -> type:
    """The simulator class of the driver registered under ``key``."""
    return _load(entry(key).simulator)


@cache
def datasheet(key: str) -> ds.Datasheet:
    """The datasheet of the model the driver ``key`` speaks to (read once a process)."""
    return ds.load(entry(key).datasheet_path)
