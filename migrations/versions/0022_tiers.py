"""Audience tiers (issue 16): each school's leadership bundle (its public keys
per generation and its wraps to leadership members), the tier of each
recipient school's copy, wrap and read record, the leadership bundle's
generation a login session holds, and members withdrawn from a thread.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TIERED = ("sealed_wraps", "read_records", "alert_recipients")


def upgrade() -> None:
    op.create_table(
        "leadership_key_generations",
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("public_keys", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=120), nullable=False),
        sa.Column("previous_bundle", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_leadership_key_generations_school_id_schools"),
        ),
        sa.PrimaryKeyConstraint(
            "school_id", "generation", name=op.f("pk_leadership_key_generations")
        ),
    )
    op.create_table(
        "leadership_wraps",
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("credential_kind", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("wrap", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "credential_kind IN ('member', 'token', 'invitation')",
            name=op.f("ck_leadership_wraps_credential_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_leadership_wraps_school_id_schools")
        ),
        sa.PrimaryKeyConstraint(
            "school_id",
            "generation",
            "credential_kind",
            "credential_id",
            name=op.f("pk_leadership_wraps"),
        ),
    )
    op.create_table(
        "thread_exclusions",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("excluded_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_thread_exclusions_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["excluded_by_id"],
            ["members.id"],
            name=op.f("fk_thread_exclusions_excluded_by_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_thread_exclusions_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_thread_exclusions_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("alert_id", "member_id", name=op.f("pk_thread_exclusions")),
    )
    with op.batch_alter_table("schools") as batch_op:
        batch_op.add_column(
            sa.Column("leadership_generation", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("login_sessions") as batch_op:
        batch_op.add_column(sa.Column("leadership_generation", sa.Integer(), nullable=True))
    for table in _TIERED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("tier", sa.String(length=64), server_default="all", nullable=False)
            )


def downgrade() -> None:
    for table in _TIERED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("tier")
    with op.batch_alter_table("login_sessions") as batch_op:
        batch_op.drop_column("leadership_generation")
    with op.batch_alter_table("schools") as batch_op:
        batch_op.drop_column("leadership_generation")
    op.drop_table("thread_exclusions")
    op.drop_table("leadership_wraps")
    op.drop_table("leadership_key_generations")
