"""The bench's clock.

Library code never calls ``time.sleep``: it waits on a `Clock`. On a real
bench that is `SystemClock`; on the simulated bench in tests it is
`VirtualClock`, whose ``sleep`` advances time at once, so an hour of
settling runs in microseconds while simulators see the hour pass.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (not wall time)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on this clock."""
        ...


class SystemClock:
    """Real time. The only place in the product where a thread waits idle."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Simulated time: ``sleep`` advances ``now`` immediately. Thread-safe."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time ({seconds} s)")
        with self._lock:
            self._t += seconds

    advance = sleep


class PacedClock(VirtualClock):
    """Virtual time that also lets ``pace`` real seconds pass per virtual
    second, so a person can watch a simulated run (``pace=0``: as fast as it
    goes). Used by the GUI's demonstration."""

    def __init__(self, pace: float = 0.0, start: float = 0.0) -> None:
        super().__init__(start)
        if pace < 0:
            raise ValueError(f"pace must be zero or positive, not {pace}")
        self.pace = pace

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.pace > 0 and seconds > 0:
            time.sleep(seconds * self.pace)

    advance = sleep
