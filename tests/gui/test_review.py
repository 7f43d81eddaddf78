"""A signatory's review of a completed run, its approval (``calstation
approve`` in a process of its own) or rejection, and the certificate in the
window: pages, print, verify. The lab and its runs are made through the CLI
(tests/register/lab.py)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtPdf import QPdfDocument
from PyQt6.QtPrintSupport import QPrintDialog
from PyQt6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QPushButton

from gui.jobs import wait_for_tasks
from gui.preview import CertificateView
from gui.review import FAIL_ROW, ReasonDialog, ReviewView
from station.register import Register
from station.runfile.reader import RunFile
from tests.gui import test_views
from tests.gui.test_views import assert_fits, click, column, completed_run
from tests.register.lab import Lab

# the station's own settings and a lab's register set up through the CLI, as test_views has them
station_env, lab, register = test_views.station_env, test_views.lab, test_views.register

pytestmark = pytest.mark.gui

NUMBER = re.compile(r"^CAL-\d{4}-\d{5}$")
APPROVAL_S = 90  # a process of its own: start, number, render and sign two documents


def review(qtbot, register: Register, user: str, run: Path, key: Path | None = None) -> ReviewView:
    view = ReviewView(register, register.user(user), run, key)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.loaded, timeout=20_000)
    return view


def shown_points(view: ReviewView) -> list[list[str]]:
    m = view.model
    return [[m.data(m.index(r, c)) for c in range(m.columnCount())] for r in range(m.rowCount())]


def pages_of(pdf: Path) -> int:
    """How many pages a PDF has, as poppler's pdfinfo says (else Qt PDF)."""
    try:
        out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))  # type: ignore[union-attr]
    except FileNotFoundError:
        doc = QPdfDocument(None)
        doc.load(str(pdf))
        return int(doc.pageCount())


# -- review ------------------------------------------------------------------------------------------
def test_the_review_shows_every_point_and_a_points_budget_readings_and_log(qtbot, lab: Lab,
                                                                          register: Register) -> None:
    run = completed_run(lab)
    view = review(qtbot, register, "sun", run)
    assert_fits(qtbot, view, [view.verdict, view.table, view.details, view.approve_button, view.reject_button])
    with RunFile(run) as rf:
        points, budgets = rf.points, rf.budgets()
        raw = {p.index: rf.raw(p.index) for p in points}
        io = list(rf.io())
    assert view.fields["dut"].text() == "Keysight 34401A serial MY123 (DUT-1)"
    assert view.fields["technician"].text() == "Li Lei (李雷) (li)"
    assert view.fields["rule"].text() == "simple-acceptance"
    assert "intact" in view.fields["file"].text() and "Verdict as left\nPASS" == view.verdict.text()

    shown = shown_points(view)
    assert len(shown) == len(points) == 17
    assert [row[0] for row in shown] == [str(p.index + 1) for p in points]
    assert [row[11] for row in shown] == ["pass"] * 17

    # the 9th point (5 V on the 10 V range): its whole budget, its readings, its exchanges
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(8, 0))
    p = points[8]
    assert column(view.budget, 0) == [c.name for c in budgets[8]]
    assert column(view.budget, 10) == [c.description for c in budgets[8]]
    assert "Point 9: 5 V" in view.budget_total.text() and "U = " in view.budget_total.text()
    times, values = raw[8]
    assert view.raw.rowCount() == len(values) == 2
    assert [float(v.split()[0]) for v in column(view.raw, 3)] == pytest.approx(list(values))
    window = [e for e in io if p.t_start <= e.time <= p.t_end]
    log = view.log.toPlainText().splitlines()
    assert f"{len(window)} exchanges" in log[0] and len(window) > 0
    assert len(log) == 2 + len(window)
    assert window[0].data.decode().strip() in log[2]
    # keyboard: the next point
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    assert "Point 10: 10 V" in view.budget_total.text()


def test_a_failing_run_shows_its_fail_rows_and_verdict(qtbot, lab: Lab, register: Register) -> None:
    from drivers.keysight.k34401a_sim import DutErrors
    from station import library
    from station.engine import Engine
    from station.prompts import AutoAnswer
    from station.simulated import SimulatedStation

    path = lab.tmp / "fails.h5"
    procedure = library.load("keysight-34401a-dcv", readings=2, settle_s=0.0)
    with SimulatedStation(transport="inprocess", procedure=procedure,
                          bench_options={"dut": DutErrors(gain=80e-6)}) as sim:
        job = dataclasses.replace(sim.job(), operator="Li Lei (李雷)", dut_asset_id="DUT-1",
                                  extra={**sim.job().extra, "operator_user": "li"})
        outcome = Engine(procedure, sim.bench(), job, path, prompts=AutoAnswer(), clock=sim.clock,
                         simulators=sim.simulators).run()
    assert outcome.status == "completed" and outcome.out_of_tolerance > 0
    register.register_run("li", path)

    view = review(qtbot, register, "sun", path)
    with RunFile(path) as rf:
        failed = [p.index for p in rf.points if p.decision == "fail"]
    shown = shown_points(view)
    assert [i for i, row in enumerate(shown) if row[11] == "FAIL"] == failed
    m = view.model
    assert m.data(m.index(failed[0], 3), Qt.ItemDataRole.BackgroundRole).color() == FAIL_ROW
    assert view.verdict.text() == "Verdict as left\nFAIL"
    assert view.approve_button.isEnabled()  # a failing calibration is certified too, as failing


