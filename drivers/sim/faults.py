"""Ready-made faults on the wire of a simulated instrument.

Set one as an instrument's `SimulatedInstrument.line_fault`::

    rng = np.random.default_rng(7)
    bench.dmm.line_fault = faults.garble(rng, 0.05)          # 5 % of replies garbled
    bench.calibrator.line_fault = faults.once(faults.noise(rng, 1.0))

Every byte string crossing the wire passes through the fault, in
`drivers.sim.base.ByteStream`: ``"in"`` is what the host sent (as the
instrument receives it, in the pieces the transport delivers), ``"out"``
is the instrument's reply (one or more whole replies, terminations
included). ``sim://``, TCP and pseudo-terminals all go through it.

Each maker returns a `Fault`: a callable that counts how often it acted
(`Fault.fired`). Random faults draw from the numpy ``Generator`` they are
given (seeded: a campaign is reproducible as long as the bytes cross the
wire in the same pieces), under a lock, since server threads may call them
at once. A fault decides per byte string crossing the wire, with
``probability``, whether to act on it.

What a fault does and what it models:

- `garble`: a reply replaced by printable garbage of the same length, its
  termination kept. Models a wrong baud rate or framing on RS-232, two
  talkers on a GPIB bus, a failing USB-GPIB adapter or terminal server.
- `truncate`: a reply cut short, its termination kept or dropped. Kept:
  the instrument was interrupted mid-reply (device clear, reset, front
  panel) and ended the message; a USB-serial adapter dropped part of its
  buffer. Dropped: the link died mid-reply; what follows runs into the
  next reply.
- `noise`: a burst of 1 to 4 bytes replaced by random bytes (0..255), in
  either direction, terminations included. Models electrical noise on an
  RS-232 line (a long unshielded cable next to a motor or a relay). Note:
  a burst that turns digits into other digits leaves a well-formed but
  wrong value. On a 34401A reading hit by `noise` that happens about once
  in 40 hits with one-byte bursts, once in 150 with the default 1..4
  (measured); no format check can see it, only parity or a checksum,
  which these simulators do not model. A campaign asserting that no
  faulted reading is ever accepted must leave `noise` off the replies
  that carry readings, or count these as the known undetectable case.
- `substitute`: a given byte string replaced by another of the same
  length (``OUT 10 V`` becoming ``OUT 19 V``): the undetectable bit error
  above, made deterministic for tests.
- `when`: no change to the bytes; calls an action when a pattern crosses
  the wire (``when(b"NPLC", sim.power_cycle)``: a power cut at that
  moment).
- `once`, `chain`, `only`: combine faults (act once; apply several in
  order; restrict to one direction).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from drivers.sim.base import Direction, LineFault

__all__ = ["Fault", "chain", "garble", "noise", "once", "only", "substitute", "truncate", "when"]

#: What a fault's action returns: the new bytes, or None to leave them as they are.
Action = Callable[[bytes, Direction], "bytes | None"]

_TERMINATIONS = (b"\r\n", b"\n", b"\r")


class Fault:
    """A line fault (``fault(data, direction) -> data``) that counts how
    often it changed or acted on the bytes (`fired`)."""

    def __init__(self, action: Action, description: str) -> None:
        self._action = action
        self.description = description
        #: How many times the fault acted.
        self.fired = 0
        self._lock = threading.Lock()

    def __call__(self, data: bytes, direction: Direction) -> bytes:
        with self._lock:
            out = self._action(data, direction)
            if out is None:
                return data
            self.fired += 1
            return out

    def __repr__(self) -> str:
        return f"<Fault {self.description}, fired {self.fired}>"


def _check_probability(probability: float) -> None:
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"a fault's probability must be within 0..1, not {probability}")


def _split_termination(data: bytes) -> tuple[bytes, bytes]:
    """``data`` without its final termination, and that termination."""
    for term in _TERMINATIONS:
        if data.endswith(term):
            return data[: -len(term)], term
    return data, b""


def garble(rng: np.random.Generator, probability: float, direction: Direction = "out") -> Fault:
    """Replace, with ``probability``, every byte of a reply (of what is sent
    when ``direction="in"``) except CR and LF by a random printable ASCII
    character: same length, same line structure, meaningless content."""
    _check_probability(probability)

    def action(data: bytes, way: Direction) -> bytes | None:
        if way != direction or not data.strip(b"\r\n") or rng.random() >= probability:
            return None
        noise = rng.integers(0x20, 0x7F, size=len(data), dtype=np.uint8).tobytes()
        return bytes(c if c in b"\r\n" else n for c, n in zip(data, noise, strict=True))

    return Fault(action, f"garble({probability:g}, {direction})")


def truncate(rng: np.random.Generator, probability: float, keep_termination: bool | None = None) -> Fault:
    """Cut a reply short, with ``probability``: keep a random part of what
    precedes its final termination (possibly nothing), then the
    termination if ``keep_termination`` (None: kept or dropped at random,
    half the time each)."""
    _check_probability(probability)

    def action(data: bytes, way: Direction) -> bytes | None:
        if way != "out" or rng.random() >= probability:
            return None
        body, term = _split_termination(data)
        if not body:
            return None
        cut = int(rng.integers(0, len(body)))
        keep = bool(rng.integers(0, 2)) if keep_termination is None else keep_termination
        return body[:cut] + (term if keep else b"")

    kept = {None: "termination kept or dropped", True: "termination kept", False: "termination dropped"}
    return Fault(action, f"truncate({probability:g}, {kept[keep_termination]})")


def noise(
    rng: np.random.Generator,
    probability: float,
    burst: tuple[int, int] = (1, 4),
    direction: Direction | None = None,
) -> Fault:
    """Serial line noise: with ``probability``, a burst of ``burst[0]`` to
    ``burst[1]`` consecutive bytes (at most the whole string) at a random
    place is replaced by random bytes 0..255. Both directions unless
    ``direction`` says one."""
    _check_probability(probability)
    shortest, longest = burst
    if not 1 <= shortest <= longest:
        raise ValueError(f"a noise burst is 1 <= shortest <= longest bytes, not {burst}")

    def action(data: bytes, way: Direction) -> bytes | None:
        if (direction is not None and way != direction) or not data or rng.random() >= probability:
            return None
        length = min(int(rng.integers(shortest, longest + 1)), len(data))
        start = int(rng.integers(0, len(data) - length + 1))
        hit = rng.integers(0, 256, size=length, dtype=np.uint8).tobytes()
        return data[:start] + hit + data[start + length :]

    return Fault(action, f"noise({probability:g}, burst {shortest}..{longest}, {direction or 'both ways'})")


def substitute(old: bytes, new: bytes, direction: Direction = "in") -> Fault:
    """Replace every ``old`` by ``new`` (same length: a corruption, not an
    insertion) in the bytes crossing in ``direction``. ``old`` is found
    only within one piece of the stream (the transports here send each
    command in one piece)."""
    if len(old) != len(new) or not old:
        raise ValueError("substitute() replaces bytes by as many other bytes")

    def action(data: bytes, way: Direction) -> bytes | None:
        if way != direction or old not in data:
            return None
        return data.replace(old, new)

    return Fault(action, f"substitute({old!r} -> {new!r}, {direction})")


def when(pattern: bytes, action: Callable[[], object], direction: Direction = "in") -> Fault:
    """Call ``action()`` (e.g. ``sim.power_cycle``) each time ``pattern``
    crosses the wire in ``direction``, before the instrument sees the
    bytes; the bytes pass unchanged."""

    def act(data: bytes, way: Direction) -> bytes | None:
        if way != direction or pattern not in data:
            return None
        action()
        return data

    return Fault(act, f"when({pattern!r}, {direction})")


def once(fault: LineFault) -> Fault:
    """``fault`` until it has acted once, then nothing (a single transient).
    For a plain callable, acting means changing the bytes."""
    done = False

    def action(data: bytes, way: Direction) -> bytes | None:
        nonlocal done
        if done:
            return None
        if isinstance(fault, Fault):
            before = fault.fired
            out = fault(data, way)
            done = fault.fired > before
            return out if done else None
        out = fault(data, way)
        done = out != data
        return out if done else None

    return Fault(action, f"once({fault!r})")


def chain(*faults: LineFault) -> Fault:
    """Apply ``faults`` in order to the same bytes."""

    def action(data: bytes, way: Direction) -> bytes | None:
        out = data
        for fault in faults:
            out = fault(out, way)
        return None if out == data else out

    return Fault(action, "chain(" + ", ".join(repr(f) for f in faults) + ")")


def only(direction: Direction, fault: LineFault) -> Fault:
    """``fault`` on the bytes crossing in ``direction`` only."""

    def action(data: bytes, way: Direction) -> bytes | None:
        if way != direction:
            return None
        out = fault(data, way)
        return None if out == data else out

    return Fault(action, f"only({direction}, {fault!r})")
