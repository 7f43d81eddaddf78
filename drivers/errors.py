"""The one exception hierarchy of calstation.

Every message is a single line that names the thing (instrument, resource,
command, point, file) and says what the user can do about it. `station`
extends this hierarchy; it lives here so that drivers can raise it without
importing the core.
"""

from __future__ import annotations


class CalstationError(Exception):
    """Root of every error calstation raises on purpose.

    The CLI prints ``str(error)`` on one line and exits non-zero; it never
    shows a traceback for these.
    """

    exit_code: int = 1


class TransportError(CalstationError):
    """The connection to an instrument failed or could not be made."""


class ResourceNotFound(TransportError):
    """A resource string that no transport can open."""


class InstrumentTimeout(TransportError):
    """An instrument did not answer within its timeout (silent instrument)."""


class InstrumentError(CalstationError):
    """An instrument reported an error, or answered something unusable.

    Carries the instrument's name, the command that caused it and the
    instrument's own message.
    """

    def __init__(self, instrument: str, command: str, message: str, hint: str = "") -> None:
        self.instrument = instrument
        self.command = command
        self.instrument_message = message
        text = f"{instrument}: command {command!r} failed: {message}"
        if hint:
            text += f"; {hint}"
        super().__init__(text)


class GarbledReply(InstrumentError):
    """A reply that does not parse as what the command returns."""


class WrongInstrument(CalstationError):
    """The instrument behind a resource is not the model its role names."""
