"""How a run file is opened, and how whole files reach the disk.

Opening: HDF5 skips its end-of-file check in SWMR-read mode, and reads the
missing part of a truncated file as zeros, or loops on it. So the
superblock is read here first (HDF5 File Format Specification 3.0,
section II.A, superblock versions 2 and 3: signature, version, sizes,
status flags, base address, extension address, end-of-file address, root
object header address, checksum) and a file shorter than its recorded end
is refused before HDF5 sees it. A file whose writer closed it is then
opened normally (HDF5 checks it again); one whose writer did not (a run in
progress, or a process that was killed) can only be opened in SWMR-read
mode, which HDF5 requires for a file still marked as open for writing.
In that mode HDF5 reads a metadata block again while its checksum is wrong
(a writer may be halfway through it), by default 100 times, sleeping 1 ns,
2 ns, 4 ns, ... in between (H5Pset_metadata_read_attempts, HDF5 reference
manual): on a damaged block, or a damaged superblock, that never ends. The
attempts are set here to `SWMR_READ_ATTEMPTS` (about 17 ms of waiting in
all) through the HDF5 library h5py itself loaded; h5py does not wrap that
call.

HDF5 also loops without end on a damaged global heap collection (where
variable-length strings live; it has no checksum): an object whose size
field reads 0 sends its reader back to the same place for ever, inside C,
where not even Ctrl-C reaches it. So before HDF5 opens a file that no
writer is still writing, every collection is walked here (File Format
Specification 3.0, section III.E: "GCOL", version 1, the collection's size;
then objects of index, reference count, reserved, size, data padded to 8
bytes; index 0 is the free space, whose size includes its header), and a
collection whose objects do not lead, forward, to its end refuses the file.

Writing: a run file is created, resumed and given its final status as a
complete image built in memory, written beside its final name, synced, and
moved into place in one step (``os.link`` for a new file, which fails if
the name exists: no check-then-replace; ``os.replace`` for an existing
one). HDF5 itself therefore never writes into a new file or a copy, and a
full disk there is an ordinary `OSError` (HDF5 has crashed the interpreter
on a write that failed for lack of space).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import mmap
import os
import secrets
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py

from station.errors import RunFileError
from station.errors import one_line as errors_one_line

SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SB = struct.Struct("<8sBBBB")  # signature, version, offset size, length size, status flags
#: Superblock status flags (file consistency flags), versions 2 and 3.
FLAG_WRITE = 0x01
FLAG_SWMR_WRITE = 0x04
#: Reads of a checksummed metadata block in SWMR-read mode before a wrong
#: checksum is an error: HDF5 sleeps 2**k ns after the k-th (2**24 ns, 17 ms,
#: in all); its default, 100, never ends on a damaged block.
SWMR_READ_ATTEMPTS = 24
_GCOL = b"GCOL\x01\x00\x00\x00"  # a global heap collection: signature, version 1, reserved
_GCOL_MIN = 4096  # HDF5 makes no smaller collection (H5HG_MINSIZE)
#: What to do with a run file that is damaged.
RESTORE = "its record cannot be trusted: use a backup copy of the file"


def _unreadable(path: Path, error: OSError) -> RunFileError:
    return RunFileError(f"{path}: cannot be read ({error.strerror or error}); check the path and "
                        "its permissions")


def superblock(path: Path) -> tuple[int, int, int]:
    """(version, status flags, recorded end of file) of an HDF5 file whose
    superblock is at its start; raises `RunFileError` for anything else.
    Versions 0 and 1 (never written by calstation) give flags 0 and end 0."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as e:
        raise _unreadable(path, e) from None
    if len(head) < _SB.size or head[:8] != SIGNATURE:
        raise RunFileError(f"{path}: not an HDF5 file (no HDF5 signature at its start); it is not "
                           "a run file, or it is damaged")
    _, version, offsets, _, flags = _SB.unpack_from(head)
    if version < 2:
        return version, 0, 0
    if offsets != 8 or len(head) < 12 + 4 * 8:
        raise RunFileError(f"{path}: damaged HDF5 superblock (address size {offsets}); it is not "
                           "a run file calstation wrote")
    eof = struct.unpack_from("<Q", head, 12 + 2 * 8)[0]
    return version, flags, eof


def open_h5(path: Path, follow: bool = False) -> h5py.File:
    """Open a run file read-only, refusing a truncated one in one line.

    ``follow``: a reader following a run in progress (always SWMR-read)."""
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"{path}: no such run file; check the path")
    version, flags, eof = superblock(path)
    size = path.stat().st_size
    if eof and size < eof:
        raise RunFileError(
            f"{path}: truncated: it holds {size} of its {eof} bytes (cut short by a copy, a transfer "
            "or a full disk); use a complete copy of the file")
    unfinished = bool(flags & (FLAG_WRITE | FLAG_SWMR_WRITE))
    if not follow:  # a live writer may be halfway through a collection
        check_global_heaps(path)
    try:
        if follow or unfinished:
            return _open_swmr_read(path)
        return h5py.File(path, "r", locking=False)
    except Exception as e:  # h5py raises OSError, RuntimeError, ... on a damaged file
        raise RunFileError(
            f"{path}: not a readable HDF5 file ({one_line(e)}); it is corrupt or not a run file"
        ) from None


