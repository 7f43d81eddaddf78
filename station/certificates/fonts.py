"""The Chinese (CJK) font of the certificate: found, checked and registered.

The PDF standard fonts (Helvetica, Courier) show the Windows Latin-1
character set only. Chinese labels (a ``zh`` or ``en+zh`` certificate) and
any text from the run file outside that set (a customer's name in Chinese,
also on an English certificate) are set in a TrueType font that is embedded
in the PDF as a subset, with a ToUnicode map so that the text can be
searched and copied.

Where the font comes from, in this order:

1. ``CALSTATION_CJK_FONT``: the path of a ``.ttf`` or ``.ttc`` file (of a
   collection, its first font). When it is set it must be usable: it is
   never passed over in silence.
2. Known places of free fonts whose licence allows embedding (WenQuanYi
   Micro Hei first: Debian's ``fonts-wqy-microhei``, which ``make sysdeps``
   installs), then the fonts of Windows and macOS.

A font qualifies when reportlab can embed it: TrueType outlines (an
OpenType font with PostScript (CFF) outlines, such as Noto Sans CJK, is
not supported by reportlab), a licence (OS/2 ``fsType``) that allows
embedding and subsetting, and a glyph for every character of the Chinese
labels. The same font file gives the same bytes, wherever it is installed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from station.errors import CalstationError, one_line

__all__ = ["CANDIDATES", "ENV", "FONT_NAME", "INSTALL", "CJKFont", "FontError", "cjk_font", "needs_cjk"]

#: The environment variable that names the font file.
ENV = "CALSTATION_CJK_FONT"
#: The name the font is registered under (and drawn with) in reportlab. It
#: appears in the PDF: it is fixed, so the bytes do not depend on the path.
FONT_NAME = "CalstationCJK"
#: What to do when no font is found.
INSTALL = (f"install fonts-wqy-microhei (Debian/Ubuntu: `apt install fonts-wqy-microhei`; `make sysdeps`) "
           f"or set {ENV} to a TrueType .ttf/.ttc font with Chinese glyphs whose licence allows embedding")


def _windows_fonts() -> Path:
    return Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts"


#: Known font files, in order of preference: (path, index in a collection).
CANDIDATES: tuple[tuple[Path, int], ...] = (
    # WenQuanYi Micro Hei (Apache 2.0 or GPLv3 with a font embedding exception)
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),  # Debian, Ubuntu
    (Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"), 0),  # Fedora
    # WenQuanYi Zen Hei (GPLv2 with a font embedding exception)
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
    (Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"), 0),
    # AR PL UMing, UKai (Arphic Public License: embedding allowed)
    (Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),
    (Path("/usr/share/fonts/truetype/arphic/ukai.ttc"), 0),
    # Windows: Microsoft YaHei, SimSun, SimHei
    (_windows_fonts() / "msyh.ttc", 0),
    (_windows_fonts() / "simsun.ttc", 0),
    (_windows_fonts() / "simhei.ttf", 0),
    # macOS
    (Path("/System/Library/Fonts/STHeiti Light.ttc"), 0),
    (Path("/System/Library/Fonts/Supplemental/Songti.ttc"), 0),
    (Path("/Library/Fonts/Arial Unicode.ttf"), 0),
    (Path("/System/Library/Fonts/Supplemental/Arial Unicode.ttf"), 0),
)


class FontError(CalstationError):
    """No usable CJK font: the message says what to install or set."""


@dataclass(frozen=True)
class CJKFont:
    """A usable CJK font, registered with reportlab as `FONT_NAME`."""

    path: Path
    index: int
    name: str  # the font's PostScript name, as PDF viewers show it

    def covers(self, char: str) -> bool:
        return ord(char) in _load(self.path, self.index).face.charToGlyph


_loaded: dict[tuple[Path, int], TTFont] = {}


def _load(path: Path, index: int) -> TTFont:
    key = (path, index)
    if key not in _loaded:
        _loaded[key] = TTFont(FONT_NAME, str(path), subfontIndex=index)
    return _loaded[key]


def needs_cjk(char: str) -> bool:
    """Whether the standard fonts (Windows Latin-1) cannot show ``char``."""
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return True
    return False


def _why_not(path: Path, index: int, required: str) -> str:
    """Why the font at ``path`` cannot serve (``""`` when it can)."""
    if not path.is_file():
        return "no such file"
    try:
        font = _load(path, index)
    except TTFError as e:
        text = str(e)
        if "postscript outlines" in text:
            return "it has PostScript (CFF) outlines, which cannot be embedded here; use a TrueType font"
        if "embedding" in text:
            return "its licence does not allow embedding it in a document"
        return f"not a usable TrueType font ({one_line(text)})"
    except (OSError, ValueError) as e:
        return f"cannot be read ({one_line(e)})"
    missing = sorted({c for c in required if ord(c) not in font.face.charToGlyph})
    if missing:
        return f"it has no glyph for {''.join(missing[:8])!r}: not a Chinese font"
    return ""


def cjk_font(required: str = "") -> CJKFont:
    """Find the CJK font (``CALSTATION_CJK_FONT``, then `CANDIDATES`) that
    has a glyph for every character of ``required``, register it with
    reportlab as `FONT_NAME` and return it. Raises `FontError` (one line,
    saying what to install or set) when there is none."""
    chosen: tuple[Path, int] | None = None
    configured = os.environ.get(ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        why = _why_not(path, 0, required)
        if why:
            raise FontError(f"{ENV}={configured}: {why}; point it at a TrueType .ttf/.ttc font with Chinese "
                            "glyphs, or unset it to use an installed one (fonts-wqy-microhei)")
        chosen = (path, 0)
    else:
        chosen = next(((p, i) for p, i in CANDIDATES if not _why_not(p, i, required)), None)
    if chosen is None:
        raise FontError(f"no Chinese (CJK) font that can be embedded was found: {INSTALL}")
    font = _load(*chosen)
    if pdfmetrics._fonts.get(FONT_NAME) is not font:  # noqa: SLF001 - reportlab keeps no public lookup
        pdfmetrics.registerFont(font)
        # no bold or italic face: <b> and <i> in paragraphs fall back to the regular one
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(FONT_NAME, bold, italic, FONT_NAME)
    return CJKFont(chosen[0], chosen[1], font.face.name.decode("latin-1"))
