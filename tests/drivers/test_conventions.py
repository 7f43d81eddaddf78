"""Every registered driver follows the house conventions."""

from __future__ import annotations

import inspect

import pytest

from drivers.clock import VirtualClock
from drivers.registry import DRIVERS, load_driver, load_simulator
from drivers.roles import Function, Identity, Instrument, Meter, SelfChecking, Source
from drivers.sim.base import SimulatedInstrument
from drivers.transport import open_transport
from tests.drivers.protocol import ProtocolTransport

KEYS = sorted(DRIVERS)
ROLES: dict[str, type] = {"source": Source, "meter": Meter}


def make(key: str):
    return load_driver(key)(ProtocolTransport([], name=key), VirtualClock())


@pytest.mark.parametrize("key", KEYS)
def test_driver_satisfies_its_role(key):
    entry = DRIVERS[key]
    driver = make(key)
    assert entry.role in ROLES, f"{key}: unknown role {entry.role!r}"
    assert isinstance(driver, Instrument)
    assert isinstance(driver, ROLES[entry.role])
    assert driver.name == key
    assert driver.manufacturers and driver.models


@pytest.mark.parametrize("key", KEYS)
def test_driver_is_documented(key):
    cls = load_driver(key)
    assert inspect.getdoc(cls)
    assert inspect.getdoc(inspect.getmodule(cls))
    role = ROLES[DRIVERS[key].role]
    for name in dir(role):
        if name.startswith("_") or name in ("manufacturers", "models"):
            continue
        member = getattr(cls, name)
        doc = inspect.getdoc(member.fget if isinstance(member, property) else member)
        assert doc and doc != inspect.getdoc(getattr(role, name)), f"{key}.{name} has no docstring of its own"


@pytest.mark.parametrize("key", KEYS)
def test_driver_confirms_its_state_after_each_point(key):
    driver = make(key)
    assert isinstance(driver, SelfChecking), f"{key} has no confirm_state()"
    doc = inspect.getdoc(type(driver).confirm_state)
    assert doc and doc != inspect.getdoc(SelfChecking.confirm_state)
    assert "exchange" in doc, f"{key}.confirm_state must say how many exchanges it costs"


@pytest.mark.parametrize("key", KEYS)
def test_driver_has_a_simulator_that_identifies_as_its_model(key):
    sim_cls = load_simulator(key)
    assert issubclass(sim_cls, SimulatedInstrument)
    sim = sim_cls(name=key)
    driver = make(key)
    identity = Identity.from_idn(sim.handle("*IDN?") or "")
    assert identity.matches(driver.manufacturers, driver.models)


@pytest.mark.parametrize("key", KEYS)
def test_every_function_has_a_unit(key):
    driver = make(key)
    functions = [f for f in Function if _supports(driver, f)]
    assert functions, f"{key} supports no function"
    for f in functions:
        assert f.unit and f.unit != f.value


def _supports(driver: object, function: Function) -> bool:
    try:
        if isinstance(driver, Source):
            driver.output_limits(function)
        elif isinstance(driver, Meter):
            driver.ranges(function)
        return True
    except Exception:
        return False


@pytest.mark.parametrize("key", [k for k in KEYS if DRIVERS[k].role == "source"])
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
