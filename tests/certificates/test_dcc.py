"""The Digital Calibration Certificate (DCC, XML): written from run files
built here through `RunWriter` (as tests/certificates/test_pdf.py builds
them) and from one run of the simulated bench through the CLI, validated
against the shipped PTB schema, read back as XML the way another lab's
software would read it, and its signature checked with the public key."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from drivers.roles import Function
from station import signing
from station.certificates.dcc import DccError, read_dcc, render_dcc, validate_dcc, write_dcc
from station.certificates.issue import Issue
from station.errors import CalstationError
from station.metrology.result import PointResult
from station.runfile.layout import ambient_message
from station.runfile.reader import RunFile
from station.runfile.writer import RunWriter
from tests.certificates.test_pdf import PLAN, T0, Planned, header, job, point, record, write_run

NS = {"dcc": "https://ptb.de/dcc", "si": "https://ptb.de/si"}
CUSTOMER_ZH = "北京精密仪器有限公司（计量部）"
APPROVED = dt.datetime(2026, 3, 11, 8, 30, tzinfo=dt.UTC)
#: (time, degrees C, %RH) of the ambient events written into the run: two
#: before the as-left points start (index 10), one after.
AMBIENT = [(T0 + 30.0, 23.012, 45.21), (T0 + 60.0 * 10 + 5, 23.105, 46.0), (T0 + 60.0 * 14 + 5, 22.98, 44.87)]
AS_LEFT_FROM = 10


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def issue_for(run: Path, languages: str = "en+zh", number: str = "CAL-2026-000123") -> Issue:
    return Issue(number=number, approved_at=APPROVED, approver="Q. Manager", approver_user="qmanager",
                 approver_role="Authorised signatory", run_sha256=sha256(run), languages=languages,
                 lab_code="CNAS L0001")


def write_ambient_run(path: Path, **job_changes: str) -> list[PointResult]:
    """A completed run of PLAN: as found, then as left from point 11, with
    the thermo-hygrometer's ambient events between the points."""
    w = RunWriter.create(path, header(job(customer_name=CUSTOMER_ZH, **job_changes)))
    w.event("started", "keysight-34401a-dcv 1.0.0", t=T0)
    pending = list(AMBIENT)
    results = []
    for i in range(len(PLAN)):
        taken = point(i, "as_left" if i >= AS_LEFT_FROM else "as_found")
        while pending and pending[0][0] < taken[2][0]:
            t, temp, rh = pending.pop(0)
            w.event("ambient", ambient_message(temp, rh), t=t)
        record(w, taken)
        results.append(taken[0])
    w.finish("completed", "all points completed")
    return results


@dataclass(frozen=True)
class Issued:
    run: Path
    dcc: Path
    issue: Issue
    signer: signing.Signer
    data: bytes
    root: etree._Element


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    d = tmp_path_factory.mktemp("dcc")
    run = d / "run.h5"
    write_ambient_run(run)
    issue = issue_for(run)
    signer = signing.Signer("qmanager", "Q. Manager", signing.generate())
    out = write_dcc(run, d / "certificate.xml", issue, signer)
    data = out.read_bytes()
    return Issued(run, out, issue, signer, data, etree.fromstring(data))


def results_by_ref(root: etree._Element) -> dict[str, list[str]]:
    """Every result list's values by the quantity's refType, in document
    order (measurement results, then functions), as text."""
    out: dict[str, list[str]] = {}
    for q in root.iterfind(".//dcc:results//dcc:quantity", NS):
        xl = q.find("si:realListXMLList", NS)
        assert xl is not None
        out.setdefault(q.get("refType", ""), []).extend((xl.findtext("si:valueXMLList", "", NS) or "").split())
        unc = xl.find("si:expandedUncXMLList", NS)
        if unc is not None:
            for tag in ("uncertaintyXMLList", "coverageFactorXMLList", "coverageProbabilityXMLList"):
                out.setdefault(tag, []).extend((unc.findtext(f"si:{tag}", "", NS) or "").split())
        labels = xl.findtext("si:labelXMLList", None, NS)
        if labels is not None:
            out.setdefault("labels", []).extend(labels.split())
    for meta in root.iterfind(".//dcc:results//dcc:metaData", NS):
        out.setdefault(meta.get("refType", ""), []).extend((meta.findtext("dcc:conformityXMLList", "", NS)
                                                             or "").split())
    return out


