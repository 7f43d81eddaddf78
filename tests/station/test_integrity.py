"""The run file's integrity: the hash chain and seal catch every edit, reads
are bounded, resume keeps only the committed record, the disk is synced and
never allowed to fill under HDF5, a standard that expires mid-run stops it."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procedures.keysight_34401a_dcv import Keysight34401aDcv
from station.certificates import render_pdf
from station.cli import main
from station.engine import Engine
from station.errors import CalstationError, IntegrityError, PlanRefused, RunFileError
from station.prompts import AutoAnswer
from station.runfile import chain
from station.runfile import layout as L
from station.runfile import writer as writer_module
from station.runfile.files import write_image
from station.runfile.reader import RunFile
from station.runfile.writer import RunWriter
from station.simulated import SimulatedStation, demo_job
from tests.certificates.test_pdf import header, job, point, write_run
from tests.conftest import ROOT
from tests.station.test_cli import _one_line_error, _wait_for_points


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed run of six points, written through RunWriter."""
    path = tmp_path_factory.mktemp("sealed") / "run.h5"
    w = RunWriter.create(path, header(job(), 6))
    w.event("started", "test")
    w.io_log.add(0, False, b"OUT 1 V\n")
    w.io_log.add(1, True, b"+1.00000230E+00\n")
    for i in range(6):
        r, budget, times, values = point(i)
        w.point(r, times, values, budget)
    w.finish("completed", "all points completed")
    return path


def _verify(path: Path) -> tuple[bool, str]:
    try:
        with RunFile(path) as rf:
            v = rf.verify()
            return v.ok, v.message
    except RunFileError as e:
        return False, str(e)


def _copy(src: Path, tmp_path: Path, name: str = "copy.h5") -> Path:
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def test_an_unaltered_run_verifies(sealed: Path) -> None:
    with RunFile(sealed) as rf:
        v = rf.verify()
    assert v.ok and v.sealed and not v.torn and v.uncommitted == 0, v.message
    assert v.counts["points"] == 6 and v.counts["raw"] == 60
    assert "verified" in v.message and "sealed completed" in v.message


def _edit_row(path: Path, name: str, index: int, field: str, change: object) -> None:
    with h5py.File(path, "r+") as f:
        ds = f[name]
        row = ds[index]
        row[field] = change(row[field]) if callable(change) else change
        ds[index] = row


@pytest.mark.parametrize(("edit", "named"), [
    (lambda p: _edit_row(p, L.RAW, 13, "value", lambda v: v + 1e-6), "/raw/readings rows 10 to 19"),
    (lambda p: _edit_row(p, L.POINTS, 4, "indication", lambda v: v + 0.1), "/points rows 4 to 4"),
    (lambda p: _edit_row(p, L.POINTS, 2, "decision", b"fail"), "/points"),
    (lambda p: _edit_row(p, L.IO, 1, "data", lambda d: np.where(np.arange(d.size) == 3, 0x37, d)), "/io rows"),
    (lambda p: _flip(p, L.EVENTS_DATA, 2), "/events/data rows"),
    (lambda p: _set_attr(p, L.JOB, "customer_name", "Someone else"), "the header"),
    (lambda p: _edit_row(p, L.PLAN, 0, "nominal", 0.5), "the header"),
    (lambda p: _set_attr(p, "/", "status", "aborted"), "the seal does not match"),
    (lambda p: _set_attr(p, "/", "end_reason", "operator"), "the seal does not match"),
    (lambda p: _set_attr(p, "/", "seal", ""), "the seal does not match"),
    (lambda p: _set_attr(p, "/", "status", "running"), "carries a seal"),
    (lambda p: _append_raw(p), "after the last commit of an ended run"),
])
def test_every_kind_of_edit_is_caught_and_named(sealed: Path, tmp_path: Path, edit, named: str) -> None:
    path = _copy(sealed, tmp_path)
    edit(path)
    ok, message = _verify(path)
    assert not ok and named in message, message
    assert "\n" not in message
    with pytest.raises(CalstationError):  # and no certificate is issued from it
        render_pdf(path, tmp_path / "c.pdf")
    assert not (tmp_path / "c.pdf").exists()


def _flip(path: Path, name: str, index: int) -> None:
    with h5py.File(path, "r+") as f:
        f[name][index] = f[name][index] ^ 1


