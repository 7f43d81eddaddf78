"""What procedure authors write against.

A procedure is a class with a declared list of test points and a
``measure`` method that takes one point. The engine owns everything else:
the plan check, sequencing, pause/abort, safe state, recording, evaluation
and resume. A procedure never prints, sleeps or reads input: it uses
``ctx``. Each ``ctx`` call is a checkpoint where pause and abort take
effect. See docs/procedures.md.

    class Dmm34401aDcv(Procedure):
        name = "keysight-34401a-dcv"
        version = "1.0.0"
        roles = {"standard": Source, "dut": Meter}

        def points(self): return [TestPoint(Function.DCV, 10.0, 10.0), ...]

        def measure(self, ctx, point):
            ctx.meter("dut").configure(point.function, point.range, nplc=10)
            reference = ctx.apply("standard", point.function, point.nominal)
            return ctx.read("dut", point.readings, reference=reference)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from drivers.roles import Function, Instrument, Meter, Source
from station.prompts import ABORT, CONTINUE, Prompt

Phase = Literal["as_found", "as_left"]

__all__ = [
    "ABORT",
    "CONTINUE",
    "Context",
    "Function",
    "Meter",
    "Observation",
    "Phase",
    "Procedure",
    "Prompt",
    "Source",
    "SpecRef",
    "TestPoint",
]


@dataclass(frozen=True)
class TestPoint:
    """One point of a calibration, declared before the run starts."""

    __test__ = False  # not a pytest test class

    function: Function
    range: float  # full scale of the DUT range, in the function's unit
    nominal: float  # value the standard is set to, in the function's unit
    readings: int = 10  # readings averaged for the indication
    settle_s: float = 2.0  # dwell after the standard reports settled
    phase: Phase = "as_found"
    label: str = ""
    nplc: float = 10.0  # integration time of the DUT, in power-line cycles

    @property
    def unit(self) -> str:
        return self.function.unit

    def describe(self) -> str:
        return f"{self.function} {self.nominal:g} {self.unit} on the {self.range:g} {self.unit} range"


class Observation(NamedTuple):
    """What a point produced: the reference applied and the raw DUT readings."""

    reference: float
    values: npt.NDArray[np.float64]
    times: npt.NDArray[np.float64]  # wall time of each reading, seconds since the epoch


@dataclass(frozen=True)
class SpecRef:
    """Names an accuracy specification in `station.metrology.specs`."""

    manufacturer: str
    model: str
    interval: str  # "24h", "90d", "1y"


class Context(Protocol):
    """The procedure's handle on the run (implemented by the engine)."""

    def source(self, role: str) -> Source: ...
    def meter(self, role: str) -> Meter: ...
    def instrument(self, role: str) -> Instrument: ...
    def apply(self, role: str, function: Function, value: float, dwell_s: float = 0.0) -> float:
        """Program the source, put it in operate, wait until it reports
        settled, then dwell ``dwell_s``; returns the reference value applied."""
        ...
    def wait(self, seconds: float) -> None:
        """Dwell on the bench's clock (pause and abort still take effect)."""
        ...
    def read(self, role: str, n: int, reference: float, block: bool = False) -> Observation:
        """Take ``n`` readings from a meter, each timestamped as it arrives.
        ``block=True`` takes them from one trigger in one transfer
        (`Meter.read_many`): faster, but they share one timestamp."""
        ...
    def prompt(self, title: str, message: str, choices: Sequence[str] = (CONTINUE, ABORT),
               hazard: bool = False) -> str:
        """Ask the operator; answering Abort aborts the run."""
        ...
    def log(self, text: str) -> None: ...
    def checkpoint(self) -> None:
        """Honour pause and abort here."""
        ...


class Procedure(ABC):
    """Base class of every procedure. Subclasses set the class attributes."""

    #: Unique identifier, used on the command line (``calstation run NAME``).
    name: ClassVar[str]
    version: ClassVar[str]
    #: One-line title for the certificate.
    title: ClassVar[str]
    #: The method, as the certificate states it (ISO/IEC 17025 7.8.2.1 f).
    method: ClassVar[str]
    #: Role name -> the protocol the instrument in that role must satisfy.
    roles: ClassVar[Mapping[str, type]]
    #: Role of the device under test, and the specification it is checked against.
    dut_role: ClassVar[str] = "dut"
    dut_spec: ClassVar[SpecRef]
    #: Role of the standard that supplies the reference value.
    standard_role: ClassVar[str] = "standard"
    extra: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def points(self) -> Sequence[TestPoint]:
        """Every point of the run, in order. Called before anything is energised."""

    def setup(self, ctx: Context) -> None:  # noqa: B027 - optional hook
        """Once at the start (and again on resume): prompts, configuration."""

    @abstractmethod
    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        """Take one point and return what was observed."""

    def teardown(self, ctx: Context) -> None:  # noqa: B027 - optional hook
        """After the last point, before the engine's safe state."""

