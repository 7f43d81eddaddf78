"""Fluke (Hart Scientific) 9142 field metrology well, as a temperature controller.

The 9142 (-25 C to 150 C) is one of the 914X Field Metrology Wells (9142,
9143, 9144), which share the RS-232 command set of the 914X Field Metrology
Wells User's Guide, chapter "Digital Communication Interface". This driver
speaks to the 9142 only: its setpoint limits come from the 9142 datasheet
(``f9142.toml``); a 9143 or 9144 needs its own datasheet.

Commands used, one a method (UNVERIFIED against the 914X guide, whose
command table was not available when this was written; they are the ones
the task brief lists, the same as in users' published 914X programs, and
in the Field Metrology Well family's SCPI-1994 style):

- ``*IDN?``, ``*CLS``, ``*ESR?`` (IEEE 488.2 common commands, which SCPI
  requires; ``*ESR?`` bit 7 is the power-on flag);
- ``UNIT:TEMP C``: temperatures in degrees Celsius;
- ``SOUR:SPO <t>`` / ``SOUR:SPO?``: the setpoint, C;
- ``OUTP:STAT 1|0`` / ``OUTP:STAT?``: control (heating and cooling) on or off;
- ``SOUR:SENS:DATA? TEMP``: the control sensor's temperature, C;
- ``SOUR:STAB:LIM <x>`` / ``SOUR:STAB:LIM?``: the stability limit, C;
- ``SOUR:STAB:TEST?``: 1 when the well judges itself stable, else 0;
- ``SYST:ERR?``: the oldest queued error.

No compound commands: the Fluke Field Metrology Well manuals state that
"the Field Metrology Well command syntax conforms to SCPI-1994. One
notable exception is that compound commands are not allowed" (9190A
Operator's Manual, "Remote Operation Commands"; the same sentence opens
the command syntax of other field blocks of this design). The 914X guide
was not available to confirm it for the 9142, so this driver assumes the
same: every query is its own exchange, and `confirm_state` costs several.

Terminations: the host ends commands with LF (the family accepts CR or
LF); the well ends replies with CR LF, so open the transport with
``read_termination="\\r\\n"`` (`Fluke9142.read_termination`).

Replies (UNVERIFIED formats, held strictly): temperatures a decimal
number, optionally followed by the unit letter, with or without a blank
(``25.003``, ``25.003C``, ``25.003 C``: a published third-party 914X
simulator appends the unit to ``SOUR:SENS:DATA?``), a unit other than C
raising `InstrumentError`; a number cut short on the line is often still
a number (``30.012`` -> ``30.0``), which no format check can see;
``OUTP:STAT?`` and ``SOUR:STAB:TEST?`` ``0`` or ``1``; ``SYST:ERR?``
``<code>,"<text>"`` (``0,"No error"``); ``*ESR?`` an integer 0..255.
Anything else raises `GarbledReply`.

Safe state (`safe_state`): setpoint 25 C with control ON, not control
off. A lab expects a well left after a run, or after an abort, to be safe
to touch and to unload, and to be in a known state. With control off the
block drifts: from 150 C it stays hot for a long time with nothing on the
display saying so, and from below the dew point it frosts and then wets
the probes and the well as it warms. Held at 25 C it goes to near-ambient
as fast as the well can, stays there, is safe to handle, and the next
run starts from a known setpoint.
"""

from __future__ import annotations

import math
import re
from typing import ClassVar

from drivers.base import ESR_PON, SCPI_ERROR_FORMAT, MessageInstrument
from drivers.clock import Clock
from drivers.datasheet import DatasheetError, beside, load
from drivers.errors import InstrumentError
from drivers.roles import Function
from drivers.transport import Transport, nrf

