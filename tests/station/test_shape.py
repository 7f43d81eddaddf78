"""Bad input to the reshaped station, through the command line: a datasheet
that does not parse or lacks a function a point needs, roles no instrument
can fill, a DUT named by a role that does not exist, two roles on one
instrument. Each refused before anything is energised, in one line naming
the file or point and the fix."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from drivers import datasheet as ds
from station.cli import main
from station.engine import EXIT_PLAN_REFUSED


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _procedure(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "proc.py"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", str(path), "--simulated", "--yes", "--check"])
    return code, _one_line(capsys.readouterr().err)


def test_a_point_whose_function_the_dut_datasheet_lacks_is_refused_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _procedure(tmp_path, """
        from station.procedure import Function
        from station.templates import MeterAgainstSource

        class Aci(MeterAgainstSource):
            name = "aci-test"
            version = "1"
            title = "t"
            method = "m"
            table = [(Function.DCV, 10.0, 10.0), (Function.ACI, 1.0, 0.5, 1000.0)]
    """)
    code, line = _check(path, capsys)
    assert code == EXIT_PLAN_REFUSED
    assert "point 2" in line and "ACI" in line and "k34401a.toml" in line


def test_roles_no_instrument_can_fill_are_refused_naming_the_capability(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _procedure(tmp_path, """
        from station.procedure import Controller, Function, Meter
        from station.templates import MeterAgainstSource

        class NeedsAController(MeterAgainstSource):
            name = "needs-controller"
            version = "1"
            title = "t"
            method = "m"
            roles = {"standard": Controller, "dut": Meter}
            table = [(Function.DCV, 10.0, 10.0)]
    """)
    code, line = _check(path, capsys)
    assert code == EXIT_PLAN_REFUSED
    assert "'standard'" in line and "Controller" in line and "fluke-5522a" in line and "bench file" in line


def test_a_dut_named_by_a_role_that_does_not_exist_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _procedure(tmp_path, """
        from station.procedure import Function
        from station.templates import MeterAgainstSource

        class Uut(MeterAgainstSource):
            name = "uut"
            version = "1"
            title = "t"
            method = "m"
            dut_role = "uut"
            table = [(Function.DCV, 10.0, 10.0)]
    """)
    code = main(["run", str(path), "--simulated", "--yes", "--check"])
    line = _one_line(capsys.readouterr().err)
    assert code != 0
    assert "dut_role" in line and "'uut'" in line and str(path) in line


def test_a_procedure_whose_dut_role_is_uut_runs_to_its_certificate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The DUT is whichever role the procedure says, whatever its name."""
    path = _procedure(tmp_path, """
        from station.procedure import Function, Meter, Role, Source
        from station.templates import MeterAgainstSource

        class Uut(MeterAgainstSource):
            name = "uut"
            version = "1"
            title = "A meter called uut"
            method = "m"
            roles = {"calibrator": Role((Source,)), "uut": Role((Meter,))}
            dut_role = "uut"
            standard_role = "calibrator"
            table = [(Function.DCV, 10.0, 10.0), (Function.DCV, 10.0, -10.0)]
    """)
    out = tmp_path / "uut.h5"
    assert main(["run", str(path), "--simulated", "--yes", "--readings", "3", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    assert main(["certificate", str(out)]) == 0, capsys.readouterr().err


def test_a_procedure_with_falling_setpoints_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _procedure(tmp_path, """
        from station.templates import ComparisonInEnvironment

        class Falling(ComparisonInEnvironment):
            name = "falling"
            version = "1"
            title = "t"
            method = "m"
            setpoints = (100.0, 50.0)
            tolerance = 0.1
            simulated_bench = "drywell-comparison"
    """)
    code = main(["run", str(path), "--simulated", "--yes", "--check"])
    line = _one_line(capsys.readouterr().err)
    assert code != 0 and "rising order" in line


@pytest.mark.parametrize(("text", "names"), [
    ("[datasheet\n", ["not valid TOML"]),
    ('[datasheet]\nmanufacturer = "X"\nmodels = "Y"\nkind = "k"\nsource = "s"\n[functions.DCV]\n',
     ["datasheet.models", "list of model names"]),
    ('[datasheet]\nmanufacturer = "X"\nmodels = ["Y"]\nkind = "k"\nsource = "s"\n[functions.VOLTS]\n',
     ["functions.VOLTS", "DCV"]),
    ('[datasheet]\nmanufacturer = "X"\nmodels = ["Y"]\nkind = "k"\nsource = "s"\n[functions.DCV]\n'
     'ranges = [10, 1]\n', ["functions.DCV.ranges", "ascending"]),
    ('[datasheet]\nmanufacturer = "X"\nmodels = ["Y"]\nkind = "k"\nsource = "s"\n[functions.DCV]\n'
     '[[functions.DCV.accuracy]]\ninterval = "1y"\nrows = [{ range = 10, reading_pct = "0.1" }]\n',
     ["functions.DCV.accuracy[0].rows[0].reading_pct", "a number"]),
    ('[datasheet]\nmanufacturer = "X"\nmodels = ["Y"]\nkind = "k"\nsource = "s"\n[functions.DCV]\n'
     '[[functions.DCV.accuracy]]\ninterval = "1 year"\nrows = [{ range = 10, floor = 1 }]\n',
     ["interval", "24h, 90d, 1y, 2y"]),
    ('[datasheet]\nmanufacturer = "X"\nmodels = ["Y"]\nkind = "k"\nsource = "s"\n[functions.DCV]\n'
     '[[functions.DCV.accuracy]]\ninterval = "1y"\nrows = [{ range = 10, percent = 1 }]\n',
     ["rows[0].percent", "reading_pct"]),
])
def test_a_malformed_datasheet_is_refused_in_one_line_naming_the_file_and_key(
        tmp_path: Path, text: str, names: list[str]) -> None:
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ds.DatasheetError) as info:
        ds.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for name in names:
        assert name in message


def test_a_datasheet_row_in_every_form_makers_print(tmp_path: Path) -> None:
    path = tmp_path / "forms.toml"
    path.write_text("""
[datasheet]
manufacturer = "X"
models = ["Y"]
kind = "k"
source = "s"
[functions.DCV]
ranges = [10]
resolution = 1e-5
[[functions.DCV.accuracy]]
interval = "1y"
rows = [{ range = 10, reading_pct = 0.01, range_pct = 0.002, floor = 3e-6, counts = 2 }]
[functions.ACV]
ranges = [10]
[[functions.ACV.accuracy]]
interval = "90d"
rows = [
  { range = 10, frequency = [10, 40], reading_ppm = 1000, range_ppm = 400 },
  { range = 10, frequency = [40, 20000], reading_ppm = 600, range_ppm = 300 },
]
[functions.TEMP]
[[functions.TEMP.accuracy]]
interval = "1y"
rows = [{ from = -25, to = 0, floor = 0.2 }, { from = 0, to = 150, floor = 0.1, reading_pct = 0.1 }]
""", encoding="utf-8")
    sheet = ds.load(path)
    dcv = sheet.function("DCV")
    assert dcv.spec("1y").half_width(5.0, 10.0, 0.0, dcv.digit(10.0)) == pytest.approx(
        1e-4 * 5 + 2e-5 * 10 + 3e-6 + 2 * 1e-5)
    acv = sheet.function("ACV").spec("90d")
    assert acv.half_width(1.0, 10.0, 1000.0) == pytest.approx(600e-6 + 300e-6 * 10)
    assert acv.half_width(1.0, 10.0, 20.0) == pytest.approx(1000e-6 + 400e-6 * 10)
    with pytest.raises(ds.DatasheetError, match="does not cover .* at 50000 Hz"):
        acv.half_width(1.0, 10.0, 50000.0)
    temp = sheet.function("TEMP").spec("1y")
    assert temp.half_width(-10.0) == pytest.approx(0.2)
    assert temp.half_width(100.0) == pytest.approx(0.1 + 0.1)
    assert math.isfinite(temp.half_width(150.0))
    with pytest.raises(ds.DatasheetError, match="no 24h accuracy"):
        sheet.function("TEMP").spec("24h")
    with pytest.raises(ds.DatasheetError, match="no R4W function"):
        sheet.function("R4W")


def test_a_datasheet_that_does_not_parse_refuses_the_plan_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A lab edits a model's datasheet and breaks it: the run is refused at
    the plan check, before anything is energised, naming the file and key."""
    from drivers import registry

    broken = tmp_path / "k34401a.toml"
    text = registry.entry("keysight-34401a").datasheet_path.read_text(encoding="utf-8")
    broken.write_text(text.replace("reading_pct = 0.0035", 'reading_pct = "0.0035"', 1), encoding="utf-8")
    real = registry.datasheet
    monkeypatch.setattr(registry, "datasheet",
                        lambda key: ds.load(broken) if key == "keysight-34401a" else real(key))
    out = tmp_path / "run.h5"
    code = main(["run", "keysight-34401a-dcv", "--simulated", "--yes", "--out", str(out)])
    line = _one_line(capsys.readouterr().err)
    assert code == EXIT_PLAN_REFUSED
    assert str(broken) in line and "reading_pct" in line and "a number" in line
    assert not out.exists()


def test_the_gui_command_finds_the_window_through_its_entry_point(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`calstation gui` imports no GUI module: it loads what is registered
    under calstation.frontends (pyproject.toml), and says so when nothing is."""
    import importlib.metadata as md

    registered = md.entry_points(group="calstation.frontends", name="gui")
    assert [ep.value for ep in registered] == ["gui.app:main"]
    called: list[dict[str, object]] = []

    def window(argv: list[str], **kw: object) -> int:
        called.append(kw)
        return 0

    class Fake:
        def load(self) -> object:
            return window

    monkeypatch.setattr(md, "entry_points", lambda **kw: [Fake()] if kw.get("group") == "calstation.frontends" else [])
    assert main(["gui", "--simulated"]) == 0
    assert called == [{"simulated": True, "out_dir": None}]
    monkeypatch.setattr(md, "entry_points", lambda **kw: [])
    assert main(["gui", "--simulated"]) != 0
    assert "no GUI is installed" in _one_line(capsys.readouterr().err)


def _toml_value(v: object) -> str:
    import json
    import math as _m

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if _m.isnan(v) else ("inf" if v > 0 else "-inf") if _m.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)