def units(root: etree._Element) -> dict[str, set[str]]:
    """The units of each function's results (by its name in English)."""
    out: dict[str, set[str]] = {}
    for res in root.iterfind(".//dcc:results/dcc:result", NS):
        name = res.findtext("dcc:name/dcc:content[@lang='en']", "", NS) or ""
        for u in res.iterfind(".//si:unitXMLList", NS):
            out.setdefault(name, set()).update((u.text or "").split())
    return out


# -- the schema ---------------------------------------------------------------------------------
def test_the_dcc_of_a_completed_run_validates_against_the_schema(issued: Issued) -> None:
    assert validate_dcc(issued.data) == []
    assert issued.root.get("schemaVersion") == "3.1.2"
    assert issued.root.tag == "{https://ptb.de/dcc}digitalCalibrationCertificate"


def test_a_document_missing_a_required_element_is_reported(issued: Issued) -> None:
    root = etree.fromstring(issued.data)
    core = root.find("dcc:administrativeData/dcc:coreData", NS)
    assert core is not None
    end = core.find("dcc:endPerformanceDate", NS)
    assert end is not None
    core.remove(end)
    errors = validate_dcc(etree.tostring(root))
    assert errors and all("\n" not in e for e in errors)
    assert any("performanceLocation" in e and "endPerformanceDate" in e for e in errors), errors


def test_a_value_that_is_not_a_d_si_number_is_reported(issued: Issued) -> None:
    text = issued.data.decode("utf-8")
    broken = re.sub(r"(<si:coverageFactorXMLList>)(\S+)", r"\g<1>0.5", text, count=1)
    assert broken != text
    errors = validate_dcc(broken.encode("utf-8"))
    assert any("coverageFactorXMLList" in e for e in errors), errors
    assert validate_dcc(b"<dcc:digitalCalibrationCertificate") != []


# -- what it says ----------------------------------------------------------------------------------
def test_the_point_values_are_the_run_files_exactly(issued: Issued) -> None:
    with RunFile(issued.run) as rf:
        points = rf.points
    assert len(points) == len(PLAN) and {p.phase for p in points} == {"as_found", "as_left"}
    # the DCC lists them by phase, then function: here one function, so in the run's order
    values = results_by_ref(issued.root)
    assert values["labels"] == [str(p.index + 1) for p in points]
    fields = {
        "basic_nominalValue": "nominal", "calstation_range": "range", "basic_referenceValue": "reference",
        "basic_measuredValue": "indication", "basic_measurementError": "error",
        "calstation_toleranceLimitLower": "lower_limit", "calstation_toleranceLimitUpper": "upper_limit",
        "uncertaintyXMLList": "expanded_uncertainty", "coverageFactorXMLList": "coverage_factor",
    }
    for ref, field in fields.items():
        recorded = [getattr(p, field) for p in points]
        assert [float(v) for v in values[ref]] == recorded, field
        assert values[ref] == [repr(v) for v in recorded], f"{field} is not written as the run holds it"
    assert set(values["coverageProbabilityXMLList"]) == {"0.9545"}
    conformity = {"pass": "pass", "fail": "fail", "conditional pass": "conditionalPass",
                  "conditional fail": "conditionalFail"}
    assert values["calstation_decision"] == [conformity[p.decision] for p in points]
    assert "fail" in values["calstation_decision"]  # the made-up failing point (No. 5, as found)


