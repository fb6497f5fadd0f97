"""Sessions hold the school's bundle, bound to member, school, generation and
session; generations record when they were retired.

Every existing session is ended: its row sealed the member's long-lived
credential, which a session must no longer hold (docs/crypto.md, "Session
split"). Members sign in again once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM login_sessions"))
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("school_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("generation", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_login_sessions_school_id_schools"), "schools", ["school_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_login_sessions_school_id"), ["school_id"], unique=False
        )
    with op.batch_alter_table("school_key_generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    # A generation already replaced retired when its successor was published.
    op.execute(
        sa.text(
            "UPDATE school_key_generations SET retired_at = ("
            " SELECT n.created_at FROM school_key_generations AS n"
            " WHERE n.school_id = school_key_generations.school_id"
            " AND n.generation = school_key_generations.generation + 1)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("school_key_generations", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
    # The rows seal bundles the older code cannot read: end them.
    op.execute(sa.text("DELETE FROM login_sessions"))
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_school_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_login_sessions_school_id_schools"), type_="foreignkey"
        )
        batch_op.drop_column("generation")
        batch_op.drop_column("school_id")
