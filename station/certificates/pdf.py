"""The calibration certificate as a PDF, rendered from the run file alone.

Contents follow ISO/IEC 17025:2017 7.8.2.1 and 7.8.4.1; docs/certificate.md
maps every element to its place on the certificate and its source in the
run file. Nothing but the run file, the approval (`Issue`) and the
signatory's key go in (no clock, no environment but the font, no
register), and reportlab runs in its invariant mode with the PDF's dates
taken from the run (or the approval), so the same inputs always give the
same bytes and a certificate can be regenerated and compared byte for byte.

Without an `Issue` the certificate is a draft: "DRAFT - not approved, not a
certificate" on every page, no number, no approval, no signature, no QR
code. With one it carries the register's number and "Page x of y" on every
page, the approver, a QR code (`Issue.qr_payload`) and the run file's
SHA-256. With a `Signer` too, the PDF is signed the way PDF signatures
are (a byte range): its document information holds ``/CalstationSignature``,
reserved as `signing.placeholder()` while the PDF is written; the signature
covers every byte of the file but that span, and is written into it.
`read_pdf` finds it again.

Fixed phrases are in `TEXT_EN` and `TEXT_ZH` (Simplified Chinese); a
certificate is in English, Chinese or both ("en+zh": the Chinese beneath
the English). Latin text is set in the PDF standard fonts (Windows Latin-1);
Chinese labels and any run-file text outside Latin-1 in the CJK font of
`station.certificates.fonts`, embedded as a subset. Text no font can show
is refused, naming the field, rather than printed as empty boxes.

A run file is verified (`RunFile.verify`: hash chain, seal, every point
re-derived from its raw readings) before anything is printed, and the
printed results are those re-derived from ``/raw/readings``.

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
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFDate, PDFDictionary, PDFInfo, PDFName, PDFString
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
from station import signing
from station.certificates.common import (
    file_sha256,
    observed,
    refuse_status,
    standards_in_calibration,
    states_conformity,
    the_dut,
    utc,
)
from station.certificates.fonts import FONT_NAME, CJKFont, FontError, cjk_font, needs_cjk
from station.certificates.issue import LANGUAGES, Issue
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

__all__ = ["CertificateError", "TEXT_EN", "TEXT_ZH", "certificate_number", "read_pdf", "render_pdf"]


class CertificateError(CalstationError):
    """A run file that cannot (or may not) be turned into a certificate, or
    a file that is not a calstation certificate."""


#: Every fixed phrase of the certificate in English (Paragraph markup allowed).
TEXT_EN: dict[str, str] = {
    "title": "Calibration Certificate",
    "cert_no": "Certificate No.",
    "page": "Page {n} of {m}",
    "end": "End of certificate",
    "not_reproduced": "This certificate shall not be reproduced except in full without the "
    "written approval of the issuing laboratory.",
    "remarks": "Remarks",
    "draft": "DRAFT - not approved, not a certificate",
    "draft_number": "draft",
    "draft_authorisation": "Not approved: a draft has no certificate number, no approval and no "
    "signature. It certifies nothing and is not to be given to the customer as a certificate.",
    "not_issued": "not issued (draft)",
    "to": "to",
    "semicolon": "; ",
    # section 1
    "s_admin": "1  Laboratory, customer and item",
    "lab": "Issued by",
    "place": "Place of calibration",
    "customer": "Customer",
    "item": "Item calibrated",
    "manufacturer_model": "Manufacturer, model",
    "serial": "Serial number",
    "asset": "Asset ID",
    "idn": "Electronic identification (*IDN?)",
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
    "approved": "Date of approval",
    "signed": "Signed electronically (Ed25519, key {key}); <font face='Courier'>calstation verify</font> "
    "checks it.",
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


#: The same phrases in Simplified Chinese, key for key (numbers, units and
#: symbols stay as they are). A test checks that both tables have the same
#: keys and the same placeholders.
TEXT_ZH: dict[str, str] = {
    "title": "校准证书",
    "cert_no": "证书编号",
    "page": "第 {n} 页 共 {m} 页",
    "end": "证书结束",
    "not_reproduced": "未经本实验室书面批准，不得部分复制本证书。",
    "remarks": "备注",
    "draft": "草稿 - 未经批准，不是证书",
    "draft_number": "草稿",
    "draft_authorisation": "未经批准：草稿没有证书编号，未经批准，也没有签名。它不证明任何事项，"
    "不得作为证书交给委托方。",
    "not_issued": "未签发（草稿）",
    "to": "至",
    "semicolon": "；",
    # section 1
    "s_admin": "1  实验室、委托方和被校准器具",
    "lab": "签发机构",
    "place": "校准地点",
    "customer": "委托方",
    "item": "被校准器具",
    "manufacturer_model": "制造厂、型号",
    "serial": "出厂编号",
    "asset": "资产编号",
    "idn": "电子标识 (*IDN?)",
    "idn_serial_note": "器具以电子方式报告的出厂编号为 {idn}",
    "condition": "接收时状态",
    "received": "接收日期",
    "calibrated": "校准日期",
    "issued": "签发日期",
    "environment": "环境条件",
    "temperature": "环境温度 {v} &deg;C",
    "humidity": "相对湿度 {v} %",
    "ambient_measured": "<br/>校准期间测得：{t0} &deg;C 至 {t1} &deg;C，相对湿度 {h0} % 至 {h1} %"
    "（温湿度计 {asset}）",
    "not_recorded": "未记录",
    "operator": "校准员",
    "run": "校准记录",
    "run_text": "运行 {run_id}，开始于 {created}，结束于 {finished} (UTC)，由 {software} 记录",
    "relate_only": "本证书的结果仅与被校准的器具有关，即上述所标识的器具在其校准时的时间和条件下的结果。",
    "authorised": "批准人",
    "signature": "签名",
    "approved": "批准日期",
    "signed": "已电子签名（Ed25519，密钥 {key}），可用 <font face='Courier'>calstation verify</font> 核验。",
    # section 2
    "s_method": "2  校准方法",
    "procedure": "校准程序",
    "procedure_text": "{title}<br/>calstation 程序 {name}，版本 {version}",
    "sha256": "校准程序的 SHA-256",
    "seal": "校准记录的封签",
    "seal_text": "{seal}<br/>（SHA-256；<font face='Courier'>calstation verify</font> 据此核对记录文件）",
    "method": "方法说明",
    "dut_spec": "被校准器具的技术指标",
    "deviations": "对校准方法的偏离",
    "none": "无。",
    "resumed": "运行曾中断（{why}），于 {when} UTC 恢复（{what}）。中断前完成的校准点按记录报告；"
    "其余校准点在恢复后测量。",
    "interrupted_unknown": "原因未记录",
    "missing_points": "计划中未报告的校准点：{which}。",
    "sampling": "抽样",
    "sampling_text": "不适用：校准的是器具本身。",
    "external": "外部供方",
    "external_text": "无：所有结果均由本实验室获得。",
    # section 3
    "s_trace": "3  测量标准和溯源性",
    "trace_text": "校准结果的计量溯源性通过下列测量标准建立，各标准的溯源性见其自身校准证书。每台测量标准"
    "在校准开始时均经电子识别，并在校准日期处于其校准有效期内。",
    "std_instrument": "测量标准",
    "std_asset": "资产编号",
    "std_cert": "证书编号",
    "std_due": "校准有效期至",
    "std_trace": "溯源性",
    "std_spec": "所用技术指标：{spec}；{dist} 分布",
    "std_serial": "出厂编号 {serial}",
    "std_probe": "参考探头：{certificate}",
    # section 4
    "s_unc": "4  测量不确定度",
    "unc_text": "各校准点的扩展不确定度 <i>U</i> = <i>k</i> &middot; <i>u</i><sub>c</sub> 以其结果的单位"
    "给出。校准点的合成标准不确定度 <i>u</i><sub>c</sub> 为其不确定度预算各分量贡献的方和根，"
    "校准记录保存了每个校准点的预算。各分量为：",
    "unc_head_name": "分量",
    "unc_head_desc": "来源",
    "unc_head_eval": "评定",
    "unc_head_points": "校准点",
    "unc_all_points": "全部",
    "type_a": "A 类，由读数评定",
    "type_b": "B 类，{distribution}",
    "dist_rectangular": "矩形分布，<i>a</i>/sqrt(3)",
    "dist_normal_k": "正态分布，<i>U</i>/<i>k</i>（<i>k</i> = {k}）",
    "dist_other": "{name}，除数 {divisor}",
    "unc_coverage": "包含因子 <i>k</i> 取包含概率约为 {p} % 的 <i>t</i> 分布值，其自由度为校准点预算按"
    " Welch-Satterthwaite 公式计算并向下取整的有效自由度 <i>v</i><sub>eff</sub>（自由度很大时 "
    "<i>k</i> = 2）：本次 <i>v</i><sub>eff</sub> 为 {nu}，<i>k</i> 为 {k}，各校准点的值见结果。"
    "测量不确定度按 JCGM 100:2008 (GUM) 和 JJF 1059.1-2012 评定。<i>U</i> 向上修约至两位有效数字，"
    "各结果修约至相同的小数位。测量不确定度不包括被校准器具的长期稳定性。",
    "unc_rectangular": "以下校准点的预算以矩形分布的分量为主（校准点：{which}）：在这些校准点，"
    "<i>U</i> = <i>k</i> <i>u</i><sub>c</sub> 的包含概率不低于 95 %，高于上述包含概率"
    "（区间偏于保守；GUM G.6.6）。",
    "unc_monte_carlo": "扩展不确定度 <i>U</i> 按 JCGM 101:2008 (GUM 补充文件 1) 和 JJF 1059.2-2012 的"
    "蒙特卡洛法评定：传播上述各分量的分布（每个校准点 {lo} 至 {hi} 次试验，自适应，数值容差为标准"
    "不确定度的两位有效数字），<i>U</i> 为以结果为中心、包含概率为 95 % 的最短包含区间的最小区间的"
    "半宽。各校准点给出 <i>k</i> = <i>U</i>/<i>u</i><sub>c</sub>（{k}）。<i>U</i> 向上修约至两位"
    "有效数字，各结果修约至相同的小数位。测量不确定度不包括被校准器具的长期稳定性。",
    "nu_infinite": "无穷大",
    "nu_large": "大于 {n}",
    "nu_range": "{lo} 至 {hi}",
    # section 5
    "s_conf": "5  符合性声明",
    "decision_rule": "判定规则",
    "conf_spec": "技术指标",
    "conf_result": "结论",
    "conf_pass": "全部 {n} 个校准点合格：在所测校准点上，被校准器具符合技术指标。",
    "conf_fail": "{n} 个校准点中有 {f} 个不合格或有条件不合格（序号 {which}，已在结果中标明）："
    "在所测校准点上，被校准器具不符合技术指标。",
    "conf_conditional": "没有不合格的校准点；{n} 个校准点中有 {c} 个（序号 {which}）为有条件合格："
    "其测得值在允许误差限内，但在限值的保护带内，因此不能以判定规则要求的置信度证明其符合性。",
    "conf_as_left": "调整后：",
    "conf_found_fail": "调整前，被校准器具在 {f} 个校准点（序号 {which}）不符合。",
    "conf_found_pass": "调整前，被校准器具在所有校准点均符合。",
    "conf_none": "委托方未要求符合性声明，本证书不作符合性判定。技术指标的允许误差限仅供参考。",
    # section 6
    "s_results": "6  校准结果",
    "no_adjustment": "被校准器具未经调整：以下结果既是调整前的结果，也是调整后的结果。",
    "as_found": "调整前的结果",
    "as_left": "调整后的结果",
    "as_found_only": "调整前及调整后的结果",
    "range_row": "{range} 量程",
    "values_in": "单位 {u}",
    "c_no": "序号",
    "c_nominal": "标称值 ({u})",
    "c_frequency": "频率",
    "c_reference": "参考值 ({u})",
    "c_indication": "示值 ({u})",
    "c_error": "示值误差 ({u})",
    "c_lower": "下限 ({u})",
    "c_upper": "上限 ({u})",
    "c_U": "<i>U</i> ({u})",
    "c_k": "<i>k</i>",
    "c_decision": "结论",
    "pass": "合格",
    "fail": "不合格",
    "conditional pass": "有条件合格",
    "conditional fail": "有条件不合格",
    "notes": "序号：校准点在校准记录中的编号。参考值：{reference}。示值：{indication}。"
    "示值误差 = 示值 - 参考值。下限和上限：按被校准器具的技术指标得出的示值允许误差限。"
    "<i>U</i>：示值误差的扩展不确定度，包含因子为 <i>k</i>。",
    "notes_frequency": "频率：交流校准点的频率。",
    "ref_applied": "测量标准输出的值",
    "ref_read": "测量标准读数的平均值",
    "ref_corrected": "参考标准读数的平均值，已按其校准证书修正",
    "ind_read": "被校准器具读数的平均值",
    "ind_set": "被校准器具的设定值（它是信号源）",
    "either": "或",
    "notes_conf": "结论：按第 5 节的判定规则，用未修约的值作出的判定。",
}

#: The names of the functions, in Chinese (`Function.description` in English).
FUNCTIONS_ZH: dict[str, str] = {
    "DCV": "直流电压", "DCI": "直流电流", "ACV": "交流电压", "ACI": "交流电流",
    "R2W": "电阻（二线制）", "R4W": "电阻（四线制）", "TEMP": "温度", "PRES": "压力",
}
_TABLES: dict[str, dict[str, str]] = {"en": TEXT_EN, "zh": TEXT_ZH}
#: Every character of the Chinese labels: a font qualifies when it has them all.
_ZH_CHARS = "".join(sorted({c for t in (*TEXT_ZH.values(), *FUNCTIONS_ZH.values()) for c in t if needs_cjk(c)}))

_PHASE_ORDER = {"as_found": 0, "as_left": 1}
#: The fields of an InstrumentRecord the certificate prints.
_RECORD_TEXT = ("role", "manufacturer", "model", "serial", "idn", "asset_id", "description",
                "calibration_due", "certificate", "traceability", "specification", "distribution")
#: The entries calstation adds to the PDF's document information (docs/certificate.md).
INFO_NUMBER = "CalstationCertificate"
INFO_DRAFT = "CalstationDraft"
INFO_RUN = "CalstationRunSHA256"
INFO_QR = "CalstationQR"
INFO_SIGNATURE = "CalstationSignature"


#: Between the languages of a phrase: `_p` sets each in a paragraph of its own.
_LANG = "\x1e"


@dataclass(frozen=True)
class _Text:
    """The fixed phrases in the certificate's language(s): each language's
    phrase beneath the one before (or beside it, on one line)."""

    languages: tuple[str, ...]

    @property
    def zh(self) -> bool:
        return "zh" in self.languages

    def join(self, phrase: Callable[[Mapping[str, str]], str], sep: str = _LANG) -> str:
        """``phrase`` (given one language's table) in every language (once
        where they agree: a symbol)."""
        return sep.join(dict.fromkeys(phrase(_TABLES[lang]) for lang in self.languages))

    def __call__(self, key: str, /, sep: str = _LANG, **values: str) -> str:
        return self.join(lambda T: T[key].format(**values) if values else T[key], sep)

    def label(self, key: str, width: float, font: str = "Helvetica-Bold", size: float = 9) -> str:
        """A label on one line ("English / 中文") where it fits ``width``, else
        each language beneath the other."""
        line = self.line(key)
        fits = sum(pdfmetrics.stringWidth(s, f, size) for s, f in _segments(line, font)) <= width
        return line if len(self.languages) == 1 or fits else self(key)

    def line(self, key: str, /, **values: str) -> str:
        """On one line: "English / 中文"."""
        return self(key, " / ", **values)

    def heading(self, key: str) -> str:
        """A numbered heading: "2  Method / 校准方法" (the number once)."""
        parts = [_TABLES[lang][key] for lang in self.languages]
        return " / ".join([parts[0], *(re.sub(r"^\d+\s+", "", p) for p in parts[1:])])


# -- what goes on the certificate, all from the run file ---------------------------
@dataclass(frozen=True)
class _Standard:
    record: InstrumentRecord
    due: dt.date
    certificate: str  # its own calibration certificate
    probe: str  # its reference probe's certificate (a thermometer), or ""


#: A deviation from the method: a phrase of the tables with its values, or
#: text quoted from the run file (key "").
_Deviation = tuple[str, Mapping[str, str]]


@dataclass(frozen=True)
class _Data:
    path: Path
    tx: _Text
    issue: Issue | None  # None: a draft
    key_id: str  # of the signatory's key when the PDF is signed, else ""
    run_sha256: str
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
    deviations: tuple[_Deviation, ...]
    #: The ambient conditions the thermo-hygrometer recorded during the run:
    #: ((lowest, highest) degrees C, (lowest, highest) %RH, its asset), or None.
    ambient: tuple[tuple[float, float], tuple[float, float], str] | None
    conformity: bool

    @property
    def number(self) -> str:
        """The certificate number, or the word "draft" in the certificate's language(s)."""
        return self.issue.number if self.issue else self.tx.line("draft_number")


