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
    "StatusNotWritten",
    "IntegrityError",
    "ProcedureError",
    "ConfigError",
    "RunAborted",
    "one_line",
]


def one_line(value: object) -> str:
    """``value``'s text on one line (HDF5, instruments and other processes
    write messages over several): every run of white space becomes a blank."""
    return " ".join(str(value).split())


class PlanRefused(CalstationError):
    """The plan check failed before anything was energised."""

    exit_code = 3


class RunFileError(CalstationError):
    """A run file that cannot be read, is not a run file, or is damaged."""


class StatusNotWritten(RunFileError):
    """The run ended (the bench is safe) but its final status could not be
    written: the file keeps its last commit, marked running."""

    exit_code = 5


class IntegrityError(RunFileError):
    """A run file that fails verification: altered or damaged."""

    exit_code = 7


class ProcedureError(CalstationError):
    """A procedure that cannot be found, loaded or is malformed."""


class ConfigError(CalstationError):
    """A bench or job configuration that is missing or malformed."""


class RunAborted(CalstationError):
    """Raised inside a procedure at a checkpoint after the run was aborted
    (and by the engine when a stop signal came before the run started)."""

    exit_code = 4
