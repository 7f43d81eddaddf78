"""The PDF certificate, rendered from run files built here without the engine.

The run files are written through `RunWriter` with points evaluated by
`station.metrology.result.evaluate`, so these tests need no driver and no
simulator. The certificate is read back with poppler's ``pdftotext``, as a
person (or an auditor's tool) would read it. The certificate most tests
read is an issued one (approved: `Issue`), in English; drafts, Chinese and
signatures are in test_pdf_issue.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.roles import Function
from station.certificates import CertificateError, certificate_number, render_pdf
from station.certificates.issue import Issue
from station.certificates.numbers import format_frequency, rounding, scale_of
from station.errors import CalstationError, RunFileError
from station.metrology.budget import MODELS, Component, Distribution, Inputs, rectangular
from station.metrology.decision import SIMPLE
from station.metrology.result import Measured, PointResult, evaluate
from station.runfile.writer import InstrumentRecord, PlanRow, RunHeader, RunWriter

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None,
    reason="pdftotext (poppler-utils) is not installed; `make sysdeps` or "
    "`apt-get install poppler-utils` to read the certificate's text",
)

RUN_ID = "0123abcd-4567-489a-bcde-f0123456789a"
CREATED = "2026-03-10T09:00:00Z"
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC).timestamp()
NUMBER = "CS-20260310-0123ABCD"
REMARK = "Produced on a simulated bench: this document is a demonstration."
RULE = SIMPLE
DUT_SPEC = "Keysight 34401A DC voltage, 1y"
APPROVED = dt.datetime(2026, 3, 11, 8, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Planned:
    """A point of a plan, as a procedure lists it."""

    function: Function
    range: float
    nominal: float
    frequency: float = 0.0

    @property
    def unit(self) -> str:
        return self.function.unit

    @property
    def tolerance(self) -> float:
        """A made-up DUT specification: 35 ppm of reading + 5 ppm of range (0.1 degree C)."""
        if self.function == Function.TEMP:
            return 0.1
        return 35e-6 * abs(self.nominal) + 5e-6 * self.range

    def type_b(self) -> list[Component]:
        """The meter model's type B components for a made-up standard
        (10 ppm of value + 2 ppm of range, rectangular), a 1 ppm digit."""
        inputs = Inputs(10e-6 * abs(self.nominal) + 2e-6 * self.range, Distribution.RECTANGULAR,
                        dut_digit=1e-6 * self.range)
        return MODELS["meter"].type_b(inputs)


#: The 34401A DCV procedure's points, in V.
PLAN = [Planned(Function.DCV, r, v) for r, v in (
    (0.1, 0.0), (0.1, 0.1), (0.1, -0.1), (1.0, 0.0), (1.0, 1.0), (1.0, -1.0),
    (10.0, 0.0), (10.0, 1.0), (10.0, 5.0), (10.0, 10.0), (10.0, -10.0),
    (100.0, 0.0), (100.0, 100.0), (100.0, -100.0),
    (1000.0, 0.0), (1000.0, 1000.0), (1000.0, -1000.0))]
FAILING = 4  # index of the point given an error beyond its tolerance (1 V on the 1 V range)

STANDARD = InstrumentRecord(
    role="standard", kind="standard", driver="fluke-5522a", resource="GPIB0::4::INSTR",
    manufacturer="FLUKE", model="5522A", serial="1234567", firmware="1.4",
    idn="FLUKE,5522A,1234567,1.4", asset_id="STD-0042", description="Multifunction calibrator",
    calibration_due="2027-02-01", certificate="NIM-2026-DC-0815",
    traceability="National Institute of Metrology, China (NIM)",
    specification="Fluke 5522A, 90d specification", distribution="rectangular",
    capabilities="Source, SafeState",
)
DUT = InstrumentRecord(
    role="dut", kind="dut", driver="keysight-34401a", resource="GPIB0::22::INSTR",
    manufacturer="HEWLETT-PACKARD", model="34401A", serial="0", firmware="11-5-2",
    idn="HEWLETT-PACKARD,34401A,0,11-5-2", asset_id="CUST-DMM-7",
    description="Digital multimeter", specification=DUT_SPEC, capabilities="Meter, SelfChecking",
)


def job(**changes: str) -> dict[str, str]:
    base = {
        "lab_name": "Example Calibration Laboratory",
        "lab_address": "1 Example Road, Demo City",
        "location": "Permanent laboratory facility, DC bench 1",
        "customer_name": "Acme Instruments Ltd",
        "customer_address": "2 Sample Street, Demo City",
        "dut_description": "Digital multimeter, 6.5 digit",
        "dut_manufacturer": "Keysight",
        "dut_model": "34401A",
        "dut_serial": "MY41234567",
        "dut_asset_id": "CUST-DMM-7",
        "dut_condition": "No visible damage; functional on receipt",
        "date_received": "2026-03-09",
        "operator": "A. Technician",
        "signatory": "Q. Manager",
        "temperature_c": "23.0 +/- 1.0",
        "humidity_pct": "45 +/- 10",
        "remarks": REMARK,
    }
    base.update(changes)
    return base


def header(job_attrs: Mapping[str, str], points: int = len(PLAN), *,
           plan: Sequence[Planned] = PLAN,
           instruments: tuple[InstrumentRecord, ...] = (STANDARD, DUT)) -> RunHeader:
    return RunHeader(
        run_id=RUN_ID, created=CREATED, software="calstation 0.1.0",
        procedure_name="keysight-34401a-dcv", procedure_version="1.0.0",
        procedure_title="Keysight 34401A digital multimeter, DC voltage",
        procedure_method="Direct comparison with a multifunction calibrator.",
        procedure_sha256="ab" * 32, procedure_source="# procedure source\n",
        decision_rule=str(RULE), decision_statement=RULE.statement,
        job=job_attrs, instruments=instruments,
        plan=tuple(PlanRow(i, str(p.function), p.range, p.nominal, p.unit, 10, 2.0, "as_found", "", 10.0,
                           10.0, p.frequency, p.tolerance, DUT_SPEC)
                   for i, p in enumerate(plan[:points])),
    )


Taken = tuple[PointResult, list[Component], list[float], list[float]]


def point(i: int, phase: str = "as_found", plan: Sequence[Planned] = PLAN,
          extra: Sequence[Component] = ()) -> Taken:
    """Point i of the plan, evaluated from made-up readings (deterministic):
    the result, its budget, the readings' times and values."""
    p = plan[i]
    offset = 1e-4 if i == FAILING and plan is PLAN else 2e-6 * p.range
    noise = [(k % 5 - 2) * 3e-7 * p.range for k in range(10)]
    values = [p.nominal + offset + e for e in noise]
    t_start = T0 + 60.0 * (i + 1)
    times = [t_start + k for k in range(10)]
    result, budget = evaluate(i, str(p.function), p.unit, p.range, p.nominal, p.frequency,
                              Measured(p.nominal, values, []), p.tolerance, MODELS["meter"],
                              [*p.type_b(), *extra], RULE, phase, t_start, times[-1])
    return result, list(budget.components), times, values


