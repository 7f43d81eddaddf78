"""Every way a `calstation run` process can be told to stop ends in the safe
state, and no two runs share a run file or an instrument.

The simulated bench is served over TCP by the test process itself, so the
run is a real separate process (signals, pipes, locks) and the test reads
the calibrator's own state afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.clock import SystemClock
from drivers.sim.bench import SimBench
from station.runfile.reader import RunFile
from tests.station.test_cli import LONG, _bench_file, _job_file, _one_line_error, _wait_for_points

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[tuple[SimBench, Path]]:
    sim = SimBench(clock=SystemClock(), settle_time_s=0.001)
    try:
        res = sim.serve_tcp()
        yield sim, _bench_file(tmp_path, res["calibrator"], res["dmm"])
    finally:
        sim.close()


def _run(cmd: list[str], bench_file: Path, out: Path, *extra: str, **kw: object) -> subprocess.Popen[bytes]:
    proc: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
        cmd + ["run", LONG, "--bench", str(bench_file), "--job", str(_job_file(out.parent)), "--out", str(out),
               *extra], **kw)
    return proc


def _assert_safe_and_recorded(sim: SimBench, out: Path, status: str, reason_part: str) -> list[str]:
    assert not sim.calibrator.operating, "the calibrator was left in OPERATE"
    assert sim.calibrator.output_value == 0.0
    with RunFile(out) as rf:
        assert rf.status == status
        assert reason_part in rf.attrs["end_reason"]
        check = rf.verify()
        assert check.ok and check.sealed, check.message
        return [k for _, k, _ in rf.events()]


@posix_only
@pytest.mark.parametrize(("signals", "reason"), [
    (["SIGTERM"], "SIGTERM"),
    (["SIGHUP"], "SIGHUP"),
    (["SIGINT"], "Ctrl-C"),
    (["SIGTERM", "SIGINT", "SIGTERM"], "SIGTERM"),
])
def test_a_stop_signal_mid_run_ends_in_the_safe_state(tmp_path: Path, calstation_cmd: list[str],
                                                      bench: tuple[SimBench, Path], signals: list[str],
                                                      reason: str) -> None:
    sim, bench_file = bench
    out = tmp_path / "run.h5"
    proc = _run(calstation_cmd, bench_file, out, "--yes", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_points(out, 10, proc)
    assert sim.calibrator.operating
    for name in signals:
        proc.send_signal(getattr(signal, name))
        time.sleep(0.02)  # pending signals are delivered lowest number first: keep their order
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err.decode()
    assert "Traceback" not in err.decode()
    kinds = _assert_safe_and_recorded(sim, out, "aborted", reason)
    assert kinds.index("aborted") < kinds.index("safe_state") < kinds.index("finished")


@posix_only
def test_ctrl_c_at_a_terminal_prompt_aborts_at_once(tmp_path: Path, calstation_cmd: list[str],
                                                   bench: tuple[SimBench, Path]) -> None:
    sim, bench_file = bench
    out = tmp_path / "run.h5"
    proc = subprocess.Popen(calstation_cmd + ["run", "keysight-34401a-dcv", "--bench", str(bench_file), "--job",
                                              str(_job_file(tmp_path)), "--out", str(out), "--readings", "2",
                                              "--settle", "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    seen = b""
    proc.stdin.write(b"c\n")  # Continue at "Connect the leads"
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while b"Hazardous voltage" not in seen:  # the run waits for an answer, the calibrator live
        assert time.monotonic() < deadline, seen.decode()
        seen += os.read(proc.stderr.fileno(), 4096)
    time.sleep(0.2)
    assert sim.calibrator.operating
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    assert time.monotonic() - t0 < 5, "Ctrl-C at a prompt must not wait for Enter"
    rest = proc.stderr.read().decode()
    assert proc.returncode == 4, seen.decode() + rest
    _assert_safe_and_recorded(sim, out, "aborted", "Ctrl-C")


@posix_only
def test_a_display_that_fails_does_not_fail_the_run(tmp_path: Path, calstation_cmd: list[str]) -> None:
    """`calstation run ... 2>&1 | head -3`: the progress display dies, the run goes on."""
    out = tmp_path / "run.h5"
    cmd = " ".join([*calstation_cmd, "run", "keysight-34401a-dcv", "--simulated", "--yes", "--readings", "2",
                    "--settle", "0", "--out", str(out)])
    done = subprocess.run(["bash", "-o", "pipefail", "-c", f"{cmd} 2>&1 | head -3"], capture_output=True,
                          text=True, timeout=120)
    assert len(done.stdout.splitlines()) <= 3
    assert done.returncode == 0, done.stdout + done.stderr
    with RunFile(out) as rf:
        assert rf.status == "completed" and len(rf.points) == 17
        events = rf.events()
    assert any(kind == "display" and "BrokenPipeError" in text for _, kind, text in events)


def test_a_second_run_on_the_same_file_or_bench_is_refused(tmp_path: Path, calstation_cmd: list[str],
                                                            bench: tuple[SimBench, Path]) -> None:
    sim, bench_file = bench
    out = tmp_path / "run.h5"
    first = _run(calstation_cmd, bench_file, out, "--yes", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_points(out, 5, first)
        received = len(sim.calibrator.received)
        # the same file, resumed while it runs
        again = subprocess.run(calstation_cmd + ["run", LONG, "--bench", str(bench_file), "--yes", "--resume", str(out)],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 3, again.stderr
        line = _one_line_error(again.stderr)
        assert "run.h5" in line and "in use" in line and f"pid {first.pid}" in line
        # another file, the same instruments
        other = subprocess.run(calstation_cmd + ["run", LONG, "--bench", str(bench_file), "--job",
                                                 str(_job_file(tmp_path)), "--yes", "--out", str(tmp_path / "b.h5")],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 3, other.stderr
        line = _one_line_error(other.stderr)
        assert "TCPIP::127.0.0.1" in line and "in use" in line
        assert not (tmp_path / "b.h5").exists()
        assert len(sim.calibrator.received) > received  # the first run went on meanwhile
    finally:
        first.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
        first.communicate(timeout=60)
    with RunFile(out) as rf:
        assert rf.verify().ok
        assert rf.completed() == list(range(len(rf.completed())))


def test_demos_started_together_into_one_folder_keep_every_file(tmp_path: Path, calstation_cmd: list[str]) -> None:
    procs = [subprocess.Popen(calstation_cmd + ["demo", "--yes", "--out", str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err.decode()
    runs = sorted(tmp_path.glob("*.h5"))
    assert len(runs) == 4 and len(list(tmp_path.glob("*.pdf"))) == 4
    for run in runs:
        with RunFile(run) as rf:
            assert rf.verify().ok and rf.status == "completed"
    assert not list(tmp_path.glob(".*"))  # no lock or temporary file left behind


@posix_only
def test_kill_9_during_a_resume_then_resume_again_loses_and_repeats_nothing(
        tmp_path: Path, calstation_cmd: list[str]) -> None:
    out = tmp_path / "run.h5"
    first = subprocess.Popen(calstation_cmd + ["run", LONG, "--simulated", "--yes", "--out", str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_points(out, 30, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    with RunFile(out) as rf:
        before = len(rf.completed())
    second = subprocess.Popen(calstation_cmd + ["run", LONG, "--simulated", "--yes", "--resume", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_points(out, before + 30, second)
    second.send_signal(signal.SIGKILL)
    second.wait()
    with RunFile(out) as rf:
        check = rf.verify()
        assert check.ok and rf.status == "running", check.message
        assert len(rf.completed()) >= before + 30
    done = subprocess.run(calstation_cmd + ["run", LONG, "--simulated", "--yes", "--resume", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with RunFile(out) as rf:
        assert rf.verify().ok and rf.status == "completed"
        assert rf.completed() == list(range(4000))
        kinds = [k for _, k, _ in rf.events()]
        assert kinds.count("started") == 1 and kinds.count("resumed") == 2
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*.lock"))