def test_as_found_and_as_left_are_two_measurement_results(issued: Issued) -> None:
    results = issued.root.findall("dcc:measurementResults/dcc:measurementResult", NS)
    names = [r.findtext("dcc:name/dcc:content[@lang='en']", "", NS) for r in results]
    assert names == ["Results as found (before adjustment)", "Results as left (after adjustment)"]
    counts = [len((r.findtext(".//si:labelXMLList", "", NS) or "").split()) for r in results]
    assert counts == [AS_LEFT_FROM, len(PLAN) - AS_LEFT_FROM]
    statement = [s for s in issued.root.iterfind(".//dcc:statements/dcc:statement", NS)
                 if s.find("dcc:conformity", NS) is not None]
    assert len(statement) == 1
    # judged as it leaves: every as-left point passes; the as-found failure is stated
    assert statement[0].findtext("dcc:conformity", "", NS) == "pass"
    text = statement[0].findtext("dcc:declaration/dcc:content[@lang='en']", "", NS) or ""
    assert "Pass at all 7 points" in text and "did not conform at 1 point(s) (No. 5)" in text


def test_the_ambient_conditions_are_the_recorded_ones_by_phase(issued: Issued) -> None:
    results = issued.root.findall("dcc:measurementResults/dcc:measurementResult", NS)
    recorded = [(ambient_message(t, h).split()[0], ambient_message(t, h).split()[2]) for _, t, h in AMBIENT]
    expected = [recorded[:2], recorded[2:]]  # as found: the two before point 11; as left: the last
    for result, readings, status in zip(results, expected, ("beforeAdjustment", "afterAdjustment"), strict=True):
        conds = {c.get("refType"): c for c in result.iterfind("dcc:influenceConditions/dcc:influenceCondition", NS)}
        temp, rh = conds["calstation_ambientTemperature"], conds["calstation_ambientHumidity"]
        assert (temp.findtext(".//si:valueXMLList", "", NS) or "").split() == [t for t, _ in readings]
        assert (rh.findtext(".//si:valueXMLList", "", NS) or "").split() == [h for _, h in readings]
        assert set((temp.findtext(".//si:unitXMLList", "", NS) or "").split()) == {r"\degreecelsius"}
        assert set((rh.findtext(".//si:unitXMLList", "", NS) or "").split()) == {r"\percent"}
        assert temp.findtext("dcc:status", "", NS) == status
        assert "23.0 +/- 1.0 °C" in (temp.findtext("dcc:description/dcc:content[@lang='en']", "", NS) or "")


def test_administrative_data_comes_from_the_run_and_the_issue(issued: Issued) -> None:
    adm = issued.root.find("dcc:administrativeData", NS)
    assert adm is not None
    core = "dcc:coreData/"
    assert adm.findtext(core + "dcc:uniqueIdentifier", "", NS) == issued.issue.number
    assert adm.findtext(core + "dcc:countryCodeISO3166_1", "", NS) == "CN"  # no lab_country: the default
    ids = {i.get("refType"): i.findtext("dcc:value", "", NS)
           for i in adm.iterfind(core + "dcc:identifications/dcc:identification", NS)}
    assert ids["calstation_runFileSha256"] == sha256(issued.run)
    with RunFile(issued.run) as rf:
        assert ids["calstation_runId"] == rf.attrs["run_id"]
        procedure = rf.procedure
    assert adm.findtext(core + "dcc:receiptDate", "", NS) == "2026-03-09"
    assert adm.findtext(core + "dcc:beginPerformanceDate", "", NS) == "2026-03-10"
    assert adm.findtext("dcc:dccSoftware/dcc:software/dcc:name/dcc:content", "", NS) == "calstation"
    item = adm.find("dcc:items/dcc:item", NS)
    assert item is not None
    assert item.findtext("dcc:model", "", NS) == "34401A"
    item_ids = [i.findtext("dcc:value", "", NS) for i in item.iterfind("dcc:identifications/dcc:identification", NS)]
    assert "MY41234567" in item_ids and "CUST-DMM-7" in item_ids
    persons = adm.findall("dcc:respPersons/dcc:respPerson", NS)
    names = [p.findtext("dcc:person/dcc:name/dcc:content", "", NS) for p in persons]
    assert names == ["A. Technician", "Q. Manager"]
    signatory = persons[1]
    assert signatory.findtext("dcc:mainSigner", "", NS) == "true"
    assert signatory.findtext("dcc:role", "", NS) == "Authorised signatory"
    assert adm.findtext("dcc:calibrationLaboratory/dcc:calibrationLaboratoryCode", "", NS) == "CNAS L0001"
    method = issued.root.find(".//dcc:usedMethods/dcc:usedMethod", NS)
    assert method is not None
    described = " ".join(str(t) for t in method.itertext())
    assert procedure["name"] in described and procedure["version"] in described
    assert procedure["sha256"] in described
    equipment = issued.root.findall(".//dcc:measuringEquipments/dcc:measuringEquipment", NS)
    assert equipment, "the standard is listed"
    text = " ".join(str(t) for t in equipment[0].itertext())
    assert "NIM-2026-DC-0815" in text and "2027-02-01" in text