def record(w: RunWriter, taken: Taken) -> None:
    result, budget, times, values = taken
    w.point(result, times, values, budget)


def write_run(path: Path, job_attrs: Mapping[str, str] | None = None, *, status: str = "completed",
              reason: str = "all points completed", points: int = len(PLAN),
              as_left_from: int | None = None, plan: Sequence[Planned] = PLAN,
              instruments: tuple[InstrumentRecord, ...] = (STANDARD, DUT),
              extra: Sequence[Component] = ()) -> list[PointResult]:
    # a completed run holds every point of its plan: the plan is as long as the run
    planned = len(plan) if status != "completed" else points
    w = RunWriter.create(path, header(job_attrs or job(), planned, plan=plan, instruments=instruments))
    w.event("started", "keysight-34401a-dcv 1.0.0", t=T0)
    results = []
    for i in range(points):
        as_left = as_left_from is not None and i >= as_left_from
        taken = point(i, "as_left" if as_left else "as_found", plan, extra)
        record(w, taken)
        results.append(taken[0])
    if status == "running":
        w.close()
    else:
        w.finish(status, reason)
    return results


def issue_of(run: Path, languages: str = "en", number: str = NUMBER) -> Issue:
    """The approval of the run file ``run`` (as the register records it)."""
    return Issue(number=number, approved_at=APPROVED, approver="Q. Manager", approver_user="qmanager",
                 approver_role="Authorised signatory", run_sha256=hashlib.sha256(run.read_bytes()).hexdigest(),
                 languages=languages)


