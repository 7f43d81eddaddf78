"""Run file and instrument locks: a second holder, in this process or another,
is refused in one line that names the thing and its holder; every ending
(release, exception, kill -9) frees the lock, and no stale lock file is left."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from station import locks
from station.errors import CalstationError
from station.locks import HeldLock, LockBusy, lock_file, resource_lock, run_file_lock

ROOT = Path(__file__).resolve().parents[2]
POSIX = sys.platform != "win32"
SINCE = re.compile(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

CHILD = """
import sys
from pathlib import Path
from station.locks import resource_lock, run_file_lock
kind, target = sys.argv[1], sys.argv[2]
lock = run_file_lock(Path(target), "calstation run") if kind == "run" else resource_lock(target, "calstation run")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture(autouse=True)
def own_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Resource locks live in the machine's temp dir: give these tests (and their children) their own."""
    folder = tmp_path / "machine-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(name, str(folder))
    return folder


def _resource(resource: str) -> HeldLock:
    lock = resource_lock(resource)
    assert lock is not None, resource
    return lock


def _one_line_busy(take: Callable[[], object]) -> str:
    with pytest.raises(LockBusy) as busy:
        take()
    message = str(busy.value)
    assert "\n" not in message
    return message


def test_a_second_lock_on_a_run_file_is_refused_in_one_line_however_the_path_is_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = (tmp_path / "run.h5").resolve()
    first = run_file_lock(Path("./run.h5"), "calstation run")

    message = _one_line_busy(lambda: run_file_lock(run))
    assert message.startswith(f"run file {run} is in use by another calstation (pid {os.getpid()} on ")
    assert socket.gethostname() in message and "`calstation run`" in message and SINCE.search(message)
    assert message.endswith("; wait for it to end, or choose another file")
    assert first.path == run.parent / ".run.h5.lock" and first.path.exists()

    first.release()
    first.release()  # idempotent
    assert not first.path.exists()
    with run_file_lock(tmp_path / "sub" / ".." / "run.h5") as again:
        assert again.held and again.path.exists()
    assert not again.held and not again.path.exists()


def test_an_existing_run_file_is_locked_but_not_touched(tmp_path: Path) -> None:
    run = tmp_path / "run.h5"
    run.write_bytes(b"HDF5 contents")
    with run_file_lock(run):
        _one_line_busy(lambda: run_file_lock(run))
    assert run.read_bytes() == b"HDF5 contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["machine-tmp", "run.h5"]


def test_an_exception_in_the_with_block_releases_the_lock(tmp_path: Path) -> None:
    run = tmp_path / "run.h5"
    with pytest.raises(RuntimeError), run_file_lock(run):
        raise RuntimeError("procedure failed")
    run_file_lock(run).release()  # free again
    resource = "GPIB0::22::INSTR"
    with pytest.raises(RuntimeError), _resource(resource):
        raise RuntimeError("procedure failed")
    _resource(resource).release()


def _start_child(kind: str, target: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, kind, target], cwd=ROOT, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != "locked":
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"the child did not take the lock: {line!r} {err}")
    return child


@pytest.mark.parametrize("kind", ["run", "resource"])
def test_a_lock_held_by_another_process_is_refused_and_freed_when_that_process_is_killed(
    kind: str, tmp_path: Path
) -> None:
    target = str(tmp_path / "run.h5") if kind == "run" else "GPIB0::22::INSTR"

    def take() -> HeldLock:
        return run_file_lock(Path(target)) if kind == "run" else _resource(target)

    child = _start_child(kind, target)
    try:
        message = _one_line_busy(take)
        name = f"run file {Path(target).resolve()}" if kind == "run" else f"instrument {target}"
        assert message.startswith(f"{name} is in use by another calstation (pid {child.pid} on ")
        assert "`calstation run`" in message
        if kind == "resource":
            assert message.endswith("; wait for that run to end or use another instrument")
        if sys.platform == "win32":
            pytest.skip("kill -9 is POSIX")
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        with take() as lock:  # the OS let go of the dead child's lock
            assert lock.held
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


@pytest.mark.parametrize(("one", "other"), [
    ("gpib0::22::instr", "GPIB0::22::INSTR"),
    ("GPIB0::22::INSTR", " GPIB0::22 "),
    ("GPIB::22::INSTR", "GPIB0::22"),
    ("tcpip0::10.0.0.5::inst0::instr", "TCPIP0::10.0.0.5::inst0"),
    ("com3", "COM3"),
    ("socket://Bench-DMM:5025", "socket://bench-dmm:5025"),
])
def test_spellings_of_one_resource_share_one_lock(one: str, other: str) -> None:
    with _resource(one):
        message = _one_line_busy(lambda: resource_lock(other))
        assert message.startswith(f"instrument {other.strip()} is in use by another calstation (pid {os.getpid()}")


