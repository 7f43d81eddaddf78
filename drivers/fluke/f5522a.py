"""Fluke 5522A (and 5520A) multifunction calibrator, as a DC voltage source.

Commands from the 5522A Operators Manual, chapter 6 "Remote Commands"
(the 5520A manual has the same set). Only DC voltage is driven here.

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
``OPER?`` ``0`` or ``1``, ``OUT?`` five fields
``<amplitude>,<unit>,<amplitude 2>,<unit 2>,<frequency>`` with the numbers
in NR3 form (``1.000000E+01,V,0.000000E+00,0,0.00E+00``); anything else
raises `GarbledReply`. The manual gives floats "up to 15 significant
figures plus an exponent" (chapter 5, "Response Message Syntax"); the
field layout of ``OUT?`` and the ``ERR?`` quoting are as the simulator
answers, UNVERIFIED against the manual's examples.

`confirm_state` (role `drivers.roles.SelfChecking`) checks after each
point that the calibrator is still as the driver left it, in one compound
query (chapter 5, compound commands: commands separated by ``;`` in one
message; IEEE 488.2 8.4: the responses of its queries come in one reply,
separated by ``;``): ``*ESR?;OPER?;OUT?;ERR?`` answered e.g.
``0;1;1.000000E+01,V,0.000000E+00,0,0.00E+00;0,"No Error"``. Each part is
held to the format of its single query; a reply with another number of
parts raises `GarbledReply`. ``ERR?`` goes last: its text is the only part
that may hold a ``;``, and Fluke's later calibrators (5560A manual) want a
query with a free-text reply last in its message. The joined reply is
UNVERIFIED against an example in the 5522A manual or a real calibrator.
"""

from __future__ import annotations

import re
from typing import ClassVar

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
#: this fraction of the value plus `OUT_ABS_TOLERANCE_V`. Not exactly:
#: the driver sends the exact value, but ``OUT?`` reports it rounded to 7
#: significant figures (``1.000000E+01``), i.e. within 5e-7 of it, and the
#: calibrator rounds a value sent with more digits. A corrupted command
#: (``OUT 19 V`` for ``OUT 10 V``) differs by far more; a corruption that
#: moves the value by 1e-6 of it or less (one count in the 7th significant
#: figure) cannot be seen this way.
OUT_REL_TOLERANCE = 1e-6
#: The absolute floor of that comparison: float noise around 0 V, far below
#: the calibrator's finest step (0.1 uV on the 330 mV range).
OUT_ABS_TOLERANCE_V = 1e-12

_NR3 = r"[+-]?\d\.\d{1,14}E[+-]\d{2}"
#: ``ERR?``: ``<code>,"<text>"``, the text printable ASCII without quotes.
ERR_FORMAT = re.compile(r'([+-]?\d{1,4}),"([\x20\x21\x23-\x7e]*)"', re.ASCII)
#: ``ISR?``: a decimal integer (16-bit register).
ISR_FORMAT = re.compile(r"\d{1,5}", re.ASCII)
#: ``OPER?``: 1 operate, 0 standby.
OPER_FORMAT = re.compile(r"[01]", re.ASCII)
#: ``OUT?``: amplitude, unit, second amplitude, its unit (0: none), frequency.
OUT_FORMAT = re.compile(rf"({_NR3}),([A-Z]+),({_NR3}),([A-Z]+|0),({_NR3})", re.ASCII)


