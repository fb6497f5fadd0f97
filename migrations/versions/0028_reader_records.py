"""A school keeps a read record and a search entry of a copy per tier that
opens it: a copy sealed to several named people at one school gets one per
named reader (each sealed under that person's keys), not only the first's.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_KEYS = {
    "read_records": ("pk_read_records", ["sealed_id", "school_id"]),
    "search_entries": ("pk_search_entries", ["school_id", "alert_id"]),
}


def upgrade() -> None:
    for table, (name, columns) in _KEYS.items():
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            batch_op.drop_constraint(name, type_="primary")
            batch_op.create_primary_key(name, [*columns, "tier"])


def downgrade() -> None:
    # Records and entries of named readers are kept again only at one tier:
    # they are the school's own caches, made again on the next listing.
    op.execute("DELETE FROM read_records WHERE tier LIKE 'person:%'")
    op.execute("DELETE FROM search_entries WHERE tier LIKE 'person:%'")
    for table, (name, columns) in _KEYS.items():
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            batch_op.drop_constraint(name, type_="primary")
            batch_op.create_primary_key(name, columns)
