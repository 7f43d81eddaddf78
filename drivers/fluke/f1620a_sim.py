"""Simulated Fluke (Hart) 1620A "DewK" thermo-hygrometer in a simulated room.

Speaks the subset of the 1620A's commands `drivers.fluke.f1620a` documents
(the reply formats are the User's Guide's examples; what is UNVERIFIED is
said there): ``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*ESR?``,
``MEAS? [<ch>]``, ``FETC? [<ch>]``, ``READ? [<ch>]``, ``FORM:TDST:STAT
<bool>`` / ``FORM:TDST:STAT?``, ``SENS<ch>:STAT?``, ``SYST:ERR?``.
Replies end with CR LF.

The room: its temperature and relative humidity are functions of the bench
clock, in closed form (an hour of the bench clock costs nothing to skip):
the base conditions (`Sim1620A.temperature_c`, `Sim1620A.humidity_pct`,
settable at any moment) plus every scripted excursion active at that time
(`Sim1620A.excursions`: ``(start_s, end_s, delta_temperature,
delta_humidity)``, active from ``start_s`` included to ``end_s`` excluded,
on the bench clock; a list a test may extend mid-run). Humidity stays
within 0 %RH to 100 %RH.

The instrument measures once every ``period_s`` of the bench clock (its
measurement period; 1 s, the guide's example of ``TRIG:TIM?``) and answers
with its most recent measurement: the room at that instant, plus each
channel's sensor error and noise, rounded to the datasheet's resolution
(0.001 C, 0.01 %RH). The error is an offset per channel drawn (seeded)
within ``error_fraction`` of the datasheet's best accuracy (temperature
and humidity); the noise is normal, ``noise_c`` and ``noise_pct`` standard
deviations, drawn once per measurement (asking twice within a period gives
the same reading, and the readings do not depend on how often it is asked).

Channels with a sensor: ``sensors`` (channel 1 by default); a test unplugs
one with ``sim.attached.discard(1)``. A channel without a sensor answers
``SENS<ch>:STAT?`` with 1 (sensor not attached) and ``MEAS?`` with nothing,
queueing -230 "Data corrupt or stale" (UNVERIFIED, see the driver).

The temperature unit is the front panel's (`Sim1620A.unit`, "C" or "F"),
which no command here changes. Power-on and ``*RST``: time and date stamp
off (UNVERIFIED), the unit as it was; a power cycle sets PON in ``*ESR?``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from drivers.clock import Clock
from drivers.fluke.f1620a import CHANNELS, TEMP_SHEET
from drivers.sim.base import ScpiDispatcher, SimulatedInstrument

ESR_EXE, ESR_CME = 16, 32
# SCPI errors: (code, text, ESR bit); -222 as the 1620A guide names it, the rest UNVERIFIED.
ERR_UNDEFINED_HEADER = (-113, "Undefined header", ESR_CME)
ERR_PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed", ESR_CME)
ERR_MISSING_PARAMETER = (-109, "Missing parameter", ESR_CME)
ERR_OUT_OF_RANGE = (-222, "Data out of range", ESR_EXE)
ERR_ILLEGAL_VALUE = (-224, "Illegal parameter value", ESR_EXE)
ERR_NO_DATA = (-230, "Data corrupt or stale", ESR_EXE)

#: ``(start_s, end_s, delta_temperature_c, delta_humidity_pct)`` on the bench clock.
Excursion = tuple[float, float, float, float]


def _decimals(resolution: float) -> int:
    return max(0, round(-math.log10(resolution)))


class Sim1620A(SimulatedInstrument):
    """Simulated 1620A thermo-hygrometer in a room.

    Options: ``temperature_c`` (23.0) and ``humidity_pct`` (45.0), the
    room's base conditions; ``excursions`` (none); ``sensors`` (``(1,)``);
    ``period_s`` (1.0); ``error_fraction`` (0.25 of the specification);
    ``noise_c`` (0.003 C) and ``noise_pct`` (0.02 %RH), standard
    deviations; ``start`` (the instrument clock's date and time at bench
    time 0, ISO 8601). State the tests read or set: `temperature_c`,
    `humidity_pct`, `excursions`, `attached`, `unit`, `stamp`, `offsets`,
    `room()`.
    """

    idn = "HART,1620A,SIM1620A,1.10"
    write_termination = "\n"
    read_termination = "\r\n"
    error_queue_size = 10

    def __init__(
        self,
        name: str = "ambient",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        temperature_c: float = 23.0,
        humidity_pct: float = 45.0,
        excursions: Iterable[Sequence[float]] = (),
        sensors: Iterable[int] = (1,),
        period_s: float = 1.0,
        error_fraction: float = 0.25,
        noise_c: float = 0.003,
        noise_pct: float = 0.02,
        start: str = "2026-01-01T00:00:00",
    ) -> None:
        super().__init__(name, clock)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        #: The room's base temperature (C) and relative humidity (%), settable.
        self.temperature_c = float(temperature_c)
        self.humidity_pct = float(humidity_pct)
        #: Scripted excursions, `Excursion` tuples; a test may append more.
        self.excursions: list[Excursion] = [self._excursion(e) for e in excursions]
        #: Channels with a sensor attached.
        self.attached: set[int] = set(sensors)
        if not self.attached <= set(range(1, CHANNELS + 1)) or period_s <= 0:
            raise ValueError(f"sensors must be among 1..{CHANNELS} and period_s positive, "
                             f"not {sorted(self.attached)} and {period_s}")
        self.period_s = float(period_s)
        best_t = min(r.terms.floor for r in TEMP_SHEET.spec("1y").table.rows)
        best_rh = min(r.terms.floor for r in TEMP_SHEET.performance["humidity_accuracy"].rows)
        #: Each channel's sensor error: (C, %RH).
        self.offsets: dict[int, tuple[float, float]] = {
            ch: (float(self.rng.uniform(-1, 1)) * best_t * error_fraction,
                 float(self.rng.uniform(-1, 1)) * best_rh * error_fraction)
            for ch in range(1, CHANNELS + 1)
        }
        self.noise_c = float(noise_c)
        self.noise_pct = float(noise_pct)
        self._noise_seed = int(self.rng.integers(0, 2**62))
        self.t_resolution = TEMP_SHEET.fixed_resolution
        self.rh_resolution = TEMP_SHEET.figure("humidity_resolution", self.temperature_c)
        self.epoch = dt.datetime.fromisoformat(start)
        #: The front panel's temperature unit, "C" or "F".
        self.unit = "C"
        #: The time and date stamp of the readings (``FORM:TDST:STAT``).
        self.stamp = False
        self._last_read: dict[int, int] = {}
        self._dispatch = ScpiDispatcher([
            ("MEASure?", self._measure),
            ("FETCh?", self._measure),
            ("READ?", self._measure),
            ("FORMat:TDST:STATe?", self._stamp_query),
            ("FORMat:TDST:STATe", self._stamp_set),
            *((f"SENSor{ch}:STATe?", self._sensor_query(ch)) for ch in range(1, CHANNELS + 1)),
            ("SYSTem:ERRor?", self._err),
        ])

    @staticmethod
    def _excursion(e: Sequence[float]) -> Excursion:
        start, end, d_t, d_rh = (float(x) for x in e)
        if not start < end:
            raise ValueError(f"an excursion must end after it starts, not {list(e)}")
        return start, end, d_t, d_rh

    # -- the room

    def room(self, at: float | None = None) -> tuple[float, float]:
        """The room's true (temperature C, relative humidity %) at bench
        time ``at`` (now if None)."""
        t = self.clock.now() if at is None else at
        temperature, humidity = self.temperature_c, self.humidity_pct
        for start, end, d_t, d_rh in self.excursions:
            if start <= t < end:
                temperature += d_t
                humidity += d_rh
        return temperature, min(100.0, max(0.0, humidity))

    def _tick(self) -> int:
        return math.floor(self.clock.now() / self.period_s)

    def measured(self, channel: int, tick: int | None = None) -> tuple[float, float]:
        """What channel ``channel`` measured at measurement ``tick`` (the
        latest if None), before rounding: (C, %RH)."""
        tick = self._tick() if tick is None else tick
        temperature, humidity = self.room(tick * self.period_s)
        noise = np.random.default_rng([self._noise_seed, channel, tick % 2**62]).normal(size=2)
        offset_t, offset_rh = self.offsets[channel]
        return (temperature + offset_t + self.noise_c * float(noise[0]),
                min(100.0, max(0.0, humidity + offset_rh + self.noise_pct * float(noise[1]))))

    # -- commands

    def execute(self, header: str, argument: str) -> str | None:
        return self.dispatch(self._dispatch, header, argument, ERR_UNDEFINED_HEADER)

    def argument_not_allowed(self) -> None:
        self.queue_error(ERR_PARAMETER_NOT_ALLOWED)

    def reset(self) -> None:
        """``*RST``: time and date stamp off (UNVERIFIED); the unit as it was."""
        self.stamp = False

    def _measure(self, argument: str) -> str | None:
        if not argument:
            channels = sorted(self.attached)
        elif argument.isdigit() and len(argument) <= 3:
            channels = [int(argument)]
            if channels[0] not in range(1, CHANNELS + 1):
                self.queue_error(ERR_OUT_OF_RANGE)
                return None
        else:
            self.queue_error(ERR_ILLEGAL_VALUE)
            return None
        if not channels or not set(channels) <= self.attached:
            self.queue_error(ERR_NO_DATA)  # no measurement: no reply
            return None
        tick = self._tick()
        new = any(self._last_read.get(ch) != tick for ch in channels)
        fields: list[str] = []
        for ch in channels:
            self._last_read[ch] = tick
            temperature, humidity = self.measured(ch, tick)
            if self.unit == "F":
                temperature = temperature * 1.8 + 32.0
            t_text = f"{temperature:.{_decimals(self.t_resolution)}f}"
            rh_text = f"{humidity:.{_decimals(self.rh_resolution)}f}"
            fields += [str(ch), t_text, self.unit, rh_text, "%"] if self.stamp else [t_text, rh_text]
        if not self.stamp:
            return ",".join(fields)
        when = self.epoch + dt.timedelta(seconds=tick * self.period_s)
        stamp = [when.year, when.month, when.day, when.hour, when.minute, when.second]
        return ",".join([str(int(new)), *fields, *map(str, stamp)])

    def _stamp_query(self, argument: str) -> str | None:
        return str(int(self.stamp)) if self._no_argument(argument) else None

    def _stamp_set(self, argument: str) -> str | None:
        value = {"0": False, "OFF": False, "1": True, "ON": True}.get(argument.upper())
        if value is None:
            self.queue_error(ERR_MISSING_PARAMETER if not argument else ERR_ILLEGAL_VALUE)
            return None
        self.stamp = value
        return None

    def _sensor_query(self, channel: int) -> Callable[[str], str | None]:
        def query(argument: str) -> str | None:
            if not self._no_argument(argument):
                return None
            return "0" if channel in self.attached else "1"  # bit 0: sensor not attached
        return query

    def _err(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        error = self.pop_error()
        return '0,"No error"' if error is None else f'{error[0]},"{error[1]}"'
