"""A DUT's history (each point of each registered run) and supervisors'
overrides of a refused standard.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_points",
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
    op.create_table(
        "overrides",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("asset_id", sa.String(64), nullable=False, index=True),
        sa.Column("supervisor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("refused", sa.Text, nullable=False),
    )
    op.create_index("ix_certificates_approved_at", "certificates", ["approved_at"])


def downgrade() -> None:
    op.drop_index("ix_certificates_approved_at", "certificates")
    op.drop_table("overrides")
    op.drop_table("run_points")
