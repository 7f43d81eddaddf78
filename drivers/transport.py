"""Transports: one small interface over VISA resources and serial lines.

A driver talks to its instrument through a `Transport` and never knows which
kind it has. `open_transport` picks the kind from the resource string:

- ``sim://<key>``: an in-process simulated instrument, looked up by ``<key>``
  in the ``simulators`` mapping (`drivers.sim.bench.SimBench.simulators`).
  Bytes go through the simulator's byte-stream adapter exactly as they would
  over a wire, so terminations are exercised too.
- VISA resource names (``TCPIP::``, ``GPIB``, ``USB``, ``ASRL``, ``VXI``,
  ``PXI``): opened with pyvisa's ``ResourceManager(visa_library)``.
  ``"@py"`` is pyvisa-py (the default), ``"path/file.yaml@sim"`` is
  pyvisa-sim, ``""`` or a path is a vendor VISA library. For
  ``TCPIP::host::port::SOCKET`` resources ``TCP_NODELAY`` is set on the
  socket, because pyvisa-py leaves Nagle's algorithm on (and rejects
  ``VI_ATTR_TCPIP_NODELAY``): a write followed by a query then stalls about
  40 ms on the delayed ACK.
- pyserial URLs and ports (``socket://host:port``, ``loop://``,
  ``rfc2217://``, ``COM3``, ``/dev/ttyUSB0``, ``/dev/pts/4``): opened with
  ``serial.serial_for_url``.

Every byte sent and received goes to the `IOLog` given as ``io_log``, with
its terminations, as it happens; a partial reply cut short by a timeout is
logged too where the transport gives it back (sim://, serial).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from drivers.errors import GarbledReply, InstrumentTimeout, ResourceNotFound, TransportError

if TYPE_CHECKING:
    from drivers.sim.base import ByteStream, SimulatedInstrument


class IOEntry(NamedTuple):
    """One exchange on the wire, as it happened (decoded from an `IOLog`)."""

    time: float  # wall time, seconds since the epoch (time.time())
    instrument: str  # the instrument's name on the bench
    direction: Literal["tx", "rx"]  # tx: sent to the instrument; rx: received
    data: bytes  # exactly the bytes, terminations included


#: Bytes of an exchange held in one I/O log record; a longer exchange
#: continues in the records after it (``more`` = 1 on all but its last).
IO_INLINE = 36

#: One I/O log record, 48 bytes, little-endian: time (float64, seconds since
#: the epoch), instrument (uint8, index into `IOLog.instruments`), direction
#: (uint8, 0 = sent to the instrument, 1 = received), more (uint8), length
#: (uint8, bytes of data used), data (36 bytes). The run file's /io rows are
#: these records as they are (station/runfile/layout.py).
IO_RECORD = struct.Struct(f"<dBBBB{IO_INLINE}s")
_pack_record = IO_RECORD.pack


class IOLog:
    """Every byte sent to and received from the instruments of a bench, in
    order, as fixed-size binary `IO_RECORD` records.

    Transports append to it as bytes go on the wire (packing a record costs
    less than building an object); the run file drains it with `take` at
    each commit and stores the records unchanged. Not thread-safe: one
    bench, one thread.
    """

    MAX_INSTRUMENTS = 256

    def __init__(self, instruments: Sequence[str] = ()) -> None:
        self.records = bytearray()
        self.instruments: list[str] = []
        for name in instruments:
            self.register(name)

    def register(self, name: str) -> int:
        """The instrument number of ``name`` in the records (added if new)."""
        try:
            return self.instruments.index(name)
        except ValueError:
            if len(self.instruments) >= self.MAX_INSTRUMENTS:
                raise ValueError(f"an I/O log holds at most {self.MAX_INSTRUMENTS} instruments") from None
            self.instruments.append(name)
            return len(self.instruments) - 1

    def add(self, instrument: int, received: bool, data: bytes, t: float | None = None) -> None:
        """Log one exchange of any length (transports inline the short case)."""
        t = time.time() if t is None else t
        n = len(data)
        if n <= IO_INLINE:
            self.records += _pack_record(t, instrument, received, 0, n, data)
            return
        for k in range(0, n, IO_INLINE):
            part = data[k : k + IO_INLINE]
            self.records += _pack_record(t, instrument, received, k + IO_INLINE < n, len(part), part)

    def take(self) -> bytes:
        """The records logged since the last `take`, removed from the log."""
        data = bytes(self.records)
        del self.records[:]
        return data

    def entries(self) -> list[IOEntry]:
        """The records not yet taken, decoded (for tests and tools)."""
        return decode_io_records(bytes(self.records), self.instruments)

    def __len__(self) -> int:
        return len(self.records) // IO_RECORD.size


def decode_io_records(data: bytes, instruments: Sequence[str]) -> list[IOEntry]:
    """`IOEntry`s from `IO_RECORD` records, a long exchange joined again."""
    out: list[IOEntry] = []
    pending = b""
    for t, ident, received, more, length, chunk in IO_RECORD.iter_unpack(data):
        pending += chunk[:length]
        if not more:
            out.append(IOEntry(t, instruments[ident], "rx" if received else "tx", pending))
            pending = b""
    return out


class Transport(Protocol):
    name: str
    resource: str

    def write(self, command: str) -> None: ...
    def read(self) -> str: ...
    def query(self, command: str) -> str: ...
    def query_binary_block(self, command: str) -> bytes: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------
# Pure helpers


def nrf(value: float) -> str:
    """Format a number for a program message (IEEE 488.2 NRf), exactly.

    Integral values are written without a decimal point (``10``, ``-5``,
    ``1000``); others with Python's shortest round-trip representation and
    an upper-case exponent (``0.1``, ``1.5E-06``), so the instrument
    receives exactly the float the caller asked for and does its own
    rounding to its resolution. Raises ``ValueError`` for NaN and infinity.
    """
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"cannot send {value!r} to an instrument")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value).upper()


def parse_definite_length_block(data: bytes) -> tuple[bytes, int]:
    """Parse an IEEE 488.2 definite-length arbitrary block ``#<n><len><data>``.

    ``n`` is one digit 1-9 giving the number of digits of ``len``; ``len``
    is the number of data bytes. Returns ``(payload, consumed)`` where
    ``consumed`` is the number of bytes of ``data`` the block occupies
    (anything after it, such as a termination, is not part of the block).
    Raises ``ValueError`` naming what is wrong when ``data`` does not start
    with a complete definite-length block.
    """
    if len(data) < 2 or data[0:1] != b"#":
        raise ValueError(f"block does not start with '#<digit>': {data[:12]!r}")
    n_char = data[1:2]
    if not n_char.isdigit():
        raise ValueError(f"block header digit is not a digit: {data[:12]!r}")
    n = int(n_char)
    if n == 0:
        raise ValueError("indefinite-length block (#0) where a definite-length block was expected")
    length_field = data[2 : 2 + n]
    if len(length_field) < n or not length_field.isdigit():
        raise ValueError(f"block length field is not {n} digits: {data[: 2 + n]!r}")
    length = int(length_field)
    start = 2 + n
    end = start + length
    if len(data) < end:
        raise ValueError(f"block announces {length} bytes but only {len(data) - start} arrived")
    return bytes(data[start:end]), end


_VISA_RE = re.compile(r"^(TCPIP|GPIB|USB|ASRL|VXI|PXI|VICP)\d*(::|/|$)", re.IGNORECASE)
_SERIAL_URL_RE = re.compile(r"^(socket|loop|rfc2217|spy|alt|hwgrep|cp2110)://", re.IGNORECASE)
_COM_RE = re.compile(r"^COM\d+$", re.IGNORECASE)


def resource_kind(resource: str) -> Literal["sim", "visa", "serial"] | None:
    """Which transport opens ``resource``: ``"sim"``, ``"visa"``,
    ``"serial"`` (pyserial), or None when none does."""
    if resource.startswith("sim://"):
        return "sim"
    if _VISA_RE.match(resource):
        return "visa"
    if _SERIAL_URL_RE.match(resource) or _COM_RE.match(resource) or resource.startswith("/dev/"):
        return "serial"
    return None


def is_serial_line(resource: str) -> bool:
    """True if ``resource`` is an RS-232 line (``ASRL...``, ``COM3``,
    ``/dev/tty...``, ``/dev/pts/N``), where instruments such as the 5522A
    and the 34401A need an explicit remote command. Network URLs of
    pyserial (``socket://``, ``loop://``) count as serial lines too: they
    carry a serial protocol (a terminal server, a loopback)."""
    kind = resource_kind(resource)
    if kind == "serial":
        return True
    return kind == "visa" and resource.upper().startswith("ASRL")


def _one_line(error: BaseException, limit: int = 300) -> str:
    """The first line of ``error``'s message, cut at an embedded traceback
    (pyvisa-sim puts one, escaped, in its message) and at ``limit`` characters."""
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    line = line.split("'Traceback (most recent call last)", 1)[0].split("Traceback (most recent call last)", 1)[0]
    line = line.strip() or type(error).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _not_found(resource: str, why: str) -> ResourceNotFound:
    return ResourceNotFound(
        f"{resource}: {why}; check the address / run `calstation sim serve`"
    )


# --------------------------------------------------------------------------
# Common behaviour


class BaseTransport:
    """Logging, terminations, timeouts and block parsing, shared by all
    transports. Subclasses implement `_send`, `_recv_line`, `_recv_exact`
    and `_close`."""

    def __init__(
        self,
        resource: str,
        name: str,
        io_log: IOLog | None,
        timeout_s: float,
        write_termination: str,
        read_termination: str,
    ) -> None:
        self.name = name
        self.resource = resource
        self.timeout_s = timeout_s
        self.write_termination = write_termination
        self.read_termination = read_termination
        self._io_log = io_log
        # IOLog.add's short case is inlined in write() and read() (one record,
        # nearly every exchange; a method call each would cost ~3 us a point)
        self._io_id = io_log.register(name) if io_log is not None else 0
        self._io_append = io_log.records.extend if io_log is not None else None
        self._wterm = write_termination.encode("ascii")
        self._rterm = read_termination.encode("ascii")
        self._last_command = ""
        self._closed = False

    # -- what subclasses provide

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def _recv_line(self) -> bytes:
        """Bytes up to and including the read termination. On timeout,
        log what arrived and raise `_timeout()`."""
        raise NotImplementedError

    def _recv_exact(self, count: int) -> bytes:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- the Transport interface

    def write(self, command: str) -> None:
        """Send ``command`` followed by the write termination."""
        data = command.encode("ascii") + self._wterm
        self._last_command = command
        append = self._io_append
        if append is not None:
            n = len(data)
            if n <= IO_INLINE:
                append(_pack_record(time.time(), self._io_id, 0, 0, n, data))
            else:
                self._log(False, data)
        self._send(data)

    def read(self) -> str:
        """One reply, without its termination."""
        line = self._recv_line()
        append = self._io_append
        if append is not None:
            n = len(line)
            if n <= IO_INLINE:
                append(_pack_record(time.time(), self._io_id, 1, 0, n, line))
            else:
                self._log(True, line)
        rterm = self._rterm
        if rterm and line.endswith(rterm):
            line = line[: -len(rterm)]
        return line.decode("latin-1")

    def query(self, command: str) -> str:
        """`write` then `read`."""
        self.write(command)
        return self.read()

    def query_binary_block(self, command: str) -> bytes:
        """Send ``command`` and read an IEEE 488.2 definite-length block
        (``#<n><len><data>``) then the read termination. Returns the data."""
        self.write(command)
        head = self._recv_logged(2)
        if head[:1] != b"#" or not head[1:2].isdigit() or head[1:2] == b"0":
            raise GarbledReply(
                self.name, command, f"reply {head!r} is not a definite-length block (#<n><len><data>)"
            )
        n = int(head[1:2])
        length_field = self._recv_logged(n)
        if not length_field.isdigit():
            raise GarbledReply(self.name, command, f"block length field {length_field!r} is not {n} digits")
        payload = self._recv_logged(int(length_field))
        if self._rterm:
            tail = self._recv_logged(len(self._rterm))
            if tail != self._rterm:
                raise GarbledReply(self.name, command, f"block not followed by the termination: {tail!r}")
        return payload

    def close(self) -> None:
        """Release the connection. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> BaseTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} at {self.resource}>"

    # -- helpers

    def _recv_logged(self, count: int) -> bytes:
        data = self._recv_exact(count) if count else b""
        if data:
            self._log(True, data)
        return data

    def _log(self, received: bool, data: bytes) -> None:
        if self._io_log is not None:
            self._io_log.add(self._io_id, received, data)

    def _log_partial(self, data: bytes | bytearray) -> None:
        if data:
            self._log(True, bytes(data))

    def _timeout(self, partial: bytes | bytearray = b"") -> InstrumentTimeout:
        if partial:
            shown = bytes(partial[:40]) + (b"..." if len(partial) > 40 else b"")
            return InstrumentTimeout(
                f"{self.name}: reply to {self._last_command!r} cut short: {shown!r} arrived without "
                f"its termination {self._rterm!r} within {self.timeout_s:g} s; "
                "check the cable, the interface settings and the terminations"
            )
        return InstrumentTimeout(
            f"{self.name}: no reply to {self._last_command!r} within {self.timeout_s:g} s; "
            f"check the instrument is on, connected, and at {self.resource}"
        )

    def _link_error(self, error: BaseException) -> TransportError:
        return TransportError(
            f"{self.name}: connection to {self.resource} failed after {self._last_command!r}: "
            f"{_one_line(error)}; check the cable/network and reconnect"
        )


# --------------------------------------------------------------------------
# sim://


class SimTransport(BaseTransport):
    """In-process transport to a `SimulatedInstrument`.

    The simulator answers synchronously, so a reply that is not there when
    `read` is called never comes: `read` raises `InstrumentTimeout` at once
    instead of waiting ``timeout_s``.
    """

    def __init__(
        self,
        resource: str,
        name: str,
        io_log: IOLog | None,
        timeout_s: float,
        write_termination: str,
        read_termination: str,
        simulator: SimulatedInstrument,
    ) -> None:
        super().__init__(resource, name, io_log, timeout_s, write_termination, read_termination)
        self.simulator = simulator
        self._stream: ByteStream = simulator.stream()
        self._rx = bytearray()

    def _send(self, data: bytes) -> None:
        if self._closed:
            raise self._link_error(OSError("transport is closed"))
        if self.simulator.link_down:
            raise self._link_down()
        reply = self._stream.feed(data)
        if reply:
            self._rx += reply

    def _link_down(self) -> TransportError:
        self._rx.clear()  # a reply still on its way is lost with the link
        return self._link_error(ConnectionResetError("the link to the simulated instrument is down"))

    def _recv_line(self) -> bytes:
        if self.simulator.link_down:
            raise self._link_down()
        rx = self._rx
        rterm = self._rterm
        end = rx.find(rterm) if rterm else (len(rx) if rx else -1)
        if end < 0:
            # A silent instrument: whatever arrived is all there will be.
            self._log_partial(rx)
            error = self._timeout(rx)
            rx.clear()
            raise error
        end += len(rterm)
        line = bytes(rx[:end])
        del rx[:end]
        return line

    def _recv_exact(self, count: int) -> bytes:
        if self.simulator.link_down:
            raise self._link_down()
        if len(self._rx) < count:
            self._log_partial(self._rx)
            self._rx.clear()
            raise self._timeout()
        data = bytes(self._rx[:count])
        del self._rx[:count]
        return data

    def _close(self) -> None:
        self._rx.clear()


# --------------------------------------------------------------------------
# VISA (pyvisa)

_rm_lock = threading.Lock()
_resource_managers: dict[str, Any] = {}


def resource_manager(visa_library: str = "@py") -> Any:
    """The pyvisa ``ResourceManager`` for ``visa_library``, created once per
    library string and cached (opening one is slow, and pyvisa-sim builds
    its devices from the YAML file once)."""
    with _rm_lock:
        rm = _resource_managers.get(visa_library)
        if rm is None:
            import pyvisa

            try:
                rm = pyvisa.ResourceManager(visa_library)
            except Exception as e:  # pyvisa raises several unrelated types here
                raise ResourceNotFound(
                    f"VISA library {visa_library!r} cannot be loaded: {_one_line(e)}; "
                    "use '@py' (pyvisa-py), 'file.yaml@sim' (pyvisa-sim) or the path of a vendor VISA"
                ) from e
            _resource_managers[visa_library] = rm
        return rm


def list_visa_resources(visa_library: str = "@py") -> list[str]:
    """The instruments ``visa_library`` lists (``?*::INSTR`` and sockets it
    knows). With pyvisa-py this asks every interface it supports: serial
    ports, USB-TMC and GPIB where their libraries are installed, and the LAN
    by a VXI-11 broadcast and a HiSLIP (mDNS) query. Raises
    `ResourceNotFound` when the library cannot be loaded or listing fails."""
    rm = resource_manager(visa_library)
    try:
        return list(rm.list_resources("?*"))
    except Exception as e:  # VisaIOError (none found on some backends), OSError...
        if type(e).__name__ == "VisaIOError" and "VI_ERROR_RSRC_NFOUND" in str(e):
            return []
        raise ResourceNotFound(f"VISA library {visa_library!r} cannot list its resources: {_one_line(e)}; "
                               "name the instruments' addresses instead") from e


def list_serial_ports() -> list[str]:
    """The serial ports the operating system has (``COM3``, ``/dev/ttyUSB0``)."""
    from serial.tools import list_ports

    return sorted(p.device for p in list_ports.comports())


class VisaTransport(BaseTransport):
    """A pyvisa message-based resource."""

    def __init__(
        self,
        resource: str,
        name: str,
        io_log: IOLog | None,
        timeout_s: float,
        write_termination: str,
        read_termination: str,
        baudrate: int,
        visa_library: str,
    ) -> None:
        super().__init__(resource, name, io_log, timeout_s, write_termination, read_termination)
        import pyvisa

        self._visa_errors = pyvisa.errors
        self._tmo_code = pyvisa.constants.StatusCode.error_timeout
        rm = resource_manager(visa_library)
        try:
            res = rm.open_resource(resource, open_timeout=max(1, int(timeout_s * 1000)))
        except Exception as e:  # VisaIOError, ValueError (missing backend), OSError...
            raise _not_found(resource, f"cannot open VISA resource ({_one_line(e)})") from e
        self._res = res
        try:
            res.timeout = max(1, int(timeout_s * 1000))
            # We add and strip terminations ourselves (to log exact bytes);
            # the read termination still tells VISA where a reply ends.
            res.write_termination = ""
            res.read_termination = read_termination or None
            if resource.upper().startswith("ASRL") and hasattr(res, "baud_rate"):
                res.baud_rate = baudrate
            self._socket = self._tcp_socket(rm, res)
            if self._socket is not None:
                try:
                    self._socket.getpeername()
                except OSError as e:
                    raise _not_found(resource, f"nothing listens there ({e.strerror or e})") from None
                self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            res.close()
            raise

    @staticmethod
    def _tcp_socket(rm: Any, res: Any) -> socket.socket | None:
        """The socket under a pyvisa-py ``TCPIP::host::port::SOCKET``
        session (``rm.visalib.sessions[res.session].interface``), or None
        for other resources and other VISA libraries."""
        if getattr(res, "resource_class", "") != "SOCKET":
            return None
        sessions = getattr(rm.visalib, "sessions", None)
        if not isinstance(sessions, dict):
            return None
        interface = getattr(sessions.get(res.session), "interface", None)
        return interface if isinstance(interface, socket.socket) else None

    @property
    def tcp_nodelay(self) -> bool | None:
        """Whether TCP_NODELAY is set on the socket (None: not a TCP socket
        resource under pyvisa-py)."""
        if self._socket is None:
            return None
        return bool(self._socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def _send(self, data: bytes) -> None:
        try:
            self._res.write_raw(data)
        except self._visa_errors.VisaIOError as e:
            if e.error_code == self._tmo_code:
                raise self._timeout() from None
            raise self._link_error(e) from None
        except OSError as e:
            raise self._link_error(e) from None

    def _recv_line(self) -> bytes:
        try:
            line = bytes(self._res.read_raw())
        except self._visa_errors.VisaIOError as e:
            if e.error_code == self._tmo_code:
                raise self._timeout() from None
            raise self._link_error(e) from None
        except OSError as e:
            raise self._link_error(e) from None
        if self._rterm and not line.endswith(self._rterm):
            # VISA also ends a read on END/EOI or, for some libraries, when
            # nothing more arrives: a reply cut short must not pass as whole.
            self._log_partial(line)
            raise self._timeout(line)
        return line

    def _recv_exact(self, count: int) -> bytes:
        try:
            return bytes(self._res.read_bytes(count))
        except self._visa_errors.VisaIOError as e:
            if e.error_code == self._tmo_code:
                raise self._timeout() from None
            raise self._link_error(e) from None
        except OSError as e:
            raise self._link_error(e) from None

    def _close(self) -> None:
        try:
            self._res.close()
        except self._visa_errors.VisaIOError as e:
            raise self._link_error(e) from None


# --------------------------------------------------------------------------
# pyserial


class SerialTransport(BaseTransport):
    """A serial line, or a pyserial URL (``socket://``, ``loop://``)."""

    def __init__(
        self,
        resource: str,
        name: str,
        io_log: IOLog | None,
        timeout_s: float,
        write_termination: str,
        read_termination: str,
        baudrate: int,
    ) -> None:
        super().__init__(resource, name, io_log, timeout_s, write_termination, read_termination)
        import serial

        self._serial_error = serial.SerialException
        try:
            port = serial.serial_for_url(resource, baudrate=baudrate, timeout=timeout_s, write_timeout=timeout_s)
        except (serial.SerialException, OSError, ValueError) as e:
            raise _not_found(resource, f"cannot open serial port ({_one_line(e)})") from e
        self._port = port
        sock = getattr(port, "_socket", None)
        if isinstance(sock, socket.socket):  # socket://: same Nagle stall as VISA sockets
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:  # a late reply left on the line from before must not pass for the next one
            port.reset_input_buffer()
        except Exception:  # noqa: BLE001 - some URL handlers have no buffer to reset
            pass

    def _send(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except Exception as e:  # SerialException, SerialTimeoutException, OSError
            if type(e).__name__ == "SerialTimeoutException":
                raise self._timeout() from None
            raise self._link_error(e) from None

    def _recv_line(self) -> bytes:
        try:
            line = bytes(self._port.read_until(self._rterm or b"\n"))
        except (self._serial_error, OSError) as e:
            raise self._link_error(e) from None
        if not line.endswith(self._rterm or b"\n"):
            self._log_partial(line)
            raise self._timeout(line)
        return line

    def _recv_exact(self, count: int) -> bytes:
        try:
            data = bytes(self._port.read(count))
        except (self._serial_error, OSError) as e:
            raise self._link_error(e) from None
        if len(data) < count:
            self._log_partial(data)
            raise self._timeout()
        return data

    def _close(self) -> None:
        self._port.close()


# --------------------------------------------------------------------------


def open_transport(
    resource: str,
    *,
    name: str,
    io_log: IOLog | None = None,
    timeout_s: float = 2.0,
    write_termination: str = "\n",
    read_termination: str = "\n",
    baudrate: int = 9600,
    visa_library: str = "@py",
    simulators: Mapping[str, SimulatedInstrument] | None = None,
) -> Transport:
    """Open ``resource`` and return a `Transport` to the instrument ``name``.

    ``timeout_s`` bounds every read; ``write_termination`` is appended to
    each command; ``read_termination`` ends each reply (and is stripped);
    ``baudrate`` applies to serial lines; ``visa_library`` selects the VISA
    implementation for VISA resource names; ``simulators`` resolves
    ``sim://<key>``. Raises `ResourceNotFound` (one line) when the resource
    cannot be opened.
    """
    kind = resource_kind(resource)
    if kind == "sim":
        key = resource[len("sim://") :]
        if simulators is None or key not in simulators:
            known = ", ".join(sorted(simulators)) if simulators else "none"
            raise _not_found(resource, f"no simulated instrument {key!r} on this bench (known: {known})")
        return SimTransport(
            resource, name, io_log, timeout_s, write_termination, read_termination, simulators[key]
        )
    if kind == "visa":
        return VisaTransport(
            resource, name, io_log, timeout_s, write_termination, read_termination, baudrate, visa_library
        )
    if kind == "serial":
        return SerialTransport(
            resource, name, io_log, timeout_s, write_termination, read_termination, baudrate
        )
    raise _not_found(
        resource,
        "not a resource calstation knows (use sim://KEY, a VISA name such as "
        "TCPIP::host::port::SOCKET or GPIB0::22::INSTR, COM3, /dev/ttyUSB0 or socket://host:port)",
    )
