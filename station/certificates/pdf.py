"""The calibration certificate as a PDF, rendered from the run file alone.

Contents follow ISO/IEC 17025:2017 7.8.2.1 and 7.8.4.1; docs/certificate.md
maps every element to its place on the certificate and its source in the
run file. Nothing but the run file goes in (no clock, no environment, no
register), and reportlab runs in its invariant mode with the PDF's dates
taken from the run, so the same run file always gives the same bytes and a
certificate can be regenerated and compared byte for byte.

Text is set in the PDF standard fonts (Helvetica), which show the Windows
Latin-1 character set (cp1252) only; a run whose text needs more is refused
with a message rather than printed with missing glyphs (the engine's plan
check applies the same rule, `station.certificates.text`, before a run
starts). A run file is verified (`RunFile.verify`: hash chain, seal, every
point re-derived from its raw readings) before anything is printed, and the
printed results are those re-derived from ``/raw/readings``. Every fixed phrase
is in `TEXT_EN`, so a bilingual certificate needs a second table and an
embedded font, not a new layout.

One layout serves every kind of calibration: the item is the instrument
recorded as kind ``dut`` (whatever its procedure calls the role), every
instrument of kind ``standard`` is listed with its certificate (and its
reference probe's); the results are one table per function, its ranges in
it, every value in its range's prefix and unit, with the frequency of AC
points; the uncertainty statement lists the components of the budgets
recorded in ``/budget`` (not a fixed sentence), and the notes say how this
run's reference values and indications were obtained. Numbers are written
by `station.certificates.numbers`, as the GUI writes them.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from drivers.errors import CalstationError
from drivers.roles import Function
from station.certificates.numbers import (
    Scale,
    fixed,
    format_frequency,
    format_level,
    number,
    rounding,
    scale_of,
)
from station.certificates.text import problem
from station.errors import IntegrityError, one_line
from station.metrology.budget import Component
from station.metrology.decision import NOT_CONFORMING
from station.metrology.result import PointResult
from station.metrology.uncertainty import COVERAGE_PROBABILITY
from station.runfile.files import write_image
from station.runfile.layout import AMBIENT_MESSAGE
from station.runfile.reader import RunFile
from station.runfile.records import InstrumentRecord

__all__ = ["CertificateError", "TEXT_EN", "certificate_number", "render_pdf"]


class CertificateError(CalstationError):
    """A run file that cannot (or may not) be turned into a certificate."""


#: Every fixed phrase of the certificate, in one place (a Chinese table and
#: an embedded CJK font make the bilingual version). Paragraph markup allowed.
TEXT_EN: dict[str, str] = {
    "title": "Calibration Certificate",
    "cert_no": "Certificate No.",
    "page": "Page {n} of {m}",
    "end": "End of certificate",
    "not_reproduced": "This certificate shall not be reproduced except in full without the "
    "written approval of the issuing laboratory.",
    "remarks": "Remarks",
    # section 1
    "s_admin": "1  Laboratory, customer and item",
    "lab": "Issued by",
    "place": "Place of calibration",
    "customer": "Customer",
    "item": "Item calibrated",
    "manufacturer_model": "Manufacturer, model",
    "serial": "Serial number",
    "asset": "Asset ID",
    "idn": "Identification read from the item (*IDN?)",
    "idn_serial_note": "the item reports serial number {idn} electronically",
    "condition": "Condition on receipt",
    "received": "Date of receipt",
    "calibrated": "Date(s) of calibration",
    "issued": "Date of issue",
    "environment": "Environmental conditions",
    "temperature": "Ambient temperature {v} &deg;C",
    "humidity": "relative humidity {v} %",
    "ambient_measured": "<br/>measured during the calibration: {t0} &deg;C to {t1} &deg;C, relative "
    "humidity {h0} % to {h1} % (thermo-hygrometer {asset})",
    "not_recorded": "not recorded",
    "operator": "Calibrated by",
    "run": "Calibration record",
    "run_text": "run {run_id}, started {created}, finished {finished} (UTC), recorded by {software}",
    "relate_only": "The results in this certificate relate only to the item calibrated, as "
    "identified above, at the time and under the conditions of its calibration.",
    "authorised": "Authorised by",
    "signature": "Signature",
    "function": "Function",
    "date": "Date",
    # section 2
    "s_method": "2  Method",
    "procedure": "Procedure",
    "procedure_text": "{title}<br/>calstation procedure {name}, version {version}",
    "sha256": "SHA-256 of the procedure",
    "seal": "Seal of the calibration record",
    "seal_text": "{seal}<br/>(SHA-256; <font face='Courier'>calstation verify</font> checks the run "
    "file against it)",
    "method": "Method",
    "dut_spec": "Specification of the item",
    "deviations": "Deviations from the method",
    "none": "None.",
    "resumed": "The run was interrupted ({why}) and resumed on {when} UTC ({what}). Points "
    "completed before the interruption are reported as recorded; the remaining points were "
    "measured after the resumption.",
    "interrupted_unknown": "reason not recorded",
    "missing_points": "Planned point(s) not reported: {which}.",
    "sampling": "Sampling",
    "sampling_text": "Not applicable: the item itself was calibrated.",
    "external": "External providers",
    "external_text": "None: all results were obtained by the issuing laboratory.",
    # section 3
    "s_trace": "3  Measurement standards and traceability",
    "trace_text": "The metrological traceability of the results is established through the "
    "measurement standards listed below, as stated for each (from its own calibration "
    "certificate). Each was identified electronically at the start of the calibration and was "
    "within its calibration interval on the date(s) of calibration.",
    "std_instrument": "Standard",
    "std_asset": "Asset ID",
    "std_cert": "Certificate No.",
    "std_due": "Calibration due",
    "std_trace": "Traceability",
    "std_spec": "Specification used: {spec}; {dist} distribution",
    "std_serial": "serial {serial}",
    "std_probe": "reference probe: {certificate}",
    # section 4
    "s_unc": "4  Measurement uncertainty",
    "unc_text": "The expanded uncertainty of measurement <i>U</i> = <i>k</i> &middot; "
    "<i>u</i><sub>c</sub> is stated for each point in the unit of its result. The combined "
    "standard uncertainty <i>u</i><sub>c</sub> of a point is the root sum of squares of the "
    "contributions of the components of its uncertainty budget, which the calibration record "
    "holds for every point. The components are:",
    "unc_head_name": "Component",
    "unc_head_desc": "Source",
    "unc_head_eval": "Evaluation",
    "unc_head_points": "Points",
    "unc_all_points": "all",
    "type_a": "type A, from the readings",
    "type_b": "type B, {distribution}",
    "dist_rectangular": "rectangular, <i>a</i>/sqrt(3)",
    "dist_normal_k": "normal, <i>U</i>/<i>k</i> (<i>k</i> = {k})",
    "dist_other": "{name}, divisor {divisor}",
    "unc_coverage": "The coverage factor <i>k</i> is Student's <i>t</i> for a coverage probability "
    "of approximately {p} % and the effective degrees of freedom <i>v</i><sub>eff</sub> of the "
    "point's budget from the Welch-Satterthwaite formula, rounded down to an integer "
    "(<i>k</i> = 2 for large degrees of freedom): here <i>v</i><sub>eff</sub> is {nu} and "
    "<i>k</i> is {k}, as stated for each point in the results. The uncertainty was evaluated "
    "according to JCGM 100:2008 (GUM) and JJF 1059.1-2012. <i>U</i> is rounded up to two "
    "significant digits and each result is rounded to the same decimal place. The uncertainty "
    "does not include the long-term stability of the item.",
    "unc_rectangular": "At {which} point(s) the budget is dominated by a component with a "
    "rectangular distribution: there <i>U</i> = <i>k</i> <i>u</i><sub>c</sub> covers a probability of "
    "not less than 95 %, more than stated above (the interval is conservative; GUM G.6.6).",
    "unc_monte_carlo": "The expanded uncertainty <i>U</i> was evaluated by the Monte Carlo method of "
    "JCGM 101:2008 (GUM Supplement 1) and JJF 1059.2-2012: the distributions of the components above "
    "were propagated ({lo} to {hi} trials a point, adaptively, to a numerical tolerance of two "
    "significant digits of the standard uncertainty), and <i>U</i> is the half-width of the smallest "
    "interval about the result that contains the shortest coverage interval for a probability of 95 %. "
    "<i>k</i> = <i>U</i>/<i>u</i><sub>c</sub> is stated for each point ({k}). <i>U</i> is rounded up to two "
    "significant digits and each result is rounded to the same decimal place. The uncertainty does not "
    "include the long-term stability of the item.",
    "nu_infinite": "infinite",
    "nu_large": "over {n}",
    "nu_range": "{lo} to {hi}",
    # section 5
    "s_conf": "5  Statement of conformity",
    "decision_rule": "Decision rule",
    "conf_spec": "Specification",
    "conf_result": "Result",
    "conf_pass": "Pass at all {n} points: the item conforms to the specification at the "
    "points tested.",
    "conf_fail": "Fail or conditional fail at {f} of {n} points (No. {which}, marked so in the "
    "results): the item does not conform to the specification at the points tested.",
    "conf_conditional": "No point fails; {c} of {n} points (No. {which}) are a conditional pass: their "
    "measured values lie within the tolerance limits but within the guard band of a limit, so "
    "conformity there is not shown with the confidence the decision rule requires.",
    "conf_as_left": "As left (after adjustment):",
    "conf_found_fail": "As found (before adjustment) the item did not conform at {f} point(s) (No. {which}).",
    "conf_found_pass": "As found (before adjustment) it conformed at every point.",
    "conf_none": "No statement of conformity was requested; none is given. The tolerance "
    "limits of the specification are shown for information.",
    # section 6
    "s_results": "6  Results",
    "no_adjustment": "The item was not adjusted: the results below are both as found and as "
    "left.",
    "as_found": "Results as found (before adjustment)",
    "as_left": "Results as left (after adjustment)",
    "as_found_only": "Results as found and as left",
    "range_row": "{range} range",
    "values_in": "values in {u}",
    "c_no": "No.",
    "c_nominal": "Nominal ({u})",
    "c_frequency": "Frequency",
    "c_reference": "Reference ({u})",
    "c_indication": "Indication ({u})",
    "c_error": "Error ({u})",
    "c_lower": "Lower limit ({u})",
    "c_upper": "Upper limit ({u})",
    "c_U": "<i>U</i> ({u})",
    "c_k": "<i>k</i>",
    "c_decision": "Result",
    "pass": "Pass",
    "fail": "Fail",
    "conditional pass": "Conditional pass",
    "conditional fail": "Conditional fail",
    "notes": "No.: the point's number in the calibration record. Reference: {reference}. "
    "Indication: {indication}. Error = indication - reference. Lower and upper limit: the "
    "tolerance limits of the indication from the specification of the item. <i>U</i>: expanded "
    "uncertainty of the error, with coverage factor <i>k</i>.",
    "notes_frequency": " Frequency: of the AC points.",
    "ref_applied": "the value applied by the standard",
    "ref_read": "the mean of the readings of the standard",
    "ref_corrected": "the mean of the readings of the reference, corrected as its calibration "
    "certificate states",
    "ind_read": "the mean of the item's readings",
    "ind_set": "the value the item was set to (it is a source)",
    "either": " or ",
    "notes_conf": " Result: the decision under the rule in section 5, made on the unrounded "
    "values.",
}

_PHASE_ORDER = {"as_found": 0, "as_left": 1}
_NO = {"no", "false", "0", "off"}
#: The fields of an InstrumentRecord the certificate prints.
_RECORD_TEXT = ("role", "manufacturer", "model", "serial", "idn", "asset_id", "description",
                "calibration_due", "certificate", "traceability", "specification", "distribution")


# -- what goes on the certificate, all from the run file ---------------------------
@dataclass(frozen=True)
class _Standard:
    record: InstrumentRecord
    due: dt.date
    certificate: str  # its own calibration certificate
    probe: str  # its reference probe's certificate (a thermometer), or ""


@dataclass(frozen=True)
class _Data:
    path: Path
    number: str
    attrs: Mapping[str, str]
    job: Mapping[str, str]
    procedure: Mapping[str, str]
    dut: InstrumentRecord
    standards: tuple[_Standard, ...]
    points: tuple[PointResult, ...]
    budgets: Mapping[int, Sequence[Component]]  # by point index, as recorded in /budget
    #: how each point was observed: (the DUT's readings, the reference's readings), by index
    observed: Mapping[int, tuple[int, int]]
    created: dt.datetime
    finished: dt.datetime
    first: dt.datetime  # start of the first point
    last: dt.datetime  # end of the last point
    deviations: tuple[str, ...]
    #: The ambient conditions the thermo-hygrometer recorded during the run:
    #: ((lowest, highest) degrees C, (lowest, highest) %RH, its asset), or None.
    ambient: tuple[tuple[float, float], tuple[float, float], str] | None
    conformity: bool


def certificate_number(run_id: str, created: str) -> str:
    """The certificate's unique identification, derived from the run file:
    ``CS-<created date YYYYMMDD>-<first 8 characters of the run id>``."""
    ident = re.sub(r"[^0-9A-Za-z]", "", run_id)[:8].upper()
    day = created[:10].replace("-", "")
    if not ident or not re.fullmatch(r"\d{8}", day):
        raise CertificateError(
            f"run id {run_id!r} / created {created!r} give no certificate number; "
            "the run file's header is damaged"
        )
    return f"CS-{day}-{ident}"


def _check(path: Path, what: str, name: str, text: str) -> str:
    """Text as the certificate can print it, or a refusal naming the field."""
    found = problem(what, name, text)
    if found:
        raise CertificateError(f"{path}: {found}")
    return text


def _checked(path: Path, where: str, values: Mapping[str, str]) -> dict[str, str]:
    return {k: _check(path, where, k, v) for k, v in values.items()}


def _timestamp(path: Path, what: str, text: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CertificateError(
            f"{path}: the run's {what} time {text!r} is not an ISO 8601 time; the run file's "
            "header is damaged"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def _refuse_status(path: Path, attrs: Mapping[str, str]) -> None:
    status = attrs.get("status", "")
    if status == "completed":
        return
    run = attrs.get("run_id", "?")
    reason = one_line(attrs.get("end_reason", "")) or "no reason recorded"
    if status == "running":
        hint = ("it is still running or was interrupted; finish it with `calstation run ... "
                "--resume`")
    else:
        hint = "resume it to completion or repeat the calibration"
    raise CertificateError(
        f"{path}: run {run} is {status or 'without a status'} ({reason}); a certificate is only "
        f"issued for a completed run: {hint}"
    )


def _deviations(rf: RunFile, points: Sequence[PointResult]) -> tuple[str, ...]:
    out: list[str] = []
    why = ""
    for t, kind, message in rf.events():
        if kind in ("aborted", "failed"):
            why = f"{kind}: {one_line(message)}"
        elif kind == "resumed":
            out.append(TEXT_EN["resumed"].format(
                why=escape(why or TEXT_EN["interrupted_unknown"]),
                when=_utc(t).strftime("%Y-%m-%d %H:%M"),
                what=escape(one_line(message)),
            ))
            why = ""
        elif kind == "deviation":
            out.append(escape(one_line(message)))
    done = {p.index for p in points}
    missing = [row for row in rf.plan if row.index not in done]
    if missing:
        which = ", ".join(f"{r.index + 1} ({_point_name(r.function, r.nominal, r.unit, r.range, r.frequency)})"
                          for r in missing)
        out.append(TEXT_EN["missing_points"].format(which=escape(which)))
    return tuple(out)


def _collect(rf: RunFile) -> _Data:
    path = rf.path
    attrs = rf.attrs
    _refuse_status(path, attrs)
    attrs = _checked(path, "run attribute", attrs)
    job = _checked(path, "job field", rf.job)
    procedure = _checked(path, "procedure field", rf.procedure)
    cert_no = certificate_number(attrs.get("run_id", ""), attrs.get("created", ""))
    created = _timestamp(path, "start", attrs.get("created", ""))
    finished = _timestamp(path, "finish", attrs.get("finished", ""))
    records = rf.instruments
    for r in records:
        _checked(path, f"instrument {r.role!r} field",
                 {k: str(getattr(r, k)) for k in _RECORD_TEXT if k != "certificate"})
    duts = [r for r in records if r.kind == "dut"]
    if len(duts) != 1:
        found = ", ".join(repr(r.role) for r in duts) or "none"
        raise CertificateError(f"{path}: the run records {len(duts)} instrument(s) of kind 'dut' "
                               f"({found}); a certificate is for exactly one item: the run file is "
                               "incomplete or damaged")
    odd = [r for r in records if r.kind not in ("dut", "standard")]
    if odd:
        raise CertificateError(f"{path}: instrument {odd[0].role!r} is of kind {odd[0].kind!r}, "
                               "neither 'dut' nor 'standard'; this calstation cannot state its part "
                               "in the calibration: render the certificate with the version that "
                               "wrote the run")
    points = tuple(rf.derived_points())  # re-derived from /raw by the verify before
    if not points:
        raise CertificateError(f"{path}: run {attrs.get('run_id', '?')} holds no results; "
                               "there is nothing to certify")
    for p in points:
        _checked(path, f"point {p.index + 1}", {"function": p.function, "unit": p.unit, "phase": p.phase,
                                                "decision": p.decision, "label": p.label})
    budgets = rf.budgets()
    for i, components in budgets.items():
        for c in components:
            _checked(path, f"budget component of point {i + 1}",
                     {"name": c.name, "distribution": c.distribution, "description": c.description})
    dut_raw, ref_raw = rf.raw_by_point(0), rf.raw_by_point(1)
    observed = {p.index: (len(dut_raw.get(p.index, ())), len(ref_raw.get(p.index, ()))) for p in points}
    first = _utc(min(p.t_start for p in points))
    last = _utc(max(p.t_end for p in points))
    standards = []
    for r in records:
        if r.kind != "standard":
            continue
        try:
            due = dt.date.fromisoformat(r.calibration_due)
        except ValueError:
            raise CertificateError(
                f"{path}: standard {r.role!r} ({r.asset_id or r.model}) has no valid calibration "
                f"due date ({r.calibration_due!r}); a certificate cannot claim traceability "
                "through it"
            ) from None
        if due < last.date():
            raise CertificateError(
                f"{path}: standard {r.role!r} ({r.asset_id or r.model}) was due for calibration "
                f"on {due.isoformat()}, before this calibration ({last.date().isoformat()}); "
                "repeat the calibration with a standard in calibration"
            )
        what = f"instrument {r.role!r} field"
        standards.append(_Standard(r, due, _check(path, what, "certificate", r.certificate),
                                   _check(path, what, "probe_certificate", r.probe_certificate)))
    conformity = bool(attrs.get("decision_statement")) and (
        job.get("statement_of_conformity", "yes").strip().lower() not in _NO
    )
    return _Data(
        path=path, number=cert_no, attrs=attrs, job=job, procedure=procedure, dut=duts[0],
        standards=tuple(standards), points=points, budgets=budgets, observed=observed,
        created=created, finished=finished, first=first, last=last,
        deviations=_deviations(rf, points), conformity=conformity, ambient=_ambient(rf, records),
    )


# -- numbers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    nominal: str
    frequency: str
    reference: str
    indication: str
    error: str
    lower: str
    upper: str
    U: str
    k: str
    decision: str


def _row(p: PointResult, scale: Scale) -> _Row:
    """A point's row, every value in ``scale`` (its table's range's prefix)."""
    r = rounding(p.expanded_uncertainty, scale)
    return _Row(
        nominal=number(scale.of(p.nominal)),
        frequency=format_frequency(p.frequency) if p.frequency > 0 else "",
        reference=r.value(p.reference),
        indication=r.value(p.indication),
        error=r.value(p.error),
        lower=r.limit(p.lower_limit, lower=True),
        upper=r.limit(p.upper_limit, lower=False),
        U=r.U,
        k=fixed(p.coverage_factor, 2),
        decision=TEXT_EN.get(p.decision, escape(p.decision.capitalize())),
    )


