"""The command line as a user meets it: runs, bad input, interruptions."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.clock import SystemClock
from drivers.sim.bench import SimBench
from station.cli import main
from station.runfile.reader import RunFile
from tests.conftest import DATA

LONG = str(DATA / "long_dcv.py")


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def served_bench() -> Iterator[tuple[SimBench, dict[str, str]]]:
    """A simulated bench on real time, served over TCP on 127.0.0.1."""
    bench = SimBench(clock=SystemClock(), settle_time_s=0.01)
    try:
        yield bench, bench.serve_tcp()
    finally:
        bench.close()


def _bench_file(tmp_path: Path, standard: str, dut: str, due: str = "2099-01-01",
                calibrated: str | None = None) -> Path:
    import datetime as dt

    calibrated = calibrated or (dt.date.today() - dt.timedelta(days=10)).isoformat()
    p = tmp_path / "bench.toml"
    p.write_text(f"""
[[instrument]]
role = "standard"
driver = "fluke-5522a"
resource = "{standard}"
asset_id = "STD-0042"
calibrated_on = "{calibrated}"
calibration_due = "{due}"
certificate = "NIM-2026-DC-0815"
traceability = "NIM China"
timeout_s = 0.5

[[instrument]]
role = "dut"
driver = "keysight-34401a"
resource = "{dut}"
timeout_s = 0.5
""")
    return p


def _job_file(tmp_path: Path) -> Path:
    p = tmp_path / "job.toml"
    p.write_text('customer_name = "ACME"\ndut_serial = "MY12345"\n')
    return p


def test_run_over_tcp_with_a_bench_file(tmp_path: Path, served_bench: tuple[SimBench, dict[str, str]],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bench, res = served_bench
    out = tmp_path / "run.h5"
    code = main(["run", "keysight-34401a-dcv", "--bench", str(_bench_file(tmp_path, res["calibrator"], res["dmm"])),
                 "--job", str(_job_file(tmp_path)), "--out", str(out), "--yes", "--settle", "0",
                 "--readings", "3"])
    assert code == 0, capsys.readouterr().err
    assert not bench.calibrator.operating
    with RunFile(out) as rf:
        assert rf.status == "completed"
        assert len(rf.points) == 17
        assert rf.job["customer_name"] == "ACME"
        assert rf.instruments[0].resource.startswith("TCPIP::127.0.0.1::")
        assert rf.instruments[0].asset_id == "STD-0042"


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_simulated_run_over_real_transports(tmp_path: Path, transport: str) -> None:
    if transport == "pty" and os.name != "posix":
        pytest.skip("pseudo-terminals are POSIX only")
    out = tmp_path / "run.h5"
    assert main(["run", "keysight-34401a-dcv", "--simulated", "--transport", transport, "--yes",
                 "--out", str(out), "--readings", "3"]) == 0
    with RunFile(out) as rf:
        assert rf.status == "completed" and len(rf.points) == 17
        resource = rf.instruments[1].resource
        assert resource.startswith("TCPIP::127.0.0.1") if transport == "tcp" else resource.startswith("/dev/")


def test_unknown_resource_is_refused_in_one_line(tmp_path: Path, served_bench: tuple[SimBench, dict[str, str]],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _, res = served_bench
    out = tmp_path / "run.h5"
    bench = _bench_file(tmp_path, res["calibrator"], "TCPIP::127.0.0.1::1::SOCKET")
    code = main(["run", "keysight-34401a-dcv", "--bench", str(bench), "--job", str(_job_file(tmp_path)),
                 "--out", str(out), "--yes"])
    assert code == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "TCPIP::127.0.0.1::1::SOCKET" in line
    assert not out.exists()


def test_wrong_model_behind_a_resource_is_refused(tmp_path: Path, served_bench: tuple[SimBench, dict[str, str]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, res = served_bench
    with SimBench(clock=SystemClock()) as other:  # the DUT role points at a second 5522A
        bench = _bench_file(tmp_path, res["calibrator"], other.serve_tcp()["calibrator"])
        code = main(["run", "keysight-34401a-dcv", "--bench", str(bench), "--job", str(_job_file(tmp_path)),
                     "--out", str(tmp_path / "run.h5"), "--yes"])
    assert code == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "dut" in line and "5522A" in line and "34401A" in line


def test_one_instrument_in_two_roles_is_refused(tmp_path: Path, served_bench: tuple[SimBench, dict[str, str]],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _, res = served_bench
    bench = _bench_file(tmp_path, res["calibrator"], res["calibrator"])
    code = main(["run", "keysight-34401a-dcv", "--bench", str(bench), "--job", str(_job_file(tmp_path)),
                 "--out", str(tmp_path / "run.h5"), "--yes"])
    assert code == 3
    line = _one_line_error(capsys.readouterr().err)
    assert res["calibrator"] in line and "'standard'" in line and "'dut'" in line and "two roles" in line


def test_a_silent_instrument_is_refused_naming_it(tmp_path: Path, served_bench: tuple[SimBench, dict[str, str]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bench, res = served_bench
    bench.dmm.fault = "silent"
    code = main(["run", "keysight-34401a-dcv", "--bench", str(_bench_file(tmp_path, res["calibrator"], res["dmm"])),
                 "--job", str(_job_file(tmp_path)), "--out", str(tmp_path / "run.h5"), "--yes"])
    assert code == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "dut" in line and "*IDN?" in line


def test_an_expired_standard_is_refused_before_anything_is_energised(
        tmp_path: Path, served_bench: tuple[SimBench, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    bench, res = served_bench
    path = _bench_file(tmp_path, res["calibrator"], res["dmm"], due="2020-01-01", calibrated="2019-12-01")
    code = main(["run", "keysight-34401a-dcv", "--bench", str(path), "--job", str(_job_file(tmp_path)),
                 "--out", str(tmp_path / "run.h5"), "--yes"])
    assert code == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "STD-0042" in line and "expired on 2020-01-01" in line
    assert not bench.calibrator.operating and bench.calibrator.output_value == 0.0


def test_a_point_outside_the_standards_range_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = tmp_path / "too_high.py"
    proc.write_text((DATA / "long_dcv.py").read_text().replace(
        "round(-10.0 + 20.0 * i / (self.n - 1), 6), self.readings",
        "1100.0, self.readings").replace("10.0, round", "1000.0, round").replace(
        "TestPoint(Function.DCV, 10.0,", "TestPoint(Function.DCV, 1000.0,"))
    code = main(["run", str(proc), "--simulated", "--yes", "--out", str(tmp_path / "run.h5")])
    assert code == 3
    line = _one_line_error(capsys.readouterr().err)
    assert "point 1" in line and "1100 V" in line and "outside the standard's range" in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "no-such-procedure", "--simulated", "--yes"], "unknown procedure 'no-such-procedure'"),
        (["inspect", "missing.h5"], "missing.h5: no such run file"),
        (["run", "keysight-34401a-dcv", "--bench", "nowhere.toml", "--job", "nowhere.toml"], "nowhere.toml: no such bench file"),
    ],
)
def test_bad_input_gets_one_line_and_a_nonzero_exit(argv: list[str], expected: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    assert expected in _one_line_error(capsys.readouterr().err)


def test_a_malformed_procedure_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from station.procedure import Procedure\nclass Bad(Procedure):\n    name = 'bad'\n"
                   "    def points(self): return []\n    def measure(self, ctx, p): pass\n")
    assert main(["run", str(bad), "--simulated", "--yes"]) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert "bad.py" in line and "lacks" in line and "version" in line


def test_a_corrupt_run_file_is_refused_and_left_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4000))
    before = hashlib.sha256(corrupt.read_bytes()).hexdigest()
    for argv in (["inspect", str(corrupt)], ["certificate", str(corrupt)],
                 ["run", LONG, "--simulated", "--yes", "--resume", str(corrupt)]):
        assert main(argv) != 0
        line = _one_line_error(capsys.readouterr().err)
        assert "corrupt.h5" in line
    assert hashlib.sha256(corrupt.read_bytes()).hexdigest() == before


def _wait_for_points(path: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        if path.exists():
            try:
                with RunFile(path) as rf:
                    if len(rf.completed()) >= n:
                        return
            except Exception:
                pass  # the file is being moved into place
        time.sleep(0.01)
    raise AssertionError(f"no {n} points in {path} within {timeout} s")


def test_kill_9_mid_run_then_resume_loses_and_repeats_nothing(tmp_path: Path, calstation_cmd: list[str]) -> None:
    if os.name != "posix":
        pytest.skip("SIGKILL is POSIX")
    out = tmp_path / "run.h5"
    cmd = calstation_cmd + ["run", LONG, "--simulated", "--yes", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_points(out, 50, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with RunFile(out) as rf:
        assert rf.status == "running"  # killed: never marked
        done = rf.completed()
        assert done == list(range(len(done))) and len(done) >= 50
        for i in done:
            assert len(rf.raw(i)[1]) == 5
    resumed = subprocess.run(calstation_cmd + ["run", LONG, "--simulated", "--yes", "--resume", str(out)],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with RunFile(out) as rf:
        assert rf.status == "completed"
        indexes = rf.completed()
        assert indexes == list(range(4000))  # every point once, in order
        raw = rf.points_array()
        assert len(raw) == 4000
        counts = [len(rf.raw(i)[1]) for i in (0, len(done) - 1, len(done), 3999)]
        assert counts == [5, 5, 5, 5]
        kinds = [k for _, k, _ in rf.events()]
        assert kinds.count("started") == 1 and kinds.count("resumed") == 1


def test_ctrl_c_aborts_to_safe_state_and_a_second_one_does_not_interrupt_it(
        tmp_path: Path, calstation_cmd: list[str]) -> None:
    if os.name != "posix":
        pytest.skip("SIGINT delivery to a child is POSIX here")
    out = tmp_path / "run.h5"
    proc = subprocess.Popen(calstation_cmd + ["run", LONG, "--simulated", "--yes", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_points(out, 20, proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err.decode()
    with RunFile(out) as rf:
        assert rf.status == "aborted"
        assert "Ctrl-C" in rf.attrs["end_reason"]
        kinds = [k for _, k, _ in rf.events()]
    assert kinds.index("aborted") < kinds.index("safe_state") < kinds.index("finished")


def test_inspect_prints_the_layout_and_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.h5"
    assert main(["run", "keysight-34401a-dcv", "--simulated", "--yes", "--out", str(out), "--readings", "2"]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--layout"]) == 0
    text = capsys.readouterr().out
    for name in ("/points", "/raw/readings", "/io  [", "/events/index", "/instruments/standard", "@status = completed"):
        assert name in text
    assert main(["inspect", str(out), "--points"]) == 0
    assert capsys.readouterr().out.count(" pass") == 17


def test_help_of_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["demo", "--help"], ["run", "--help"], ["inspect", "--help"],
                 ["certificate", "--help"], ["sim", "serve", "--help"], ["gui", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        assert "usage: calstation" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "3 plan refused" in capsys.readouterr().out.replace("\n", " ")


def test_sim_serve_prints_resources_that_answer(calstation_cmd: list[str]) -> None:
    from drivers.transport import open_transport

    proc = subprocess.Popen(calstation_cmd + ["sim", "serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        expected = {"calibrator": "FLUKE,5522A", "dmm": "HEWLETT-PACKARD,34401A", "ambient": "HART,1620A"}
        kinds = 2 if os.name == "posix" else 1
        lines = [proc.stdout.readline() for _ in range(1 + kinds * len(expected))]
        resources = {(ln.split()[0], ln.split()[1]): ln.split()[2] for ln in lines[1:]}
        assert resources[("calibrator", "TCP")].startswith("TCPIP::127.0.0.1::")
        assert {name for name, _ in resources} == set(expected)
        for (name, kind), resource in resources.items():
            t = open_transport(resource, name=name, timeout_s=2.0)
            try:
                idn = t.query("*IDN?")
            finally:
                t.close()
            assert idn.startswith(expected[name]), (kind, idn)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_resume_finds_the_procedure_in_the_run_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run.h5"
    # the operator answers Abort at the hazard prompt (on the terminal)
    answers = iter(["", "a"])
    monkeypatch.setattr("builtins.input", lambda: next(answers))
    assert main(["run", "keysight-34401a-dcv", "--simulated", "--out", str(out), "--readings", "3"]) == 4
    capsys.readouterr()
    # a different number of readings is a different plan: refused
    assert main(["run", "--simulated", "--yes", "--resume", str(out)]) == 3
    assert "plan differs" in _one_line_error(capsys.readouterr().err)
    assert main(["run", "--simulated", "--yes", "--resume", str(out), "--readings", "3"]) == 0
    with RunFile(out) as rf:
        assert rf.status == "completed" and rf.completed() == list(range(17))
    assert main(["run", "--simulated", "--yes", "--resume", str(tmp_path / "nothing.h5")]) == 1


def test_check_prints_the_plan_with_tur_and_writes_nothing(tmp_path: Path, served_bench: tuple[SimBench, dict[str, str]],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bench, res = served_bench
    out = tmp_path / "run.h5"
    argv = ["run", "keysight-34401a-dcv", "--bench", str(_bench_file(tmp_path, res["calibrator"], res["dmm"])),
            "--job", str(_job_file(tmp_path)), "--out", str(out), "--check"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [ln.split() for ln in lines if ln[:4].strip().isdigit()]
    assert len(rows) == 17
    # 10 V on the 10 V range: 34401A 1 y tolerance 400 uV; 5522A 90 d 120 uV, rectangular;
    # resolution 10 uV at 10 NPLC, half a digit rectangular; k = 2
    # columns: No. function range nominal unit freq readings tolerance TUR [<4:1] specification
    ten = next(r for r in rows if r[2] == "10" and r[3] == "10")
    u = ((120e-6 / 3**0.5) ** 2 + (5e-6 / 3**0.5) ** 2) ** 0.5
    assert float(ten[7]) == pytest.approx(400e-6, rel=1e-2)
    assert float(ten[8]) == pytest.approx(800e-6 / (2 * 2 * u), abs=0.05)
    assert "Keysight 34401A DC voltage, 1y" in " ".join(ten)
    # zero on the 1000 V range: the 1 mV digit dominates (tolerance 10 mV)
    zero_1000 = next(r for r in rows if r[2] == "1000" and r[3] == "0")
    assert float(zero_1000[8]) == pytest.approx(20e-3 / (2 * 2 * 0.5e-3 / 3**0.5), rel=0.01)
    assert not out.exists()
    assert not bench.calibrator.operating
    assert "OPER" not in bench.calibrator.received and not any(m.startswith("OUT") for m in bench.calibrator.received)
