"""The dashboard's stored figures, and an index of the copies still waiting for
an acknowledgement (the dashboard's overdue list).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WAITING = "acknowledged_at IS NULL AND NOT is_sender"


def upgrade() -> None:
    op.create_table(
        "dashboard_snapshots",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_dashboard_snapshots_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "cluster_id", "period_start", "period_end", name=op.f("pk_dashboard_snapshots")
        ),
    )
    op.create_index(
        op.f("ix_dashboard_snapshots_computed_at"),
        "dashboard_snapshots",
        ["computed_at"],
    )
    op.create_index(
        "ix_alert_recipients_waiting",
        "alert_recipients",
        ["cluster_id", "created_at"],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_alert_recipients_waiting", table_name="alert_recipients")
    op.drop_index(op.f("ix_dashboard_snapshots_computed_at"), table_name="dashboard_snapshots")
    op.drop_table("dashboard_snapshots")
