"""Simulated Fluke 5522A multifunction calibrator: DC voltage, DC current,
AC voltage and synthesized resistance.

Speaks the subset of the 5520A/5522A remote language a DMM calibration
uses (5522A Operators Manual, chapter 6 "Remote Commands"): ``*IDN?``,
``*RST``, ``*CLS``, ``*OPC?``, ``*ESR?``, ``REMOTE``, ``LOCAL``,
``OUT <value> [multiplier]V|A|OHM [, <frequency> [multiplier]HZ]``,
``OUT?``, ``ZCOMP NONE|WIRE2|WIRE4``, ``ZCOMP?``, ``OPER``, ``OPER?``,
``STBY``, ``ISR?``, ``ERR?``, ``FAULT?``.

Behaviour modelled:
- standby/operate; the output value is kept in standby and appears at the
  terminals only in operate; nothing at the terminals in standby;
- ``ISR?`` bit 12 (SETTLED) is clear for `settle_time_s` on the bench clock
  after ``OUT`` or ``OPER``; the output approaches the new value
  exponentially meanwhile;
- changing a voltage output from below 33 V to 33 V or more while
  operating puts the calibrator in standby (the 5520A/5522A safety rule:
  high voltage needs a fresh ``OPER``); so does changing the output to
  another function while operating (UNVERIFIED: chosen as the safe
  behaviour; the driver does not rely on either);
- the true output is ``setpoint * (1 + gain) + offset`` with a gain and an
  offset per function and range (per row of the datasheet's 90-day table)
  drawn (seeded) within ``error_fraction`` of that specification;
- ``port_output()`` presents the output as a `Stimulus` (function, true
  value, frequency) while operating: DCV, DCI, ACV (with its frequency),
  and resistance as ``R4W`` with ``ZCOMP WIRE4`` and as ``R2W`` otherwise;
- out-of-limit values (the datasheet's output limits and AC band),
  unknown commands and bad arguments queue an error and change nothing;
- `power_cycle` (from the base class): standby, output 0 V, no
  compensation, local, empty error queue, PON in ``*ESR?``.

Limits, ranges and specifications come from the datasheet beside the
driver (``f5522a.toml``). The error codes are in the 5522A format
``<code>,"<text>"`` (manual, Appendix D); the code numbers below are
UNVERIFIED against Appendix D, the texts are close to the manual's.
"""

from __future__ import annotations

import math
import re

import numpy as np

from drivers.clock import Clock
from drivers.datasheet import Table
from drivers.fluke.f5522a import COMPENSATION, HIGH_VOLTAGE_V, ISR_SETTLED, UNITS, sheet
from drivers.roles import Function
from drivers.sim.base import OPEN, SimulatedInstrument, Stimulus

#: The interval of the specification the simulated errors are drawn within.
SPEC_INTERVAL = "90d"

ISR_OPER = 1 << 0  # UNVERIFIED bit number (5520A manual, ISR? table)

# ESR bits (IEEE 488.2)
ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME = 4, 8, 16, 32

# Errors: (code, text, ESR bit). Codes UNVERIFIED against manual Appendix D.
ERR_UNKNOWN_COMMAND = (1302, "Unknown command", ESR_CME)
ERR_BAD_PARAMETER_COUNT = (1303, "Bad parameter count", ESR_CME)
ERR_BAD_NUMBER = (1310, "Bad number", ESR_CME)
ERR_BAD_UNITS = (1311, "Bad units", ESR_CME)
ERR_BAD_KEYWORD = (1312, "Bad keyword", ESR_CME)
ERR_LIMITS = (537, "Entry exceeds limits", ESR_EXE)
ERR_NOT_SIMULATED = (538, "Output function not simulated", ESR_EXE)

#: Numbers the calibrator parses: "exponents in the range +-1.0E+-20" (5520A
#: remote syntax rules; UNVERIFIED for the 5522A): zero, or a magnitude
#: within these bounds. It answers ``OUT?`` with two exponent digits.
NUMBER_MIN, NUMBER_MAX = 1.0e-20, 1.0e20
_MULTIPLIERS = {"": 1.0, "P": 1e-12, "N": 1e-9, "U": 1e-6, "M": 1e-3, "K": 1e3, "MA": 1e6}
_VALUE_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")
#: Units of functions this simulator lacks (capacitance, temperature, ...).
_OTHER_UNITS = ("F", "CEL", "FAR", "W", "DBM", "PCT")
_COMPENSATIONS = ("NONE", "WIRE2", "WIRE4")


def _quantity(text: str) -> tuple[float, str, str] | None:
    """``<number>[ ][multiplier]<unit>`` -> (value in the base unit, unit,
    what was written after the number); None if it does not parse. The
    unit is one of V, A, OHM, HZ, another known unit, or '' (none)."""
    match = _VALUE_RE.match(text)
    if match is None:
        return None
    number, suffix = float(match.group(1)), match.group(2).upper()
    for unit in ("OHM", "HZ", "V", "A", *_OTHER_UNITS):
        if suffix.endswith(unit) and suffix[: -len(unit)] in _MULTIPLIERS:
            return number * _MULTIPLIERS[suffix[: -len(unit)]], unit, suffix
    return (number, "", suffix) if suffix == "" else (number, "?", suffix)


