"""The window's languages: English (the source text) and Simplified Chinese.

Every string the window shows goes through `tr` (``QCoreApplication.translate``
in the context ``"calstation"``), so Qt's own translation machinery chooses
the text. The Chinese catalogue is a Python mapping in
`gui.translations.zh_CN` (source text -> translation) served by a
`QTranslator`: no compiled .qm file and no Qt Linguist tools are needed to
build it. Qt's own texts (standard buttons, file dialogs) come from the
``qtbase_zh_CN`` translations that ship with Qt. The language is chosen at first start and in the settings
(``QSettings`` key ``language``: ``en`` or ``zh``).
"""

from __future__ import annotations

from PyQt6.QtCore import QCoreApplication, QLibraryInfo, QSettings, QTranslator

CONTEXT = "calstation"
LANGUAGES = {"en": "English", "zh": "简体中文"}


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


class CatalogueTranslator(QTranslator):
    def __init__(self, catalogue: dict[str, str]) -> None:
        super().__init__()
        self.catalogue = catalogue

    def translate(self, context: str | None, source: str | None, disambiguation: str | None = None,  # type: ignore[override]
                  n: int = -1) -> str | None:
        # None (a null string) tells Qt "not translated here": it then shows
        # the source text; an empty string would show as blank
        if context != CONTEXT or source is None:
            return None
        return self.catalogue.get(source)

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name
        return not self.catalogue


_installed: list[QTranslator] = []


def install(language: str) -> None:
    """Make ``language`` ("en" or "zh") the window's language from now on."""
    app = QCoreApplication.instance()
    assert app is not None
    for t in _installed:
        app.removeTranslator(t)
    _installed.clear()
    if language == "zh":
        from gui.translations.zh_CN import CATALOGUE

        t = CatalogueTranslator(CATALOGUE)
        app.installTranslator(t)
        _installed.append(t)
        # Qt's own texts (standard buttons: Close, OK, Cancel; file dialogs),
        # from the translations that ship with Qt
        qt = QTranslator()
        if qt.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt)
            _installed.append(qt)


def saved_language() -> str | None:
    value = QSettings().value("language")
    return value if value in LANGUAGES else None


def save_language(language: str) -> None:
    QSettings().setValue("language", language)
