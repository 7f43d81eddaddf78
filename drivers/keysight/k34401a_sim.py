"""Simulated Keysight (HP/Agilent) 34401A digital multimeter, DC voltage.

Speaks the SCPI subset a DC voltage calibration uses (34401A User's Guide,
chapter 4 "Remote Interface Reference"), short and long forms:
``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*ESR?``, ``SYSTem:ERRor?``,
``SYSTem:REMote``, ``SYSTem:LOCal``, ``CONFigure[:VOLTage][:DC] [range[,res]]``,
``CONFigure?``, ``[SENSe:]VOLTage[:DC]:NPLCycles``, ``...:NPLCycles?``,
``[SENSe:]VOLTage[:DC]:RANGe``, ``...:RANGe?``, ``[SENSe:]ZERO:AUTO``,
``SAMPle:COUNt``, ``TRIGger:SOURce``, ``INITiate``, ``FETCh?``, ``READ?``,
``MEASure[:VOLTage][:DC]? [range]``.

It reads what the leads give it (a callable returning the calibrator's
terminal voltage) through its own errors (`DutErrors`: offset, gain,
non-linearity, noise, drift, an injected fault), quantised to the
resolution of the present NPLC, formatted as the 34401A does
(``+1.00000230E+01``, User's Guide chapter 4, "Output Data Formats":
``SD.DDDDDDDDESDD``). A reading beyond 120 % of the range is the
overload value ``+9.90000000E+37`` (signed).

``CONFigure?`` answers as the User's Guide describes it (a quoted string,
function, range and resolution: ``"VOLT +1.000000E+01,+1.000000E-05"``),
with the resolution that the integration time gives per the User's Guide
table (chapter 3, "Integration Time"; `CONF_RESOLUTION`). With autorange
on it reports the range the last reading used (UNVERIFIED against a real
34401A). `power_cycle` (from the base class) restores the ``*RST``
defaults (DC volts, autorange, 10 PLC, one sample, immediate trigger),
local, an empty error queue and PON in ``*ESR?``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from drivers.clock import Clock
from drivers.sim.base import ScpiDispatcher, SimulatedInstrument, Stimulus

DCV_RANGES: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)
NPLC_VALUES: tuple[float, ...] = (0.02, 0.2, 1.0, 10.0, 100.0)
OVERRANGE = 1.2  # readings up to 120 % of range (1000 V range: 1050 V; simplified)
OVERLOAD = 9.9e37
#: Resolution per integration time, as a fraction of the range (User's
#: Guide, chapter 3 "Integration Time"): what ``CONFigure?`` reports and
#: what a resolution parameter of ``CONFigure`` selects.
CONF_RESOLUTION: dict[float, float] = {0.02: 1e-4, 0.2: 1e-5, 1.0: 3e-6, 10.0: 1e-6, 100.0: 3e-7}

ERR_SYNTAX = (-102, "Syntax error")
ERR_MISSING_PARAMETER = (-109, "Missing parameter")
ERR_PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
ERR_UNDEFINED_HEADER = (-113, "Undefined header")
ERR_INVALID_CHARACTER_DATA = (-141, "Invalid character data")
ERR_DATA_OUT_OF_RANGE = (-222, "Data out of range")
ERR_ILLEGAL_PARAMETER = (-224, "Illegal parameter value")
ERR_TRIGGER_DEADLOCK = (-214, "Trigger deadlock")
ERR_NO_READINGS = (-230, "Data stale")

Fault = Literal["stuck", "dropout", "silent"]

#: What the meter says when a reading drops out (``fault="dropout"``).
GARBLED_READING = "+1.0\x00\x13#?E+0"


def resolution(range_: float, nplc: float) -> float:
    """Size of one least significant digit, per the 34401A datasheet:
    6.5 digits at NPLC >= 10 (range x 1e-6), 5.5 digits at NPLC 1
    (range x 1e-5), 4.5 digits below 1 NPLC (range x 1e-4)."""
    if nplc >= 10:
        return range_ * 1e-6
    if nplc >= 1:
        return range_ * 1e-5
    return range_ * 1e-4


@dataclass(frozen=True)
class DutErrors:
    """The errors of the simulated 34401A (the DUT on the simulated bench).

    The defaults are realistic and well inside the 34401A 1-year DC voltage
    specification (DOMAIN.md table, Keysight datasheet 5968-0162EN): on the
    100 mV range the 1-year limit is 8.5 uV and the default DUT is off by
    about 1.3 uV at full scale; on the 10 V range the limit is 400 uV and it
    is off by about 50 uV. ``DutErrors(gain=80e-6)`` fails at 10 V.
    """

    offset: float = 0.8e-6  # V, added to every reading
    gain: float = 5e-6  # relative: reading = input * (1 + gain) + ...
    nonlinearity: float = 0.0  # relative to range: adds nonlinearity * range * (x/range)**2
    noise: float = 0.2e-6  # rms noise at NPLC >= 10, relative to range; x sqrt(10/NPLC) below
    drift_per_hour: float = 0.0  # V per hour of bench-clock time, added to the offset
    fault: Fault | None = None  # injected fault, see Sim34401A.fault


@dataclass
class Leads:
    """The test leads from the calibrator's output to the DMM's input.

    ``connected = False`` models the operator not having connected them:
    the DMM then sees an open input (0 V plus its own errors)."""

    source: Callable[[], float]
    connected: bool = True

    def __call__(self) -> float:
        return self.source() if self.connected else 0.0


class Sim34401A(SimulatedInstrument):
    """Simulated 34401A, DC voltage function.

    ``fault`` (settable at any time): ``"stuck"`` repeats the first reading
    taken after the fault was set; ``"dropout"`` answers READ?/FETCh?/MEAS?
    with garbage (`GARBLED_READING`); ``"silent"`` answers nothing at all.
    """

    idn = "HEWLETT-PACKARD,34401A,0,11-5-2"
    write_termination = "\n"
    read_termination = "\n"
    esr_format = "{:+d}"
    error_queue_size = 20
    inputs = ("input",)

    def __init__(
        self,
        name: str = "dmm",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        leads: Callable[[], float] | None = None,
        errors: DutErrors | None = None,
    ) -> None:
        super().__init__(name, clock)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        if leads is not None:
            volts = leads
            self.connect("input", lambda: Stimulus("DCV", volts()))
        self.dut = errors if errors is not None else DutErrors()
        self.fault: Fault | None = self.dut.fault
        self._stuck_value: float | None = None
        self._t0 = self.clock.now()
        self.remote = False
        self.reset()
        self._dispatch = ScpiDispatcher(
            [
                ("READ?", self._read),
                ("FETCh?", self._fetch),
                ("SYSTem:ERRor?", self._syst_err),
                *self.common_commands().items(),
                ("SYSTem:REMote", self._syst_rem),
                ("SYSTem:LOCal", self._syst_loc),
                ("CONFigure[:VOLTage][:DC]", self._configure),
                ("CONFigure?", self._configure_query),
                ("MEASure[:VOLTage][:DC]?", self._measure),
                ("[SENSe:]VOLTage[:DC]:NPLCycles", self._nplc),
                ("[SENSe:]VOLTage[:DC]:NPLCycles?", self._nplc_query),
                ("[SENSe:]VOLTage[:DC]:RANGe", self._range),
                ("[SENSe:]VOLTage[:DC]:RANGe?", self._range_query),
                ("[SENSe:]VOLTage[:DC]:RANGe:AUTO", self._autorange),
                ("[SENSe:]ZERO:AUTO", self._zero_auto),
                ("SAMPle:COUNt", self._sample_count),
                ("SAMPle:COUNt?", self._sample_count_query),
                ("TRIGger:SOURce", self._trigger_source),
                ("INITiate", self._initiate),
            ]
        )

    # -- state

    def reset(self) -> None:
        """*RST state (User's Guide, "Measurement Configuration" defaults)."""
        self.range = 10.0
        #: The range the last reading used (= `range` unless autoranging).
        self.present_range = 10.0
        self.autorange = True
        self.nplc = 10.0
        self.autozero = True
        self.sample_count = 1
        self.trigger_source = "IMM"
        self._memory: list[str] = []

    def power_on(self) -> None:
        """Power-on state: the ``*RST`` defaults, local; a stuck reading is
        forgotten (the injected `fault` itself stays)."""
        self.reset()
        self.remote = False
        self._stuck_value = None

    # -- the physics

    def _input_voltage(self) -> float:
        s = self.sense("input")
        return s.value if s.function == "DCV" else 0.0

    def _effective_range(self, volts: float) -> float:
        if not self.autorange:
            return self.range
        for r in DCV_RANGES:
            if abs(volts) <= r * OVERRANGE:
                return r
        return DCV_RANGES[-1]

    def measure_value(self) -> float:
        """One reading in V as the meter would display it (quantised; the
        overload value when out of range)."""
        if self.fault == "stuck" and self._stuck_value is not None:
            return self._stuck_value
        dut = self.dut
        x = self._input_voltage()
        rng_fs = self._effective_range(x)
        self.present_range = rng_fs
        hours = (self.clock.now() - self._t0) / 3600.0
        value = x * (1.0 + dut.gain) + dut.offset + dut.drift_per_hour * hours
        if dut.nonlinearity:
            value += dut.nonlinearity * rng_fs * (x / rng_fs) ** 2
        if dut.noise:
            sigma = dut.noise * rng_fs * math.sqrt(10.0 / min(self.nplc, 10.0))
            value += float(self.rng.normal(0.0, sigma))
        if abs(value) > rng_fs * OVERRANGE:
            value = math.copysign(OVERLOAD, value)
        else:
            step = resolution(rng_fs, self.nplc)
            value = round(value / step) * step
        if self.fault == "stuck":
            self._stuck_value = value
        return value

    def _reading(self) -> str:
        if self.fault == "dropout":
            return GARBLED_READING
        return f"{self.measure_value():+.8E}"

    # -- dispatch

    def execute(self, header: str, argument: str) -> str | None:
        handler = self._dispatch.find(header)
        if handler is None:
            self._error(ERR_UNDEFINED_HEADER)
            return None
        return handler(argument)

    def handle(self, line: str) -> str | None:
        reply = super().handle(line)
        return None if self.fault == "silent" else reply

    def _error(self, error: tuple[int, str]) -> None:
        code = error[0]
        self.esr |= 32 if -200 < code <= -100 else 16 if -300 < code <= -200 else 8
        self.push_error(*error)

    def argument_not_allowed(self) -> None:
        self._error(ERR_PARAMETER_NOT_ALLOWED)

    def _number(self, argument: str, choices: tuple[float, ...], kind: str) -> float | None:
        """Parse a numeric parameter or MIN/MAX/DEF; returns the smallest
        choice >= the value (the meter rounds up to a setting it has)."""
        arg = argument.strip().upper()
        if not arg:
            self._error(ERR_MISSING_PARAMETER)
            return None
        if arg in ("MIN", "MINIMUM"):
            return choices[0]
        if arg in ("MAX", "MAXIMUM"):
            return choices[-1]
        if arg in ("DEF", "DEFAULT"):
            return 10.0 if kind == "nplc" else choices[-1]
        try:
            value = float(arg)
        except ValueError:
            self._error(ERR_INVALID_CHARACTER_DATA if arg[:1].isalpha() else ERR_SYNTAX)
            return None
        magnitude = abs(value) if kind == "range" else value
        if not math.isfinite(value) or magnitude < 0:
            self._error(ERR_ILLEGAL_PARAMETER)
            return None
        for choice in choices:
            if magnitude <= choice * (1 + 1e-9):
                return choice
        self._error(ERR_DATA_OUT_OF_RANGE)
        return None

    # -- commands

    def _syst_err(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        error = self.pop_error()
        if error is None:
            return '+0,"No error"'
        return f'{error[0]:+d},"{error[1]}"'

    def _syst_rem(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.remote = True
        return None

    def _syst_loc(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.remote = False
        return None

    def _configure(self, argument: str) -> str | None:
        """CONF:VOLT:DC [{range|MIN|MAX|DEF}[,{resolution|MIN|MAX|DEF}]]:
        fixed range (AUTO or none: autorange), NPLC from the resolution
        (default 10 PLC), one sample, immediate trigger."""
        params = [p.strip() for p in argument.split(",")] if argument else []
        if len(params) > 2:
            self._error(ERR_PARAMETER_NOT_ALLOWED)
            return None
        autorange = not params or params[0].upper() in ("AUTO", "DEF", "DEFAULT")
        range_ = self.range
        if not autorange:
            parsed = self._number(params[0], DCV_RANGES, "range")
            if parsed is None:
                return None
            range_ = parsed
        nplc = 10.0
        if len(params) == 2 and params[1].upper() not in ("DEF", "DEFAULT"):
            if params[1].upper() in ("MIN", "MINIMUM"):
                nplc = 100.0
            elif params[1].upper() in ("MAX", "MAXIMUM"):
                nplc = 0.02
            else:
                try:
                    wanted = float(params[1])
                except ValueError:
                    self._error(ERR_INVALID_CHARACTER_DATA)
                    return None
                # The integration time that gives this resolution or better.
                candidates = [n for n in reversed(NPLC_VALUES)
                              if range_ * CONF_RESOLUTION[n] <= wanted * (1 + 1e-9)]
                if not candidates:
                    self._error(ERR_DATA_OUT_OF_RANGE)
                    return None
                nplc = candidates[-1]
        self.autorange = autorange
        self.range = self.present_range = range_
        self.nplc = nplc
        self.sample_count = 1
        self.trigger_source = "IMM"
        self._memory = []
        return None

    def _configure_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        present = self.present_range
        return f'"VOLT {present:+.6E},{present * CONF_RESOLUTION[self.nplc]:+.6E}"'

    def _measure(self, argument: str) -> str | None:
        self._configure(argument)
        return self._read("")

    def _nplc(self, argument: str) -> str | None:
        value = self._number(argument, NPLC_VALUES, "nplc")
        if value is not None:
            self.nplc = value
        return None

    def _nplc_query(self, argument: str) -> str | None:
        return f"{self.nplc:+.8E}" if self._no_argument(argument) else None

    def _range(self, argument: str) -> str | None:
        value = self._number(argument, DCV_RANGES, "range")
        if value is not None:
            self.range = self.present_range = value
            self.autorange = False
        return None

    def _range_query(self, argument: str) -> str | None:
        return f"{self.present_range:+.8E}" if self._no_argument(argument) else None

    def _autorange(self, argument: str) -> str | None:
        arg = argument.upper()
        if arg in ("ON", "1"):
            self.autorange = True
        elif arg in ("OFF", "0"):
            self.autorange = False
            self.range = self.present_range  # autorange off keeps the range in use
        else:
            self._error(ERR_ILLEGAL_PARAMETER if arg else ERR_MISSING_PARAMETER)
        return None

    def _zero_auto(self, argument: str) -> str | None:
        arg = argument.upper()
        if arg in ("ON", "1", "ONCE"):
            self.autozero = True
        elif arg in ("OFF", "0"):
            self.autozero = False
        else:
            self._error(ERR_ILLEGAL_PARAMETER if arg else ERR_MISSING_PARAMETER)
        return None

    def _sample_count(self, argument: str) -> str | None:
        try:
            count = int(float(argument))
        except ValueError:
            self._error(ERR_MISSING_PARAMETER if not argument else ERR_INVALID_CHARACTER_DATA)
            return None
        if not 1 <= count <= 50000:
            self._error(ERR_DATA_OUT_OF_RANGE)
            return None
        self.sample_count = count
        return None

    def _sample_count_query(self, argument: str) -> str | None:
        return f"{self.sample_count:+d}" if self._no_argument(argument) else None

    def _trigger_source(self, argument: str) -> str | None:
        arg = argument.upper()
        names = {"IMM": "IMM", "IMMEDIATE": "IMM", "BUS": "BUS", "EXT": "EXT", "EXTERNAL": "EXT"}
        if arg not in names:
            self._error(ERR_ILLEGAL_PARAMETER if arg else ERR_MISSING_PARAMETER)
            return None
        self.trigger_source = names[arg]
        return None

    def _initiate(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self._memory = [self._reading() for _ in range(self.sample_count)]
        return None

    def _fetch(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        if not self._memory:
            self._error(ERR_NO_READINGS)
            return None
        return ",".join(self._memory)

    def _read(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        if self.trigger_source == "BUS":
            self._error(ERR_TRIGGER_DEADLOCK)  # READ? with TRIG:SOUR BUS deadlocks
            return None
        if self.sample_count == 1:
            return self._reading()
        return ",".join(self._reading() for _ in range(self.sample_count))
