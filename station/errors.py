"""Errors of the core, in the one hierarchy rooted in `drivers.errors`."""

from __future__ import annotations

from drivers.errors import (
    CalstationError,
    GarbledReply,
    InstrumentError,
    InstrumentTimeout,
    ResourceNotFound,
    TransportError,
    WrongInstrument,
)

__all__ = [
    "CalstationError",
    "GarbledReply",
    "InstrumentError",
    "InstrumentTimeout",
    "ResourceNotFound",
    "TransportError",
    "WrongInstrument",
    "PlanRefused",
    "RunFileError",
    "ProcedureError",
    "ConfigError",
    "RunAborted",
]


class PlanRefused(CalstationError):
    """The plan check failed before anything was energised."""


class RunFileError(CalstationError):
    """A run file that cannot be read, is not a run file, or is damaged."""


class ProcedureError(CalstationError):
    """A procedure that cannot be found, loaded or is malformed."""


class ConfigError(CalstationError):
    """A bench or job configuration that is missing or malformed."""


class RunAborted(CalstationError):
    """Raised inside a procedure at a checkpoint after the run was aborted."""