def _set_attr(path: Path, group: str, key: str, value: str) -> None:
    with h5py.File(path, "r+") as f:
        f[group].attrs[key] = value


def _append_raw(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        ds = f[L.RAW]
        ds.resize((ds.shape[0] + 1,))
        ds[-1] = ds[-2]


def test_a_forged_chain_is_still_caught_by_the_raw_readings(sealed: Path, tmp_path: Path) -> None:
    """An editor who changes an indication and recomputes the chain and the
    seal (this module is public) is caught by the re-derivation from /raw."""
    path = _copy(sealed, tmp_path)
    with h5py.File(path, "r+") as f:
        row = f[L.POINTS][3]
        row["indication"] += 1e-3
        row["error"] += 1e-3
        f[L.POINTS][3] = row
        _rechain(f)
    ok, message = _verify(path)
    assert not ok and "point 4" in message and "indication" in message and "raw readings" in message, message
    with pytest.raises(IntegrityError):
        render_pdf(path, tmp_path / "c.pdf")


def _rechain(f: h5py.File) -> None:
    """Recompute /chain and the seal over what the file now holds."""
    rows = f[L.CHAIN][...]
    data = {name: f[p][...].tobytes() for name, p in L.TABLES}
    size = {name: f[p].dtype.itemsize for name, p in L.TABLES}
    rows[0]["digest"] = np.frombuffer(chain.header_digest(f), dtype="u1")
    prev = bytes(rows[0]["digest"])
    counts = dict.fromkeys(size, 0)
    for i in range(1, len(rows)):
        new = {n: int(rows[i][n]) for n in size}
        parts = [data[n][counts[n] * size[n]: new[n] * size[n]] for n, _ in L.TABLES]
        prev = chain.commit_digest(prev, [new[n] for n, _ in L.TABLES], parts)
        rows[i]["digest"] = np.frombuffer(prev, dtype="u1")
        rows[i]["crc"] = chain.crcs(parts)
        counts = new
    f[L.CHAIN][...] = rows
    a = f.attrs
    a["seal"] = chain.seal(prev, len(rows) - 1, a["status"], a["end_reason"], a["finished"])


def test_the_forging_helper_itself_gives_a_file_that_verifies(sealed: Path, tmp_path: Path) -> None:
    """The test above proves the re-derivation only if re-chaining alone passes."""
    path = _copy(sealed, tmp_path)
    with h5py.File(path, "r+") as f:
        _rechain(f)
    assert _verify(path)[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_overwritten_bytes_never_pass_as_an_unaltered_record(sealed: Path, tmp_path: Path, data) -> None:
    original = sealed.read_bytes()
    pos = data.draw(st.integers(0, len(original) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=16))
    altered = bytearray(original)
    altered[pos:pos + len(junk)] = junk
    path = tmp_path / "over.h5"
    path.write_bytes(bytes(altered[: len(original)]))
    ok, message = _verify(path)
    if not ok:
        assert "\n" not in message
        return
    # accepted: then the record must be exactly the one written (the bytes hit unused space)
    with RunFile(sealed) as a, RunFile(path) as b:
        assert a.points_array().tobytes() == b.points_array().tobytes()  # NaN fields: compare the bytes
        assert np.array_equal(a.raw_array(), b.raw_array())
        assert list(a.io()) == list(b.io()) and a.events() == b.events()
        assert a.attrs == b.attrs and a.job == b.job and a.plan == b.plan and a.instruments == b.instruments


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(0.0, 0.9999))
def test_a_truncated_file_is_refused_in_one_line(sealed: Path, tmp_path: Path, fraction: float) -> None:
    original = sealed.read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(original[: int(len(original) * fraction)])
    with pytest.raises(RunFileError) as e:
        RunFile(path)
    assert "\n" not in str(e.value)


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["points"] = np.zeros(3)
    with pytest.raises(RunFileError, match="not a calstation run file"):
        RunFile(foreign)


_CRASH = """
import os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from tests.certificates.test_pdf import header, job, point
from station.runfile.writer import RunWriter
w = RunWriter.create(Path(sys.argv[1]), header(job(), 6))
for i in range(3):
    r, budget, times, values = point(i)
    w.point(r, times, values, budget)
# a crash in the middle of point 4's commit: its raw readings written, no /chain row
r, budget, times, values = point(3)
w._raw.append_bytes(b"\\x03\\x00\\x00\\x00" + b"\\x00" * 17)  # one /raw row: point 3
w._f.flush()
os._exit(0)
"""


def test_resume_keeps_the_committed_record_and_drops_a_crashed_commit(tmp_path: Path) -> None:
    path = tmp_path / "crashed.h5"
    subprocess.run([sys.executable, "-c", _CRASH, str(path), str(ROOT)], check=True, timeout=60)
    (tmp_path / f".{path.name}.1234abcd.tmp").write_bytes(b"left by a kill during an earlier write")
    with RunFile(path) as rf:
        v = rf.verify()
        assert v.ok and not v.sealed and v.uncommitted == 1, v.message
        assert rf.completed() == [0, 1, 2] and len(rf.raw_array()) == 30
    w = RunWriter.resume(path)
    for i in range(3, 6):
        r, budget, times, values = point(i)
        w.point(r, times, values, budget)
    w.finish("completed", "all points completed")
    with RunFile(path) as rf:
        v = rf.verify()
        assert v.ok and v.sealed and v.uncommitted == 0, v.message
        assert rf.completed() == list(range(6)) and len(rf.raw_array()) == 60
    assert not list(tmp_path.glob(".*.tmp"))


def _verify_refuses(calstation_cmd: list[str], path: Path) -> str:
    """``calstation verify PATH`` in its own process (a hang fails at the
    timeout, not never): exit 7 and one line naming the file, returned."""
    done = subprocess.run(calstation_cmd + ["verify", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 7, done.stdout + done.stderr
    line = (done.stdout + done.stderr).strip()
    assert "\n" not in line and str(path) in line and "Traceback" not in line
    return line


@pytest.mark.parametrize("damage", ["status-flags", "root-header"])
def test_a_damaged_file_marked_unfinished_is_refused_at_once(sealed: Path, tmp_path: Path,
                                                             calstation_cmd: list[str], damage: str) -> None:
    """A file still marked as being written (a crash, or flags altered) opens
    only in SWMR-read mode, where HDF5 rereads a block whose checksum is
    wrong, by default without end: ``calstation verify`` then hung. It is
    refused in one line, exit 7, within seconds."""
    if damage == "status-flags":  # a sealed file's superblock says "open for writing"
        path = _copy(sealed, tmp_path)
        image = bytearray(path.read_bytes())
        image[11] |= 0x05
    else:  # a crashed run (its flags say so, rightly) with a byte of its root group's header changed
        path = tmp_path / "crashed.h5"
        subprocess.run([sys.executable, "-c", _CRASH, str(path), str(ROOT)], check=True, timeout=60)
        assert _verify(path)[0]  # readable before the damage
        image = bytearray(path.read_bytes())
        assert image[11] & 0x05
        root = int.from_bytes(image[36:44], "little")  # superblock v2/3: root object header address
        image[root + 8] ^= 0xFF
    path.write_bytes(bytes(image))
    started = time.monotonic()
    line = _verify_refuses(calstation_cmd, path)
    assert "corrupt" in line or "backup" in line  # and what to do
    assert time.monotonic() - started < 60  # not waiting on HDF5's retries (a hang before)


def test_a_damaged_global_heap_is_refused_at_once(sealed: Path, tmp_path: Path,
                                                  calstation_cmd: list[str]) -> None:
    """The texts of a run file live in HDF5 global heaps, which have no
    checksum: an object's header zeroed there made HDF5 loop for ever, in C,
    where even Ctrl-C cannot stop it. It is refused in one line, exit 7."""
    path = _copy(sealed, tmp_path)
    image = bytearray(path.read_bytes())
    heap = image.index(b"GCOL\x01")  # File Format Specification III.E: signature, version 1
    image[heap + 16:heap + 32] = bytes(16)  # its first object: index 0 (free space) of size 0
    path.write_bytes(bytes(image))
    line = _verify_refuses(calstation_cmd, path)
    assert f"global heap at byte {heap}" in line and "backup" in line
    # an undamaged file with the same heaps verifies (the walk refuses only what is damaged)
    assert main(["verify", str(sealed)]) == 0


def test_resume_refuses_an_altered_file_and_leaves_it_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    write_run(path, status="aborted", reason="operator", points=5)
    _edit_row(path, L.RAW, 7, "value", lambda v: v * 2)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(RunFileError, match="cannot be resumed"):
        RunWriter.resume(path)
    with SimulatedStation() as sim:
        engine = Engine(Keysight34401aDcv(), sim.bench(), demo_job(), path, prompts=AutoAnswer(),
                        clock=sim.clock, simulators=sim.simulators, resume=True)
        with pytest.raises(PlanRefused, match="FAILED"):
            engine.run()
        assert "OPER" not in sim.sim.calibrator.received
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_new_files_are_created_exclusively(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    results: list[str] = []

    def create() -> None:
        try:
            RunWriter.create(path, header(job(), 2)).close()
            results.append("created")
        except RunFileError as e:
            results.append(str(e))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("created") == 1
    assert all("already exists" in r for r in results if r != "created")
    assert _verify(path)[0]


def test_the_file_is_synced_at_least_once_a_second_and_at_the_end(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    synced: list[float] = []
    real_fsync = os.fsync
    def fsync(fd: int) -> None:
        synced.append(now[0])
        real_fsync(fd)

    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(os, "fsync", fsync)
    w = RunWriter.create(tmp_path / "run.h5", header(job(), 17))
    synced.clear()
    for i in range(12):  # a point every 0.3 s
        now[0] += 0.3
        r, budget, times, values = point(i)
        w.point(r, times, values, budget)
    assert len(synced) == 3  # at 1.2, 2.4 and 3.6 s: never more than a second without
    assert all(b - a < 1.0 + 0.3 for a, b in zip([1000.0, *synced], synced, strict=False))
    synced.clear()
    w.finish("aborted", "test")
    assert synced, "the ending is synced"


def _engine(sim: SimulatedStation, path: Path, **kw: object) -> Engine:
    return Engine(Keysight34401aDcv(readings=2, settle_s=0), sim.bench(), demo_job(), path, prompts=AutoAnswer(),
                  clock=sim.clock, simulators=sim.simulators, **kw)  # type: ignore[arg-type]


def test_a_disk_running_full_stops_the_run_while_its_ending_fits(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.h5"
    real = shutil.disk_usage
    calls = [0]

    def usage(p: object) -> object:
        calls[0] += 1
        u = real(p)  # type: ignore[arg-type]
        return u._replace(free=1024 * 1024) if calls[0] > 6 else u  # the disk fills up after a few points

    monkeypatch.setattr(writer_module, "SYNC_INTERVAL_S", 0.0)
    monkeypatch.setattr(shutil, "disk_usage", usage)
    with SimulatedStation() as sim:
        outcome = _engine(sim, path).run()
        assert not sim.sim.calibrator.operating and sim.sim.calibrator.output_value == 0.0
    assert outcome.status == "failed" and "nearly full" in outcome.reason
    with RunFile(path) as rf:
        v = rf.verify()
        assert v.ok and v.sealed and rf.status == "failed", v.message
        assert 0 < len(rf.points) < 17


def test_a_status_that_cannot_be_written_exits_5_with_the_bench_safe(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    real = write_image

    def full(path: Path, image: bytes, *, new: bool) -> None:
        if not new:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, image, new=new)

    monkeypatch.setattr("station.runfile.writer.write_image", full)
    out = tmp_path / "run.h5"
    code = main(["run", "keysight-34401a-dcv", "--simulated", "--yes", "--readings", "2", "--settle", "0",
                 "--out", str(out)])
    assert code == 5
    line = _one_line_error(capsys.readouterr().err)
    assert "status could not be written" in line and "No space left" in line and "resumed" in line
    with RunFile(out) as rf:
        v = rf.verify()
        assert v.ok and rf.status == "running" and len(rf.points) == 17, v.message
    assert not list(tmp_path.glob(".*"))


def test_a_standard_expiring_during_the_run_stops_it_safely(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    today = dt.date.today()
    dates = iter([today] * 8)
    with SimulatedStation() as sim:
        due = dt.date.fromisoformat(sim.bench().instruments["standard"].calibration_due)
        engine = _engine(sim, path, calendar=lambda: next(dates, due + dt.timedelta(days=1)))
        outcome = engine.run()
        assert not sim.sim.calibrator.operating and sim.sim.calibrator.output_value == 0.0
    assert outcome.status == "failed" and "SIM-STD-5522A" in outcome.reason and "passed during the run" in outcome.reason
    with RunFile(path) as rf:
        assert rf.verify().ok and 0 < len(rf.points) < 17
    with pytest.raises(CalstationError, match="failed"):
        render_pdf(path, tmp_path / "c.pdf")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 40 MiB file system of its own (tmpfs; root on Linux only)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root on Linux")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _sweep(tmp_path: Path, points: int) -> Path:
    """The long test sweep with ``points`` points."""
    source = (ROOT / "tests" / "data" / "long_dcv.py").read_text()
    path = tmp_path / f"sweep{points}.py"
    path.write_text(source.replace("points: int = 4000", f"points: int = {points}"))
    return path


def _fill(folder: Path, leave: int) -> Path:
    """Fill the disk of ``folder`` until ``leave`` bytes are free (a disk
    already too full to take more is full enough). Unbuffered: a write the
    disk refuses is refused at once, not again when the file is closed."""
    filler = folder / "filler"
    try:
        fh = open(filler, "wb", buffering=0)  # noqa: SIM115 - closed below
    except OSError:
        return filler
    try:
        while True:
            free = shutil.disk_usage(folder).free - leave
            if free <= 0:
                break
            try:
                fh.write(b"\0" * min(free, 1 << 20))
            except OSError:
                break
    finally:
        fh.close()
    return filler
    with fh:
        while True:
            free = shutil.disk_usage(folder).free - leave
            if free <= 0:
                break
            try:
                fh.write(b"\0" * min(free, 1 << 20))
                fh.flush()
            except OSError:
                break
    return filler


def test_a_run_that_cannot_fit_is_refused_before_anything_is_energised(small_disk: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = small_disk / "run.h5"
    code = main(["run", str(_sweep(tmp_path, 20000)), "--simulated", "--yes", "--out", str(out)])
    assert code == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "MB free" in line and "run.h5" in line
    assert not out.exists()


@pytest.mark.parametrize("leave_kib", [0, 8, 16, 64, 512, 4096])
def test_a_disk_filled_by_another_program_mid_run_ends_in_one_line(
        small_disk: Path, tmp_path: Path, calstation_cmd: list[str], leave_kib: int) -> None:
    out = small_disk / "run.h5"
    proc = subprocess.Popen(calstation_cmd + ["run", str(_sweep(tmp_path, 3000)), "--simulated", "--yes",
                                              "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_points(out, 50, proc)
    filler = _fill(small_disk, leave_kib * 1024)
    _, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == 5, text  # failed: never a crash of the interpreter (a negative code)
    assert "Traceback" not in text and "Segmentation" not in text
    errors = [ln for ln in text.splitlines() if ln.startswith("calstation:")]
    assert len(errors) <= 1, text
    assert "nearly full" in text or "No space left" in text, text
    filler.unlink(missing_ok=True)
    with RunFile(out) as rf:  # the committed record is whole, and can be resumed
        v = rf.verify()
        assert v.ok, v.message
        assert rf.status in ("failed", "running") and len(rf.points) >= 50


def _written(path: Path, indexes: list[int], planned: int = 6, status: str = "aborted") -> Path:
    """A run file whose chain is intact but whose points are ``indexes``."""
    w = RunWriter.create(path, header(job(), planned))
    for i in indexes:
        r, budget, times, values = point(i % 17)
        w.point(r._replace(index=i), times, values, budget)
    w.finish(status, "test")
    return path


@pytest.mark.parametrize(("indexes", "status", "named"), [
    ([0, 2, 1], "aborted", "not the plan's first 3 in order"),
    ([0, 1, 1], "aborted", "not the plan's first 3 in order"),
    ([0, 1, 2, 3, 4, 5, 6], "aborted", "of 6 planned"),
    ([0, 1, 2], "completed", "marked completed with 3 of 6 planned points"),
])
def test_a_record_that_is_not_a_prefix_of_the_plan_is_refused(tmp_path: Path, indexes: list[int], status: str,
                                                               named: str) -> None:
    path = _written(tmp_path / "run.h5", indexes, status=status)
    ok, message = _verify(path)
    assert not ok and named in message, message
    before = path.read_bytes()
    with pytest.raises(RunFileError, match="cannot be resumed"):
        RunWriter.resume(path)
    assert path.read_bytes() == before


def test_a_point_without_all_its_raw_readings_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    w = RunWriter.create(path, header(job(), 6))
    for i in range(3):
        r, budget, times, values = point(i)
        w.point(r, times[: 5 if i == 1 else 10], values[: 5 if i == 1 else 10], budget)
    w.finish("aborted", "test")
    ok, message = _verify(path)
    assert not ok and "point 2" in message and "5 raw reading(s), its result says 10" in message, message
