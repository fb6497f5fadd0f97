"""Unread for me (issue 17): which member opened which alert, so that the
inbox's "Unread" filter and its count mean one thing, "not opened by you, or
marked unread by you" (network/alerts/unread_marks.py).

Before this, the hub knew only whether anyone at a school had opened its copy.
What a school had read then counts as read for each of its members then, so
that nobody's count jumps on the upgrade.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_reads",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_member_reads_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_reads_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "alert_id", name=op.f("pk_member_reads")),
    )
    op.execute(
        """
        INSERT INTO member_reads (member_id, alert_id, read_at)
        SELECT members.id, alert_recipients.alert_id, alert_recipients.first_read_at
        FROM alert_recipients
        JOIN members ON members.school_id = alert_recipients.school_id
        WHERE alert_recipients.is_sender = false
          AND alert_recipients.first_read_at IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_table("member_reads")
