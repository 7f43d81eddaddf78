"""Keysight (HP, Agilent) 34401A 6.5-digit multimeter, DC voltage.

Commands from the 34401A User's Guide, chapter 4 "Remote Interface
Reference" (SCPI). Only DC voltage is driven here.

Number format: ranges and NPLC are sent as IEEE 488.2 NRf, exactly
(`drivers.transport.nrf`): ``CONF:VOLT:DC 10``, ``VOLT:DC:NPLC 0.2``.
Initialisation does not send ``*RST``: `configure` sets every setting a
reading depends on (function, fixed range, integration time; ``CONF``
also resets trigger and sample count), so a reset adds nothing.
"""

from __future__ import annotations

import math
from typing import ClassVar

from drivers.base import MessageInstrument
from drivers.clock import Clock
from drivers.errors import GarbledReply, InstrumentError
from drivers.roles import Function
from drivers.transport import Transport, nrf

#: DC voltage ranges, V (datasheet 5968-0162EN).
DCV_RANGES: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)
#: Integration times the 34401A offers, in power-line cycles.
NPLC_VALUES: tuple[float, ...] = (0.02, 0.2, 1.0, 10.0, 100.0)
#: What the 34401A returns for an overload (SCPI's 9.9E37 "not a number").
OVERLOAD = 9.9e37
MAX_SAMPLES = 512  # readings the 34401A's memory holds (User's Guide, SAMPle:COUNt)
#: ``SYST:ERR?`` entries read at most in one check (the queue holds 20).
MAX_ERRORS_READ = 20


