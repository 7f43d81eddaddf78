"""The Digital Calibration Certificate (DCC): the certificate of an approved
run as XML, PTB DCC schema 3.1.2 with D-SI 2.1.0, validated and signed.

Rendered from the run file and the `Issue` (number, approver, languages,
the run file's SHA-256) alone: no clock, no environment, no register, so
the same inputs give the same bytes. docs/dcc.md maps each element to its
source. Every number is written exactly as the run file holds it (a
float's shortest round-trip text, ``repr``), never rounded: rounding is
for people (the PDF), a DCC is for machines.

Text the certificate fixes (names of quantities, statements) is written in
each language of the issue (``dcc:content`` with ``lang``); text from the
run file (names, addresses, the procedure's title, the decision rule's
statement) is written once, as recorded, without ``lang``.

The signature: DCC 3.1.2 has no place for an XML signature that validates
(its wildcards are strict), so it is a processing instruction after the
root element::

    <?calstation-signature calstation-signature/1 alg=ed25519 key=... sig=...?>

over the canonical XML (C14N 1.0, without comments) of the root element,
which schema validation does not see. `read_dcc` gives what
`station.signing.check` needs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from lxml import etree

from station import __version__
from station.certificates.common import (
    file_sha256,
    observed,
    refuse_status,
    standards_in_calibration,
    states_conformity,
    the_dut,
    utc,
)
from station.certificates.issue import LANGUAGES, Issue
from station.certificates.numbers import format_frequency, format_level
from station.errors import CalstationError, IntegrityError, one_line
from station.metrology.decision import NOT_CONFORMING
from station.metrology.result import MC_PROBABILITY, PointResult
from station.metrology.uncertainty import COVERAGE_PROBABILITY
from station.runfile.files import write_image
from station.runfile.layout import AMBIENT_MESSAGE
from station.runfile.reader import RunFile
from station.runfile.records import InstrumentRecord, PlanRow
from station.signing import BLOCK_TAG, SignedDocument, Signer, parse_block

__all__ = ["DccError", "SCHEMA_VERSION", "read_dcc", "render_dcc", "validate_dcc", "write_dcc"]

DCC_NS = "https://ptb.de/dcc"
SI_NS = "https://ptb.de/si"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_VERSION = "3.1.2"
_SCHEMA_DIR = "dcc-3.1.2"
#: The processing instruction's target that carries the signature block.
PI_TARGET = BLOCK_TAG.split("/")[0]  # "calstation-signature"
#: Where no run says otherwise (a ``lab_country`` job field), the lab is in China.
DEFAULT_COUNTRY = "CN"
#: refType of the identifications `read_dcc` looks for.
REF_RUN_SHA256 = "calstation_runFileSha256"
REF_RUN_ID = "calstation_runId"

#: D-SI units (https://ptb.de/si/) of the units a run file writes.
DSI_UNITS: dict[str, str] = {
    "V": r"\volt", "A": r"\ampere", "Ohm": r"\ohm", "\u00b0C": r"\degreecelsius", "Pa": r"\pascal",
    "Hz": r"\hertz", "%": r"\percent",
}
#: A point's decision as DCC 3.1.2 states conformity.
CONFORMITY: dict[str, str] = {
    "pass": "pass", "fail": "fail", "conditional pass": "conditionalPass", "conditional fail": "conditionalFail",
}


class DccError(CalstationError):
    """A run that cannot (or may not) be written as a DCC, or a file that is
    not a calstation DCC; the message names the file and what to do."""


#: Every fixed text of the DCC: (English, Simplified Chinese).
TEXT: dict[str, tuple[str, str]] = {
    "software": ("Calibration software that recorded the run and wrote this certificate",
                 "记录校准过程并生成本证书的校准软件"),
    "run_sha256": ("SHA-256 of the calibration record (run file) this certificate reports",
                   "本证书所依据的校准记录（运行文件）的 SHA-256 值"),
    "run_id": ("Identifier of the calibration record (run)", "校准记录（运行）标识"),
    "serial": ("Serial number", "序列号"),
    "asset": ("Asset ID", "资产编号"),
    "idn": ("Identification read from the item (*IDN?)", "从被校仪器读取的标识（*IDN?）"),
    "condition": ("Condition on receipt", "接收时状态"),
    "firmware": ("Firmware", "固件"),
    "technician": ("Calibrated by", "校准员"),
    "signatory": ("Approved and issued this certificate on {date}", "于 {date} 批准并签发本证书"),
    "relate_only": ("The results in this certificate relate only to the item calibrated, as identified "
                    "above, at the time and under the conditions of its calibration.",
                    "本证书给出的结果仅与上述所标识的被校物品有关，并仅对其校准时的时间和条件有效。"),
    "not_reproduced": ("This certificate shall not be reproduced except in full without the written "
                       "approval of the issuing laboratory.",
                       "未经签发实验室书面批准，不得部分复制本证书。"),
    "traceability": ("Metrological traceability", "计量溯源性"),
    "trace_text": ("The metrological traceability of the results is established through the measurement "
                   "standards listed with the results, as stated for each (from its own calibration "
                   "certificate). Each was within its calibration interval on the date(s) of calibration.",
                   "校准结果的计量溯源性通过随结果列出的测量标准建立，各标准的溯源途径见其自身的校准证书。"
                   "校准期间，各测量标准均在其校准有效期内。"),
    "decision_rule": ("Decision rule", "判定规则"),
    "conformity": ("Statement of conformity", "符合性声明"),
    "conf_pass": ("Pass at all {n} points: the item conforms to the specification at the points tested.",
                  "全部 {n} 个校准点均合格：在所测各点，被校物品符合技术指标。"),
    "conf_fail": ("Fail or conditional fail at {f} of {n} points (No. {which}): the item does not conform "
                  "to the specification at the points tested.",
                  "{n} 个校准点中有 {f} 个不合格或有条件不合格（序号 {which}）：在所测各点，被校物品不符合技术指标。"),
    "conf_conditional": ("No point fails; {c} of {n} points (No. {which}) are a conditional pass: their "
                         "measured values lie within the tolerance limits but within the guard band of a "
                         "limit, so conformity there is not shown with the confidence the decision rule "
                         "requires.",
                         "无不合格点；{n} 个校准点中有 {c} 个（序号 {which}）为有条件合格：其测得值位于允差限之内，"
                         "但处于允差限的保护带内，因此不能以判定规则所要求的置信度证明其符合性。"),
    "conf_as_left": ("As left (after adjustment):", "调整后："),
    "conf_found_fail": ("As found (before adjustment) the item did not conform at {f} point(s) "
                        "(No. {which}).",
                        "调整前，被校物品在 {f} 个校准点（序号 {which}）不符合技术指标。"),
    "conf_found_pass": ("As found (before adjustment) it conformed at every point.",
                        "调整前，被校物品在所有校准点均符合技术指标。"),
    "conf_none": ("No statement of conformity was requested; none is given.",
                  "客户未要求符合性声明，本证书不作符合性判定。"),
    "place": ("Place of calibration", "校准地点"),
    "issued": ("Date of issue", "签发日期"),
    "remarks": ("Remarks", "备注"),
    "deviations": ("Deviations from the method", "对校准方法的偏离"),
    "none": ("None.", "无。"),
    "resumed": ("The run was interrupted ({why}) and resumed on {when} UTC ({what}). Points completed "
                "before the interruption are reported as recorded; the remaining points were measured "
                "after the resumption.",
                "校准过程曾中断（{why}），于 {when}（UTC）恢复（{what}）。中断前完成的校准点按记录报告，"
                "其余校准点在恢复后测量。"),
    "interrupted_unknown": ("reason not recorded", "原因未记录"),
    "missing_points": ("Planned point(s) not reported: {which}.", "计划中未报告的校准点：{which}。"),
    # measurement results
    "as_found": ("Results as found (before adjustment)", "调整前的校准结果"),
    "as_left": ("Results as left (after adjustment)", "调整后的校准结果"),
    "as_found_only": ("Results as found and as left", "校准结果（调整前与调整后相同）"),
    "not_adjusted": ("The item was not adjusted: the results are both as found and as left.",
                     "被校物品未作调整：以下结果既是调整前结果，也是调整后结果。"),
    "procedure": ("calstation procedure {name}, version {version}; SHA-256 of its source: {sha256}",
                  "calstation 校准程序 {name}，版本 {version}；程序源代码的 SHA-256：{sha256}"),
    "unc_method": ("Evaluation of measurement uncertainty", "测量不确定度评定"),
    "unc_gum": ("U = k u_c, u_c the root sum of squares of the contributions of the components of the "
                "point's budget; k Student's t for a coverage probability of approximately 95.45 % and "
                "the effective degrees of freedom (Welch-Satterthwaite), rounded down to an integer.",
                "U = k u_c，u_c 为该点不确定度预算各分量贡献的方和根；k 为包含概率约 95.45 %、"
                "有效自由度（韦尔奇-萨特思韦特公式，向下取整）下的 t 分布值。"),
    "unc_mc": ("Monte Carlo method: the distributions of the components of the point's budget propagated; "
               "U is the half-width of the smallest interval about the result that contains the shortest "
               "coverage interval for a probability of 95 %, and k = U / u_c.",
               "蒙特卡洛法：传播该点不确定度预算各分量的概率分布；U 为以结果为中心、包含概率为 95 % 的"
               "最短包含区间的最小对称区间的半宽度，k = U / u_c。"),
    "unc_components": ("Components of the uncertainty budgets, as recorded:", "不确定度预算的分量（按记录）："),
    "equipment": ("Measurement standards and measuring equipment", "测量标准和测量设备"),
    "std_spec": ("Specification used: {spec}; {dist} distribution.", "所用技术指标：{spec}；{dist} 分布。"),
    "std_trace": ("Traceability: {trace}.", "溯源途径：{trace}。"),
    "std_cert": ("Calibration certificate No.", "校准证书编号"),
    "std_probe": ("Calibration certificate No. of its reference probe", "其参考探头的校准证书编号"),
    "std_due": ("Calibration due", "校准有效期至"),
    "temperature": ("Ambient temperature", "环境温度"),
    "humidity": ("Relative humidity", "相对湿度"),
    "stated": ("Laboratory conditions as stated for the calibration: {v}", "校准时规定的实验室条件：{v}"),
    "measured": ("Measured during the calibration by the thermo-hygrometer", "校准过程中由温湿度计测得"),
    "measured_asset": ("Measured during the calibration by the thermo-hygrometer {asset}",
                       "校准过程中由温湿度计（{asset}）测得"),
    # results
    "nominal": ("Nominal value", "标称值"),
    "point_no": ("Labels: the points' numbers in the calibration record", "标签：校准记录中的校准点序号"),
    "range": ("Range", "量程"),
    "frequency": ("Frequency", "频率"),
    "reference": ("Reference value", "参考值"),
    "indication": ("Indication", "示值"),
    "error": ("Error (indication - reference), with its expanded uncertainty",
              "误差（示值 - 参考值）及其扩展不确定度"),
    "lower": ("Lower tolerance limit of the indication", "示值允差下限"),
    "upper": ("Upper tolerance limit of the indication", "示值允差上限"),
    "decisions": ("Decision at each point, in the order of the values, under the decision rule of the "
                  "statement of conformity (made on the unrounded values)",
                  "按符合性声明中的判定规则对各校准点（按数值顺序）作出的判定（基于未修约的数值）"),
    "ref_applied": ("Reference: the value applied by the standard.", "参考值：标准所施加的值。"),
    "ref_read": ("Reference: the mean of the readings of the standard.", "参考值：标准读数的平均值。"),
    "ref_corrected": ("Reference: the mean of the readings of the reference, corrected as its calibration "
                      "certificate states.", "参考值：参考标准读数的平均值，已按其校准证书进行修正。"),
    "ind_read": ("Indication: the mean of the item's readings.", "示值：被校物品读数的平均值。"),
    "ind_set": ("Indication: the value the item was set to (it is a source).",
                "示值：被校物品的设定值（被校物品为信号源）。"),
}

#: Functions' names (the run file's ``function``), (English, Simplified Chinese).
FUNCTIONS: dict[str, tuple[str, str]] = {
    "DCV": ("DC voltage", "直流电压"), "DCI": ("DC current", "直流电流"),
    "ACV": ("AC voltage", "交流电压"), "ACI": ("AC current", "交流电流"),
    "R2W": ("Resistance, 2-wire", "电阻（二线制）"), "R4W": ("Resistance, 4-wire", "电阻（四线制）"),
    "TEMP": ("Temperature", "温度"), "PRES": ("Pressure", "压力"),
}

#: A field of a fixed text: run text, or (English, Chinese).
_Field = str | tuple[str, str]
_PHASE_ORDER = {"as_found": 0, "as_left": 1}
_PERFORMANCE_LOCATIONS = ("laboratory", "customer", "laboratoryBranch", "customerBranch", "other")
#: Characters XML 1.0 cannot hold (control characters other than tab, LF, CR; surrogates; U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# -- what goes into the DCC, all from the run file ------------------------------------------
@dataclass(frozen=True)
class _Standard:
    record: InstrumentRecord
    due: dt.date


@dataclass(frozen=True)
class _Run:
    path: Path
    attrs: Mapping[str, str]
    job: Mapping[str, str]
    procedure: Mapping[str, str]
    dut: InstrumentRecord
    standards: tuple[_Standard, ...]
    points: tuple[PointResult, ...]
    components: tuple[str, ...]  # names of the budgets' components, in first-seen order
    observed: Mapping[int, tuple[int, int]]  # (the DUT's readings, the reference's) by point index
    ambient: tuple[tuple[float, str, str], ...]  # (time, degrees C, %RH) as the events hold them
    deviations: tuple[tuple[str, dict[str, _Field]], ...]  # (TEXT key, or "" for the run's text; fields)
    country: str
    conformity: bool


def _xml_text(path: Path | str, what: str, text: str) -> str:
    bad = sorted({f"U+{ord(c):04X}" for c in _NOT_XML.findall(text)})
    if bad:
        raise DccError(f"{path}: {what} contains character(s) {', '.join(bad)} that XML cannot hold; "
                       "a DCC cannot be written for this run")
    return text


def _checked(path: Path | str, what: str, values: Mapping[str, str]) -> dict[str, str]:
    return {k: _xml_text(path, f"{what} {k!r}", v) for k, v in values.items()}


def _collect(rf: RunFile) -> _Run:
    path = rf.path
    attrs = _checked(path, "run attribute", rf.attrs)
    job = _checked(path, "job field", rf.job)
    procedure = _checked(path, "procedure field", rf.procedure)
    records = rf.instruments
    for r in records:
        _checked(path, f"instrument {r.role!r} field", {k: str(v) for k, v in vars(r).items()})
    dut = the_dut(path, records, DccError, "write the DCC with the calstation version that wrote the run")
    points = tuple(rf.points)  # as recorded (verify has re-derived each from its raw readings)
    if not points:
        raise DccError(f"{path}: run {attrs.get('run_id', '?')} holds no results; there is nothing to certify")
    for p in points:
        _checked(path, f"point {p.index + 1}", {"function": p.function, "unit": p.unit, "label": p.label})
        if p.unit not in DSI_UNITS:
            raise DccError(f"{path}: point {p.index + 1} is in {p.unit!r}, which has no D-SI unit in this "
                           f"calstation (it knows {', '.join(DSI_UNITS)}); upgrade calstation")
        if p.decision not in CONFORMITY:
            raise DccError(f"{path}: point {p.index + 1} has the decision {p.decision!r}, which DCC 3.1.2 "
                           "cannot state; the run file is damaged")
    last = utc(max(p.t_end for p in points))
    standards = [_Standard(r, due) for r, due in standards_in_calibration(path, records, last, DccError)]
    components: dict[str, None] = {}
    for comps in rf.budgets().values():
        for c in comps:
            components.setdefault(_xml_text(path, "budget component", c.name), None)
    # the log quotes instruments and the operating system: what XML cannot hold is shown as "?"
    events = [(t, kind, _NOT_XML.sub("?", message)) for t, kind, message in rf.events()]
    ambient = []
    for t, kind, message in events:
        m = AMBIENT_MESSAGE.fullmatch(message) if kind == "ambient" else None
        if m:
            ambient.append((t, m.group(1), m.group(2)))
    country = job.get("lab_country", "").strip() or DEFAULT_COUNTRY
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise DccError(f"{path}: the job's lab_country {country!r} is not an ISO 3166-1 alpha-2 code "
                       "(two capital letters, e.g. CN); the DCC cannot state the lab's country")
    return _Run(path=path, attrs=attrs, job=job, procedure=procedure, dut=dut,
                standards=tuple(standards), points=points, components=tuple(components),
                observed=observed(rf, points), ambient=tuple(ambient), deviations=_deviations(rf, events, points),
                country=country, conformity=states_conformity(attrs, job))


def _point_name(r: PlanRow) -> str:
    text = f"{r.index + 1} ({r.function} {format_level(r.nominal, r.unit, r.range)}"
    return text + (f" at {format_frequency(r.frequency)})" if r.frequency > 0 else ")")


def _deviations(rf: RunFile, events: Sequence[tuple[float, str, str]], points: Sequence[PointResult]
                ) -> tuple[tuple[str, dict[str, _Field]], ...]:
    """What the run shows of a deviation from the method (as the PDF's
    section 2 lists it): each resumption after an interruption, each
    ``deviation`` event, the planned points not reported."""
    out: list[tuple[str, dict[str, _Field]]] = []
    why = ""
    for t, kind, message in events:
        if kind in ("aborted", "failed"):
            why = f"{kind}: {one_line(message)}"
        elif kind == "resumed":
            out.append(("resumed", {"why": why or TEXT["interrupted_unknown"],
                                    "when": f"{utc(t):%Y-%m-%d %H:%M}", "what": one_line(message)}))
            why = ""
        elif kind == "deviation":
            out.append(("", {"text": one_line(message)}))
    done = {p.index for p in points}
    missing = [r for r in rf.plan if r.index not in done]
    if missing:
        out.append(("missing_points", {"which": ", ".join(_point_name(r) for r in missing)}))
    return tuple(out)


# -- XML ------------------------------------------------------------------------------------------
def _number(value: float, path: Path, what: str) -> str:
    """A number exactly as the run file holds it: the float's shortest
    round-trip text (``repr``), which D-SI's decimal pattern accepts."""
    if not math.isfinite(value):
        raise DccError(f"{path}: {what} is {value!r}, which a DCC cannot state; the run file is damaged")
    return repr(float(value))