#: The 9142's datasheet: setpoint limits, resolution, performance figures.
DATASHEET = load(beside(__file__, "f9142.toml"))
TEMP_SHEET = DATASHEET.function(Function.TEMP)
if TEMP_SHEET.limits is None:
    raise DatasheetError(f"{DATASHEET.path}: functions.TEMP.limits: expected the setpoint range; fix the datasheet")
#: Lowest and highest setpoint, C (datasheet ``limits``).
SETPOINT_LIMITS: tuple[float, float] = TEMP_SHEET.limits
#: The setpoint `safe_state` leaves the well at, C: near ambient, safe to
#: touch and to unload (a lab's choice, not a figure of the maker's).
SAFE_SETPOINT_C = 25.0
#: ``SOUR:SPO?`` reports the setpoint (and ``SOUR:STAB:LIM?`` the limit)
#: rounded to the well's resolution: `confirm_state` accepts half a digit
#: of difference, plus float noise.
SETPOINT_TOLERANCE = TEMP_SHEET.fixed_resolution / 2 + 1e-9

_NUMBER = r"[+-]?\d{1,4}(?:\.\d{1,6})?"
#: A temperature reply: a decimal number, optionally its unit letter.
TEMP_FORMAT = re.compile(rf"({_NUMBER})(?: ?([CFK]))?", re.ASCII)
#: ``OUTP:STAT?``, ``SOUR:STAB:TEST?``: 0 or 1.
BOOL_FORMAT = re.compile(r"[01]", re.ASCII)
#: ``SYST:ERR?``: ``<code>,"<text>"`` (a SCPI string: "" stands for ").
SYST_ERR_FORMAT = SCPI_ERROR_FORMAT