def certificate_number(run_id: str, created: str) -> str:
    """A number derived from the run file alone:
    ``CS-<created date YYYYMMDD>-<first 8 characters of the run id>``
    (what the register may use as a default)."""
    ident = re.sub(r"[^0-9A-Za-z]", "", run_id)[:8].upper()
    day = created[:10].replace("-", "")
    if not ident or not re.fullmatch(r"\d{8}", day):
        raise CertificateError(
            f"run id {run_id!r} / created {created!r} give no certificate number; "
            "the run file's header is damaged"
        )
    return f"CS-{day}-{ident}"


class _Fonts:
    """The CJK font, looked for when the first text needs it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.font: CJKFont | None = None

    def need(self, why: str) -> CJKFont:
        if self.font is None:
            try:
                self.font = cjk_font(_ZH_CHARS)
            except FontError as e:
                raise CertificateError(f"{self.path}: {why} needs a Chinese (CJK) font: {e}") from None
        return self.font


def _check(path: Path, fonts: _Fonts, what: str, name: str, text: str) -> str:
    """Text as the certificate can print it, or a refusal naming the field.

    The limits of `station.certificates.text` apply, with every character
    outside Latin-1 counted as a "W" (a CJK character is as wide); those
    characters are set in the CJK font, which must have them."""
    wide = {c for c in text if needs_cjk(c) and unicodedata.category(c) != "Cc"}
    found = problem(what, name, "".join("W" if c in wide else c for c in text))
    if found:
        raise CertificateError(f"{path}: {found}")
    if wide:
        sample = one_line(text)
        font = fonts.need(f"{what} {name!r} ({sample[:24]!r}{'...' if len(sample) > 24 else ''})")
        missing = "".join(sorted(c for c in wide if not font.covers(c)))
        if missing:
            raise CertificateError(f"{path}: {what} {name!r} contains characters neither Latin-1 nor the "
                                   f"CJK font {font.name} can show ({missing!r}); write them otherwise")
    return text


def _checked(path: Path, fonts: _Fonts, where: str, values: Mapping[str, str]) -> dict[str, str]:
    return {k: _check(path, fonts, where, k, v) for k, v in values.items()}


def _timestamp(path: Path, what: str, text: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CertificateError(
            f"{path}: the run's {what} time {text!r} is not an ISO 8601 time; the run file's "
            "header is damaged"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _deviations(rf: RunFile, points: Sequence[PointResult]) -> tuple[_Deviation, ...]:
    out: list[_Deviation] = []
    why = ""
    for t, kind, message in rf.events():
        if kind in ("aborted", "failed"):
            why = f"{kind}: {one_line(message)}"
        elif kind == "resumed":
            out.append(("resumed", {"why": escape(why), "when": utc(t).strftime("%Y-%m-%d %H:%M"),
                                    "what": escape(one_line(message))}))
            why = ""
        elif kind == "deviation":
            out.append(("", {"text": escape(one_line(message))}))
    done = {p.index for p in points}
    missing = [row for row in rf.plan if row.index not in done]
    if missing:
        which = ", ".join(f"{r.index + 1} ({_point_name(r.function, r.nominal, r.unit, r.range, r.frequency)})"
                          for r in missing)
        out.append(("missing_points", {"which": escape(which)}))
    return tuple(out)


def _deviation_text(deviation: _Deviation, T: Mapping[str, str]) -> str:
    key, values = deviation
    if not key:
        return values["text"]
    if key == "resumed" and not values["why"]:
        values = {**values, "why": T["interrupted_unknown"]}
    return T[key].format(**values)


def _collect(rf: RunFile, tx: _Text, fonts: _Fonts, run_sha256: str, issue: Issue | None,
             key_id: str) -> _Data:
    path = rf.path
    attrs = rf.attrs
    refuse_status(path, attrs, CertificateError)
    attrs = _checked(path, fonts, "run attribute", attrs)
    job = _checked(path, fonts, "job field", rf.job)
    procedure = _checked(path, fonts, "procedure field", rf.procedure)
    if issue is not None:
        _checked(path, fonts, "approval", {"approver": issue.approver, "approver_role": issue.approver_role})
    created = _timestamp(path, "start", attrs.get("created", ""))
    finished = _timestamp(path, "finish", attrs.get("finished", ""))
    records = rf.instruments
    for r in records:
        _checked(path, fonts, f"instrument {r.role!r} field",
                 {k: str(getattr(r, k)) for k in _RECORD_TEXT if k != "certificate"})
    dut = the_dut(path, records, CertificateError, "this calstation cannot state its part in the calibration: "
                  "render the certificate with the version that wrote the run")
    points = tuple(rf.derived_points())  # re-derived from /raw by the verify before
    if not points:
        raise CertificateError(f"{path}: run {attrs.get('run_id', '?')} holds no results; "
                               "there is nothing to certify")
    for p in points:
        _checked(path, fonts, f"point {p.index + 1}", {"function": p.function, "unit": p.unit, "phase": p.phase,
                                                       "decision": p.decision, "label": p.label})
    budgets = rf.budgets()
    for i, components in budgets.items():
        for c in components:
            _checked(path, fonts, f"budget component of point {i + 1}",
                     {"name": c.name, "distribution": c.distribution, "description": c.description})
    first = utc(min(p.t_start for p in points))
    last = utc(max(p.t_end for p in points))
    standards = []
    for r, due in standards_in_calibration(path, records, last, CertificateError):
        what = f"instrument {r.role!r} field"
        standards.append(_Standard(r, due, _check(path, fonts, what, "certificate", r.certificate),
                                   _check(path, fonts, what, "probe_certificate", r.probe_certificate)))
    return _Data(
        path=path, tx=tx, issue=issue, key_id=key_id, run_sha256=run_sha256, attrs=attrs, job=job,
        procedure=procedure, dut=dut, standards=tuple(standards), points=points, budgets=budgets,
        observed=observed(rf, points), created=created, finished=finished, first=first, last=last,
        deviations=_deviations(rf, points), conformity=states_conformity(attrs, job), ambient=_ambient(rf, records),
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


def _row(p: PointResult, scale: Scale, tx: _Text) -> _Row:
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
        decision=tx.join(lambda T: T.get(p.decision, escape(p.decision.capitalize()))),
    )


def _plusminus(text: str) -> str:
    """'23.0 +/- 1.0' -> '(23.0 &plusmn; 1.0)'; other text as it is."""
    text = text.strip()
    if "+/-" in text:
        a, b = (s.strip() for s in text.split("+/-", 1))
        return f"({escape(a)} &plusmn; {escape(b)})"
    return escape(text)


def _function_name(function: str, T: Mapping[str, str]) -> str:
    if T is TEXT_ZH and function in FUNCTIONS_ZH:
        return FUNCTIONS_ZH[function]
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
_DRAFT = ParagraphStyle("draft", parent=_NUMBER, textColor=RED)
_H1 = ParagraphStyle("h1", parent=_BASE, fontName="Helvetica-Bold", fontSize=11, leading=14,
                     spaceBefore=10, spaceAfter=4, textColor=DARK, keepWithNext=1)
_H2 = ParagraphStyle("h2", parent=_BASE, fontName="Helvetica-Bold", fontSize=10, leading=13,
                     spaceBefore=8, spaceAfter=2, textColor=DARK, keepWithNext=1)
_H3 = ParagraphStyle("h3", parent=_BASE, fontName="Helvetica-Bold", fontSize=9, leading=12,
                     spaceBefore=6, spaceAfter=2, keepWithNext=1)
_HEAD = ParagraphStyle("head", parent=_SMALL, fontName="Helvetica-Bold", alignment=TA_CENTER)
_CELL = ParagraphStyle("cell", parent=_SMALL)
_DECISION = ParagraphStyle("decision", parent=_SMALL, fontSize=7, leading=8.5, alignment=TA_CENTER)
_DECISION_BAD = ParagraphStyle("decision_bad", parent=_DECISION, fontName="Helvetica-Bold", textColor=RED)
_RANGE = ParagraphStyle("range", parent=_SMALL, fontName="Helvetica-Bold")
_REMARK = ParagraphStyle("remark", parent=_BASE, fontName="Helvetica-Bold", fontSize=10,
                         leading=13, textColor=RED)
_END = ParagraphStyle("end", parent=_BASE, fontName="Helvetica-Bold", alignment=TA_CENTER,
                      spaceBefore=14)

#: Runs of characters the standard fonts (Windows Latin-1) cannot show.
_WIDE = re.compile("[^" + re.escape(bytes(range(256)).decode("cp1252", errors="ignore")) + "]+")
#: Paragraph styles that wrap Chinese text (between any two characters), by name.
_CJK_STYLES: dict[str, ParagraphStyle] = {}


def _mixed(markup: str) -> str:
    """Paragraph markup with every run of characters outside Latin-1 set in
    the CJK font (the run file's text was checked for it: `_check`)."""
    return _WIDE.sub(lambda m: f"<font face='{FONT_NAME}'>{m.group(0)}</font>", markup)


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    if not _WIDE.search(text):
        return Paragraph(text, style)
    # Chinese lines break between any two characters (reportlab's CJK wrapping; it
    # may break a long Latin word too, which is why each language has its own paragraph)
    if style.name not in _CJK_STYLES:
        _CJK_STYLES[style.name] = ParagraphStyle(f"{style.name}-cjk", parent=style, wordWrap="CJK")
    return Paragraph(_mixed(text), _CJK_STYLES[style.name])


class _Stack(Flowable):  # type: ignore[misc]
    """Paragraphs one beneath the other: a phrase in each language."""

    def __init__(self, paragraphs: Sequence[Paragraph]) -> None:
        super().__init__()
        self.paragraphs = list(paragraphs)
        self.heights: list[float] = []

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.heights = [p.wrap(available_width, available_height)[1] for p in self.paragraphs]
        self.width = available_width
        return available_width, sum(self.heights)

    def draw(self) -> None:
        y = sum(self.heights)
        for p, h in zip(self.paragraphs, self.heights, strict=True):
            y -= h
            p.drawOn(self.canv, 0, y)

    def getSpaceBefore(self) -> float:  # noqa: N802 - reportlab's name
        return float(self.paragraphs[0].getSpaceBefore())

    def getSpaceAfter(self) -> float:  # noqa: N802 - reportlab's name
        return float(self.paragraphs[-1].getSpaceAfter())


def _p(text: str, style: ParagraphStyle = _BASE) -> Flowable:
    """A paragraph; a phrase in several languages (`_LANG`) is one per language."""
    parts = text.split(_LANG)
    if len(parts) == 1:
        return _paragraph(text, style)
    return _Stack([_paragraph(part, style) for part in parts])


def _segments(text: str, font: str) -> list[tuple[str, str]]:
    """``text`` in runs of one font: ``font``, or the CJK font outside Latin-1."""
    out: list[tuple[str, str]] = []
    at = 0
    for m in _WIDE.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], font))
        out.append((m.group(0), FONT_NAME))
        at = m.end()
    if at < len(text):
        out.append((text[at:], font))
    return out


