"""Simulated Keysight (HP/Agilent) 34401A digital multimeter: DC voltage,
DC current, AC voltage, 2-wire and 4-wire resistance.

Speaks the SCPI subset a calibration uses (34401A User's Guide, chapter 4
"Remote Interface Reference"), short and long forms: ``*IDN?``, ``*RST``,
``*CLS``, ``*OPC?``, ``*ESR?``, ``SYSTem:ERRor?``, ``SYSTem:REMote``,
``SYSTem:LOCal``, ``CONFigure[:VOLTage][:DC]``, ``CONFigure:VOLTage:AC``,
``CONFigure:CURRent[:DC]``, ``CONFigure:RESistance``,
``CONFigure:FRESistance`` (each ``[range[,res]]``), ``CONFigure?``, the
matching ``MEASure...?``, ``[SENSe:]<function>:NPLCycles[?]`` (not for AC),
``[SENSe:]<function>:RANGe[?]``, ``...:RANGe:AUTO``,
``[SENSe:]DETector:BANDwidth[?]``, ``[SENSe:]ZERO:AUTO``,
``SAMPle:COUNt[?]``, ``TRIGger:SOURce``, ``INITiate``, ``FETCh?``,
``READ?``.

It reads what its ``input`` port senses (`drivers.sim.base.Stimulus`: the
calibrator's output through the leads) through its own errors
(`DutErrors`: per function an offset and a gain, noise, a DC voltage
drift and non-linearity, an injected fault), quantised to one digit of the
present configuration, formatted as the 34401A does (``+1.00000230E+01``,
User's Guide chapter 4, "Output Data Formats": ``SD.DDDDDDDDESDD``). A
stimulus of another function than the one configured is an open input: it
reads about 0 on voltage and current, and overload on resistance. A
reading beyond 120 % of the range is the overload value
``+9.90000000E+37`` (signed). 2-wire resistance adds the resistance of the
leads (``lead_resistance``, Ohm); 4-wire does not. AC readings are RMS
(positive) and have their own noise.

Ranges, integration times, digits, the ``CONF?`` resolution and the AC
filters come from the datasheet beside the driver (``k34401a.toml``).
``CONFigure?`` answers as the User's Guide describes it (a quoted string,
function, range and resolution: ``"VOLT +1.000000E+01,+1.000000E-05"``);
for AC voltage the resolution of 6.5 digits (UNVERIFIED against a real
34401A). With autorange on it reports the range the last reading used
(UNVERIFIED). Each function keeps its own range, autorange and
integration time. `power_cycle` (from the base class) restores the
``*RST`` defaults (DC volts, autorange, 10 PLC, medium AC filter, one
sample, immediate trigger), local, an empty error queue and PON in
``*ESR?``.

Calibration adjustment (User's Guide chapter 4, CALibration subsystem;
Service Guide chapter 4): ``CALibration:SECure:STATe {OFF|ON},<code>``
(``security_code``, by default the factory's, the driver's
`Keysight34401A.calibration_code`; quoted or not), ``CALibration:SECure:STATe?``
(``1`` secured, ``0`` not), ``CALibration:VALue <value>``,
``CALibration:VALue?``, ``CALibration?`` and ``CALibration:COUNt?``. The
meter keeps per (function, range) an `Adjustment`, an offset and a gain
correction applied to its readings after its own errors (`DutErrors`):
``reading = gain x (input with errors) + offset``. ``CAL?`` adjusts the
present function and range with the ``CAL:VAL`` value: at a value near zero
(below `ZERO_FRACTION` of the range) it sets the offset, elsewhere the
gain, so that the reading without noise equals the value; it answers
``+0`` and counts one calibration. It answers ``+1`` with an error queued
while secured (``+702,"Cal secured"``), with no ``CAL:VAL`` given
(``-221,"Settings conflict"``), for a value beyond the range's overrange
(``-222,"Data out of range"``), and for an input that cannot be the value
(nothing on a resistance input, or a correction beyond `MAX_CORRECTION`:
``+707,"Cal signal measurement out of range"``); a wrong code is
``+703,"Invalid secure code"``. The adjustments and the count live in
non-volatile memory: ``*RST`` and `power_cycle` keep them, but a power
cycle secures the meter again and forgets the ``CAL:VAL`` value (the
simulator's choice, as the brief of this simulator asks; the real meter
keeps its security state in non-volatile memory, as the E1312A/E1412A
multimeter of the same family documents). A model whose meter keeps new
constants only after a store command (`store_header`, the 34461A's
``CALibration:STORe``) loses them at a power cycle until stored.
UNVERIFIED: the 7xx error numbers and texts (from memory of the User's
Guide's calibration errors), the ``CAL:SEC:STAT?`` and ``CAL:COUN?`` reply
formats, the zero/gain rule and both thresholds (simulator choices, not
the maker's).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from drivers import datasheet
from drivers.clock import Clock
from drivers.keysight.k34401a import Keysight34401A, conf_resolution, sheet
from drivers.roles import Function
from drivers.sim.base import ScpiDispatcher, SimulatedInstrument

OVERLOAD = 9.9e37

ERR_SYNTAX = (-102, "Syntax error")
ERR_MISSING_PARAMETER = (-109, "Missing parameter")
ERR_PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
ERR_UNDEFINED_HEADER = (-113, "Undefined header")
ERR_INVALID_CHARACTER_DATA = (-141, "Invalid character data")
ERR_DATA_OUT_OF_RANGE = (-222, "Data out of range")
ERR_ILLEGAL_PARAMETER = (-224, "Illegal parameter value")
ERR_TRIGGER_DEADLOCK = (-214, "Trigger deadlock")
ERR_NO_READINGS = (-230, "Data stale")
ERR_SETTINGS_CONFLICT = (-221, "Settings conflict")
#: Calibration errors (numbers and texts UNVERIFIED: from memory of the 34401A
#: User's Guide, chapter 5, calibration errors).
ERR_CAL_SECURED = (702, "Cal secured")
ERR_INVALID_SECURE_CODE = (703, "Invalid secure code")
ERR_CAL_SIGNAL = (707, "Cal signal measurement out of range")

#: ``CAL?`` sets the offset when |value| is below this fraction of the
#: range, the gain otherwise (the simulator's rule, not the maker's).
ZERO_FRACTION = 0.01
#: The largest correction ``CAL?`` makes: offset as a fraction of the range,
#: gain as a relative change; beyond it the input cannot be the value
#: (the simulator's limit, not the maker's).
MAX_CORRECTION = 0.01

Fault = Literal["stuck", "dropout", "silent"]

#: What the meter says when a reading drops out (``fault="dropout"``).
GARBLED_READING = "+1.0\x00\x13#?E+0"

#: Each function's name in ``CONFigure?`` and its SCPI node (User's Guide, chapter 4).
SCPI_NAMES: dict[Function, str] = {
    Function.DCV: "VOLT", Function.DCI: "CURR", Function.ACV: "VOLT:AC",
    Function.R2W: "RES", Function.R4W: "FRES",
}
#: The range each function reports after ``*RST`` until a reading autoranges (UNVERIFIED).
RESET_RANGES: dict[Function, float] = {
    Function.DCV: 10.0, Function.DCI: 1.0, Function.ACV: 10.0, Function.R2W: 1e3, Function.R4W: 1e3,
}
RESET_NPLC = 10.0  # *RST and the CONF default (User's Guide, "Measurement Configuration")
_OHMS = (Function.R2W, Function.R4W)


def resolution(function: Function, range_: float, nplc: float, ds: datasheet.Datasheet | None = None) -> float:
    """One least significant digit on ``range_`` at ``nplc`` (the
    datasheet's digits: range x 10^-int(digits); AC: 6.5 digits; ``ds``,
    by default the 34401A's)."""
    fs = (ds or sheet()).function(function)
    if function.is_ac:
        return range_ * 10.0 ** -int(fs.figure("digits", 0.0))
    return fs.digit(range_, nplc)


def ac_filters(ds: datasheet.Datasheet | None = None) -> tuple[float, ...]:
    """The AC filters ``DET:BAND`` selects, Hz, ascending (datasheet ``ds``,
    by default the 34401A's)."""
    fs = (ds or sheet()).function(Function.ACV)
    return tuple(fs.figure(name, 0.0) for name in ("filter_slow", "filter_medium", "filter_fast"))


@dataclass(frozen=True)
class DutErrors:
    """The errors of the simulated 34401A (the DUT on the simulated bench).

    The defaults are realistic and well inside the 34401A 1-year
    specification (datasheet ``k34401a.toml``, from Keysight data sheet
    5968-0162EN): on the 100 mV DC range the 1-year limit is 8.5 uV and the
    default DUT is off by about 1.3 uV at full scale; on the 10 V range the
    limit is 400 uV and it is off by about 50 uV. ``DutErrors(gain=80e-6)``
    fails DC voltage at 10 V. The other functions have their own offset and
    gain (``dci_*``, ``acv_*``, ``ohms_*``); ``noise`` applies to every DC
    function and resistance, ``acv_noise`` to AC voltage.
    """

    offset: float = 0.8e-6  # V, added to every DC voltage reading
    gain: float = 5e-6  # relative: reading = input * (1 + gain) + ...
    nonlinearity: float = 0.0  # relative to range: adds nonlinearity * range * (x/range)**2 (DC voltage)
    noise: float = 0.2e-6  # rms noise at NPLC >= 10, relative to range; x sqrt(10/NPLC) below
    drift_per_hour: float = 0.0  # V per hour of bench-clock time, added to the DC voltage offset
    dci_offset: float = 0.1e-6  # A (1-year limit on 10 mA: 7 uA)
    dci_gain: float = 50e-6  # (1-year: 0.05 % of reading on 10 mA and 100 mA)
    acv_offset: float = 5e-6  # V rms (1-year limit on 100 mV at 1 kHz: 100 uV)
    acv_gain: float = 100e-6  # (1-year: 0.06 % of reading)
    acv_noise: float = 5e-6  # rms noise of AC readings, relative to range
    ohms_offset: float = 0.5e-3  # Ohm (1-year limit on 100 Ohm: 14 mOhm)
    ohms_gain: float = 20e-6  # (1-year: 0.010 % of reading)
    fault: Fault | None = None  # injected fault, see Sim34401A.fault


@dataclass(frozen=True)
class Adjustment:
    """What ``CAL?`` keeps for one function and range: a reading is
    ``gain * (input with the meter's errors) + offset``."""

    offset: float = 0.0
    gain: float = 1.0

    def apply(self, value: float) -> float:
        return self.gain * value + self.offset


NO_ADJUSTMENT = Adjustment()


@dataclass
class _Setting:
    """What the meter keeps per function."""

    range: float
    autorange: bool = True
    nplc: float = RESET_NPLC


class Sim34401A(SimulatedInstrument):
    """Simulated 34401A: DC voltage, DC current, AC voltage, 2- and 4-wire
    resistance.

    ``Sim34401A(name, clock, rng, errors=DutErrors(), lead_resistance=0.01,
    security_code=None)``: ``lead_resistance`` (Ohm) is what the leads add
    to a 2-wire resistance reading (small enough to pass the 2-wire
    specification, whose 0.2 Ohm floor is for the leads);
    ``security_code`` the calibration security code (None: the factory's,
    `default_security_code`). `adjustments` holds the calibration
    adjustments (see the module), `secured` the security state,
    `calibration_count` the count.

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
    #: The model's datasheet, beside the driver (a model of the family names its own).
    datasheet_file: ClassVar[str] = "k34401a.toml"
    #: The header that selects the AC filter (User's Guide, "AC Signal Filter").
    ac_filter_header: ClassVar[str] = "[SENSe:]DETector:BANDwidth"
    #: The meter's errors when none are given.
    default_errors: ClassVar[DutErrors] = DutErrors()
    #: The factory calibration security code.
    default_security_code: ClassVar[str] = Keysight34401A.calibration_code
    #: The query that performs a calibration step.
    calibrate_header: ClassVar[str] = "CALibration?"
    #: The command that stores new constants in non-volatile memory ("":
    #: none, ``CAL?`` stores them itself, as on the 34401A).
    store_header: ClassVar[str] = ""

    def __init__(
        self,
        name: str = "dmm",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        errors: DutErrors | None = None,
        lead_resistance: float = 0.01,
        security_code: str | None = None,
    ) -> None:
        super().__init__(name, clock)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.dut = errors if errors is not None else self.default_errors
        self.lead_resistance = float(lead_resistance)
        # -- calibration, in non-volatile memory (kept by *RST and a power cycle)
        self.security_code = security_code if security_code is not None else self.default_security_code
        #: Per (function, range): the adjustment stored in non-volatile memory.
        self.adjustments: dict[tuple[Function, float], Adjustment] = {}
        #: Adjustments made but not stored yet (a model with `store_header`).
        self.unstored: dict[tuple[Function, float], Adjustment] = {}
        self.calibration_count = 0
        self.secured = True
        #: The value of the standard, ``CAL:VAL`` (None: not given since power-on).
        self.calibration_value: float | None = None
        self.fault: Fault | None = self.dut.fault
        self._stuck_value: float | None = None
        self._t0 = self.clock.now()
        self.remote = False
        self.reset()
        table: list[tuple[str, Callable[[str], str | None]]] = [
            ("READ?", self._read),
            ("FETCh?", self._fetch),
            ("SYSTem:ERRor?", self._syst_err),
            *self.common_commands().items(),
            ("SYSTem:REMote", self._syst_rem),
            ("SYSTem:LOCal", self._syst_loc),
            ("CONFigure?", self._configure_query),
            (self.ac_filter_header, self._band),
            (self.ac_filter_header + "?", self._band_query),
            ("[SENSe:]ZERO:AUTO", self._zero_auto),
            ("SAMPle:COUNt", self._sample_count),
            ("SAMPle:COUNt?", self._sample_count_query),
            ("TRIGger:SOURce", self._trigger_source),
            ("INITiate", self._initiate),
            ("CALibration:SECure:STATe", self._secure_state),
            ("CALibration:SECure:STATe?", self._secure_state_query),
            ("CALibration:VALue", self._calibration_value),
            ("CALibration:VALue?", self._calibration_value_query),
            ("CALibration:COUNt?", self._calibration_count_query),
            (self.calibrate_header, self._calibrate),
        ]
        if self.store_header:
            table.append((self.store_header, self._store))
        nodes = {Function.ACV: "VOLTage:AC", Function.DCI: "CURRent[:DC]", Function.R2W: "RESistance",
                 Function.R4W: "FRESistance", Function.DCV: "[VOLTage][:DC]"}
        for function, node in nodes.items():  # VOLTage:AC before [VOLTage][:DC]
            table += self._function_commands(function, node)
        self._dispatch = ScpiDispatcher(table)

    def _function_commands(self, f: Function, node: str) -> list[tuple[str, Callable[[str], str | None]]]:
        """The commands of one function: CONF, MEAS?, RANG[?], RANG:AUTO, NPLC[?]."""
        sense = "[SENSe:]" + ("VOLTage[:DC]" if f is Function.DCV else node)
        out: list[tuple[str, Callable[[str], str | None]]] = [
            ("CONFigure:" + node if not node.startswith("[") else "CONFigure" + node,
             lambda a: self._configure(f, a)),
            (("MEASure:" + node if not node.startswith("[") else "MEASure" + node) + "?",
             lambda a: self._measure(f, a)),
            (sense + ":RANGe", lambda a: self._range(f, a)),
            (sense + ":RANGe?", lambda a: self._range_query(f, a)),
            (sense + ":RANGe:AUTO", lambda a: self._autorange(f, a)),
        ]
        if not f.is_ac:
            out += [(sense + ":NPLCycles", lambda a: self._nplc(f, a)),
                    (sense + ":NPLCycles?", lambda a: self._nplc_query(f, a))]
        return out

    def sheet(self) -> datasheet.Datasheet:
        """The model's datasheet (`datasheet_file`; read once)."""
        return sheet(self.datasheet_file)

    # -- state

    def reset(self) -> None:
        """*RST state (User's Guide, "Measurement Configuration" defaults)."""
        self.function = Function.DCV
        self.settings: dict[Function, _Setting] = {f: _Setting(r) for f, r in RESET_RANGES.items()}
        #: The range the last reading used (= `range` unless autoranging).
        self.present_range = self.settings[self.function].range
        self.ac_filter = ac_filters(self.sheet())[1]  # medium (20 Hz)
        self.autozero = True
        self.sample_count = 1
        self.trigger_source = "IMM"
        self._memory: list[str] = []

    def power_on(self) -> None:
        """Power-on state: the ``*RST`` defaults, local; a stuck reading is
        forgotten (the injected `fault` itself stays). Calibration: secured,
        no ``CAL:VAL`` value, unstored adjustments lost; the stored
        adjustments and the count are kept."""
        self.reset()
        self.remote = False
        self._stuck_value = None
        self.secured = True
        self.calibration_value = None
        self.unstored.clear()

    def adjustment(self, function: Function, range_: float) -> Adjustment:
        """The adjustment in force on ``function`` and ``range_``."""
        key = (function, range_)
        return self.unstored.get(key) or self.adjustments.get(key) or NO_ADJUSTMENT

    @property
    def range(self) -> float:
        """The fixed range of the present function."""
        return self.settings[self.function].range

    @property
    def autorange(self) -> bool:
        """Autorange of the present function."""
        return self.settings[self.function].autorange

    @property
    def nplc(self) -> float:
        """The integration time of the present function, PLC."""
        return self.settings[self.function].nplc

    # -- the physics

    def _input(self) -> float | None:
        """The true input in the present function's unit; None when the
        input is open (nothing, or a stimulus of another function)."""
        s = self.sense("input")
        return s.value if s.function == self.function.value else None

    def _effective_range(self, x: float) -> float:
        setting = self.settings[self.function]
        if not setting.autorange:
            return setting.range
        fs = self.sheet().function(self.function)
        for r in fs.ranges:
            if abs(x) <= r * fs.overrange:
                return r
        return fs.ranges[-1]

    def measure_value(self) -> float:
        """One reading as the meter would display it (quantised; the
        overload value when out of range or, on resistance, open)."""
        if self.fault == "stuck" and self._stuck_value is not None:
            return self._stuck_value
        f = self.function
        x = self._input()
        if x is None and f in _OHMS:
            self.present_range = self._effective_range(math.inf)
            value = OVERLOAD
        else:
            x = 0.0 if x is None else x
            rng_fs = self._effective_range(x)
            self.present_range = rng_fs
            value = self._with_errors(x, rng_fs)
            if abs(value) > rng_fs * self.sheet().function(f).overrange:
                value = math.copysign(OVERLOAD, value)
            else:
                step = resolution(f, rng_fs, self.nplc, self.sheet())
                value = round(value / step) * step
        if self.fault == "stuck":
            self._stuck_value = value
        return value

    def _with_errors(self, x: float, rng_fs: float, noisy: bool = True) -> float:
        """``x`` as the meter reads it on ``rng_fs``, unquantised: its own
        errors, then its calibration adjustment (`adjustment`); without
        noise (and drawing no random number) unless ``noisy``."""
        f = self.function
        value = self.adjustment(f, rng_fs).apply(self._raw(x, rng_fs, noisy))
        return abs(value) if f.is_ac else value  # AC: an RMS value

    def _raw(self, x: float, rng_fs: float, noisy: bool = True) -> float:
        """``x`` through the meter's own errors (`DutErrors`), unadjusted."""
        f, dut = self.function, self.dut
        dc_sigma = dut.noise * rng_fs * math.sqrt(10.0 / min(self.nplc, 10.0)) if noisy else 0.0
        if f is Function.DCV:
            hours = (self.clock.now() - self._t0) / 3600.0
            value = x * (1.0 + dut.gain) + dut.offset + dut.drift_per_hour * hours
            if dut.nonlinearity:
                value += dut.nonlinearity * rng_fs * (x / rng_fs) ** 2
            return value + self._noise(dc_sigma)
        if f is Function.DCI:
            return x * (1.0 + dut.dci_gain) + dut.dci_offset + self._noise(dc_sigma)
        if f is Function.ACV:
            sigma = dut.acv_noise * rng_fs if noisy else 0.0
            return abs(abs(x) * (1.0 + dut.acv_gain) + dut.acv_offset + self._noise(sigma))
        leads = self.lead_resistance if f is Function.R2W else 0.0
        return (x + leads) * (1.0 + dut.ohms_gain) + dut.ohms_offset + self._noise(dc_sigma)

    def _noise(self, sigma: float) -> float:
        return float(self.rng.normal(0.0, sigma)) if sigma else 0.0

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

    def _number(self, argument: str, choices: tuple[float, ...], default: float) -> float | None:
        """Parse a numeric parameter or MIN/MAX/DEF; returns the smallest
        choice >= the value's magnitude (the meter rounds up to a setting
        it has)."""
        arg = argument.strip().upper()
        if not arg:
            self._error(ERR_MISSING_PARAMETER)
            return None
        if arg in ("MIN", "MINIMUM"):
            return choices[0]
        if arg in ("MAX", "MAXIMUM"):
            return choices[-1]
        if arg in ("DEF", "DEFAULT"):
            return default
        try:
            value = abs(float(arg))
        except ValueError:
            self._error(ERR_INVALID_CHARACTER_DATA if arg[:1].isalpha() else ERR_SYNTAX)
            return None
        if not math.isfinite(value):
            self._error(ERR_ILLEGAL_PARAMETER)
            return None
        for choice in choices:
            if value <= choice * (1 + 1e-9):
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

    def _configure(self, f: Function, argument: str) -> str | None:
        """CONF:<function> [{range|MIN|MAX|DEF}[,{resolution|MIN|MAX|DEF}]]:
        fixed range (AUTO or none: autorange), NPLC from the resolution
        (default 10 PLC; AC: the resolution is taken and not used), one
        sample, immediate trigger."""
        fs = self.sheet().function(f)
        params = [p.strip() for p in argument.split(",")] if argument else []
        if len(params) > 2:
            self._error(ERR_PARAMETER_NOT_ALLOWED)
            return None
        setting = self.settings[f]
        autorange = not params or params[0].upper() in ("AUTO", "DEF", "DEFAULT")
        range_ = setting.range
        if not autorange:
            parsed = self._number(params[0], fs.ranges, fs.ranges[-1])
            if parsed is None:
                return None
            range_ = parsed
        nplc = RESET_NPLC
        if len(params) == 2 and params[1].upper() not in ("DEF", "DEFAULT"):
            wanted = params[1].upper()
            if f.is_ac:
                if wanted not in ("MIN", "MINIMUM", "MAX", "MAXIMUM") and not _is_number(wanted):
                    self._error(ERR_INVALID_CHARACTER_DATA)
                    return None
            elif wanted in ("MIN", "MINIMUM"):
                nplc = fs.nplc[-1]
            elif wanted in ("MAX", "MAXIMUM"):
                nplc = fs.nplc[0]
            else:
                if not _is_number(wanted):
                    self._error(ERR_INVALID_CHARACTER_DATA)
                    return None
                # The integration time that gives this resolution or better.
                candidates = [n for n in reversed(fs.nplc)
                              if conf_resolution(f, range_, n, self.sheet()) <= float(wanted) * (1 + 1e-9)]
                if not candidates:
                    self._error(ERR_DATA_OUT_OF_RANGE)
                    return None
                nplc = candidates[-1]
        self.function = f
        setting.autorange = autorange
        setting.range = self.present_range = range_
        if not f.is_ac:
            setting.nplc = nplc
        self.sample_count = 1
        self.trigger_source = "IMM"
        self._memory = []
        return None

    def _configure_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        f, present = self.function, self.present_range
        ds = self.sheet()
        res = resolution(f, present, self.nplc, ds) if f.is_ac else conf_resolution(f, present, self.nplc, ds)
        return f'"{SCPI_NAMES[f]} {present:+.6E},{res:+.6E}"'

    def _measure(self, f: Function, argument: str) -> str | None:
        self._configure(f, argument)
        return self._read("")

    def _nplc(self, f: Function, argument: str) -> str | None:
        value = self._number(argument, self.sheet().function(f).nplc, RESET_NPLC)
        if value is not None:
            self.settings[f].nplc = value
        return None

    def _nplc_query(self, f: Function, argument: str) -> str | None:
        return f"{self.settings[f].nplc:+.8E}" if self._no_argument(argument) else None

    def _range(self, f: Function, argument: str) -> str | None:
        ranges = self.sheet().function(f).ranges
        value = self._number(argument, ranges, ranges[-1])
        if value is not None:
            self.settings[f].range = value
            self.settings[f].autorange = False
            if f is self.function:
                self.present_range = value
        return None

    def _range_query(self, f: Function, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        value = self.present_range if f is self.function else self.settings[f].range
        return f"{value:+.8E}"

    def _autorange(self, f: Function, argument: str) -> str | None:
        arg = argument.upper()
        setting = self.settings[f]
        if arg in ("ON", "1"):
            setting.autorange = True
        elif arg in ("OFF", "0"):
            setting.autorange = False
            if f is self.function:
                setting.range = self.present_range  # autorange off keeps the range in use
        else:
            self._error(ERR_ILLEGAL_PARAMETER if arg else ERR_MISSING_PARAMETER)
        return None

    def _band(self, argument: str) -> str | None:
        """``DET:BAND {<lowest frequency>|MIN|MAX|DEF}``: the filter for
        inputs at or above that frequency (3, 20 or 200 Hz)."""
        filters = ac_filters(self.sheet())
        arg = argument.strip().upper()
        if not arg:
            self._error(ERR_MISSING_PARAMETER)
            return None
        named = {"MIN": filters[0], "MINIMUM": filters[0], "MAX": filters[-1], "MAXIMUM": filters[-1],
                 "DEF": filters[1], "DEFAULT": filters[1]}
        if arg in named:
            self.ac_filter = named[arg]
            return None
        if not _is_number(arg):
            self._error(ERR_INVALID_CHARACTER_DATA if arg[:1].isalpha() else ERR_SYNTAX)
            return None
        value = float(arg)
        usable = [b for b in filters if b <= value * (1 + 1e-9)]
        if not math.isfinite(value) or not usable:
            self._error(ERR_DATA_OUT_OF_RANGE)
            return None
        self.ac_filter = usable[-1]
        return None

    def _band_query(self, argument: str) -> str | None:
        return f"{self.ac_filter:+.8E}" if self._no_argument(argument) else None

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

    # -- calibration

    def _secure_state(self, argument: str) -> str | None:
        """``CAL:SEC:STAT {OFF|ON|0|1},<code>``: unsecure or secure with the
        security code (quoted or not); a wrong code changes nothing."""
        params = [p.strip() for p in argument.split(",")] if argument.strip() else []
        if len(params) < 2:
            self._error(ERR_MISSING_PARAMETER)
            return None
        if len(params) > 2:
            self._error(ERR_PARAMETER_NOT_ALLOWED)
            return None
        state, code = params[0].upper(), params[1]
        if state not in ("ON", "OFF", "1", "0"):
            self._error(ERR_ILLEGAL_PARAMETER)
            return None
        if len(code) >= 2 and code[0] == code[-1] and code[0] in "\"'":
            code = code[1:-1]
        if code != self.security_code:
            self._error(ERR_INVALID_SECURE_CODE)
            return None
        self.secured = state in ("ON", "1")
        return None

    def _secure_state_query(self, argument: str) -> str | None:
        return ("1" if self.secured else "0") if self._no_argument(argument) else None

    def _calibration_value(self, argument: str) -> str | None:
        """``CAL:VAL <value>``: the value of the standard applied now."""
        arg = argument.strip()
        if not arg:
            self._error(ERR_MISSING_PARAMETER)
            return None
        if not _is_number(arg):
            self._error(ERR_INVALID_CHARACTER_DATA if arg[:1].isalpha() else ERR_SYNTAX)
            return None
        value = float(arg)
        if not math.isfinite(value):
            self._error(ERR_ILLEGAL_PARAMETER)
            return None
        self.calibration_value = value
        return None

    def _calibration_value_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        return f"{self.calibration_value or 0.0:+.8E}"

    def _calibration_count_query(self, argument: str) -> str | None:
        return f"{self.calibration_count:+d}" if self._no_argument(argument) else None

    def _calibrate(self, argument: str) -> str | None:
        """``CAL?``: adjust the present function and range so that the
        reading (without noise) equals the ``CAL:VAL`` value: the offset
        near zero, the gain elsewhere. ``+0`` passed, ``+1`` failed (with
        the reason queued)."""
        if not self._no_argument(argument):
            return None
        failure = self._calibration_failure()
        if failure is not None:
            self._error(failure)
            return "+1"
        return "+0"

    def _calibration_failure(self) -> tuple[int, str] | None:
        """Make the adjustment ``CAL?`` asks for; the error if it cannot."""
        if self.secured:
            return ERR_CAL_SECURED
        value = self.calibration_value
        if value is None:
            return ERR_SETTINGS_CONFLICT
        f = self.function
        x = self._input()
        if x is None and f in _OHMS:
            return ERR_CAL_SIGNAL  # nothing on the input
        x = 0.0 if x is None else x
        range_ = self.present_range = self._effective_range(x)
        if abs(value) > range_ * self.sheet().function(f).overrange:
            return ERR_DATA_OUT_OF_RANGE
        now = self.adjustment(f, range_)
        raw = self._raw(x, range_, noisy=False)
        if abs(value) < ZERO_FRACTION * range_:
            new = Adjustment(offset=value - now.gain * raw, gain=now.gain)
        elif raw != 0.0:
            new = Adjustment(offset=now.offset, gain=(value - now.offset) / raw)
        else:
            return ERR_CAL_SIGNAL
        if abs(new.offset) > MAX_CORRECTION * range_ or abs(new.gain - 1.0) > MAX_CORRECTION:
            return ERR_CAL_SIGNAL
        (self.unstored if self.store_header else self.adjustments)[(f, range_)] = new
        self.calibration_count += 1
        return None

    def _store(self, argument: str) -> str | None:
        """`store_header` (``CAL:STOR``): keep the adjustments made since
        the last store in non-volatile memory."""
        if not self._no_argument(argument):
            return None
        if self.secured:
            self._error(ERR_CAL_SECURED)
            return None
        self.adjustments.update(self.unstored)
        self.unstored.clear()
        return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
