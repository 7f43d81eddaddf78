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
"""

from __future__ import annotations

from typing import ClassVar

from drivers.base import MessageInstrument
from drivers.errors import GarbledReply, InstrumentError, InstrumentTimeout
from drivers.roles import Function
from drivers.transport import nrf

#: ``ISR?`` bit 12: the output has settled.
ISR_SETTLED = 1 << 12
#: How often `wait_settled` polls ``ISR?``, in s of bench-clock time.
SETTLE_POLL_S = 0.05
#: ``ERR?`` entries read at most in one check (the queue holds 16).
MAX_ERRORS_READ = 16


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

    def initialize(self) -> None:
        """``*CLS``, ``REMOTE`` (RS-232 only), ``STBY``, each checked with
        ``ERR?``.

        ``*CLS`` comes first so that errors left from before this run do
        not count against it. Leaves the output in standby with an empty
        error queue."""
        self.transport.write("*CLS")
        if self.serial:
            self._configure("REMOTE")
        self._configure("STBY")

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
        self._configure(command)

    def operate(self) -> None:
        """``OPER``: connect the output to the terminals."""
        self._configure("OPER")

    def standby(self) -> None:
        """``STBY``: disconnect the output from the terminals."""
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
        for command in ("STBY", "OUT 0 V"):
            try:
                self._configure(command)
            except Exception as e:  # must try the next step, then re-raise the first
                if first is None:
                    first = e
        if first is not None:
            raise first

    # -- readable settings

    @property
    def output(self) -> float:
        """``OUT?``: the programmed output value, in V."""
        reply = self.transport.query("OUT?")
        try:
            return float(reply.split(",")[0])
        except ValueError:
            raise GarbledReply(self.name, "OUT?", f"reply {reply!r} does not start with a number") from None

    @property
    def operating(self) -> bool:
        """``OPER?``: True when the output is connected to the terminals."""
        reply = self.transport.query("OPER?").strip()
        if reply not in ("0", "1"):
            raise GarbledReply(self.name, "OPER?", f"reply {reply!r} is not 0 or 1")
        return reply == "1"

    def status(self) -> int:
        """``ISR?``: the instrument status register (bit 12: settled)."""
        reply = self.transport.query("ISR?")
        try:
            return int(reply.strip())
        except ValueError:
            raise GarbledReply(self.name, "ISR?", f"reply {reply!r} is not an integer") from None

    # -- error checking

    def _configure(self, command: str) -> None:
        """Send ``command``, then read ``ERR?`` until ``0``; raise the first
        error as `InstrumentError` naming ``command``."""
        self.transport.write(command)
        self.check_errors(command)

    def check_errors(self, command: str = "") -> None:
        """Read the error queue (``ERR?``, replies ``<code>,"<text>"``)
        until ``0``; raise `InstrumentError` with the first error, naming
        ``command`` as its cause."""
        first: tuple[int, str] | None = None
        for _ in range(MAX_ERRORS_READ):
            reply = self.transport.query("ERR?")
            code, text = self._parse_error(reply)
            if code == 0:
                break
            if first is None:
                first = (code, text)
        if first is not None:
            raise InstrumentError(
                self.name, command or "ERR?", f"error {first[0]}: {first[1]}",
                "see the calibrator's manual, Appendix D (error messages)",
            )

    def _parse_error(self, reply: str) -> tuple[int, str]:
        code_text, _, text = reply.partition(",")
        try:
            code = int(code_text.strip())
        except ValueError:
            raise GarbledReply(self.name, "ERR?", f"reply {reply!r} is not <code>,\"<text>\"") from None
        return code, text.strip().strip('"')
