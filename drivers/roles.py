"""What a procedure or the engine may ask of an instrument, by role.

The engine and procedures depend on these protocols, never on a model
(after Bluesky's ``protocols.py``). A driver satisfies a role by
implementing its methods; `tests/drivers/test_conventions.py` checks that
every registered driver does.

Units: every quantity passed to or returned from a role method is in the
SI unit of its `Function` (``Function.DCV.unit == "V"``; temperature in
degrees Celsius).

Capabilities are small protocols that combine (after Bluesky's
``protocols.py``): a procedure's role asks for one or more of them, and the
plan check matches an instrument to the role by what its driver can do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable


class Function(StrEnum):
    """A measurement function, with its unit. The value is what the run
    file's ``function`` column and a datasheet's ``[functions.X]`` hold."""

    DCV = "DCV"
    DCI = "DCI"
    ACV = "ACV"
    ACI = "ACI"
    R2W = "R2W"  # 2-wire resistance
    R4W = "R4W"  # 4-wire resistance
    TEMP = "TEMP"
    PRES = "PRES"

    @property
    def unit(self) -> str:
        return _UNITS[self]

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def is_ac(self) -> bool:
        return self in (Function.ACV, Function.ACI)


#: Units as the certificate prints them (Windows-1252 text: "Ohm", not the Greek letter).
_UNITS: dict[Function, str] = {
    Function.DCV: "V", Function.DCI: "A", Function.ACV: "V", Function.ACI: "A",
    Function.R2W: "Ohm", Function.R4W: "Ohm", Function.TEMP: "\u00b0C", Function.PRES: "Pa",
}
_DESCRIPTIONS: dict[Function, str] = {
    Function.DCV: "DC voltage", Function.DCI: "DC current", Function.ACV: "AC voltage",
    Function.ACI: "AC current", Function.R2W: "resistance, 2-wire", Function.R4W: "resistance, 4-wire",
    Function.TEMP: "temperature", Function.PRES: "pressure",
}


@dataclass(frozen=True)
class Identity:
    """What an instrument says it is (IEEE-488.2 ``*IDN?``)."""

    manufacturer: str
    model: str
    serial: str
    firmware: str
    raw: str

    @classmethod
    def from_idn(cls, reply: str) -> Identity:
        """Parse ``MANUFACTURER,MODEL,SERIAL,FIRMWARE``; missing fields are ''.

        Lenient (any text gives an `Identity`, never an exception): drivers
        check the reply's format before (`drivers.base.MessageInstrument.identify`)."""
        fields = [f.strip() for f in reply.strip().split(",")]
        fields += [""] * (4 - len(fields))
        return cls(fields[0], fields[1], fields[2], ",".join(fields[3:]).strip(","), reply.strip())

    def matches(self, manufacturers: tuple[str, ...], models: tuple[str, ...]) -> bool:
        """True if the maker is one of ``manufacturers`` (case-insensitive,
        a prefix is enough: 'HEWLETT-PACKARD' and 'Agilent' for Keysight) and
        the model is one of ``models``. A generic driver lists ``"*"``: any
        maker or model it names matches."""
        maker = self.manufacturer.upper()
        model = re.sub(r"\s+", "", self.model.upper())
        return any(m == "*" or maker.startswith(m.upper()) for m in manufacturers) and any(
            m == "*" or model == re.sub(r"\s+", "", m.upper()) for m in models
        )


@runtime_checkable
class Instrument(Protocol):
    """Anything on the bench."""

    #: Names the manufacturer may give in ``*IDN?`` (first field).
    manufacturers: ClassVar[tuple[str, ...]]
    #: Models this driver speaks to (second field of ``*IDN?``).
    models: ClassVar[tuple[str, ...]]

    @property
    def name(self) -> str:
        """The instrument's name on this bench, used in logs and errors."""
        ...

    def identify(self) -> Identity:
        """Ask the instrument what it is (``*IDN?`` or its equivalent)."""
        ...

    def initialize(self) -> None:
        """Put the instrument under remote control in a known state, with an
        empty error queue. Raises `InstrumentError` on an instrument error."""
        ...

    def close(self) -> None:
        """Release the connection. Does not change the instrument's state."""
        ...


@runtime_checkable
class SafeState(Protocol):
    """Capability: an instrument with a state safe to leave and to touch
    (no output, heating stopped or held at a safe temperature, vented)."""

    def safe_state(self) -> None:
        """Make the instrument safe. Must be attempted on every way a run
        ends, for every instrument that has it; tries every step even if
        one fails, then raises the first failure."""
        ...


