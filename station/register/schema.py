"""The register's tables (SQLAlchemy Core), as the head migration leaves them.

Dates are ISO text (YYYY-MM-DD) and instants ISO text in UTC
(YYYY-MM-DDTHH:MM:SS.ffffffZ): they sort as text, read the same in SQLite
and PostgreSQL, and hash the same in the audit trail. The migrations in
`migrations/versions` create these tables; this module is what queries use.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: Settings of the lab: lab_code (certificate number prefix), lab_name, ...
settings = sa.Table(
    "settings", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # technician, signatory, administrator
    sa.Column("public_key", sa.String(64)),  # Ed25519, base64 of the raw 32 bytes
    sa.Column("key_id", sa.String(16), unique=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

customers = sa.Table(
    "customers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("contact", sa.String(300), nullable=False),
)

assets = sa.Table(
    "assets", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("asset_id", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),  # standard, dut
    sa.Column("manufacturer", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("serial", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),  # customer code, or "" for the lab's own
    sa.Column("location", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # active, retired
    sa.Column("created_at", sa.String(32), nullable=False),
)

#: Calibration records of standards: what their certificates say.
calibrations = sa.Table(
    "calibrations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("asset", sa.Integer, sa.ForeignKey("assets.id"), nullable=False, index=True),
    sa.Column("certificate", sa.String(128), nullable=False),
    sa.Column("issuing_lab", sa.String(300), nullable=False),
    sa.Column("calibrated_on", sa.String(10), nullable=False),
    sa.Column("due", sa.String(10), nullable=False),
    sa.Column("traceability", sa.Text, nullable=False),
    #: JSON object: the values the station uses (uncertainty_source,
    #: certificate_uncertainty_ppm, certificate_uncertainty_floor,
    #: certificate_k, probe_certificate, probe_correction, probe_uncertainty,
    #: probe_k, specification, distribution)
    sa.Column("values", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

procedures = sa.Table(
    "procedures", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.UniqueConstraint("name", "version", "sha256"),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False, unique=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # completed, approved, rejected
    sa.Column("procedure", sa.Integer, sa.ForeignKey("procedures.id"), nullable=False),
    sa.Column("dut", sa.String(64), nullable=False),  # asset id of the DUT ("" when not given)
    sa.Column("customer", sa.String(300), nullable=False),
    sa.Column("technician", sa.String(200), nullable=False),
    sa.Column("started", sa.String(32), nullable=False),
    sa.Column("finished", sa.String(32), nullable=False),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("registered_at", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),  # of a rejection
)

#: Which standards (and which of their calibrations) a run relied on.
run_standards = sa.Table(
    "run_standards", metadata,
    sa.Column("run", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Column("asset_id", sa.String(64), nullable=False, index=True),
    sa.Column("certificate", sa.String(128), nullable=False),
    sa.Column("due", sa.String(10), nullable=False),
)

certificates = sa.Table(
    "certificates", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(64), nullable=False, unique=True),
    sa.Column("run", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # issuing, issued, void
    sa.Column("approver", sa.String(64), nullable=False),
    sa.Column("approved_at", sa.String(32), nullable=False),
    sa.Column("languages", sa.String(8), nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("pdf_sha256", sa.String(64), nullable=False),
    sa.Column("dcc_sha256", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False),  # why void
)

#: Certificate number sequences, one row per (prefix, year).
counters = sa.Table(
    "counters", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_key", sa.String(200), nullable=False),
    sa.Column("old", sa.Text, nullable=False),  # JSON
    sa.Column("new", sa.Text, nullable=False),  # JSON
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("prev", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

#: One row: the last entry of the audit trail (so a removed tail shows).
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# -- revision 0002: DUT history and overrides ---------------------------------

#: Each point of each registered run, for a DUT's history.
run_points = sa.Table(
    "run_points", metadata,
    sa.Column("run", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("phase", sa.String(16), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("function", sa.String(16), nullable=False),
    sa.Column("nominal", sa.Float, nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("error", sa.Float, nullable=False),
    sa.Column("expanded_uncertainty", sa.Float, nullable=False),
    sa.Column("tolerance", sa.Float, nullable=False),
    sa.Column("decision", sa.String(32), nullable=False),
)

#: A supervisor's permission to use a standard the register would refuse.
overrides = sa.Table(
    "overrides", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("asset_id", sa.String(64), nullable=False, index=True),
    sa.Column("supervisor", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("refused", sa.Text, nullable=False),  # what the register refused, in words
)
