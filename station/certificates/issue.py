"""What approval adds to a certificate: its number, who approved it and
when, the languages, and the run file's SHA-256 it certifies.

A certificate is rendered from the run file and this record alone, so the
register can render the same certificate again. Without an `Issue` the
renderers write a draft: marked as such on every page, with no number and
no signature, which certifies nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: Languages a certificate can be written in; "en+zh" puts both labels on one
#: certificate (English first, Simplified Chinese beneath).
LANGUAGES = ("en", "zh", "en+zh")


@dataclass(frozen=True)
class Issue:
    number: str  # assigned by the register, unique across the lab
    approved_at: dt.datetime  # UTC
    approver: str  # signatory's full name, as printed
    approver_user: str  # register user name
    approver_role: str  # e.g. "Authorised signatory"
    run_sha256: str  # SHA-256 (hex) of the run file the certificate reports
    languages: str = "en"  # one of LANGUAGES
    lab_code: str = ""  # the lab's short code (register setting), may be ""

    @property
    def issued(self) -> dt.date:
        return self.approved_at.date()

    def qr_payload(self) -> str:
        """What the certificate's QR code carries: enough to look it up and
        check it against the run file."""
        return f"calstation-certificate/1;number={self.number};run-sha256={self.run_sha256}"