@runtime_checkable
class Source(Instrument, SafeState, Protocol):
    """Capability: applies a quantity (a multifunction calibrator; a
    calibrator as the DUT)."""

    def output_limits(self, function: Function) -> tuple[float, float]:
        """Lowest and highest value it can output for ``function``."""
        ...

    def set_output(self, function: Function, value: float, frequency: float = 0.0) -> None:
        """Program the output (``frequency`` in Hz for an AC function, 0
        for DC); does not change operate/standby."""
        ...

    def operate(self) -> None:
        """Connect the output to the terminals."""
        ...

    def standby(self) -> None:
        """Disconnect the output from the terminals."""
        ...

    def wait_settled(self, timeout_s: float) -> None:
        """Wait on the bench's clock until the output reports settled.
        Raises `InstrumentTimeout` if it does not within ``timeout_s``."""
        ...


@runtime_checkable
class Indicator(Instrument, Protocol):
    """Capability: shows a value that is read (a temperature indicator, a
    thermometer readout, a gauge; every meter is one)."""

    def read(self) -> float:
        """Take one reading, in the SI unit of its function."""
        ...

    def resolution(self) -> float:
        """The size of one least significant digit of the present reading."""
        ...


@runtime_checkable
class Meter(Indicator, Protocol):
    """Capability: measures a quantity on a chosen function and range (a DMM)."""

    def ranges(self, function: Function) -> tuple[float, ...]:
        """The full-scale values of its ranges for ``function``, ascending."""
        ...

    def configure(self, function: Function, range_: float, nplc: float) -> None:
        """Select function, a fixed range and the integration time."""
        ...

    def resolution_for(self, function: Function, range_: float, nplc: float) -> float:
        """The resolution `configure(function, range_, nplc)` would give,
        without talking to the instrument (for the plan)."""
        ...

    def read_many(self, n: int) -> list[float]:
        """Take ``n`` readings from one trigger, transferred together
        (faster on the bus; the readings share one arrival time)."""
        ...


@runtime_checkable
class Readout(Indicator, Protocol):
    """Capability: a reference thermometer readout: `read` gives the
    temperature of the probe on its measuring channel, in degrees Celsius,
    from the probe's coefficients held in the readout."""

    def select_channel(self, channel: int) -> None:
        """Measure on ``channel`` (1-based)."""
        ...


@runtime_checkable
class Controller(Instrument, SafeState, Protocol):
    """Capability: holds a quantity at a setpoint and judges when it is
    stable (a dry-well or bath, a pressure controller)."""

    def setpoint_limits(self, function: Function) -> tuple[float, float]:
        """Lowest and highest setpoint for ``function``."""
        ...

    def set_setpoint(self, function: Function, value: float) -> None:
        """Program the setpoint and enable control."""
        ...

    def actual(self) -> float:
        """The controlled quantity now, as its own sensor reads it."""
        ...

    def is_stable(self) -> bool:
        """True when the controlled quantity has stayed within the
        controller's stability limit of the setpoint (its own judgement)."""
        ...


@runtime_checkable
class Adjustable(Instrument, Protocol):
    """Capability: an instrument the station can adjust (its own calibration
    adjustment, e.g. a DMM's ``CAL:VAL``/``CAL?``), between the as-found
    and the as-left points."""

    def adjust(self, function: Function, range_: float, applied: float) -> None:
        """Adjust the present function and range so that it reads
        ``applied``, the value the standard applies to it now: at zero its
        offset, elsewhere its gain. Raises `InstrumentError` if the
        instrument refuses (secured, value out of its adjustment range)."""
        ...


@runtime_checkable
class Ambient(Instrument, Protocol):
    """Capability: reads the ambient conditions of the laboratory (a
    thermo-hygrometer), for the run's record and its limits."""

    def conditions(self) -> tuple[float, float]:
        """(temperature in degrees Celsius, relative humidity in %) now."""
        ...


@runtime_checkable
class SelfChecking(Protocol):
    """An instrument whose driver can confirm, after a point, that nothing
    changed behind its back (a reset, a power cut, a corrupted command)."""

    def confirm_state(self) -> None:
        """Raise InstrumentError (one line, naming the instrument and what differs) unless the
        instrument is still exactly in the state this driver last put it in, with an empty error queue.
        Called by the engine after every point, before the point is recorded: a reset, a power
        cycle, a corrupted command or a queued error makes the point's readings invalid."""
        ...


#: The capabilities a procedure's role may ask for, by name (docs, messages).
CAPABILITIES: dict[str, type] = {
    "Source": Source, "Meter": Meter, "Indicator": Indicator, "Readout": Readout,
    "Controller": Controller, "Ambient": Ambient, "Adjustable": Adjustable, "SafeState": SafeState, "SelfChecking": SelfChecking,
}


def capabilities_of(instrument: object) -> tuple[str, ...]:
    """The names of the capabilities ``instrument`` has."""
    return tuple(name for name, cap in CAPABILITIES.items() if isinstance(instrument, cap))
