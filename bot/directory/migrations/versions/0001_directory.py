"""Therapist directory and referral requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TAGS = (
    ("therapist_population", "population", 30, "ix_population"),
    ("therapist_specialty", "specialty", 30, "ix_specialty"),
    ("therapist_method", "method", 30, "ix_method"),
    ("therapist_insurance", "insurance", 30, "ix_insurance"),
    ("therapist_language", "language", 10, "ix_language"),
)


def upgrade() -> None:
    """Create the directory tables and their indexes."""
    op.create_table(
        "therapist",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("pronouns", sa.String(30), nullable=False),
        sa.Column("gender", sa.String(20), nullable=False),
        sa.Column("license_type", sa.String(20), nullable=False),
        sa.Column("telehealth", sa.Boolean, nullable=False),
        sa.Column("in_person", sa.Boolean, nullable=False),
        sa.Column("fee", sa.Integer, nullable=True),
        sa.Column("sliding_scale", sa.Boolean, nullable=False),
        sa.Column("sliding_scale_min", sa.Integer, nullable=True),
        sa.Column("accepting_new_clients", sa.Boolean, nullable=False),
        sa.Column("free_consultation", sa.Boolean, nullable=False),
        sa.Column("bio", sa.Text, nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("website", sa.String(300), nullable=False),
        sa.Column("is_sample", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_therapist_license_type", "therapist", ["license_type"])
    op.create_table(
        "therapist_license",
        sa.Column("therapist_id", sa.Integer, sa.ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("state", sa.String(2), primary_key=True),
    )
    op.create_index("ix_license_state", "therapist_license", ["state", "therapist_id"])
    op.create_table(
        "therapist_location",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("therapist_id", sa.Integer, sa.ForeignKey("therapist.id", ondelete="CASCADE"), nullable=False),
        sa.Column("city", sa.String(80), nullable=False),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("zip", sa.String(5), nullable=False),
    )
    op.create_index("ix_location_state", "therapist_location", ["state", "therapist_id"])
    op.create_index("ix_location_therapist", "therapist_location", ["therapist_id"])
    op.create_index("ix_location_zip", "therapist_location", ["zip"])
    for table, column, length, index in _TAGS:
        op.create_table(
            table,
            sa.Column("therapist_id", sa.Integer, sa.ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True),
            sa.Column(column, sa.String(length), primary_key=True),
        )
        op.create_index(index, table, [column, "therapist_id"])
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("therapist_id", sa.Integer, sa.ForeignKey("therapist.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("conversation_ref", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("contact_method", sa.String(10), nullable=False),
        sa.Column("contact_value", sa.String(200), nullable=False),
        sa.Column("contact_times", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
    )
    op.create_index("ix_referral_therapist_id", "referral", ["therapist_id"])
    op.create_index("ix_referral_status", "referral", ["status"])


def downgrade() -> None:
    """Drop everything upgrade() created."""
    op.drop_table("referral")
    for table, _, _, _ in reversed(_TAGS):
        op.drop_table(table)
    op.drop_table("therapist_location")
    op.drop_table("therapist_license")
    op.drop_table("therapist")