def _plusminus(text: str) -> str:
    """'23.0 +/- 1.0' -> '(23.0 &plusmn; 1.0)'; other text as it is."""
    text = text.strip()
    if "+/-" in text:
        a, b = (s.strip() for s in text.split("+/-", 1))
        return f"({escape(a)} &plusmn; {escape(b)})"
    return escape(text)


def _function_name(function: str) -> str:
    try:
        name = Function(function).description
    except ValueError:
        name = function
    return name[:1].upper() + name[1:]


def _point_name(function: str, nominal: float, unit: str, range_: float, frequency: float) -> str:
    text = f"{function} {format_level(nominal, unit, range_)}"
    return text + (f" at {format_frequency(frequency)}" if frequency > 0 else "")


# -- layout ------------------------------------------------------------------------------
PAGE_W, PAGE_H = A4
MARGIN_X = 20 * mm
TOP = 30 * mm
BOTTOM = 24 * mm
WIDTH = PAGE_W - 2 * MARGIN_X
DARK = colors.Color(0.12, 0.20, 0.35)
SHADE = colors.Color(0.91, 0.93, 0.96)
SHADE_LIGHT = colors.Color(0.96, 0.97, 0.98)
LINE = colors.Color(0.55, 0.60, 0.68)
RED = colors.Color(0.75, 0.05, 0.05)

_BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=9, leading=11.5)
_SMALL = ParagraphStyle("small", parent=_BASE, fontSize=7.5, leading=9.5)
_LABEL = ParagraphStyle("label", parent=_BASE, fontName="Helvetica-Bold")
_TITLE = ParagraphStyle("title", parent=_BASE, fontName="Helvetica-Bold", fontSize=20,
                        leading=24, alignment=TA_CENTER, textColor=DARK)
_NUMBER = ParagraphStyle("number", parent=_BASE, fontName="Helvetica-Bold", fontSize=11,
                         leading=14, alignment=TA_CENTER)
_H1 = ParagraphStyle("h1", parent=_BASE, fontName="Helvetica-Bold", fontSize=11, leading=14,
                     spaceBefore=10, spaceAfter=4, textColor=DARK, keepWithNext=1)
_H2 = ParagraphStyle("h2", parent=_BASE, fontName="Helvetica-Bold", fontSize=10, leading=13,
                     spaceBefore=8, spaceAfter=2, textColor=DARK, keepWithNext=1)
_H3 = ParagraphStyle("h3", parent=_BASE, fontName="Helvetica-Bold", fontSize=9, leading=12,
                     spaceBefore=6, spaceAfter=2, keepWithNext=1)
_HEAD = ParagraphStyle("head", parent=_SMALL, fontName="Helvetica-Bold", alignment=TA_CENTER)
_CELL = ParagraphStyle("cell", parent=_SMALL)
_RANGE = ParagraphStyle("range", parent=_SMALL, fontName="Helvetica-Bold")
_REMARK = ParagraphStyle("remark", parent=_BASE, fontName="Helvetica-Bold", fontSize=10,
                         leading=13, textColor=RED)
