"""Keysight (HP, Agilent) 3458A 8.5-digit reference multimeter, DC voltage.

The 3458A speaks HP's own language, not SCPI and not IEEE 488.2 common
commands (3458A User's Guide 03458-90014, chapter 4 "Command Reference";
3458A Quick Reference Guide): ``ID?`` instead of ``*IDN?``, ``ERRSTR?``
instead of ``SYST:ERR?``, ``DCV <range>``, ``NPLC``, ``NDIG``, ``TARM``,
``TRIG``, ``NRDGS``, ``END``, ``OFORMAT``. Only DC voltage is driven here.

Every figure (ranges, integration times and the digits they give) comes
from the datasheet beside this module (``k3458a.toml``, Keysight data sheet
5965-4971E); none is typed here.

Interface: GPIB only (the 3458A has no RS-232 and no LAN). On a bench it is
reached through a GPIB card (``GPIB0::22::INSTR``) or a GPIB-LAN gateway
(``TCPIP::host::port::SOCKET``, as the tests do). ``serial`` (from
`MessageInstrument`) has no meaning for it, except that the base class then
drops a trailing CR, harmless here.

Terminations: commands end with LF (the 3458A takes CR, LF, ``;`` or EOI,
Quick Reference Guide, "Syntax Rules"); every reply ends with CR LF (User's
Guide, "Output formats": ASCII readings are followed by ``cr lf``; the same
end of line for query replies is UNVERIFIED). Open the transport with
``read_termination="\\r\\n"`` (`Keysight3458A.read_termination`; the
engine does so from the class).

Strict replies (`drivers.base`): a reading under ``OFORMAT ASCII`` is 15
bytes, ``SD.DDDDDDDDESDD`` (User's Guide, "Output formats": "ASCII -- 15
bytes per reading"): a sign that is a blank for a positive value or ``-``,
one digit, the point, eight digits, ``E``, the exponent's sign and two
digits, e.g. `` 1.00000012E+01``, ``-3.30000010E-01``. Anything else
(``+1.00000012E+01``, a character more or less, two readings run together,
garbage) raises `GarbledReply`; it is never taken as a number. An overload
is ``±1.00000000E+38`` (`OVERLOAD`, UNVERIFIED against the manual's text)
and raises `InstrumentError`. ``ERRSTR?`` must be ``<number>,"<message>"``
(``0,"NO ERROR"``); ``ID?`` maker and model run together (``HP3458A``);
``REV?`` two integers; ``FUNC?`` the function's number and its range;
``TARM?`` an event number; ``STB?``, ``ERR?`` integers; ``TEMP?`` a number.
The exact layouts of the ``FUNC?``, ``TARM?``, ``REV?`` and ``TEMP?`` replies
are UNVERIFIED against the User's Guide's examples (see each constant).

Errors: the 3458A has no error queue but an error register (User's Guide,
``ERR?``): one bit per kind of error. ``ERRSTR?`` reports the least
significant bit set, as ``<number>,"<message>"``, and clears it; after the
last one it answers ``0,"NO ERROR"``. `MessageInstrument.check_errors`
reads it until then, so every kind of error set is reported, once.

No compound queries: the 3458A's language is not IEEE 488.2 and the User's
Guide defines no response message joining the replies of several queries
(a ``;`` only ends a command). Each query is therefore sent alone and its
reply read at once; `confirm_state` costs three exchanges, not one. That a
joined reply is impossible is inferred from the manual's silence and from
third-party drivers that send each query on its own (UNVERIFIED on a real
3458A).
"""

from __future__ import annotations

import math
import re
from typing import ClassVar

from drivers import datasheet
from drivers.base import MessageInstrument, shown
from drivers.clock import Clock
from drivers.errors import GarbledReply, InstrumentError
from drivers.roles import Function, Identity
from drivers.transport import Transport, nrf

#: The model's datasheet (ranges, NPLC and digits, accuracy), read once.
DATASHEET = datasheet.load(datasheet.beside(__file__, "k3458a.toml"))