def _draw(c: Canvas, x: float, y: float, text: str, font: str, size: float, align: str = "left") -> None:
    """One line of plain text on the canvas, in ``font`` and the CJK font."""
    runs = _segments(text, font)
    width = sum(pdfmetrics.stringWidth(s, f, size) for s, f in runs)
    x -= {"left": 0.0, "right": width, "centre": width / 2}[align]
    for s, f in runs:
        c.setFont(f, size)
        c.drawString(x, y, s)
        x += pdfmetrics.stringWidth(s, f, size)


def _e(text: str) -> str:
    """Run-file text escaped for Paragraph markup, line breaks kept."""
    return "<br/>".join(escape(line) for line in text.strip().splitlines())


#: The width of a label in a label/value block (`_fields`), its padding taken off.
_LABEL_W = 48 * mm - 6


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


def _courier(text: str, size: float = 7.5) -> str:
    return f"<font face='Courier' size='{size}'>{escape(text)}</font>"


def _admin(d: _Data) -> list[Flowable]:
    j, dut, tx = d.job, d.dut, d.tx
    maker = j.get("dut_manufacturer") or dut.manufacturer
    model = j.get("dut_model") or dut.model
    serial = escape(j.get("dut_serial", "").strip())
    idn_serial = dut.serial.strip()
    if not serial:
        serial = escape(idn_serial)
    elif idn_serial and idn_serial not in ("0", j.get("dut_serial", "").strip()):
        serial += f" ({tx.join(lambda T: T['idn_serial_note'].format(idn=escape(idn_serial)), ' / ')})"
    # dates and times in ISO 8601, the same in every language
    if f"{d.first:%Y-%m-%d %H:%M}" == f"{d.last:%Y-%m-%d %H:%M}":
        when = f"{d.first:%Y-%m-%d}, {d.first:%H:%M} UTC"
    elif d.first.date() == d.last.date():
        when = f"{d.first:%Y-%m-%d}, {d.first:%H:%M} \u2013 {d.last:%H:%M} UTC"
    else:
        when = f"{d.first:%Y-%m-%d %H:%M} UTC \u2013 {d.last:%Y-%m-%d %H:%M} UTC"

    def environment(T: Mapping[str, str]) -> str:
        if d.ambient is not None:
            (t0, t1), (h0, h1), asset = d.ambient
            measured = T["ambient_measured"].format(t0=f"{t0:.2f}", t1=f"{t1:.2f}", h0=f"{h0:.1f}",
                                                    h1=f"{h1:.1f}", asset=escape(asset))
        else:
            measured = ""
        env = [
            T["temperature"].format(v=_plusminus(j["temperature_c"])) if j.get("temperature_c")
            else T["temperature"].format(v=T["not_recorded"]).replace(" &deg;C", ""),
            T["humidity"].format(v=_plusminus(j["humidity_pct"])) if j.get("humidity_pct")
            else T["humidity"].format(v=T["not_recorded"]).replace(" %", ""),
        ]
        return T["semicolon"].join(env) + measured

    lab = escape(j.get("lab_name", ""))
    if j.get("lab_address"):
        lab += "<br/>" + _e(j["lab_address"])
    customer = escape(j.get("customer_name", ""))
    if j.get("customer_address"):
        customer += "<br/>" + _e(j["customer_address"])
    run = tx.join(lambda T: T["run_text"].format(
        run_id=escape(d.attrs.get("run_id", "")), created=f"{d.created:%Y-%m-%d %H:%M}",
        finished=f"{d.finished:%Y-%m-%d %H:%M}", software=escape(d.attrs.get("software", ""))))
    run += f"<br/>SHA-256 {_courier(d.run_sha256)}"
    rows = [
        (tx.label("lab", _LABEL_W), lab),
        (tx.label("place", _LABEL_W), _e(j.get("location", ""))),
        (tx.label("customer", _LABEL_W), customer),
        (tx.label("item", _LABEL_W), _e(j.get("dut_description") or dut.description)),
        (tx.label("manufacturer_model", _LABEL_W), escape(f"{maker} {model}".strip())),
        (tx.label("serial", _LABEL_W), serial),
        (tx.label("asset", _LABEL_W), escape(j.get("dut_asset_id") or dut.asset_id)),
        (tx.label("idn", _LABEL_W), _courier(dut.idn, 8)),
        (tx.label("condition", _LABEL_W), _e(j.get("dut_condition", ""))),
        (tx.label("received", _LABEL_W), escape(j.get("date_received", ""))),
        (tx.label("calibrated", _LABEL_W), when),
        (tx.label("issued", _LABEL_W), f"{d.issue.issued:%Y-%m-%d}" if d.issue else f"<b>{tx.line('not_issued')}</b>"),
        (tx.label("environment", _LABEL_W), tx.join(environment)),
        (tx.label("operator", _LABEL_W), escape(j.get("operator", ""))),
        (tx.label("run", _LABEL_W), run),
    ]
    return [_p(tx.heading("s_admin"), _H1), _fields(rows), Spacer(1, 5), _p(tx("relate_only")),
            Spacer(1, 3), _p(tx("not_reproduced"))]


