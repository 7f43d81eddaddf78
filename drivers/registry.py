"""The driver registry: how the core finds a driver without importing it.

A bench configuration names a driver by key (``"fluke-5522a"``); the core
calls `load_driver` and gets the class. Each entry also names the
simulated twin, which `tests/drivers/test_conventions.py` requires.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from drivers.errors import CalstationError


@dataclass(frozen=True)
class DriverEntry:
    key: str
    driver: str  # "module:Class"
    simulator: str  # "module:Class"
    role: str  # "source" or "meter"


DRIVERS: dict[str, DriverEntry] = {
    e.key: e
    for e in (
        DriverEntry("fluke-5522a", "drivers.fluke.f5522a:Fluke5522A", "drivers.sim.fluke5522a:Sim5522A", "source"),
        DriverEntry("keysight-34401a", "drivers.keysight.k34401a:Keysight34401A", "drivers.sim.keysight34401a:Sim34401A", "meter"),
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
