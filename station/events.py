"""Events the engine emits while a run goes.

Views (CLI progress bar, GUI table and plot) are fed from these events and
never re-read the run file. Listeners are called on the engine's thread:
a GUI must hand them over to its own thread (Qt queued signal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from station.metrology.budget import Component
    from station.metrology.result import PointResult
    from station.procedure import TestPoint

RunStatus = Literal["running", "completed", "aborted", "failed"]


@dataclass(frozen=True)
class RunStarted:
    path: str
    procedure: str
    points: tuple[TestPoint, ...]
    completed: tuple[int, ...]  # indexes already done (a resumed run)


@dataclass(frozen=True)
class PlanChecked:
    """The plan passed; ``tur`` is the planned test uncertainty ratio per point."""

    tur: tuple[float, ...]


class PointStarted(NamedTuple):  # a named tuple: made for every point
    index: int  # type: ignore[assignment]  # shadows tuple.index, which nobody needs
    point: TestPoint


class PointDone(NamedTuple):
    result: PointResult
    done: int  # points completed so far, this run and earlier
    total: int
    budget: tuple[Component, ...] = ()  # the point's uncertainty budget, as /budget records it


@dataclass(frozen=True)
class StateChanged:
    """The engine was paused, resumed or asked to abort, or holds the run
    while the ambient conditions are outside the procedure's limits."""

    state: Literal["running", "paused", "aborting", "suspended"]


@dataclass(frozen=True)
class Message:
    """A line for the operator's log (never an error: errors end the run)."""

    text: str


@dataclass(frozen=True)
class RunFinished:
    status: RunStatus
    reason: str
    path: str


Event = RunStarted | PlanChecked | PointStarted | PointDone | StateChanged | Message | RunFinished
Listener = Callable[[Event], None]