def _qr(payload: str, size: float) -> Drawing:
    """The QR code of ``payload``, ``size`` wide, with its quiet zone."""
    widget = QrCodeWidget(payload, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _signature(d: _Data) -> Flowable:
    """Who approved the certificate, when, and how it is signed; who
    calibrated the item; the QR code. A draft says that it is not approved."""
    tx = d.tx
    operator = f"<b>{tx.line('operator')}:</b> {escape(d.job.get('operator', ''))}"
    if d.issue is None:
        box = Table([[_p(tx("draft_authorisation"), _REMARK)], [_p(operator)]], colWidths=[WIDTH])
        box.setStyle(TableStyle([
            ("BOX", (0, 0), (-1, 0), 1.2, RED),
            ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ]))
        return KeepTogether([Spacer(1, 10), box])
    issue = d.issue
    widths = [50 * mm, 66 * mm, 26 * mm, WIDTH - 142 * mm]
    pad = 5 * mm
    # signed electronically, it says so; else a line to sign on by hand
    signature: Flowable = (_p(tx("signed", key=_courier(d.key_id, 7)), _SMALL) if d.key_id
                           else Spacer(1, 14 * mm))
    t = Table(
        [
            [_p(tx.label("authorised", widths[0] - pad), _LABEL), _p(tx.label("signature", widths[1] - pad), _LABEL),
             _p(tx.label("approved", widths[2] - pad), _LABEL), _qr(issue.qr_payload(), widths[3])],
            [_p(f"{escape(issue.approver)}<br/>{escape(issue.approver_role)}"), signature,
             _p(f"{issue.issued:%Y-%m-%d}"), ""],
            [_p(operator), "", "", ""],
        ],
        colWidths=widths,
    )
    t.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("VALIGN", (0, 1), (2, 1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (2, -1), pad),
        *([] if d.key_id else [("LINEBELOW", (1, 1), (1, 1), 0.6, colors.black)]),
        ("SPAN", (0, 2), (2, 2)),
        ("SPAN", (3, 0), (3, 2)),
        ("RIGHTPADDING", (3, 0), (3, 0), 0),
        ("TOPPADDING", (0, 2), (2, 2), 8),
    ]))
    return KeepTogether([Spacer(1, 8), t])