def pdf_text(pdf: Path, layout: bool = True) -> list[str]:
    """The text of each page."""
    assert PDFTOTEXT is not None
    args = [PDFTOTEXT, *(["-layout"] if layout else []), str(pdf), "-"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    pages = out.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def flat(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Rendered:
    run: Path
    pdf: Path
    points: list[PointResult]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    d = tmp_path_factory.mktemp("cert")
    run = d / "run.h5"
    points = write_run(run)
    return Rendered(run, render_pdf(run, d / "certificate.pdf", issue_of(run)), points)


def test_same_run_file_gives_the_same_bytes(rendered: Rendered, tmp_path: Path) -> None:
    again = render_pdf(rendered.run, tmp_path / "again.pdf", issue_of(rendered.run))
    assert again.read_bytes() == rendered.pdf.read_bytes()
    data = rendered.pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    # the PDF's own dates are the run's end, not the moment of rendering
    assert re.search(rb"/CreationDate \(D:\d{14}\+00'00'\)", data)


def test_bytes_do_not_depend_on_the_process(rendered: Rendered, tmp_path: Path) -> None:
    """Another process, time zone and hash seed: still the same bytes."""
    out = tmp_path / "other.pdf"
    code = ("import sys; from pathlib import Path; from station.certificates import render_pdf; "
            "from tests.certificates.test_pdf import issue_of; "
            "render_pdf(Path(sys.argv[1]), Path(sys.argv[2]), issue_of(Path(sys.argv[1])))")
    env = {**os.environ, "TZ": "Asia/Shanghai", "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(rendered.run), str(out)], check=True, env=env,
                   cwd=Path(__file__).resolve().parents[2])
    assert out.read_bytes() == rendered.pdf.read_bytes()


def test_certificate_number_comes_from_the_run() -> None:
    assert certificate_number(RUN_ID, CREATED) == NUMBER
    with pytest.raises(CertificateError):
        certificate_number("", CREATED)


@needs_pdftotext
def test_every_page_carries_the_number_and_page_n_of_m(rendered: Rendered) -> None:
    pages = pdf_text(rendered.pdf)
    m = len(pages)
    assert m >= 2
    for n, page in enumerate(pages, start=1):
        assert NUMBER in page, f"page {n} lacks the certificate number"
        assert f"Page {n} of {m}" in page
    assert "End of certificate" in pages[-1]
    assert all("End of certificate" not in p for p in pages[:-1])


@needs_pdftotext
def test_contents_required_by_iso_17025(rendered: Rendered) -> None:
    pages = pdf_text(rendered.pdf, layout=False)
    text = flat(" ".join(pages))
    first = flat(pages[0])
    assert "Calibration Certificate" in first
    assert REMARK in first  # prominent: on the first page, before the results
    for expected in (
        "Example Calibration Laboratory", "1 Example Road, Demo City", "DC bench 1",
        "Acme Instruments Ltd", "2 Sample Street, Demo City",
        "MY41234567", "CUST-DMM-7", "HEWLETT-PACKARD,34401A,0,11-5-2", "No visible damage",
        "2026-03-09",  # receipt
        "2026-03-10",  # calibration
        "2026-03-11",  # issue (approval)
        "A. Technician", "Q. Manager", "Authorised signatory", "Signature",
        "keysight-34401a-dcv", "version 1.0.0", "ab" * 32,
        "Direct comparison with a multifunction calibrator.",
        "relate only to the item calibrated",
        "(23.0 \u00b1 1.0) \u00b0C", "(45 \u00b1 10) %",
        "STD-0042", "NIM-2026-DC-0815", "1234567", "2027-02-01",
        "National Institute of Metrology, China (NIM)",
        "95.45 %", "Welch-Satterthwaite", "JJF 1059.1-2012",
        # the uncertainty statement lists what the recorded budget holds
        "reference standard, specification", "DUT resolution, half the last digit",
        "DUT repeatability, s/sqrt(n), n = 10",
        flat(RULE.statement),
        DUT_SPEC,
        "Deviations from the method None.",
        "Results as found and as left",
    ):
        assert expected in text, expected


@needs_pdftotext
def test_results_are_rounded_to_the_uncertainty(rendered: Rendered) -> None:
    lines = [line for page in pdf_text(rendered.pdf) for line in page.splitlines()]

    def row(p: PointResult) -> str:
        r = rounding(p.expanded_uncertainty, scale_of(p.range, p.unit))
        want = [r.value(p.reference), r.value(p.indication), r.U, f"{p.coverage_factor:.2f}",
                "Pass" if p.decision == "pass" else "Fail"]
        hits = [ln for ln in lines if ln.split()[:1] == [str(p.index + 1)]
                and all(w in ln.split() for w in want)]
        assert len(hits) == 1, (want, hits)
        return hits[0]

    ten_volt = rendered.points[9]  # 10 V on the 10 V range, shown in V
    assert ten_volt.nominal == 10.0
    assert row(ten_volt).split()[:2] == ["10", "10"]  # No. 10, nominal 10 (V)
    hundred_mv = rendered.points[1]  # 100 mV on the 100 mV range, shown in mV
    assert hundred_mv.range == 0.1
    assert row(hundred_mv).split()[:2] == ["2", "100"]
    failing = rendered.points[FAILING]
    assert failing.decision == "fail"
    assert row(failing).split()[-1] == "Fail"
    text = flat(" ".join(pdf_text(rendered.pdf)))
    # one DC voltage table, its ranges apart in it, each in its own prefix
    results_text = text[text.index("6 Results"):]
    assert results_text.count("DC voltage") == 1
    at = [results_text.index(f"{r} range; values in {u}")
          for r, u in (("100 mV", "mV"), ("1 V", "V"), ("10 V", "V"), ("100 V", "V"), ("1000 V", "V"))]
    assert at == sorted(at)
    assert f"Fail or conditional fail at 1 of {len(PLAN)} points" in text


def test_an_aborted_run_gets_no_certificate(tmp_path: Path) -> None:
    run = tmp_path / "aborted.h5"
    write_run(run, status="aborted", reason="interrupted by Ctrl-C", points=3)
    with pytest.raises(CertificateError) as e:
        render_pdf(run, tmp_path / "c.pdf")
    msg = str(e.value)
    assert "\n" not in msg
    assert str(run) in msg and "aborted (interrupted by Ctrl-C)" in msg
    assert "only issued for a completed run" in msg
    assert not (tmp_path / "c.pdf").exists()


def test_a_running_run_gets_no_certificate(tmp_path: Path) -> None:
    run = tmp_path / "running.h5"
    write_run(run, status="running", points=2)
    with pytest.raises(CalstationError, match="is running .*--resume"):
        render_pdf(run, tmp_path / "c.pdf")


def test_a_corrupt_file_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "corrupt.h5"
    run.write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(RunFileError) as e:
        render_pdf(run, tmp_path / "c.pdf")
    assert "\n" not in str(e.value) and str(run) in str(e.value)
    assert not (tmp_path / "c.pdf").exists()


def test_the_run_file_is_never_overwritten(rendered: Rendered) -> None:
    before = rendered.run.read_bytes()
    with pytest.raises(CertificateError, match="overwrite its run file"):
        render_pdf(rendered.run, rendered.run)
    assert rendered.run.read_bytes() == before


def test_text_the_font_cannot_show_is_refused(tmp_path: Path) -> None:
    """Neither Latin-1 nor the CJK font has Gothic letters: refused, never
    printed as empty boxes (Chinese text: test_pdf_issue.py)."""
    run = tmp_path / "gothic.h5"
    write_run(run, job(customer_name="Acme \U00010330\U00010331"), points=2)
    with pytest.raises(CertificateError, match="customer_name") as e:
        render_pdf(run, tmp_path / "c.pdf")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "c.pdf").exists()


@needs_pdftotext
def test_a_resumed_run_lists_the_interruption_as_a_deviation(tmp_path: Path) -> None:
    run = tmp_path / "resumed.h5"
    w = RunWriter.create(run, header(job()))
    for i in range(3):
        record(w, point(i))
    w.event("aborted", "interrupted by Ctrl-C", t=T0 + 300)
    w.finish("aborted", "interrupted by Ctrl-C")
    w = RunWriter.resume(run)
    w.event("resumed", "resumed after 3 completed point(s)", t=T0 + 3600)
    for i in range(3, len(PLAN)):
        record(w, point(i))
    w.finish("completed", "all points completed")
    text = flat(" ".join(pdf_text(render_pdf(run, tmp_path / "c.pdf"), layout=False)))
    assert "interrupted (aborted: interrupted by Ctrl-C) and resumed on 2026-03-10 10:00 UTC" in text
    assert "Deviations from the method None." not in text


@needs_pdftotext
def test_no_statement_of_conformity_when_the_customer_wants_none(tmp_path: Path) -> None:
    run = tmp_path / "noconf.h5"
    write_run(run, job(statement_of_conformity="no"), points=4)
    text = flat(" ".join(pdf_text(render_pdf(run, tmp_path / "c.pdf"))))
    assert "No statement of conformity was requested" in text
    assert "Pass" not in text and "Fail" not in text


@needs_pdftotext
def test_results_before_and_after_adjustment_are_headed_apart(tmp_path: Path) -> None:
    run = tmp_path / "adjusted.h5"
    write_run(run, points=6, as_left_from=3)
    text = flat(" ".join(pdf_text(render_pdf(run, tmp_path / "c.pdf"))))
    found = text.index("Results as found (before adjustment)")
    left = text.index("Results as left (after adjustment)")
    assert found < left
    assert "The item was not adjusted" not in text


@needs_pdftotext
def test_the_certificate_carries_the_seal_of_its_run_file(rendered: Rendered) -> None:
    from station.runfile.reader import RunFile

    with RunFile(rendered.run) as rf:
        seal = rf.attrs["seal"]
        assert rf.verify().ok
    assert len(seal) == 64
    text = flat(" ".join(pdf_text(rendered.pdf, layout=False)))
    assert f"Seal of the calibration record {seal}" in text


def test_every_field_at_the_longest_the_plan_check_allows_still_prints(tmp_path: Path) -> None:
    """The plan check's limits (station/certificates/text.py) are honest:
    whatever text passes them, the certificate can lay out."""
    from dataclasses import replace

    from station.certificates.text import (
        LONG_CHARS,
        LONG_LINES,
        MULTILINE,
        NARROW,
        SHORT_CHARS,
        first_problem,
    )

    def longest(name: str) -> str:
        limit = NARROW.get(name, LONG_CHARS if name in MULTILINE else SHORT_CHARS)
        if name in MULTILINE:  # LONG_LINES lines of the widest Latin letter, unbroken, `limit` in all
            width = (limit - (LONG_LINES - 1)) // LONG_LINES
            text = "\n".join(["W" * width] * LONG_LINES)
            return text + "W" * (limit - len(text))
        return "W" * limit

    fields = {k: longest(k) for k in job()}
    assert first_problem("job field", fields) == ""
    for name in ("asset_id", "description", "certificate", "traceability", "serial"):
        assert first_problem("instrument", {name: longest(name)}) == ""
        assert first_problem("instrument", {name: longest(name) + "W"}) != ""
    standard = replace(STANDARD, **{k: longest(k) for k in ("asset_id", "description", "traceability",
                                                            "serial")},
                       # a thermometer's: its readout's certificate and its probe's
                       certificate=longest("certificate"), probe_certificate=longest("probe_certificate"))
    dut = replace(DUT, **{k: longest(k) for k in ("description", "serial", "asset_id")}, idn="W" * SHORT_CHARS)
    run = tmp_path / "long.h5"
    head = replace(header(fields, 4), instruments=(standard, dut))
    w = RunWriter.create(run, head)
    for i in range(4):
        record(w, point(i))
    w.finish("completed", "all points completed")
    pdf = render_pdf(run, tmp_path / "long.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")


# -- one shape for every calibration: any DUT role, any function, the budget as recorded -----------
def section(text: str, start: str, end: str) -> str:
    """The text of the certificate between two headings."""
    return text[text.index(start):text.index(end)]


def render_text(run: Path, tmp_path: Path, layout: bool = False) -> str:
    return flat(" ".join(pdf_text(render_pdf(run, tmp_path / f"{run.stem}.pdf"), layout=layout)))


@needs_pdftotext
def test_a_dut_in_a_role_not_named_dut_is_certified(tmp_path: Path) -> None:
    from dataclasses import replace

    run = tmp_path / "uut.h5"
    uut, calibrator = replace(DUT, role="uut"), replace(STANDARD, role="calibrator")
    write_run(run, points=4, instruments=(calibrator, uut))
    text = render_text(run, tmp_path)
    assert "HEWLETT-PACKARD,34401A,0,11-5-2" in section(text, "1 Laboratory", "2 Method")
    standards = section(text, "3 Measurement standards", "4 Measurement uncertainty")
    assert "STD-0042" in standards and "NIM-2026-DC-0815" in standards
    assert "34401A" not in standards and "CUST-DMM-7" not in standards  # the item is no standard


def test_a_run_without_exactly_one_dut_is_refused(tmp_path: Path) -> None:
    from dataclasses import replace

    run = tmp_path / "nodut.h5"
    write_run(run, points=2, instruments=(STANDARD, replace(DUT, kind="standard", calibration_due="2027-01-01")))
    with pytest.raises(CertificateError, match="0 instrument\\(s\\) of kind 'dut'") as e:
        render_pdf(run, tmp_path / "c.pdf")
    assert "\n" not in str(e.value)


@needs_pdftotext
def test_the_uncertainty_statement_is_the_recorded_budget(tmp_path: Path, rendered: Rendered) -> None:
    run = tmp_path / "emf.h5"
    emf = rectangular("thermal EMF", 0.5e-6, "thermal EMF of the connections, estimate")
    write_run(run, points=5, extra=[emf])
    statement = section(render_text(run, tmp_path), "4 Measurement uncertainty", "5 Statement")
    assert "thermal EMF" in statement and "thermal EMF of the connections, estimate" in statement
    for recorded in ("reference standard, specification", "DUT resolution, half the last digit",
                     "DUT repeatability, s/sqrt(n), n = 10"):
        assert recorded in statement
    assert "rectangular, a/sqrt(3)" in statement and "type A" in statement
    # the coverage: k and the effective degrees of freedom of these points
    assert "95.45 %" in statement and "Welch-Satterthwaite" in statement
    # a budget without that component says nothing of it
    plain = flat(" ".join(pdf_text(rendered.pdf, layout=False)))
    assert "thermal EMF" not in plain


MIXED = [
    Planned(Function.DCV, 10.0, 10.0),
    Planned(Function.DCI, 10e-3, 5e-3),
    Planned(Function.ACV, 1.0, 1.0, 1e3),
    Planned(Function.ACV, 1.0, 1.0, 50e3),
    Planned(Function.R4W, 10e3, 10e3),
    Planned(Function.DCV, 0.1, 0.1),  # DCV again: its table sits with the other DCV one
]


@needs_pdftotext
def test_a_mixed_function_run_shows_each_functions_unit_and_the_frequency(tmp_path: Path) -> None:
    run = tmp_path / "mixed.h5"
    results = write_run(run, points=len(MIXED), plan=MIXED)
    text = render_text(run, tmp_path, layout=True)
    results_text = text[text.index("6 Results"):]
    tables = ["DC voltage", "DC current", "AC voltage", "Resistance, 4-wire"]
    at = [results_text.index(c) for c in tables]
    assert at == sorted(at), "one table per function, in the order of the run"
    dcv = section(results_text, "DC voltage", "DC current")
    # its two ranges in their own prefixes (the 100 mV point was taken last: it sits in this table)
    assert dcv.index("10 V range; values in V") < dcv.index("100 mV range; values in mV")
    # one unit in a table: in its heads
    current = section(results_text, "DC current", "AC voltage")
    assert "U (mA)" in current and "10 mA range" in current and "values in" not in current
    ac = section(results_text, "AC voltage", "Resistance, 4-wire")
    assert "U (V)" in ac and "1 V range" in ac
    assert "Frequency" in ac and "1 kHz" in ac and "50 kHz" in ac
    assert "U (kOhm)" in results_text[results_text.index("Resistance, 4-wire"):]
    assert "Frequency" not in dcv and "U (" not in dcv
    # a row in its table's prefix: 5 mA on the 10 mA range
    lines = [ln.split() for page in pdf_text(render_pdf(run, tmp_path / "m.pdf")) for ln in page.splitlines()]
    dci = results[1]
    r = rounding(dci.expanded_uncertainty, scale_of(10e-3, "A"))
    assert any(ln[:3] == ["2", "5", r.value(dci.reference)] and r.U in ln for ln in lines)
    assert r.value(dci.reference).startswith("5.000")  # a reference of 5 mA, shown in mA
    assert format_frequency(MIXED[3].frequency) == "50 kHz"


def _observed_run(path: Path, model: str, instruments: tuple[InstrumentRecord, ...],
                  plan: Sequence[Planned], inputs: Inputs, correction: float = 0.0) -> list[PointResult]:
    """A run whose points read the reference (a source DUT measured by a
    meter, or a comparison): readings on both channels where there are."""
    w = RunWriter.create(path, header(job(), len(plan), plan=plan, instruments=instruments))
    out = []
    for i, p in enumerate(plan):
        t = T0 + 60.0 * (i + 1)
        times = [t + k for k in range(10)]
        ref = [p.nominal - correction + (k % 3 - 1) * 0.002 for k in range(10)]
        dut = [p.nominal + 0.01 + (k % 2) * 0.01 for k in range(10)] if model == "comparison" else []
        result, budget = evaluate(i, str(p.function), p.unit, p.range, p.nominal, p.frequency,
                                  Measured(p.nominal, dut, ref, correction), p.tolerance, MODELS[model],
                                  MODELS[model].type_b(inputs), RULE, "as_found", t, times[-1])
        w.point(result, times if dut else [], dut, budget.components, times, ref)
        out.append(result)
    w.finish("completed", "all points completed")
    return out


@needs_pdftotext
def test_a_comparison_in_a_drywell_lists_the_probe_and_reads_in_degrees(tmp_path: Path) -> None:
    from dataclasses import replace

    well = replace(STANDARD, role="well", model="9142", asset_id="EQ-9142", description="Dry-well",
                   certificate="CAL-WELL-7")
    readout = replace(STANDARD, role="reference", model="1524", asset_id="STD-1524",
                      description="Reference thermometer readout with PRT",
                      certificate="CAL-1524-3", probe_certificate="NIM-2026-T-0042")
    indicator = replace(DUT, role="indicator", model="TI-100", description="Temperature indicator",
                        specification="Generic TI-100 temperature, 1y")
    plan = [Planned(Function.TEMP, 0.0, t) for t in (0.0, 50.0, 100.0, 140.0)]
    inputs = Inputs(0.005, Distribution.RECTANGULAR, dut_digit=0.01, probe_uncertainty=0.010, probe_k=2.0,
                    environment={"stability": 0.005, "axial_uniformity": 0.05})
    run = tmp_path / "drywell.h5"
    results = _observed_run(run, "comparison", (well, readout, indicator), plan, inputs, correction=-0.004)
    text = render_text(run, tmp_path)
    standards = section(text, "3 Measurement standards", "4 Measurement uncertainty")
    assert "CAL-WELL-7" in standards and "CAL-1524-3" in standards
    assert "reference probe: NIM-2026-T-0042" in standards
    statement = section(text, "4 Measurement uncertainty", "5 Statement")
    for name in ("reference probe", "reference probe, calibration certificate (U, k = 2)", "axial uniformity",
                 "environment stability", "reference thermometer repeatability"):
        assert name in statement, name
    assert "normal, U/k (k = 2)" in statement
    results_text = text[text.index("6 Results"):]
    assert "Temperature" in results_text and "Indication (\u00b0C)" in results_text
    assert "range" not in section(results_text, "Temperature", "Indication")  # no range to name
    assert "corrected as its calibration certificate states" in results_text
    assert "the mean of the item's readings" in results_text
    hot = results[3]
    r = rounding(hot.expanded_uncertainty, scale_of(140.0, "\u00b0C"))
    assert f"{r.value(hot.reference)} {r.value(hot.indication)}" in text


@needs_pdftotext
def test_a_source_measured_by_a_meter_says_the_indication_is_its_setting(tmp_path: Path) -> None:
    from dataclasses import replace

    meter = replace(STANDARD, model="3458A", asset_id="STD-3458A", description="Reference multimeter")
    calibrator = replace(DUT, role="uut", model="5522A", description="Multifunction calibrator")
    plan = [Planned(Function.DCV, 10.0, v) for v in (1.0, 5.0, 10.0)]
    run = tmp_path / "source.h5"
    _observed_run(run, "source", (meter, calibrator), plan,
                  Inputs(4e-6, Distribution.RECTANGULAR, standard_digit=1e-7))
    text = render_text(run, tmp_path)
    notes = text[text.index("No.: the point's number"):]
    assert "Reference: the mean of the readings of the standard." in notes
    assert "Indication: the value the item was set to (it is a source)." in notes
    statement = section(text, "4 Measurement uncertainty", "5 Statement")
    assert "reference meter resolution, half the last digit" in statement
    assert "DUT resolution" not in statement  # not in this model's budget
