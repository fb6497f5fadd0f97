"""Cluster administration: suspension with a reason shown to the school, and
who verified a school's key fingerprint.

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


def downgrade() -> None:
    with op.batch_alter_table("school_key_generations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_school_key_generations_verified_by_id_members"), type_="foreignkey"
        )
        batch_op.drop_column("verified_by_id")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("suspension_reason")
        batch_op.drop_column("suspended_at")
