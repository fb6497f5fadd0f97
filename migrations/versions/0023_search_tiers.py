"""Search under the tier of each school's copy (issue 16 with issue 17): a copy
sealed to a school's leadership is indexed under the leadership bundle's search
key, so only its leadership can match its words.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_TABLES = ("search_entries", "search_tokens")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("tier", sa.String(length=64), server_default="all", nullable=False)
            )


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("tier")