# -- who may approve ------------------------------------------------------------------------------------
def test_a_technician_cannot_approve_or_reject(qtbot, lab: Lab, register: Register) -> None:
    run = completed_run(lab)
    lab.ok("register", "user", "add", "wang", "--role", "technician", "--full-name", "Wang", "--user", "ada")
    view = review(qtbot, register, "wang", run)
    assert not view.approve_button.isEnabled() and not view.reject_button.isEnabled()
    assert view.reason_label.isVisible()
    assert view.reason_label.text() == ("Only a signatory approves or rejects a run; you are signed in as a "
                                        "technician.")
    assert_fits(qtbot, view, [view.reason_label, view.approve_button, view.reject_button])


def test_nobody_approves_their_own_run(qtbot, lab: Lab, register: Register) -> None:
    lab.ok("register", "user", "add", "zhou", "--role", "signatory", "--full-name", "Zhou Wu", "--key-out",
           str(lab.tmp / "zhou.pem"), "--user", "ada")
    run = completed_run(lab, user="zhou")
    view = review(qtbot, register, "zhou", run, lab.tmp / "zhou.pem")
    assert not view.approve_button.isEnabled() and not view.reject_button.isEnabled()
    assert view.reason_label.isVisible() and "nobody approves their own run" in view.reason_label.text()
    # another signatory may
    other = review(qtbot, register, "sun", run, lab.key)
    assert other.approve_button.isEnabled() and not other.reason_label.isVisible()


# -- approve and reject --------------------------------------------------------------------------------------
def test_the_signatory_approves_and_gets_the_certificate_number(qtbot, lab: Lab, register: Register) -> None:
    run = completed_run(lab)
    view = review(qtbot, register, "sun", run, lab.key)
    with qtbot.waitSignal(view.approved, timeout=APPROVAL_S * 1000) as approved:
        click(qtbot, view.approve_button)
        assert view.busy and not view.approve_button.isEnabled()  # the window goes on meanwhile
        assert "Approving" in view.message.text()
    number, pdf, dcc = approved.args
    assert NUMBER.match(number), view.message.text()
    assert view.message.isVisible() and number in view.message.text()
    assert pdf == lab.tmp / f"{number}.pdf" and pdf.is_file() and dcc.is_file()
    cert = register.certificate(number)
    assert cert is not None and cert.status == "issued" and cert.approver == "sun"
    assert register.run(cert.run_id)["status"] == "approved"  # type: ignore[index]
    # done: the buttons say why they are off now
    assert not view.approve_button.isEnabled()
    assert view.reason_label.text() == f"This run is approved already: certificate {number}."


