"""A login session keeps the cluster correlation keys its school holds, sealed
under the cookie's key like its bundle (issue 21, speed): opening an alert no
longer decapsulates the school's wraps of the key on every request.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correlation_vault", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("correlation_vault")
