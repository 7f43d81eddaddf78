"""Keysight (HP, Agilent) 34401A 6.5-digit multimeter, DC voltage.

Commands from the 34401A User's Guide, chapter 4 "Remote Interface
Reference" (SCPI). Only DC voltage is driven here.

Number format: ranges and NPLC are sent as IEEE 488.2 NRf, exactly
(`drivers.transport.nrf`): ``CONF:VOLT:DC 10``, ``VOLT:DC:NPLC 0.2``.
Initialisation does not send ``*RST``: `configure` sets every setting a
reading depends on (function, fixed range, integration time; ``CONF``
also resets trigger and sample count), so a reset adds nothing.

Strict replies (`drivers.base`). The User's Guide (chapter 4, "Output
Data Formats") gives one format for readings: ``SD.DDDDDDDDESDD`` (S a
sign, D a digit, E the exponent), followed by ``<nl>`` (``<cr><nl>`` on
RS-232), and ``SD.DDDDDDDDESDD,...,...`` for several readings: 15
characters each, e.g. ``+1.00000230E+01``, the overload ``+9.90000000E+37``.
A reading in any other shape (``+1.0000023`` cut short, a character more
or less, garbage) raises `GarbledReply`; it is never taken as a number.
Likewise ``SYST:ERR?`` (``+0,"No error"``, ``-113,"Undefined header"``),
``CONF?`` (``"VOLT +1.000000E+01,+1.000000E-05"``) and ``*ESR?``.

`confirm_state` (role `drivers.roles.SelfChecking`) checks after each
point that the meter is still as the driver configured it, in one compound
query: ``*ESR?;CONF?;:SYST:ERR?`` (chapter 4, the introduction to SCPI:
commands separated by ``;``, a leading ``:`` starting again from the root;
in SCPI a common command such as ``*ESR?`` leaves the path as it is),
answered in one reply with the responses separated by ``;`` (IEEE 488.2
8.4), e.g.
``+0;"VOLT +1.000000E+01,+1.000000E-05";+0,"No error"``. Each part is held
to the format of its single query; a reply with another number of parts
raises `GarbledReply`. ``SYST:ERR?`` goes last: its message is the only
part that may hold a ``;``. The joined response is IEEE 488.2 behaviour;
not checked against an example in the User's Guide or on a real 34401A
(UNVERIFIED).
"""

from __future__ import annotations

import re
from typing import ClassVar

from drivers.base import ESR_PON, MessageInstrument, shown
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
#: Resolution per integration time, as a fraction of the range: what
#: ``CONF?`` reports (User's Guide, chapter 3 "Integration Time": 0.02 PLC
#: 0.0001 x full scale, 0.2 PLC 0.00001, 1 PLC 0.000003, 10 PLC 0.000001,
#: 100 PLC 0.0000003). Not the display digit of `resolution_for`.
CONF_RESOLUTION: dict[float, float] = {0.02: 1e-4, 0.2: 1e-5, 1.0: 3e-6, 10.0: 1e-6, 100.0: 3e-7}

#: One reading: ``SD.DDDDDDDDESDD`` (User's Guide, "Output Data Formats").
READING_FORMAT = re.compile(r"[+-]\d\.\d{8}E[+-]\d{2}", re.ASCII)
#: ``SYST:ERR?``: ``<code>,"<message>"`` (a SCPI string: "" stands for ").
SYST_ERR_FORMAT = re.compile(r'([+-]?\d{1,3}),"((?:[\x20\x21\x23-\x7e]|"")*)"', re.ASCII)
#: ``CONF?``: ``"<function> <range>,<resolution>"``, numbers as ``+1.000000E+01``.
_CONF_NUMBER = r"[+-]\d\.\d{6}E[+-]\d{2}"
CONF_FORMAT = re.compile(rf'"([A-Z:]+) ({_CONF_NUMBER}),({_CONF_NUMBER})"', re.ASCII)
#: `confirm_state` compares the range and resolution ``CONF?`` reports
#: (7 significant figures) with the configured ones within this fraction.
CONF_TOLERANCE = 1e-6


