"""Bad input through the command line, as a user meets it.

The house rule (docs/cli.md): bad input gets ONE line on standard error that
names the thing and says what to do, an exit code from the table (1 bad
input, 2 usage, 3 plan refused, 4 aborted, 5 failed, 7 verification
failed), never a traceback, and never a damaged run file or lost data.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

from drivers.sim.bench import SimBench
from station.cli import main
from station.runfile.reader import RunFile
from tests.station import test_cli as _cli
from tests.station.test_cli import _bench_file, _job_file, _one_line_error

served_bench = _cli.served_bench  # the fixture: a simulated bench served over TCP

PROCEDURE = "keysight-34401a-dcv"
FAST = ["--yes", "--readings", "2", "--settle", "0"]
Served = tuple[SimBench, dict[str, str]]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _temporaries(folder: Path) -> list[Path]:
    """Half-written images a failed write would leave (``.NAME.XXXX.tmp``)."""
    return sorted(folder.glob(".*.tmp"))


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    return _one_line_error(capsys.readouterr().err)


@pytest.fixture(scope="module")
def completed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed run on the simulated bench, big enough that ``inspect
    --io`` prints more than a pipe holds. Tests copy it before damaging it."""
    out = tmp_path_factory.mktemp("completed") / "run.h5"
    code = main(["run", PROCEDURE, "--simulated", "--yes", "--readings", "50", "--settle", "0",
                 "--out", str(out)])
    assert code == 0
    return out


@contextlib.contextmanager
def _tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``folder`` for the block; skips the test when it
    cannot be mounted (not root, no mount command, a container that forbids it)."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root on Linux")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _run_argv(tmp_path: Path, bench: Path, out: Path, job: Path | None = None) -> list[str]:
    return ["run", PROCEDURE, "--bench", str(bench), "--job", str(job or _job_file(tmp_path)),
            "--out", str(out), *FAST]


def _plain_bench(tmp_path: Path, extra: str = "", resource: str = '"TCPIP::127.0.0.1::1::SOCKET"') -> Path:
    """A one-instrument bench file whose errors come before any connection."""
    p = tmp_path / "bench.toml"
    p.write_text(f'[[instrument]]\nrole = "standard"\ndriver = "fluke-5522a"\nresource = {resource}\n'
                 f'asset_id = "STD-0042"\ncalibration_due = "2099-01-01"\n{extra}')
    return p


# -- 1 to 4: bench files ----------------------------------------------------------------------