class Sim5522A(SimulatedInstrument):
    """Simulated Fluke 5522A calibrator.

    State the tests read: `operating`, `output_function`, `output_value`
    (the programmed value, in the function's unit), `output_frequency`,
    `compensation`, `remote`, and `terminal_value()` (what the leads see;
    `terminal_voltage()` for a voltage output).
    """

    idn = "FLUKE,5522A,1234567,1.4"
    write_termination = "\n"
    read_termination = "\n"
    error_queue_size = 16
    outputs = ("output",)

    def __init__(
        self,
        name: str = "calibrator",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        settle_time_s: float = 0.5,
        error_fraction: float = 0.25,
    ) -> None:
        super().__init__(name, clock)
        self.settle_time_s = settle_time_s
        rng = rng if rng is not None else np.random.default_rng(0)
        #: Per function, per row of its 90-day table: (gain error, offset
        #: error in the function's unit), drawn uniformly within
        #: ``error_fraction`` of that row's terms (at the top of the range).
        self.errors_by_row: dict[Function, list[tuple[float, float]]] = {}
        for function in UNITS:
            table = self._table(function)
            self.errors_by_row[function] = [
                (float(rng.uniform(-1, 1)) * row.terms.reading * error_fraction,
                 float(rng.uniform(-1, 1)) * (row.terms.floor + row.terms.range * (row.range or 0.0))
                 * error_fraction)
                for row in table.rows
            ]
        self.operating = False
        self.output_function = Function.DCV
        self.output_value = 0.0
        self.output_frequency = 0.0
        self.compensation = "NONE"
        self.remote = False
        self._changed_at = self.clock.now() - settle_time_s
        self._start = 0.0
        self._commands = {
            **self.common_commands(),
            "REMOTE": self._remote,
            "LOCAL": self._local,
            "OUT": self._out,
            "OUT?": self._out_query,
            "ZCOMP": self._zcomp,
            "ZCOMP?": self._zcomp_query,
            "OPER": self._oper,
            "OPER?": self._oper_query,
            "STBY": self._stby,
            "ISR?": self._isr,
            "ERR?": self._err,
            "FAULT?": self._fault,
        }

    @staticmethod
    def _table(function: Function) -> Table:
        return sheet().function(function).spec(SPEC_INTERVAL).table

    # -- the physics

    def settled(self) -> bool:
        """True once `settle_time_s` has passed since the last change."""
        return self.clock.now() - self._changed_at >= self.settle_time_s

    def output_error(self, function: Function, value: float, frequency: float = 0.0) -> tuple[float, float]:
        """(gain, offset) of the output ``value`` of ``function`` (the row
        of the specification that applies; (0, 0) outside the table)."""
        rows = self._table(function).rows
        for i, row in enumerate(rows):
            if row.applies(value, None, frequency):
                return self.errors_by_row[function][i]
        return 0.0, 0.0

    def _target(self) -> float:
        if not self.operating:
            return 0.0
        gain, offset = self.output_error(self.output_function, self.output_value, self.output_frequency)
        return self.output_value * (1.0 + gain) + offset

    def terminal_value(self) -> float:
        """The true output now, in the output function's unit (0 in standby)."""
        if not self.operating:
            return 0.0  # the output relay is open
        target = self._target()
        elapsed = self.clock.now() - self._changed_at
        if elapsed >= self.settle_time_s or self.settle_time_s <= 0:
            return target
        tau = self.settle_time_s / 5.0
        return target + (self._start - target) * math.exp(-elapsed / tau)

    def terminal_voltage(self) -> float:
        """The true voltage at the output terminals now, in V (0 unless a
        voltage output is operating)."""
        return self.terminal_value() if self.output_function in (Function.DCV, Function.ACV) else 0.0

    def stimulus_function(self) -> Function:
        """The function the output presents to a lead: resistance is
        4-wire only with ``ZCOMP WIRE4`` (the sense leads used)."""
        if self.output_function in COMPENSATION:
            return Function.R4W if self.compensation == "WIRE4" else Function.R2W
        return self.output_function

    def port_output(self) -> Stimulus:
        """What the output terminals present to a lead."""
        if not self.operating:
            return OPEN
        return Stimulus(self.stimulus_function().value, self.terminal_value(), self.output_frequency)

    def _change(self, operating: bool, function: Function, value: float, frequency: float) -> None:
        """Record a change of state, starting a new settling period."""
        start = self.terminal_value() if function == self.output_function else 0.0
        self.operating, self.output_function = operating, function
        self.output_value, self.output_frequency = value, frequency
        self._start = start
        self._changed_at = self.clock.now()

    # -- commands

    def execute(self, header: str, argument: str) -> str | None:
        handler = self._commands.get(header)
        if handler is None:
            self._error(ERR_UNKNOWN_COMMAND)
            return None
        return handler(argument)

    def _error(self, error: tuple[int, str, int]) -> None:
        self.queue_error(error)

    def overflow_error(self) -> tuple[int, str]:
        return (1, "Error queue overflow")

    def argument_not_allowed(self) -> None:
        self._error(ERR_BAD_PARAMETER_COUNT)

    def reset(self) -> None:
        """``*RST``: standby, output 0 V, no compensation."""
        self.compensation = "NONE"
        self._change(False, Function.DCV, 0.0, 0.0)

    def power_on(self) -> None:
        """Power-on state: standby, output 0 V, no compensation, not remote (local)."""
        self.remote = False
        self.reset()

    def _remote(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.remote = True
        return None

    def _local(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.remote = False
        return None

    def _out(self, argument: str) -> str | None:
        """``OUT <value>[ ][P|N|U|M|K|MA]V|A|OHM[, <frequency>[ ][K|MA]HZ]``:
        DC volts, DC amps, ohms; volts with a frequency: AC volts. A value
        without a unit keeps the present unit (DC). AC current and other
        units are functions this simulator lacks."""
        params = [p.strip() for p in argument.split(",")] if argument else []
        if not 1 <= len(params) <= 2 or not all(params):
            self._error(ERR_BAD_PARAMETER_COUNT)
            return None
        amplitude = _quantity(params[0])
        if amplitude is None:
            self._error(ERR_BAD_NUMBER)
            return None
        value, unit, _ = amplitude
        if value != 0 and not NUMBER_MIN <= abs(value) <= NUMBER_MAX:
            self._error(ERR_BAD_NUMBER)  # outside the exponents the calibrator parses
            return None
        frequency = 0.0
        if len(params) == 2:
            second = _quantity(params[1])
            if second is None or second[1] not in ("HZ", ""):
                self._error(ERR_BAD_NUMBER if second is None else ERR_BAD_UNITS)
                return None
            frequency = second[0]
        if unit == "":
            unit = UNITS[self.output_function]  # no unit: the present unit
        function = {("V", False): Function.DCV, ("V", True): Function.ACV, ("A", False): Function.DCI,
                    ("OHM", False): Function.R2W}.get((unit, len(params) == 2))
        if function is None:
            self._error(ERR_NOT_SIMULATED if unit in ("A", *_OTHER_UNITS) else
                        ERR_BAD_PARAMETER_COUNT if unit == "OHM" else ERR_BAD_UNITS)
            return None
        fs = sheet().function(function)
        low, high = fs.limits or (0.0, 0.0)
        band = fs.frequency or (0.0, math.inf)
        if not low <= value <= high or (function.is_ac and not band[0] <= frequency <= band[1]):
            self._error(ERR_LIMITS)
            return None
        operating = self.operating
        if operating:
            if function != self.output_function:
                operating = False  # another function: standby (UNVERIFIED, the safe choice)
            elif function in (Function.DCV, Function.ACV) and abs(self.output_value) < HIGH_VOLTAGE_V <= abs(value):
                operating = False  # the safety rule (HIGH_VOLTAGE_V: the driver's, typed once)
        if function != self.output_function:
            self.compensation = "NONE"  # resistance starts uncompensated
        self._change(operating, function, value, frequency)
        return None

    def _out_query(self, argument: str) -> str | None:
        """``OUT?`` reply: amplitude, unit, second amplitude, its unit,
        frequency (format UNVERIFIED against the manual's example)."""
        if not self._no_argument(argument):
            return None
        unit = UNITS[self.output_function]
        frequency = f"{self.output_frequency:.6E}" if self.output_function.is_ac else "0.00E+00"
        return f"{self.output_value:.6E},{unit},0.000000E+00,0,{frequency}"

    def _zcomp(self, argument: str) -> str | None:
        """``ZCOMP NONE|WIRE2|WIRE4``: resistance outputs only."""
        arg = argument.strip().upper()
        if arg not in _COMPENSATIONS:
            self._error(ERR_BAD_KEYWORD if arg else ERR_BAD_PARAMETER_COUNT)
            return None
        if self.output_function not in COMPENSATION:
            self._error(ERR_LIMITS)  # compensation is for resistance (and capacitance) only
            return None
        self.compensation = arg
        return None

    def _zcomp_query(self, argument: str) -> str | None:
        return self.compensation if self._no_argument(argument) else None

    def _oper(self, argument: str) -> str | None:
        if self._no_argument(argument) and not self.operating:
            self._change(True, self.output_function, self.output_value, self.output_frequency)
        return None

    def _oper_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        return "1" if self.operating else "0"

    def _stby(self, argument: str) -> str | None:
        if self._no_argument(argument) and self.operating:
            self._change(False, self.output_function, self.output_value, self.output_frequency)
        return None

    def _isr(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        isr = ISR_OPER if self.operating else 0
        if self.settled():
            isr |= ISR_SETTLED
        return str(isr)

    def _err(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        error = self.pop_error()
        if error is None:
            return '0,"No Error"'
        return f'{error[0]},"{error[1]}"'

    def _fault(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        error = self.pop_error()
        return "0" if error is None else str(error[0])