_END = ParagraphStyle("end", parent=_BASE, fontName="Helvetica-Bold", alignment=TA_CENTER,
                      spaceBefore=14)


def _p(text: str, style: ParagraphStyle = _BASE) -> Paragraph:
    return Paragraph(text, style)


def _e(text: str) -> str:
    """Run-file text escaped for Paragraph markup, line breaks kept."""
    return "<br/>".join(escape(line) for line in text.strip().splitlines())


def _fields(rows: Sequence[tuple[str, str]]) -> Table:
    """A label/value block."""
    t = Table([[_p(k, _LABEL), _p(v)] for k, v in rows], colWidths=[48 * mm, WIDTH - 48 * mm])
    t.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.6),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, SHADE),
    ]))
    return t


def _admin(d: _Data) -> list[Flowable]:
    j, dut, T = d.job, d.dut, TEXT_EN
    maker = j.get("dut_manufacturer") or dut.manufacturer
    model = j.get("dut_model") or dut.model
    serial = j.get("dut_serial", "").strip()
    idn_serial = dut.serial.strip()
    if not serial:
        serial = idn_serial
    elif idn_serial and idn_serial not in ("0", serial):
        serial = f"{serial} ({T['idn_serial_note'].format(idn=idn_serial)})"
    if f"{d.first:%Y-%m-%d %H:%M}" == f"{d.last:%Y-%m-%d %H:%M}":
        when = f"{d.first:%Y-%m-%d} ({d.first:%H:%M} UTC)"
    elif d.first.date() == d.last.date():
        when = f"{d.first:%Y-%m-%d} ({d.first:%H:%M} to {d.last:%H:%M} UTC)"
    else:
        when = f"{d.first:%Y-%m-%d %H:%M} UTC to {d.last:%Y-%m-%d %H:%M} UTC"
    if d.ambient is not None:
        (t0, t1), (h0, h1), asset = d.ambient
        env_measured = T["ambient_measured"].format(t0=f"{t0:.2f}", t1=f"{t1:.2f}", h0=f"{h0:.1f}", h1=f"{h1:.1f}",
                                                   asset=escape(asset))
    else:
        env_measured = ""
    env = [
        T["temperature"].format(v=_plusminus(j["temperature_c"])) if j.get("temperature_c")
        else T["temperature"].format(v=T["not_recorded"]).replace(" &deg;C", ""),
        T["humidity"].format(v=_plusminus(j["humidity_pct"])) if j.get("humidity_pct")
        else T["humidity"].format(v=T["not_recorded"]).replace(" %", ""),
    ]
    lab = escape(j.get("lab_name", ""))
    if j.get("lab_address"):
        lab += "<br/>" + _e(j["lab_address"])
    customer = escape(j.get("customer_name", ""))
    if j.get("customer_address"):
        customer += "<br/>" + _e(j["customer_address"])
    rows = [
        (T["lab"], lab),
        (T["place"], _e(j.get("location", ""))),
        (T["customer"], customer),
        (T["item"], _e(j.get("dut_description") or dut.description)),
        (T["manufacturer_model"], escape(f"{maker} {model}".strip())),
        (T["serial"], escape(serial)),
        (T["asset"], escape(j.get("dut_asset_id") or dut.asset_id)),
        (T["idn"], f"<font face='Courier' size='8'>{escape(dut.idn)}</font>"),
        (T["condition"], _e(j.get("dut_condition", ""))),
        (T["received"], escape(j.get("date_received", ""))),
        (T["calibrated"], when),
        (T["issued"], f"{d.finished:%Y-%m-%d}"),
        (T["environment"], "; ".join(env) + env_measured),
        (T["operator"], escape(j.get("operator", ""))),
        (T["run"], T["run_text"].format(
            run_id=escape(d.attrs.get("run_id", "")), created=f"{d.created:%Y-%m-%d %H:%M}",
            finished=f"{d.finished:%Y-%m-%d %H:%M}", software=escape(d.attrs.get("software", "")))),
    ]
    return [_p(T["s_admin"], _H1), _fields(rows), Spacer(1, 5), _p(T["relate_only"]),
            Spacer(1, 3), _p(T["not_reproduced"])]


