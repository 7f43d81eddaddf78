"""The certificate a lab issues: approved (numbered), bilingual, signed;
and the draft, which certifies nothing.

Read back as a user reads them: poppler's ``pdftotext`` for the text (page
by page), ``pdffonts`` for the embedded font, ``pdfinfo -custom`` for the
document information, and `read_pdf` + `signing.check` as ``calstation
verify`` does. The run files are those of test_pdf.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from station import signing
from station.certificates import CertificateError, render_pdf
from station.certificates import fonts as cjk
from station.certificates.pdf import TEXT_EN, TEXT_ZH, read_pdf
from tests.certificates.test_pdf import NUMBER, RULE, flat, issue_of, job, pdf_text, write_run

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdffonts", "pdfinfo"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdffonts, pdfinfo) is not "
                                   "installed; `make sysdeps` or `apt-get install poppler-utils`")


def _have_cjk_font() -> bool:
    try:
        cjk.cjk_font("\u6821\u51c6")
    except cjk.FontError:
        return False
    return True


needs_cjk_font = pytest.mark.skipif(not _have_cjk_font(), reason="no CJK font; `make sysdeps` or "
                                    "`apt-get install fonts-wqy-microhei`")

CUSTOMER_ZH = "中国计量科学研究院"
ADDRESS_ZH = "北京市北三环东路18号"
DRAFT = "DRAFT - not approved, not a certificate"


def signer() -> signing.Signer:
    """The approver of `issue_of`, with a key made for the test."""
    return signing.Signer("qmanager", "Q. Manager", signing.generate())


def nospace(text: str) -> str:
    """Text without white space: a Chinese phrase may be broken across lines anywhere."""
    return "".join(text.split())


def run(tmp_path: Path, name: str = "run", **job_changes: str) -> Path:
    path = tmp_path / f"{name}.h5"
    write_run(path, job(**job_changes))
    return path


def poppler(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    assert done.stderr == "", done.stderr  # the file opens cleanly: no syntax error, no broken xref
    return done


def info(pdf: Path) -> dict[str, str]:
    """The document information as ``pdfinfo -custom`` shows it."""
    out = poppler("pdfinfo", "-custom", str(pdf)).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


def embedded_fonts(pdf: Path) -> list[list[str]]:
    """``pdffonts``' rows: name, type..., emb, sub, uni, object, generation."""
    return [line.split() for line in poppler("pdffonts", str(pdf)).stdout.splitlines()[2:]]


