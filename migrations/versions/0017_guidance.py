"""Guidance (issue 18): each cluster's versions of what to do per category of
alert (network/alerts/guidance.py), and each school's out-of-hours contact
for urgent alerts due outside school days (network/alerts/out_of_hours.py).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guidance_versions",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_guidance_versions_version_from_one")),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_guidance_versions_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["members.id"],
            name=op.f("fk_guidance_versions_created_by_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "cluster_id", "category", "version", name=op.f("pk_guidance_versions")
        ),
    )
    op.create_table(
        "out_of_hours_contacts",
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_out_of_hours_contacts_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_out_of_hours_contacts")),
    )


def downgrade() -> None:
    op.drop_table("out_of_hours_contacts")
    op.drop_table("guidance_versions")
