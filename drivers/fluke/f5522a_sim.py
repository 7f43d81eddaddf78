"""Simulated Fluke 5522A multifunction calibrator (DC voltage only).

Speaks the subset of the 5520A/5522A remote language a DC voltage
calibration uses (5522A Operators Manual, chapter 6 "Remote Commands"):
``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*ESR?``, ``REMOTE``, ``LOCAL``,
``OUT <value> [multiplier]V``, ``OUT?``, ``OPER``, ``OPER?``, ``STBY``,
``ISR?``, ``ERR?``, ``FAULT?``.

Behaviour modelled:
- standby/operate; the output value is kept in standby and appears at the
  terminals only in operate; 0 V at the terminals in standby;
- ``ISR?`` bit 12 (SETTLED) is clear for `settle_time_s` on the bench clock
  after ``OUT`` or ``OPER``; the terminal voltage approaches the new value
  exponentially meanwhile;
- changing the output from below 33 V to 33 V or more while operating puts
  the calibrator in standby (the 5520A/5522A safety rule: high voltage
  needs a fresh ``OPER``);
- the true terminal voltage is ``setpoint * (1 + gain) + offset`` with a
  gain and an offset per range drawn (seeded) within a quarter of the 90-day
  specification (DOMAIN.md table, from Fluke's 90-day verification table);
- out-of-limit values, unknown commands and bad arguments queue an error
  and change nothing;
- `power_cycle` (from the base class): standby, output 0 V, local, empty
  error queue, PON in ``*ESR?``.

The error codes are in the 5522A format ``<code>,"<text>"`` (manual,
Appendix D); the code numbers below are UNVERIFIED against Appendix D, the
texts are close to the manual's.
"""

from __future__ import annotations

import math
import re

import numpy as np

from drivers.clock import Clock
from drivers.sim.base import SimulatedInstrument, Stimulus

#: DC voltage ranges: (full scale V, ppm of output, floor V), 90 days.
#: Source: DOMAIN.md, derived from Fluke's 5522A 90-day verification table.
DCV_RANGES: tuple[tuple[float, float, float], ...] = (
    (0.3299999, 15e-6, 1e-6),
    (3.299999, 9e-6, 2e-6),
    (32.99999, 10e-6, 20e-6),
    (329.9999, 15e-6, 150e-6),
    (1020.0, 15e-6, 1.5e-3),
)
DCV_LIMIT_V = 1020.0
#: Changing to this or more from below goes to standby (safety).
HIGH_VOLTAGE_V = 33.0

ISR_OPER = 1 << 0  # UNVERIFIED bit number (5520A manual, ISR? table)
ISR_SETTLED = 1 << 12  # DOMAIN.md: bit 12 = settled

# ESR bits (IEEE 488.2)
ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME = 4, 8, 16, 32

# Errors: (code, text, ESR bit). Codes UNVERIFIED against manual Appendix D.
ERR_UNKNOWN_COMMAND = (1302, "Unknown command", ESR_CME)
ERR_BAD_PARAMETER_COUNT = (1303, "Bad parameter count", ESR_CME)
ERR_BAD_NUMBER = (1310, "Bad number", ESR_CME)
ERR_BAD_UNITS = (1311, "Bad units", ESR_CME)
ERR_LIMITS = (537, "Entry exceeds limits", ESR_EXE)
ERR_NOT_SIMULATED = (538, "Output function not simulated", ESR_EXE)

#: Numbers the calibrator parses: "exponents in the range +-1.0E+-20" (5520A
#: remote syntax rules; UNVERIFIED for the 5522A): zero, or a magnitude
#: within these bounds. It answers ``OUT?`` with two exponent digits.
NUMBER_MIN, NUMBER_MAX = 1.0e-20, 1.0e20
_MULTIPLIERS = {"": 1.0, "U": 1e-6, "M": 1e-3, "K": 1e3, "MA": 1e6}
_VALUE_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")


def dcv_range(value: float) -> tuple[float, float, float]:
    """The DC voltage range (full scale, ppm, floor) that outputs ``value``."""
    magnitude = abs(value)
    for entry in DCV_RANGES:
        if magnitude <= entry[0]:
            return entry
    return DCV_RANGES[-1]


