"""Second factors: authenticator apps and passkeys, backup codes, sessions that
wait for the factor (and the time of the last confirmation, for step-up),
the clusters' rule of who needs one, per-account throttling and known browsers.

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("second_factor_leaders", sa.Boolean(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("second_factor_staff", sa.Boolean(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("sign_in_wait_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="complete")
        )
        batch_op.add_column(sa.Column("challenge", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("factor_failures", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "second_factors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("credential_id", sa.LargeBinary(), nullable=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=True),
        sa.Column("sign_count", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("kind IN ('totp', 'passkey')", name=op.f("ck_second_factors_kind")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_second_factors_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factors")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_second_factors_credential_id")),
    )
    op.create_index(
        op.f("ix_second_factors_member_id"), "second_factors", ["member_id"], unique=False
    )
    op.create_table(
        "backup_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_backup_codes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_backup_codes_code_hash")),
    )
    op.create_index(op.f("ix_backup_codes_member_id"), "backup_codes", ["member_id"], unique=False)
    op.create_table(
        "known_devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("device_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_known_devices_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_devices")),
        sa.UniqueConstraint("member_id", "device_hash", name=op.f("uq_known_devices_member_id")),
    )
    op.create_index(
        op.f("ix_known_devices_member_id"), "known_devices", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_known_devices_member_id"), table_name="known_devices")
    op.drop_table("known_devices")
    op.drop_index(op.f("ix_backup_codes_member_id"), table_name="backup_codes")
    op.drop_table("backup_codes")
    op.drop_index(op.f("ix_second_factors_member_id"), table_name="second_factors")
    op.drop_table("second_factors")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("factor_failures")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("challenge")
        batch_op.drop_column("state")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("sign_in_wait_until")
        batch_op.drop_column("failed_sign_ins")
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.drop_column("second_factor_staff")
        batch_op.drop_column("second_factor_leaders")
