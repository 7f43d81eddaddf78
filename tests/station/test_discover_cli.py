"""``calstation discover`` as a technician uses it: the simulated bench
served over a real transport, a register set up through the CLI, and the
bench file it writes accepted by ``calstation run --check``; what stops it
is one line on stderr, a non-zero exit and no bench file. Never the
machine's serial ports (``--no-serial``), never a VISA listing through
pyvisa-py (``--no-visa``, or pyvisa-sim's)."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.clock import SystemClock
from drivers.sim.bench import SimBench
from station.cli import main
from station.exitcodes import EXIT_ERROR
from station.locks import resource_lock
from tests.station import test_discovery

TODAY = dt.date.today()
SIM_VISA = f"{Path(__file__).resolve().parents[1] / 'drivers' / 'pyvisa_sim_34401a.yaml'}@sim"
PROCEDURE = "keysight-34401a-basic"

refused = test_discovery.refused  # a TCP resource on 127.0.0.1 where nothing listens

TRANSPORTS = [
    pytest.param("tcp", id="tcp"),
    pytest.param("pty", id="pty", marks=pytest.mark.skipif(
        os.name != "posix", reason="pseudo-terminals need a POSIX system")),
]


@pytest.fixture(autouse=True)
def _no_default_register(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test does touches the user's own register or keys."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("CALSTATION_DB", raising=False)


def _error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("calstation: error: ")
    return lines[0]


@dataclass
class Station:
    """A served bench and a register that knows its standards (serial
    numbers as the simulators answer them) and the DUT ``DMM-7``."""

    bench: SimBench
    res: dict[str, str]
    db: str
    tmp: Path
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(args))
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def ok(self, *args: str) -> str:
        code, out, err = self.cli(*args, "--db", self.db)
        assert code == 0, (args, out, err)
        return out

    def serial(self, key: str) -> str:
        """The serial number the simulator answers to ``*IDN?``."""
        return str(self.bench.simulators[key].idn).split(",")[2]  # type: ignore[attr-defined]

    def register(self, standards: tuple[str, ...] = ("calibrator", "ambient")) -> Station:
        self.ok("register", "user", "add", "ada", "--role", "administrator", "--full-name", "Ada Admin")
        self.ok("register", "user", "add", "li", "--role", "technician", "--full-name", "Li Lei", "--user", "ada")
        self.ok("register", "add", "dut", "DMM-7", "--manufacturer", "Keysight", "--model", "34401A",
                "--serial", "MY41000007", "--user", "li")
        assets = {"calibrator": ("CAL-1", "Fluke", "5522A"), "ambient": ("TH-1", "Fluke", "1620A")}
        for key in standards:
            asset, maker, model = assets[key]
            self.ok("register", "add", "standard", asset, "--manufacturer", maker, "--model", model,
                    "--serial", self.serial(key), "--user", "li")
            self.ok("register", "calibration", asset, "--certificate", f"NIM-{asset}", "--lab", "NIM, China",
                    "--date", (TODAY - dt.timedelta(days=30)).isoformat(),
                    "--due", (TODAY + dt.timedelta(days=335)).isoformat(), "--user", "ada")
        return self

    def discover(self, *args: str, probe: tuple[str, ...] = ("calibrator", "dmm", "ambient"),
                 db: bool = True) -> tuple[int, str, str]:
        probes = [x for key in probe for x in ("--probe", self.res[key])]
        return self.cli("discover", *probes, "--no-visa", "--no-serial", "--timeout", "0.2",
                        *(("--db", self.db) if db else ()), *args)

    def files(self) -> list[str]:
        """What the folder holds besides the register."""
        return sorted(p.name for p in self.tmp.iterdir() if not p.name.startswith("reg.sqlite"))

    def probed(self) -> bool:
        """Whether any simulator of the bench was sent anything."""
        return any(sim.received for sim in self.bench.simulators.values())


def _station(tmp_path: Path, capsys: pytest.CaptureFixture[str], transport: str) -> Iterator[Station]:
    bench = SimBench("dmm-calibrator", clock=SystemClock())
    try:
        res = bench.serve_tcp() if transport == "tcp" else bench.serve_pty()
        yield Station(bench, res, f"sqlite:///{tmp_path / 'reg.sqlite'}", tmp_path, capsys)
    finally:
        bench.close()


@pytest.fixture
def station(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Station]:
    yield from _station(tmp_path, capsys, "tcp")


@pytest.fixture(params=TRANSPORTS)
def any_station(request: pytest.FixtureRequest, tmp_path: Path,
                capsys: pytest.CaptureFixture[str]) -> Iterator[Station]:
    yield from _station(tmp_path, capsys, str(request.param))


# -- a bench file from what answers ------------------------------------------------------


def test_discover_writes_a_bench_file_that_run_check_accepts(any_station: Station) -> None:
    st = any_station.register()
    bench_file = st.tmp / "bench.toml"
    code, out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file))
    assert code == 0, (out, err)

    # what a technician reads: each instrument with its driver and register asset, then the roles
    lines = out.splitlines()
    assert any(ln.startswith(st.res["calibrator"]) and "driver fluke-5522a" in ln and "asset CAL-1" in ln
               for ln in lines), out
    assert any(ln.startswith(st.res["ambient"]) and "driver fluke-1620a" in ln and "asset TH-1" in ln
               for ln in lines), out
    assert "3 of 3 resource(s) answered" in out
    assert any(ln.startswith("role dut: ") and st.res["dmm"] in ln and "DMM-7" in ln for ln in lines), out

    roles = {i["role"]: (i["driver"], i["resource"], i.get("asset_id"))
             for i in tomllib.loads(bench_file.read_text(encoding="utf-8"))["instrument"]}
    assert roles == {"dut": ("keysight-34401a", st.res["dmm"], "DMM-7"),
                     "standard": ("fluke-5522a", st.res["calibrator"], "CAL-1"),
                     "ambient": ("fluke-1620a", st.res["ambient"], "TH-1")}
    assert st.files() == ["bench.toml"]  # and no temporary left beside it

    code, out, err = st.cli("run", PROCEDURE, "--bench", str(bench_file), "--user", "li", "--db", st.db, "--check")
    assert code == 0, (out, err)
    assert f"plan of {PROCEDURE}" in out and "instruments identified" in out


def test_without_an_output_file_the_roles_are_shown_and_nothing_is_written(station: Station) -> None:
    st = station.register()
    code, out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7")
    assert code == 0, (out, err)
    assert any(ln.startswith("role standard: ") and st.res["calibrator"] in ln and "CAL-1" in ln
               for ln in out.splitlines()), out
    assert st.files() == []


def test_visa_lists_the_instrument_and_discover_identifies_it(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["discover", "--no-serial", "--visa-library", SIM_VISA, "--timeout", "0.2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert any(ln.startswith("GPIB0::22::INSTR: ") and "34401A" in ln and "driver keysight-34401a" in ln
               for ln in out.splitlines()), out
    assert "1 of 1 resource(s) answered" in out


def test_a_visa_library_that_cannot_be_loaded_is_a_note_not_a_crash(
        station: Station, tmp_path: Path) -> None:
    library = str(tmp_path / "libvisa-missing.so")
    res = station.res
    code, out, err = station.cli("discover", "--no-serial", "--visa-library", library, "--timeout", "0.2",
                                 "--probe", res["calibrator"])
    notes = [ln for ln in out.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 1 and library in notes[0], out
    # a TCP resource is opened through that VISA library too: its line says why it was not asked
    assert any(ln.startswith(res["calibrator"]) and library in ln for ln in out.splitlines()), out
    assert code == EXIT_ERROR and "Traceback" not in out + err


# -- what stops it: one line, non-zero, no bench file -------------------------------------


def _refused_without_file(st: Station, code: int, err: str, bench_file: Path) -> str:
    assert code == EXIT_ERROR
    assert not bench_file.exists()
    assert st.files() == []
    return _error_line(err)


def test_a_retired_calibrator_is_not_proposed(station: Station) -> None:
    st = station.register()
    st.ok("register", "retire", "CAL-1", "--reason", "dropped", "--user", "ada")
    bench_file = st.tmp / "bench.toml"
    code, _out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file))
    line = _refused_without_file(st, code, err, bench_file)
    assert "'standard'" in line and "CAL-1" in line and "retired" in line


def test_a_calibrator_the_register_does_not_have_is_not_proposed(station: Station) -> None:
    st = station.register(standards=("ambient",))
    bench_file = st.tmp / "bench.toml"
    code, _out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file))
    line = _refused_without_file(st, code, err, bench_file)
    assert "'standard'" in line and "5522A" in line and st.serial("calibrator") in line
    assert "not in the register" in line


def test_a_dut_that_does_not_answer_is_refused(station: Station) -> None:
    st = station.register()
    bench_file = st.tmp / "bench.toml"
    code, _out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file),
                                  probe=("calibrator", "ambient"))
    line = _refused_without_file(st, code, err, bench_file)
    assert "'dut'" in line and "DMM-7" in line and "did not answer" in line


def test_a_dut_a_run_holds_is_not_probed_and_not_proposed(station: Station) -> None:
    st = station.register()
    bench_file = st.tmp / "bench.toml"
    lock = resource_lock(st.res["dmm"], "calstation run x")
    assert lock is not None
    with lock:
        code, out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file))
    line = _refused_without_file(st, code, err, bench_file)
    assert "'dut'" in line and "DMM-7" in line
    held = [ln for ln in out.splitlines() if ln.startswith(st.res["dmm"])]
    assert len(held) == 1 and "in use" in held[0] and "calstation run x" in held[0], out
    assert not st.bench.dmm.received


def test_an_existing_bench_file_is_not_overwritten(station: Station) -> None:
    st = station.register()
    bench_file = st.tmp / "bench.toml"
    bench_file.write_text("# the lab's own bench\n", encoding="utf-8")
    code, _out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file))
    assert code == EXIT_ERROR
    line = _error_line(err)
    assert str(bench_file) in line and "exists" in line
    assert bench_file.read_text(encoding="utf-8") == "# the lab's own bench\n"
    assert st.files() == ["bench.toml"]
    assert not st.probed()  # refused before any instrument was asked


def test_an_output_file_needs_a_procedure(station: Station) -> None:
    st = station.register()
    bench_file = st.tmp / "bench.toml"
    code, _out, err = st.discover("-o", str(bench_file))
    line = _refused_without_file(st, code, err, bench_file)
    assert "--procedure" in line
    assert not st.probed()


def test_an_unknown_dut_is_refused(station: Station) -> None:
    st = station.register()
    bench_file = st.tmp / "bench.toml"
    code, _out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-404", "-o", str(bench_file))
    line = _refused_without_file(st, code, err, bench_file)
    assert "DMM-404" in line and "no such asset" in line
    assert not st.probed()


def test_a_dut_without_a_register_is_refused(station: Station) -> None:
    bench_file = station.tmp / "bench.toml"
    code, _out, err = station.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file), db=False)
    assert code == EXIT_ERROR and not bench_file.exists()
    line = _error_line(err)
    assert "DMM-7" in line and "register" in line


def test_a_bench_file_goes_into_a_new_folder(station: Station) -> None:
    st = station.register()
    bench_file = st.tmp / "benches" / "bench 1" / "bench.toml"
    code, out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file))
    assert code == 0, (out, err)
    roles = {i["role"] for i in tomllib.loads(bench_file.read_text(encoding="utf-8"))["instrument"]}
    assert roles == {"dut", "standard", "ambient"}
    assert [p.name for p in bench_file.parent.iterdir()] == ["bench.toml"]


def test_a_bench_file_where_no_folder_can_be_is_refused(station: Station) -> None:
    st = station.register()
    (st.tmp / "notes.txt").write_text("a file, not a folder\n", encoding="utf-8")
    bench_file = st.tmp / "notes.txt" / "bench.toml"
    code, _out, err = st.discover("--procedure", PROCEDURE, "--dut", "DMM-7", "-o", str(bench_file))
    assert code == EXIT_ERROR
    line = _error_line(err)
    assert str(bench_file) in line and "cannot write there" in line
    assert (st.tmp / "notes.txt").read_text(encoding="utf-8") == "a file, not a folder\n"


# -- nothing there -------------------------------------------------------------------------


def test_nothing_answering_fails_and_says_so(refused: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["discover", "--probe", refused, "--no-visa", "--no-serial", "--timeout", "0.2"])
    out = capsys.readouterr().out
    assert code == EXIT_ERROR
    assert "0 of 1 resource(s) answered" in out
    assert any(ln.startswith(f"{refused}: ") and "nothing listens" in ln for ln in out.splitlines()), out


def test_nothing_to_probe_fails_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["discover", "--no-visa", "--no-serial"])
    assert code == EXIT_ERROR
    line = _error_line(capsys.readouterr().err)
    assert "nothing to probe" in line and "--probe" in line


def test_a_calibration_runs_on_the_discovered_bench_without_a_job_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole job on real TCP: discover, run with the item and the
    customer from the register (the laboratory's header from its settings,
    no job file), the completed run entered for review."""
    bench = SimBench("dmm-calibrator", clock=SystemClock(), options={"calibrator": {"settle_time_s": 0.02}})
    try:
        st = Station(bench, bench.serve_tcp(), f"sqlite:///{tmp_path / 'reg.sqlite'}", tmp_path, capsys).register()
        st.ok("register", "set", "lab_name", "Shenzhen Electrical Calibration Laboratory", "--user", "ada")
        st.ok("register", "set", "location", "Bench 3, Nanshan", "--user", "ada")
        st.ok("register", "customer", "ACME", "--name", "ACME Instruments", "--address", "1 Road, Shenzhen",
              "--user", "li")
        bench_file = tmp_path / "bench.toml"
        code, out, err = st.discover("--procedure", "keysight-34401a-dcv", "--dut", "DMM-7", "-o", str(bench_file))
        assert code == 0, (out, err)
        run = tmp_path / "run.h5"
        code, out, err = st.cli("run", "keysight-34401a-dcv", "--bench", str(bench_file), "--user", "li",
                                "--dut", "DMM-7", "--customer", "ACME", "--db", st.db, "--yes", "--settle", "0",
                                "--readings", "2", "--out", str(run))
        assert code == 0, (out, err)
        assert "entered in the register" in err + out
    finally:
        bench.close()
    from station.runfile.reader import RunFile

    with RunFile(run) as rf:
        assert rf.status == "completed" and rf.verify().ok
        job = rf.job
        assert (job["lab_name"], job["location"]) == ("Shenzhen Electrical Calibration Laboratory", "Bench 3, Nanshan")
        assert (job["dut_asset_id"], job["dut_serial"], job["customer_name"]) == ("DMM-7", "MY41000007",
                                                                                   "ACME Instruments")
        used = {i.role: (i.resource, i.asset_id) for i in rf.instruments}
        assert used["standard"] == (st.res["calibrator"], "CAL-1")
        assert used["dut"][0] == st.res["dmm"] and used["ambient"] == (st.res["ambient"], "TH-1")
        assert len(rf.points) == 17
