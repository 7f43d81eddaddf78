"""Simulated generic temperature indicator (the DUT of a comparison).

Speaks the language of `drivers.generic.indicator` (after the Hart 1521
and 1522 handheld readouts): ``*IDN?``; ``fetch?`` (also ``f``, ``read?``,
``meas?`` and the prefixes the 1521's table allows: ``f[etch?]``,
``rea[d?]``, ``me[asure?]``) answered ``t: 25.587 C``. Replies end with
CR LF. Anything else is ignored: no reply, no error (these indicators
have no error queue).

Input port ``probe``: the indicator's own probe, in the well. The reading
is ``true x (1 + gain) + offset`` plus normal noise of standard deviation
``noise``, rounded to the datasheet's resolution (0.001 C). The defaults
(offset 0.02 C, gain 1e-4, noise 0.002 C) stay well inside +/-0.1 C over
-25 C to 150 C; a test makes the indicator fail with a larger offset or
gain. With no probe (nothing on the port, or not a temperature) it
answers ``t: OL C`` (UNVERIFIED, as the driver documents).

A power cycle changes nothing it reports: it has no state.
"""

from __future__ import annotations

import math

import numpy as np

from drivers.clock import Clock
from drivers.generic.indicator import TEMP_SHEET
from drivers.sim.base import SimulatedInstrument

#: Commands as the 1521's table writes them: the required part, then the
#: optional rest; any prefix of the word may be sent, with or without its
#: ``?`` (the table's examples: ``fetch?``, ``read?``, ``meas?``).
_READ_COMMANDS = (("F", "ETCH"), ("REA", "D"), ("ME", "ASURE"))


def _is_read_command(header: str) -> bool:
    word = header.removesuffix("?")
    return any(word.startswith(required) and (required + optional).startswith(word)
               for required, optional in _READ_COMMANDS)


class SimTemperatureIndicator(SimulatedInstrument):
    """Simulated temperature indicator. Options: ``offset`` (C), ``gain``
    (fraction of reading), ``noise`` (C, standard deviation)."""

    idn = "GENERIC,TI-100,SIM-2,1.00"
    write_termination = "\n"
    read_termination = "\r\n"
    inputs = ("probe",)

    def __init__(
        self,
        name: str = "dut",
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        offset: float = 0.02,
        gain: float = 1e-4,
        noise: float = 0.002,
    ) -> None:
        super().__init__(name, clock)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.offset = float(offset)
        self.gain = float(gain)
        self.noise = float(noise)
        self.resolution = TEMP_SHEET.fixed_resolution
        self.decimals = max(0, round(-math.log10(self.resolution)))

    def indication(self, true: float) -> float:
        """What the indicator shows for a probe at ``true`` C, noise aside."""
        return true * (1.0 + self.gain) + self.offset

    def execute(self, header: str, argument: str) -> str | None:
        if header == "*IDN?":
            return self.idn
        if _is_read_command(header):
            return self._fetch()
        return None  # no error queue: an unknown command is ignored

    def _fetch(self) -> str:
        stimulus = self.sense("probe")
        if stimulus.function != "TEMP":
            return "t: OL C"
        value = self.indication(stimulus.value) + float(self.rng.normal(0.0, self.noise))
        return f"t: {round(value / self.resolution) * self.resolution:.{self.decimals}f} C"

    def argument_not_allowed(self) -> None:
        """No error queue: nothing to record."""

    def reset(self) -> None:
        """No state to reset."""