def _signature(d: _Data) -> Flowable:
    T = TEXT_EN
    t = Table(
        [
            [_p(T["authorised"], _LABEL), _p(T["signature"], _LABEL), _p(T["date"], _LABEL)],
            [_p(escape(d.job.get("signatory", ""))), "", _p(f"{d.finished:%Y-%m-%d}")],
        ],
        colWidths=[60 * mm, 70 * mm, WIDTH - 130 * mm],
        rowHeights=[None, 14 * mm],
    )
    t.setStyle(TableStyle([
        ("VALIGN", (0, 1), (-1, 1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (1, 1), (1, 1), 0.6, colors.black),
        ("RIGHTPADDING", (1, 0), (1, -1), 8 * mm),
    ]))
    return KeepTogether([Spacer(1, 10), t])


def _remarks(d: _Data) -> list[Flowable]:
    text = d.job.get("remarks", "").strip()
    if not text:
        return []
    box = Table([[_p(f"{TEXT_EN['remarks']}: {_e(text)}", _REMARK)]], colWidths=[WIDTH])
    box.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 1.2, RED),
        ("BACKGROUND", (0, 0), (-1, -1), colors.Color(1.0, 0.95, 0.93)),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return [Spacer(1, 6), box]


def _method(d: _Data) -> list[Flowable]:
    T, pr = TEXT_EN, d.procedure
    deviations = "<br/>".join(d.deviations) if d.deviations else T["none"]
    rows = [
        (T["procedure"], T["procedure_text"].format(
            title=escape(pr.get("title", "")), name=escape(pr.get("name", "")),
            version=escape(pr.get("version", "")))),
        (T["sha256"], f"<font face='Courier' size='7.5'>{escape(pr.get('sha256', ''))}</font>"),
        (T["seal"], T["seal_text"].format(
            seal=f"<font face='Courier' size='7.5'>{escape(d.attrs.get('seal', ''))}</font>")),
        (T["method"], _e(pr.get("method", ""))),
        (T["dut_spec"], _e(d.dut.specification)),
        (T["deviations"], deviations),
        (T["sampling"], T["sampling_text"]),
        (T["external"], T["external_text"]),
    ]
    return [_p(T["s_method"], _H1), _fields(rows)]


def _grid(widths: Sequence[float], header_rows: int = 1) -> list[tuple[Any, ...]]:
    return [
        ("GRID", (0, 0), (-1, -1), 0.3, LINE),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]