class Sim5522A(SimulatedInstrument):
    """Simulated Fluke 5522A calibrator, DC voltage function.

    State the tests read: `operating`, `output_value` (the programmed value
    in V), `remote`, and `terminal_voltage()` (what the leads see).
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
        #: Per range full scale: (gain error, offset error in V), drawn
        #: uniformly within ``error_fraction`` of the 90-day specification.
        self.range_errors: dict[float, tuple[float, float]] = {
            full: (
                float(rng.uniform(-1, 1)) * ppm * error_fraction,
                float(rng.uniform(-1, 1)) * floor * error_fraction,
            )
            for full, ppm, floor in DCV_RANGES
        }
        self.operating = False
        self.output_value = 0.0
        self.remote = False
        self._changed_at = self.clock.now() - settle_time_s
        self._start_v = 0.0
        self._commands = {
            **self.common_commands(),
            "REMOTE": self._remote,
            "LOCAL": self._local,
            "OUT": self._out,
            "OUT?": self._out_query,
            "OPER": self._oper,
            "OPER?": self._oper_query,
            "STBY": self._stby,
            "ISR?": self._isr,
            "ERR?": self._err,
            "FAULT?": self._fault,
        }

    # -- the physics

    def settled(self) -> bool:
        """True once `settle_time_s` has passed since the last change."""
        return self.clock.now() - self._changed_at >= self.settle_time_s

    def _target_voltage(self) -> float:
        if not self.operating:
            return 0.0
        gain, offset = self.range_errors[dcv_range(self.output_value)[0]]
        return self.output_value * (1.0 + gain) + offset

    def terminal_voltage(self) -> float:
        """The true voltage at the output terminals now, in V."""
        if not self.operating:
            return 0.0  # the output relay is open
        target = self._target_voltage()
        elapsed = self.clock.now() - self._changed_at
        if elapsed >= self.settle_time_s or self.settle_time_s <= 0:
            return target
        tau = self.settle_time_s / 5.0
        return target + (self._start_v - target) * math.exp(-elapsed / tau)

    def port_output(self) -> Stimulus:
        """What the output terminals present to a lead."""
        return Stimulus("DCV", self.terminal_voltage()) if self.operating else Stimulus()

    def _change(self, apply: None | tuple[bool, float]) -> None:
        """Record a change of state, starting a new settling period."""
        start = self.terminal_voltage()
        if apply is not None:
            self.operating, self.output_value = apply
        self._start_v = start
        self._changed_at = self.clock.now()

    # -- commands

    def execute(self, header: str, argument: str) -> str | None:
        handler = self._commands.get(header)
        if handler is None:
            self._error(ERR_UNKNOWN_COMMAND)
            return None
        return handler(argument)

    def _error(self, error: tuple[int, str, int]) -> None:
        code, text, esr_bit = error
        self.esr |= esr_bit
        self.push_error(code, text)

    def overflow_error(self) -> tuple[int, str]:
        return (1, "Error queue overflow")

    def argument_not_allowed(self) -> None:
        self._error(ERR_BAD_PARAMETER_COUNT)

    def reset(self) -> None:
        """``*RST``: standby, output 0 V."""
        self._change((False, 0.0))

    def power_on(self) -> None:
        """Power-on state: standby, output 0 V, not remote (local)."""
        self.remote = False
        self._change((False, 0.0))

    def _remote(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.remote = True
        return None

    def _local(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.remote = False
        return None

    def _out(self, argument: str) -> str | None:
        """``OUT <value>[ ][U|M|K|MA]V``: DC volts. A second parameter (a
        frequency: AC) or another unit is a function this simulator lacks."""
        params = [p.strip() for p in argument.split(",")] if argument else []
        if len(params) != 1 or not params[0]:
            self._error(ERR_BAD_PARAMETER_COUNT if len(params) != 2 else ERR_NOT_SIMULATED)
            return None
        match = _VALUE_RE.match(params[0])
        if match is None:
            self._error(ERR_BAD_NUMBER)
            return None
        number, unit = float(match.group(1)), match.group(2).upper()
        if number != 0 and not NUMBER_MIN <= abs(number) <= NUMBER_MAX:
            self._error(ERR_BAD_NUMBER)  # outside the exponents the calibrator parses
            return None
        if unit == "" or not unit.endswith("V"):
            if unit in ("A", "MA", "UA", "OHM", "KOHM", "MOHM", "HZ", "F", "UF", "NF", "CEL", "FAR"):
                self._error(ERR_NOT_SIMULATED)
                return None
            if unit:
                self._error(ERR_BAD_UNITS)
                return None
            multiplier = 1.0  # no unit: the present unit, volts
        else:
            prefix = unit[:-1]
            if prefix not in _MULTIPLIERS:
                self._error(ERR_BAD_UNITS)
                return None
            multiplier = _MULTIPLIERS[prefix]
        value = number * multiplier
        if not abs(value) <= DCV_LIMIT_V:
            self._error(ERR_LIMITS)
            return None
        operating = self.operating
        if operating and abs(self.output_value) < HIGH_VOLTAGE_V <= abs(value):
            operating = False
        self._change((operating, value))
        return None

    def _out_query(self, argument: str) -> str | None:
        """``OUT?`` reply: amplitude, unit, second amplitude, its unit,
        frequency (format UNVERIFIED against the manual's example)."""
        if not self._no_argument(argument):
            return None
        return f"{self.output_value:.6E},V,0.000000E+00,0,0.00E+00"

    def _oper(self, argument: str) -> str | None:
        if self._no_argument(argument) and not self.operating:
            self._change((True, self.output_value))
        return None

    def _oper_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        return "1" if self.operating else "0"

    def _stby(self, argument: str) -> str | None:
        if self._no_argument(argument) and self.operating:
            self._change((False, self.output_value))
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
