"""Every registered driver follows the house conventions."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from drivers import registry
from drivers.clock import VirtualClock
from drivers.registry import DRIVERS, load_driver, load_simulator
from drivers.roles import (
    CAPABILITIES,
    Ambient,
    Controller,
    Function,
    Indicator,
    Instrument,
    Meter,
    Readout,
    SafeState,
    SelfChecking,
    Source,
    capabilities_of,
)
from drivers.sim.base import SimulatedInstrument
from drivers.transport import open_transport
from tests.drivers.protocol import ProtocolTransport

KEYS = sorted(DRIVERS)
#: The capabilities a driver may be used for; each driver has at least one.
USES: tuple[type, ...] = (Source, Meter, Indicator, Readout, Controller, Ambient)


def make(key: str):
    return load_driver(key)(ProtocolTransport([], name=key), VirtualClock())


@pytest.mark.parametrize("key", KEYS)
def test_driver_has_capabilities_a_role_can_ask_for(key):
    driver = make(key)
    assert isinstance(driver, Instrument)
    assert any(isinstance(driver, cap) for cap in USES), f"{key}: {capabilities_of(driver)}"
    assert driver.name == key
    assert driver.manufacturers and driver.models


@pytest.mark.parametrize("key", KEYS)
def test_driver_has_a_datasheet_of_its_models(key):
    sheet = registry.datasheet(key)
    driver = make(key)
    assert sheet.path == DRIVERS[key].datasheet_path and sheet.path.parent == Path(
        inspect.getfile(type(driver))).parent
    assert sheet.source.strip()
    assert set(sheet.models) <= set(driver.models) or driver.models == ("*",)
    for function, fs in sheet.functions.items():
        assert function.unit and function.unit != function.value
        assert fs.accuracy or fs.performance, f"{key}: {function} has no accuracy"


@pytest.mark.parametrize("key", KEYS)
def test_driver_is_documented(key):
    cls = load_driver(key)
    assert inspect.getdoc(cls)
    assert inspect.getdoc(inspect.getmodule(cls))
    driver = make(key)
    for cap in (c for c in CAPABILITIES.values() if isinstance(driver, c)):
        for name in dir(cap):
            if name.startswith("_") or name in ("manufacturers", "models"):
                continue
            member = getattr(cls, name)
            doc = inspect.getdoc(member.fget if isinstance(member, property) else member)
            assert doc and doc != inspect.getdoc(getattr(cap, name)), f"{key}.{name} has no docstring of its own"


@pytest.mark.parametrize("key", KEYS)
def test_driver_confirms_its_state_after_each_point_or_says_why_it_cannot(key):
    driver = make(key)
    if not isinstance(driver, SelfChecking):
        # an instrument with no error queue or status register: the driver says so
        assert "confirm_state" in (inspect.getdoc(type(driver)) or ""), f"{key} has no confirm_state()"
        return
    doc = inspect.getdoc(type(driver).confirm_state)
    assert doc and doc != inspect.getdoc(SelfChecking.confirm_state)
    assert "exchange" in doc, f"{key}.confirm_state must say how many exchanges it costs"


@pytest.mark.parametrize("key", KEYS)
def test_what_energises_has_a_safe_state(key):
    driver = make(key)
    if isinstance(driver, Source | Controller):
        assert isinstance(driver, SafeState)


@pytest.mark.parametrize("key", KEYS)
def test_driver_has_a_simulator_that_identifies_as_its_model(key):
    sim_cls = load_simulator(key)
    assert issubclass(sim_cls, SimulatedInstrument)
    sim = sim_cls(name=key)
    cls = load_driver(key)
    transport = open_transport("sim://s", name=key, simulators={"s": sim},
                               read_termination=getattr(cls, "read_termination", "\n"))
    driver = cls(transport, sim.clock)
    identity = driver.identify()  # *IDN?, or the model's own query (the 3458A's ID?)
    assert identity.matches(driver.manufacturers, driver.models)


@pytest.mark.parametrize("key", [k for k in KEYS if isinstance(make(k), Source)])
def test_source_safe_state_makes_its_simulator_safe(key):
    sim = load_simulator(key)()
    transport = open_transport("sim://s", name=key, simulators={"s": sim})
    source = load_driver(key)(transport, sim.clock)
    assert isinstance(source, Source)
    function = Function.DCV
    low, high = source.output_limits(function)
    source.set_output(function, min(high, 10.0))
    source.operate()
    assert sim.operating is True and sim.output_value != 0.0
    source.safe_state()
    assert sim.operating is False
    assert sim.output_value == 0.0
