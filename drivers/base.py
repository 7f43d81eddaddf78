"""What every message-based driver shares (IEEE 488.2 instruments).

A driver subclasses `MessageInstrument` for its transport, clock, name,
``*IDN?``, ``*ESR?`` and the check of the functions it drives, and adds the
commands of its model (see docs/drivers.md).

Strict replies: a driver accepts a reply only in the exact format its
instrument documents (a regular expression, ``re.ASCII``, matched against
the whole reply) and raises `GarbledReply` for anything else: a reply cut
short, run together with another, or corrupted on the line must never pass
as a value.

Compound queries (`MessageInstrument._query_parts`): several queries in one
program message, ``Q1?;Q2?;Q3?`` (IEEE 488.2 7.3.3), answered in one
response message with the replies separated by ``;`` (8.4): one bus
exchange instead of several. The reply must hold exactly one part per
query, and each part is checked with the same format as the single query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import ClassVar

from drivers.clock import Clock
from drivers.errors import GarbledReply, InstrumentError
from drivers.roles import Function, Identity
from drivers.transport import Transport, is_serial_line

_IDN_CHAR = r"[\x20-\x2b\x2d-\x7e]"  # printable ASCII but the comma
_IDN_NAME = rf" *[\x21-\x2b\x2d-\x7e]{_IDN_CHAR}*"  # ...and not only blanks
#: ``*IDN?``: four fields of printable ASCII separated by commas (IEEE 488.2
#: 10.14: manufacturer, model, serial number, firmware), maker and model not blank.
IDN_FORMAT = re.compile(rf"{_IDN_NAME},{_IDN_NAME},{_IDN_CHAR}*,{_IDN_CHAR}*", re.ASCII)
#: ``*ESR?``: an integer (NR1, optionally signed: the 34401A answers ``+0``).
ESR_FORMAT = re.compile(r"[+-]?\d{1,3}", re.ASCII)
#: SCPI's error queue entry, ``SYST:ERR?``: ``<code>,"<message>"`` (SCPI
#: 1999 21.8.8; a SCPI string: ``""`` stands for ``"``), e.g. ``+0,"No error"``.
SCPI_ERROR_FORMAT = re.compile(r'([+-]?\d{1,3}),"((?:[\x20\x21\x23-\x7e]|"")*)"', re.ASCII)
#: Standard event status register bit 7: power on (IEEE 488.2 11.5.1.1).
ESR_PON = 1 << 7
#: Separates the queries of a program message (IEEE 488.2 7.3.3) and their
#: replies in the response message (8.4.1).
UNIT_SEPARATOR = ";"


def shown(reply: str, limit: int = 40) -> str:
    """``repr`` of a reply for an error message, shortened to ``limit`` characters."""
    return repr(reply) if len(reply) <= limit else repr(reply[:limit]) + "..."


class MessageInstrument:
    """``Driver(transport, clock, serial=None)``: ``serial`` says the
    transport is an RS-232 line, where instruments need their remote-mode
    command (None: decided from the transport's resource string)."""

    manufacturers: ClassVar[tuple[str, ...]]
    models: ClassVar[tuple[str, ...]]
    #: The functions this driver drives.
    functions: ClassVar[tuple[Function, ...]] = (Function.DCV,)
    #: The query that reads the oldest queued error, and how many entries
    #: the instrument's queue holds (read at most in one check).
    error_query: ClassVar[str] = "SYST:ERR?"
    error_queue_size: ClassVar[int] = 20
    #: Where the manual lists the error messages (the errors' "what to do").
    error_help: ClassVar[str] = ""
    #: Terminations the host uses; a bench file may override them.
    write_termination: ClassVar[str] = "\n"
    read_termination: ClassVar[str] = "\n"

    def __init__(self, transport: Transport, clock: Clock, serial: bool | None = None) -> None:
        self.transport = transport
        self.clock = clock
        self.serial = is_serial_line(transport.resource) if serial is None else serial

    @property
    def name(self) -> str:
        """The instrument's name on this bench (the transport's name)."""
        return self.transport.name

    def identify(self) -> Identity:
        """``*IDN?``: maker, model, serial number, firmware.

        Raises `GarbledReply` unless the reply is four comma-separated
        fields of printable ASCII with a maker and a model."""
        reply = self._query("*IDN?")
        if not IDN_FORMAT.fullmatch(reply):
            raise self._garbled("*IDN?", reply, "four comma-separated fields MAKER,MODEL,SERIAL,FIRMWARE")
        return Identity.from_idn(reply)

    def event_status(self) -> int:
        """``*ESR?``: the standard event status register (0..255; reading it
        clears it). Bit 7 (`ESR_PON`): the power was off since it was last
        read or cleared."""
        return self._parse_esr(self._query("*ESR?"))

    def _parse_esr(self, reply: str, command: str = "*ESR?") -> int:
        """The ``*ESR?`` reply (alone, or its part of ``command``'s reply),
        strictly `ESR_FORMAT` within 0..255."""
        value = int(reply) if ESR_FORMAT.fullmatch(reply) else -1
        if not 0 <= value <= 255:
            raise self._garbled(command, reply, "an integer 0..255", "*ESR?")
        return value

    def close(self) -> None:
        """Release the connection; the instrument stays as it is."""
        self.transport.close()

    def _query(self, command: str) -> str:
        """``command``'s reply. On an RS-232 line one CR before the LF is
        dropped: instruments end replies there with CR LF (the 34401A User's
        Guide, "Output Data Formats"), and the transport may be set to LF."""
        reply = self.transport.query(command)
        if self.serial and reply[-1:] == "\r":
            return reply[:-1]
        return reply

    def _query_parts(self, queries: Sequence[str]) -> tuple[str, list[str]]:
        """Send ``queries`` as one program message, ``Q1?;Q2?;...`` (IEEE
        488.2 7.3.3), and read the one response message answering them all,
        the replies separated by ``;`` (8.4). One exchange.

        Returns the command sent and exactly one reply part per query, in
        order, for the caller to check each with its query's strict format.
        The reply is split from the left into at most ``len(queries)``
        parts: only the last query's reply may itself hold a ``;`` (the
        text of an error queue entry), so such a query goes last. A reply
        with fewer parts (a query left unanswered, a reply cut short)
        raises `GarbledReply` naming the whole command; one with a ``;``
        too many leaves it in the last part, whose format check refuses it."""
        command = UNIT_SEPARATOR.join(queries)
        reply = self._query(command)
        parts = reply.split(UNIT_SEPARATOR, len(queries) - 1)
        if len(parts) != len(queries):
            raise GarbledReply(
                self.name, command,
                f"reply {shown(reply, 80)} has {len(parts)} part(s) separated by ';', not {len(queries)} "
                "(one per query)",
                "check the cable, the interface settings and the terminations",
            )
        return command, parts

    # -- the error queue

    def _configure(self, command: str) -> None:
        """Send ``command``, then read the error queue; raise the first
        error as `InstrumentError` naming ``command``."""
        self.transport.write(command)
        self.check_errors(command)

    def check_errors(self, command: str = "", cause: str = "") -> None:
        """Read the error queue (`error_query`) until it reports no error;
        raise `InstrumentError` with the first error, naming ``command`` as
        its cause (``cause`` says more, if given)."""
        self._drain_errors(None, command, cause)

    def _drain_errors(self, first: tuple[int, str] | None, command: str = "", cause: str = "") -> None:
        """Read the rest of the error queue (`error_query` until code 0, at
        most `error_queue_size` entries counting ``first``, an error already
        read or None); raise `InstrumentError` with the first error, as
        `check_errors`."""
        for _ in range(self.error_queue_size - (first is not None)):
            code, text = self._parse_error(self._query(self.error_query), self.error_query)
            if code == 0:
                break
            if first is None:
                first = (code, text)
        if first is not None:
            message = self._error_text(*first) + (f" ({cause})" if cause else "")
            raise InstrumentError(self.name, command or self.error_query, message, self.error_help)

    def _parse_error(self, reply: str, command: str = "SYST:ERR?") -> tuple[int, str]:
        """One `error_query` reply (alone, or its part of ``command``'s
        reply), strictly in the instrument's format: (code, text). This
        default is SCPI's (`SCPI_ERROR_FORMAT`); other languages override it."""
        match = SCPI_ERROR_FORMAT.fullmatch(reply)
        if match is None:
            raise self._garbled(command, reply, '<code>,"<message>"', "SYST:ERR?")
        return int(match.group(1)), match.group(2).replace('""', '"')

    @staticmethod
    def _every_step(*steps: Callable[[], object]) -> None:
        """Run every step even if one fails (a safe state), then raise the
        first failure."""
        first: BaseException | None = None
        for step in steps:
            try:
                step()
            except Exception as e:  # must try the next step, then re-raise the first
                if first is None:
                    first = e
        if first is not None:
            raise first

    def _error_text(self, code: int, text: str) -> str:
        """A queued error as the instrument's manual writes it."""
        return f"error {code}: {text}"

    def _garbled(self, command: str, reply: str, expected: str, query: str = "") -> GarbledReply:
        """`GarbledReply` for ``command``'s ``reply``; ``query``: the query
        whose part of a compound reply ``reply`` is (named in the message)."""
        what = f"reply {shown(reply)}" + (f" to {query}" if query and query != command else "")
        return GarbledReply(
            self.name, command, f"{what} is not {expected}",
            "check the cable, the interface settings and the terminations",
        )

    def _check_function(self, function: Function, command: str) -> None:
        if function not in self.functions:
            raise InstrumentError(
                self.name, command, f"function {function} is not supported by this driver",
                "use " + ", ".join(self.functions) + " or another driver",
            )
