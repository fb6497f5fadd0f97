"""Cluster administration: suspension with a reason shown to the school, who
verified a school's key fingerprint, and the cluster and severity copied onto
each inbox row so the dashboard's response times are one index range scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("suspension_reason", sa.Text(), nullable=False, server_default="")
        )
    with op.batch_alter_table("school_key_generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_by_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_school_key_generations_verified_by_id_members"),
            "members",
            ["verified_by_id"],
            ["id"],
        )

    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("severity", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE alert_recipients SET "
        "cluster_id = (SELECT alerts.cluster_id FROM alerts WHERE alerts.id = alert_id), "
        "severity = (SELECT alerts.severity FROM alerts WHERE alerts.id = alert_id)"
    )
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.alter_column("cluster_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("severity", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_recipients_cluster_id_clusters"),
            "clusters",
            ["cluster_id"],
            ["id"],
        )
        batch_op.create_index("ix_alert_recipients_cluster", ["cluster_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_recipients_cluster")
        batch_op.drop_constraint(
            batch_op.f("fk_alert_recipients_cluster_id_clusters"), type_="foreignkey"
        )
        batch_op.drop_column("severity")
        batch_op.drop_column("cluster_id")
    with op.batch_alter_table("school_key_generations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_school_key_generations_verified_by_id_members"), type_="foreignkey"
        )
        batch_op.drop_column("verified_by_id")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("suspension_reason")
        batch_op.drop_column("suspended_at")
