"""Certificates rendered from the run file. `text` (what can be printed) is
light; the PDF renderer (reportlab) is imported only when it is used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.certificates.pdf import CertificateError, certificate_number, render_pdf

__all__ = ["CertificateError", "certificate_number", "render_pdf"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from station.certificates import pdf

        return getattr(pdf, name)
    raise AttributeError(name)