class Keysight34401A(MessageInstrument):
    """34401A digital multimeter (role: `Meter`, DCV).

    ``Keysight34401A(transport, clock, serial=None)``: ``serial`` says the
    transport is an RS-232 line, where the meter needs ``SYST:REM`` (None:
    decided from the transport's resource string). Terminations: LF.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("HEWLETT-PACKARD", "AGILENT", "KEYSIGHT")
    models: ClassVar[tuple[str, ...]] = ("34401A",)
    error_queue_size: ClassVar[int] = 20  # SYST:ERR?; the queue holds 20
    error_help: ClassVar[str] = "see the 34401A User's Guide, chapter 5 (error messages)"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        self._range: float | None = None
        self._nplc: float | None = None
        #: (range, nplc) last asked for by `configure`, for `confirm_state`.
        self._wanted: tuple[float, float] | None = None
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
        self._wanted = (float(range_), float(nplc))  # what confirm_state checks, taken or not
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

        Raises `GarbledReply` unless the reply is one reading in the
        format ``SD.DDDDDDDDESDD``, and `InstrumentError` on an overload
        (``+9.90000000E+37``)."""
        if self._sample_count != 1:
            self._set_sample_count(1)
        return self._value(self._query("READ?"))

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
            fields = self._query("READ?").split(",")
            if len(fields) != count:
                raise GarbledReply(self.name, "READ?", f"{len(fields)} readings where {count} were asked for",
                                   "check the cable and the interface settings")
            values.extend(map(self._value, fields))
        return values

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the meter is still as this driver
        configured it: no power cycle since (``*ESR?`` PON clear), ``CONF?``
        reporting DC volts on the configured range with the resolution the
        configured integration time gives (`CONF_RESOLUTION`), and an empty
        error queue (``SYST:ERR?``).

        Costs 1 exchange: the compound query ``*ESR?;CONF?;:SYST:ERR?`` and
        its one reply, plus one ``SYST:ERR?`` exchange per further queued
        error when it reported one. Before `configure` was ever called only
        the error queue is read (``SYST:ERR?``): 1 exchange. The whole reply
        is checked before any of it is used: `GarbledReply` (naming the
        compound command) unless it holds exactly three parts, each in its
        query's format. The checks then come in the order above; the first
        that fails is raised (an error ``SYST:ERR?`` took from the queue is
        then not reported)."""
        cause = "an error was queued since the last command"
        if self._wanted is None:
            self.check_errors("SYST:ERR?", cause)
            return
        hint = "the point's readings are invalid; check the meter, then configure it again"
        command, (esr_part, conf_part, error_part) = self._query_parts(("*ESR?", "CONF?", ":SYST:ERR?"))
        status = self._parse_esr(esr_part, command)
        match = CONF_FORMAT.fullmatch(conf_part)
        if match is None:
            raise self._garbled(command, conf_part, '"<function> <range>,<resolution>"', "CONF?")
        error = self._parse_error(error_part, command)
        if status & ESR_PON:
            raise InstrumentError(
                self.name, "*ESR?", "the meter was switched off and on (PON) since it was configured",
                "its configuration is lost: " + hint,
            )
        range_, nplc = self._wanted
        function, got_range, got_resolution = match.group(1), float(match.group(2)), float(match.group(3))
        resolution = range_ * CONF_RESOLUTION[nplc]
        if (function != "VOLT" or abs(got_range - range_) > range_ * CONF_TOLERANCE
                or abs(got_resolution - resolution) > resolution * CONF_TOLERANCE):
            raise InstrumentError(
                self.name, "CONF?",
                f"the meter is set to {conf_part}, not to DC volts on the {range_:g} V range at {nplc:g} PLC "
                f'("VOLT {range_:+.6E},{resolution:+.6E}")', hint,
            )
        if error[0] != 0:
            self._drain_errors(error, "SYST:ERR?", cause)

    def _set_sample_count(self, count: int) -> None:
        self._configure(f"SAMP:COUN {count}")
        self._sample_count = count

    def _value(self, reply: str) -> float:
        """One reading, strictly ``SD.DDDDDDDDESDD``."""
        if not READING_FORMAT.fullmatch(reply):
            raise GarbledReply(
                self.name, "READ?", f"reply {shown(reply)} is not a number in the reading format SD.DDDDDDDDESDD",
                "check the cable, the interface settings and the terminations",
            )
        value = float(reply)
        if abs(value) >= OVERLOAD:
            raise InstrumentError(
                self.name, "READ?", f"overload ({reply}): the input exceeds the range",
                "check the range and the leads",
            )
        return value

    # -- error checking

    def _error_text(self, code: int, text: str) -> str:
        return f"error {code:+d}, {text}"

    def _parse_error(self, reply: str, command: str = "SYST:ERR?") -> tuple[int, str]:
        """The ``SYST:ERR?`` reply (alone, or its part of ``command``'s
        reply), strictly `SYST_ERR_FORMAT`: (code, message)."""
        match = SYST_ERR_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled(command, reply, '<code>,"<message>"', "SYST:ERR?")
        return int(match.group(1)), match.group(2).replace('""', '"')
