"""Fluke 5522A (and 5520A) multifunction calibrator: DC voltage, DC
current, AC voltage and synthesized 2-wire and 4-wire resistance.

Commands from the 5522A Operators Manual, chapter 6 "Remote Commands"
(the 5520A manual has the same set). Output limits, ranges and the AC
frequency band come from the datasheet beside this module
(``f5522a.toml``, `drivers.datasheet`).

=====  ==============================  ======  =====================================
Role   `set_output` sends              unit    ``OUT?`` e.g.
=====  ==============================  ======  =====================================
DCV    ``OUT 10 V``                    V       ``1.000000E+01,V,0.000000E+00,0,0.00E+00``
ACV    ``OUT 1 V, 1000 HZ``            V       ``1.000000E+00,V,0.000000E+00,0,1.000000E+03``
DCI    ``OUT 0.1 A``                   A       ``1.000000E-01,A,0.000000E+00,0,0.00E+00``
R2W    ``OUT 100 OHM`` ``ZCOMP WIRE2``  OHM     ``1.000000E+02,OHM,0.000000E+00,0,0.00E+00``
R4W    ``OUT 100 OHM`` ``ZCOMP WIRE4``  OHM     (as R2W; ``ZCOMP?`` answers ``WIRE4``)
=====  ==============================  ======  =====================================

``ZCOMP`` (impedance compensation) makes the calibrator compensate the
leads of a 2-wire connection (``WIRE2``) or sense the resistance at the
far end of a 4-wire connection (``WIRE4``, which needs the sense leads
connected). The manual allows compensation only below 110 kOhm
(UNVERIFIED): above, a real 5522A may refuse ``ZCOMP`` with an error,
which this driver raises. DC current comes out of the AUX terminals:
only up to 2.99999 A (the datasheet's limit; the 20 A terminal is not
driven here), with the current post as the technician set it.

Number format: values are sent as IEEE 488.2 NRf with the exact value the
caller asked for (`drivers.transport.nrf`): ``OUT 10 V``, ``OUT 0.1 V``,
``OUT -1.5E-06 V``. The driver never rounds; the calibrator rounds to the
resolution of its range.

Initialisation does not send ``*RST``: a reset would also discard settings
the technician made at the front panel for this bench (output terminals,
external guard, current post), and it is not needed for a known state.
`initialize` instead clears the status (``*CLS``), puts the output in
standby and checks the error queue. The output value is set by the
procedure before every ``OPER``.

Replies are accepted only in their exact format (`drivers.base`): ``ERR?``
``<code>,"<text>"`` (``0,"No Error"``), ``ISR?`` an integer 0..65535,
``OPER?`` ``0`` or ``1``, ``ZCOMP?`` ``NONE``, ``WIRE2`` or ``WIRE4``,
``OUT?`` five fields ``<amplitude>,<unit>,<amplitude 2>,<unit 2>,<frequency>``
with the numbers in NR3 form (``1.000000E+01,V,0.000000E+00,0,0.00E+00``);
anything else raises `GarbledReply`. The manual gives floats "up to 15
significant figures plus an exponent" (chapter 5, "Response Message
Syntax"); the field layout of ``OUT?`` and the ``ERR?`` quoting are as the
simulator answers, UNVERIFIED against the manual's examples.

`confirm_state` (role `drivers.roles.SelfChecking`) checks after each
point that the calibrator is still as the driver left it, in one compound
query per function (chapter 5, compound commands: commands separated by
``;`` in one message; IEEE 488.2 8.4: the responses of its queries come in
one reply, separated by ``;``): ``*ESR?;OPER?;OUT?;ERR?``, for resistance
``*ESR?;OPER?;OUT?;ZCOMP?;ERR?``, answered e.g.
``0;1;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"``. Each part is
held to the format of its single query; a reply with another number of
parts raises `GarbledReply`. ``ERR?`` goes last: its text is the only part
that may hold a ``;``, and Fluke's later calibrators (5560A manual) want a
query with a free-text reply last in its message. The joined reply is
UNVERIFIED against an example in the 5522A manual or a real calibrator.

Operate and standby: the calibrator goes to standby by itself when a
voltage output rises from below 33 V to 33 V or more while operating (its
safety rule). Whether it stays in operate when the output changes from one
function to another is not documented here (UNVERIFIED): after such a
change the driver treats the operate state as unknown (`confirm_state`
leaves ``OPER?`` out) until `operate` or `standby`.
"""

