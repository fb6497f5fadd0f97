"""Alerts held at the author's school before they are sent (issues 16 and 17):
drafts and alerts waiting for four-eyes review, with their evidence, sealed to
the author's school; and each school's choice to review its staff's alerts.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_STATES = "state IN ('draft', 'in_review', 'changes_requested', 'rejected')"


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.add_column(
            sa.Column("reviews_staff_alerts", sa.Boolean(), server_default="0", nullable=False)
        )
    op.create_table(
        "held_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_id", sa.Integer(), nullable=True),
        sa.Column("note_sealed_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_STATES, name=op.f("ck_held_alerts_state")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["members.id"], name=op.f("fk_held_alerts_author_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["note_sealed_id"],
            ["sealed.id"],
            name=op.f("fk_held_alerts_note_sealed_id_sealed"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["members.id"], name=op.f("fk_held_alerts_reviewed_by_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_held_alerts_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["sealed_id"],
            ["sealed.id"],
            name=op.f("fk_held_alerts_sealed_id_sealed"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_alerts")),
    )
    op.create_index(op.f("ix_held_alerts_author_id"), "held_alerts", ["author_id"])
    op.create_index("ix_held_alerts_school_state", "held_alerts", ["school_id", "state"])
    op.create_index("ix_held_alerts_updated", "held_alerts", ["updated_at"])
    op.create_table(
        "held_evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("held_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sealed_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["held_id"],
            ["held_alerts.id"],
            name=op.f("fk_held_evidence_held_id_held_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sealed_id"],
            ["sealed.id"],
            name=op.f("fk_held_evidence_sealed_id_sealed"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_evidence")),
    )
    op.create_index(op.f("ix_held_evidence_held_id"), "held_evidence", ["held_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_held_evidence_held_id"), table_name="held_evidence")
    op.drop_table("held_evidence")
    op.drop_index("ix_held_alerts_updated", table_name="held_alerts")
    op.drop_index("ix_held_alerts_school_state", table_name="held_alerts")
    op.drop_index(op.f("ix_held_alerts_author_id"), table_name="held_alerts")
    op.drop_table("held_alerts")
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("reviews_staff_alerts")