# -- the issued, bilingual certificate -----------------------------------------------------------
@pytest.fixture(scope="module")
def bilingual(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("bilingual")
    path = run(d, customer_name=CUSTOMER_ZH, customer_address=ADDRESS_ZH)
    return path, render_pdf(path, d / "certificate.pdf", issue_of(path, "en+zh"), signer())


#: ISO/IEC 17025:2017 7.8.2.1 and 7.8.4.1: each element's label in English and
#: in Chinese, and what the run file (or the approval) gives it.
ELEMENTS = [
    ("7.8.2.1 a) title", "Calibration Certificate", "校准证书", ""),
    ("b) laboratory", "Issued by", "签发机构", "Example Calibration Laboratory 1 Example Road, Demo City"),
    ("c) place", "Place of calibration", "校准地点", "Permanent laboratory facility, DC bench 1"),
    ("d) identification", "Certificate No.", "证书编号", NUMBER),
    ("e) customer", "Customer", "委托方", CUSTOMER_ZH + ADDRESS_ZH),
    ("f) method", "Procedure", "校准程序", "keysight-34401a-dcv, version 1.0.0"),
    ("g) item", "Item calibrated", "被校准器具", "Digital multimeter, 6.5 digit"),
    ("g) identification", "Serial number", "出厂编号", "MY41234567"),
    ("g) condition", "Condition on receipt", "接收时状态", "No visible damage"),
    ("h) receipt", "Date of receipt", "接收日期", "2026-03-09"),
    ("i) calibration", "Date(s) of calibration", "校准日期", "2026-03-10"),
    ("j) issue", "Date of issue", "签发日期", "2026-03-11"),
    ("k) sampling", "Sampling", "抽样", ""),
    ("l) relate only", "relate only to the item calibrated", "本证书的结果仅与被校准的器具有关", ""),
    ("m) results with units", "100 mV range; values in mV", "100 mV 量程；单位 mV", "Indication"),
    ("n) deviations", "Deviations from the method", "对校准方法的偏离", ""),
    ("o) authorised by", "Authorised by", "批准人", "Q. Manager Authorised signatory"),
    ("o) calibrated by", "Calibrated by", "校准员", "A. Technician"),
    ("p) external providers", "External providers", "外部供方", ""),
    ("7.8.4.1 a) uncertainty", "Measurement uncertainty", "测量不确定度", "95.45 %"),
    ("a) coverage factor", "coverage factor", "包含因子", ""),
    ("b) conditions", "Environmental conditions", "环境条件", "(23.0 \u00b1 1.0) \u00b0C"),
    ("c) traceability", "traceability", "溯源性", "NIM-2026-DC-0815"),
    ("d) as found / as left", "Results as found and as left", "调整前及调整后的结果", ""),
    ("7.8.6 decision rule", "Decision rule", "判定规则", flat(RULE.statement)),
    ("7.8.6 specification", "Specification", "技术指标", "Keysight 34401A DC voltage, 1y"),
    ("reproduction", "shall not be reproduced except in full", "未经本实验室书面批准，不得部分复制本证书", ""),
]


@needs_poppler
@needs_cjk_font
@pytest.mark.parametrize(("element", "english", "chinese", "value"), ELEMENTS, ids=[e[0] for e in ELEMENTS])
def test_every_17025_element_is_there_in_english_and_chinese(bilingual: tuple[Path, Path], element: str,
                                                             english: str, chinese: str, value: str) -> None:
    text = flat(" ".join(pdf_text(bilingual[1], layout=False)))
    assert english in text, element
    assert nospace(chinese) in nospace(text), element  # extractable: the CJK font has its ToUnicode map
    assert nospace(value) in nospace(text), element


@needs_poppler
@needs_cjk_font
def test_the_cjk_font_is_embedded_as_a_subset_with_unicode(bilingual: tuple[Path, Path]) -> None:
    name = cjk.cjk_font().name
    rows = embedded_fonts(bilingual[1])
    mine = [r for r in rows if r[0].endswith("+" + name) or f"+{name}-" in r[0]]
    assert mine, rows
    for r in mine:
        assert r[-5:-2] == ["yes", "yes", "yes"], r  # emb, sub, uni
    # every other font is one of the standard fonts every viewer has
    assert all(r[0].split("-")[0] in ("Helvetica", "Courier") for r in rows if r not in mine), rows


@needs_poppler
@needs_cjk_font
def test_every_page_carries_the_number_and_page_x_of_y_in_both_languages(bilingual: tuple[Path, Path]) -> None:
    pages = pdf_text(bilingual[1])
    y = len(pages)
    assert y >= 3
    for x, page in enumerate(pages, start=1):
        assert NUMBER in page, f"page {x}"
        assert f"Page {x} of {y}" in page, f"page {x}"
        assert f"第{x}页共{y}页" in nospace(page), f"page {x}"
        assert DRAFT not in page and "草稿" not in page
    assert "End of certificate" in pages[-1] and "证书结束" in pages[-1]


@needs_poppler
@needs_cjk_font
def test_a_chinese_certificate_says_page_x_of_y_in_chinese(tmp_path: Path) -> None:
    path = run(tmp_path)
    pages = pdf_text(render_pdf(path, tmp_path / "zh.pdf", issue_of(path, "zh")))
    for x, page in enumerate(pages, start=1):
        assert NUMBER in page and f"第{x}页共{len(pages)}页" in nospace(page)
        assert "Page " not in page and "Certificate No." not in page
    text = nospace(" ".join(pages))
    for label in ("校准证书", "委托方", "测量不确定度", "判定规则", "批准人", "校准员", "合格", "不合格"):
        assert label in text, label


@needs_poppler
@needs_cjk_font
def test_the_approval_and_the_qr_payload(bilingual: tuple[Path, Path]) -> None:
    path, pdf = bilingual
    issue = issue_of(path, "en+zh")
    first = flat(pdf_text(pdf, layout=False)[0])
    # the approval on the front sheet: who, in which role, when; who calibrated
    for expected in ("Q. Manager", "Authorised signatory", "2026-03-11", "Date of approval", "A. Technician",
                     "Signed electronically"):
        assert expected in first, expected
    assert issue.run_sha256 in nospace(first)  # the calibration record names the run file it certifies
    meta = info(pdf)
    assert meta["CalstationQR"] == issue.qr_payload()
    assert meta["CalstationCertificate"] == NUMBER
    assert meta["CalstationRunSHA256"] == issue.run_sha256
    assert meta["CreationDate"].startswith("Wed Mar 11 08:30:00 2026")  # the approval, not the clock


@needs_poppler
@needs_cjk_font
def test_a_chinese_customer_name_prints_on_an_english_certificate(tmp_path: Path) -> None:
    path = run(tmp_path, customer_name=CUSTOMER_ZH, remarks="样品由客户送达 (delivered by the customer)")
    pdf = render_pdf(path, tmp_path / "en.pdf", issue_of(path, "en"))
    text = flat(" ".join(pdf_text(pdf, layout=False)))
    assert CUSTOMER_ZH in nospace(text)
    assert "样品由客户送达 (delivered by the customer)" in text
    assert "委托方" not in text  # the labels stay English
    assert any(r[-5:-2] == ["yes", "yes", "yes"] for r in embedded_fonts(pdf))
    header = pdf_text(pdf)[1].splitlines()[0]  # the lab's name on every page, Latin here
    assert "Example Calibration Laboratory" in header


@needs_poppler
@needs_cjk_font
def test_a_chinese_lab_name_prints_in_every_page_header(tmp_path: Path) -> None:
    path = run(tmp_path, lab_name="某某计量检测有限公司 Example Lab")
    pages = pdf_text(render_pdf(path, tmp_path / "c.pdf", issue_of(path, "en+zh")))
    for page in pages:
        assert "某某计量检测有限公司" in nospace(page.splitlines()[0])


# -- the draft ---------------------------------------------------------------------------------
@needs_poppler
def test_a_draft_says_so_on_every_page_and_certifies_nothing(tmp_path: Path) -> None:
    path = run(tmp_path)
    pdf = render_pdf(path, tmp_path / "draft.pdf")
    pages = pdf_text(pdf)
    for x, page in enumerate(pages, start=1):
        assert DRAFT in page, f"page {x}"
        assert "Certificate No. draft" in page, f"page {x}"
        assert f"Page {x} of {len(pages)}" in page
    text = flat(" ".join(pdf_text(pdf, layout=False)))
    assert NUMBER not in text and "CS-" not in text  # no number
    assert "Not approved" in text and "not issued (draft)" in text
    assert "Q. Manager" not in text and "Authorised by" not in text and "Signature" not in text
    meta = info(pdf)
    assert "CalstationCertificate" not in meta and "CalstationQR" not in meta and "CalstationSignature" not in meta
    assert meta["CalstationDraft"] == DRAFT and meta["Title"].startswith(DRAFT)
    doc = read_pdf(pdf.read_bytes(), str(pdf))
    assert (doc.number, doc.block) == ("", None)
    assert doc.run_sha256 == issue_of(path).run_sha256


@needs_poppler
@needs_cjk_font
def test_a_chinese_draft_says_so_in_chinese_on_every_page(tmp_path: Path) -> None:
    path = run(tmp_path)
    pages = pdf_text(render_pdf(path, tmp_path / "draft.pdf", languages="en+zh"))
    for page in pages:
        assert DRAFT in page and "草稿-未经批准，不是证书" in nospace(page)


def test_a_draft_is_not_signed(tmp_path: Path) -> None:
    path = run(tmp_path)
    with pytest.raises(CertificateError, match="draft is not signed"):
        render_pdf(path, tmp_path / "c.pdf", None, signer())
    assert not (tmp_path / "c.pdf").exists()


# -- the signature -----------------------------------------------------------------------------
def page_stream(data: bytes, page: int) -> int:
    """Where the (compressed) content of a page starts in the file."""
    contents = re.findall(rb"/Contents (\d+) 0 R", data)[page - 1]
    return data.index(b"stream", data.index(b"\n" + contents + b" 0 obj"))


def verified(data: bytes, keys: dict[str, str]) -> bool:
    """What `calstation verify` decides: the key the block names is known,
    and the signature matches the bytes it covers."""
    try:
        doc = read_pdf(data, "certificate.pdf")
    except CertificateError:
        return False
    return (doc.block is not None and doc.block.key_id in keys
            and signing.check(keys[doc.block.key_id], doc.block.signature, doc.signed))


@needs_poppler
@needs_cjk_font
def test_a_signed_certificate_verifies_and_still_opens(tmp_path: Path) -> None:
    path = run(tmp_path)
    key = signer()
    pdf = render_pdf(path, tmp_path / "signed.pdf", issue_of(path, "en+zh"), key)
    data = pdf.read_bytes()
    doc = read_pdf(data, str(pdf))
    assert doc.kind == "pdf" and doc.number == NUMBER and doc.run_sha256 == issue_of(path).run_sha256
    assert doc.block is not None and doc.block.key_id == key.key_id
    assert signing.check(key.public, doc.block.signature, doc.signed)
    assert len(data) - len(doc.signed) == signing.BLOCK_LENGTH  # all but the block's span is signed
    assert not signing.check(signer().public, doc.block.signature, doc.signed)  # another key: no
    # every offset and the cross-reference table still hold: poppler reads it without a complaint
    assert info(pdf)["CalstationSignature"] == signing.signature_block(key.key_id, doc.block.signature)
    assert "Page 1 of" in poppler("pdftotext", str(pdf), "-").stdout
    assert f"key {key.key_id}" in flat(pdf_text(pdf, layout=False)[0])


@needs_cjk_font
def test_changing_any_byte_of_a_signed_certificate_is_found(tmp_path: Path) -> None:
    path = run(tmp_path)
    key = signer()
    data = render_pdf(path, tmp_path / "signed.pdf", issue_of(path, "en+zh"), key).read_bytes()
    keys = {key.key_id: key.public}
    assert verified(data, keys)
    # the document information (number, run SHA-256, QR, signature block), byte by byte
    first = data.index(b"/CalstationCertificate")
    start, end = data.rindex(b" obj", 0, first), data.index(b"endobj", first)
    block = data.index(b"calstation-signature/1")
    content = page_stream(data, 4)  # the results (compressed)
    positions = [*range(start, end), *range(0, len(data), 97), *range(content, content + 200)]
    number = data.index(NUMBER.encode(), first)
    assert start < number < end and start < block < end
    for i in positions:
        for mask in ((0x01, 0x02, 0x20) if block <= i < block + signing.BLOCK_LENGTH else (0x01,)):
            altered = data[:i] + bytes([data[i] ^ mask]) + data[i + 1:]
            assert not verified(altered, keys), (i, mask, data[max(0, i - 20):i + 20])
    # nor does a valid block from another key pass, nor appending an update to the file
    other = signer()
    forged = data[:block] + other.block(b"whatever").encode() + data[block + signing.BLOCK_LENGTH:]
    assert not verified(forged, {**keys, other.key_id: other.public})
    assert not verified(data + b"\n1 0 obj\n<< /CalstationCertificate (CS-X) >>\nendobj\n", keys)


@needs_cjk_font
def test_signing_gives_the_same_bytes_again(tmp_path: Path) -> None:
    path = run(tmp_path)
    key = signer()
    one = render_pdf(path, tmp_path / "one.pdf", issue_of(path, "en+zh"), key).read_bytes()
    two = render_pdf(path, tmp_path / "two.pdf", issue_of(path, "en+zh"), key).read_bytes()
    assert one == two  # Ed25519 is deterministic, the PDF is


def test_only_the_approver_signs(tmp_path: Path) -> None:
    path = run(tmp_path)
    someone = signing.Signer("someone", "Some One", signing.generate())
    with pytest.raises(CertificateError, match="approved by 'qmanager'") as e:
        render_pdf(path, tmp_path / "c.pdf", issue_of(path), someone)
    assert "\n" not in str(e.value) and not (tmp_path / "c.pdf").exists()


def test_an_approval_of_another_run_file_is_refused(tmp_path: Path) -> None:
    path, other = run(tmp_path), run(tmp_path, "other", remarks="another run")
    with pytest.raises(CertificateError, match="approval is for the run file") as e:
        render_pdf(path, tmp_path / "c.pdf", issue_of(other))
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "c.pdf").exists()