def _remarks(d: _Data) -> list[Flowable]:
    text = d.job.get("remarks", "").strip()
    if not text:
        return []
    box = Table([[_p(f"{d.tx.line('remarks')}: {_e(text)}", _REMARK)]], colWidths=[WIDTH])
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
    tx, pr = d.tx, d.procedure

    def deviations(T: Mapping[str, str]) -> str:
        return "<br/>".join(_deviation_text(x, T) for x in d.deviations) if d.deviations else T["none"]

    rows = [
        (tx.label("procedure", _LABEL_W), tx.join(lambda T: T["procedure_text"].format(
            title=escape(pr.get("title", "")), name=escape(pr.get("name", "")),
            version=escape(pr.get("version", ""))))),
        (tx.label("sha256", _LABEL_W), _courier(pr.get("sha256", ""))),
        (tx.label("seal", _LABEL_W), tx.join(lambda T: T["seal_text"].format(seal=_courier(d.attrs.get("seal", ""))))),
        (tx.label("method", _LABEL_W), _e(pr.get("method", ""))),
        (tx.label("dut_spec", _LABEL_W), _e(d.dut.specification)),
        (tx.label("deviations", _LABEL_W), tx.join(deviations)),
        (tx.label("sampling", _LABEL_W), tx("sampling_text")),
        (tx.label("external", _LABEL_W), tx("external_text")),
    ]
    return [_p(tx.heading("s_method"), _H1), _fields(rows)]


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
    tx = d.tx
    head = [_p(tx(k), _HEAD) for k in ("std_instrument", "std_asset", "std_cert", "std_due", "std_trace")]
    rows: list[list[Any]] = [head]
    for s in d.standards:
        r = s.record
        who = escape(f"{r.manufacturer} {r.model}".strip())
        text = (f"<b>{escape(r.description)}</b><br/>{who}, "
                f"{tx('std_serial', ' / ', serial=escape(r.serial))}")
        if r.specification:
            text += "<br/>" + tx("std_spec", spec=escape(r.specification),
                                 dist=escape(r.distribution or "stated"))
        certificate = escape(s.certificate)
        if s.probe:
            certificate += "<br/>" + tx("std_probe", certificate=escape(s.probe))
        rows.append([_p(text, _CELL), _p(escape(r.asset_id), _CELL), _p(certificate, _CELL),
                     _p(s.due.isoformat(), _CELL), _p(escape(r.traceability), _CELL)])
    widths = [66 * mm, 24 * mm, 30 * mm, 20 * mm, WIDTH - 140 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([*_grid(widths), ("VALIGN", (0, 1), (-1, -1), "TOP")]))
    return [_p(tx.heading("s_trace"), _H1), KeepTogether([_p(tx("trace_text")), Spacer(1, 4), table])]