_VALUES = st.one_of(st.floats(allow_nan=True), st.integers(-10**6, 10**6), st.booleans(),
                    st.text(max_size=8), st.lists(st.floats(-1e3, 1e3), max_size=3))
_KEYS = st.sampled_from(["range", "from", "to", "frequency", "reading_pct", "reading_ppm", "range_pct",
                         "range_ppm", "floor", "counts", "percent", "x"])


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.dictionaries(_KEYS, _VALUES, max_size=4), max_size=3),
       interval=st.sampled_from(["1y", "90d", "1 year", ""]), ranges=st.lists(st.floats(-1e4, 1e4), max_size=3))
@example(rows=[{"range": 0.0, "from": 0.0, "reading_pct": 0.0}, {"range": -1, "from": 0.0, "range_pct": 1.0}],
         interval="1y", ranges=[])  # found by Hypothesis: a negative range made a negative limit
def test_any_datasheet_table_parses_or_is_refused_in_one_line(tmp_path_factory: pytest.TempPathFactory,
                                                              rows: list[dict[str, object]], interval: str,
                                                              ranges: list[float]) -> None:
    """Whatever a row holds, the loader either gives a specification whose
    limits are finite and not negative, or refuses in one line naming the
    file: never another exception."""
    body = ", ".join("{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in row.items()) + " }" for row in rows)
    text = (f'[datasheet]\nmanufacturer = "X"\nmodels = ["Y"]\nkind = "k"\nsource = "s"\n[functions.DCV]\n'
            f"ranges = {_toml_value(ranges)}\n[[functions.DCV.accuracy]]\ninterval = {_toml_value(interval)}\n"
            f"rows = [{body}]\n")
    path = tmp_path_factory.mktemp("ds") / "model.toml"
    path.write_text(text, encoding="utf-8")
    try:
        sheet = ds._Reader(path).load()  # uncached: every example its own file
    except ds.DatasheetError as e:
        assert "\n" not in str(e) and str(path) in str(e)
        return
    spec = sheet.function("DCV").spec(interval)
    for row in spec.table.rows:
        value = row.low if math.isfinite(row.low) else 1.0
        try:
            limit = spec.half_width(value, row.range)
        except ds.DatasheetError as e:
            assert "\n" not in str(e)
            continue
        assert limit >= 0 and math.isfinite(limit)