def test_both_languages_are_written_for_en_zh(issued: Issued) -> None:
    langs = [lang.text for lang in issued.root.iterfind(".//dcc:usedLangCodeISO639_1", NS)]
    assert langs == ["en", "zh"]
    contents = issued.root.findall(".//dcc:content", NS)
    en = [c for c in contents if c.get("lang") == "en"]
    zh = [c for c in contents if c.get("lang") == "zh"]
    assert en and len(en) == len(zh)
    # every element with a fixed text has it in both languages
    for parent in {c.getparent() for c in en + zh}:
        assert parent is not None
        assert sorted(c.get("lang", "") for c in parent.findall("dcc:content[@lang]", NS)) == ["en", "zh"]
    relate = "本证书给出的结果仅与上述所标识的被校物品有关，并仅对其校准时的时间和条件有效。"
    assert relate in [c.text for c in zh]
    assert all(re.search("[\u4e00-\u9fff]", c.text or "") for c in zh)


def test_a_chinese_only_dcc_has_no_english_text(tmp_path: Path, issued: Issued) -> None:
    data = render_dcc(issued.run, issue_for(issued.run, languages="zh"))
    assert validate_dcc(data) == []
    root = etree.fromstring(data)
    assert [e.text for e in root.iterfind(".//dcc:usedLangCodeISO639_1", NS)] == ["zh"]
    assert root.findtext(".//dcc:mandatoryLangCodeISO639_1", "", NS) == "zh"
    assert {c.get("lang") for c in root.iterfind(".//dcc:content[@lang]", NS)} == {"zh"}


def test_a_chinese_customer_name_round_trips(issued: Issued) -> None:
    root = etree.fromstring(issued.dcc.read_bytes())
    assert root.findtext("dcc:administrativeData/dcc:customer/dcc:name/dcc:content", "", NS) == CUSTOMER_ZH
    assert CUSTOMER_ZH.encode("utf-8") in issued.data  # as characters, not as character references


MIXED = [
    Planned(Function.DCV, 10.0, 10.0), Planned(Function.DCI, 10e-3, 5e-3), Planned(Function.ACV, 1.0, 1.0, 1e3),
    Planned(Function.R4W, 10e3, 10e3), Planned(Function.TEMP, 0.0, 50.0), Planned(Function.PRES, 100e3, 50e3),
]


def test_units_are_the_d_si_ones(tmp_path: Path, issued: Issued) -> None:
    assert units(issued.root) == {"DC voltage": {r"\volt"}}
    run = tmp_path / "mixed.h5"
    write_run(run, points=len(MIXED), plan=MIXED)
    data = render_dcc(run, issue_for(run, languages="en"))
    assert validate_dcc(data) == []
    assert units(etree.fromstring(data)) == {
        "DC voltage": {r"\volt"}, "DC current": {r"\ampere"}, "AC voltage": {r"\volt", r"\hertz"},
        "Resistance, 4-wire": {r"\ohm"}, "Temperature": {r"\degreecelsius"}, "Pressure": {r"\pascal"},
    }


def test_no_conformity_is_stated_when_the_customer_wants_none(tmp_path: Path) -> None:
    run = tmp_path / "run.h5"
    write_run(run, job(statement_of_conformity="no"))
    data = render_dcc(run, issue_for(run))
    assert validate_dcc(data) == []
    root = etree.fromstring(data)
    assert root.find(".//dcc:conformity", NS) is None
    assert root.find(".//dcc:conformityXMLList", NS) is None
    texts = [c.text for c in root.iterfind(".//dcc:statement//dcc:content[@lang='en']", NS)]
    assert "No statement of conformity was requested; none is given." in texts


