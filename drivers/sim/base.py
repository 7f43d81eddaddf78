"""The base of every simulated instrument, and the byte-stream adapter.

A simulated instrument speaks its real twin's command language: it is given
one program message at a time (a line without its termination, possibly
several ``;``-separated commands) and returns the reply text, or None when
the message holds no query. Transports and servers never call it with raw
bytes: they go through a `ByteStream`, which splits the byte stream into
lines (CR, LF or CR LF, arriving in any pieces) and appends the instrument's
reply termination.

Simulators are shared between transports (one bench may be reached over
``sim://``, TCP and a pseudo-terminal at once), so `handle` takes a lock.

Fault injection (for fault campaigns and tests), on every simulator:

- `SimulatedInstrument.power_cycle`: the instrument loses power and comes
  back in its power-on state, with an empty error queue, PON set in the
  standard event status register and any partial input line forgotten;
- `SimulatedInstrument.line_fault`: a function every byte string crossing
  the wire passes through (in `ByteStream`, so ``sim://``, TCP and
  pseudo-terminals all see it); ready-made ones in `drivers.sim.faults`;
- `SimulatedInstrument.link_down`: the connection is lost (``sim://``
  raises the transport's link error, the TCP server drops and refuses
  connections, a pseudo-terminal goes deaf).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from drivers.clock import Clock, VirtualClock

#: Longest program message kept waiting for its termination; beyond this the
#: partial line is thrown away (an instrument's input buffer overflowing).
MAX_LINE_BYTES = 65536

_LINE_END = re.compile(rb"\r\n|\r|\n")

#: Standard event status register, bit 7: power on (IEEE 488.2 11.5.1.1).
ESR_PON = 1 << 7

#: Which way bytes cross the wire: "in" to the instrument, "out" from it.
Direction = Literal["in", "out"]
#: A fault on the wire: gets the bytes and their direction, returns the
#: bytes that arrive (see `drivers.sim.faults`).
LineFault = Callable[[bytes, Direction], bytes]


@dataclass(frozen=True)
class Stimulus:
    """What one simulator presents to another through a lead: a quantity
    (``function``, a `drivers.roles.Function` value; "" for nothing, an
    open circuit), its true value in the function's unit, and its
    frequency in Hz for AC."""

    function: str = ""
    value: float = 0.0
    frequency: float = 0.0


OPEN = Stimulus()
#: A source of stimulus: the output side of a lead.
Port = Callable[[], Stimulus]


class SimulatedInstrument:
    """A simulated instrument.

    Constructed as ``Sim(name, clock, rng, **options)`` by the simulated
    bench (`drivers.sim.bench`), ``options`` from the bench's topology file.
    Leads join simulators: an output port (`outputs`, a method
    ``port_<name>()`` returning a `Stimulus`) is connected to an input port
    (`inputs`) of another, which the simulator reads with `sense`.

    Subclasses set `idn`, the terminations, and implement `execute` for one
    command. The error queue (`errors`) holds ``(code, text)`` pairs; each
    subclass formats it the way its instrument does.
    """

    #: The ``*IDN?`` reply.
    idn: str = "SIMULATED,INSTRUMENT,0,0"  # an instance may claim another serial
    #: What the host appends to each command (the real instrument's input
    #: terminator). The simulator accepts CR, LF and CR LF whatever this says.
    write_termination: ClassVar[str] = "\n"
    #: What the instrument appends to each reply; the host reads up to it.
    read_termination: ClassVar[str] = "\n"
    #: Size of the instrument's error queue.
    error_queue_size: ClassVar[int] = 20
    #: How ``*ESR?`` is answered (the 34401A signs it: ``+0``).
    esr_format: ClassVar[str] = "{:d}"
    #: Output ports (each a method ``port_<name>() -> Stimulus``) and input ports.
    outputs: ClassVar[tuple[str, ...]] = ()
    inputs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, clock: Clock | None = None) -> None:
        self.name = name
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.errors: deque[tuple[int, str]] = deque()
        #: A silent instrument receives everything and answers nothing.
        self.silent = False
        #: Every program message received, in order (for tests and debugging).
        self.received: deque[str] = deque(maxlen=1000)
        #: The standard event status register (IEEE 488.2 11.5.1).
        self.esr = 0
        #: When set, every byte string crossing the wire to ("in") or from
        #: ("out") the instrument passes through it (`drivers.sim.faults`).
        #: It runs outside the instrument's lock, on the thread that moves
        #: the bytes (a server thread for TCP and pseudo-terminals).
        self.line_fault: LineFault | None = None
        self._link_down = False
        self._link_listeners: list[Callable[[bool], None]] = []
        self._streams: weakref.WeakSet[ByteStream] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._inputs: dict[str, Port] = {}

    # -- leads

    def output(self, port: str) -> Port:
        """The output ``port`` (for a lead to another simulator's input)."""
        if port not in self.outputs:
            raise KeyError(f"{self.name} has no output {port!r}; it has: {', '.join(self.outputs) or 'none'}")
        method: Port = getattr(self, f"port_{port}")
        return method

    def connect(self, port: str, source: Port) -> None:
        """Connect input ``port`` to ``source`` (another simulator's output)."""
        if port not in self.inputs:
            raise KeyError(f"{self.name} has no input {port!r}; it has: {', '.join(self.inputs) or 'none'}")
        self._inputs[port] = source

    def sense(self, port: str) -> Stimulus:
        """What input ``port`` receives now (`OPEN` when nothing is connected)."""
        source = self._inputs.get(port)
        return source() if source is not None else OPEN

    # -- what subclasses implement

    def execute(self, header: str, argument: str) -> str | None:
        """Execute one command: ``header`` upper-cased without a leading
        ``:``, ``argument`` the rest with surrounding blanks removed.
        Returns the reply to a query, None otherwise; pushes an error for a
        command it does not understand."""
        raise NotImplementedError

    def overflow_error(self) -> tuple[int, str]:
        """The error pushed when the error queue overflows."""
        return (-350, "Queue overflow")

    def reset(self) -> None:
        """``*RST``: put the instrument in its reset state."""
        raise NotImplementedError

    def argument_not_allowed(self) -> None:
        """Queue the instrument's error for a parameter where none is allowed."""
        raise NotImplementedError

    def power_on(self) -> None:
        """Put the instrument in its power-on state (called by `power_cycle`,
        under the instrument's lock). Default: the `reset` state."""
        self.reset()

    # -- fault injection

    def power_cycle(self) -> None:
        """The instrument loses power and comes back: power-on state
        (`power_on`), error queue emptied, the standard event status
        register holding only PON (bit 7, IEEE 488.2 11.5.1.1), and every
        connection's partial input line forgotten."""
        with self._lock:
            self.errors.clear()
            self.esr = ESR_PON
            self.power_on()
        for stream in list(self._streams):
            stream.reset()

    @property
    def link_down(self) -> bool:
        """True while the connection to the instrument is lost: ``sim://``
        raises the transport's link error, the TCP server closes this
        instrument's connections at once and refuses new ones, and on a
        pseudo-terminal the instrument is deaf (a pulled RS-232 cable)."""
        return self._link_down

    @link_down.setter
    def link_down(self, down: bool) -> None:
        self._link_down = bool(down)
        for listener in list(self._link_listeners):
            listener(self._link_down)

    def add_link_listener(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(down)`` whenever `link_down` is set (servers use it)."""
        self._link_listeners.append(listener)

    def remove_link_listener(self, listener: Callable[[bool], None]) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        if listener in self._link_listeners:
            self._link_listeners.remove(listener)

    # -- IEEE 488.2 common commands, the same on every simulator

    def common_commands(self) -> dict[str, Callable[[str], str | None]]:
        """``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*ESR?`` for a dispatch table."""
        return {"*IDN?": self._idn, "*RST": self._rst, "*CLS": self._cls,
                "*OPC?": self._opc, "*ESR?": self._esr_query}

    def _no_argument(self, argument: str) -> bool:
        if argument:
            self.argument_not_allowed()
            return False
        return True

    def _idn(self, argument: str) -> str | None:
        return self.idn if self._no_argument(argument) else None

    def _rst(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.reset()
        return None

    def _cls(self, argument: str) -> str | None:
        if self._no_argument(argument):
            self.errors.clear()
            self.esr = 0
        return None

    def _opc(self, argument: str) -> str | None:
        return "1" if self._no_argument(argument) else None

    def _esr_query(self, argument: str) -> str | None:
        if not self._no_argument(argument):
            return None
        value, self.esr = self.esr, 0
        return self.esr_format.format(value)

    # -- the interface used by transports

    def handle(self, line: str) -> str | None:
        """Process one program message (no termination). Commands separated
        by ``;`` run in order; the replies of its queries are joined with
        ``;``. Returns None when there is nothing to send back.

        Simplification: a ``;`` inside a quoted string splits it too, and
        SCPI's relative paths after ``;`` are not resolved (each command is
        taken from the root)."""
        with self._lock:
            self.received.append(line)
            replies: list[str] = []
            for part in line.split(";"):
                part = part.strip()
                if not part:
                    continue
                header, _, argument = part.partition(" ")
                reply = self.execute(header.lstrip(":").upper(), argument.strip())
                if reply is not None:
                    replies.append(reply)
            if self.silent or not replies:
                return None
            return ";".join(replies)

    def stream(self) -> ByteStream:
        """A new byte-stream adapter: one per connection."""
        return ByteStream(self)

    # -- the error queue

    def push_error(self, code: int, text: str) -> None:
        """Queue an error as the instrument would (oldest first); on
        overflow the last entry becomes the overflow error."""
        if len(self.errors) >= self.error_queue_size:
            self.errors[-1] = self.overflow_error()
            return
        self.errors.append((code, text))

    def queue_error(self, error: tuple[int, str, int]) -> None:
        """Queue ``(code, text, esr_bit)`` and set its bit in the standard
        event status register (command, execution, device-dependent or
        query error, IEEE 488.2 11.5.1)."""
        code, text, esr_bit = error
        self.esr |= esr_bit
        self.push_error(code, text)

    def dispatch(self, table: ScpiDispatcher, header: str, argument: str,
                 unknown: tuple[int, str, int]) -> str | None:
        """Run ``header`` from the common commands or ``table``; queue
        ``unknown`` for a header neither holds."""
        common = self.common_commands().get(header)
        if common is not None:
            return common(argument)
        handler = table.find(header)
        if handler is None:
            self.queue_error(unknown)
            return None
        return handler(argument)

    def pop_error(self) -> tuple[int, str] | None:
        """The oldest queued error, removed from the queue; None if empty."""
        return self.errors.popleft() if self.errors else None


class ByteStream:
    """Bytes in, reply bytes out: the wire side of a simulated instrument.

    Accepts lines ended by CR, LF or CR LF, in pieces of any size (a line
    may arrive one byte at a time, or several lines at once). Empty lines
    are ignored. Replies end with the instrument's `read_termination`.
    The instrument's `SimulatedInstrument.line_fault`, when set, is applied
    to the bytes fed in ("in") and to the reply bytes ("out").
    """

    def __init__(self, instrument: SimulatedInstrument) -> None:
        self.instrument = instrument
        self._pending = b""
        self._rterm = instrument.read_termination
        instrument._streams.add(self)

    def feed(self, data: bytes) -> bytes:
        """Feed received bytes; returns the bytes to send back (maybe b"")."""
        fault = self.instrument.line_fault
        if fault is None:
            return self._feed(data)
        reply = self._feed(fault(data, "in"))
        return fault(reply, "out") if reply else reply

    def _feed(self, data: bytes) -> bytes:
        if self._pending:
            data = self._pending + data
            self._pending = b""
        handle = self.instrument.handle
        # Fast path: exactly one LF-terminated line (the usual case).
        if data[-1:] == b"\n" and data.count(b"\n") == 1 and b"\r" not in data:
            line = data[:-1]
            if not line.strip():  # blank: ignored, as below
                return b""
            reply = handle(line.decode("latin-1"))
            return b"" if reply is None else (reply + self._rterm).encode("latin-1")
        lines = _LINE_END.split(data)
        tail = lines.pop()
        if len(tail) > MAX_LINE_BYTES:
            tail = b""
        self._pending = tail
        out: list[str] = []
        for raw in lines:
            if not raw.strip():
                continue
            reply = handle(raw.decode("latin-1"))
            if reply is not None:
                out.append(reply + self._rterm)
        return "".join(out).encode("latin-1")

    def reset(self) -> None:
        """Forget a partial line (a new connection, a device clear)."""
        self._pending = b""


# --------------------------------------------------------------------------
# SCPI header matching, for the SCPI instruments


def _mnemonic(word: str) -> str:
    short = "".join(c for c in word if not c.islower())
    full = word.upper()
    if short == full:
        return re.escape(full)
    return f"(?:{re.escape(full)}|{re.escape(short)})"


def scpi_header(pattern: str) -> re.Pattern[str]:
    """Compile a SCPI header as manuals write it (``[SENSe:]VOLTage[:DC]:NPLCycles?``)
    into a regex that accepts the short form (upper-case letters) or the
    long form of each node, optional nodes in brackets, and an optional
    leading colon. Matching is on the upper-cased header."""
    query = pattern.endswith("?")
    body = pattern[:-1] if query else pattern
    nodes = [(opt == "[", word) for opt, word in re.findall(r"(\[?):?([A-Za-z*0-9]+):?\]?", body)]
    regex = ""
    for i, (optional, word) in enumerate(nodes):
        mn = _mnemonic(word)
        if i == 0:
            piece = f"{mn}:" if optional and len(nodes) > 1 else mn
        elif i == 1 and nodes[0][0]:
            piece = mn
        else:
            piece = ":" + mn
        regex += f"(?:{piece})?" if optional else piece
    return re.compile("^:?" + regex + (r"\?" if query else "") + "$")


Handler = Callable[[str], "str | None"]


class ScpiDispatcher:
    """Finds the handler of a SCPI header; remembers what it found."""

    def __init__(self, table: list[tuple[str, Handler]]) -> None:
        self._table = [(scpi_header(p), h) for p, h in table]
        self._cache: dict[str, Handler | None] = {}

    def find(self, header: str) -> Handler | None:
        try:
            return self._cache[header]
        except KeyError:
            pass
        found: Handler | None = None
        for regex, handler in self._table:
            if regex.match(header):
                found = handler
                break
        if len(self._cache) < 1000:
            self._cache[header] = found
        return found