from __future__ import annotations

import math
import re
from typing import ClassVar

from drivers import datasheet
from drivers.base import ESR_PON, MessageInstrument
from drivers.clock import Clock
from drivers.errors import InstrumentError, InstrumentTimeout
from drivers.roles import Function
from drivers.transport import Transport, nrf

#: ``ISR?`` bit 12: the output has settled.
ISR_SETTLED = 1 << 12
#: How often `wait_settled` polls ``ISR?``, in s of bench-clock time.
SETTLE_POLL_S = 0.05
#: The calibrator goes to standby when its output rises from below this to
#: this or more while operating (its safety rule).
HIGH_VOLTAGE_V = 33.0
#: `confirm_state` compares ``OUT?`` with the value the driver sent within
#: this fraction of the value plus `OUT_ABS_TOLERANCE`. Not exactly:
#: the driver sends the exact value, but ``OUT?`` reports it rounded to 7
#: significant figures (``1.000000E+01``), i.e. within 5e-7 of it, and the
#: calibrator rounds a value sent with more digits. A corrupted command
#: (``OUT 19 V`` for ``OUT 10 V``) differs by far more; a corruption that
#: moves the value by 1e-6 of it or less (one count in the 7th significant
#: figure) cannot be seen this way. The frequency of an AC output is
#: compared the same way.
OUT_REL_TOLERANCE = 1e-6
#: The absolute floor of that comparison: float noise around 0, far below
#: the calibrator's finest step (0.1 uV on the 330 mV range).
OUT_ABS_TOLERANCE = 1e-12

_NR3 = r"[+-]?\d\.\d{1,14}E[+-]\d{2}"
#: ``ERR?``: ``<code>,"<text>"``, the text printable ASCII without quotes.
ERR_FORMAT = re.compile(r'([+-]?\d{1,4}),"([\x20\x21\x23-\x7e]*)"', re.ASCII)
#: ``ISR?``: a decimal integer (16-bit register).
ISR_FORMAT = re.compile(r"\d{1,5}", re.ASCII)
#: ``OPER?``: 1 operate, 0 standby.
OPER_FORMAT = re.compile(r"[01]", re.ASCII)
#: ``OUT?``: amplitude, unit, second amplitude, its unit (0: none), frequency.
OUT_FORMAT = re.compile(rf"({_NR3}),([A-Z]+),({_NR3}),([A-Z]+|0),({_NR3})", re.ASCII)
#: ``ZCOMP?``: the impedance compensation.
ZCOMP_FORMAT = re.compile(r"NONE|WIRE2|WIRE4", re.ASCII)

#: The unit ``OUT`` takes and ``OUT?`` reports for each function.
UNITS: dict[Function, str] = {
    Function.DCV: "V", Function.ACV: "V", Function.DCI: "A", Function.R2W: "OHM", Function.R4W: "OHM",
}
#: ``ZCOMP`` for each resistance function.
COMPENSATION: dict[Function, str] = {Function.R2W: "WIRE2", Function.R4W: "WIRE4"}
_VOLTAGE = (Function.DCV, Function.ACV)


def sheet() -> datasheet.Datasheet:
    """The 5522A datasheet (``f5522a.toml`` beside this module; read once)."""
    return datasheet.load(datasheet.beside(__file__, "f5522a.toml"))


def _volts(function: Function | None, value: float | None) -> float:
    """The voltage an output puts on the terminals, for the 33 V rule."""
    return abs(value) if function in _VOLTAGE and value is not None else 0.0


