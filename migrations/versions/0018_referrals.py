"""Referrals: every action a school records on an alert is a referral or a
step, with its agency, date, follow-up due date, follow-up state and latest
outcome in clear for content-blind counts (network/alerts/referrals.py); its
reference number and notes stay in the sealed thread items.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("follow_up", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "follow_up IN ('none', 'due', 'done')", name=op.f("ck_referrals_follow_up")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_referrals_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_referrals_cluster_id_clusters")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["members.id"], name=op.f("fk_referrals_created_by_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["thread_items.id"],
            name=op.f("fk_referrals_item_id_thread_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_referrals_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referrals_cluster_referred", ["cluster_id", "referred_on"], unique=False
        )
        batch_op.create_index(
            "ix_referrals_school_due", ["school_id", "follow_up", "due_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_school_due")
        batch_op.drop_index("ix_referrals_cluster_referred")
    op.drop_table("referrals")