def _probability(percent: float) -> str:
    """95.45 (%) -> "0.9545": D-SI's probability is a fraction without an exponent."""
    return format(Decimal(repr(percent)) / 100, "f")


def _fixed(key: str, lang: str, fields: Mapping[str, _Field]) -> str:
    """The fixed text ``key`` in ``lang`` with ``fields`` filled in (a
    field given as (English, Chinese) in its language)."""
    i = 0 if lang == "en" else 1
    return TEXT[key][i].format(**{k: v if isinstance(v, str) else v[i] for k, v in fields.items()})


class _Builder:
    """Writes the elements of the DCC in the issue's languages."""

    def __init__(self, run: _Run, issue: Issue, signed: bool) -> None:
        self.run, self.issue, self.signed = run, issue, signed
        self.langs = tuple(issue.languages.split("+"))
        self.path = run.path

    # elements ------------------------------------------------------------------------------
    @staticmethod
    def el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        prefix, name = tag.split(":")
        e = etree.SubElement(parent, f"{{{DCC_NS if prefix == 'dcc' else SI_NS}}}{name}")
        for k, v in attrs.items():
            e.set(k, v)
        if text is not None:
            e.text = text
        return e

    def contents(self, parent: etree._Element, key: str, **fields: _Field) -> None:
        """One ``dcc:content`` per language: the fixed text ``key`` with
        ``fields`` filled in (a field given as (English, Chinese) in each)."""
        for lang in self.langs:
            self.el(parent, "dcc:content", _fixed(key, lang, fields), lang=lang)

    def localized(self, parent: etree._Element, names: tuple[str, str]) -> None:
        for lang in self.langs:
            self.el(parent, "dcc:content", names[0 if lang == "en" else 1], lang=lang)

    def text(self, parent: etree._Element, tag: str, key: str, **fields: _Field) -> etree._Element:
        """A ``textType`` (or the content of a ``richContentType``) with the fixed text ``key``."""
        e = self.el(parent, tag)
        self.contents(e, key, **fields)
        return e

    def recorded(self, parent: etree._Element, tag: str, value: str) -> etree._Element:
        """A ``textType`` holding text from the run file, as recorded (no language)."""
        e = self.el(parent, tag)
        self.el(e, "dcc:content", value)
        return e

    def rich(self, parent: etree._Element, tag: str, name: str | None = None,
             keys: Iterable[tuple[str, Mapping[str, _Field]]] = (), recorded: Iterable[str] = ()
             ) -> etree._Element:
        """A ``richContentType``: an optional fixed name, fixed texts, recorded texts."""
        e = self.el(parent, tag)
        if name is not None:
            self.text(e, "dcc:name", name)
        keys = list(keys)
        if keys:  # one content per language: the texts joined
            for lang in self.langs:
                texts = [_fixed(key, lang, fields) for key, fields in keys]
                self.el(e, "dcc:content", (" " if lang == "en" else "").join(texts), lang=lang)
        for value in recorded:
            self.el(e, "dcc:content", value)
        return e

    def identification(self, parent: etree._Element, issuer: str, value: str, key: str,
                       ref: str | None = None) -> None:
        e = self.el(parent, "dcc:identification", **({"refType": ref} if ref else {}))
        self.el(e, "dcc:issuer", issuer)
        self.el(e, "dcc:value", value)
        self.text(e, "dcc:name", key)

    def location(self, parent: etree._Element, address: str, country: str | None) -> None:
        loc = self.el(parent, "dcc:location")
        if country:
            self.el(loc, "dcc:countryCode", country)
        if address.strip() or not country:
            further = self.el(loc, "dcc:further")
            self.el(further, "dcc:content", address)

    # the document ----------------------------------------------------------------------------
    def build(self) -> etree._Element:
        root = etree.Element(f"{{{DCC_NS}}}digitalCalibrationCertificate",
                             nsmap={"dcc": DCC_NS, "si": SI_NS, "xsi": XSI_NS})
        root.set("schemaVersion", SCHEMA_VERSION)
        root.set(f"{{{XSI_NS}}}schemaLocation", f"{DCC_NS} https://ptb.de/dcc/v{SCHEMA_VERSION}/dcc.xsd")
        self.administrative(self.el(root, "dcc:administrativeData"))
        results = self.el(root, "dcc:measurementResults")
        phases = sorted({p.phase for p in self.run.points}, key=lambda ph: (_PHASE_ORDER.get(ph, 2), ph))
        for phase in phases:
            self.measurement_result(results, phase, [p for p in self.run.points if p.phase == phase],
                                    len(phases) > 1)
        return root

    def administrative(self, adm: etree._Element) -> None:
        run, job, issue, dut = self.run, self.run.job, self.issue, self.run.dut
        software = self.el(self.el(adm, "dcc:dccSoftware"), "dcc:software")
        self.recorded(software, "dcc:name", "calstation")
        self.el(software, "dcc:release", __version__)
        self.el(software, "dcc:type", "application")
        self.rich(software, "dcc:description", keys=[("software", {})])

        core = self.el(adm, "dcc:coreData")
        self.el(core, "dcc:countryCodeISO3166_1", run.country)
        for lang in self.langs:
            self.el(core, "dcc:usedLangCodeISO639_1", lang)
        # English is mandatory where it is used; a Chinese-only DCC has Chinese
        self.el(core, "dcc:mandatoryLangCodeISO639_1", "en" if "en" in self.langs else self.langs[0])
        self.el(core, "dcc:uniqueIdentifier", issue.number)
        ids = self.el(core, "dcc:identifications")
        self.identification(ids, "calibrationLaboratory", issue.run_sha256, "run_sha256", REF_RUN_SHA256)
        self.identification(ids, "calibrationLaboratory", run.attrs.get("run_id", ""), "run_id", REF_RUN_ID)
        try:
            self.el(core, "dcc:receiptDate", dt.date.fromisoformat(job.get("date_received", "")).isoformat())
        except ValueError:
            pass  # not recorded as a date: the DCC leaves it out (it is optional)
        first = utc(min(p.t_start for p in run.points))
        last = utc(max(p.t_end for p in run.points))
        self.el(core, "dcc:beginPerformanceDate", first.date().isoformat())
        self.el(core, "dcc:endPerformanceDate", last.date().isoformat())
        where = job.get("performance_location", "")
        self.el(core, "dcc:performanceLocation", where if where in _PERFORMANCE_LOCATIONS else "laboratory")

        item = self.el(self.el(adm, "dcc:items"), "dcc:item")
        self.recorded(item, "dcc:name", job.get("dut_description") or dut.description)
        if job.get("dut_condition"):
            self.rich(item, "dcc:description", "condition", recorded=[job["dut_condition"]])
        if dut.firmware:
            fw = self.el(self.el(item, "dcc:installedSoftwares"), "dcc:software")
            self.text(fw, "dcc:name", "firmware")
            self.el(fw, "dcc:release", dut.firmware)
            self.el(fw, "dcc:type", "firmware")
        self.recorded(self.el(item, "dcc:manufacturer"), "dcc:name",
                      job.get("dut_manufacturer") or dut.manufacturer)
        self.el(item, "dcc:model", job.get("dut_model") or dut.model)
        ids = self.el(item, "dcc:identifications")
        serial = job.get("dut_serial", "").strip() or (dut.serial.strip() if dut.serial.strip() != "0" else "")
        self.identification(ids, "manufacturer", serial, "serial")
        asset = job.get("dut_asset_id") or dut.asset_id
        if asset:
            self.identification(ids, "customer", asset, "asset")
        if dut.idn:
            self.identification(ids, "manufacturer", dut.idn, "idn")

        lab = self.el(adm, "dcc:calibrationLaboratory")
        if issue.lab_code:
            self.el(lab, "dcc:calibrationLaboratoryCode", issue.lab_code)
        self.contact(self.el(lab, "dcc:contact"), job.get("lab_name", ""), job.get("lab_email", ""),
                     job.get("lab_address", ""), run.country)

        persons = self.el(adm, "dcc:respPersons")
        if job.get("operator"):
            tech = self.el(persons, "dcc:respPerson")
            self.recorded(self.el(tech, "dcc:person"), "dcc:name", job["operator"])
            self.rich(tech, "dcc:description", keys=[("technician", {})])
            self.el(tech, "dcc:role", TEXT["technician"][0 if "en" in self.langs else 1])
        signatory = self.el(persons, "dcc:respPerson")
        self.recorded(self.el(signatory, "dcc:person"), "dcc:name", issue.approver)
        self.rich(signatory, "dcc:description", keys=[("signatory", {"date": issue.issued.isoformat()})])
        self.el(signatory, "dcc:role", issue.approver_role)
        self.el(signatory, "dcc:mainSigner", "true")
        if self.signed:
            self.el(signatory, "dcc:cryptElectronicSignature", "true")

        self.contact(self.el(adm, "dcc:customer"), job.get("customer_name", ""), job.get("customer_email", ""),
                     job.get("customer_address", ""), None)
        self.statements(self.el(adm, "dcc:statements"))

    def contact(self, parent: etree._Element, name: str, email: str, address: str, country: str | None) -> None:
        self.recorded(parent, "dcc:name", name)
        self.el(parent, "dcc:eMail", email)
        self.location(parent, address, country)

    def statements(self, st: etree._Element) -> None:
        run, issue = self.run, self.issue
        s = self.el(st, "dcc:statement")
        self.rich(s, "dcc:declaration", keys=[("relate_only", {})])
        s = self.el(st, "dcc:statement")
        self.rich(s, "dcc:declaration", keys=[("not_reproduced", {})])

        s = self.el(st, "dcc:statement")
        self.el(s, "dcc:traceable", "true")
        for trace in dict.fromkeys(x.record.traceability for x in run.standards if x.record.traceability):
            self.el(s, "dcc:reference", trace)
        self.rich(s, "dcc:declaration", "traceability", keys=[("trace_text", {})])

        if run.conformity:
            s = self.el(st, "dcc:statement")
            self.el(s, "dcc:convention", run.attrs.get("decision_rule", ""))
            self.rich(s, "dcc:declaration", "decision_rule", recorded=[run.attrs["decision_statement"]])
        s = self.el(st, "dcc:statement")
        if run.conformity:
            verdict, keys = self.verdict()
            if run.dut.specification:
                self.el(s, "dcc:reference", run.dut.specification)
            self.rich(s, "dcc:declaration", "conformity", keys=keys)
            self.el(s, "dcc:conformity", verdict)
        else:
            self.rich(s, "dcc:declaration", "conformity", keys=[("conf_none", {})])

        s = self.el(st, "dcc:statement")
        self.rich(s, "dcc:declaration", "place", recorded=[run.job.get("location", "")])
        loc = self.el(s, "dcc:location")
        self.el(self.el(loc, "dcc:further"), "dcc:content", run.job.get("location", ""))

        s = self.el(st, "dcc:statement")
        self.rich(s, "dcc:declaration", "issued")
        self.el(s, "dcc:date", issue.issued.isoformat())

        s = self.el(st, "dcc:statement")
        d = self.el(s, "dcc:declaration")
        self.text(d, "dcc:name", "deviations")
        for key, fields in run.deviations or (("none", {}),):
            if key:
                self.contents(d, key, **fields)
            else:  # a deviation event: the run's text
                self.el(d, "dcc:content", str(fields["text"]))

        if run.job.get("remarks", "").strip():
            s = self.el(st, "dcc:statement")
            self.rich(s, "dcc:declaration", "remarks", recorded=[run.job["remarks"]])

    def verdict(self) -> tuple[str, list[tuple[str, dict[str, str]]]]:
        """The overall conformity and its statement (as the PDF's section 5
        words it): the item is judged as it leaves."""
        points = self.run.points
        left = [p for p in points if p.phase == "as_left"]
        judged = left or list(points)
        fails = [p.index + 1 for p in judged if p.decision in NOT_CONFORMING]
        conditional = [p.index + 1 for p in judged if p.decision == "conditional pass"]
        n = str(len(judged))
        decisions = {p.decision for p in judged}
        keys: list[tuple[str, dict[str, str]]] = []
        if fails:
            verdict = "fail" if "fail" in decisions else "conditionalFail"
            keys.append(("conf_fail", {"f": str(len(fails)), "n": n, "which": _spans(fails)}))
        elif conditional:
            verdict = "conditionalPass"
            keys.append(("conf_conditional", {"c": str(len(conditional)), "n": n, "which": _spans(conditional)}))
        else:
            verdict = "pass"
            keys.append(("conf_pass", {"n": n}))
        if left:
            found = [p.index + 1 for p in points if p.phase == "as_found" and p.decision in NOT_CONFORMING]
            keys.insert(0, ("conf_as_left", {}))
            keys.append(("conf_found_fail", {"f": str(len(found)), "which": _spans(found)}) if found
                        else ("conf_found_pass", {}))
        return verdict, keys

    # measurement results ----------------------------------------------------------------------
    def measurement_result(self, parent: etree._Element, phase: str, points: Sequence[PointResult],
                           both: bool) -> None:
        run = self.run
        mr = self.el(parent, "dcc:measurementResult")
        key = "as_found_only" if not both and phase == "as_found" else phase
        if key in TEXT:
            self.text(mr, "dcc:name", key)
        else:  # a phase this calstation does not know: named as recorded
            self.recorded(mr, "dcc:name", phase)
        notes: list[tuple[str, dict[str, str]]] = []
        if not both and phase == "as_found":
            notes.append(("not_adjusted", {}))
        ref_keys, ind_keys = set(), set()
        for p in points:
            dut_n, ref_n = run.observed.get(p.index, (0, 0))
            ref_keys.add("ref_applied" if not ref_n else "ref_corrected" if p.correction else "ref_read")
            ind_keys.add("ind_read" if dut_n else "ind_set")
        order = ("ref_applied", "ref_read", "ref_corrected", "ind_read", "ind_set")
        notes += [(k, {}) for k in order if k in ref_keys | ind_keys]
        self.rich(mr, "dcc:description", keys=notes)

        methods = self.el(mr, "dcc:usedMethods")
        proc = run.procedure
        m = self.el(methods, "dcc:usedMethod")
        self.recorded(m, "dcc:name", proc.get("title", "") or proc.get("name", ""))
        self.rich(m, "dcc:description", keys=[("procedure", {
            "name": proc.get("name", ""), "version": proc.get("version", ""), "sha256": proc.get("sha256", "")})],
            recorded=[proc["method"]] if proc.get("method") else [])
        self.el(m, "dcc:reference", f"{proc.get('name', '')} {proc.get('version', '')}".strip())
        m = self.el(methods, "dcc:usedMethod")
        self.text(m, "dcc:name", "unc_method")
        monte_carlo = run.attrs.get("uncertainty_method", "gum") == "monte-carlo"
        self.rich(m, "dcc:description", keys=[("unc_mc" if monte_carlo else "unc_gum", {}), ("unc_components", {})],
                  recorded=["; ".join(run.components)] if run.components else [])
        for norm in (("JCGM 101:2008", "JJF 1059.2-2012") if monte_carlo else ("JCGM 100:2008", "JJF 1059.1-2012")):
            self.el(m, "dcc:norm", norm)

        sw = self.el(self.el(mr, "dcc:usedSoftware"), "dcc:software")
        recorded_by = run.attrs.get("software", "") or "calstation"
        name, _, release = recorded_by.partition(" ")
        self.recorded(sw, "dcc:name", name)
        self.el(sw, "dcc:release", release)
        self.el(sw, "dcc:type", "application")

        if run.standards:
            eq = self.el(mr, "dcc:measuringEquipments")
            self.text(eq, "dcc:name", "equipment")
            for s in run.standards:
                self.equipment(eq, s)

        self.influence(mr, phase, points, both)

        results = self.el(mr, "dcc:results")
        functions = list(dict.fromkeys(p.function for p in points))
        for function in functions:
            self.result(results, [p for p in points if p.function == function])

    def equipment(self, parent: etree._Element, s: _Standard) -> None:
        r = s.record
        me = self.el(parent, "dcc:measuringEquipment")
        self.recorded(me, "dcc:name", r.description or f"{r.manufacturer} {r.model}".strip())
        keys: list[tuple[str, dict[str, str]]] = []
        if r.specification:
            keys.append(("std_spec", {"spec": r.specification, "dist": r.distribution or "-"}))
        if r.traceability:
            keys.append(("std_trace", {"trace": r.traceability}))
        if keys:
            self.rich(me, "dcc:description", keys=keys)
        if r.manufacturer:
            self.recorded(self.el(me, "dcc:manufacturer"), "dcc:name", r.manufacturer)
        if r.model:
            self.el(me, "dcc:model", r.model)
        ids: list[tuple[str, str, str]] = []
        if r.serial.strip() and r.serial.strip() != "0":
            ids.append(("manufacturer", r.serial.strip(), "serial"))
        if r.asset_id:
            ids.append(("calibrationLaboratory", r.asset_id, "asset"))
        if r.certificate:
            ids.append(("other", r.certificate, "std_cert"))
        if r.probe_certificate:
            ids.append(("other", r.probe_certificate, "std_probe"))
        if ids:
            el = self.el(me, "dcc:identifications")
            for issuer, value, key in ids:
                self.identification(el, issuer, value, key)
        q = self.el(self.el(me, "dcc:measuringEquipmentQuantities"), "dcc:measuringEquipmentQuantity",
                    refType="calstation_calibrationDue")
        self.text(q, "dcc:name", "std_due")
        no = self.el(q, "dcc:noQuantity")
        self.el(no, "dcc:content", s.due.isoformat())

    def influence(self, mr: etree._Element, phase: str, points: Sequence[PointResult], both: bool) -> None:
        """The ambient conditions: as the job states them, and as the
        thermo-hygrometer recorded them while this phase was measured."""
        run, job = self.run, self.run.job
        phases = sorted({p.phase for p in run.points}, key=lambda ph: (_PHASE_ORDER.get(ph, 2), ph))
        ends = {ph: max(p.t_end for p in run.points if p.phase == ph) for ph in phases}
        k = phases.index(phase)
        lo = ends[phases[k - 1]] if k > 0 else -math.inf
        hi = ends[phase] if k < len(phases) - 1 else math.inf
        readings = [(t, temp, rh) for t, temp, rh in run.ambient if lo < t <= hi]
        asset = next((r.asset_id or r.model for r in (x.record for x in run.standards) if r.role == "ambient"), "")
        conditions = []
        for key, stated, unit, column in (("temperature", job.get("temperature_c", ""), "\u00b0C", 1),
                                          ("humidity", job.get("humidity_pct", ""), "%", 2)):
            values = [str(r[column]) for r in readings]
            if stated or values:
                conditions.append((key, stated, unit, values))
        if not conditions:
            return
        ic = self.el(mr, "dcc:influenceConditions")
        for key, stated, unit, values in conditions:
            c = self.el(ic, "dcc:influenceCondition", refType=f"calstation_ambient{key.capitalize()}")
            self.text(c, "dcc:name", key)
            if stated:
                self.rich(c, "dcc:description", keys=[("stated", {"v": f"{stated} {unit}"})])
            if both:
                self.el(c, "dcc:status", "beforeAdjustment" if phase == "as_found" else "afterAdjustment")
            data = self.el(c, "dcc:data")
            if values:
                q = self.el(data, "dcc:quantity")
                if asset:
                    self.text(q, "dcc:name", "measured_asset", asset=asset)
                else:
                    self.text(q, "dcc:name", "measured")
                xl = self.el(q, "si:realListXMLList")
                self.el(xl, "si:valueXMLList", " ".join(values))  # as the events hold them
                self.el(xl, "si:unitXMLList", " ".join([DSI_UNITS[unit]] * len(values)))
            else:
                self.rich(data, "dcc:text", keys=[("stated", {"v": f"{stated} {unit}"})])

    def result(self, parent: etree._Element, points: Sequence[PointResult]) -> None:
        function = points[0].function
        res = self.el(parent, "dcc:result", refType=f"calstation_function_{function}")
        self.localized(self.el(res, "dcc:name"), FUNCTIONS.get(function, (function, function)))
        lst = self.el(self.el(res, "dcc:data"), "dcc:list")
        n = len(points)
        path = self.path

        def values(field: str) -> str:
            return " ".join(_number(getattr(p, field), path, f"point {p.index + 1}'s {field}") for p in points)

        def units(field: str = "") -> str:
            return " ".join(DSI_UNITS["Hz" if field == "frequency" else p.unit] for p in points)

        def quantity(key: str, ref: str, field: str, extra: Callable[[etree._Element], None] | None = None,
                     labels: bool = False) -> None:
            q = self.el(lst, "dcc:quantity", refType=ref)
            self.text(q, "dcc:name", key)
            if labels:
                self.rich(q, "dcc:description", keys=[("point_no", {})])
            xl = self.el(q, "si:realListXMLList")
            if labels:
                self.el(xl, "si:labelXMLList", " ".join(str(p.index + 1) for p in points))
            self.el(xl, "si:valueXMLList", values(field))
            self.el(xl, "si:unitXMLList", units(field))
            if extra is not None:
                extra(xl)

        def uncertainty(xl: etree._Element) -> None:
            unc = self.el(xl, "si:expandedUncXMLList")
            self.el(unc, "si:uncertaintyXMLList", values("expanded_uncertainty"))
            ks = []
            for p in points:
                k = _number(p.coverage_factor, path, f"point {p.index + 1}'s coverage factor")
                if p.coverage_factor < 1:
                    raise DccError(f"{path}: point {p.index + 1}'s coverage factor {k} is below 1, which "
                                   "a DCC cannot state; the run file is damaged")
                ks.append(k)
            self.el(unc, "si:coverageFactorXMLList", " ".join(ks))
            monte_carlo = self.run.attrs.get("uncertainty_method", "gum") == "monte-carlo"
            prob = _probability(MC_PROBABILITY * 100 if monte_carlo else COVERAGE_PROBABILITY)
            self.el(unc, "si:coverageProbabilityXMLList", " ".join([prob] * n))

        quantity("nominal", "basic_nominalValue", "nominal", labels=True)
        if any(p.range > 0 for p in points):
            quantity("range", "calstation_range", "range")
        if any(p.frequency > 0 for p in points):
            quantity("frequency", "calstation_frequency", "frequency")
        quantity("reference", "basic_referenceValue", "reference")
        quantity("indication", "basic_measuredValue", "indication")
        quantity("error", "basic_measurementError", "error", uncertainty)
        quantity("lower", "calstation_toleranceLimitLower", "lower_limit")
        quantity("upper", "calstation_toleranceLimitUpper", "upper_limit")
        if self.run.conformity:
            meta = self.el(self.el(lst, "dcc:measurementMetaData"), "dcc:metaData", refType="calstation_decision")
            self.rich(meta, "dcc:declaration", keys=[("decisions", {})])
            self.el(meta, "dcc:conformityXMLList", " ".join(CONFORMITY[p.decision] for p in points))