def test_an_unquoted_toml_date_in_a_bench_file_is_a_date(tmp_path: Path, served_bench: Served,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _, res = served_bench
    bench = _bench_file(tmp_path, res["calibrator"], res["dmm"])
    text = bench.read_text()
    calibrated = text.split('calibrated_on = "', 1)[1].split('"', 1)[0]
    bench.write_text(text.replace('calibration_due = "2099-01-01"', "calibration_due = 2099-01-01")
                     .replace(f'calibrated_on = "{calibrated}"', f"calibrated_on = {calibrated}"))
    assert "= 2099-01-01\n" in bench.read_text()
    out = tmp_path / "run.h5"
    assert main(_run_argv(tmp_path, bench, out)) == 0, capsys.readouterr().err
    with RunFile(out) as rf:
        assert rf.status == "completed"
        standard = next(i for i in rf.instruments if i.role == "standard")
        assert standard.calibration_due == "2099-01-01"


def test_a_number_where_a_resource_belongs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.h5"
    bench = _plain_bench(tmp_path, resource="42")
    assert main(_run_argv(tmp_path, bench, out)) == 1
    line = _error(capsys)
    assert "resource" in line and "bench.toml" in line and "quotes" in line
    assert not out.exists()


@pytest.mark.parametrize("value", ["abc", "abc" * 400], ids=["short", "long"])
def test_text_where_a_number_belongs_is_refused_in_a_short_line(
        value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.h5"
    bench = _plain_bench(tmp_path, f'timeout_s = "{value}"\n')
    assert main(_run_argv(tmp_path, bench, out)) == 1
    line = _error(capsys)
    assert "timeout_s" in line and "bench.toml" in line
    assert len(line) < 300
    if value == "abc":
        assert line.count("abc") == 1
    assert not out.exists()


def test_a_bench_file_that_is_not_utf8_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_bytes(b"\xff\xfe[[instrument]]\nrole = \"standard\"\n")
    out = tmp_path / "run.h5"
    assert main(_run_argv(tmp_path, bench, out)) == 1
    line = _error(capsys)
    assert "bench.toml" in line and "UTF-8" in line
    assert not out.exists()


def test_a_bench_file_path_that_is_a_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "benches"
    folder.mkdir()
    out = tmp_path / "run.h5"
    assert main(_run_argv(tmp_path, folder, out)) == 1
    line = _error(capsys)
    assert str(folder) in line and "folder" in line
    assert not out.exists()


# -- 5 and 6: job files ------------------------------------------------------------------------


def test_a_nul_character_in_a_job_field_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = tmp_path / "job.toml"
    job.write_text('customer_name = "ACME"\ndut_serial = "MY\\u000012345"\n')
    out = tmp_path / "run.h5"
    assert main(["run", PROCEDURE, "--simulated", "--job", str(job), "--out", str(out), *FAST]) == 1
    line = _error(capsys)
    assert "dut_serial" in line and "job.toml" in line and "NUL" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    # Chinese prints (in the embedded CJK font: tests/certificates); a
    # character no font of the certificate has a glyph for does not
    [("customer_name", "中国计量科学研究院 \U0001F600"), ("customer_address", "x" * 10_000)],
    ids=["no-glyph", "long-address"],
)
def test_job_text_the_certificate_cannot_print_is_refused_before_anything_is_energised(
        field: str, value: str, tmp_path: Path, served_bench: Served,
        capsys: pytest.CaptureFixture[str]) -> None:
    bench, res = served_bench
    job = tmp_path / "job.toml"
    fields = {"customer_name": "ACME", "dut_serial": "MY12345", field: value}
    job.write_text("".join(f'{k} = "{v}"\n' for k, v in fields.items()), encoding="utf-8")
    out = tmp_path / "run.h5"
    argv = _run_argv(tmp_path, _bench_file(tmp_path, res["calibrator"], res["dmm"]), out, job)
    assert main(argv) == 3
    line = _error(capsys)
    assert field in line and len(line) < 400
    received = list(bench.calibrator.received)
    assert not any(m.strip().upper().startswith(("OPER", "OUT")) for m in received), received
    assert not bench.calibrator.operating
    assert not out.exists()


# -- 7 and 8: where the files go ---------------------------------------------------------------


def test_a_read_only_output_folder_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        assert main(["run", PROCEDURE, "--simulated", "--out", str(ro / "run.h5"), *FAST]) != 0
        assert str(ro) in _error(capsys)
        assert main(["demo", "--yes", "--out", str(ro)]) != 0
        assert str(ro) in _error(capsys)
        assert list(ro.iterdir()) == []


def test_an_existing_output_file_is_refused_and_left_alone(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "precious.h5"
    out.write_bytes(b"someone else's data\n" * 100)
    before = _digest(out)
    assert main(["run", PROCEDURE, "--simulated", "--out", str(out), *FAST]) == 3
    line = _error(capsys)
    assert "precious.h5" in line and "already exists" in line
    assert _digest(out) == before
    assert _temporaries(tmp_path) == []


def test_an_output_folder_that_is_a_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a"
    a.write_text("not a folder\n")
    assert main(["run", PROCEDURE, "--simulated", "--out", str(a / "b.h5"), *FAST]) == 1
    line = _error(capsys)
    assert str(a) in line
    assert a.read_text() == "not a folder\n"
    assert main(["demo", "--yes", "--out", str(a)]) == 1
    line = _error(capsys)
    assert str(a) in line and "file" in line
    assert a.read_text() == "not a folder\n"


def test_a_certificate_onto_a_folder_is_refused(tmp_path: Path, completed_run: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    assert main(["certificate", str(completed_run), "-o", str(folder)]) == 1
    line = _error(capsys)
    assert str(folder) in line and "folder" in line
    assert list(folder.iterdir()) == []


def test_a_certificate_onto_a_full_disk_leaves_nothing_behind(tmp_path: Path, completed_run: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    reference = tmp_path / "reference.pdf"
    assert main(["certificate", str(completed_run), "-o", str(reference)]) == 0
    capsys.readouterr()
    with _tmpfs(tmp_path / "full", "size=64k") as full:
        free = shutil.disk_usage(full).free
        (full / "filler").write_bytes(b"\0" * (free - 4096))
        assert shutil.disk_usage(full).free < reference.stat().st_size  # the PDF cannot fit
        before = sorted(p.name for p in full.iterdir())
        cert = full / "cert.pdf"
        assert main(["certificate", str(completed_run), "-o", str(cert)]) != 0
        line = _error(capsys)
        assert "cert.pdf" in line and "space" in line
        assert sorted(p.name for p in full.iterdir()) == before  # no partial PDF, no .tmp


# -- 9 and 10: signals and pipes (a real process) ---------------------------------------------


def _interrupted_run(cmd: list[str], out: Path, delay: float) -> tuple[int, str]:
    """Start a run, send it Ctrl-C (SIGINT) ``delay`` seconds after its start,
    but not before calstation's own code runs: a Ctrl-C while CPython itself
    starts (site, the import of the console script's module) is CPython's
    traceback, which no program can prevent. Returns (exit code, stderr
    without the import-time lines that show when calstation's code runs)."""
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    start = time.monotonic()
    proc = subprocess.Popen(cmd + ["run", PROCEDURE, "--simulated", "--yes", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    ours = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            text = raw.decode("utf-8", errors="replace")
            if text.startswith("import time:"):
                if text.rsplit("|", 1)[-1].strip().startswith(("station.", "drivers")):
                    ours.set()  # station/cli.py is importing the core: calstation's code runs
                continue
            lines.append(text)
        ours.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ours.wait(20), "calstation did not start"
        time.sleep(max(0.0, start + delay - time.monotonic()))
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    return code, "".join(lines)


def test_ctrl_c_during_start_up_aborts_cleanly(tmp_path: Path, calstation_cmd: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    if os.name != "posix":
        pytest.skip("SIGINT delivery to a child is POSIX here")
    trials = 8
    rng = random.Random()
    for k in range(trials):  # one delay in each eighth of 0.01 to 0.3 s
        lo = 0.01 + 0.29 * k / trials
        delay = rng.uniform(lo, lo + 0.29 / trials)
        out = tmp_path / f"run{k}.h5"
        code, err = _interrupted_run(calstation_cmd, out, delay)
        where = f"Ctrl-C after {delay:.3f} s: exit {code}\n{err}"
        assert code in (0, 4), where
        assert "Traceback" not in err and "Exception ignored" not in err, where
        assert _temporaries(tmp_path) == [], where
        if out.exists():
            assert main(["verify", str(out)]) == 0, where
            verified = capsys.readouterr().out
            assert ("sealed completed" if code == 0 else "sealed aborted") in verified, where + verified
        else:
            assert code == 4, where
            assert "interrupted" in _one_line_error(err), where


def _started_by(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Start a run through ``script`` (named as the console script is, which
    imports ``main`` and calls it) and return what it did."""
    path = tmp_path / "calstation"
    path.write_text("import os, signal, sys\n" + script, encoding="utf-8")
    return subprocess.run([sys.executable, str(path), "run", PROCEDURE, "--simulated", "--yes",
                           "--out", str(tmp_path / "run.h5")], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("script", [
    pytest.param("from station.cli import main\n"
                 "os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C before main\n"
                 "sys.exit(main())\n", id="between-loading-and-main"),
    pytest.param("from station import cli\n"
                 "say = cli._say\n"
                 "def say_after_another_ctrl_c(text, *args, **kwargs):\n"
                 "    os.kill(os.getpid(), signal.SIGINT)  # again, while the first is reported\n"
                 "    say(text, *args, **kwargs)\n"
                 "cli._say = say_after_another_ctrl_c\n"
                 "os.kill(os.getpid(), signal.SIGINT)\n"
                 "sys.exit(cli.main())\n", id="twice"),
])
def test_ctrl_c_at_the_edges_of_main_aborts_cleanly(tmp_path: Path, script: str) -> None:
    """A Ctrl-C between the console script's import of ``main`` and its call
    (a window of a few bytecodes, once hit in CI), or a second Ctrl-C while
    the first is being reported (a user pressing it again), ends the command
    with one line and exit 4, never a traceback, and nothing is written."""
    if os.name != "posix":
        pytest.skip("SIGINT to itself is POSIX here")
    done = _started_by(tmp_path, script)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert _one_line_error(done.stderr) == "calstation: interrupted"
    assert not (tmp_path / "run.h5").exists() and _temporaries(tmp_path) == []


def test_inspect_into_head_ends_quietly(completed_run: Path, calstation_cmd: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    head = shutil.which("head")
    if head is None:
        pytest.skip("no head command")
    assert main(["inspect", str(completed_run), "--io"]) == 0
    # more than a pipe (64 KiB) and head's read together hold: the pipe breaks under it
    assert len(capsys.readouterr().out.encode()) > 96 * 1024
    inspect = subprocess.Popen(calstation_cmd + ["inspect", str(completed_run), "--io"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert inspect.stdout is not None and inspect.stderr is not None
    first = subprocess.Popen([head, "-1"], stdin=inspect.stdout, stdout=subprocess.PIPE)
    inspect.stdout.close()  # head alone reads it now
    shown, _ = first.communicate(timeout=20)
    err = inspect.stderr.read().decode()
    assert inspect.wait(timeout=20) == 0, err
    assert first.returncode == 0
    assert shown.decode().count("\n") == 1 and "status completed" in shown.decode()
    assert "Traceback" not in err and "Exception ignored" not in err and "Broken pipe" not in err
    assert err.strip() == ""


# -- 11: --check ---------------------------------------------------------------------------------


def test_check_needs_no_job_file(tmp_path: Path, served_bench: Served, capsys: pytest.CaptureFixture[str]) -> None:
    bench, res = served_bench
    out = tmp_path / "run.h5"
    argv = ["run", PROCEDURE, "--bench", str(_bench_file(tmp_path, res["calibrator"], res["dmm"])),
            "--out", str(out), "--check"]
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert f"plan of {PROCEDURE}: 17 points" in printed
    assert len([ln for ln in printed.splitlines() if ln[:4].strip().isdigit()]) == 17
    assert not out.exists()
    assert not bench.calibrator.operating


@pytest.mark.parametrize(("option", "value"), [("--settle", "inf"), ("--settle", "nan"), ("--settle", "-1"),
                                               ("--seed", "-1")])
def test_impossible_numbers_on_the_command_line_are_usage_errors(
        option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--settle inf`` would dwell forever at the first point; a negative
    seed was an internal error. (--check: a regression fails, not hangs.)"""
    out = tmp_path / "run.h5"
    with pytest.raises(SystemExit) as e:
        main(["run", PROCEDURE, "--simulated", "--check", "--out", str(out), f"{option}={value}"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert option in err.strip().splitlines()[-1] and value in err.strip().splitlines()[-1]
    assert not out.exists()


# -- 12 to 14: damaged and foreign files -------------------------------------------------------


def test_an_altered_run_file_fails_verification_and_is_left_alone(
        tmp_path: Path, completed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    altered = tmp_path / "altered.h5"
    shutil.copyfile(completed_run, altered)
    with h5py.File(altered, "r+") as f:
        readings = f["raw/readings"]
        row = readings[3]
        row["value"] = np.float64(row["value"]) + 1e-3  # one raw reading, 1 mV off
        readings[3] = row
    before = _digest(altered)

    assert main(["verify", str(altered)]) == 7
    line = _error(capsys)
    assert "altered.h5" in line and "commit" in line and "/raw/readings" in line

    pdf = tmp_path / "cert.pdf"
    assert main(["certificate", str(altered), "-o", str(pdf)]) == 7
    line = _error(capsys)
    assert "altered.h5" in line and "no certificate" in line
    assert main(["certificate", str(altered)]) == 7
    _error(capsys)
    assert not pdf.exists() and not altered.with_suffix(".pdf").exists()

    assert main(["run", "--simulated", "--yes", "--readings", "50", "--settle", "0",
                 "--resume", str(altered)]) == 3
    assert "altered.h5" in _error(capsys)
    assert _digest(altered) == before
    assert _temporaries(tmp_path) == []


def test_a_truncated_run_file_is_refused_quickly_and_left_alone(
        tmp_path: Path, completed_run: Path, calstation_cmd: list[str]) -> None:
    whole = completed_run.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole[: len(whole) // 2])
    before = _digest(cut)
    commands = {
        "inspect": ["inspect", str(cut)],
        "verify": ["verify", str(cut)],
        "certificate": ["certificate", str(cut)],
        "resume": ["run", "--simulated", "--yes", "--resume", str(cut)],
        "resume PROCEDURE": ["run", PROCEDURE, "--simulated", "--yes", "--readings", "50", "--settle", "0",
                             "--resume", str(cut)],
    }
    procs = {name: subprocess.Popen(calstation_cmd + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True) for name, argv in commands.items()}
    try:
        for name, proc in procs.items():
            _, err = proc.communicate(timeout=20)  # a hang on a damaged file fails here
            assert proc.returncode != 0, (name, err)
            line = _one_line_error(err)
            assert "cut.h5" in line and "truncated" in line, (name, line)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert _digest(cut) == before
    assert not cut.with_suffix(".pdf").exists()
    assert _temporaries(tmp_path) == []


def test_files_that_are_not_run_files_are_refused_in_one_line(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["measurements"] = np.arange(100.0)
    noise = tmp_path / "noise.h5"
    noise.write_bytes(b"not hdf5" + os.urandom(4096))
    for path in (foreign, noise):
        before = _digest(path)
        for argv in (["inspect", str(path)], ["verify", str(path)], ["certificate", str(path)]):
            assert main(argv) != 0, argv
            assert path.name in _error(capsys), argv
        assert _digest(path) == before
        assert not path.with_suffix(".pdf").exists()
