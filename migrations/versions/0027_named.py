"""Named people (issue 16): each member's personal key bundle (its public keys
per generation and its wraps to the member's own credentials), the members an
alert is sealed to by name, and a school's wraps of one envelope told apart by
tier (one per named person).

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_key_generations",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("public_keys", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=120), nullable=False),
        sa.Column("previous_bundle", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_personal_key_generations_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "member_id", "generation", name=op.f("pk_personal_key_generations")
        ),
    )
    op.create_table(
        "personal_wraps",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("credential_kind", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("wrap", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "credential_kind IN ('member', 'token')",
            name=op.f("ck_personal_wraps_credential_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_personal_wraps_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "member_id",
            "generation",
            "credential_kind",
            "credential_id",
            name=op.f("pk_personal_wraps"),
        ),
    )
    op.create_table(
        "alert_named_readers",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_named_readers_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_alert_named_readers_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_alert_named_readers_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("alert_id", "member_id", name=op.f("pk_alert_named_readers")),
    )
    op.create_index(
        "ix_alert_named_readers_member", "alert_named_readers", ["member_id", "alert_id"]
    )
    # One wrap per (envelope, school, tier): a school's named people each get one.
    with op.batch_alter_table("sealed_wraps", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_sealed_wraps", type_="primary")
        batch_op.create_primary_key("pk_sealed_wraps", ["sealed_id", "school_id", "tier"])


def downgrade() -> None:
    with op.batch_alter_table("sealed_wraps", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_sealed_wraps", type_="primary")
        batch_op.create_primary_key("pk_sealed_wraps", ["sealed_id", "school_id"])
    op.drop_index("ix_alert_named_readers_member", table_name="alert_named_readers")
    op.drop_table("alert_named_readers")
    op.drop_table("personal_wraps")
    op.drop_table("personal_key_generations")
