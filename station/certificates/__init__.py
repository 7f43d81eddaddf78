"""Certificates rendered from the run file alone (docs/certificate.md)."""

from station.certificates.pdf import CertificateError, certificate_number, render_pdf

__all__ = ["CertificateError", "certificate_number", "render_pdf"]
