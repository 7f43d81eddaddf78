"""Protocol tests with no hardware, after pymeasure's ``expected_protocol``.

A driver is given a `ProtocolTransport` holding the exact conversation it
must have: a list of ``(sent, reply)`` pairs of bytes, terminations
included. The test fails at the first byte that differs, on any write or
read the list does not foresee, and (`expected_protocol`) when the driver
did not have the whole conversation.

    with expected_protocol(Keysight34401A, [
        (b"READ?\\n", b"+1.00000230E+01\\n"),
    ]) as dmm:
        assert dmm.read() == 10.0000230
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from drivers.clock import VirtualClock
from drivers.transport import BaseTransport

Pair = tuple[bytes, bytes | None]
T = TypeVar("T")


class ProtocolError(AssertionError):
    """The driver did not have the conversation the test expects."""


class ProtocolTransport(BaseTransport):
    """A transport that plays back a scripted conversation.

    Each pair is ``(bytes the driver must send, bytes the instrument
    answers or None)``. Framing (terminations, logging, block parsing) is
    the real `BaseTransport` code, so the bytes are exactly those a real
    transport would put on the wire.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        name: str = "inst",
        resource: str = "fake://protocol",
        write_termination: str = "\n",
        read_termination: str = "\n",
    ) -> None:
        super().__init__(resource, name, None, 2.0, write_termination, read_termination)
        self.pairs = list(pairs)
        self.index = 0
        self._rx = bytearray()

    def _send(self, data: bytes) -> None:
        if self._rx:
            raise ProtocolError(f"wrote {data!r} while the reply {bytes(self._rx)!r} was still unread")
        if self.index >= len(self.pairs):
            raise ProtocolError(f"unexpected write {data!r} after the whole conversation")
        sent, reply = self.pairs[self.index]
        if data != sent:
            raise ProtocolError(f"step {self.index}: expected {sent!r}, the driver sent {data!r}")
        self.index += 1
        if reply is not None:
            self._rx += reply

    def _take(self, count: int) -> bytes:
        if len(self._rx) < count:
            raise ProtocolError(
                f"the driver read {count} bytes but only {bytes(self._rx)!r} was answered "
                f"(after step {self.index - 1})"
            )
        data = bytes(self._rx[:count])
        del self._rx[:count]
        return data

    def _recv_line(self) -> bytes:
        end = self._rx.find(self._rterm)
        if end < 0:
            raise ProtocolError(f"the driver read a reply but none was scripted (after step {self.index - 1})")
        return self._take(end + len(self._rterm))

    def _recv_exact(self, count: int) -> bytes:
        return self._take(count)

    def _close(self) -> None:
        pass

    def assert_done(self) -> None:
        """Fail unless every scripted step happened and every reply was read."""
        if self.index != len(self.pairs):
            raise ProtocolError(f"the driver stopped after {self.index} of {len(self.pairs)} steps; "
                                f"next expected: {self.pairs[self.index][0]!r}")
        if self._rx:
            raise ProtocolError(f"reply {bytes(self._rx)!r} was never read")


@contextmanager
def expected_protocol(driver_cls: type[T], pairs: Sequence[Pair], name: str = "inst",
                      clock: VirtualClock | None = None, **kwargs: Any) -> Iterator[T]:
    """Yield ``driver_cls(transport, clock, **kwargs)`` on a `ProtocolTransport`
    scripted with ``pairs``; on leaving the block, fail unless the whole
    conversation happened."""
    transport = ProtocolTransport(pairs, name=name)
    driver = driver_cls(transport, clock if clock is not None else VirtualClock(), **kwargs)  # type: ignore[call-arg]
    yield driver
    transport.assert_done()


class AnsweringTransport(BaseTransport):
    """A transport that answers every query from a table, for property tests
    (where the conversation's length depends on the reply under test).

    ``answers[command]`` lists the replies (bytes, terminations included)
    to the first queries of ``command``, in order; after them
    ``defaults[command]`` answers, if given. A command with neither gets no
    reply: reading then raises `InstrumentTimeout`, as a silent instrument.
    Every command sent is kept in `sent`.
    """

    def __init__(
        self,
        answers: dict[str, list[bytes]],
        defaults: dict[str, bytes] | None = None,
        name: str = "inst",
        resource: str = "fake://answering",
    ) -> None:
        super().__init__(resource, name, None, 2.0, "\n", "\n")
        self.answers = {command: list(replies) for command, replies in answers.items()}
        self.defaults = dict(defaults or {})
        self.sent: list[str] = []
        self._rx = bytearray()

    def _send(self, data: bytes) -> None:
        command = data.decode("ascii").removesuffix("\n")
        self.sent.append(command)
        queued = self.answers.get(command)
        if queued:
            self._rx += queued.pop(0)
        elif command in self.defaults:
            self._rx += self.defaults[command]

    def _recv_line(self) -> bytes:
        end = self._rx.find(self._rterm)
        if end < 0:
            error = self._timeout(self._rx)
            self._rx.clear()
            raise error
        line = bytes(self._rx[: end + len(self._rterm)])
        del self._rx[: end + len(self._rterm)]
        return line

    def _recv_exact(self, count: int) -> bytes:
        if len(self._rx) < count:
            self._rx.clear()
            raise self._timeout()
        data = bytes(self._rx[:count])
        del self._rx[:count]
        return data

    def _close(self) -> None:
        pass