def test_the_languages_are_the_approvals(tmp_path: Path) -> None:
    path = run(tmp_path)
    with pytest.raises(CertificateError, match="approved in 'en'"):
        render_pdf(path, tmp_path / "c.pdf", issue_of(path, "en"), languages="zh")
    with pytest.raises(CertificateError, match="en, zh, en\\+zh"):
        render_pdf(path, tmp_path / "c.pdf", languages="fr")
    assert not (tmp_path / "c.pdf").exists()


# -- reading a file that is no certificate ------------------------------------------------------
def test_read_pdf_refuses_what_is_not_a_calstation_certificate(tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas

    plain = tmp_path / "letter.pdf"
    c = Canvas(str(plain))
    c.drawString(100, 700, "Dear customer")
    c.save()
    for data, source, what in ((b"PK\x03\x04 a zip", "archive.zip", "not a PDF file"),
                               (plain.read_bytes(), "letter.pdf", "not a calstation certificate")):
        with pytest.raises(CertificateError) as e:
            read_pdf(data, source)
        assert str(e.value).startswith(f"{source}: ") and what in str(e.value) and "\n" not in str(e.value)


# -- reproducible bytes --------------------------------------------------------------------------
@needs_cjk_font
def test_the_same_inputs_give_the_same_bytes_wherever_the_font_is(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = run(tmp_path, customer_name=CUSTOMER_ZH)
    issue = issue_of(path, "en+zh")
    one = render_pdf(path, tmp_path / "one.pdf", issue).read_bytes()
    moved = tmp_path / "fonts" / "cjk.ttc"
    moved.parent.mkdir()
    shutil.copyfile(cjk.cjk_font().path, moved)
    monkeypatch.setenv(cjk.ENV, str(moved))
    assert render_pdf(path, tmp_path / "two.pdf", issue).read_bytes() == one
    # another process, time zone and hash seed
    out = tmp_path / "three.pdf"
    code = ("import sys; from pathlib import Path; from station.certificates import render_pdf; "
            "from tests.certificates.test_pdf import issue_of; p = Path(sys.argv[1]); "
            "render_pdf(p, Path(sys.argv[2]), issue_of(p, 'en+zh'))")
    env = {**os.environ, "TZ": "Asia/Shanghai", "PYTHONHASHSEED": "4321"}
    subprocess.run([sys.executable, "-c", code, str(path), str(out)], check=True, env=env,
                   cwd=Path(__file__).resolve().parents[2])
    assert out.read_bytes() == one
    draft = render_pdf(path, tmp_path / "d1.pdf", languages="zh").read_bytes()
    assert render_pdf(path, tmp_path / "d2.pdf", languages="zh").read_bytes() == draft


# -- no CJK font ---------------------------------------------------------------------------------
@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cjk.ENV, raising=False)
    monkeypatch.setattr(cjk, "CANDIDATES", ())


def test_without_a_cjk_font_chinese_is_refused_before_anything_is_written(tmp_path: Path,
                                                                          no_cjk_font: None) -> None:
    path = run(tmp_path)
    chinese = run(tmp_path, "chinese", customer_name=CUSTOMER_ZH)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "c.pdf"
    renders: list[tuple[Callable[[], Path], str]] = [
        (lambda: render_pdf(path, out, issue_of(path, "en+zh")), "languages 'en+zh'"),
        (lambda: render_pdf(path, out, languages="zh"), "languages 'zh'"),
        (lambda: render_pdf(chinese, out), "customer_name"),
    ]
    for render, what in renders:
        with pytest.raises(CertificateError) as e:
            render()
        message = str(e.value)
        assert "\n" not in message and what in message, message
        assert "fonts-wqy-microhei" in message and cjk.ENV in message
        assert sorted(p.name for p in tmp_path.iterdir()) == before  # no PDF, no temporary file
    # English text needs no such font
    assert render_pdf(path, tmp_path / "en.pdf").is_file()


def test_a_font_named_in_the_environment_must_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = run(tmp_path)
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    cases = [(tmp_path / "missing.ttf", "no such file"), (path, "not a usable TrueType font")]
    if latin.is_file():
        cases.append((latin, "not a Chinese font"))
    for font, why in cases:
        monkeypatch.setenv(cjk.ENV, str(font))
        with pytest.raises(CertificateError) as e:
            render_pdf(path, tmp_path / "c.pdf", languages="zh")
        assert f"{cjk.ENV}={font}" in str(e.value) and why in str(e.value) and "\n" not in str(e.value)
        assert not (tmp_path / "c.pdf").exists()


# -- the two tables ------------------------------------------------------------------------------
def test_the_chinese_table_has_every_phrase_with_the_same_placeholders() -> None:
    def fields(text: str) -> list[str]:
        return sorted(re.findall(r"\{(\w*)\}", text))

    def markup(text: str) -> set[str]:
        return set(re.findall(r"<[^>]+>", text))

    assert TEXT_ZH.keys() == TEXT_EN.keys()
    for key, english in TEXT_EN.items():
        assert fields(TEXT_ZH[key]) == fields(english), key
        assert markup(TEXT_ZH[key]) == markup(english), key
        wide = [c for c in TEXT_ZH[key] if unicodedata.east_asian_width(c) in "WF"]
        assert wide or key in {"c_U", "c_k"}, key  # Chinese, not a copy of the English