#: One reading under ``OFORMAT ASCII``: ``SD.DDDDDDDDESDD``, the sign a blank or ``-``.
READING_FORMAT = re.compile(r"[ -]\d\.\d{8}E[+-]\d{2}", re.ASCII)
#: What the 3458A sends for an overload (UNVERIFIED against the User's Guide).
OVERLOAD = 1.0e38
#: ``ERRSTR?``: ``<number>,"<message>"``; the message printable ASCII without quotes.
ERRSTR_FORMAT = re.compile(r'(\d{1,3}),"([\x20\x21\x23-\x7e]*)"', re.ASCII)
#: ``ID?``: the maker's letters and the model, run together (``HP3458A``).
ID_FORMAT = re.compile(r"([A-Z][A-Z-]*?)(\d{4}[A-Z])", re.ASCII)
#: ``REV?``: two firmware revisions, main and ADC processors (``9,2``; UNVERIFIED layout).
REV_FORMAT = re.compile(r"\d{1,5},\d{1,5}", re.ASCII)
#: A number as the 3458A answers a numeric query: NR1, NR2 or NR3, signed
#: with ``+``, ``-`` or a blank, or unsigned (its exact form is UNVERIFIED).
_NUMBER = r"[ +-]?(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d{1,3})?"
NUMBER_FORMAT = re.compile(_NUMBER, re.ASCII)
#: ``FUNC?``: the function's number and its present range, ``1, 1.00000000E+01``
#: (function numbers: DCV 1, ACV 2, ... DCI 6; layout UNVERIFIED).
FUNC_FORMAT = re.compile(rf"([1-9]\d?),({_NUMBER})", re.ASCII)
#: ``TARM?`` / ``TRIG?``: the event's number.
EVENT_FORMAT = re.compile(r"[1-9]\d?", re.ASCII)
#: ``STB?`` (0..255) and ``ERR?`` (0..65535): a decimal integer.
INTEGER_FORMAT = re.compile(r"\d{1,5}", re.ASCII)

#: The numbers ``FUNC?`` gives the functions this driver drives.
FUNCTION_NUMBERS: dict[Function, int] = {Function.DCV: 1}
#: Trigger and trigger-arm events by the number ``TARM?``/``TRIG?`` answer
#: (User's Guide, TARM and TRIG; the numbering is UNVERIFIED).
EVENTS: dict[int, str] = {1: "AUTO", 2: "EXT", 3: "SGL", 4: "HOLD", 5: "SYN", 7: "LEVEL", 8: "LINE"}
EVENT_HOLD = 4
#: `confirm_state` compares the range ``FUNC?`` reports with the configured
#: one within this fraction (the reply has at least 7 significant figures).
RANGE_TOLERANCE = 1e-6
#: Readings one ``NRDGS`` takes per trigger (User's Guide, NRDGS: 1 to 16 777 215).
MAX_READINGS = 16_777_215
#: Status byte (``STB?``) bits.
STB_READY = 1 << 4  # ready for instructions
STB_ERROR = 1 << 5  # a bit is set in the error register


