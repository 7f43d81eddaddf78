"""What text the certificate can print, checked before a run starts.

The certificate sets its text in the PDF standard fonts, which show the
Windows Latin-1 character set (cp1252), and any other character in an
embedded CJK font (`fonts`) that must have a glyph for it; it lays every field out in
a table cell that cannot break across more than a page. The engine's plan
check calls `problem` on everything the certificate will print (job
fields, instrument records and ``*IDN?`` replies, the procedure's name,
title and method, point labels), so text the certificate cannot print is
refused before anything is energised, not after the calibration; the PDF
renderer applies the same rule. The limits are those every field of the
certificate is tested at (tests/certificates/test_pdf.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

#: A field printed on one line: names, identifiers, dates.
SHORT_CHARS = 200
#: A field that may take several lines: addresses, descriptions, remarks.
LONG_CHARS = 1000
LONG_LINES = 12
#: Fields that may take several lines (any other field is SHORT).
MULTILINE = frozenset({
    "lab_address", "customer_address", "location", "dut_description", "dut_condition", "remarks",
    "description", "traceability", "method", "title", "specification", "decision_statement",
    "end_reason",
})
#: Fields printed in a narrow column of the standards' table (section 3):
#: shorter limits, at which that table still fits a page.
NARROW = {"asset_id": 40, "certificate": 60, "probe_certificate": 60, "calibration_due": 20, "traceability": 300,
          "description": 600, "manufacturer": 60, "model": 60, "serial": 60}
ENCODING = "cp1252"


def _printable(c: str) -> bool:
    try:
        c.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def problem(what: str, name: str, text: str) -> str:
    """Why the certificate cannot print ``text`` as field ``name`` of
    ``what`` (one line, saying what to do), or ``""``."""
    field = f"{what} {name!r}"
    multiline = name in MULTILINE
    control = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"})
    if control:
        shown = ", ".join(f"U+{ord(c):04X}" for c in control)
        return f"{field} contains control character(s) {shown}; remove them"
    bad = "".join(sorted({c for c in text if not _printable(c)}))
    if bad:
        from station.certificates import fonts
        from station.errors import CalstationError

        try:  # Chinese (and other CJK) text is set in the embedded CJK font
            fonts.cjk_font(bad)
        except CalstationError as e:
            return f"{field} contains characters the certificate cannot show ({bad[:20]!r}): {e}"
    limit = NARROW.get(name, LONG_CHARS if multiline else SHORT_CHARS)
    if len(text) > limit:
        return f"{field} is {len(text)} characters long; the certificate prints at most {limit}: shorten it"
    if multiline and text.count("\n") >= LONG_LINES:
        return f"{field} has {text.count(chr(10)) + 1} lines; the certificate prints at most {LONG_LINES}: shorten it"
    if not multiline and "\n" in text.strip():
        return f"{field} spans several lines; write it on one line"
    return ""


def first_problem(what: str, fields: Mapping[str, str]) -> str:
    """The first field of ``fields`` the certificate cannot print, or ``""``."""
    for name, text in fields.items():
        found = problem(what, name, str(text))
        if found:
            return found
    return ""