class Fluke9142(MessageInstrument):
    """Fluke 9142 field metrology well (capabilities: `Controller`,
    `SafeState`, `SelfChecking`; function TEMP).

    ``Fluke9142(transport, clock, serial=None)``. RS-232 only on the
    instrument (9600 baud 8N1 by default on the 914X, UNVERIFIED); the
    transport must read up to CR LF.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("HART", "FLUKE")
    models: ClassVar[tuple[str, ...]] = ("9142",)
    functions: ClassVar[tuple[Function, ...]] = (Function.TEMP,)
    error_query: ClassVar[str] = "SYST:ERR?"
    error_queue_size: ClassVar[int] = 10  # UNVERIFIED for the 914X
    error_help: ClassVar[str] = "see the 914X User's Guide (error messages)"
    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\r\n"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        #: What the driver last asked for (None: not yet), for `confirm_state`.
        self._setpoint: float | None = None
        self._control: bool | None = None
        self._stability_limit: float | None = None

    def initialize(self) -> None:
        """``*CLS`` then ``UNIT:TEMP C``, checked with ``SYST:ERR?``.

        ``*CLS`` empties the error queue and clears the power-on flag, so
        that `confirm_state` judges only what happens from here on. Does
        not change the setpoint or the control state: a well is often
        already at the first point's temperature."""
        self.transport.write("*CLS")
        self._configure("UNIT:TEMP C")

    # -- Controller

    def setpoint_limits(self, function: Function) -> tuple[float, float]:
        """Lowest and highest setpoint, C: -25 C to 150 C (datasheet ``limits``)."""
        self._check_function(function, "SOUR:SPO")
        return SETPOINT_LIMITS

    def set_setpoint(self, function: Function, value: float) -> None:
        """``SOUR:SPO <value>`` then ``OUTP:STAT 1``, each checked with
        ``SYST:ERR?``: program the setpoint, in C, and turn control on.

        Raises `InstrumentError` for a value outside `setpoint_limits`,
        without sending anything."""
        self._check_function(function, "SOUR:SPO")
        low, high = self.setpoint_limits(function)
        if not low <= value <= high:  # NaN too
            raise InstrumentError(
                self.name, f"SOUR:SPO {value:g}",
                f"{value:g} C is outside the setpoint limits {low:g} C to {high:g} C",
                "choose a test point within the well's range",
            )
        command = f"SOUR:SPO {nrf(value)}"
        # Remember what is asked for before asking: if the well does not
        # take it, confirm_state finds the difference.
        self._setpoint = float(value)
        self._configure(command)
        self.enable_control()

    def actual(self) -> float:
        """``SOUR:SENS:DATA? TEMP``: the control sensor's temperature now, in C."""
        return self._parse_temperature(self._query("SOUR:SENS:DATA? TEMP"), "SOUR:SENS:DATA? TEMP")

    def is_stable(self) -> bool:
        """``SOUR:STAB:TEST?``: True when the well judges the block stable
        (within its stability limit of the setpoint, `stability_limit`)."""
        return self._parse_bool(self._query("SOUR:STAB:TEST?"), "SOUR:STAB:TEST?")

    # -- SafeState

    def safe_state(self) -> None:
        """``SOUR:SPO 25`` then ``OUTP:STAT 1``, each checked with
        ``SYST:ERR?``: hold the block at 25 C, control on (module
        docstring: why not control off).

        Both steps are attempted even if the first fails; the first
        failure is then raised."""
        self._every_step(lambda: self._program_setpoint(SAFE_SETPOINT_C), self.enable_control)

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the well is still as this driver
        left it: no power cycle since (``*ESR?`` bit 7, PON, clear), the
        setpoint last programmed (``SOUR:SPO?`` within half a digit of it),
        control on or off as last commanded (``OUTP:STAT?``), the stability
        limit last set if this driver set one (``SOUR:STAB:LIM?``), and an
        empty error queue (``SYST:ERR?``).

        Costs 4 exchanges, 5 when the driver set a stability limit, plus
        one ``SYST:ERR?`` exchange per further queued error when
        ``SYST:ERR?`` reported one: the 914X takes no compound queries (module
        docstring), so each query is its own exchange. Before a setpoint
        or the control state was ever programmed only the error queue is
        read (``SYST:ERR?``): 1 exchange. Every reply is read and checked
        against its format before any is used (`GarbledReply` naming the
        query); the checks then come in the order above and the first that
        fails is raised (an error ``SYST:ERR?`` took from the queue is then
        not reported)."""
        cause = "an error was queued since the last command"
        if self._setpoint is None and self._control is None:
            self.check_errors("SYST:ERR?", cause)
            return
        hint = "the point's readings are invalid; check the well, then program it again"
        queries = ["*ESR?", "SOUR:SPO?", "OUTP:STAT?"]
        if self._stability_limit is not None:
            queries.append("SOUR:STAB:LIM?")
        queries.append("SYST:ERR?")
        replies = {query: self._query(query) for query in queries}
        status = self._parse_esr(replies["*ESR?"])
        spo = self._temperature_and_unit(replies["SOUR:SPO?"], "SOUR:SPO?")
        control = self._parse_bool(replies["OUTP:STAT?"], "OUTP:STAT?")
        lim = (self._temperature_and_unit(replies["SOUR:STAB:LIM?"], "SOUR:STAB:LIM?")
               if "SOUR:STAB:LIM?" in replies else None)
        error = self._parse_error(replies["SYST:ERR?"])
        if status & ESR_PON:
            raise InstrumentError(
                self.name, "*ESR?", "the well was switched off and on (PON) since it was programmed",
                "its control restarted: " + hint,
            )
        setpoint = self._in_celsius(spo, "SOUR:SPO?")
        if self._setpoint is not None and abs(setpoint - self._setpoint) > SETPOINT_TOLERANCE:
            raise InstrumentError(
                self.name, "SOUR:SPO?",
                f"the setpoint is {setpoint:.6g} C, not {self._setpoint:.6g} C as programmed", hint,
            )
        if self._control is not None and control != self._control:
            now, then = ("on", "off") if control else ("off", "on")
            raise InstrumentError(self.name, "OUTP:STAT?", f"control is {now}, not {then} as commanded", hint)
        limit = None if lim is None else self._in_celsius(lim, "SOUR:STAB:LIM?")
        if (limit is not None and self._stability_limit is not None
                and abs(limit - self._stability_limit) > SETPOINT_TOLERANCE):
            raise InstrumentError(
                self.name, "SOUR:STAB:LIM?",
                f"the stability limit is {limit:.6g} C, not {self._stability_limit:.6g} C as set", hint,
            )
        if error[0] != 0:
            self._drain_errors(error, "SYST:ERR?", cause)

    # -- the well's other settings

    def enable_control(self) -> None:
        """``OUTP:STAT 1``: heating and cooling on, towards the setpoint."""
        self._control = True
        self._configure("OUTP:STAT 1")

    def disable_control(self) -> None:
        """``OUTP:STAT 0``: heating and cooling off; the block drifts
        towards ambient. Prefer `safe_state` to leave the well."""
        self._control = False
        self._configure("OUTP:STAT 0")

    @property
    def setpoint(self) -> float:
        """``SOUR:SPO?``: the setpoint, in C."""
        return self._parse_temperature(self._query("SOUR:SPO?"), "SOUR:SPO?")

    @property
    def control_enabled(self) -> bool:
        """``OUTP:STAT?``: True while heating and cooling are on."""
        return self._parse_bool(self._query("OUTP:STAT?"), "OUTP:STAT?")

    @property
    def stability_limit(self) -> float:
        """``SOUR:STAB:LIM?``: the band, in C, the block must stay within
        for `is_stable`."""
        return self._parse_temperature(self._query("SOUR:STAB:LIM?"), "SOUR:STAB:LIM?")

    def set_stability_limit(self, limit: float) -> None:
        """``SOUR:STAB:LIM <limit>``, checked with ``SYST:ERR?``: the band,
        in C, `is_stable` judges against. A limit tighter than the well's
        stability specification (``stability`` in the datasheet) may never
        be met. The well refuses limits outside its range (0.01 C to
        9.99 C in published 914X programs, UNVERIFIED) with an error."""
        if not (math.isfinite(limit) and limit > 0):
            raise InstrumentError(self.name, f"SOUR:STAB:LIM {limit:g}", f"{limit!r} is not a positive stability "
                                  "limit", "give the limit in C, e.g. 0.05")
        command = f"SOUR:STAB:LIM {nrf(limit)}"
        self._stability_limit = float(limit)
        self._configure(command)

    def _program_setpoint(self, value: float) -> None:
        self._setpoint = float(value)
        self._configure(f"SOUR:SPO {nrf(value)}")

    # -- replies

    def _parse_temperature(self, reply: str, command: str) -> float:
        """A temperature reply, strictly `TEMP_FORMAT`, in C."""
        return self._in_celsius(self._temperature_and_unit(reply, command), command)

    def _temperature_and_unit(self, reply: str, command: str) -> tuple[float, str | None]:
        """A temperature reply's value and unit letter (None: not given), or
        `GarbledReply` where it is not `TEMP_FORMAT`."""
        match = TEMP_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled(command, reply, "a temperature such as 25.003")
        return float(match.group(1)), match.group(2)

    def _in_celsius(self, temperature: tuple[float, str | None], command: str) -> float:
        """The value of a reply in C, or the error of a well set to F or K."""
        value, unit = temperature
        if unit not in (None, "C"):
            raise InstrumentError(self.name, command, f"the well reports in {unit}, not in C",
                                  "call initialize() (it sends UNIT:TEMP C)")
        return value

    def _parse_bool(self, reply: str, command: str) -> bool:
        """A ``0``/``1`` reply."""
        if not BOOL_FORMAT.fullmatch(reply):
            raise self._garbled(command, reply, "0 or 1")
        return reply == "1"

    def _error_text(self, code: int, text: str) -> str:
        return f"error {code}, {text}"