def _traceability(d: _Data) -> list[Flowable]:
    T = TEXT_EN
    head = [_p(T[k], _HEAD) for k in ("std_instrument", "std_asset", "std_cert", "std_due",
                                       "std_trace")]
    rows: list[list[Any]] = [head]
    for s in d.standards:
        r = s.record
        who = escape(f"{r.manufacturer} {r.model}".strip())
        text = (f"<b>{escape(r.description)}</b><br/>{who}, "
                f"{T['std_serial'].format(serial=escape(r.serial))}")
        if r.specification:
            text += "<br/>" + T["std_spec"].format(spec=escape(r.specification),
                                                   dist=escape(r.distribution or "stated"))
        certificate = escape(s.certificate)
        if s.probe:
            certificate += "<br/>" + T["std_probe"].format(certificate=escape(s.probe))
        rows.append([_p(text, _CELL), _p(escape(r.asset_id), _CELL), _p(certificate, _CELL),
                     _p(s.due.isoformat(), _CELL), _p(escape(r.traceability), _CELL)])
    widths = [66 * mm, 24 * mm, 30 * mm, 20 * mm, WIDTH - 140 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([*_grid(widths), ("VALIGN", (0, 1), (-1, -1), "TOP")]))
    return [_p(T["s_trace"], _H1), KeepTogether([_p(T["trace_text"]), Spacer(1, 4), table])]


def _spans(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 5] -> '1 to 3, 5'."""
    out: list[str] = []
    run: list[int] = []
    for n in sorted(numbers):
        if run and n != run[-1] + 1:
            out.append(f"{run[0]} to {run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
            run = []
        run.append(n)
    if run:
        out.append(f"{run[0]} to {run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
    return ", ".join(out)


def _evaluation(c: Component) -> str:
    """How a component was evaluated, for people: its type and its distribution."""
    T = TEXT_EN
    if c.kind == "A":
        return T["type_a"]
    if c.distribution == "rectangular":
        dist = T["dist_rectangular"]
    elif c.distribution.startswith("normal"):
        dist = T["dist_normal_k"].format(k=number(round(c.divisor, 3)))
    else:
        dist = T["dist_other"].format(name=escape(c.distribution), divisor=number(round(c.divisor, 4)))
    return T["type_b"].format(distribution=dist)


#: Effective degrees of freedom above this are stated as "over" it: k is 2.00 there.
_LARGE_DOF = 1000


def _uncertainty(d: _Data) -> list[Flowable]:
    """The uncertainty statement, from the components recorded in /budget:
    each distinct component once (by name, type and distribution), with its
    description(s) and the points whose budget holds it."""
    T = TEXT_EN
    components: dict[tuple[str, str, str, float], tuple[list[str], list[int]]] = {}
    for p in d.points:
        for c in d.budgets.get(p.index, ()):
            descriptions, where = components.setdefault(
                (c.name, c.kind, _evaluation(c), c.divisor if c.kind == "B" else 0.0), ([], []))
            if c.description not in descriptions:
                descriptions.append(c.description)
            if p.index + 1 not in where:
                where.append(p.index + 1)
    every = len(d.points)
    head = [_p(T[k], _HEAD) for k in ("unc_head_name", "unc_head_desc", "unc_head_eval", "unc_head_points")]
    rows: list[list[Any]] = [head]
    for (name, _, evaluation, _), (descriptions, where) in components.items():
        shown = descriptions if len(descriptions) <= 4 else [*descriptions[:3], "..."]
        rows.append([_p(f"<b>{escape(name)}</b>", _CELL), _p("<br/>".join(escape(t) for t in shown), _CELL),
                     _p(evaluation, _CELL),
                     _p(T["unc_all_points"] if len(where) == every else _spans(where), _CELL)])
    widths = [34 * mm, 70 * mm, 44 * mm, WIDTH - 148 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([*_grid(widths), ("VALIGN", (0, 1), (-1, -1), "TOP")]))
    nus = [p.nu_eff for p in d.points]
    ks = [p.coverage_factor for p in d.points]
    lo, hi = min(nus), max(nus)

    def dof(nu: float) -> str:
        if not math.isfinite(nu):
            return T["nu_infinite"]
        return T["nu_large"].format(n=_LARGE_DOF) if nu > _LARGE_DOF else str(math.floor(nu))

    nu_text = dof(lo) if dof(lo) == dof(hi) else T["nu_range"].format(lo=dof(lo), hi=dof(hi))
    k_lo, k_hi = fixed(min(ks), 2), fixed(max(ks), 2)
    k_text = k_lo if k_lo == k_hi else T["nu_range"].format(lo=k_lo, hi=k_hi)
    coverage = T["unc_coverage"].format(p=f"{COVERAGE_PROBABILITY:.2f}", nu=nu_text, k=k_text)
    flat = [p.index + 1 for p in d.points if _rectangular_dominated(d.budgets.get(p.index, ()))]
    if d.attrs.get("uncertainty_method") == "monte-carlo":
        trials = [p.mc_trials for p in d.points]
        coverage = T["unc_monte_carlo"].format(lo=f"{min(trials):,}", hi=f"{max(trials):,}", k=k_text)
    elif flat:
        coverage += " " + T["unc_rectangular"].format(which=T["unc_all_points"] if len(flat) == every
                                                       else _spans(flat))
    return [_p(T["s_unc"], _H1),
            KeepTogether([_p(T["unc_text"]), Spacer(1, 4), table]), Spacer(1, 4), _p(coverage)]


def _rectangular_dominated(components: Sequence[Component]) -> bool:
    """Whether a rectangular component makes up more than half of u_c^2:
    then the distribution of the error is flatter than normal and k = 2
    covers more than 95.45 % (97 % to 100 %)."""
    total = sum(c.contribution ** 2 for c in components)
    flat = max((c.contribution ** 2 for c in components if c.distribution == "rectangular"), default=0.0)
    return total > 0 and flat > 0.5 * total


def _ambient(rf: RunFile, records: Sequence[InstrumentRecord]
             ) -> tuple[tuple[float, float], tuple[float, float], str] | None:
    """The range of the ambient conditions the run's ``ambient`` events
    recorded ("23.012 C, 45.21 %RH"), with the instrument's asset."""
    readings = []
    for _, kind, message in rf.events():
        m = AMBIENT_MESSAGE.fullmatch(message) if kind == "ambient" else None
        if m:
            readings.append((float(m.group(1)), float(m.group(2))))
    if not readings:
        return None
    asset = next((r.asset_id or r.model for r in records if r.role == "ambient"), "")
    ts, hs = [t for t, _ in readings], [h for _, h in readings]
    return (min(ts), max(ts)), (min(hs), max(hs)), asset