def check_global_heaps(path: Path) -> None:
    """Refuse, in one line, a file with a global heap collection HDF5 would
    loop on (module docstring). Eight bytes that look like a collection's
    start but whose size does not fit the file are data, not a collection."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as image:
                _walk_global_heaps(path, image)
    except OSError as e:
        raise _unreadable(path, e) from None


def _walk_global_heaps(path: Path, image: mmap.mmap) -> None:
    size = len(image)
    start = image.find(_GCOL)
    while start >= 0:
        (length,) = struct.unpack_from("<Q", image, start + 8) if start + 16 <= size else (0,)
        end = start + length
        if _GCOL_MIN <= length and end <= size:
            at = start + 16
            while end - at >= 16:  # less is free space too small for an object's header
                index, _, _, object_size = struct.unpack_from("<HHIQ", image, at)
                step = object_size if index == 0 else 16 + (object_size + 7) // 8 * 8
                if step < 16 or at + step > end:
                    raise RunFileError(
                        f"{path}: damaged: the HDF5 global heap at byte {start} has an object at byte "
                        f"{at} of size {object_size} that does not fit it; {RESTORE}")
                at += step
        start = image.find(_GCOL, start + 1)


def _open_swmr_read(path: Path) -> h5py.File:
    """``h5py.File(path, "r", swmr=True, locking=False)``, with HDF5's reads
    of a block whose checksum is wrong bounded (`SWMR_READ_ATTEMPTS`)."""
    limit = _read_attempts_setter()
    if limit is None:  # HDF5 not found as expected: its own default
        return h5py.File(path, "r", swmr=True, locking=False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)  # as h5py.File: closing closes everything
    fapl.set_file_locking(False, True)
    limit(fapl.id)
    fid = h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    return h5py.File(fid)


@functools.cache
def _read_attempts_setter() -> Callable[[int], None] | None:
    """A function setting `SWMR_READ_ATTEMPTS` on a file access property
    list, through the HDF5 library that h5py loaded; None where that library
    cannot be reached. The value is read back, which proves that the
    library found is the one h5py uses (another would not know the list)."""
    here = Path(h5py.__file__).parent
    places = [Path(h5py.h5p.__file__)]  # POSIX: its symbols include those of the HDF5 it links
    for folder in (here, here.parent / "h5py.libs"):  # Windows wheels: hdf5.dll beside h5py
        places += sorted(folder.glob("hdf5*.dll"))
    for place in places:
        try:
            lib = ctypes.CDLL(str(place))
            set_attempts, get_attempts = lib.H5Pset_metadata_read_attempts, lib.H5Pget_metadata_read_attempts
        except (OSError, AttributeError):
            continue
        set_attempts.argtypes, set_attempts.restype = [ctypes.c_int64, ctypes.c_uint], ctypes.c_int
        get_attempts.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_uint)]
        get_attempts.restype = ctypes.c_int

        def limit(fapl: int, set_attempts: Any = set_attempts, get_attempts: Any = get_attempts) -> None:
            got = ctypes.c_uint()
            if (set_attempts(fapl, SWMR_READ_ATTEMPTS) < 0 or get_attempts(fapl, ctypes.byref(got)) < 0
                    or got.value != SWMR_READ_ATTEMPTS):
                raise RuntimeError("cannot bound HDF5's metadata read attempts")

        probe = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        try:
            limit(probe.id)
        except RuntimeError:
            continue
        return limit
    return None


def one_line(error: BaseException | str) -> str:
    """An error's text on one line (HDF5's messages span several)."""
    text = errors_one_line(error)
    return text if len(text) <= 300 else text[:297] + "..."


def write_image(path: Path, image: bytes, *, new: bool) -> None:
    """Put ``image`` at ``path`` in one step: written beside it, synced,
    then linked (``new``: fails if ``path`` exists) or moved over it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        try:
            view = memoryview(image)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            _link_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
        sync_folder(path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _link_exclusive(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS,
                           errno.EMLINK, errno.EACCES):
            raise
    # a file system without hard links (FAT, some network shares): reserve
    # the name exclusively, then move the image over the reservation
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    os.replace(tmp, path)


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows has no such call)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename is done
    finally:
        os.close(fd)


def stale_temporaries(path: Path) -> list[Path]:
    """Temporary images left beside ``path`` by a process that was killed
    while writing one (remove them only while holding the run's lock)."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))