def _spans(numbers: Sequence[int]) -> str:
    """1, 2, 3, 5 -> "1-3, 5"."""
    out: list[str] = []
    start = prev = None
    for n in [*numbers, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(out)


# -- parsing, canonical form, signature ----------------------------------------------------------
def _parser() -> etree.XMLParser:
    """No network, no DTD, no entities: a DCC read from anywhere is data."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _canonical(root: etree._Element) -> bytes:
    """The bytes a signature covers: C14N 1.0 without comments of the root element."""
    return etree.tostring(root, method="c14n", exclusive=False, with_comments=False)


def render_dcc(run_path: Path, issue: Issue, signer: Signer | None = None) -> bytes:
    """The DCC of the completed, verified run at ``run_path`` as approved
    by ``issue``, signed by ``signer`` (the approver) when given.

    Deterministic: the same run file, issue and key give the same bytes.
    Raises `DccError` (a run that may not be certified, a run file that is
    not the one approved, text XML cannot hold), `IntegrityError` (the run
    file does not verify) and `RunFileError` (not a readable run file)."""
    run_path = Path(run_path)
    if issue.languages not in LANGUAGES:
        raise DccError(f"certificate {issue.number}: languages {issue.languages!r} is none of "
                       f"{', '.join(LANGUAGES)}; approve it again with one of them")
    _checked(f"certificate {issue.number!r}", "approval field", {
        "number": issue.number, "approver": issue.approver, "approver_role": issue.approver_role,
        "lab_code": issue.lab_code})
    if signer is not None and signer.user != issue.approver_user:
        raise DccError(f"certificate {issue.number}: approved by {issue.approver_user!r} but signed with "
                       f"the key of {signer.user!r}; sign it with the approver's key")
    with RunFile(run_path) as rf:
        refuse_status(run_path, rf.attrs, DccError)
        verified = rf.verify()
        if not verified.ok:
            raise IntegrityError(f"{verified.message}; no certificate is issued for it")
        run = _collect(rf)
    actual = file_sha256(run_path)
    if actual != issue.run_sha256.lower():
        raise DccError(f"{run_path}: its SHA-256 is {actual}, but certificate {issue.number} was approved for "
                       f"the run file {issue.run_sha256}; write it from the run file that was approved")
    root = _Builder(run, issue, signer is not None).build()
    unsigned = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    tree = etree.fromstring(unsigned, _parser()).getroottree()
    if signer is not None:
        root = tree.getroot()
        root.addnext(etree.ProcessingInstruction(PI_TARGET, signer.block(_canonical(root))))
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_dcc(run_path: Path, out: Path, issue: Issue, signer: Signer | None = None) -> Path:
    """Write `render_dcc` to ``out`` in one step (written beside it under a
    temporary name, synced, then renamed: never half-written). Returns ``out``."""
    run_path, out = Path(run_path), Path(out)
    if out.resolve() == run_path.resolve():
        raise DccError(f"{out}: the DCC would overwrite its run file; choose another output name")
    if out.is_dir():
        raise DccError(f"{out}: is a folder; give the DCC's file name (.xml)")
    data = render_dcc(run_path, issue, signer)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_image(out, data, new=False)
    except OSError as e:
        raise DccError(f"{out}: cannot be written ({e.strerror or e}); check the folder exists, is writable "
                       "and has free space (nothing was left behind)") from None
    return out


_SCHEMA_LOCK = threading.Lock()


@cache
def _schema() -> etree.XMLSchema:
    """DCC 3.1.2 with the D-SI schema it imports, both from this package's data."""
    folder = files("station.certificates").joinpath("schemas", _SCHEMA_DIR)

    class _Local(etree.Resolver):
        # lxml calls resolve(url, id, context); lxml-stubs leave out the context
        def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
            name = (system_url or "").replace("\\", "/").rsplit("/", 1)[-1]
            if name in ("SI_Format.xsd", "dcc.xsd"):
                return self.resolve_string(folder.joinpath(name).read_bytes(), context)  # type: ignore[call-arg]
            return None  # anything else is not resolved (and no_network forbids fetching it)

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.resolvers.add(_Local())
    doc = etree.fromstring(folder.joinpath("dcc.xsd").read_bytes(), parser,
                           base_url=f"calstation-schemas/{_SCHEMA_DIR}/dcc.xsd")
    return etree.XMLSchema(doc)


def validate_dcc(data: bytes) -> list[str]:
    """The schema's complaints about ``data`` (DCC 3.1.2 with D-SI 2.1.0),
    one line each with its line number; empty when it is valid."""
    try:
        doc = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as e:
        return [f"not well-formed XML: {one_line(e)}"]
    schema = _schema()
    with _SCHEMA_LOCK:  # the schema keeps the last validation's errors
        if schema.validate(doc):
            return []
        log = cast(Iterable[Any], schema.error_log)  # iterable, which lxml-stubs do not say
        return [f"line {err.line}: {one_line(err.message)}" for err in log]


def read_dcc(data: bytes, source: str) -> SignedDocument:
    """What a calstation DCC says about itself: its number
    (``uniqueIdentifier``), the run file's SHA-256 (its identification),
    its signature block (None when unsigned) and the bytes the signature
    covers. ``source`` names the file in errors. Raises `DccError` for a
    file that is not a calstation DCC."""
    what = "a calstation DCC (XML, PTB DCC schema)"
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as e:
        raise DccError(f"{source}: not {what}: not well-formed XML ({one_line(e)})") from None
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise DccError(f"{source}: not {what}: it has a document type declaration, which a DCC has not")
    if root.tag != f"{{{DCC_NS}}}digitalCalibrationCertificate":
        raise DccError(f"{source}: not {what}: its root element is {root.tag!r}")
    ns = {"dcc": DCC_NS}
    core = "dcc:administrativeData/dcc:coreData/"
    number = (root.findtext(core + "dcc:uniqueIdentifier", "", ns) or "").strip()
    if not number:
        raise DccError(f"{source}: not {what}: it has no uniqueIdentifier (certificate number)")
    sha = [(e.findtext("dcc:value", "", ns) or "").strip()
           for e in root.iterfind(core + "dcc:identifications/dcc:identification", ns)
           if e.get("refType") == REF_RUN_SHA256]
    if len(sha) != 1 or not re.fullmatch(r"[0-9a-f]{64}", sha[0]):
        raise DccError(f"{source}: not {what}: it has no identification with the run file's SHA-256 "
                       f"({REF_RUN_SHA256}); it was not written by calstation")
    pis = [n for n in root.itersiblings() if isinstance(n, etree._ProcessingInstruction)
           and n.target == PI_TARGET]
    if len(pis) > 1:
        raise DccError(f"{source}: carries {len(pis)} signature blocks; a calstation DCC carries one, "
                       "after its root element: the file was altered")
    block = parse_block((pis[0].text or "").encode("ascii", errors="replace")) if pis else None
    return SignedDocument("dcc", number, sha[0], block, _canonical(root))
