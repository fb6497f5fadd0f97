"""Roles and withdrawal: safeguarding leads (DSL, deputy DSL) as roles; an
alert withdrawn by its sender; signed corrections, withdrawals and closing
notes in the thread; each school closing its own copy.

Widening a CHECK constraint on SQLite without rebuilding the table: members
and alerts are referenced by most tables, and a rebuild drops them, which
foreign keys (on for every connection) refuse while rows refer to them. The
stored CREATE TABLE text is edited instead, as SQLite documents for changes
that leave every stored row valid ("Making Other Kinds Of Table Schema
Changes"), and the schema version is raised so other connections reload it.

Revision ID: 0011
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0014"
branch_labels = None
depends_on = None

# (table, constraint, column, values before, values after)
_CHECKS = (
    (
        "members",
        "ck_members_role",
        "role",
        ("hub_admin", "coordinator", "head", "staff"),
        ("hub_admin", "coordinator", "head", "dsl", "deputy_dsl", "staff"),
    ),
    (
        "invitations",
        "ck_invitations_role",
        "role",
        ("hub_admin", "coordinator", "head", "staff"),
        ("hub_admin", "coordinator", "head", "dsl", "deputy_dsl", "staff"),
    ),
    (
        "alerts",
        "ck_alerts_status",
        "status",
        ("open", "resolved", "shredded"),
        ("open", "resolved", "shredded", "withdrawn"),
    ),
    (
        "thread_items",
        "ck_thread_items_kind",
        "kind",
        ("reply", "acknowledgement", "action", "attachment"),
        ("reply", "acknowledgement", "action", "attachment", "correction", "withdrawal", "closure"),
    ),
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, name: str, column: str, old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, new)
        return
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    if old not in sql:
        raise RuntimeError(f"{table}: the CHECK constraint {name} is not {old!r}")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t"),
        {"sql": sql.replace(old, new), "t": table},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def upgrade() -> None:
    for table, name, column, before, after in _CHECKS:
        _replace_check(table, name, column, _in(column, before), _in(column, after))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    # Added in place, not by a rebuild (which would drop the table's partial
    # index's condition on SQLite): a new column may carry its REFERENCES.
    op.add_column(
        "alert_recipients", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True)
    )
    fk_name = op.f("fk_alert_recipients_closed_by_id_members")
    if op.get_bind().dialect.name == "sqlite":
        # Alembic would rebuild the table for the constraint; SQLite takes it inline.
        op.execute(
            f"ALTER TABLE alert_recipients ADD COLUMN closed_by_id CHAR(32) "
            f"CONSTRAINT {fk_name} REFERENCES members (id)"
        )
    else:
        op.add_column("alert_recipients", sa.Column("closed_by_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(fk_name, "alert_recipients", "members", ["closed_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        if op.get_bind().dialect.name != "sqlite":
            # SQLite reflects the inline constraint unnamed; the rebuild drops it with its column.
            batch_op.drop_constraint(
                batch_op.f("fk_alert_recipients_closed_by_id_members"), type_="foreignkey"
            )
        batch_op.drop_column("closed_by_id")
        batch_op.drop_column("closed_at")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
    for table, name, column, before, after in _CHECKS:
        _replace_check(table, name, column, _in(column, after), _in(column, before))
