"""What procedure authors write against.

A procedure declares its roles (each the capabilities it needs, from
`drivers.roles`), its test points, the kind of measurement (which budget
model, `station.metrology.budget`), and a ``measure`` method that takes
one point. The engine owns everything else: the plan check (matching
roles to instruments by capability), sequencing, hazard prompts,
pause/abort, the safe state, recording, evaluation and resume. A procedure
never prints, sleeps or reads input: it uses ``ctx``, and each ``ctx``
call is a checkpoint where pause and abort take effect.

Most procedures are a points table on a template (`station.templates`:
a meter against a source, a source against a meter, a comparison in a
controlled environment); see docs/procedures.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from drivers.datasheet import Datasheet
from drivers.roles import (
    Controller,
    Function,
    Indicator,
    Instrument,
    Meter,
    Readout,
    SafeState,
    Source,
)
from station.metrology.budget import Component, Distribution, Inputs
from station.metrology.result import PointResult
from station.prompts import ABORT, CONTINUE, Prompt

Phase = Literal["as_found", "as_left"]

__all__ = [
    "ABORT",
    "AmbientLimits",
    "CONTINUE",
    "Context",
    "Controller",
    "Function",
    "Indicator",
    "Meter",
    "Observation",
    "Phase",
    "PlanView",
    "PointPlan",
    "Procedure",
    "Prompt",
    "Readout",
    "Role",
    "SafeState",
    "Source",
    "TestPoint",
]


@dataclass(frozen=True)
class Role:
    """A role of a procedure: the capabilities its instrument must have."""

    needs: tuple[type, ...]
    description: str = ""

    @classmethod
    def of(cls, value: Role | type | tuple[type, ...]) -> Role:
        if isinstance(value, Role):
            return value
        return cls(value if isinstance(value, tuple) else (value,))

    def describe(self) -> str:
        return " and ".join(n.__name__ for n in self.needs)


@dataclass(frozen=True)
class AmbientLimits:
    """The laboratory conditions a procedure's points may be taken in:
    temperature (degrees Celsius) and relative humidity (%), each
    (lowest, highest), inclusive."""

    temperature: tuple[float, float] = (18.0, 28.0)
    humidity: tuple[float, float] = (20.0, 80.0)

    def holds(self, temperature: float, humidity: float) -> bool:
        return (self.temperature[0] <= temperature <= self.temperature[1]
                and self.humidity[0] <= humidity <= self.humidity[1])

    def describe(self) -> str:
        (t0, t1), (h0, h1) = self.temperature, self.humidity
        return f"{t0:g} to {t1:g} C and {h0:g} to {h1:g} %RH"


@dataclass(frozen=True)
class TestPoint:
    """One point of a calibration, declared before the run starts.

    ``function`` and ``range`` name the DUT's function and range (a meter's
    range; for a source or an indicator the range its specification is
    looked up on, or 0 to let it range itself); the specification that
    judges the point follows from them."""

    __test__ = False  # not a pytest test class

    function: Function
    range: float  # full scale of the range, in the function's unit (0: none)
    nominal: float  # the value applied or set, in the function's unit
    readings: int = 10  # readings averaged for the indication
    settle_s: float = 2.0  # dwell after the source or environment reports settled or stable
    phase: Phase = "as_found"
    label: str = ""
    nplc: float = 10.0  # integration time of the meter that reads, in power-line cycles
    frequency: float = 0.0  # Hz, for an AC function
    #: The DUT's tolerance (+/-, in the function's unit) when it is not its
    #: datasheet's (a customer's specification, a generic indicator).
    tolerance: float | None = None

    @property
    def unit(self) -> str:
        return self.function.unit

    def describe(self) -> str:
        at = f" at {self.frequency:g} Hz" if self.frequency else ""
        on = f" on the {self.range:g} {self.unit} range" if self.range else ""
        return f"{self.function} {self.nominal:g} {self.unit}{at}{on}"


class Observation(NamedTuple):
    """What a point produced: the value applied by a source (the
    standard's, or the DUT's when the DUT is the source), the DUT's raw
    readings, and the reference's raw readings where a reference
    instrument reads (a standard meter, a reference thermometer)."""

    reference: float
    values: npt.NDArray[np.float64]
    times: npt.NDArray[np.float64]  # wall time of each reading, seconds since the epoch
    reference_values: npt.NDArray[np.float64] = np.zeros(0)
    reference_times: npt.NDArray[np.float64] = np.zeros(0)


@dataclass(frozen=True)
class PointPlan:
    """How one point is judged: the DUT's tolerance (+/-) and where it
    comes from, and the inputs of the budget's type B components."""

    tolerance: float
    spec: str  # which specification, for people ("Keysight 34401A DC voltage, 1y")
    inputs: Inputs
    correction: float = 0.0  # added to the reference's readings (its certificate's correction)
    digit: float = 0.0  # one digit of whatever reads (for the spread check)


class PlanView(Protocol):
    """What a procedure's `plan` may look at (implemented by the engine):
    the opened instruments, their datasheets, and what the bench file says
    of each role."""

    def instrument(self, role: str) -> Instrument: ...
    def datasheet(self, role: str) -> Datasheet: ...
    def interval(self, role: str) -> str:
        """The specification interval the bench file gives a standard ("90d")."""
        ...
    def distribution(self, role: str) -> Distribution: ...
    def probe(self, role: str) -> tuple[float, float, float]:
        """A reference probe's (correction, expanded uncertainty, k) from its certificate."""
        ...
    def ambient(self) -> float | None:
        """The laboratory's temperature now (degrees C), from the bench's
        thermo-hygrometer, or None without one."""
        ...
    def standard(self, role: str, specification: float, value: float) -> dict[str, Any]:
        """The standard's inputs of a budget (`Inputs` keywords) at ``value``:
        its specification limit ``specification`` with the bench file's
        distribution, or its certificate's uncertainty, as the bench file
        chooses (``uncertainty_source``)."""
        ...


