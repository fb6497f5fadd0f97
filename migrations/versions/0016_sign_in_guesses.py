"""Wrong passwords for addresses that are no member's, counted like a member's.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_guesses",
        sa.Column("address_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("sign_in_wait_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address_hash", name=op.f("pk_sign_in_guesses")),
    )
    with op.batch_alter_table("sign_in_guesses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_guesses_last_at"), ["last_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_in_guesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_guesses_last_at"))
    op.drop_table("sign_in_guesses")