@pytest.mark.skipif(not os.path.islink("/dev/stdout"), reason="needs /dev/stdout to be a symlink (Linux)")
def test_a_device_path_is_locked_through_its_symlinks() -> None:
    with _resource("/dev/stdout"):
        _one_line_busy(lambda: resource_lock("/dev/fd/1"))


@pytest.mark.parametrize(("one", "other"), [
    ("GPIB0::22::INSTR", "GPIB0::23::INSTR"),
    ("GPIB0::22::INSTR", "GPIB1::22::INSTR"),
    ("COM3", "COM4"),
    ("socket://bench-dmm:5025", "socket://bench-dmm:5026"),
])
def test_different_resources_are_locked_independently(one: str, other: str) -> None:
    with _resource(one) as a, _resource(other) as b:
        assert a.held and b.held and a.path != b.path


def test_simulated_instruments_need_no_lock(own_temp_dir: Path) -> None:
    assert resource_lock("sim://dmm") is None
    assert resource_lock("sim://dmm") is None  # twice: nothing was taken
    assert not (own_temp_dir / "calstation-locks").exists()


def test_resource_lock_files_are_kept_and_shared_by_every_user(own_temp_dir: Path) -> None:
    with _resource("GPIB0::22::INSTR") as lock:
        assert lock.path.parent == own_temp_dir / "calstation-locks"
        assert re.fullmatch(r"res-[0-9a-f]{32}\.lock", lock.path.name)
    assert lock.path.exists()
    if POSIX:
        assert lock.path.parent.stat().st_mode & 0o7777 == 0o1777
        assert lock.path.stat().st_mode & 0o777 == 0o666


def test_a_holder_that_has_not_written_its_details_yet_is_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locks, "_write_holder", lambda fd, holder: None)
    with lock_file(tmp_path / "x.lock", "thing x"):
        message = _one_line_busy(lambda: lock_file(tmp_path / "x.lock", "thing x"))
    assert message == "thing x is in use by another process; wait for it to end"


@pytest.mark.skipif(not POSIX or not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="POSIX permissions, which root bypasses")
def test_a_lock_in_a_read_only_folder_is_a_one_line_error_naming_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(CalstationError) as error:
            run_file_lock(folder / "run.h5")
    finally:
        folder.chmod(0o755)
    message = str(error.value)
    assert not isinstance(error.value, LockBusy)
    assert "\n" not in message and f"in {folder} (" in message and "writable" in message


def test_a_run_file_under_a_file_is_a_one_line_error_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(CalstationError) as error:
        run_file_lock(tmp_path / "a-file" / "run.h5")
    message = str(error.value)
    assert not isinstance(error.value, LockBusy)
    assert "\n" not in message and str(tmp_path / "a-file") in message and "choose another folder" in message


def test_a_refused_attempt_from_another_thread_leaves_no_stale_lock_file(tmp_path: Path) -> None:
    run = tmp_path / "run.h5"
    first = run_file_lock(run)
    refused: list[BaseException] = []

    def attempt() -> None:
        try:
            run_file_lock(run).release()
        except LockBusy as e:
            refused.append(e)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    assert len(refused) == 1
    first.release()
    with run_file_lock(run) as again:
        assert again.path.exists()
    assert not (tmp_path / ".run.h5.lock").exists()


def test_a_lock_file_removed_between_open_and_lock_is_not_a_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the sidecar removal must survive: B opens the lock file, A then
    releases (removing it), B locks the removed file. B must notice and lock the
    file now at that path; otherwise C, creating a new file, would get in too."""
    run = tmp_path / "run.h5"
    a = run_file_lock(run)
    real_open = locks._open_lock_file
    opened: list[Path] = []

    def open_then_let_a_go(path: Path, shared: bool) -> tuple[int, bool]:
        fd_writable = real_open(path, shared)
        opened.append(path)
        a.release()
        return fd_writable

    monkeypatch.setattr(locks, "_open_lock_file", open_then_let_a_go)
    b = run_file_lock(run)
    monkeypatch.setattr(locks, "_open_lock_file", real_open)
    assert POSIX is (len(opened) == 2)  # POSIX: B had to start over; Windows: A could not remove it
    try:
        assert b.path.exists()
        message = _one_line_busy(lambda: run_file_lock(run))  # C
        assert f"pid {os.getpid()}" in message
    finally:
        b.release()
    assert not b.path.exists()


def test_many_threads_racing_for_one_run_file_never_hold_it_together(tmp_path: Path) -> None:
    run = tmp_path / "run.h5"
    inside = 0
    most = 0
    count = threading.Lock()
    errors: list[BaseException] = []

    def race() -> None:
        nonlocal inside, most
        for _ in range(200):
            try:
                lock = run_file_lock(run)
            except LockBusy:
                continue
            except BaseException as e:  # anything else fails the test, not just this thread
                errors.append(e)
                return
            with lock:
                with count:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0)  # let the others try while it is held
                with count:
                    inside -= 1

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert most == 1
    assert not (tmp_path / ".run.h5.lock").exists()