def _spans(numbers: Sequence[int], T: Mapping[str, str] = TEXT_EN) -> str:
    """[1, 2, 3, 5] -> '1 to 3, 5'."""
    out: list[str] = []
    run: list[int] = []
    to = T["to"]
    for n in sorted(numbers):
        if run and n != run[-1] + 1:
            out.append(f"{run[0]} {to} {run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
            run = []
        run.append(n)
    if run:
        out.append(f"{run[0]} {to} {run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
    return ", ".join(out)


def _points(where: Sequence[int], every: int, T: Mapping[str, str]) -> str:
    """The points of a budget component: "all", or their numbers."""
    return T["unc_all_points"] if len(where) == every else _spans(where, T)


def _evaluation(c: Component, T: Mapping[str, str] = TEXT_EN) -> str:
    """How a component was evaluated, for people: its type and its distribution."""
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
    tx = d.tx
    components: dict[tuple[str, str, str, float], tuple[Component, list[str], list[int]]] = {}
    for p in d.points:
        for c in d.budgets.get(p.index, ()):
            _, descriptions, where = components.setdefault(
                (c.name, c.kind, _evaluation(c), c.divisor if c.kind == "B" else 0.0), (c, [], []))
            if c.description not in descriptions:
                descriptions.append(c.description)
            if p.index + 1 not in where:
                where.append(p.index + 1)
    every = len(d.points)
    head = [_p(tx(k), _HEAD) for k in ("unc_head_name", "unc_head_desc", "unc_head_eval", "unc_head_points")]
    rows: list[list[Any]] = [head]
    for (name, *_), (component, descriptions, where) in components.items():
        shown = descriptions if len(descriptions) <= 4 else [*descriptions[:3], "..."]
        rows.append([_p(f"<b>{escape(name)}</b>", _CELL), _p("<br/>".join(escape(t) for t in shown), _CELL),
                     _p(tx.join(partial(_evaluation, component)), _CELL),
                     _p(tx.join(partial(_points, where, every)), _CELL)])
    widths = [34 * mm, 70 * mm, 44 * mm, WIDTH - 148 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([*_grid(widths), ("VALIGN", (0, 1), (-1, -1), "TOP")]))
    nus = [p.nu_eff for p in d.points]
    ks = [p.coverage_factor for p in d.points]
    lo, hi = min(nus), max(nus)
    flat = [p.index + 1 for p in d.points if _rectangular_dominated(d.budgets.get(p.index, ()))]

    def coverage(T: Mapping[str, str]) -> str:
        def dof(nu: float) -> str:
            if not math.isfinite(nu):
                return T["nu_infinite"]
            return T["nu_large"].format(n=_LARGE_DOF) if nu > _LARGE_DOF else str(math.floor(nu))

        nu_text = dof(lo) if dof(lo) == dof(hi) else T["nu_range"].format(lo=dof(lo), hi=dof(hi))
        k_lo, k_hi = fixed(min(ks), 2), fixed(max(ks), 2)
        k_text = k_lo if k_lo == k_hi else T["nu_range"].format(lo=k_lo, hi=k_hi)
        if d.attrs.get("uncertainty_method") == "monte-carlo":
            trials = [p.mc_trials for p in d.points]
            return T["unc_monte_carlo"].format(lo=f"{min(trials):,}", hi=f"{max(trials):,}", k=k_text)
        text = T["unc_coverage"].format(p=f"{COVERAGE_PROBABILITY:.2f}", nu=nu_text, k=k_text)
        if flat:
            text += " " + T["unc_rectangular"].format(which=T["unc_all_points"] if len(flat) == every
                                                      else _spans(flat, T))
        return text

    return [_p(tx.heading("s_unc"), _H1),
            KeepTogether([_p(tx("unc_text")), Spacer(1, 4), table]), Spacer(1, 4), _p(tx.join(coverage))]


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
    tx = d.tx
    if not d.conformity:
        return [_p(tx.heading("s_conf"), _H1), _p(tx("conf_none"))]
    left = [p for p in d.points if p.phase == "as_left"]
    judged = left or list(d.points)  # the item is judged as it leaves
    fails = [p.index + 1 for p in judged if p.decision in NOT_CONFORMING]
    conditional = [p.index + 1 for p in judged if p.decision == "conditional pass"]
    found = [p.index + 1 for p in d.points if p.phase == "as_found" and p.decision in NOT_CONFORMING]
    n = len(judged)

    def verdict(T: Mapping[str, str]) -> str:
        which = ", ".join(str(i) for i in fails)
        if fails:
            text = f"<font color='#bf0d0d'>{T['conf_fail'].format(f=len(fails), n=n, which=which)}</font>"
        elif conditional:
            text = T["conf_conditional"].format(n=n, c=len(conditional), which=_spans(conditional, T))
        else:
            text = T["conf_pass"].format(n=n)
        if left:
            before = (T["conf_found_fail"].format(f=len(found), which=_spans(found, T)) if found
                      else T["conf_found_pass"])
            text = T["conf_as_left"] + " " + text + " " + before
        return text

    rows = [
        (tx.label("decision_rule", _LABEL_W), _e(d.attrs.get("decision_statement", ""))),
        (tx.label("conf_spec", _LABEL_W), _e(d.dut.specification)),
        (tx.label("conf_result", _LABEL_W), tx.join(lambda T: f"<b>{verdict(T)}</b>")),
    ]
    return [_p(tx.heading("s_conf"), _H1), _fields(rows)]


def _table_scale(points: Sequence[PointResult]) -> Scale:
    """The prefix a range's values are written in: the range's, or for a
    function without ranges, that of its largest value."""
    first = points[0]
    return scale_of(first.range if first.range > 0 else max(abs(p.nominal) for p in points), first.unit)


def _column_head(key: str, unit: str | None, T: Mapping[str, str]) -> str:
    """A results column's head, with the unit (``None``: no unit)."""
    return T[key].format(u=unit) if unit is not None else T[key].replace(" ({u})", "")


def _range_label(level: str, unit: str | None, T: Mapping[str, str]) -> str:
    """A range's row: "10 V range", with "values in mV" when the unit is not in the heads."""
    text = T["range_row"].format(range=level) if level else ""
    if unit is not None:
        text = (text + T["semicolon"] if text else "") + T["values_in"].format(u=unit)
    return text


def _results_table(points: Sequence[PointResult], conformity: bool, tx: _Text) -> list[Flowable]:
    """One function's table: its points range by range, each range under a
    row naming it, every value in the range's prefix; the frequency of AC
    points. The unit is in the column heads when every range of the table
    is written in the same one, else in each range's row."""
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
    data: list[list[Any]] = [[_p(tx.join(partial(_column_head, c, head_unit if one_unit else None)), _HEAD)
                              for c in cols]]
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
            level = escape(format_level(range_, first.unit, range_)) if range_ > 0 else ""
            label = tx.join(partial(_range_label, level, None if one_unit else unit), " / ")
            row = len(data)
            data.append([_p(label, _RANGE)] + [""] * (len(cols) - 1))
            style += [("SPAN", (0, row), (-1, row)), ("BACKGROUND", (0, row), (-1, row), SHADE_LIGHT)]
        for p in group:
            r = _row(p, scale, tx)
            cells: list[Any] = [str(p.index + 1), r.nominal, *([r.frequency] if ac else []), r.reference,
                                r.indication, r.error, r.lower, r.upper, r.U, r.k]
            if conformity:
                if tx.zh:  # the Chinese word (beneath the English) in the CJK font
                    cells.append(_p(r.decision, _DECISION if p.decision == "pass" else _DECISION_BAD))
                else:
                    cells.append(r.decision)
                if p.decision != "pass":
                    i = len(data)
                    style += [("TEXTCOLOR", (-1, i), (-1, i), RED),
                              ("FONT", (-1, i), (-1, i), "Helvetica-Bold", 8)]
            data.append(cells)
    table = Table(data, colWidths=col_w, repeatRows=1)
    table.setStyle(TableStyle(style))
    return [_p(tx.join(lambda T: escape(_function_name(first.function, T)), " / "), _H3), table]


def _notes(d: _Data, T: Mapping[str, str]) -> str:
    """What the columns mean, for the ways this run's points were observed."""
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
    tx = d.tx
    out: list[Flowable] = [CondPageBreak(60 * mm)]
    # headings travel with the first table under them, never alone at a page's foot
    lead: list[Flowable] = [_p(tx.heading("s_results"), _H1)]
    phases = sorted({p.phase for p in d.points}, key=lambda ph: (_PHASE_ORDER.get(ph, 9), ph))
    only_found = phases == ["as_found"]
    if only_found:
        lead.append(_p(tx("no_adjustment")))
    functions = list(dict.fromkeys(p.function for p in d.points))  # in the order of the run
    for phase in phases:
        heading = (tx.line("as_found_only") if only_found
                   else tx.line(phase) if phase in _PHASE_ORDER else escape(phase))
        lead.append(_p(heading, _H2))
        # one table per function, in the run's order; a function's ranges together in it
        groups: dict[str, list[PointResult]] = {}
        for p in sorted((p for p in d.points if p.phase == phase),
                        key=lambda p: (functions.index(p.function), p.index)):
            groups.setdefault(p.function, []).append(p)
        for g in groups.values():
            out.append(KeepTogether([*lead, *_results_table(g, d.conformity, tx)]))
            lead = []
    out.append(KeepTogether([Spacer(1, 6), _p(tx.join(lambda T: _notes(d, T)), _SMALL),
                             _p(f"- {tx.line('end')} -", _END)]))
    return out


def _story(d: _Data) -> list[Flowable]:
    tx = d.tx
    number = (_p(f"{tx.line('cert_no')} {escape(d.number)}", _NUMBER) if d.issue
              else _p(tx("draft"), _DRAFT))
    return [
        _p(tx("title"), _TITLE),
        Spacer(1, 2),
        number,
        *_remarks(d),
        *_admin(d),
        _signature(d),
        PageBreak(),  # page 1 is the front sheet: who, what, when, approved
        *_method(d),
        *_traceability(d),
        *_uncertainty(d),
        *_conformity(d),
        *_results(d),
    ]


#: "DRAFT" as strokes (not text: it is not read into the certificate's
#: text), on a grid one unit high: per letter, polylines and closed curves.
_LETTERS: dict[str, list[list[tuple[float, ...]]]] = {
    # a path: points (x, y) joined by lines; (x1, y1, x2, y2, x3, y3) a Bezier curve to (x3, y3)
    "D": [[(0, 0), (0, 1), (0.25, 1), (0.75, 1, 0.75, 0, 0.25, 0), (0, 0)]],
    "R": [[(0, 0), (0, 1), (0.3, 1), (0.66, 1, 0.66, 0.5, 0.3, 0.5), (0, 0.5)], [(0.3, 0.5), (0.6, 0)]],
    "A": [[(0, 0), (0.3, 1), (0.6, 0)], [(0.1, 0.33), (0.5, 0.33)]],
    "F": [[(0.58, 1), (0, 1), (0, 0)], [(0, 0.52), (0.45, 0.52)]],
    "T": [[(0, 1), (0.6, 1)], [(0.3, 1), (0.3, 0)]],
}


def _draft_mark(c: Canvas) -> None:
    """A large, light "DRAFT" across the page."""
    height, advance = 96.0, 0.9
    c.saveState()
    c.setStrokeColor(RED)
    c.setStrokeAlpha(0.16)
    c.setLineWidth(10)
    c.setLineCap(1)
    c.setLineJoin(1)
    c.translate(PAGE_W / 2, PAGE_H / 2)
    c.rotate(55)
    x0 = -(4 * advance + 0.6) * height / 2
    for i, letter in enumerate("DRAFT"):
        for stroke in _LETTERS[letter]:
            path = c.beginPath()
            ox, oy = x0 + i * advance * height, -height / 2
            for k, pt in enumerate(stroke):
                xy = [v * height + (ox if j % 2 == 0 else oy) for j, v in enumerate(pt)]
                if k == 0:
                    path.moveTo(*xy)
                elif len(xy) == 6:
                    path.curveTo(*xy)
                else:
                    path.lineTo(*xy)
            c.drawPath(path, stroke=1, fill=0)
    c.restoreState()


def _page_frame(d: _Data) -> Callable[[Canvas, int, int], None]:
    tx = d.tx
    lab = d.job.get("lab_name", "")
    address = one_line(d.job.get("lab_address", ""))
    number = f"{tx.line('cert_no')} {d.number}"
    title = tx.line("title")
    draft = tx.line("draft")
    clauses = [_TABLES[lang]["not_reproduced"] for lang in tx.languages]

    def draw(c: Canvas, page: int, total: int) -> None:
        c.saveState()
        top = PAGE_H - 14 * mm
        c.setFillColor(DARK)
        _draw(c, MARGIN_X, top, lab, "Helvetica-Bold", 10)
        _draw(c, PAGE_W - MARGIN_X, top, title, "Helvetica-Bold", 10, "right")
        c.setFillColor(colors.black)
        _draw(c, MARGIN_X, top - 10, address, "Helvetica", 7.5)
        if d.issue is None:
            c.setFillColor(RED)
        _draw(c, PAGE_W - MARGIN_X, top - 11, number, "Helvetica-Bold", 9, "right")
        c.setStrokeColor(DARK)
        c.setLineWidth(0.8)
        c.line(MARGIN_X, top - 17, PAGE_W - MARGIN_X, top - 17)
        if d.issue is None:  # every page says what it is
            c.setFillColor(RED)
            _draw(c, PAGE_W / 2, top - 28, draft, "Helvetica-Bold", 10, "centre")
        foot = 14 * mm
        c.setLineWidth(0.4)
        c.line(MARGIN_X, foot + 9, PAGE_W - MARGIN_X, foot + 9)
        _draw(c, MARGIN_X, foot, number, "Helvetica", 7.5)
        c.setFillColor(colors.black)
        _draw(c, PAGE_W - MARGIN_X, foot, tx.line("page", n=str(page), m=str(total)), "Helvetica", 7.5, "right")
        for i, clause in enumerate(clauses):
            _draw(c, PAGE_W / 2, foot - 10 - 8 * i, clause, "Helvetica", 6.5, "centre")
        if d.issue is None:
            _draft_mark(c)
        c.restoreState()

    return draw


class _Info(PDFInfo):  # type: ignore[misc]
    """The PDF's document information, with calstation's entries
    (`INFO_NUMBER` ...) as plain (ASCII) strings."""

    def __init__(self, base: PDFInfo, entries: Mapping[str, str]) -> None:
        super().__init__()
        self.__dict__.update(base.__dict__)
        self.entries = dict(entries)

    def format(self, document: Any) -> bytes:
        # as PDFInfo.format writes it, plus the entries
        info: dict[str, Any] = {
            "Title": PDFString(self.title),
            "Author": PDFString(self.author),
            "CreationDate": PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter),
            "Producer": PDFString(self.producer),
            "Creator": PDFString(self.creator),
            "Subject": PDFString(self.subject),
            "Keywords": PDFString(self.keywords),
            "Trapped": PDFName(self.trapped),
        }
        info["ModDate"] = info["CreationDate"]
        for key, value in self.entries.items():
            info[key] = PDFString(value)
        out: bytes = PDFDictionary(info).format(document)
        return out


def _canvas_maker(draw: Callable[[Canvas, int, int], None], pdf_date: str,
                  info: Mapping[str, str]) -> type[Canvas]:
    """A canvas that holds its pages back until it knows how many there are."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._doc.info = _Info(self._doc.info, info)
            self._saved: list[dict[str, Any]] = []
            # the PDF's CreationDate/ModDate: the run's end (or the approval), never the clock
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


def _languages(issue: Issue | None, languages: str | None) -> _Text:
    chosen = issue.languages if issue is not None else (languages or "en")
    if issue is not None and languages is not None and languages != issue.languages:
        raise CertificateError(f"languages {languages!r}: the certificate was approved in {issue.languages!r}; "
                               "an issued certificate is rendered in the languages of its approval")
    if chosen not in LANGUAGES:
        raise CertificateError(f"languages {chosen!r}: a certificate is written in one of "
                               f"{', '.join(LANGUAGES)}")
    return _Text(tuple(chosen.split("+")))


_ASCII = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _check_issue(pdf_path: Path, issue: Issue, signer: signing.Signer | None) -> None:
    if not _ASCII.fullmatch(issue.number):
        raise CertificateError(f"{pdf_path}: certificate number {issue.number!r} is not printable ASCII text; "
                               "the register assigns numbers such as CS-2026-0001")
    if not _HEX64.fullmatch(issue.run_sha256):
        raise CertificateError(f"{pdf_path}: the approval's run file SHA-256 {issue.run_sha256!r} is not 64 "
                               "lower-case hex digits; the register's record is damaged")
    if signer is not None and signer.user != issue.approver_user:
        raise CertificateError(f"{pdf_path}: the certificate was approved by {issue.approver_user!r} and "
                               f"cannot be signed with the key of {signer.user!r}; the approver signs it")


def render_pdf(run_path: Path, pdf_path: Path, issue: Issue | None = None,
               signer: signing.Signer | None = None, *, languages: str | None = None) -> Path:
    """Render the certificate of a completed run to ``pdf_path``.

    Without ``issue``: a draft, in ``languages`` ("en", "zh" or "en+zh";
    English by default). With ``issue``: the certificate it approves, in
    its languages; with ``signer`` too (the approver's key), signed.

    Reads the run file, ``issue`` and the signer's key alone: the same
    inputs always give the same bytes (with the same CJK font file, where
    one is used). Raises `CertificateError` for a run that is not completed
    (or lacks what a certificate must state), an approval of another run
    file, text no font can show or no CJK font where one is needed, and
    `RunFileError` for a file that is not a readable run file. Nothing is
    written unless the whole certificate is. Returns ``pdf_path``.
    """
    run_path, pdf_path = Path(run_path), Path(pdf_path)
    if pdf_path.resolve() == run_path.resolve():
        raise CertificateError(f"{pdf_path}: the certificate would overwrite its run file; "
                               "choose another output name")
    if pdf_path.is_dir():
        raise CertificateError(f"{pdf_path}: is a folder; give the certificate's file name (.pdf)")
    tx = _languages(issue, languages)
    if signer is not None and issue is None:
        raise CertificateError(f"{pdf_path}: a draft is not signed; approve the certificate first (the "
                               "signature covers its number)")
    if issue is not None:
        _check_issue(pdf_path, issue, signer)
    fonts = _Fonts(run_path)
    if tx.zh:
        fonts.need(f"a certificate in Chinese (languages {'+'.join(tx.languages)!r})")
    with RunFile(run_path) as rf:
        refuse_status(run_path, rf.attrs, CertificateError)
        verified = rf.verify()
        if not verified.ok:
            raise IntegrityError(f"{verified.message}; no certificate is issued for it")
        run_sha256 = file_sha256(run_path)
        if issue is not None and issue.run_sha256 != run_sha256:
            raise CertificateError(
                f"{run_path}: the approval is for the run file with SHA-256 {issue.run_sha256[:16]}..., this "
                f"file's is {run_sha256[:16]}...; render the certificate from the run file that was approved")
        data = _collect(rf, tx, fonts, run_sha256, issue, signer.key_id if signer else "")
    image = _build(data, signer is not None)
    if signer is not None:
        image = _sign(image, signer)
    try:
        pdf_path.parent.mkdir(parents=True, exist_ok=True)
        write_image(pdf_path, image, new=False)
    except OSError as e:
        raise CertificateError(f"{pdf_path}: cannot be written ({e.strerror or e}); check the folder "
                               "exists, is writable and has free space (nothing was left behind)") from None
    return pdf_path


def _build(data: _Data, reserve_signature: bool) -> bytes:
    """The PDF's bytes (with the signature's placeholder, when reserved)."""
    tx, issue = data.tx, data.issue
    info = {INFO_RUN: data.run_sha256}
    if issue is None:
        info[INFO_DRAFT] = TEXT_EN["draft"]
        title = f"{tx.line('draft')}: {tx.line('title')}"
        when = data.finished
    else:
        info[INFO_NUMBER] = issue.number
        info[INFO_QR] = issue.qr_payload()
        title = f"{tx.line('title')} {issue.number}"
        when = issue.approved_at if issue.approved_at.tzinfo else issue.approved_at.replace(tzinfo=dt.UTC)
        if reserve_signature:
            info[INFO_SIGNATURE] = signing.placeholder()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        # the frame pads its content by 6 pt: the content then lines up with the header rules
        leftMargin=MARGIN_X - 6,
        rightMargin=MARGIN_X - 6,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=title,
        author=data.job.get("lab_name", ""),
        subject=f"{data.job.get('dut_manufacturer', '')} {data.job.get('dut_model', '')} "
        f"{data.job.get('dut_serial', '')}".strip(),
        creator=data.attrs.get("software", "calstation"),
        invariant=1,
        pageCompression=1,
    )
    pdf_date = when.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    doc.build(_story(data), canvasmaker=_canvas_maker(_page_frame(data), pdf_date, info))
    return buf.getvalue()


def _sign(image: bytes, signer: signing.Signer) -> bytes:
    """Sign every byte of ``image`` but the reserved span, and write the
    signature block into the span (the same length: every offset holds)."""
    reserved = signing.placeholder().encode("ascii")
    at = image.find(reserved)
    if at < 0 or image.find(reserved, at + 1) >= 0:
        raise CertificateError("the PDF holds the signature's placeholder "
                               f"{'not' if at < 0 else 'more than'} once; this is a bug in calstation")
    end = at + len(reserved)
    block = signer.block(image[:at] + image[end:]).encode("ascii")
    assert len(block) == len(reserved) == signing.BLOCK_LENGTH
    return image[:at] + block + image[end:]


# -- reading a certificate back --------------------------------------------------------------
_ENTRY = re.compile(rb"/(Calstation[A-Za-z0-9]+)\s*\(((?:[^()\\]|\\[()\\])*)\)")


def read_pdf(data: bytes, source: str) -> signing.SignedDocument:
    """What a certificate PDF says about itself (kind "pdf"): its number
    ("" for a draft), the run file's SHA-256, its signature block (None
    when unsigned or a draft) and the bytes the signature covers (the
    whole file but the block's span).

    Raises `CertificateError` (one line, naming ``source``) for a file that
    is not a calstation certificate PDF or whose calstation entries are
    damaged or doubled."""
    if not data.startswith(b"%PDF-"):
        raise CertificateError(f"{source}: not a PDF file; give a certificate rendered by calstation (.pdf)")
    entries: dict[str, tuple[int, int]] = {}
    for m in _ENTRY.finditer(data):
        name = m.group(1).decode("ascii")
        if name in entries:
            raise CertificateError(f"{source}: its document information holds /{name} more than once; the "
                                   "file has been altered: it is not the certificate as issued")
        entries[name] = m.span(2)
    named = len(re.findall(rb"/Calstation[A-Za-z0-9]+", data))
    if not entries and not named:
        raise CertificateError(f"{source}: a PDF, but not a calstation certificate (no /{INFO_NUMBER} in its "
                               "document information)")
    if named != len(entries):
        raise CertificateError(f"{source}: a calstation entry of its document information is damaged; the "
                               "file has been altered: it is not the certificate as issued")

    def text(name: str) -> str | None:
        if name not in entries:
            return None
        start, end = entries[name]
        raw = re.sub(rb"\\([()\\])", rb"\1", data[start:end])
        return raw.decode("ascii", errors="replace")

    run_sha256 = text(INFO_RUN)
    number = text(INFO_NUMBER)
    draft = INFO_DRAFT in entries
    if run_sha256 is None or not _HEX64.fullmatch(run_sha256) or draft == (number is not None) or (
            number is not None and not _ASCII.fullmatch(number)):
        raise CertificateError(f"{source}: a PDF, but not a calstation certificate (its /{INFO_NUMBER}, "
                               f"/{INFO_DRAFT} or /{INFO_RUN} entry is missing or damaged)")
    if INFO_SIGNATURE not in entries:
        return signing.SignedDocument("pdf", number or "", run_sha256, None, data)
    if draft:
        raise CertificateError(f"{source}: a draft that carries a signature; the file has been altered")
    start, end = entries[INFO_SIGNATURE]
    value = data[start:end]
    if value == signing.placeholder().encode("ascii"):  # reserved, never signed
        return signing.SignedDocument("pdf", number or "", run_sha256, None, data)
    block = signing.parse_block(value) if end - start == signing.BLOCK_LENGTH else None
    # the one spelling of the block: no other text (padding bits, blanks) passes for it
    if block is None or signing.signature_block(block.key_id, block.signature).encode("ascii") != value:
        raise CertificateError(f"{source}: its signature block is damaged; the file has been altered: it is "
                               "not the certificate as issued")
    return signing.SignedDocument("pdf", number or "", run_sha256, block, data[:start] + data[end:])