# -- the signature --------------------------------------------------------------------------------
def test_the_signature_checks_with_the_signers_public_key(issued: Issued) -> None:
    doc = read_dcc(issued.dcc.read_bytes(), str(issued.dcc))
    assert (doc.kind, doc.number, doc.run_sha256) == ("dcc", issued.issue.number, sha256(issued.run))
    assert doc.block is not None and doc.block.key_id == issued.signer.key_id
    assert signing.check(issued.signer.public, doc.block.signature, doc.signed)
    other = signing.Signer("qmanager", "Q. Manager", signing.generate())
    assert not signing.check(other.public, doc.block.signature, doc.signed)
    # the signature is a processing instruction after the root element
    tail = issued.data.rstrip().rsplit(b"</dcc:digitalCalibrationCertificate>", 1)[1].strip()
    assert re.fullmatch(rb"<\?calstation-signature calstation-signature/1 alg=ed25519 key=[0-9a-f]{16} "
                        rb"sig=[A-Za-z0-9+/=]{88}\?>", tail)


def test_changing_one_value_fails_the_check(issued: Issued) -> None:
    text = issued.data.decode("utf-8")
    m = re.search(r'refType="basic_measuredValue">.*?<si:valueXMLList>(\S*?)(\d)', text, re.S)
    assert m is not None
    digit = m.group(2)
    altered = text[:m.start(2)] + ("1" if digit != "1" else "2") + text[m.end(2):]
    assert validate_dcc(altered.encode("utf-8")) == []  # still a valid DCC: only the signature tells
    doc = read_dcc(altered.encode("utf-8"), "altered.xml")
    assert doc.block is not None
    assert not signing.check(issued.signer.public, doc.block.signature, doc.signed)


def test_changing_one_byte_of_the_signature_fails_the_check(issued: Issued) -> None:
    m = re.search(rb"sig=([A-Za-z0-9+/=]{88})", issued.data)
    assert m is not None
    at = m.start(1) + 20
    swapped = b"B" if issued.data[at:at + 1] != b"B" else b"C"
    data = issued.data[:at] + swapped + issued.data[at + 1:]
    doc = read_dcc(data, "altered.xml")
    assert doc.block is not None
    assert not signing.check(issued.signer.public, doc.block.signature, doc.signed)


def test_an_unsigned_dcc_has_no_block(issued: Issued) -> None:
    data = render_dcc(issued.run, issued.issue)
    assert validate_dcc(data) == []
    assert b"calstation-signature" not in data
    doc = read_dcc(data, "unsigned.xml")
    assert doc.block is None and doc.number == issued.issue.number