class Context(Protocol):
    """The procedure's handle on the run (implemented by the engine)."""

    def instrument(self, role: str) -> Instrument: ...
    def source(self, role: str) -> Source: ...
    def meter(self, role: str) -> Meter: ...
    def indicator(self, role: str) -> Indicator: ...
    def controller(self, role: str) -> Controller: ...
    def configure(self, role: str, function: Function, range_: float, nplc: float) -> None:
        """Configure a meter, unless it is configured so already in this run."""
        ...
    def apply(self, role: str, function: Function, value: float, dwell_s: float = 0.0,
              frequency: float = 0.0) -> float:
        """Program the source, put it in operate, wait until it reports
        settled, then dwell ``dwell_s``; returns the value applied. A
        hazardous value is announced to the operator first, once a run."""
        ...
    def hold(self, role: str, function: Function, value: float, timeout_s: float, dwell_s: float = 0.0) -> None:
        """Set a controller's setpoint, wait on the bench clock until it
        reports stable (`InstrumentTimeout` after ``timeout_s``), then
        dwell ``dwell_s`` and check it is still stable."""
        ...
    def wait(self, seconds: float) -> None:
        """Dwell on the bench's clock (pause and abort still take effect)."""
        ...
    def read(self, role: str, n: int, reference: float, block: bool = False) -> Observation:
        """Take ``n`` readings from a meter or an indicator, each
        timestamped as it arrives. ``block=True`` takes them from one
        trigger in one transfer (`Meter.read_many`): faster, but they share
        one timestamp."""
        ...
    def take(self, role: str, n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``n`` readings of ``role`` (values, times)."""
        ...
    def prompt(self, title: str, message: str, choices: Sequence[str] = (CONTINUE, ABORT),
               hazard: bool = False, image: str = "") -> str:
        """Ask the operator; answering Abort aborts the run. ``image``: a
        picture beside the procedure's module, shown with the question."""
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
    #: Role name -> the capabilities its instrument must have (a `Role`, a
    #: capability, or a tuple of capabilities).
    roles: ClassVar[Mapping[str, Role | type | tuple[type, ...]]]
    #: The role of the device under test; every other role is a standard
    #: or measuring equipment, which must be registered and in calibration.
    dut_role: ClassVar[str] = "dut"
    #: The standard whose specification enters the budget.
    standard_role: ClassVar[str] = "standard"
    #: The kind of measurement: a budget model of `station.metrology.budget.MODELS`.
    measurement: ClassVar[str] = "meter"
    #: The interval of the DUT's datasheet specification its points are judged by.
    dut_interval: ClassVar[str] = "1y"
    #: The simulated bench (a topology in drivers/sim/benches) this procedure runs on with --simulated.
    simulated_bench: ClassVar[str] = ""
    #: The conditions its points may be taken in: when the bench has an
    #: instrument in role "ambient" (a thermo-hygrometer), the engine logs
    #: the conditions and holds the run while they are outside (None: log only).
    ambient_limits: ClassVar[AmbientLimits | None] = None
    extra: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def points(self) -> Sequence[TestPoint]:
        """Every point of the run, in order. Called before anything is energised."""

    @abstractmethod
    def plan(self, view: PlanView, point: TestPoint) -> PointPlan:
        """How ``point`` is judged: its tolerance and its budget's type B
        inputs, from the datasheets of the instruments on the bench (the
        templates implement this). Raise `drivers.datasheet.DatasheetError`
        or `station.errors.PlanRefused` naming what is missing."""

    def influences(self, point: TestPoint) -> Sequence[Component]:
        """Further type B components of ``point``'s budget the procedure
        knows of (thermal EMF, loading, a reference's drift, a head
        correction's uncertainty), e.g. ``rectangular("thermal EMF", 1e-6,
        "thermal EMF of the low-thermal leads")``; none by default."""
        return ()

    def repeatability(self, point: TestPoint) -> tuple[float, float] | None:
        """For a point of a single reading: the standard deviation s of one
        reading and its degrees of freedom, from an earlier evaluation of
        the same measurement (EA-4/02); None (the default) requires at least
        two readings a point."""
        return None

    def adjust(self, ctx: Context, as_found: Sequence[PointResult]) -> bool:
        """Called once, after the as-found points and before the first
        as-left point (a procedure whose points have both phases): decide
        from the as-found results whether the DUT needs adjusting and, if
        so, adjust it through ``ctx`` and return True (the as-left points
        follow). False (the default): not adjusted; the as-left points are
        not taken and the as-found results stand as the as-left ones."""
        return False

    def setup(self, ctx: Context) -> None:  # noqa: B027 - optional hook
        """Once at the start (and again on resume): prompts, configuration."""

    @abstractmethod
    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        """Take one point and return what was observed."""

    def teardown(self, ctx: Context) -> None:  # noqa: B027 - optional hook
        """After the last point, before the engine's safe state."""

    @classmethod
    def role_needs(cls) -> dict[str, Role]:
        return {name: Role.of(value) for name, value in cls.roles.items()}

