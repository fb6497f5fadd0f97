"""The count of alerts unread by a member, beside Inbox on every page, counts
their school's copies at the member's tiers from an index alone
(network/alerts/inbox.py, unread_count): without the tier in an index, each
of a school's tens of thousands of copies was a fetch from the table.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_alert_recipients_tiers", "alert_recipients", ["school_id", "is_sender", "tier"]
    )


def downgrade() -> None:
    op.drop_index("ix_alert_recipients_tiers", table_name="alert_recipients")
