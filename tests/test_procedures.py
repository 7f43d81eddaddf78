"""Every procedure of the library, end to end on its simulated bench, as a
user runs it: ``calstation run NAME --simulated``, then ``verify`` and
``certificate``; and the three demonstrations by name."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from drivers import registry
from station import library
from station.cli import main
from station.runfile.reader import RunFile

PROCEDURES = sorted(library.available())


def test_the_library_holds_the_three_kinds_of_calibration() -> None:
    kinds = {library.available()[name].measurement for name in PROCEDURES}
    assert kinds == {"meter", "source", "comparison"}


@pytest.mark.parametrize("name", PROCEDURES)
def test_every_procedure_runs_to_a_verified_certificate(name: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"{name}.h5"
    code = main(["run", name, "--simulated", "--yes", "--readings", "4", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert main(["verify", str(out)]) == 0
    assert main(["certificate", str(out)]) == 0
    assert out.with_suffix(".draft.pdf").stat().st_size > 2000
    with RunFile(out) as rf:
        assert rf.status == "completed"
        plan, points, budgets = rf.plan, rf.points, rf.budgets()
        kinds = {r.role: r.kind for r in rf.instruments}
    proc = library.available()[name]
    assert kinds[proc.dut_role] == "dut"
    assert all(kind == "standard" for role, kind in kinds.items() if role != proc.dut_role)
    found = [r for r in plan if r.phase == "as_found"]
    assert len(found) > 0 and [p.index for p in points if p.phase == "as_found"] == [r.index for r in found]
    # a good simulated DUT needs no adjustment: its as-left points are not taken
    assert not [p for p in points if p.phase == "as_left"]
    for p in points:
        components = budgets[p.index]
        names = [c.name for c in components]
        assert len(names) == len(set(names)) >= 3
        # the budget the file holds is the one the point's uncertainty comes from
        u_c = math.sqrt(math.fsum(c.contribution ** 2 for c in components))
        assert u_c == pytest.approx(p.u_combined, rel=1e-12)
        assert p.decision == "pass"


def _sheet_half_width(driver: str, function: str, interval: str, value: float, range_: float,
                      frequency: float, digit: float) -> float:
    return registry.datasheet(driver).function(function).spec(interval).half_width(value, range_, frequency, digit)


def test_a_dmm_in_every_basic_function_is_judged_by_each_function_s_own_spec(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dmm.h5"
    assert main(["run", "keysight-34401a-basic", "--simulated", "--yes", "--readings", "3",
                 "--out", str(out)]) == 0
    with RunFile(out) as rf:
        points = rf.points
        plan = rf.plan
    assert {p.function for p in points} == {"DCV", "DCI", "ACV", "R2W", "R4W"}
    assert {p.function: p.unit for p in points} == {"DCV": "V", "DCI": "A", "ACV": "V", "R2W": "Ohm",
                                                    "R4W": "Ohm"}
    for p, row in zip(points, plan, strict=True):
        sheet = registry.datasheet("keysight-34401a").function(p.function)
        # the 34401A's specifications have no "counts" term: the digit does not enter
        assert not any(r.terms.counts for r in sheet.spec("1y").table.rows)
        expected = _sheet_half_width("keysight-34401a", p.function, "1y", p.nominal, p.range, p.frequency, 0.0)
        assert p.tolerance == pytest.approx(expected, rel=1e-9, abs=1e-15), (p.function, p.range)
        assert row.spec.startswith("Keysight 34401A") and sheet.function.description in row.spec
    acv = [p for p in points if p.function == "ACV"]
    assert acv and all(p.frequency == 1000.0 for p in acv)


def test_demo_list_names_the_three_and_each_runs_by_name(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--list"]) == 0
    listed = capsys.readouterr().out.split("\n")
    names = [line.split()[0] for line in listed if line.strip()]
    assert names == ["dmm", "calibrator", "drywell"]
    for name in names[1:]:  # the dmm demo runs in the test above through `run`
        folder = tmp_path / name
        assert main(["demo", name, "--yes", "--out", str(folder)]) == 0, capsys.readouterr().err
        # the approved certificate, its DCC, and all three files verified
        assert len(list(folder.glob("DEMO-*.pdf"))) == 1 and len(list(folder.glob("DEMO-*.dcc.xml"))) == 1
        assert capsys.readouterr().out.count(": all holds (") == 3


def test_an_unknown_demo_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "nonesuch"]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "nonesuch" in err and "--list" in err


def test_a_connection_prompt_shows_the_procedures_picture(tmp_path: Path) -> None:
    """The demo procedure ships a wiring picture per connection; the prompt
    carries it (the window shows it) and the run file records which."""
    import procedures
    from station.runfile.reader import RunFile

    out = tmp_path / "run.h5"
    assert main(["run", "keysight-34401a-basic", "--simulated", "--yes", "--readings", "2", "--out", str(out)]) == 0
    with RunFile(out) as rf:
        shown = [m for _, k, m in rf.events() if k == "prompt" and m.startswith("Connect the leads")]
    assert len(shown) == 4  # volts, amps, volts again (2-wire), 4-wire
    folder = Path(procedures.__file__).parent
    pictures = [m.rsplit("[picture ", 1)[1].rstrip("]") for m in shown]
    assert pictures == ["images/leads-volts.png", "images/leads-amps.png", "images/leads-volts.png",
                        "images/leads-4wire.png"]
    assert all((folder / p).read_bytes().startswith(b"\x89PNG") for p in pictures)
