"""The register's views, used as people at the station use them: sign in
(and switch the language), the home view, the register's tabs and a DUT's
history. The lab is set up through the CLI (tests/register/lab.py); runs are
made on the simulated bench with ``calstation run ... --db`` in process,
which enters them in the register as awaiting approval."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PyQt6.QtCore import QPoint, QRect, QSettings, Qt
from PyQt6.QtWidgets import QPushButton, QTableWidget, QWidget

from gui import i18n
from gui.home import HomeView
from gui.register_views import STANDING_COLOURS, RegisterView
from gui.signin import SignInDialog
from station.register import Register
from station.runfile.reader import RunFile
from tests.register.lab import TODAY, Lab

pytestmark = pytest.mark.gui

#: What a view gets of a 1366x768 screen: the window's title bar, the
#: window's own toolbar and status bar, and the desktop's panel take the rest.
VIEW = (1366, 680)


# -- set-up shared with test_review.py ----------------------------------------------------------
def station_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Nothing a test does touches the user's own settings, register or keys;
    the window is in English again afterwards (the body of a fixture)."""
    folder = tmp_path_factory.mktemp("settings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.delenv("CALSTATION_DB", raising=False)
    monkeypatch.delenv("CALSTATION_KEY_PASSPHRASE", raising=False)
    QSettings().remove("language")
    yield folder
    i18n.install("en")
    QSettings().remove("language")


def new_lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Lab:
    """Users ada (administrator), li (technician), sun (signatory, key
    ``lab.key``), customer ACME, DUT-1 and the simulated bench's standards."""
    return Lab(f"sqlite:///{tmp_path / 'register.sqlite'}", tmp_path, capsys).set_up()


@pytest.fixture
def station_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from station_environment(tmp_path_factory, monkeypatch)


@pytest.fixture
def lab(station_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Lab:
    return new_lab(tmp_path, capsys)


@pytest.fixture
def register(lab: Lab) -> Iterator[Register]:
    with Register.open(lab.db) as reg:
        yield reg


def completed_run(lab: Lab, name: str = "run.h5", user: str = "li") -> Path:
    code, path = lab.run(name, user=user)
    assert code == 0, lab.last_err
    return path


def click(qtbot, button: QPushButton) -> None:
    assert button.isVisible() and button.isEnabled(), f"{button.text()!r} is hidden or disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def column(t: QTableWidget, c: int) -> list[str]:
    return [t.item(r, c).text() for r in range(t.rowCount())]  # type: ignore[union-attr]


def assert_fits(qtbot, view: QWidget, important: Sequence[QWidget], size: tuple[int, int] = VIEW) -> None:
    """At ``size``, the view is no bigger than the screen allows and every
    important widget is shown whole: inside the view, not clipped by what
    holds it, not covered, not squeezed flat; a button not squeezed below
    its text."""
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(20)
    assert view.width() <= size[0] and view.height() <= size[1], (view.size(), view.minimumSizeHint())
    for w in important:
        name = w.objectName() or type(w).__name__
        assert w.isVisible(), f"{name} is not visible"
        rect = QRect(w.mapTo(view, QPoint(0, 0)), w.size())
        assert view.rect().contains(rect), f"{name} at {rect} is outside the view {view.rect()}"
        shown = QRect(rect)
        parent = w.parentWidget()
        while parent is not None and parent is not view:  # each container clips what it holds
            shown = shown.intersected(QRect(parent.mapTo(view, QPoint(0, 0)), parent.size()))
            parent = parent.parentWidget()
        assert shown == rect, f"{name} at {rect} is clipped to {shown}"
        assert not w.visibleRegion().isEmpty(), f"{name} is covered"
        assert w.height() >= min(w.minimumSizeHint().height(), 24), f"{name} is squeezed to {w.height()} px"
        if isinstance(w, QPushButton):
            assert w.width() >= w.sizeHint().width() - 2, f"{name} ({w.text()!r}) is squeezed"


# -- sign in ---------------------------------------------------------------------------------------
def test_sign_in_refuses_an_unknown_name_and_signs_in_a_known_one(qtbot, register: Register) -> None:
    dialog = SignInDialog(register)
    qtbot.addWidget(dialog)
    assert_fits(qtbot, dialog, [dialog.name, dialog.language, dialog.sign_in], size=(dialog.sizeHint().width(),
                                                                                     dialog.sizeHint().height()))
    # the register's active users are offered
    assert [dialog.name.itemText(i) for i in range(dialog.name.count())] == ["ada", "li", "sun"]
    qtbot.keyClicks(dialog.name.lineEdit(), "nobody")
    click(qtbot, dialog.sign_in)
    assert dialog.isVisible() and dialog.user is None
    assert dialog.message.isVisible() and "nobody" in dialog.message.text()
    assert "calstation register user add nobody" in dialog.message.text()

    dialog.name.lineEdit().clear()  # type: ignore[union-attr]
    qtbot.keyClicks(dialog.name.lineEdit(), "sun")
    assert not dialog.message.isVisible()  # changing the name clears the refusal
    assert dialog.role.text() == "signatory (Sun Qian (孙倩))"
    qtbot.keyClick(dialog.name.lineEdit(), Qt.Key.Key_Return)  # Sign in is the default button
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.user is not None and dialog.user.name == "sun" and dialog.user.role == "signatory"


def test_the_language_switches_live_and_is_remembered(qtbot, register: Register) -> None:
    dialog = SignInDialog(register)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.name.lineEdit(), "li")
    assert dialog.sign_in.text() == "&Sign in" and dialog.role.text().startswith("technician")
    qtbot.keyClicks(dialog.name.lineEdit(), "x")  # "lix": no such user
    click(qtbot, dialog.sign_in)
    assert "lix" in dialog.message.text() and "an administrator adds you" in dialog.message.text()

    dialog.language.setFocus()
    qtbot.keyClick(dialog.language, Qt.Key.Key_Down)  # English -> 简体中文
    qtbot.waitUntil(lambda: dialog.sign_in.text() == "登录(&S)")
    assert dialog.windowTitle() == "登录" and dialog.language.currentText() == "简体中文"
    assert dialog.message.text().startswith("登记库中没有用户“lix”")  # the refusal, in the new language
    assert QSettings().value("language") == "zh"
    dialog.name.lineEdit().clear()  # type: ignore[union-attr]
    qtbot.keyClicks(dialog.name.lineEdit(), "li")
    assert dialog.role.text().startswith("技术员")
    popup = dialog.name.completer().popup()  # type: ignore[union-attr]
    if popup.isVisible():  # type: ignore[union-attr]  # the completer offers "li": done with it
        qtbot.keyClick(popup, Qt.Key.Key_Escape)

    # the next start comes up in Chinese (the application installs the saved language)
    i18n.install("en")
    i18n.install(i18n.saved_language() or "en")
    again = SignInDialog(register)
    qtbot.addWidget(again)
    assert again.language.currentText() == "简体中文" and again.sign_in.text() == "登录(&S)"

    qtbot.keyClick(dialog.language, Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: dialog.sign_in.text() == "&Sign in")
    assert QSettings().value("language") == "en" and dialog.role.text().startswith("technician")


def test_an_empty_register_says_how_to_add_the_first_administrator(qtbot, station_env: Path,
                                                                   tmp_path: Path) -> None:
    with Register.open(f"sqlite:///{tmp_path / 'empty.sqlite'}") as reg:
        dialog = SignInDialog(reg)
        qtbot.addWidget(dialog)
        dialog.show()
        assert not dialog.sign_in.isEnabled()
        assert dialog.message.isVisible()
        assert "calstation register user add NAME --role administrator --full-name" in dialog.message.text()


# -- home --------------------------------------------------------------------------------------------
def test_home_lists_the_standards_due_and_the_runs_awaiting_approval(qtbot, lab: Lab, register: Register) -> None:
    lab.ok("register", "add", "standard", "OLD-8508A", "--manufacturer", "Fluke", "--model", "8508A",
           "--serial", "S-OLD", "--user", "li")
    lab.calibrate("OLD-8508A", TODAY - dt.timedelta(days=400), TODAY - dt.timedelta(days=35), "OLD-1")
    lab.calibrate("SIM-AMB-1620A", TODAY - dt.timedelta(days=5), TODAY + dt.timedelta(days=12), "AMB-2")
    first = completed_run(lab, "first.h5")
    second = completed_run(lab, "second.h5")
    number = lab.ok("approve", str(second), "--user", "sun", "--key", str(lab.key)).strip()

    home = HomeView(register, register.user("li"), lab.tmp)
    qtbot.addWidget(home)
    assert_fits(qtbot, home, [home.new_button, home.register_button, home.awaiting, home.review_button, home.due,
                              home.running, home.resume_button, home.recent, home.open_button])
    qtbot.waitUntil(lambda: home.scanned)

    # standards: the overdue and the due soon, not the one in calibration
    assert column(home.due, 0) == ["OLD-8508A", "SIM-AMB-1620A"]
    standing = column(home.due, 4)
    assert standing[0] == f"overdue since {TODAY - dt.timedelta(days=35)}"
    assert standing[1] == f"due soon ({TODAY + dt.timedelta(days=12)})"
    assert home.due.item(0, 4).background().color().name() == STANDING_COLOURS["overdue"][0]  # type: ignore[union-attr]
    assert "(2)" in home.due_box.title()

    # the run awaiting approval, not the approved one
    assert home.awaiting.rowCount() == 1
    assert [home.awaiting.item(0, c).text() for c in (2, 3, 4, 5)] == [  # type: ignore[union-attr]
        "DUT-1", register.customer("ACME").name, "Li Lei (李雷)", "PASS"]  # type: ignore[union-attr]
    with qtbot.waitSignal(home.reviewRun) as reviewed:
        click(qtbot, home.review_button)
    assert reviewed.args == [first]

    # the certificate issued, opened from the list
    assert column(home.recent, 0) == [number]
    with qtbot.waitSignal(home.openCertificate) as opened:
        click(qtbot, home.open_button)
    assert opened.args == [lab.tmp / f"{number}.pdf"]

    # nothing is left running in the runs folder
    assert home.running.rowCount() == 0 and not home.resume_button.isEnabled()
    with qtbot.waitSignal(home.newCalibration):
        click(qtbot, home.new_button)
    with qtbot.waitSignal(home.openRegister):
        click(qtbot, home.register_button)

    # refresh: once approved, the run no longer awaits
    lab.ok("approve", str(first), "--user", "sun", "--key", str(lab.key))
    home.refresh()
    assert home.awaiting.rowCount() == 0 and not home.review_button.isEnabled()
    assert home.recent.rowCount() == 2


@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
def test_home_offers_to_resume_a_run_left_running(qtbot, lab: Lab, register: Register,
                                                 calstation_cmd: list[str]) -> None:
    from tests.station.test_cli import LONG, _wait_for_points

    path = lab.tmp / "long.h5"
    run = subprocess.Popen(calstation_cmd + ["run", LONG, "--simulated", "--yes", "--readings", "2", "--out",
                                             str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_points(path, 5, run)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    with RunFile(path) as rf:
        assert rf.status == "running"
        title = rf.procedure["title"]
    home = HomeView(register, register.user("li"), lab.tmp)
    qtbot.addWidget(home)
    home.show()
    qtbot.waitUntil(lambda: home.scanned)
    assert column(home.running, 3) == ["long.h5"] and column(home.running, 1) == [title]
    with qtbot.waitSignal(home.resumeRun) as resumed:
        click(qtbot, home.resume_button)
    assert resumed.args == [path]


# -- the register ------------------------------------------------------------------------------------
def test_the_register_lists_standards_with_their_standing(qtbot, lab: Lab, register: Register) -> None:
    lab.ok("register", "add", "standard", "NEW-3458A", "--manufacturer", "Keysight", "--model", "3458A",
           "--serial", "S-NEW", "--user", "li")
    lab.ok("register", "add", "standard", "OLD-8508A", "--manufacturer", "Fluke", "--model", "8508A",
           "--serial", "S-OLD", "--user", "li")
    lab.calibrate("OLD-8508A", TODAY - dt.timedelta(days=400), TODAY - dt.timedelta(days=35), "OLD-1")
    lab.ok("register", "retire", "OLD-8508A", "--reason", "worn out", "--user", "sun")
    run = completed_run(lab)
    number = lab.ok("approve", str(run), "--user", "sun", "--key", str(lab.key)).strip()

    view = RegisterView(register, register.user("li"))
    qtbot.addWidget(view)
    assert_fits(qtbot, view, [view.tabs, view.standards, view.refresh_button])
    standing = dict(zip(column(view.standards, 0), column(view.standards, 6), strict=True))
    assert standing == {"NEW-3458A": "no calibration record", "OLD-8508A": "retired",
                        "SIM-AMB-1620A": "in calibration", "SIM-STD-5522A": "in calibration"}
    latest = dict(zip(column(view.standards, 0), column(view.standards, 4), strict=True))
    assert latest["SIM-STD-5522A"] == register.latest_calibration("SIM-STD-5522A").certificate  # type: ignore[union-attr]
    colours = {view.standards.item(r, 0).text(): view.standards.item(r, 6).background().color().name()  # type: ignore[union-attr]
               for r in range(view.standards.rowCount())}
    assert colours["NEW-3458A"] == STANDING_COLOURS["no record"][0]
    assert colours["SIM-STD-5522A"] == STANDING_COLOURS["in calibration"][0]

    assert column(view.duts, 0) == ["DUT-1"] and column(view.duts, 6) == ["1"]
    assert column(view.customers, 0) == ["ACME"]
    view.tabs.setCurrentIndex(3)
    assert column(view.certificates, 0) == [number]
    assert [view.certificates.item(0, c).text() for c in (2, 3, 4, 5)] == [  # type: ignore[union-attr]
        "Sun Qian (孙倩)", "DUT-1", register.customer("ACME").name, "issued"]  # type: ignore[union-attr]
    view.certificates.selectRow(0)
    with qtbot.waitSignal(view.openCertificate) as opened:
        click(qtbot, view.open_button)
    assert opened.args == [lab.tmp / f"{number}.pdf"]


def test_a_dut_history_plots_each_point_of_each_calibration(qtbot, lab: Lab, register: Register) -> None:
    runs = [completed_run(lab, f"run{i}.h5") for i in range(2)]
    lab.ok("approve", str(runs[0]), "--user", "sun", "--key", str(lab.key))
    recorded = []
    for r in runs:
        with RunFile(r) as rf:
            recorded.append(rf.points)

    view = RegisterView(register, register.user("sun"))
    qtbot.addWidget(view)
    view.show()
    view.tabs.setCurrentIndex(4)  # DUT history
    assert_fits(qtbot, view, [view.dut_choice, view.history_table, view.plot, view.plot.chooser])
    assert view.dut_choice.currentData() == "DUT-1"
    assert view.history_table.rowCount() == 2
    assert column(view.history_table, 4) == ["approved", "awaiting approval"]
    assert column(view.history_table, 6) == [str(len(p)) for p in recorded]

    # all points, in % of tolerance: one line per point, one marker per calibration
    n_points = len(recorded[0])
    assert view.plot.chooser.count() == 1 + n_points
    assert view.plot.points_drawn() == sum(len(p) for p in recorded) == 2 * n_points

    # one point in its unit: its two calibrations, the errors the run files hold
    view.plot.chooser.setCurrentIndex(9)  # the 9th point
    assert view.plot.points_drawn() == 2
    [line] = [d for d in view.plot.widget.getPlotItem().listDataItems() if d.name() == view.plot.chooser.currentText()]
    assert list(line.yData) == pytest.approx([p[8].error for p in recorded])


# -- languages -----------------------------------------------------------------------------------------
VIEWS = ("signin.py", "home.py", "register_views.py", "review.py", "preview.py")


def test_every_text_of_these_views_has_a_chinese_translation() -> None:
    """Every ``tr("...")`` of these views is in the Chinese catalogue, with
    the same ``{placeholders}``, and every ``tr`` is given its text as it is
    (a text made first could not be looked up)."""
    import ast
    import string

    from gui.translations.zh_CN import CATALOGUE

    root = Path(__file__).resolve().parents[2] / "gui"
    fields = string.Formatter()
    texts = 0
    for name in VIEWS:
        for node in ast.walk(ast.parse((root / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tr":
                [arg] = node.args
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), \
                    f"gui/{name}:{node.lineno}: tr() of a text made at run time"
                text = arg.value
                assert text in CATALOGUE, f"gui/{name}:{node.lineno}: no translation of {text!r}"
                wanted = {f for _, f, _, _ in fields.parse(text) if f}
                assert {f for _, f, _, _ in fields.parse(CATALOGUE[text]) if f} == wanted, text
                texts += 1
    assert texts > 150


def test_the_history_dates_read_the_same_in_every_language(qtbot: object) -> None:
    """The DUT history's date axis prints ISO dates, not English day names."""
    import datetime as _dt

    from gui import i18n
    from gui.register_views import _DateAxis

    noon = _dt.datetime(2026, 11, 27, 12, 0)
    i18n.install("zh")
    try:
        axis = _DateAxis()
        assert axis.tickStrings([noon.timestamp()], 1.0, 2 * 86400) == ["2026-11-27"]
        assert axis.tickStrings([noon.timestamp()], 1.0, 3600) == ["11-27 12:00"]
    finally:
        i18n.install("en")