class Fluke5522A(MessageInstrument):
    """Fluke 5522A/5520A multifunction calibrator (role: `Source`, DCV).

    ``Fluke5522A(transport, clock, serial=None)``: ``serial`` says the
    transport is an RS-232 line, where the calibrator needs ``REMOTE``
    (None: decided from the transport's resource string). Terminations:
    LF on GPIB/LAN; on RS-232 the calibrator ends replies with CR LF, so
    open the transport with ``read_termination="\\r\\n"`` there.
    """

    manufacturers: ClassVar[tuple[str, ...]] = ("FLUKE",)
    models: ClassVar[tuple[str, ...]] = ("5522A", "5520A")
    error_query: ClassVar[str] = "ERR?"
    error_queue_size: ClassVar[int] = 16  # the queue holds 16
    error_help: ClassVar[str] = "see the calibrator's manual, Appendix D (error messages)"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        super().__init__(transport, clock, serial)
        #: What the driver last asked for (None: not yet), for `confirm_state`.
        self._value: float | None = None
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
        """DC voltage: -1020 V to +1020 V (5522A specifications)."""
        self._check_function(function, "OUT")
        return (-1020.0, 1020.0)

    def set_output(self, function: Function, value: float) -> None:
        """``OUT <value> V``: program the DC voltage output, in V.

        Does not change operate/standby, except that the calibrator itself
        goes to standby when the output rises from below 33 V to 33 V or
        more (its safety rule): call `operate` after `set_output`.
        Raises `InstrumentError` for a value outside `output_limits`."""
        command = f"OUT {nrf(value)} V"
        self._check_function(function, command)
        low, high = self.output_limits(function)
        if not low <= value <= high:
            raise InstrumentError(
                self.name, command, f"{value:g} V is outside the output limits {low:g} V to {high:g} V",
                "choose a test point within the calibrator's range",
            )
        # Remember what is asked for before asking: if the calibrator does
        # not take it, confirm_state finds the difference.
        if self._operating and abs(value) >= HIGH_VOLTAGE_V:
            previous = self._value
            if previous is None:
                self._operating = None  # standby or not depends on an output never programmed here
            elif abs(previous) < HIGH_VOLTAGE_V:
                self._operating = False  # the calibrator's own safety rule
        self._value = float(value)
        self._configure(command)

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
        first: BaseException | None = None
        for step in (self.standby, lambda: self.set_output(Function.DCV, 0.0)):
            try:
                step()
            except Exception as e:  # must try the next step, then re-raise the first
                if first is None:
                    first = e
        if first is not None:
            raise first

    # -- SelfChecking

    def confirm_state(self) -> None:
        """Raise `InstrumentError` unless the calibrator is still as this
        driver left it: no power cycle since (``*ESR?`` PON clear), in
        operate or standby as last commanded (``OPER?``), the output last
        programmed (``OUT?``: DC volts, the value within 1e-6 of it, see
        `OUT_REL_TOLERANCE`), and an empty error queue (``ERR?``).

        Costs 1 exchange: the compound query ``*ESR?;OPER?;OUT?;ERR?`` and
        its one reply, plus one ``ERR?`` exchange per further queued error
        when ``ERR?`` reported one. ``OPER?`` is left out
        (``*ESR?;OUT?;ERR?``) while the operate state is unknown: after
        `set_output` to 33 V or more with no earlier value programmed.
        Before `set_output` was ever called only the error queue is read
        (``ERR?``): 1 exchange. The whole reply is checked before any of
        it is used: `GarbledReply` (naming the compound command) unless it
        holds exactly one part per query, each in its query's format. The
        checks then come in the order above; the first that fails is
        raised (an error ``ERR?`` took from the queue is then not reported)."""
        cause = "an error was queued since the last command"
        if self._value is None:
            self.check_errors("ERR?", cause)
            return
        hint = "the point's readings are invalid; check the calibrator, then program it again"
        expected_operating = self._operating
        queries = ["*ESR?", "OUT?", "ERR?"] if expected_operating is None else ["*ESR?", "OPER?", "OUT?", "ERR?"]
        command, parts = self._query_parts(queries)
        status = self._parse_esr(parts[0], command)
        operating = None if expected_operating is None else self._parse_operating(parts[1], command)
        value, unit = self._parse_output(parts[-2], command)
        error = self._parse_error(parts[-1], command)
        if status & ESR_PON:
            raise InstrumentError(
                self.name, "*ESR?", "the calibrator was switched off and on (PON) since it was programmed",
                "its output and settings are lost: " + hint,
            )
        if operating is not None and operating != expected_operating:
            now, then = ("operate", "standby") if operating else ("standby", "operate")
            raise InstrumentError(self.name, "OPER?", f"the output is in {now}, not in {then} as commanded", hint)
        expected = self._value
        if unit != "V" or abs(value - expected) > abs(expected) * OUT_REL_TOLERANCE + OUT_ABS_TOLERANCE_V:
            raise InstrumentError(
                self.name, "OUT?", f"the output is {value:.9g} {unit}, not {expected:.9g} V as programmed", hint,
            )
        if error[0] != 0:
            self._drain_errors(error, "ERR?", cause)

    # -- readable settings

    @property
    def output(self) -> float:
        """``OUT?``: the programmed output value, in V. Raises
        `InstrumentError` if the calibrator's output is not DC volts."""
        value, unit = self._read_output()
        if unit != "V":
            raise InstrumentError(self.name, "OUT?", f"the output is in {unit}, not in V",
                                  "set a DC voltage with set_output()")
        return value

    def _read_output(self) -> tuple[float, str]:
        """``OUT?``: (amplitude, unit), for DC volts (amplitude in V, "V")."""
        return self._parse_output(self._query("OUT?"))

    def _parse_output(self, reply: str, command: str = "OUT?") -> tuple[float, str]:
        """The ``OUT?`` reply (alone, or its part of ``command``'s reply),
        strictly `OUT_FORMAT`: (amplitude, unit)."""
        match = OUT_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled(command, reply, "<amplitude>,<unit>,<amplitude>,<unit>,<frequency>", "OUT?")
        return float(match.group(1)), match.group(2)

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