class Keysight3458A(MessageInstrument):
    """3458A reference multimeter (capabilities `Meter`, `SelfChecking`; DCV).

    ``Keysight3458A(transport, clock, serial=None)``. GPIB only: reach it
    through a GPIB card or a GPIB-LAN gateway. Terminations: LF out, CR LF
    in (`read_termination`).
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("HEWLETT-PACKARD", "HP", "AGILENT", "KEYSIGHT")
    models: ClassVar[tuple[str, ...]] = ("3458A",)
    functions: ClassVar[tuple[Function, ...]] = (Function.DCV,)
    error_query: ClassVar[str] = "ERRSTR?"
    #: The error register and the auxiliary error register: 16 bits each.
    error_queue_size: ClassVar[int] = 32
    error_help: ClassVar[str] = "see the 3458A User's Guide, ERR? and ERRSTR? (error register bits)"
    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\r\n"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        self._range: float | None = None
        self._nplc: float | None = None
        #: (range, nplc) last asked for by `configure`, for `confirm_state`.
        self._wanted: tuple[float, float] | None = None
        #: Readings per trigger (``NRDGS``) as last set; None: not known.
        self._readings: int | None = None

    # -- identity

    def identify(self) -> Identity:
        """``ID?`` then ``REV?``: maker and model (``HP3458A``: maker
        ``HP``, model ``3458A``) and firmware revisions (``REV?``, e.g.
        ``9,2``). The 3458A has no ``*IDN?`` and reports no serial number.

        Raises `GarbledReply` unless ``ID?`` is a maker's letters followed
        by a model (four digits and a letter) and ``REV?`` two integers."""
        reply = self._query("ID?")
        match = ID_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled("ID?", reply, "a maker and a model run together, such as HP3458A")
        revision = self._query("REV?")
        if not REV_FORMAT.fullmatch(revision):
            raise self._garbled("REV?", revision, "two firmware revisions <main>,<ADC>")
        return Identity(match.group(1), match.group(2), "", revision, f"{reply};{revision}")

    def initialize(self) -> None:
        """``TARM HOLD``, ``ERR?`` (clears the error register), then
        ``TRIG AUTO``, ``NRDGS 1,AUTO``, ``END ALWAYS``, ``OFORMAT ASCII``,
        ``MEM OFF``, ``MATH OFF``, ``AZERO ON``, each checked with ``ERRSTR?``.

        No ``RESET`` or ``PRESET``: they would also discard what the
        operator set at the front panel for this bench (display, beeper,
        input impedance ``FIXEDZ``, ``DELAY``, ``LFILTER``, stored states).
        Only what a reading depends on is set: ``TARM HOLD`` first stops
        the readings the meter takes on its own after power-on (trigger arm
        AUTO); one reading per trigger, readings straight to the bus (no
        reading memory) as 15-byte ASCII with EOI on each (``END ALWAYS``);
        no math (a front-panel NULL or SCALE would change every reading of
        the reference); autozero on (the datasheet's accuracy assumes it).
        ``ERR?`` reads and clears the error register, so errors left from
        before the run do not count against it. Function, range, NPLC and
        digits are set by `configure`.

        A reading the free-running meter left in its output buffer before
        ``TARM HOLD`` is assumed discarded by the next command (UNVERIFIED);
        if it is not, it arrives as the reply to ``ERR?`` and is refused
        (`GarbledReply`). A GPIB device clear would settle it, but the
        transports offer none."""
        self.transport.write("TARM HOLD")
        self.error_register()  # reading it clears it
        self._readings = None
        for command in ("TRIG AUTO", "NRDGS 1,AUTO", "END ALWAYS", "OFORMAT ASCII", "MEM OFF",
                        "MATH OFF", "AZERO ON"):
            self._configure(command)
            if command.startswith("NRDGS"):
                self._readings = 1

    # -- Meter

    def ranges(self, function: Function) -> tuple[float, ...]:
        """DC voltage ranges from the datasheet: 100 mV, 1 V, 10 V, 100 V,
        1000 V (full scale, in V)."""
        self._check_function(function, "DCV")
        return DATASHEET.function(function).ranges

    def configure(self, function: Function, range_: float, nplc: float) -> None:
        """``DCV <range>`` (DC volts, fixed range), ``NPLC <nplc>`` and
        ``NDIG <n>``, each checked with ``ERRSTR?``.

        ``range_``: full scale in V, one of `ranges`. ``nplc``: integration
        time in power-line cycles, one of the datasheet's (0.0001 to 1000).
        ``NDIG`` is the whole part of the digits the datasheet gives that
        integration time (8.5 digits: ``NDIG 8``), so the meter shows and
        sends every digit it resolves, as `resolution_for` counts them."""
        command = f"DCV {nrf(range_)}"
        self._check_function(function, command)
        sheet = DATASHEET.function(function)
        if not sheet.has_range(range_):
            raise InstrumentError(
                self.name, command, f"{range_:g} V is not a DC voltage range of the 3458A",
                "use one of " + ", ".join(f"{r:g}" for r in sheet.ranges) + " V",
            )
        nplc_command = f"NPLC {nrf(nplc)}"
        digits = self._digits(function, nplc, nplc_command)
        self._range = self._nplc = None
        self._wanted = (float(range_), float(nplc))  # what confirm_state checks, taken or not
        self._configure(command)
        self._configure(nplc_command)
        self._configure(f"NDIG {int(digits)}")
        self._range, self._nplc = float(range_), float(nplc)

    def resolution(self) -> float:
        """One least significant digit in the present configuration, in V
        (`resolution_for` of the configured range and NPLC). Needs
        `configure` first."""
        if self._range is None or self._nplc is None:
            raise InstrumentError(
                self.name, "NDIG", "resolution unknown: the meter is not configured", "call configure() first",
            )
        return self.resolution_for(Function.DCV, self._range, self._nplc)

    def resolution_for(self, function: Function, range_: float, nplc: float) -> float:
        """One least significant digit, in V, from the datasheet: range x
        10^-int(digits) for the digits ``nplc`` gives (8.5 digits at 10 PLC
        and more: 100 nV on the 10 V range). Sends nothing.

        On the 100 mV range at 8.5 digits this is 1 nV, while the 3458A's
        finest step there is 10 nV (the datasheet format has no resolution
        per range; listed in the datasheet's ``unverified``)."""
        self._check_function(function, "NDIG")
        sheet = DATASHEET.function(function)
        if not sheet.has_range(range_):
            raise InstrumentError(self.name, f"DCV {nrf(range_)}", f"{range_:g} V is not a DC voltage range of "
                                  "the 3458A", "use one of " + ", ".join(f"{r:g}" for r in sheet.ranges) + " V")
        self._digits(function, nplc, f"NPLC {nrf(nplc)}")
        return sheet.digit(range_, nplc)

    def read(self) -> float:
        """``TARM SGL``: arm once (the trigger is AUTO), one reading in the
        present configuration, in V; the arm then returns to HOLD by itself.
        ``NRDGS 1,AUTO`` (checked) first if another count was set.

        Raises `GarbledReply` unless the reply is one reading in the format
        ``SD.DDDDDDDDESDD``, and `InstrumentError` on an overload."""
        if self._readings != 1:
            self._set_readings(1)
        return self._value(self._query("TARM SGL"), "TARM SGL")

    def read_many(self, n: int) -> list[float]:
        """``NRDGS n,AUTO`` (when it changes, checked) then one ``TARM SGL``:
        n readings from one trigger arm, sampled back to back.

        The 3458A sends each reading as it is taken, each its own 15-byte
        line with CR LF (no commas without reading memory: User's Guide,
        "Output formats"), so the n lines are read one after the other;
        all n are read before any is checked, so a garbled line does not
        leave the others waiting on the bus. Raises `GarbledReply` if any
        is not in the reading format."""
        if not 1 <= n <= MAX_READINGS:
            raise ValueError(f"cannot take {n} readings from one trigger (1 to {MAX_READINGS})")
        if self._readings != n:
            self._set_readings(n)
        lines = [self._query("TARM SGL")]
        lines.extend(self._read_line() for _ in range(n - 1))
        return [self._value(line, "TARM SGL") for line in lines]

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the meter is still as this driver
        configured it: trigger arm HOLD (``TARM?``: after a power cycle, a
        ``RESET`` or a ``PRESET`` it is AUTO), DC volts on the configured
        range (``FUNC?``), and an empty error register (``ERRSTR?``).

        Costs 3 exchanges: ``FUNC?``, ``TARM?`` and ``ERRSTR?``, each sent
        alone and its reply read (the 3458A cannot answer several queries in
        one reply, see the module's docstring), plus one ``ERRSTR?`` exchange
        per further error bit set when ``ERRSTR?`` reported one. Before
        `configure` was ever called only the error register is read
        (``ERRSTR?``): 1 exchange. All three replies are read and held to
        their formats before any is used (`GarbledReply` naming the query
        otherwise); the checks then come in the order above, and the first
        that fails is raised (an error ``ERRSTR?`` cleared is then not
        reported).

        Not seen: a change of NPLC or NDIG alone at the front panel (the
        range and the trigger arm unchanged). After a power cycle the meter
        may also have a free-running reading waiting, which arrives as the
        reply to ``FUNC?``: `GarbledReply` then, not the power-cycle message."""
        cause = "an error was set since the last command"
        if self._wanted is None:
            self.check_errors("ERRSTR?", cause)
            return
        hint = "the point's readings are invalid; check the meter, then initialize and configure it again"
        func_reply = self._query("FUNC?")
        tarm_reply = self._query("TARM?")
        error = self._parse_error(self._query("ERRSTR?"), "ERRSTR?")
        number, range_ = self._parse_function(func_reply)
        arm = self._parse_event(tarm_reply, "TARM?")
        if arm != EVENT_HOLD:
            raise InstrumentError(
                self.name, "TARM?",
                f"the trigger arm is {EVENTS.get(arm, str(arm))}, not HOLD as the driver left it: the meter "
                "was switched off and on, reset or preset since it was configured", hint,
            )
        wanted_range, nplc = self._wanted
        if number != FUNCTION_NUMBERS[Function.DCV] or abs(range_ - wanted_range) > wanted_range * RANGE_TOLERANCE:
            raise InstrumentError(
                self.name, "FUNC?",
                f"the meter is set to {func_reply.strip()!r} (function, range), not to DC volts on the "
                f"{wanted_range:g} V range at {nplc:g} PLC", hint,
            )
        if error[0] != 0:
            self._drain_errors(error, "ERRSTR?", cause)

    # -- other commands

    def error_register(self) -> int:
        """``ERR?``: the error register, one bit per kind of error (0: none);
        reading it clears it."""
        reply = self._query("ERR?")
        value = int(reply) if INTEGER_FORMAT.fullmatch(reply) else -1
        if not 0 <= value <= 0xFFFF:
            raise self._garbled("ERR?", reply, "an integer 0..65535")
        return value

    def status_byte(self) -> int:
        """``STB?``: the status byte (0..255; bit 4 ready for instructions,
        bit 5 an error is set in the error register)."""
        reply = self._query("STB?")
        value = int(reply) if INTEGER_FORMAT.fullmatch(reply) else -1
        if not 0 <= value <= 0xFF:
            raise self._garbled("STB?", reply, "an integer 0..255")
        return value

    def temperature(self) -> float:
        """``TEMP?``: the meter's internal temperature, in degrees Celsius
        (what ACAL is judged against: the datasheet's accuracy holds within
        +/- 1 C of the last ACAL)."""
        reply = self._query("TEMP?")
        if not NUMBER_FORMAT.fullmatch(reply):
            raise self._garbled("TEMP?", reply, "a number (degrees Celsius)")
        return float(reply)

    def autocal(self, duration_s: float) -> None:
        """``ACAL DCV``: the DC voltage autocalibration, then a wait of
        ``duration_s`` s on the bench clock and ``ERRSTR?`` until
        ``0,"NO ERROR"``.

        The 3458A executes nothing else while it calibrates and holds the
        bus meanwhile, so the driver waits instead of querying. Pass the
        duration the User's Guide (ACAL) gives for your firmware and a
        margin; no figure is assumed here."""
        if not duration_s >= 0:
            raise ValueError(f"cannot wait {duration_s} s for ACAL DCV")
        self.transport.write("ACAL DCV")
        self.clock.sleep(duration_s)
        self.check_errors("ACAL DCV")

    # -- helpers

    def _digits(self, function: Function, nplc: float, command: str) -> float:
        sheet = DATASHEET.function(function)
        for n, d in zip(sheet.nplc, sheet.digits, strict=True):
            if math.isclose(n, nplc, rel_tol=1e-9):
                return d
        raise InstrumentError(
            self.name, command, f"{nplc:g} is not an integration time of the 3458A's datasheet",
            "use one of " + ", ".join(f"{n:g}" for n in sheet.nplc) + " PLC",
        )

    def _set_readings(self, count: int) -> None:
        self._readings = None
        self._configure(f"NRDGS {count},AUTO")
        self._readings = count

    def _read_line(self) -> str:
        """One more reply line (as `MessageInstrument._query` reads it)."""
        reply = self.transport.read()
        return reply[:-1] if self.serial and reply[-1:] == "\r" else reply

    def _value(self, reply: str, command: str) -> float:
        """One reading, strictly ``SD.DDDDDDDDESDD``; an overload raises."""
        if not READING_FORMAT.fullmatch(reply):
            raise GarbledReply(
                self.name, command,
                f"reply {shown(reply)} is not a reading in the 3458A's ASCII format SD.DDDDDDDDESDD",
                "check the cable, the GPIB gateway and the terminations (CR LF)",
            )
        value = float(reply)
        if abs(value) >= OVERLOAD:
            raise InstrumentError(self.name, command, f"overload ({reply.strip()}): the input exceeds the range",
                                  "check the range and the leads")
        return value

    def _parse_function(self, reply: str) -> tuple[int, float]:
        """The ``FUNC?`` reply, strictly `FUNC_FORMAT`: (function number, range)."""
        match = FUNC_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled("FUNC?", reply, "<function number>,<range>")
        return int(match.group(1)), float(match.group(2))

    def _parse_event(self, reply: str, command: str) -> int:
        """A ``TARM?``/``TRIG?`` reply: one of the event numbers of `EVENTS`."""
        value = int(reply) if EVENT_FORMAT.fullmatch(reply) else -1
        if value not in EVENTS:
            raise self._garbled(command, reply, "an event number (" + ", ".join(
                f"{k} {v}" for k, v in EVENTS.items()) + ")")
        return value

    def _error_text(self, code: int, text: str) -> str:
        return f"error {code}: {text}"

    def _parse_error(self, reply: str, command: str = "ERRSTR?") -> tuple[int, str]:
        """The ``ERRSTR?`` reply, strictly `ERRSTR_FORMAT`: (number, message)."""
        match = ERRSTR_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled(command, reply, '<number>,"<message>"', "ERRSTR?")
        return int(match.group(1)), match.group(2)
