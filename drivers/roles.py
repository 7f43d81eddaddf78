"""What a procedure or the engine may ask of an instrument, by role.

The engine and procedures depend on these protocols, never on a model
(after Bluesky's ``protocols.py``). A driver satisfies a role by
implementing its methods; `tests/drivers/test_conventions.py` checks that
every registered driver does.

Units: every quantity passed to or returned from a role method is in the
SI unit of its `Function` (``Function.DCV.unit == "V"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable


class Function(StrEnum):
    """A measurement function, with its unit."""

    DCV = "DCV"

    @property
    def unit(self) -> str:
        return _UNITS[self]

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_UNITS: dict[Function, str] = {Function.DCV: "V"}
_DESCRIPTIONS: dict[Function, str] = {Function.DCV: "DC voltage"}


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
        the model is one of ``models``."""
        maker = self.manufacturer.upper()
        model = re.sub(r"\s+", "", self.model.upper())
        return any(maker.startswith(m.upper()) for m in manufacturers) and any(
            model == re.sub(r"\s+", "", m.upper()) for m in models
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
class Source(Instrument, Protocol):
    """A standard that applies a quantity (a multifunction calibrator)."""

    def output_limits(self, function: Function) -> tuple[float, float]:
        """Lowest and highest value it can output for ``function``."""
        ...

    def set_output(self, function: Function, value: float) -> None:
        """Program the output value (does not change operate/standby)."""
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

    def safe_state(self) -> None:
        """Make the terminals safe to touch (standby, output zero).
        Must be attempted on every way a run ends."""
        ...


@runtime_checkable
class Meter(Instrument, Protocol):
    """An instrument that measures a quantity (a DMM)."""

    def ranges(self, function: Function) -> tuple[float, ...]:
        """The full-scale values of its ranges for ``function``, ascending."""
        ...

    def configure(self, function: Function, range_: float, nplc: float) -> None:
        """Select function, a fixed range and the integration time."""
        ...

    def resolution(self) -> float:
        """The size of one least significant digit in the present
        configuration, in the function's unit."""
        ...

    def resolution_for(self, function: Function, range_: float, nplc: float) -> float:
        """The resolution `configure(function, range_, nplc)` would give,
        without talking to the instrument (for the plan)."""
        ...

    def read(self) -> float:
        """Take one reading in the present configuration."""
        ...

    def read_many(self, n: int) -> list[float]:
        """Take ``n`` readings from one trigger, transferred together
        (faster on the bus; the readings share one arrival time)."""
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