def _conformity(d: _Data) -> list[Flowable]:
    T = TEXT_EN
    if not d.conformity:
        return [_p(T["s_conf"], _H1), _p(T["conf_none"])]
    left = [p for p in d.points if p.phase == "as_left"]
    judged = left or list(d.points)  # the item is judged as it leaves
    fails = [p.index + 1 for p in judged if p.decision in NOT_CONFORMING]
    conditional = [p.index + 1 for p in judged if p.decision == "conditional pass"]
    n = len(judged)
    which = ", ".join(str(i) for i in fails)
    if fails:
        verdict = f"<font color='#bf0d0d'>{T['conf_fail'].format(f=len(fails), n=n, which=which)}</font>"
    elif conditional:
        verdict = T["conf_conditional"].format(n=n, c=len(conditional), which=_spans(conditional))
    else:
        verdict = T["conf_pass"].format(n=n)
    if left:
        found = [p.index + 1 for p in d.points if p.phase == "as_found" and p.decision in NOT_CONFORMING]
        before = (T["conf_found_fail"].format(f=len(found), which=_spans(found)) if found
                  else T["conf_found_pass"])
        verdict = T["conf_as_left"] + " " + verdict + " " + before
    rows = [
        (T["decision_rule"], _e(d.attrs.get("decision_statement", ""))),
        (T["conf_spec"], _e(d.dut.specification)),
        (T["conf_result"], f"<b>{verdict}</b>"),
    ]
    return [_p(T["s_conf"], _H1), _fields(rows)]


def _table_scale(points: Sequence[PointResult]) -> Scale:
    """The prefix a range's values are written in: the range's, or for a
    function without ranges, that of its largest value."""
    first = points[0]
    return scale_of(first.range if first.range > 0 else max(abs(p.nominal) for p in points), first.unit)


def _results_table(points: Sequence[PointResult], conformity: bool) -> list[Flowable]:
    """One function's table: its points range by range, each range under a
    row naming it, every value in the range's prefix; the frequency of AC
    points. The unit is in the column heads when every range of the table
    is written in the same one, else in each range's row."""
    T = TEXT_EN
    first = points[0]
    ranges: dict[float, list[PointResult]] = {}
    for p in points:
        ranges.setdefault(p.range, []).append(p)
    scales = {r: _table_scale(g) for r, g in ranges.items()}
    units = {s.unit(first.unit) for s in scales.values()}
    one_unit = len(units) == 1
    ac = any(p.frequency > 0 for p in points)
    cols = ["c_no", "c_nominal", *(["c_frequency"] if ac else []), "c_reference", "c_indication",
            "c_error", "c_lower", "c_upper", "c_U", "c_k"]
    widths = [8, 17, *([17] if ac else []), 20, 21, 18, 20, 20, 17, 10]
    if conformity:
        cols.append("c_decision")
        widths.append(15)
    fit = WIDTH / (sum(widths) * mm)
    col_w = [w * mm * fit for w in widths]
    head_unit = escape(next(iter(units))) if one_unit else ""
    data: list[list[Any]] = [[_p(T[c].format(u=head_unit) if one_unit else
                                 T[c].replace(" ({u})", ""), _HEAD) for c in cols]]
    style: list[tuple[Any, ...]] = [
        *_grid(col_w),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("ALIGN", (0, 1), (-2 if conformity else -1, -1), "RIGHT"),
        ("ALIGN", (-1, 1), (-1, -1), "CENTER"),
    ]
    for range_, group in ranges.items():
        scale = scales[range_]
        unit = escape(scale.unit(first.unit))
        if range_ > 0 or not one_unit:
            label = T["range_row"].format(range=escape(format_level(range_, first.unit, range_))) \
                if range_ > 0 else ""
            if not one_unit:
                label = (label + "; " if label else "") + T["values_in"].format(u=unit)
            row = len(data)
            data.append([_p(label, _RANGE)] + [""] * (len(cols) - 1))
            style += [("SPAN", (0, row), (-1, row)), ("BACKGROUND", (0, row), (-1, row), SHADE_LIGHT)]
        for p in group:
            r = _row(p, scale)
            cells: list[Any] = [str(p.index + 1), r.nominal, *([r.frequency] if ac else []), r.reference,
                                r.indication, r.error, r.lower, r.upper, r.U, r.k]
            if conformity:
                cells.append(r.decision)
                if p.decision != "pass":
                    i = len(data)
                    style += [("TEXTCOLOR", (-1, i), (-1, i), RED),
                              ("FONT", (-1, i), (-1, i), "Helvetica-Bold", 8)]
            data.append(cells)
    table = Table(data, colWidths=col_w, repeatRows=1)
    table.setStyle(TableStyle(style))
    return [_p(escape(_function_name(first.function)), _H3), table]


def _notes(d: _Data) -> str:
    """What the columns mean, for the ways this run's points were observed."""
    T = TEXT_EN
    corrected = any(p.correction != 0.0 for p in d.points)
    references: list[str] = []
    indications: list[str] = []
    for dut, ref in sorted(set(d.observed.values()), reverse=True):
        reference = T["ref_applied"] if not ref else T["ref_corrected"] if dut or corrected else T["ref_read"]
        indication = T["ind_read"] if dut else T["ind_set"]
        for out, text in ((references, reference), (indications, indication)):
            if text not in out:
                out.append(text)
    notes = T["notes"].format(reference=T["either"].join(references),
                              indication=T["either"].join(indications))
    if any(p.frequency > 0 for p in d.points):
        notes += T["notes_frequency"]
    return notes + (T["notes_conf"] if d.conformity else "")


