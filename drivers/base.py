"""What every message-based driver shares (IEEE 488.2 instruments).

A driver subclasses `MessageInstrument` for its transport, clock, name,
``*IDN?`` and the check of the functions it drives, and adds the commands
of its model (see docs/drivers.md).
"""

from __future__ import annotations

from typing import ClassVar

from drivers.clock import Clock
from drivers.errors import InstrumentError
from drivers.roles import Function, Identity
from drivers.transport import Transport, is_serial_line


class MessageInstrument:
    """``Driver(transport, clock, serial=None)``: ``serial`` says the
    transport is an RS-232 line, where instruments need their remote-mode
    command (None: decided from the transport's resource string)."""

    manufacturers: ClassVar[tuple[str, ...]]
    models: ClassVar[tuple[str, ...]]
    #: The functions this driver drives.
    functions: ClassVar[tuple[Function, ...]] = (Function.DCV,)
    #: Terminations the host uses; a bench file may override them.
    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\n"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        self.transport = transport
        self.clock = clock
        self.serial = is_serial_line(transport.resource) if serial is None else serial

    @property
    def name(self) -> str:
        """The instrument's name on this bench (the transport's name)."""
        return self.transport.name

    def identify(self) -> Identity:
        """``*IDN?``: maker, model, serial number, firmware."""
        return Identity.from_idn(self.transport.query("*IDN?"))

    def close(self) -> None:
        """Release the connection; the instrument stays as it is."""
        self.transport.close()

    def _check_function(self, function: Function, command: str) -> None:
        if function not in self.functions:
            raise InstrumentError(
                self.name, command, f"function {function} is not supported by this driver",
                "use " + ", ".join(self.functions) + " or another driver",
            )
