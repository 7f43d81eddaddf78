"""The window in Simplified Chinese: every text the window's code passes to
`tr` has a translation; switching the language re-labels what is on
screen at once; the first start asks the language; Chinese shows, not
boxes, even on a machine whose system has no Chinese font (the
certificates' CJK font is loaded by the application)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from gui import i18n
from gui.translations.zh_CN import CATALOGUE
from tests.gui import test_flow
from tests.gui.test_flow import TECHNICIAN, Station, new_calibration, sign_in

pytestmark = pytest.mark.gui

settings, demo_lab, station = test_flow.settings, test_flow.demo_lab, test_flow.station

ROOT = Path(__file__).resolve().parents[2]
GUI = ROOT / "gui"
MARKERS = ("tr", "tr_later")


def translatable() -> dict[str, str]:
    """Every literal text passed to tr() or tr_later() in gui/*.py, with where it is."""
    found: dict[str, str] = {}
    for path in sorted(GUI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            first = node.args[0]
            if name in MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, f"{path.name}:{node.lineno}")
    return found


def test_every_text_the_window_shows_has_a_chinese_translation() -> None:
    texts = translatable()
    assert len(texts) > 300  # the scan finds the window's texts
    missing = {text: where for text, where in texts.items() if text not in CATALOGUE}
    assert not missing, f"no zh_CN translation for: {missing}"
    empty = [k for k, v in CATALOGUE.items() if not v.strip()]
    assert not empty
    for text in texts:  # the same {placeholders}, or .format() fails in Chinese
        assert sorted(re.findall(r"\{\w*\}", text)) == sorted(re.findall(r"\{\w*\}", CATALOGUE[text])), text
        if "&" in text.replace("&&", "") and not text.startswith("<"):
            assert "&" in CATALOGUE[text], f"{text!r}: its mnemonic is lost in Chinese"


def shown_texts(window: QWidget) -> list[str]:
    """What the visible widgets of the window say (labels, buttons, group titles, lists)."""
    out: list[str] = []
    for w in window.findChildren(QWidget):
        if not w.isVisible():
            continue
        if isinstance(w, QLabel) and w.text():
            out.append(w.text())
        elif isinstance(w, QAbstractButton) and w.text():
            out.append(w.text())
        elif isinstance(w, QGroupBox):
            out.append(w.title())
    return out


def english_left(window: QWidget) -> list[str]:
    """Visible texts still in English where the catalogue has them in Chinese."""
    sources = {k for k, v in CATALOGUE.items() if v != k}
    plain = {re.sub(r"<[^>]+>", "", t).strip() for t in shown_texts(window)}
    return sorted(t for t in plain if t in sources)


def test_switching_the_language_relabels_the_window_at_once(qtbot: Any, station: Station) -> None:
    window = station.window()
    window.begin()
    sign_in(qtbot, window, TECHNICIAN, open_it=False)
    new = new_calibration(qtbot, window)
    assert new.plan is not None
    assert new.start_button.text() == "&Start ▶" and window.go["new"].text() == "&New calibration"
    before = english_left(window)
    assert "Cancel" in before  # the scan sees English

    window.settings_action.trigger()  # Settings: the language, at once
    qtbot.waitUntil(lambda: any(d.isVisible() and d.objectName() == "settings" for d in window.findChildren(QDialog)))
    dialog: Any = next(d for d in window.findChildren(QDialog) if d.objectName() == "settings")
    assert dialog.register.text() == station.register.where  # the register's URL is shown
    combo: QComboBox = dialog.language
    combo.setCurrentIndex(combo.findData("zh"))
    qtbot.waitUntil(lambda: new.start_button.text() == CATALOGUE["&Start ▶"])
    assert i18n.saved_language() == "zh"
    assert window.go["new"].text() == CATALOGUE["&New calibration"]
    assert window.go["new"].iconText() == "新建校准"  # the side bar shows no mnemonic
    assert new.item_box.title() == CATALOGUE["1  Item"]
    header = new.points.horizontalHeaderItem(5)
    assert header is not None and header.text() == CATALOGUE["Planned TUR"]
    assert CATALOGUE["The plan passed: {n} points, every instrument identified, every standard in "
                     "calibration."].format(n=17) in new.plan_status.text()
    assert dialog.windowTitle() == "设置"
    assert english_left(window) == [], english_left(window)
    # the run screen too (not on screen now, re-labelled all the same)
    view = window.run_view
    assert view.abort_button.text() == CATALOGUE["A&bort"]
    assert view.model.headerData(13, Qt.Orientation.Horizontal) == CATALOGUE["Decision"]
    assert view.model.headerData(9, Qt.Orientation.Horizontal) == "U"  # a symbol stays itself

    combo.setCurrentIndex(combo.findData("en"))
    qtbot.waitUntil(lambda: new.start_button.text() == "&Start ▶")
    assert window.go["new"].text() == "&New calibration" and i18n.saved_language() == "en"


def test_the_first_start_asks_the_language(qtbot: Any, station: Station) -> None:
    from PyQt6.QtCore import QSettings

    QSettings().remove("language")
    window = station.window()
    window.begin()
    qtbot.waitUntil(lambda: window.findChild(QPushButton, "language:zh") is not None)
    chinese = window.findChild(QPushButton, "language:zh")
    assert chinese is not None and chinese.isVisible()
    qtbot.mouseClick(chinese, Qt.MouseButton.LeftButton)
    assert i18n.saved_language() == "zh"
    qtbot.waitUntil(lambda: any(d.isVisible() and d.objectName() == "signIn" for d in window.findChildren(QDialog)))
    signin = next(d for d in window.findChildren(QDialog) if d.objectName() == "signIn")
    assert signin.windowTitle() == CATALOGUE["Sign in"]
    qtbot.waitUntil(lambda: window.go["home"].text() == CATALOGUE["&Home"])  # the window too


_GLYPHS = """
from PyQt6.QtGui import QTextLayout
from PyQt6.QtWidgets import QApplication
from gui.app import install_cjk_font

app = QApplication([])

def shown(text):
    layout = QTextLayout(text, app.font())
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    glyphs = [g for run in layout.glyphRuns() for g in run.glyphIndexes()]
    return len(glyphs) == len(text) and all(glyphs)  # glyph 0: the box of a missing character

before = shown("校准证书")
families = install_cjk_font(app)
print(before, shown("校准证书"), bool(families) and families[0] in app.font().families())
"""


def test_chinese_shows_on_a_machine_without_chinese_system_fonts(tmp_path: Path) -> None:
    """The system's font configuration knows only DejaVu (no Chinese): before
    the application loads the certificates' CJK font, Chinese would be
    boxes; after, every character has its glyph."""
    from station.certificates.fonts import FontError, cjk_font

    try:
        cjk = cjk_font()
    except FontError:
        pytest.skip("no CJK font on this machine (make sysdeps installs fonts-wqy-microhei)")
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.is_dir() or sys.platform != "linux":
        pytest.skip("needs fontconfig and the DejaVu fonts")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{dejavu}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>""", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FONTCONFIG_FILE": str(conf)}
    done = subprocess.run([sys.executable, "-c", _GLYPHS], capture_output=True, text=True, timeout=60, env=env,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"], (done.stdout, cjk.path)


def test_a_text_without_a_translation_shows_in_english_not_blank(qtbot: object) -> None:
    from gui import i18n

    i18n.install("zh")
    try:
        assert i18n.tr("Sign in") == "登录"
        assert i18n.tr("a sentence no catalogue has") == "a sentence no catalogue has"
    finally:
        i18n.install("en")
