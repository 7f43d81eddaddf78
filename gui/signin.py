"""Sign in: who is at the station, and the window's language.

The register's users are attribution, not authentication: the person at
the station says who they are by name, and that name goes into the run
file and the register's audit trail. The operating system's login is the
authentication (docs/gui.md, "Sign in"); there is no password here.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QEvent, Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui import i18n
from gui.i18n import tr
from station.errors import CalstationError
from station.register.core import Register, User

FIRST_ADMINISTRATOR = "calstation register user add NAME --role administrator --full-name \"FULL NAME\""


def role_name(role: str) -> str:
    """A register role, in the window's language."""
    return {"technician": tr("technician"), "signatory": tr("signatory"),
            "administrator": tr("administrator")}.get(role, role)


def current_language() -> str:
    """The language the window speaks now ("en" or "zh"), as `gui.i18n.install` left it."""
    return "zh" if tr("Sign in") != "Sign in" else "en"


class SignInDialog(QDialog):
    """Pick or type your user name; choose the language. After ``exec()``
    returns Accepted, `user` is the signed-in user (active, in the register).

    The language offered is the one the window speaks (the application
    installs the saved one at start: ``gui.i18n.install(gui.i18n.saved_language()
    or "en")``); choosing another switches every window at once and saves it.

    An unknown or deactivated name is refused with one line in the dialog;
    an empty register says how the first administrator is added."""

    def __init__(self, register: Register, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signIn")
        self.register = register
        self.user: User | None = None
        self._message: Callable[[], str] | None = None  # the message shown, in the current language
        self._users = {u.name: u for u in register.users()}
        self._active = [u.name for u in self._users.values() if u.active]
        language = current_language()

        self.name = QComboBox()
        self.name.setObjectName("userName")
        self.name.setEditable(True)
        self.name.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.name.addItems(self._active)
        self.name.setCurrentIndex(-1)
        self.name.setMinimumWidth(260)
        completer = QCompleter(self._active, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.name.setCompleter(completer)
        self.name.currentTextChanged.connect(self._show_role)

        self.role = QLabel()
        self.role.setObjectName("role")
        self.language = QComboBox()
        self.language.setObjectName("language")
        for code, label in i18n.LANGUAGES.items():
            self.language.addItem(label, code)
        self.language.setCurrentIndex(max(0, self.language.findData(language)))
        self.language.currentIndexChanged.connect(self._language_chosen)

        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("QLabel { color: #c62828; }")
        self.message.hide()

        # Buttons of our own: a standard button's text is reset by Qt when the language changes.
        self.buttons = QDialogButtonBox()
        self.sign_in = QPushButton()
        self.cancel = QPushButton()
        self.buttons.addButton(self.sign_in, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel, QDialogButtonBox.ButtonRole.RejectRole)
        self.sign_in.setObjectName("signInButton")
        self.sign_in.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        self.name_label = QLabel()
        self.name_label.setBuddy(self.name)
        self.language_label = QLabel()
        self.language_label.setBuddy(self.language)
        self.role_label = QLabel()
        self.where = QLabel()
        self.where.setObjectName("where")
        self.where.setWordWrap(True)
        self.where.setStyleSheet("QLabel { color: #546e7a; }")
        form = QFormLayout()
        form.addRow(self.name_label, self.name)
        form.addRow(self.role_label, self.role)
        form.addRow(self.language_label, self.language)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.where)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.name.setFocus()
        self._built = True
        self.retranslate()

    # -- text ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.setWindowTitle(tr("Sign in"))
        self.name_label.setText(tr("&User"))
        self.role_label.setText(tr("Role"))
        self.language_label.setText(tr("&Language"))
        self.sign_in.setText(tr("&Sign in"))
        self.cancel.setText(tr("Cancel"))
        self.where.setText(tr("Register: {where}").format(where=self.register.where))
        if self.name.lineEdit() is not None:
            self.name.lineEdit().setPlaceholderText(tr("your user name"))  # type: ignore[union-attr]
        self._role_text()
        if not self._users:
            self.sign_in.setEnabled(False)
            self._say(lambda: tr("The register has no users yet. An administrator adds the first one "
                                 "in a terminal: {command}").format(command=FIRST_ADMINISTRATOR))
        else:
            self._say(self._message)

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def _say(self, message: Callable[[], str] | None) -> None:
        """Show one line (made again in the new language when it changes); None: none."""
        self._message = message
        text = message() if message is not None else ""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _role_text(self) -> None:
        u = self._users.get(self.name.currentText().strip())
        self.role.setText(f"{role_name(u.role)} ({u.full_name})" if u is not None and u.active else "")

    def _show_role(self, name: str) -> None:
        self._role_text()
        if self._users:
            self._say(None)

    def _language_chosen(self, index: int) -> None:
        code = str(self.language.itemData(index))
        i18n.install(code)  # every widget gets a LanguageChange event
        i18n.save_language(code)

    # -- result -------------------------------------------------------------------------------
    def accept(self) -> None:
        name = self.name.currentText().strip()
        if not self._users:
            return
        if not name:
            self._say(lambda: tr("Type or pick your user name."))
            return
        try:  # as the register has it now
            self._users = {u.name: u for u in self.register.users()}
        except CalstationError as e:
            message = str(e)
            self._say(lambda: message)
            return
        user = self._users.get(name)
        if user is None:
            self._say(lambda: tr("No user “{name}” in the register; an administrator adds you with "
                                 "`calstation register user add {name} --role technician`.").format(name=name))
            return
        if not user.active:
            self._say(lambda: tr("User “{name}” is deactivated in the register; an administrator can "
                                 "reactivate you.").format(name=name))
            return
        self.user = user
        super().accept()
