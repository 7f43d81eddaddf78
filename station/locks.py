"""Exclusive OS-level locks on a run file and on instrument resources.

A run holds one lock on its run file and one on each instrument it opens, so
that a second run (or resume) on the same file or the same instrument is
refused in one line before anything is energised. The locks are the
operating system's (``flock`` on Linux and macOS, ``msvcrt.locking`` on
Windows): they belong to an open file, so the OS drops them whenever the
process ends, kill -9 included, and a lock can never go stale. The lock file
holds who took it (pid, host, command, since), for the refusal to name.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import re
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from station.errors import CalstationError, one_line

__all__ = [
    "HeldLock",
    "Holder",
    "LockBusy",
    "lock_file",
    "normalise_resource",
    "resource_lock",
    "run_file_lock",
]

_ATTEMPTS = 10  # a lock file removed under us this many times running is not a race any more
_HOLDER_MAX = 4096
# A planted symlink in the shared folder must not redirect our writes; no text-mode CRLF on Windows.
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)

if sys.platform == "win32":
    import msvcrt

    # Others cannot read a locked range on Windows: lock byte 0 only and keep
    # the holder's details after it, where whoever is refused can read them.
    _DATA_AT = 1

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EDEADLOCK):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        # closing releases it too, but only "when the system has resources" (LockFile docs)
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def _wait_lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # the system retries for about 10 s, then raises

else:
    import fcntl

    _DATA_AT = 0

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        # explicit, not just close(): a forked child may share this open file
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _wait_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)


class LockBusy(CalstationError):
    """Another holder has it: the file or instrument is in use by another run."""

    def __init__(self, what: str, holder: Holder | None, advice: str) -> None:
        self.what = what
        self.holder = holder
        who = f"another calstation ({holder.describe()})" if holder else "another process"
        super().__init__(f"{what} is in use by {who}; {advice}")


@dataclass(frozen=True)
class Holder:
    """What a lock file says about who holds it."""

    pid: int
    host: str
    command: str
    since: str  # ISO 8601 UTC

    def describe(self) -> str:
        parts = [f"pid {self.pid} on {self.host}"]
        if self.command:
            parts.append(f"`{self.command}`")
        parts.append(f"since {self.since}")
        return ", ".join(parts)


class HeldLock:
    """A lock this process holds; `release()` or the end of a ``with`` block lets it go."""

    def __init__(self, path: Path, what: str, fd: int, holder: Holder, writable: bool, remove: bool) -> None:
        self.path = path
        self.what = what
        self.holder = holder
        self._fd: int | None = fd
        self._writable = writable
        self._remove = remove

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let the lock go (again: a no-op). Never raises."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if sys.platform != "win32" and self._remove and _same_file(self.path, fd):
            # POSIX: unlink while still locked; whoever opened this file meanwhile
            # finds it gone once they get the lock (_same_file) and starts over
            _quietly(os.unlink, self.path)
        elif self._writable:
            _quietly(os.ftruncate, fd, _DATA_AT)  # no stale holder for the next reader
        _quietly(_unlock, fd)
        _quietly(os.close, fd)
        if sys.platform == "win32" and self._remove:
            # Windows removes no file that is open: after closing, and if another
            # process has it open by then (PermissionError), it is theirs now
            _quietly(os.unlink, self.path)

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"HeldLock({self.what!r}, {str(self.path)!r}, held={self.held})"


def lock_file(lock_path: Path, what: str, command: str = "", *, advice: str = "wait for it to end") -> HeldLock:
    """Take an exclusive, non-blocking lock on ``lock_path`` (created if needed).

    Raises `LockBusy` naming ``what`` and the holder, ending with ``advice``;
    `CalstationError` (one line, naming the folder) when the lock file cannot be
    made or locked at all. The file is kept on release.
    """
    return _acquire(Path(lock_path), what, command, advice, remove=False, shared=False,
                    unusable="make that folder writable, or choose another folder")


def run_file_lock(run_path: Path, command: str = "") -> HeldLock:
    """Lock a run file, existing or not, through ``.<name>.lock`` beside it.

    A sidecar rather than the run file itself, because the run file is
    replaced as it is written; beside it, so that stations sharing a network
    folder exclude each other. The sidecar is removed on release.
    """
    run = Path(run_path).resolve()  # one key however it is spelled: ./run.h5, /abs/run.h5, a symlink
    try:
        run.parent.mkdir(parents=True, exist_ok=True)  # as the run file writer would
    except OSError as e:
        raise _unusable(f"run file {run}", f"cannot create folder {run.parent}", e,
                        "choose another folder for the run file") from e
    return _acquire(run.parent / f".{run.name}.lock", f"run file {run}", command,
                    "wait for it to end, or choose another file", remove=True, shared=False,
                    unusable="make that folder writable, or choose another folder for the run file")


def resource_lock(resource: str, command: str = "") -> HeldLock | None:
    """Lock an instrument resource for this machine; None for ``sim://`` (in-process).

    The lock files live in ``<temp dir>/calstation-locks/``, one per
    resource, named by a hash of `normalise_resource`, and are never removed.
    """
    key = normalise_resource(resource)
    if key is None:
        return None
    what = f"instrument {resource.strip()}"
    folder = Path(tempfile.gettempdir()) / "calstation-locks"
    unusable = "make that folder writable for every user of this machine (mode 1777)"
    try:
        folder.mkdir(mode=0o777)
    except FileExistsError:
        pass
    except OSError as e:
        raise _unusable(what, f"cannot create folder {folder}", e,
                        f"make {folder.parent} writable") from e
    else:
        if sys.platform != "win32":
            _quietly(os.chmod, folder, 0o1777)  # every user may lock here; sticky: none may delete others'
    name = f"res-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.lock"
    return _acquire(folder / name, what, command, "wait for that run to end or use another instrument",
                    remove=False, shared=True, unusable=unusable)


_VISA_RE = re.compile(r"^(TCPIP|GPIB|USB|ASRL|VXI|PXI|VICP)(\d*)(?=::|/|$)(.*)$", re.IGNORECASE)
_COM_RE = re.compile(r"^COM\d+$", re.IGNORECASE)
_INSTR = "::INSTR"


def normalise_resource(resource: str) -> str | None:
    """The one spelling of an instrument resource that its lock is keyed on;
    None for resources no other process can reach (``sim://``, ``loop://``)."""
    text = resource.strip()
    lower = text.lower()
    if lower.startswith(("sim://", "loop://")):
        return None
    m = _VISA_RE.match(text)
    if m:
        kind, board, rest = m.group(1).upper(), m.group(2), m.group(3)
        if rest.upper().endswith(_INSTR):
            rest = rest[: -len(_INSTR)]
        if kind == "ASRL" and not rest and board and sys.platform == "win32":  # VISA's ASRL3 is COM3
            return f"COM{board}"
        if kind == "ASRL" and rest.startswith("/"):  # pyvisa-py's ASRL/dev/ttyUSB0: the same port as /dev/ttyUSB0
            return os.path.realpath(rest)
        return f"{kind}{board or '0'}{rest.upper()}"  # the board number defaults to 0 in VISA
    if _COM_RE.match(text):
        return text.upper()
    if text.startswith("/dev/"):
        return os.path.realpath(text)  # /dev/serial/by-id/... and /dev/ttyUSB0 are one port
    if lower.startswith(("socket://", "rfc2217://")):
        return lower
    return text


def _acquire(lock_path: Path, what: str, command: str, advice: str, *, remove: bool, shared: bool,
             unusable: str) -> HeldLock:
    for _ in range(_ATTEMPTS):
        try:
            fd, writable = _open_lock_file(lock_path, shared)
        except OSError as e:
            raise _unusable(what, f"cannot create its lock file in {lock_path.parent}", e, unusable) from e
        kept = False
        try:
            if not _try_lock(fd):
                raise LockBusy(what, _read_holder(fd), advice)
            if not _same_file(lock_path, fd):
                continue  # its last holder removed it meanwhile: lock the file now at that path
            holder = Holder(os.getpid(), socket.gethostname(), command,
                            dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            if writable:
                _write_holder(fd, holder)
            kept = True
            return HeldLock(lock_path, what, fd, holder, writable, remove)
        except OSError as e:
            raise _unusable(what, f"the file system of {lock_path.parent} refuses locks", e,
                            "use a folder on a local disk") from e
        finally:
            if not kept:
                os.close(fd)
    raise CalstationError(f"cannot lock {what}: its lock file {lock_path} keeps being replaced; try again")


def _open_lock_file(path: Path, shared: bool) -> tuple[int, bool]:
    """The lock file's fd and whether it is writable. An existing file we may not
    write (another user's) is opened read-only: a lock on it works all the same."""
    denied: PermissionError | None = None
    # O_CREAT alone is refused on another user's file in a sticky folder (Linux protected_regular)
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDWR, os.O_RDONLY):
        try:
            fd = os.open(path, flags | _OPEN_FLAGS, 0o666)
        except PermissionError as e:
            denied = denied or e
            continue
        except OSError:
            if denied is None:
                raise
            raise denied from None  # the file is not there and we may not create it
        if shared and sys.platform != "win32":
            _quietly(os.fchmod, fd, 0o666)  # other users lock here too; only the owner can
        return fd, flags != os.O_RDONLY
    assert denied is not None
    raise denied


def _same_file(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open at ``fd``."""
    if sys.platform == "win32":
        return True  # Windows does not remove a file another process has open
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _write_holder(fd: int, holder: Holder) -> None:
    try:
        os.ftruncate(fd, _DATA_AT)
        os.lseek(fd, _DATA_AT, os.SEEK_SET)
        os.write(fd, json.dumps(asdict(holder)).encode("utf-8"))
    except OSError:
        pass  # the details are a courtesy; the lock holds without them


def _read_holder(fd: int) -> Holder | None:
    """The holder's details, or None if it has written none (yet) or they are unreadable."""
    try:
        os.lseek(fd, _DATA_AT, os.SEEK_SET)
        data = json.loads(os.read(fd, _HOLDER_MAX).decode("utf-8"))
        return Holder(int(data["pid"]), one_line(data["host"]), one_line(data["command"]),
                      one_line(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _unusable(what: str, problem: str, e: OSError, advice: str) -> CalstationError:
    return CalstationError(f"cannot lock {what}: {problem} ({e.strerror or type(e).__name__}); {advice}")


def _quietly(call: Callable[..., object], *args: object) -> None:
    try:
        call(*args)
    except OSError:
        pass


@contextmanager
def waiting_lock(lock_path: Path) -> Iterator[None]:
    """Hold ``lock_path`` exclusively, waiting for another holder to let go
    (for short critical sections between processes, such as making the
    demonstration register once). The file stays; the lock goes with the
    process."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o644)
    try:
        _wait_lock(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
