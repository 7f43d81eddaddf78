"""Simulated Fluke 1524 reference thermometer, a PRT on channel 1.

Speaks the subset `drivers.fluke.f1524` uses (the command set and reply
formats are UNVERIFIED against the 1523, 1524 Technical Guide; see the
driver's docstring): ``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*ESR?``,
``UNIT:TEMP C`` / ``UNIT:TEMP?``, ``MEAS? [<ch>]``, ``FETC? [<ch>]``,
``READ? [<ch>]``, ``SYST:ERR?``. Replies end with CR LF.

Input port ``probe`` is the PRT on channel 1 (a lead from the well's
block); channel 2 has no probe. A reading is the probe's true temperature
plus the readout's error and noise, rounded to the datasheet's resolution
(0.001 C): the error is an offset and a slope drawn (seeded) so that it
stays within ``error_fraction`` of the datasheet's accuracy (the figure at
0 C for the offset, the growth of the figure with temperature for the
slope), and the noise is normal with standard deviation ``noise_c``.

A channel with no probe (nothing connected, or a lead the operator left
off) gives no reply and queues error -230 "Data corrupt or stale", the
open-probe behaviour of the Hart SCPI readouts (UNVERIFIED for the 1524).
A probe reading a quantity other than temperature does the same.

Power-on state: unit C, empty error queue, PON in ``*ESR?``.
"""

from __future__ import annotations

import math

import numpy as np

from drivers.clock import Clock
from drivers.fluke.f1524 import CHANNELS, TEMP_SHEET
from drivers.sim.base import ScpiDispatcher, SimulatedInstrument, Stimulus

ESR_EXE, ESR_CME = 16, 32
# SCPI errors: (code, text, ESR bit); the 1524's own list is UNVERIFIED.
ERR_UNDEFINED_HEADER = (-113, "Undefined header", ESR_CME)
ERR_PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed", ESR_CME)
ERR_MISSING_PARAMETER = (-109, "Missing parameter", ESR_CME)
ERR_ILLEGAL_VALUE = (-224, "Illegal parameter value", ESR_EXE)
ERR_NO_DATA = (-230, "Data corrupt or stale", ESR_EXE)


class Sim1524(SimulatedInstrument):
    """Simulated 1524 reference thermometer.

    Options: ``error_fraction`` (0.25 of the specification), ``noise_c``
    (0.0003 C standard deviation). State the tests read: `unit`,
    `offset`, `slope`, `error_at()`.
    """

    idn = "HART,1524,B15240,1.20"
    write_termination = "\n"
    read_termination = "\r\n"
    error_queue_size = 10
    inputs = ("probe",)

    def __init__(
        self,
        name: str = "reference",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        error_fraction: float = 0.25,
        noise_c: float = 0.0003,
    ) -> None:
        super().__init__(name, clock)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        spec = TEMP_SHEET.spec("1y")
        at_zero = spec.half_width(0.0)
        top = max(r.high for r in spec.table.rows)
        growth = (spec.half_width(top) - at_zero) / top  # C of accuracy per C
        #: The readout's error: offset (C) + slope x |t|.
        self.offset = float(self.rng.uniform(-1, 1)) * at_zero * error_fraction
        self.slope = float(self.rng.uniform(-1, 1)) * growth * error_fraction
        self.noise_c = float(noise_c)
        self.resolution = TEMP_SHEET.fixed_resolution
        self.decimals = max(0, round(-math.log10(self.resolution)))
        self.unit = "C"
        self._dispatch = ScpiDispatcher([
            ("MEASure?", self._measure),
            ("FETCh?", self._measure),
            ("READ?", self._measure),
            ("SYSTem:ERRor?", self._err),
            ("UNIT:TEMPerature?", self._unit_query),
            ("UNIT:TEMPerature", self._unit),
        ])

    def error_at(self, temperature: float) -> float:
        """The readout's error at ``temperature`` (noise aside), C."""
        return self.offset + self.slope * abs(temperature)

    def probe_on(self, channel: int) -> Stimulus:
        """What the probe on ``channel`` senses."""
        return self.sense("probe") if channel == 1 else Stimulus()

    # -- commands

    def execute(self, header: str, argument: str) -> str | None:
        return self.dispatch(self._dispatch, header, argument, ERR_UNDEFINED_HEADER)

    def _error(self, error: tuple[int, str, int]) -> None:
        self.queue_error(error)

    def argument_not_allowed(self) -> None:
        self._error(ERR_PARAMETER_NOT_ALLOWED)

    def reset(self) -> None:
        """``*RST``: unit C."""
        self.unit = "C"

    def _measure(self, argument: str) -> str | None:
        channel = int(argument) if argument.isdigit() else (1 if not argument else 0)
        if channel not in range(1, CHANNELS + 1):
            self._error(ERR_ILLEGAL_VALUE)
            return None
        stimulus = self.probe_on(channel)
        if stimulus.function != "TEMP":
            self._error(ERR_NO_DATA)  # no valid measurement: no reply
            return None
        true = stimulus.value
        value = true + self.error_at(true) + float(self.rng.normal(0.0, self.noise_c))
        if self.unit == "F":
            value = value * 1.8 + 32
        elif self.unit == "K":
            value += 273.15
        return f"{round(value / self.resolution) * self.resolution:.{self.decimals}f}"

    def _err(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        error = self.pop_error()
        return '0,"No error"' if error is None else f'{error[0]},"{error[1]}"'

    def _unit(self, argument: str) -> str | None:
        unit = {"C": "C", "CEL": "C", "F": "F", "FAR": "F", "K": "K"}.get(argument.upper())
        if unit is None:
            self._error(ERR_MISSING_PARAMETER if not argument else ERR_ILLEGAL_VALUE)
            return None
        self.unit = unit
        return None

    def _unit_query(self, argument: str) -> str | None:
        return self.unit if self._no_argument(argument) else None