class Fluke5522A(MessageInstrument):
    """Fluke 5522A/5520A multifunction calibrator (role: `Source`; DCV, DCI,
    ACV, R2W, R4W).

    ``Fluke5522A(transport, clock, serial=None)``: ``serial`` says the
    transport is an RS-232 line, where the calibrator needs ``REMOTE``
    (None: decided from the transport's resource string). Terminations:
    LF on GPIB/LAN; on RS-232 the calibrator ends replies with CR LF, so
    open the transport with ``read_termination="\\r\\n"`` there.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("FLUKE",)
    models: ClassVar[tuple[str, ...]] = ("5522A", "5520A")
    functions: ClassVar[tuple[Function, ...]] = tuple(UNITS)
    error_query: ClassVar[str] = "ERR?"
    error_queue_size: ClassVar[int] = 16  # the queue holds 16
    error_help: ClassVar[str] = "see the calibrator's manual, Appendix D (error messages)"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        #: What the driver last asked for (None: not yet), for `confirm_state`.
        self._function: Function | None = None
        self._value: float | None = None
        self._frequency = 0.0
        self._operating: bool | None = None

    def initialize(self) -> None:
        """``*CLS``, ``REMOTE`` (RS-232 only), ``STBY``, each checked with
        ``ERR?``.

        ``*CLS`` comes first so that errors left from before this run do
        not count against it. Leaves the output in standby with an empty
        error queue."""
        self.transport.write("*CLS")
        if self.serial:
            self._configure("REMOTE")
        self.standby()

    # -- Source

    def output_limits(self, function: Function) -> tuple[float, float]:
        """Lowest and highest output of ``function``, from the datasheet:
        DCV -1020..1020 V, DCI -2.99999..2.99999 A (AUX terminal), ACV
        1 mV..1020 V rms, R2W and R4W 0..1100 MOhm."""
        self._check_function(function, "OUT")
        limits = sheet().function(function).limits
        if limits is None:  # a datasheet without them: refused by the plan, never guessed here
            raise InstrumentError(self.name, "OUT", f"the datasheet gives no output limits for {function}",
                                  "add limits to f5522a.toml")
        return limits

    def set_output(self, function: Function, value: float, frequency: float = 0.0) -> None:
        """Program the output: ``OUT <value> V`` (DCV), ``OUT <value> V,
        <frequency> HZ`` (ACV, V rms at ``frequency`` Hz), ``OUT <value> A``
        (DCI), ``OUT <value> OHM`` then ``ZCOMP WIRE2`` (R2W) or ``ZCOMP
        WIRE4`` (R4W); each checked with ``ERR?``.

        Does not change operate/standby, except that the calibrator itself
        goes to standby when a voltage rises from below 33 V to 33 V or more
        (its safety rule): call `operate` after `set_output`. Raises
        `InstrumentError`, sending nothing, for a value outside
        `output_limits`, for AC without a frequency in the calibrator's
        band, or for a frequency given to a DC function or resistance."""
        unit = UNITS.get(function, "")
        command = f"OUT {nrf(value)} {unit}".rstrip()
        if function.is_ac:
            command += f", {nrf(frequency)} HZ"
        self._check_function(function, command)
        fs = sheet().function(function)
        low, high = self.output_limits(function)
        if not low <= value <= high:
            raise InstrumentError(
                self.name, command, f"{value:g} {function.unit} is outside the output limits "
                f"{low:g} {function.unit} to {high:g} {function.unit}",
                "choose a test point within the calibrator's range",
            )
        if function.is_ac:
            f_low, f_high = fs.frequency or (0.0, 0.0)
            if not f_low <= frequency <= f_high:
                raise InstrumentError(
                    self.name, command, f"{frequency:g} Hz is outside the calibrator's band {f_low:g} Hz "
                    f"to {f_high:g} Hz", "give the AC test point a frequency in that band",
                )
        elif frequency != 0.0:
            raise InstrumentError(self.name, command, f"{function} takes no frequency (got {frequency:g} Hz)",
                                  "give a frequency only to an AC function")
        # Remember what is asked for before asking: if the calibrator does
        # not take it, confirm_state finds the difference.
        previous_function, previous = self._function, self._value
        if self._operating is not False:
            if previous_function is not None and previous_function != function:
                self._operating = None  # UNVERIFIED whether a change of function keeps operate
            elif self._operating and _volts(function, value) >= HIGH_VOLTAGE_V:
                if previous is None:
                    self._operating = None  # standby or not depends on an output never programmed here
                elif _volts(previous_function, previous) < HIGH_VOLTAGE_V:
                    self._operating = False  # the calibrator's own safety rule
        self._function, self._value = function, float(value)
        self._frequency = float(frequency) if function.is_ac else 0.0
        self._configure(command)
        if function in COMPENSATION:
            self._configure(f"ZCOMP {COMPENSATION[function]}")

    def operate(self) -> None:
        """``OPER``: connect the output to the terminals."""
        self._operating = True
        self._configure("OPER")

    def standby(self) -> None:
        """``STBY``: disconnect the output from the terminals."""
        self._operating = False
        self._configure("STBY")

    def wait_settled(self, timeout_s: float) -> None:
        """Poll ``ISR?`` every 50 ms of bench-clock time until bit 12
        (settled) is set; `InstrumentTimeout` after ``timeout_s`` s."""
        deadline = self.clock.now() + timeout_s
        while True:
            if self.status() & ISR_SETTLED:
                return
            if self.clock.now() >= deadline:
                raise InstrumentTimeout(
                    f"{self.name}: output not settled (ISR? bit 12) within {timeout_s:g} s; "
                    "check the load on the output terminals and the calibrator's display"
                )
            self.clock.sleep(SETTLE_POLL_S)

    def safe_state(self) -> None:
        """``STBY`` then ``OUT 0 V``, each checked with ``ERR?``.

        Both are attempted even if the first fails; the first failure is
        then raised."""
        self._every_step(self.standby, lambda: self.set_output(Function.DCV, 0.0))

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the calibrator is still as this
        driver left it: no power cycle since (``*ESR?`` PON clear), in
        operate or standby as last commanded (``OPER?``), the output last
        programmed (``OUT?``: the function's unit, the value within 1e-6 of
        it, see `OUT_REL_TOLERANCE`, and the frequency: 0 for DC and
        resistance, the programmed one for AC), for resistance the
        compensation (``ZCOMP?``: ``WIRE2`` or ``WIRE4``), and an empty
        error queue (``ERR?``).

        Costs 1 exchange: the compound query ``*ESR?;OPER?;OUT?;ERR?``
        (resistance: ``*ESR?;OPER?;OUT?;ZCOMP?;ERR?``) and its one reply,
        plus one ``ERR?`` exchange per further queued error when ``ERR?``
        reported one. ``OPER?`` is left out while the operate state is
        unknown: after `set_output` to 33 V or more with no earlier value
        programmed, or to another function while operating. Before
        `set_output` was ever called only the error queue is read
        (``ERR?``): 1 exchange. The whole reply is checked before any of
        it is used: `GarbledReply` (naming the compound command) unless it
        holds exactly one part per query, each in its query's format. The
        checks then come in the order above; the first that fails is
        raised (an error ``ERR?`` took from the queue is then not reported)."""
        cause = "an error was queued since the last command"
        function, expected = self._function, self._value
        if function is None or expected is None:
            self.check_errors("ERR?", cause)
            return
        hint = "the point's readings are invalid; check the calibrator, then program it again"
        expected_operating = self._operating
        compensation = COMPENSATION.get(function)
        queries = ["*ESR?", *([] if expected_operating is None else ["OPER?"]), "OUT?",
                   *([] if compensation is None else ["ZCOMP?"]), "ERR?"]
        command, parts = self._query_parts(queries)
        answers = dict(zip(queries, parts, strict=True))
        status = self._parse_esr(answers["*ESR?"], command)
        operating = None if expected_operating is None else self._parse_operating(answers["OPER?"], command)
        value, unit, frequency = self._parse_output(answers["OUT?"], command)
        zcomp = None if compensation is None else self._parse_zcomp(answers["ZCOMP?"], command)
        error = self._parse_error(answers["ERR?"], command)
        if status & ESR_PON:
            raise InstrumentError(
                self.name, "*ESR?", "the calibrator was switched off and on (PON) since it was programmed",
                "its output and settings are lost: " + hint,
            )
        if operating is not None and operating != expected_operating:
            now, then = ("operate", "standby") if operating else ("standby", "operate")
            raise InstrumentError(self.name, "OPER?", f"the output is in {now}, not in {then} as commanded", hint)
        want_unit = UNITS[function]
        if unit != want_unit or not _close(value, expected) or not _close(frequency, self._frequency):
            got = f"{value:.9g} {unit}" + (f" at {frequency:.9g} Hz" if frequency else "")
            want = f"{expected:.9g} {want_unit}" + (f" at {self._frequency:.9g} Hz" if function.is_ac else "")
            raise InstrumentError(self.name, "OUT?", f"the output is {got}, not {want} as programmed", hint)
        if zcomp is not None and zcomp != compensation:
            raise InstrumentError(self.name, "ZCOMP?", f"the compensation is {zcomp}, not {compensation} as "
                                  f"programmed for {function.description}", hint)
        if error[0] != 0:
            self._drain_errors(error, "ERR?", cause)

    # -- readable settings

    @property
    def output(self) -> float:
        """``OUT?``: the programmed output value, in V. Raises
        `InstrumentError` if the calibrator's output is not volts."""
        value, unit, _ = self._parse_output(self._query("OUT?"))
        if unit != "V":
            raise InstrumentError(self.name, "OUT?", f"the output is in {unit}, not in V",
                                  "set a voltage with set_output()")
        return value

    def _parse_output(self, reply: str, command: str = "OUT?") -> tuple[float, str, float]:
        """The ``OUT?`` reply (alone, or its part of ``command``'s reply),
        strictly `OUT_FORMAT`: (amplitude, unit, frequency in Hz)."""
        match = OUT_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled(command, reply, "<amplitude>,<unit>,<amplitude>,<unit>,<frequency>", "OUT?")
        return float(match.group(1)), match.group(2), float(match.group(5))

    @property
    def operating(self) -> bool:
        """``OPER?``: True when the output is connected to the terminals."""
        return self._parse_operating(self._query("OPER?"))

    def _parse_operating(self, reply: str, command: str = "OPER?") -> bool:
        """The ``OPER?`` reply (alone, or its part of ``command``'s reply),
        strictly ``0`` or ``1``."""
        if not OPER_FORMAT.fullmatch(reply):
            raise self._garbled(command, reply, "0 or 1", "OPER?")
        return reply == "1"

    @property
    def compensation(self) -> str:
        """``ZCOMP?``: the impedance compensation, ``NONE``, ``WIRE2`` or ``WIRE4``."""
        return self._parse_zcomp(self._query("ZCOMP?"))

    def _parse_zcomp(self, reply: str, command: str = "ZCOMP?") -> str:
        """The ``ZCOMP?`` reply (alone, or its part of ``command``'s reply),
        strictly ``NONE``, ``WIRE2`` or ``WIRE4``."""
        if not ZCOMP_FORMAT.fullmatch(reply):
            raise self._garbled(command, reply, "NONE, WIRE2 or WIRE4", "ZCOMP?")
        return reply

    def status(self) -> int:
        """``ISR?``: the instrument status register (bit 12: settled)."""
        reply = self._query("ISR?")
        value = int(reply) if ISR_FORMAT.fullmatch(reply) else -1
        if not 0 <= value <= 0xFFFF:
            raise self._garbled("ISR?", reply, "an integer 0..65535")
        return value

    # -- error checking

    def _parse_error(self, reply: str, command: str = "ERR?") -> tuple[int, str]:
        """The ``ERR?`` reply (alone, or its part of ``command``'s reply),
        strictly `ERR_FORMAT`: (code, text)."""
        match = ERR_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled(command, reply, '<code>,"<text>"', "ERR?")
        return int(match.group(1)), match.group(2)


def _close(got: float, expected: float) -> bool:
    """``OUT?``'s figure (7 significant figures) against the value sent."""
    return math.isfinite(got) and abs(got - expected) <= abs(expected) * OUT_REL_TOLERANCE + OUT_ABS_TOLERANCE