def _results(d: _Data) -> list[Flowable]:
    T = TEXT_EN
    out: list[Flowable] = [CondPageBreak(60 * mm)]
    # headings travel with the first table under them, never alone at a page's foot
    lead: list[Flowable] = [_p(T["s_results"], _H1)]
    phases = sorted({p.phase for p in d.points}, key=lambda ph: (_PHASE_ORDER.get(ph, 9), ph))
    only_found = phases == ["as_found"]
    if only_found:
        lead.append(_p(T["no_adjustment"]))
    functions = list(dict.fromkeys(p.function for p in d.points))  # in the order of the run
    for phase in phases:
        heading = (T["as_found_only"] if only_found
                   else T[phase] if phase in _PHASE_ORDER else escape(phase))
        lead.append(_p(heading, _H2))
        # one table per function, in the run's order; a function's ranges together in it
        groups: dict[str, list[PointResult]] = {}
        for p in sorted((p for p in d.points if p.phase == phase),
                        key=lambda p: (functions.index(p.function), p.index)):
            groups.setdefault(p.function, []).append(p)
        for g in groups.values():
            out.append(KeepTogether([*lead, *_results_table(g, d.conformity)]))
            lead = []
    out.append(KeepTogether([Spacer(1, 6), _p(_notes(d), _SMALL),
                             _p(f"- {TEXT_EN['end']} -", _END)]))
    return out


def _story(d: _Data) -> list[Flowable]:
    return [
        _p(TEXT_EN["title"], _TITLE),
        Spacer(1, 2),
        _p(f"{TEXT_EN['cert_no']} {d.number}", _NUMBER),
        *_remarks(d),
        *_admin(d),
        _signature(d),
        PageBreak(),  # page 1 is the front sheet: who, what, when, signed
        *_method(d),
        *_traceability(d),
        *_uncertainty(d),
        *_conformity(d),
        *_results(d),
    ]


def _page_frame(d: _Data) -> Callable[[Canvas, int, int], None]:
    lab = d.job.get("lab_name", "")
    address = one_line(d.job.get("lab_address", ""))
    number = f"{TEXT_EN['cert_no']} {d.number}"

    def draw(c: Canvas, page: int, total: int) -> None:
        c.saveState()
        top = PAGE_H - 14 * mm
        c.setFillColor(DARK)
        c.setFont("Helvetica-Bold", 10)
        c.drawString(MARGIN_X, top, lab)
        c.drawRightString(PAGE_W - MARGIN_X, top, TEXT_EN["title"])
        c.setFillColor(colors.black)
        c.setFont("Helvetica", 7.5)
        c.drawString(MARGIN_X, top - 10, address)
        c.setFont("Helvetica-Bold", 9)
        c.drawRightString(PAGE_W - MARGIN_X, top - 11, number)
        c.setStrokeColor(DARK)
        c.setLineWidth(0.8)
        c.line(MARGIN_X, top - 17, PAGE_W - MARGIN_X, top - 17)
        foot = 14 * mm
        c.setLineWidth(0.4)
        c.line(MARGIN_X, foot + 9, PAGE_W - MARGIN_X, foot + 9)
        c.setFont("Helvetica", 7.5)
        c.drawString(MARGIN_X, foot, number)
        c.drawRightString(PAGE_W - MARGIN_X, foot, TEXT_EN["page"].format(n=page, m=total))
        c.setFont("Helvetica", 6.5)
        c.drawCentredString(PAGE_W / 2, foot - 10, TEXT_EN["not_reproduced"])
        c.restoreState()

    return draw


def _canvas_maker(draw: Callable[[Canvas, int, int], None], pdf_date: str) -> type[Canvas]:
    """A canvas that holds its pages back until it knows how many there are."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []
            # the PDF's CreationDate/ModDate: the run's end, never the clock
            self.setDateFormatter(lambda *_: pdf_date)

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            for n, state in enumerate(self._saved, start=1):
                self.__dict__.update(state)
                draw(self, n, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def render_pdf(run_path: Path, pdf_path: Path) -> Path:
    """Render the calibration certificate of a completed run to ``pdf_path``.

    Reads the run file alone; the same run file always gives the same bytes.
    Raises `CertificateError` for a run that is not completed (or lacks what a
    certificate must state) and `RunFileError` for a file that is not a
    readable run file. Returns ``pdf_path``.
    """
    run_path, pdf_path = Path(run_path), Path(pdf_path)
    if pdf_path.resolve() == run_path.resolve():
        raise CertificateError(f"{pdf_path}: the certificate would overwrite its run file; "
                               "choose another output name")
    if pdf_path.is_dir():
        raise CertificateError(f"{pdf_path}: is a folder; give the certificate's file name (.pdf)")
    with RunFile(run_path) as rf:
        _refuse_status(run_path, rf.attrs)
        verified = rf.verify()
        if not verified.ok:
            raise IntegrityError(f"{verified.message}; no certificate is issued for it")
        data = _collect(rf)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        # the frame pads its content by 6 pt: the content then lines up with the header rules
        leftMargin=MARGIN_X - 6,
        rightMargin=MARGIN_X - 6,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=f"{TEXT_EN['title']} {data.number}",
        author=data.job.get("lab_name", ""),
        subject=f"{data.job.get('dut_manufacturer', '')} {data.job.get('dut_model', '')} "
        f"{data.job.get('dut_serial', '')}".strip(),
        creator=data.attrs.get("software", "calstation"),
        invariant=1,
        pageCompression=1,
    )
    pdf_date = data.finished.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    doc.build(_story(data), canvasmaker=_canvas_maker(_page_frame(data), pdf_date))
    try:
        pdf_path.parent.mkdir(parents=True, exist_ok=True)
        write_image(pdf_path, buf.getvalue(), new=False)
    except OSError as e:
        raise CertificateError(f"{pdf_path}: cannot be written ({e.strerror or e}); check the folder "
                               "exists, is writable and has free space (nothing was left behind)") from None
    return pdf_path