def test_approve_asks_for_the_key_file_and_its_passphrase(qtbot, lab: Lab, register: Register,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    key = lab.tmp / "keys" / "wu.pem"
    monkeypatch.setenv("CALSTATION_KEY_PASSPHRASE", "open sesame")
    lab.ok("register", "user", "add", "wu", "--role", "signatory", "--full-name", "Wu Fang", "--key-out",
           str(key), "--user", "ada")
    monkeypatch.delenv("CALSTATION_KEY_PASSPHRASE")
    run = completed_run(lab)
    view = review(qtbot, register, "wu", run)  # no key given

    def choose_key() -> None:
        click(qtbot, view.approve_button)
        [dialog] = [d for d in view.findChildren(QFileDialog, "keyFile") if d.isVisible()]
        dialog.selectFile(str(key))
        dialog.accept()

    def passphrase(text: str) -> None:
        [ask] = [d for d in view.findChildren(QInputDialog, "passphrase") if d.isVisible()]
        assert ask.textEchoMode() == ask.textEchoMode().Password
        ask.setTextValue(text)
        ask.accept()

    choose_key()
    passphrase("wrong")
    qtbot.waitUntil(lambda: not view.busy and "Not approved" in view.message.text(), timeout=APPROVAL_S * 1000)
    assert "wrong passphrase" in view.message.text() and "\n" not in view.message.text()
    assert view.approve_button.isEnabled()
    with qtbot.waitSignal(view.approved, timeout=APPROVAL_S * 1000) as approved:
        choose_key()  # asked again: the wrong passphrase may have been the wrong file
        passphrase("open sesame")
    assert register.certificate(approved.args[0]).status == "issued"  # type: ignore[union-attr]


def test_the_signatory_rejects_with_a_reason(qtbot, lab: Lab, register: Register) -> None:
    run = completed_run(lab)
    view = review(qtbot, register, "sun", run, lab.key)
    click(qtbot, view.reject_button)
    dialog = view.findChild(ReasonDialog)
    assert dialog is not None and dialog.isVisible()
    ok = [b for b in dialog.findChildren(QPushButton) if b.objectName() == "confirmReject"][0]
    assert not ok.isEnabled()  # no reason, no rejection
    qtbot.keyClicks(dialog.text, "leads were reversed at point 3")
    with qtbot.waitSignal(view.rejected, timeout=APPROVAL_S * 1000) as rejected:
        click(qtbot, ok)
    assert rejected.args == ["leads were reversed at point 3"]
    row = register.run(_run_id(run))
    assert row is not None and row["status"] == "rejected" and row["reason"] == "leads were reversed at point 3"
    assert not view.approve_button.isEnabled()
    assert view.reason_label.text() == "This run was rejected: leads were reversed at point 3"


def _run_id(run: Path) -> str:
    with RunFile(run) as rf:
        return rf.attrs["run_id"]


# -- the certificate ----------------------------------------------------------------------------------------
def test_the_certificate_view_pages_prints_and_verifies(qtbot, lab: Lab, register: Register, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    run = completed_run(lab)
    number = lab.ok("approve", str(run), "--user", "sun", "--key", str(lab.key)).strip()
    pdf, dcc = lab.tmp / f"{number}.pdf", lab.tmp / f"{number}.dcc.xml"
    view = CertificateView(pdf, dcc, "pass", register)
    qtbot.addWidget(view)
    assert_fits(qtbot, view, [view.verdict, view.view, view.print_button, view.save_pdf_button,
                              view.save_dcc_button, view.verify_button, view.open_button, view.next_button])
    n = pages_of(pdf)
    assert n >= 2 and view.page_count == n and view.pages.text() == f"of {n}"
    assert view.verdict.text() == "PASS" and "#2e7d32" in view.verdict.styleSheet()

    # pages
    assert view.page.value() == 1 and not view.previous_button.isEnabled()
    click(qtbot, view.next_button)
    qtbot.waitUntil(lambda: view.page.value() == 2)
    assert view.previous_button.isEnabled()
    click(qtbot, view.zoom_in_button)
    assert view.zoom_label.text().endswith("%")

    # print: the print dialog, printing to a PDF file (the printer there is offscreen)
    click(qtbot, view.print_button)
    dialog = view.findChild(QPrintDialog, "printDialog")
    assert dialog is not None and dialog.isVisible()
    printed = tmp_path / "printed.pdf"
    where = dialog.findChild(QLineEdit, "filename")
    assert where is not None and where.isVisible()
    where.clear()
    qtbot.keyClicks(where, str(printed))
    dialog.accept()
    qtbot.waitUntil(lambda: "sent to the printer" in view.message.text())
    assert printed.is_file() and pages_of(printed) == n
    assert view.message.text() == f"{n} page(s) sent to the printer."

    # verify: the PDF and the DCC against the register
    with qtbot.waitSignal(view.verified, timeout=30_000) as verified:
        click(qtbot, view.verify_button)
    assert verified.args == [True]
    lines = view.message.text().splitlines()
    assert lines[0].startswith(f"{number}.pdf: all holds") and lines[1].startswith(f"{number}.dcc.xml: all holds")
    assert f"signature of certificate {number} valid" in lines[0]

    # copies, byte for byte
    for button, source in ((view.save_pdf_button, pdf), (view.save_dcc_button, dcc)):
        click(qtbot, button)
        [save] = [d for d in view.findChildren(QFileDialog, "saveCopy") if d.isVisible()]
        copy = tmp_path / f"copy-{source.name}"
        save.selectFile(str(copy))
        save.accept()
        qtbot.waitUntil(lambda: not save.isVisible())  # noqa: B023 - waited for here
        assert copy.read_bytes() == source.read_bytes() and str(copy) in view.message.text()

    # no viewer: where the file is
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: False))
    click(qtbot, view.open_button)
    assert "No PDF viewer" in view.message.text() and str(pdf) in view.message.text()
    wait_for_tasks()


def test_the_verdict_stays_in_view_for_a_failing_certificate(qtbot, lab: Lab, register: Register) -> None:
    run = completed_run(lab)
    number = lab.ok("approve", str(run), "--user", "sun", "--key", str(lab.key)).strip()
    view = CertificateView(lab.tmp / f"{number}.pdf", None, "fail", register)
    qtbot.addWidget(view)
    assert_fits(qtbot, view, [view.verdict])
    assert view.verdict.text() == "FAIL" and "#c62828" in view.verdict.styleSheet()
    assert not view.save_dcc_button.isEnabled()
    view.message.setText("x" * 500)  # a long message does not push the verdict away
    view.message.show()
    assert_fits(qtbot, view, [view.verdict, view.view])
