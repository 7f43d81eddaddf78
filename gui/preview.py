"""A certificate inside the window: the PDF (Qt PDF), page by page, zoom,
print, save copies of the PDF and the DCC, verify against the register,
and the verdict always in view.

The verdict is a label of its own above the page, in colour (PASS green,
FAIL red, CONDITIONAL PASS amber); nothing is ever laid over it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QPointF, QRect, QSize, QSizeF, Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QDesktopServices, QKeySequence, QPageLayout, QPageSize, QPainter, QShortcut
from PyQt6.QtPdf import QPdfDocument
from PyQt6.QtPdfWidgets import QPdfView
from PyQt6.QtPrintSupport import QPrintDialog, QPrinter
from PyQt6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import tr
from gui.jobs import Task
from gui.register_views import VERDICT_COLOURS, verdict_kind, verdict_text, wrapping
from station.register.core import Register

#: Pages are printed as images of at most this resolution (dots per inch).
PRINT_DPI = 300
ZOOM_STEP = 1.25
ZOOM_MIN, ZOOM_MAX = 0.25, 4.0


def verify_files(files: list[Path], register: Register | None) -> list[tuple[bool, str, str]]:
    """Each file checked (`station.register.verify.verify_file`): (holds,
    file name, what holds or what fails)."""
    from station.register.verify import verify_file

    out = []
    for f in files:
        rep = verify_file(f, register)
        out.append((rep.ok, f.name, "; ".join(rep.holds if rep.ok else rep.fails)))
    return out


def verification_line(holds: bool, name: str, what: str) -> str:
    if holds:
        return tr("{file}: all holds: {what}").format(file=name, what=what)
    return tr("{file}: FAILS: {why}").format(file=name, why=what)


class CertificateView(QWidget):
    """The certificate ``pdf`` (with its DCC ``dcc``, if any) and the run's
    ``verdict`` ("pass", "fail", "conditional pass"). ``register``: what
    Verify checks against (None: the signature only, against no register).
    ``verified(ok)`` when a verification ends."""

    verified = pyqtSignal(bool)

    def __init__(self, pdf: Path, dcc: Path | None, verdict: str, register: Register | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("certificateView")
        self.pdf = Path(pdf)
        self.dcc = Path(dcc) if dcc is not None else None
        self.verdict_value = verdict
        self.register = register
        self._message: Callable[[], str] | None = None
        self._error = False
        self._verify: Task | None = None
        self.verification: list[tuple[bool, str, str]] = []  # (holds, file name, what)

        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setObjectName("pdfView")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        navigator = self.view.pageNavigator()
        assert navigator is not None
        self.navigator = navigator
        self.navigator.currentPageChanged.connect(self._page_changed)

        self.verdict = QLabel()
        self.verdict.setObjectName("verdict")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = wrapping(QLabel())
        self.title.setObjectName("certificateTitle")
        self.title.setStyleSheet("QLabel { font-weight: bold; }")

        self.previous_button = QPushButton()
        self.next_button = QPushButton()
        self.page = QSpinBox()
        self.page.setObjectName("page")
        self.page.setMinimum(1)
        self.page_label = QLabel()
        self.page_label.setBuddy(self.page)
        self.pages = QLabel()
        self.pages.setObjectName("pageCount")
        self.zoom_out_button = QPushButton("−")
        self.zoom_in_button = QPushButton("+")
        self.fit_button = QPushButton()
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("zoom")
        self.zoom_label.setMinimumWidth(60)
        for b in (self.previous_button, self.next_button, self.zoom_out_button, self.zoom_in_button):
            b.setAutoRepeat(True)
        for b in (self.zoom_out_button, self.zoom_in_button):
            b.setFixedWidth(36)
        self.previous_button.clicked.connect(lambda: self.go_to(self.current_page() - 1))
        self.next_button.clicked.connect(lambda: self.go_to(self.current_page() + 1))
        self.page.valueChanged.connect(lambda v: self.go_to(v - 1) if v - 1 != self.current_page() else None)
        self.zoom_in_button.clicked.connect(lambda: self.zoom(ZOOM_STEP))
        self.zoom_out_button.clicked.connect(lambda: self.zoom(1 / ZOOM_STEP))
        self.fit_button.clicked.connect(self.fit_width)
        QShortcut(QKeySequence(QKeySequence.StandardKey.ZoomIn), self, lambda: self.zoom(ZOOM_STEP))
        QShortcut(QKeySequence(QKeySequence.StandardKey.ZoomOut), self, lambda: self.zoom(1 / ZOOM_STEP))
        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, lambda: self.go_to(self.current_page() + 1))
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, lambda: self.go_to(self.current_page() - 1))

        self.print_button = QPushButton()
        self.print_button.setObjectName("print")
        self.save_pdf_button = QPushButton()
        self.save_pdf_button.setObjectName("savePdf")
        self.save_dcc_button = QPushButton()
        self.save_dcc_button.setObjectName("saveDcc")
        self.save_dcc_button.setEnabled(self.dcc is not None)
        self.verify_button = QPushButton()
        self.verify_button.setObjectName("verify")
        self.open_button = QPushButton()
        self.open_button.setObjectName("openExternally")
        self.print_button.clicked.connect(self.print_)
        self.save_pdf_button.clicked.connect(lambda: self._save_dialog(self.pdf, tr("PDF (*.pdf)")))
        self.save_dcc_button.clicked.connect(
            lambda: self._save_dialog(self.dcc, tr("Digital calibration certificate (*.xml)")) if self.dcc else None)
        self.verify_button.clicked.connect(self.verify)
        self.open_button.clicked.connect(self.open_externally)

        self.message = wrapping(QLabel())
        self.message.setObjectName("message")
        self.message.hide()

        top = QHBoxLayout()
        top.addWidget(self.title, stretch=1)
        top.addWidget(self.verdict)
        nav = QHBoxLayout()
        for w in (self.previous_button, self.page_label, self.page, self.pages, self.next_button):
            nav.addWidget(w)
        nav.addSpacing(16)
        for w in (self.zoom_out_button, self.zoom_label, self.zoom_in_button, self.fit_button):
            nav.addWidget(w)
        nav.addStretch(1)
        for w in (self.verify_button, self.print_button, self.save_pdf_button, self.save_dcc_button,
                  self.open_button):
            nav.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(nav)
        layout.addWidget(self.message)
        layout.addWidget(self.view, stretch=1)

        self.document.load(str(self.pdf))
        self._built = True
        self.retranslate()
        self._page_changed(0)
        if self.document.status() != QPdfDocument.Status.Ready:
            self._say(lambda: tr("{file} cannot be shown: it is missing or not a readable PDF.").format(
                file=self.pdf), error=True)

    # -- text -------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.title.setText(tr("Certificate {name}").format(name=self.pdf.stem))
        kind = verdict_kind(self.verdict_value)
        bg, fg = VERDICT_COLOURS.get(kind, ("#eceff1", "#263238"))
        self.verdict.setText(verdict_text(self.verdict_value))
        self.verdict.setStyleSheet(f"QLabel {{ background: {bg}; color: {fg}; font-weight: bold; "
                                   "font-size: 14pt; padding: 6px 18px; border-radius: 4px; }")
        self.previous_button.setText(tr("◀ P&revious"))
        self.next_button.setText(tr("&Next ▶"))
        self.page_label.setText(tr("Pa&ge"))
        self.fit_button.setText(tr("Fit &width"))
        self.print_button.setText(tr("&Print…"))
        self.save_pdf_button.setText(tr("&Save PDF…"))
        self.save_dcc_button.setText(tr("Save &DCC…"))
        self.verify_button.setText(tr("&Verify"))
        self.open_button.setText(tr("Open in system &viewer"))
        self.zoom_out_button.setToolTip(tr("Zoom out"))
        self.zoom_in_button.setToolTip(tr("Zoom in"))
        self._page_changed(self.current_page())
        self._say(self._message, self._error)

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def _say(self, message: Callable[[], str] | None, error: bool = False) -> None:
        self._message, self._error = message, error
        text = message() if message is not None else ""
        self.message.setText(text)
        self.message.setStyleSheet("QLabel { color: #c62828; }" if error else "QLabel { color: #1b5e20; }")
        self.message.setVisible(bool(text))

    # -- pages and zoom ------------------------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return int(self.document.pageCount())

    def current_page(self) -> int:
        return int(self.navigator.currentPage())

    def go_to(self, page: int) -> None:
        """Show page ``page`` (from 0)."""
        if 0 <= page < self.page_count:
            self.navigator.jump(page, QPointF(), self.navigator.currentZoom())

    def _page_changed(self, page: int) -> None:
        n = self.page_count
        self.page.blockSignals(True)
        self.page.setMaximum(max(1, n))
        self.page.setValue(page + 1)
        self.page.blockSignals(False)
        self.pages.setText(tr("of {n}").format(n=n))
        self.previous_button.setEnabled(page > 0)
        self.next_button.setEnabled(page < n - 1)
        self._zoom_text()

    def zoom(self, factor: float) -> None:
        current = self.view.zoomFactor() if self.view.zoomMode() == QPdfView.ZoomMode.Custom else \
            self._effective_zoom()
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(min(ZOOM_MAX, max(ZOOM_MIN, current * factor)))
        self._zoom_text()

    def fit_width(self) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self._zoom_text()

    def _effective_zoom(self) -> float:
        """The zoom that fitting the width gives (100 %: the page at 72 points per inch)."""
        if not self.page_count:
            return 1.0
        width = self.document.pagePointSize(max(0, self.current_page())).width()
        dpi = self.logicalDpiX() / 72.0
        margins = self.view.documentMargins()
        room = self.view.viewport().width() - margins.left() - margins.right()  # type: ignore[union-attr]
        return max(ZOOM_MIN, room / (width * dpi)) if width > 0 else 1.0

    def _zoom_text(self) -> None:
        if self.view.zoomMode() == QPdfView.ZoomMode.Custom:
            self.zoom_label.setText(f"{self.view.zoomFactor() * 100:.0f} %")
        else:
            self.zoom_label.setText(tr("fit"))

    # -- print ---------------------------------------------------------------------------------------------
    def print_(self) -> None:
        """Print through the system's print dialog."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        self.prepare_printer(printer)
        dialog = QPrintDialog(printer, self)
        dialog.setObjectName("printDialog")
        dialog.setMinMax(1, max(1, self.page_count))
        dialog.accepted.connect(lambda: self.print_to(printer))
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def prepare_printer(self, printer: QPrinter) -> None:
        """The paper of the certificate's first page, the whole page (the PDF has its own margins)."""
        if self.page_count:
            size = self.document.pagePointSize(0)
            printer.setPageSize(QPageSize(size, QPageSize.Unit.Point))
            printer.setPageOrientation(QPageLayout.Orientation.Landscape if size.width() > size.height()
                                       else QPageLayout.Orientation.Portrait)
        printer.setFullPage(True)
        printer.setDocName(self.pdf.name)

    def print_to(self, printer: QPrinter) -> bool:
        """Print every page (or the range chosen in the dialog) on ``printer``,
        each scaled to fit the paper. True when every page was printed."""
        n = self.page_count
        if not n:
            self._say(lambda: tr("Nothing to print: the PDF could not be read."), error=True)
            return False
        first, last = printer.fromPage(), printer.toPage()
        pages = range(first - 1, last) if first > 0 and last >= first else range(n)
        pages = range(max(0, pages.start), min(n, pages.stop))
        painter = QPainter()
        if not painter.begin(printer):
            self._say(lambda: tr("The printer could not be started."), error=True)
            return False
        try:
            dpi = min(printer.resolution(), PRINT_DPI)
            for i, page in enumerate(pages):
                if i and not printer.newPage():
                    self._say(lambda: tr("The printer refused a new page."), error=True)
                    return False
                points: QSizeF = self.document.pagePointSize(page)
                image = self.document.render(page, QSize(round(points.width() * dpi / 72),
                                                         round(points.height() * dpi / 72)))
                target = painter.viewport()
                scale = min(target.width() / image.width(), target.height() / image.height())
                w, h = round(image.width() * scale), round(image.height() * scale)
                painter.drawImage(QRect(target.x() + (target.width() - w) // 2,
                                        target.y() + (target.height() - h) // 2, w, h), image)
        finally:
            painter.end()
        count = len(pages)
        self._say(lambda: tr("{n} page(s) sent to the printer.").format(n=count))
        return True

    # -- save, open, verify ------------------------------------------------------------------------------
    def _save_dialog(self, source: Path | None, kind: str) -> None:
        if source is None:
            return
        dialog = QFileDialog(self, tr("Save a copy of {file}").format(file=source.name),
                             str(Path.home() / source.name), kind)
        dialog.setObjectName("saveCopy")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.selectFile(str(Path.home() / source.name))
        dialog.fileSelected.connect(lambda target: self.save_copy(source, Path(target)))
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def save_copy(self, source: Path, target: Path) -> bool:
        """Copy ``source`` to ``target``, byte for byte (a signed document
        must not change)."""
        if target.resolve() == source.resolve():
            return True
        try:
            shutil.copyfile(source, target)
        except OSError as e:
            why = e.strerror or str(e)
            self._say(lambda: tr("{file} was not saved: {why}").format(file=target, why=why), error=True)
            return False
        self._say(lambda: tr("Saved a copy as {file}").format(file=target))
        return True

    def open_externally(self) -> bool:
        """The PDF in the system's viewer, where there is one."""
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.pdf))):
            self._say(None)
            return True
        self._say(lambda: tr("No PDF viewer is installed (or none would start); the file is {file}").format(
            file=self.pdf), error=True)
        return False

    def verify(self) -> None:
        """Check the PDF and the DCC: signature, register entry, run file hash."""
        if self._verify is not None and not self._verify.finished:
            return
        files = [self.pdf] + ([self.dcc] if self.dcc is not None else [])
        register = self.register
        self.verify_button.setEnabled(False)
        self._say(lambda: tr("Verifying…"))
        self._verify = Task(lambda: verify_files(files, register))
        self._verify.done.connect(self._verified)
        self._verify.failed.connect(self._verify_failed)
        self._verify.start()

    def _verified(self, lines: Any) -> None:
        self.verification = list(lines)
        ok = all(holds for holds, _, _ in self.verification)
        self._say(lambda: "\n".join(verification_line(*v) for v in self.verification), error=not ok)
        self.verify_button.setEnabled(True)
        self.verified.emit(ok)

    def _verify_failed(self, message: str) -> None:
        self.verification = [(False, "", message)]
        self._say(lambda: tr("Verification could not run: {why}").format(why=message), error=True)
        self.verify_button.setEnabled(True)
        self.verified.emit(False)
