"""Simulated Fluke 9142 field metrology well.

Speaks the subset of the 914X remote language `drivers.fluke.f9142` uses
(module docstring there; the command set and reply formats are
UNVERIFIED against the 914X User's Guide): ``*IDN?``, ``*RST``, ``*CLS``,
``*OPC?``, ``*ESR?``, ``UNIT:TEMP C`` / ``UNIT:TEMP?``, ``SOUR:SPO <t>`` /
``SOUR:SPO?``, ``OUTP:STAT 1|0|ON|OFF`` / ``OUTP:STAT?``,
``SOUR:SENS:DATA? [TEMP]``, ``SOUR:STAB:LIM <x>`` / ``SOUR:STAB:LIM?``,
``SOUR:STAB:TEST?``, ``SYST:ERR?``. Replies end with CR LF. A message
holding ``;`` (a compound command, which Field Metrology Wells do not
take) is refused whole with error -113.

The physics, in closed form from the bench clock at the moment of each
query (never stepped per tick, so an hour of heating costs one
evaluation). The control sensor's noiseless temperature T follows

    dT/dt = clamp((setpoint - T) / tau, -cooling_rate, +heating_rate)

from the temperature it had when the setpoint or the control state last
changed (a "segment"): a straight ramp at the maximum rate while the
setpoint is more than rate x tau away, then a first-order exponential
approach with time constant tau (the two join smoothly). The rates come
from the datasheet's ``heating_time_s`` and ``cooling_time_s`` rows: for
each row, the rate at which this model covers the row's span, arriving
within ``reach_band_c`` of the end, in the row's time; the slowest rate of
the rows is used (no heating or cooling is faster than the data sheet
says). With control off the block relaxes exponentially to ``ambient_c``
(``passive_time_constant_s``).

On top of T, the control sensor sees the well's control noise: a bounded
sum of two sines of amplitude the datasheet's ``stability`` figure
(+/-0.01 C), phases drawn from the seed; a deterministic function of
time, so a query's answer does not depend on how often the well is asked.
The true block temperature (port ``block``, what the probes in the well
see) is the sensor's minus the display error, a constant drawn (seeded)
within ``display_error_fraction`` of the datasheet's display accuracy:
the controller holds its own sensor at the setpoint, not the block.
Uniformity, loading and hysteresis are not modelled (the bench's leads
add a fixed offset per probe).

Stability test rule (``SOUR:STAB:TEST?``, a simulator rule: the 914X's
own rule is UNVERIFIED): 1 when control is on and the noiseless
temperature has stayed within (stability limit - control noise
amplitude) of the setpoint for ``stable_window_s`` of bench time, counted
from the last change of setpoint or control state (or power-on); the
worst-case noise then keeps the indicated temperature within the limit
for that whole time. A limit at or below the control noise is never met.

Power-on state (`power_cycle`; UNVERIFIED): setpoint, stability limit
and unit kept (non-volatile), control on, the stability judgement
restarted, empty error queue, PON in ``*ESR?``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from drivers.clock import Clock
from drivers.datasheet import Row
from drivers.fluke.f9142 import SETPOINT_LIMITS, TEMP_SHEET
from drivers.sim.base import ScpiDispatcher, SimulatedInstrument, Stimulus

# ESR bits (IEEE 488.2)
ESR_EXE, ESR_CME = 16, 32
# SCPI errors: (code, text, ESR bit). Standard SCPI codes; the 914X's own
# list is UNVERIFIED.
ERR_UNDEFINED_HEADER = (-113, "Undefined header", ESR_CME)
ERR_PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed", ESR_CME)
ERR_MISSING_PARAMETER = (-109, "Missing parameter", ESR_CME)
ERR_DATA_TYPE = (-104, "Data type error", ESR_CME)
ERR_ILLEGAL_VALUE = (-224, "Illegal parameter value", ESR_EXE)
ERR_OUT_OF_RANGE = (-222, "Data out of range", ESR_EXE)
ERR_QUEUE_OVERFLOW = (-350, "Queue overflow")

#: Range ``SOUR:STAB:LIM`` accepts, C (0.01 C to 9.99 C in published 914X
#: programs; UNVERIFIED against the guide).
STABILITY_LIMIT_RANGE = (0.01, 9.99)
#: Periods of the two sines of the control noise, s (a simulator choice).
NOISE_PERIODS_S = (47.0, 13.0)
NOISE_WEIGHTS = (0.6, 0.4)

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Segment:
    """The well since its setpoint or control state last changed."""

    start: float  # bench time, s
    temperature: float  # noiseless control-sensor temperature at `start`, C
    setpoint: float  # C
    control: bool


def _decimals(step: float) -> int:
    """Digits after the point of a value shown to ``step`` (0.01 -> 2)."""
    return max(0, round(-math.log10(step)))


def model_time(span: float, rate: float, tau: float, band: float) -> float:
    """Time, s, the model takes to cover ``span`` C at most ``rate`` C/s
    with time constant ``tau`` s, arriving within ``band`` C of the end."""
    if span <= band:
        return 0.0
    knee = rate * tau  # distance from the setpoint where the ramp ends
    if knee <= band:
        return (span - band) / rate
    if span <= knee:
        return tau * math.log(span / band)
    return (span - knee) / rate + tau * math.log(knee / band)


def rate_for(rows: Sequence[Row], tau: float, band: float) -> float:
    """The slowest of the rates, C/s, at which `model_time` covers each
    row's span (``from`` to ``to``) in the row's time (``value``, s).
    A row the exponential alone cannot cover in time gives 1000 C/s
    (no rate limit)."""
    rates = []
    for row in rows:
        span, seconds = row.high - row.low, row.terms.floor
        low, high = 1e-6, 1e3
        if model_time(span, high, tau, band) > seconds:
            rates.append(high)
            continue
        for _ in range(200):  # model_time falls as the rate rises
            mid = math.sqrt(low * high)
            if model_time(span, mid, tau, band) > seconds:
                low = mid
            else:
                high = mid
        rates.append(high)
    return min(rates)


class Sim9142(SimulatedInstrument):
    """Simulated Fluke 9142 field metrology well.

    Options (bench topology ``options``): ``ambient_c`` (23, the data
    sheet's reference ambient), ``time_constant_s`` (tau, 60 s),
    ``reach_band_c`` (how close "reached" is in the heating and cooling
    times, 0.1 C), ``stable_window_s`` (60 s), ``stability_limit_c`` (the
    power-on stability limit, 0.05 C), ``passive_time_constant_s``
    (control off, 1800 s), ``display_error_fraction`` (0.25),
    ``setpoint_c`` (25) and ``control`` (True): the state at the start,
    the block at ambient. These are simulator choices, not the maker's
    figures.

    State the tests read: `setpoint`, `control`, `stability_limit`,
    `temperature()` (noiseless control sensor), `indicated()`,
    `block_temperature()`, `stable()`, `heating_rate`, `cooling_rate`.
    """

    idn = "HART,9142,B91420,1.10"
    write_termination = "\n"
    read_termination = "\r\n"
    error_queue_size = 10
    outputs = ("block",)

    def __init__(
        self,
        name: str = "well",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        ambient_c: float = 23.0,
        time_constant_s: float = 60.0,
        reach_band_c: float = 0.1,
        stable_window_s: float = 60.0,
        stability_limit_c: float = 0.05,
        passive_time_constant_s: float = 1800.0,
        display_error_fraction: float = 0.25,
        setpoint_c: float = 25.0,
        control: bool = True,
    ) -> None:
        super().__init__(name, clock)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.ambient = float(ambient_c)
        self.tau = float(time_constant_s)
        self.stable_window_s = float(stable_window_s)
        self.passive_tau = float(passive_time_constant_s)
        self.limits = SETPOINT_LIMITS
        self.resolution = TEMP_SHEET.fixed_resolution
        self.setpoint_decimals = _decimals(self.resolution)
        #: Maximum heating and cooling rates, C/s, from the datasheet.
        self.heating_rate = rate_for(TEMP_SHEET.performance["heating_time_s"].rows, self.tau, reach_band_c)
        self.cooling_rate = rate_for(TEMP_SHEET.performance["cooling_time_s"].rows, self.tau, reach_band_c)
        #: Amplitude of the control noise, C (the datasheet's stability).
        self.noise_amplitude = TEMP_SHEET.figure("stability", setpoint_c)
        self._phases = tuple(float(p) for p in rng.uniform(0, 2 * math.pi, size=len(NOISE_PERIODS_S)))
        display = TEMP_SHEET.spec("1y").half_width(setpoint_c)
        #: The control sensor reads the block plus this, C.
        self.display_error = float(rng.uniform(-1, 1)) * display * display_error_fraction
        self.stability_limit = float(stability_limit_c)
        self.unit = "C"
        self._segment = Segment(self.clock.now(), self.ambient, self._rounded(setpoint_c), bool(control))
        self._dispatch = ScpiDispatcher(self._table())

    # -- the physics

    @property
    def setpoint(self) -> float:
        return self._segment.setpoint

    @property
    def control(self) -> bool:
        return self._segment.control

    def temperature(self, t: float | None = None) -> float:
        """The control sensor's noiseless temperature at bench time ``t`` (now), C."""
        seg = self._segment
        elapsed = max(0.0, (self.clock.now() if t is None else t) - seg.start)
        if not seg.control:
            return self.ambient + (seg.temperature - self.ambient) * math.exp(-elapsed / self.passive_tau)
        gap = seg.setpoint - seg.temperature
        if gap == 0.0:
            return seg.setpoint
        rate = self.heating_rate if gap > 0 else self.cooling_rate
        sign = 1.0 if gap > 0 else -1.0
        knee = rate * self.tau
        if abs(gap) > knee:
            ramp = (abs(gap) - knee) / rate
            if elapsed < ramp:
                return seg.temperature + sign * rate * elapsed
            return seg.setpoint - sign * knee * math.exp(-(elapsed - ramp) / self.tau)
        return seg.setpoint - gap * math.exp(-elapsed / self.tau)

    def noise(self, t: float | None = None) -> float:
        """The control noise at bench time ``t`` (now), C; 0 with control off."""
        if not self._segment.control:
            return 0.0
        t = self.clock.now() if t is None else t
        return self.noise_amplitude * sum(
            w * math.sin(2 * math.pi * t / p + phase)
            for w, p, phase in zip(NOISE_WEIGHTS, NOISE_PERIODS_S, self._phases, strict=True))

    def indicated(self, t: float | None = None) -> float:
        """What the control sensor reads (``SOUR:SENS:DATA?``), C."""
        t = self.clock.now() if t is None else t
        return self.temperature(t) + self.noise(t)

    def block_temperature(self, t: float | None = None) -> float:
        """The true temperature of the block, C: what a probe in it sees."""
        return self.indicated(t) - self.display_error

    def port_block(self) -> Stimulus:
        """The block, as the probes in the well see it."""
        return Stimulus("TEMP", self.block_temperature())

    def entered_band(self, band: float) -> float:
        """Bench time the noiseless temperature came (comes) within ``band``
        C of the setpoint in the present segment; inf if it never does."""
        seg = self._segment
        if not seg.control or band <= 0:
            return math.inf
        gap = abs(seg.setpoint - seg.temperature)
        if gap <= band:
            return seg.start
        rate = self.heating_rate if seg.setpoint > seg.temperature else self.cooling_rate
        return seg.start + model_time(gap, rate, self.tau, band)

    def stable(self) -> bool:
        """The stability test (module docstring)."""
        entered = self.entered_band(self.stability_limit - self.noise_amplitude)
        return self.clock.now() - entered >= self.stable_window_s

    def _change(self, setpoint: float | None = None, control: bool | None = None) -> None:
        """A new segment from the present temperature."""
        seg = self._segment
        self._segment = Segment(
            self.clock.now(), self.temperature(),
            seg.setpoint if setpoint is None else setpoint, seg.control if control is None else control)

    def _rounded(self, value: float) -> float:
        return round(round(value / self.resolution) * self.resolution, self.setpoint_decimals)

    # -- commands

    def _table(self) -> list[tuple[str, Callable[[str], str | None]]]:
        return [
            ("SOURce:SPOint?", self._spo_query),
            ("SOURce:SPOint", self._spo),
            ("SOURce:SENSe:DATA?", self._data_query),
            ("SOURce:STABility:LIMit?", self._lim_query),
            ("SOURce:STABility:LIMit", self._lim),
            ("SOURce:STABility:TEST?", self._test_query),
            ("OUTPut:STATe?", self._outp_query),
            ("OUTPut:STATe", self._outp),
            ("SYSTem:ERRor?", self._err),
            ("UNIT:TEMPerature?", self._unit_query),
            ("UNIT:TEMPerature", self._unit),
        ]

    def handle(self, line: str) -> str | None:
        """One program message. A compound message (``;``) is refused whole
        (error -113): Field Metrology Wells take one command a line."""
        if ";" in line:
            with self._lock:
                self.received.append(line)
                self._error(ERR_UNDEFINED_HEADER)
            return None
        return super().handle(line)

    def execute(self, header: str, argument: str) -> str | None:
        return self.dispatch(self._dispatch, header, argument, ERR_UNDEFINED_HEADER)

    def _error(self, error: tuple[int, str, int]) -> None:
        self.queue_error(error)

    def overflow_error(self) -> tuple[int, str]:
        return ERR_QUEUE_OVERFLOW

    def argument_not_allowed(self) -> None:
        self._error(ERR_PARAMETER_NOT_ALLOWED)

    def reset(self) -> None:
        """``*RST`` (UNVERIFIED): control on, the default stability limit,
        unit C; the setpoint kept."""
        self.unit = "C"
        self.stability_limit = 0.05
        self._change(control=True)

    def power_on(self) -> None:
        """Power-on state (module docstring)."""
        self.unit = "C"
        self._change(control=True)

    def _number(self, argument: str) -> float | None:
        if not argument:
            self._error(ERR_MISSING_PARAMETER)
            return None
        if not _NUMBER_RE.fullmatch(argument):
            self._error(ERR_DATA_TYPE)
            return None
        return float(argument)

    def _spo(self, argument: str) -> str | None:
        value = self._number(argument)
        if value is None:
            return None
        low, high = self.limits
        if not low <= value <= high:
            self._error(ERR_OUT_OF_RANGE)
            return None
        value = self._rounded(value)
        if value != self._segment.setpoint:
            self._change(setpoint=value)
        return None

    def _spo_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        return f"{self._segment.setpoint:.{self.setpoint_decimals}f}"

    def _data_query(self, argument: str) -> str | None:
        if argument.upper() not in ("", "TEMP", "TEMPERATURE"):
            self._error(ERR_ILLEGAL_VALUE)  # RES (the sensor's resistance) is not simulated
            return None
        return f"{self.indicated():.3f}"

    def _lim(self, argument: str) -> str | None:
        value = self._number(argument)
        if value is None:
            return None
        low, high = STABILITY_LIMIT_RANGE
        if not low <= value <= high:
            self._error(ERR_OUT_OF_RANGE)
            return None
        self.stability_limit = round(value, 2)
        return None

    def _lim_query(self, argument: str) -> str | None:
        return f"{self.stability_limit:.2f}" if self._no_argument(argument) else None

    def _test_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        return "1" if self.stable() else "0"

    def _outp(self, argument: str) -> str | None:
        value = {"1": True, "ON": True, "0": False, "OFF": False}.get(argument.upper())
        if value is None:
            self._error(ERR_MISSING_PARAMETER if not argument else ERR_ILLEGAL_VALUE)
            return None
        if value != self._segment.control:
            self._change(control=value)
        return None

    def _outp_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        return "1" if self._segment.control else "0"

    def _err(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        error = self.pop_error()
        if error is None:
            return '0,"No error"'
        return f'{error[0]},"{error[1]}"'

    def _unit(self, argument: str) -> str | None:
        unit = argument.upper()
        if unit in ("C", "CEL"):
            self.unit = "C"
        elif not unit:
            self._error(ERR_MISSING_PARAMETER)
        else:
            self._error(ERR_ILLEGAL_VALUE)  # F and K are not simulated
        return None

    def _unit_query(self, argument: str) -> str | None:
        return self.unit if self._no_argument(argument) else None
