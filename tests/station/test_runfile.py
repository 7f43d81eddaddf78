"""The run file keeps exactly what it was given: bytes, readings, events."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.transport import IOEntry, IOLog
from station.errors import RunFileError
from station.runfile.reader import RunFile
from station.runfile.writer import InstrumentRecord, RunHeader, RunWriter


def _header() -> RunHeader:
    inst = tuple(InstrumentRecord(role, role, "drv", "sim://x", "M", "X1", "1", "1", "M,X1,1,1")
                 for role in ("standard", "dut"))
    return RunHeader("id", "2026-11-26T00:00:00Z", "calstation test", "p", "1", "t", "m", "0" * 64, "src",
                     "simple-acceptance", "stmt", {"customer_name": "ACME"}, inst, ())


@settings(max_examples=25, deadline=None)
@given(exchanges=st.lists(st.tuples(st.sampled_from(["standard", "dut"]), st.sampled_from(["tx", "rx"]),
                                    st.binary(max_size=200)), max_size=60))
def test_every_byte_of_the_io_log_reads_back_exactly(tmp_path_factory, exchanges) -> None:
    path = tmp_path_factory.mktemp("io") / "run.h5"
    w = RunWriter.create(path, _header())
    sent = [IOEntry(time.time(), name, direction, data) for name, direction, data in exchanges]  # type: ignore[arg-type]
    ids = {"standard": 0, "dut": 1}
    for e in sent[: len(sent) // 2]:
        w.io_log.add(ids[e.instrument], e.direction == "rx", e.data, e.time)
    w.commit()
    for e in sent[len(sent) // 2 :]:
        w.io_log.add(ids[e.instrument], e.direction == "rx", e.data, e.time)
    w.finish("completed", "ok")
    with RunFile(path) as rf:
        assert list(rf.io()) == sent


def test_events_keep_their_text_and_order(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    w = RunWriter.create(path, _header())
    messages = [("prompt", "Connect the leads: 接上测试线"), ("answer", "Continue"), ("message", "x" * 5000)]
    for kind, text in messages:
        w.event(kind, text)
    w.finish("aborted", "operator")
    with RunFile(path) as rf:
        assert [(k, m) for _, k, m in rf.events()] == messages
        assert rf.status == "aborted" and rf.attrs["end_reason"] == "operator"


def test_readings_cross_chunk_boundaries_intact(tmp_path: Path) -> None:
    from station.metrology.result import PointResult

    path = tmp_path / "run.h5"
    w = RunWriter.create(path, _header())
    rng = np.random.default_rng(1)
    kept = {}
    for i in range(300):  # 300 points of 7 readings: many 4 KiB chunks
        values = rng.normal(10, 1e-5, 7)
        times = np.full(7, 1.7e9 + i)
        r = PointResult(i, "DCV", 10.0, 10.0, 0.0, "V", 10.0, float(values.mean()), 0.0, 9.9, 10.1, 1e-4, 2.0,
                        4.0, "pass", "as_found", 7, 0.0, 0.0, 1.0, 1e-4, float("nan"), float("nan"), 0, 0.0,
                        1e9, 0.0, 0.0, 0.0, f"p{i}")
        ref = values[:3] - 1e-6  # a reference's readings ride along on channel 1
        w.point(r, times, values, (), times[:3], ref)
        kept[i] = values, ref
    w.finish("completed", "ok")
    with RunFile(path) as rf:
        assert rf.completed() == list(range(300))
        for i in (0, 1, 145, 146, 299):
            t, v = rf.raw(i)
            assert np.array_equal(v, kept[i][0]) and np.all(t == 1.7e9 + i)
            assert np.array_equal(rf.raw(i, channel=1)[1], kept[i][1])
        assert rf.points[299].label == "p299"


def test_io_from_an_instrument_outside_the_run_is_refused_not_misfiled(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    w = RunWriter.create(path, _header())
    w.io_log.add(w.io_log.register("dut"), False, b"READ?\n")
    w.commit()
    w.io_log.add(w.io_log.register("dut"), True, b"+1.0E+00\n")
    w.io_log.add(w.io_log.register("intruder"), False, b"*RST\n")
    w.io_log.add(w.io_log.register("standard"), False, b"STBY\n")
    with pytest.raises(RunFileError, match="'intruder', which is not an instrument of this run"):
        w.commit()
    w.close()
    with RunFile(path) as rf:  # nothing of the run's own instruments was lost
        assert [(e.instrument, e.data) for e in rf.io()] == [
            ("dut", b"READ?\n"), ("dut", b"+1.0E+00\n"), ("standard", b"STBY\n")]


def test_a_writer_refuses_an_io_log_that_numbers_instruments_differently(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    RunWriter.create(path, _header()).close()
    with pytest.raises(RunFileError, match="numbers instruments"):
        RunWriter(path, IOLog(["dut", "standard"]))
    with RunFile(path) as rf:  # the file is untouched and still opens
        assert rf.status == "running"


def test_the_final_rewrite_copies_long_tables_in_slices_and_keeps_every_byte(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run file is rewritten when the run ends; long tables are copied
    slice by slice (so the window keeps its turn). With slices of 7 rows
    every table goes that way: the file verifies, and every dataset, its
    dtype, attributes, chunks and filters equal a whole-object copy's."""
    import h5py

    from station.cli import main
    from station.runfile import writer
    from station.runfile.reader import RunFile

    sliced, whole = tmp_path / "sliced.h5", tmp_path / "whole.h5"
    monkeypatch.setattr(writer, "_SLICE_ROWS", 7)
    assert main(["run", "keysight-34401a-dcv", "--simulated", "--yes", "--readings", "3", "--out", str(sliced)]) == 0
    with RunFile(sliced) as rf:
        assert rf.verify().ok
    with h5py.File(sliced, "r") as f, h5py.File(whole, "w") as g:
        for name in f:
            f.copy(f[name], g, name=name)
    with h5py.File(sliced, "r") as f, h5py.File(whole, "r") as g:
        names: list[str] = []
        f.visit(names.append)
        assert any(isinstance(f[n], h5py.Dataset) and f[n].ndim == 1 and f[n].shape[0] > 7 for n in names)
        for n in names:
            a, b = f[n], g[n]
            assert {k: repr(v) for k, v in a.attrs.items()} == {k: repr(v) for k, v in b.attrs.items()}
            if isinstance(a, h5py.Dataset):
                assert a.dtype == b.dtype and a.chunks == b.chunks and a.compression == b.compression
                assert a.maxshape == b.maxshape and a[...].tobytes() == b[...].tobytes()
