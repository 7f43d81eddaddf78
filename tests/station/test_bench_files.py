"""Bench and job files are read from the outside world: whatever they hold,
reading them gives a configuration or a one-line `ConfigError` naming the
file, never another exception (hypothesis)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.bench import BenchConfig, InstrumentConfig, Job
from station.errors import ConfigError

GOOD = {"role": "standard", "driver": "fluke-5522a", "resource": "GPIB0::4::INSTR", "asset_id": "STD-1",
        "calibrated_on": "2026-09-01", "calibration_due": "2027-09-01", "timeout_s": 2.0, "baudrate": 9600,
        "serial": False}

toml_scalars = st.one_of(
    st.text(max_size=30).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"')
                             .replace("\n", "\\n").replace("\r", "\\r") + '"'),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).lower()),  # TOML: inf, nan
    st.booleans().map(lambda b: "true" if b else "false"),
    st.dates().map(str),
    st.just("[1, 2]"),
    st.just("{ a = 1 }"),
)


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bench.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _table(values: dict[str, str]) -> str:
    return "[[instrument]]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(GOOD) + ["unknown_key"]), value=toml_scalars)
def test_any_value_for_any_key_reads_or_is_refused_in_one_line(tmp_path: Path, key: str, value: str) -> None:
    fields = {k: (f'"{v}"' if isinstance(v, str) else str(v).lower()) for k, v in GOOD.items()}
    fields[key] = value
    path = _write(tmp_path, _table(fields))
    try:
        bench = BenchConfig.load(path)
    except ConfigError as e:
        text = str(e)
        assert "\n" not in text and str(path) in text and len(text) < 400
        assert key in text or "malformed" in text or "needs" in text
        return
    cfg = bench.instruments[bench_role(bench)]
    assert isinstance(cfg, InstrumentConfig)
    for name, v in vars(cfg).items():  # every field has the type it declares
        expected = {"str": str, "float": float, "int": int, "bool": bool}[InstrumentConfig.__dataclass_fields__[name].type]  # type: ignore[index]
        assert isinstance(v, expected), (name, v)
    assert cfg.timeout_s > 0


def bench_role(bench: BenchConfig) -> str:
    return next(iter(bench.instruments))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_are_a_bench_or_a_one_line_refusal(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, data)
    for load in (BenchConfig.load, Job.load):
        try:
            load(path)
        except ConfigError as e:
            assert "\n" not in str(e) and str(path) in str(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["customer_name", "dut_serial", "date_received", "remarks", "nope"]),
       value=toml_scalars)
def test_any_job_value_reads_as_text_or_is_refused(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "job.toml"
    path.write_text(f"{key} = {value}\n", encoding="utf-8")
    try:
        job = Job.load(path)
    except ConfigError as e:
        assert "\n" not in str(e) and str(path) in str(e)
        return
    attrs = job.as_attrs()
    assert all(isinstance(v, str) and "\0" not in v for v in attrs.values())


def test_an_unquoted_date_is_read_as_its_iso_text(tmp_path: Path) -> None:
    fields = {k: (f'"{v}"' if isinstance(v, str) else str(v).lower()) for k, v in GOOD.items()}
    fields["calibration_due"] = "2027-09-01"
    bench = BenchConfig.load(_write(tmp_path, _table(fields)))
    assert bench.instruments["standard"].due_date() == dt.date(2027, 9, 1)


@pytest.mark.parametrize(("key", "value", "named"), [
    ("resource", "42", "resource"),
    ("timeout_s", '"abc"', "timeout_s"),
    ("timeout_s", "-1", "timeout_s"),
    ("baudrate", "9600.5", "baudrate"),
    ("serial", '"yes"', "serial"),
    ("calibration_due", '"next year"', "calibration_due"),
])
def test_wrong_types_are_named(tmp_path: Path, key: str, value: str, named: str) -> None:
    fields = {k: (f'"{v}"' if isinstance(v, str) else str(v).lower()) for k, v in GOOD.items()}
    fields[key] = value
    with pytest.raises(ConfigError, match=named) as e:
        BenchConfig.load(_write(tmp_path, _table(fields)))
    assert "abcabc" not in str(e.value) and len(str(e.value)) < 300
