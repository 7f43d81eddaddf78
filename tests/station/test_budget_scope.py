"""Complete budgets through the paths a procedure author and a lab take:
components a procedure declares, a single reading with a stored
repeatability (EA-4/02), and the standard's certificate instead of its
specification."""

from __future__ import annotations

import math
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from procedures.keysight_34401a_dcv import Keysight34401aDcv
from station.bench import BenchConfig
from station.cli import main
from station.engine import Engine
from station.prompts import AutoAnswer
from station.runfile.reader import RunFile
from station.simulated import SimulatedStation


def _procedure(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "proc.py"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def test_a_procedure_adds_its_own_components_to_every_point(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _procedure(tmp_path, """
        from station.metrology.budget import rectangular
        from station.procedure import Function
        from station.templates import MeterAgainstSource

        class WithEmf(MeterAgainstSource):
            name = "with-emf"
            version = "1"
            title = "A DMM with thermal EMF in its budget"
            method = "m"
            table = [(Function.DCV, 0.1, 0.1), (Function.DCV, 10.0, 10.0)]

            def influences(self, point):
                return [rectangular("thermal EMF", 0.5e-6, "thermal EMF of the low-thermal leads")]
    """)
    out = tmp_path / "run.h5"
    assert main(["run", str(path), "--simulated", "--yes", "--readings", "4", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    assert main(["verify", str(out)]) == 0
    with RunFile(out) as rf:
        budgets, points = rf.budgets(), rf.points
    for p in points:
        emf = next(c for c in budgets[p.index] if c.name == "thermal EMF")
        assert emf.kind == "B" and emf.half_width == 0.5e-6 and emf.u == pytest.approx(0.5e-6 / math.sqrt(3))
        assert p.u_combined == pytest.approx(math.sqrt(sum(c.contribution ** 2 for c in budgets[p.index])))
    assert main(["certificate", str(out)]) == 0


def test_a_single_reading_takes_its_repeatability_from_a_stored_evaluation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _procedure(tmp_path, """
        from station.procedure import Function, TestPoint
        from station.templates import MeterAgainstSource

        class OneReading(MeterAgainstSource):
            name = "one-reading"
            version = "1"
            title = "One reading a point"
            method = "m"
            table = [(Function.DCV, 10.0, 10.0), (Function.DCV, 10.0, -10.0)]

            def points(self):
                return [TestPoint(f, r, v, 1, 0.5, nplc=10.0) for f, r, v in self.table]

            def repeatability(self, point):
                return (3e-6, 19.0)  # s of one reading, from 20 readings taken earlier
    """)
    out = tmp_path / "run.h5"
    assert main(["run", str(path), "--simulated", "--yes", "--out", str(out)]) == 0, capsys.readouterr().err
    assert main(["verify", str(out)]) == 0
    with RunFile(out) as rf:
        budgets, points = rf.budgets(), rf.points
    for p in points:
        assert p.n == 1 and math.isnan(p.std_dev)
        rep = next(c for c in budgets[p.index] if c.name == "repeatability")
        assert (rep.kind, rep.half_width, rep.divisor, rep.dof) == ("A", 3e-6, 1.0, 19.0)
        assert "stored evaluation" in rep.description
        assert 19.0 <= p.nu_eff < math.inf  # Welch-Satterthwaite: the stored 19 dof bound it from below


def test_without_a_stored_evaluation_one_reading_is_refused(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _procedure(tmp_path, """
        from station.procedure import Function, TestPoint
        from station.templates import MeterAgainstSource

        class OneReading(MeterAgainstSource):
            name = "one-reading"
            version = "1"
            title = "t"
            method = "m"
            table = [(Function.DCV, 10.0, 10.0)]

            def points(self):
                return [TestPoint(f, r, v, 1, 0.5) for f, r, v in self.table]
    """)
    assert main(["run", str(path), "--simulated", "--yes", "--check"]) == 3
    assert "stored repeatability" in capsys.readouterr().err


def test_the_standard_s_certificate_instead_of_its_specification(tmp_path: Path) -> None:
    """A lab that calibrates its 5522A against a higher standard uses the
    certificate's uncertainty (here 4 ppm + 0.5 uV, k = 2) for it."""
    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        bench = sim.bench()
        std = replace(bench.instruments["standard"], uncertainty_source="certificate",
                      certificate_uncertainty_ppm=4.0, certificate_uncertainty_floor=0.5e-6, certificate_k=2.0)
        bench = BenchConfig({**bench.instruments, "standard": std}, bench.source)
        outcome = Engine(Keysight34401aDcv(readings=4), bench, sim.job(), path, prompts=AutoAnswer(),
                         clock=sim.clock, simulators=sim.simulators).run()
    assert outcome.status == "completed", outcome.reason
    with RunFile(path) as rf:
        budgets, points = rf.budgets(), rf.points
    ten = next(p for p in points if p.range == 10.0 and p.nominal == 10.0)
    standard = next(c for c in budgets[ten.index] if c.name == "standard")
    assert standard.distribution == "normal" and standard.divisor == 2.0
    assert standard.half_width == pytest.approx(4e-6 * 10 + 0.5e-6)
    assert "calibration certificate" in standard.description


def test_the_tempco_applies_outside_the_datasheet_band_from_the_measured_room() -> None:
    """The room reads 30 C, 2 C above the 34401A's 18 C to 28 C band: its
    tolerance at 10 V grows by 2 x the tempco (0.0005 % of reading + 0.0001 %
    of range per C = 60 uV/C); the 5522A's datasheet gives no tempco."""
    def tolerance_at(temperature: float) -> float:
        with SimulatedStation(bench_options={"options": {"ambient": {"temperature_c": temperature}}}) as sim:
            engine = Engine(Keysight34401aDcv(), sim.bench(), sim.job(), Path("unused.h5"), prompts=AutoAnswer(),
                            clock=sim.clock, simulators=sim.simulators)
            plan = engine.preview()
        return next(how.tolerance for p, _, how in plan if p.range == 10.0 and p.nominal == 10.0)

    assert tolerance_at(23.0) == pytest.approx(400e-6, rel=1e-12)
    # the thermo-hygrometer reads the 30 C room within its 0.25 C
    assert 400e-6 + 1.75 * 60e-6 <= tolerance_at(30.0) <= 400e-6 + 2.25 * 60e-6