@pytest.mark.parametrize("content, why", [
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not well-formed XML"),
    (b"<?xml version='1.0'?><invoice xmlns='https://example.com/x'><number>1</number></invoice>", "root element"),
    (b"<dcc:digitalCalibrationCertificate xmlns:dcc='https://ptb.de/dcc' schemaVersion='3.1.2'>"
     b"<dcc:administrativeData/></dcc:digitalCalibrationCertificate>", "uniqueIdentifier"),
])
def test_a_file_that_is_not_a_calstation_dcc_is_refused_in_one_line(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "thing.xml"
    path.write_bytes(content)
    with pytest.raises(DccError) as e:
        read_dcc(path.read_bytes(), str(path))
    message = str(e.value)
    assert isinstance(e.value, CalstationError)
    assert "\n" not in message and message.startswith(str(path)) and why in message


def test_another_labs_dcc_without_the_run_files_hash_is_refused(issued: Issued) -> None:
    root = etree.fromstring(issued.data)
    for ident in root.iterfind(".//dcc:coreData/dcc:identifications/dcc:identification", NS):
        if ident.get("refType") == "calstation_runFileSha256":
            parent = ident.getparent()
            assert parent is not None
            parent.remove(ident)
    with pytest.raises(DccError, match="SHA-256"):
        read_dcc(etree.tostring(root), "other-lab.xml")


# -- determinism, refusals, writing --------------------------------------------------------------
def test_the_same_inputs_give_the_same_bytes(issued: Issued, tmp_path: Path) -> None:
    assert render_dcc(issued.run, issued.issue, issued.signer) == issued.data
    key = signing.save_private_key(issued.signer.key, tmp_path / "key.pem")
    out = tmp_path / "again.xml"
    code = (
        "import datetime as dt, sys\n"
        "from pathlib import Path\n"
        "from station import signing\n"
        "from station.certificates.dcc import write_dcc\n"
        "from station.certificates.issue import Issue\n"
        f"issue = Issue({issued.issue.number!r}, dt.datetime.fromisoformat({APPROVED.isoformat()!r}), "
        f"'Q. Manager', 'qmanager', 'Authorised signatory', {issued.issue.run_sha256!r}, 'en+zh', 'CNAS L0001')\n"
        f"signer = signing.Signer('qmanager', 'Q. Manager', signing.load_private_key(Path({str(key)!r})))\n"
        f"write_dcc(Path({str(issued.run)!r}), Path({str(out)!r}), issue, signer)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "Asia/Shanghai", "LANG": "C"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert out.read_bytes() == issued.data


def test_a_dcc_is_only_written_for_the_run_file_approved(issued: Issued, tmp_path: Path) -> None:
    other = tmp_path / "other.h5"
    write_run(other)
    with pytest.raises(DccError, match="SHA-256") as e:
        render_dcc(other, issued.issue)
    assert "\n" not in str(e.value) and str(other) in str(e.value)


def test_it_is_signed_by_the_approver_only(issued: Issued) -> None:
    someone = signing.Signer("technician", "A. Technician", signing.generate())
    with pytest.raises(DccError, match="approver"):
        render_dcc(issued.run, issued.issue, someone)


def test_a_run_that_is_not_completed_gets_no_dcc(tmp_path: Path) -> None:
    run = tmp_path / "aborted.h5"
    write_run(run, status="aborted", reason="aborted by the operator", points=3)
    with pytest.raises(DccError, match="only issued for a completed run"):
        render_dcc(run, issue_for(run))


def test_write_dcc_leaves_nothing_half_written(issued: Issued, tmp_path: Path) -> None:
    out = tmp_path / "cert.xml"
    with pytest.raises(DccError):
        write_dcc(issued.run, issued.run, issued.issue)  # never over its run file
    with pytest.raises(DccError):
        write_dcc(issued.run, out, issue_for(issued.run, languages="fr"))
    assert not out.exists() and list(tmp_path.iterdir()) == []
    write_dcc(issued.run, out, issued.issue, issued.signer)
    assert out.read_bytes() == issued.data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert.xml"]


# -- end to end ----------------------------------------------------------------------------------
def test_a_run_of_the_simulated_bench_gives_a_valid_signed_dcc(tmp_path: Path, calstation_cmd: Sequence[str]) -> None:
    run = tmp_path / "run.h5"
    done = subprocess.run([*calstation_cmd, "run", "keysight-34401a-basic", "--simulated", "--yes", "--settle", "0",
                           "--out", str(run)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    issue = issue_for(run)
    signer = signing.Signer("qmanager", "Q. Manager", signing.generate())
    out = write_dcc(run, tmp_path / "run.xml", issue, signer)
    data = out.read_bytes()
    assert validate_dcc(data) == []
    root = etree.fromstring(data)
    assert units(root) == {"DC voltage": {r"\volt"}, "AC voltage": {r"\volt", r"\hertz"},
                           "DC current": {r"\ampere"}, "Resistance, 2-wire": {r"\ohm"},
                           "Resistance, 4-wire": {r"\ohm"}}
    with RunFile(run) as rf:
        points = rf.points
    values = results_by_ref(root)
    order = [int(n) - 1 for n in values["labels"]]  # by function: the run's points regrouped
    assert sorted(order) == list(range(len(points)))
    assert [float(v) for v in values["basic_measuredValue"]] == [points[i].indication for i in order]
    assert [float(v) for v in values["uncertaintyXMLList"]] == [points[i].expanded_uncertainty for i in order]
    doc = read_dcc(data, str(out))
    assert doc.block is not None and signing.check(signer.public, doc.block.signature, doc.signed)