class Keysight34401A(MessageInstrument):
    """34401A digital multimeter (role: `Meter`, DCV).

    ``Keysight34401A(transport, clock, serial=None)``: ``serial`` says the
    transport is an RS-232 line, where the meter needs ``SYST:REM`` (None:
    decided from the transport's resource string). Terminations: LF.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("HEWLETT-PACKARD", "AGILENT", "KEYSIGHT")
    models: ClassVar[tuple[str, ...]] = ("34401A",)

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        self._range: float | None = None
        self._nplc: float | None = None
        self._sample_count = 1  # after *RST and CONF (User's Guide, "SAMPle:COUNt")

    def initialize(self) -> None:
        """``*CLS``, ``SYST:REM`` (RS-232 only), then ``SYST:ERR?`` until
        ``+0,"No error"``.

        ``*CLS`` comes first so that errors left from before this run do
        not count against it."""
        self.transport.write("*CLS")
        if self.serial:
            self.transport.write("SYST:REM")
        self.check_errors("SYST:REM" if self.serial else "*CLS")

    # -- Meter

    def ranges(self, function: Function) -> tuple[float, ...]:
        """DC voltage ranges: 100 mV, 1 V, 10 V, 100 V, 1000 V (in V)."""
        self._check_function(function, "CONF:VOLT:DC")
        return DCV_RANGES

    def configure(self, function: Function, range_: float, nplc: float) -> None:
        """``CONF:VOLT:DC <range>`` then ``VOLT:DC:NPLC <nplc>``, each
        checked with ``SYST:ERR?``.

        ``range_``: full scale in V, one of `ranges` (fixed range, no
        autoranging). ``nplc``: integration time in power-line cycles, one
        of 0.02, 0.2, 1, 10, 100."""
        command = f"CONF:VOLT:DC {nrf(range_)}"
        self._check_function(function, command)
        if range_ not in DCV_RANGES:
            raise InstrumentError(
                self.name, command, f"{range_:g} V is not a DC voltage range",
                "use one of " + ", ".join(f"{r:g}" for r in DCV_RANGES) + " V",
            )
        nplc_command = f"VOLT:DC:NPLC {nrf(nplc)}"
        if nplc not in NPLC_VALUES:
            raise InstrumentError(
                self.name, nplc_command, f"{nplc:g} is not an integration time of the 34401A",
                "use one of " + ", ".join(f"{n:g}" for n in NPLC_VALUES) + " PLC",
            )
        self._range = self._nplc = None
        self._configure(command)  # CONFigure also sets the sample count to 1
        self._sample_count = 1
        self._configure(nplc_command)
        self._range, self._nplc = range_, nplc

    def resolution(self) -> float:
        """One least significant digit in the present configuration, in V.
        Needs `configure` first."""
        if self._range is None or self._nplc is None:
            raise InstrumentError(
                self.name, "VOLT:DC:NPLC?", "resolution unknown: the meter is not configured",
                "call configure() first",
            )
        return self.resolution_for(Function.DCV, self._range, self._nplc)

    def resolution_for(self, function: Function, range_: float, nplc: float) -> float:
        """One least significant digit, in V, per the 34401A datasheet:
        6.5 digits at NPLC >= 10 (range x 1e-6: 100 nV on 100 mV, 10 uV on
        10 V), 5.5 digits at NPLC 1 (range x 1e-5), 4.5 digits below
        (range x 1e-4). Sends nothing."""
        self._check_function(function, "VOLT:DC:NPLC?")
        if nplc >= 10:
            return range_ * 1e-6
        if nplc >= 1:
            return range_ * 1e-5
        return range_ * 1e-4

    def read(self) -> float:
        """``READ?``: one reading in the present configuration, in V.

        Raises `GarbledReply` if the reply is not a number, and
        `InstrumentError` on an overload (``+9.90000000E+37``)."""
        if self._sample_count != 1:
            self._set_sample_count(1)
        return self._value(self.transport.query("READ?"))

    def read_many(self, n: int) -> list[float]:
        """``SAMP:COUN n`` (when it changes) then one ``READ?``: n readings
        from one trigger, returned together as ``+1.0E+01,+1.0E+01,...``.

        One bus exchange instead of n; the 34401A holds up to 512 readings,
        so larger blocks are taken 512 at a time."""
        if n < 1:
            raise ValueError(f"cannot take {n} readings")
        values: list[float] = []
        while len(values) < n:
            count = min(n - len(values), MAX_SAMPLES)
            if self._sample_count != count:
                self._set_sample_count(count)
            fields = self.transport.query("READ?").split(",")
            if len(fields) != count:
                raise GarbledReply(self.name, "READ?", f"{len(fields)} readings where {count} were asked for",
                                   "check the cable and the interface settings")
            values.extend(map(self._value, fields))
        return values

    def _set_sample_count(self, count: int) -> None:
        self._configure(f"SAMP:COUN {count}")
        self._sample_count = count

    def _value(self, reply: str) -> float:
        try:
            value = float(reply)
        except ValueError:
            raise GarbledReply(
                self.name, "READ?", f"reply {reply!r} is not a number",
                "check the cable and the interface settings",
            ) from None
        if not math.isfinite(value):
            raise GarbledReply(self.name, "READ?", f"reply {reply!r} is not a finite number")
        if abs(value) >= OVERLOAD:
            raise InstrumentError(
                self.name, "READ?", f"overload ({reply.strip()}): the input exceeds the range",
                "check the range and the leads",
            )
        return value

    # -- error checking

    def _configure(self, command: str) -> None:
        self.transport.write(command)
        self.check_errors(command)

    def check_errors(self, command: str = "") -> None:
        """Read ``SYST:ERR?`` until ``+0,"No error"``; raise
        `InstrumentError` with the first error, naming ``command``."""
        first: tuple[int, str] | None = None
        for _ in range(MAX_ERRORS_READ):
            reply = self.transport.query("SYST:ERR?")
            code_text, _, text = reply.partition(",")
            try:
                code = int(code_text.strip())
            except ValueError:
                raise GarbledReply(
                    self.name, "SYST:ERR?", f"reply {reply!r} is not <code>,\"<message>\""
                ) from None
            if code == 0:
                break
            if first is None:
                first = (code, text.strip().strip('"'))
        if first is not None:
            raise InstrumentError(
                self.name, command or "SYST:ERR?", f"error {first[0]:+d}, {first[1]}",
                "see the 34401A User's Guide, chapter 5 (error messages)",
            )
