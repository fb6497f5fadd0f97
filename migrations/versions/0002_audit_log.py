"""The audit trail becomes a verifiable log: entries numbered from 0 as Merkle
leaves, stored complete subtrees, signed checkpoints, full-verification results,
and triggers that refuse UPDATE and DELETE on the log's tables.

Entries written before this revision are renumbered 0, 1, 2, ... in their old
order and hashed into the tree with the version 1 leaf encoding, which is
copied below (a migration must not import the application, and must keep
encoding exactly as version 1 did whatever the application does later).

Note for later migrations: on SQLite, ``batch_alter_table`` on one of the
tables in ``APPEND_ONLY`` rebuilds it and silently drops its triggers; create
them again afterwards (tests/schools/test_audit.py checks that they refuse changes).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_events", "audit_subtrees", "audit_checkpoints")

OLD_INDEXES = {
    "ix_audit_events_action": ["action"],
    "ix_audit_events_actor_id": ["actor_id"],
    "ix_audit_events_cluster_id": ["cluster_id"],
    "ix_audit_events_object_id": ["object_id"],
    "ix_audit_events_school_id": ["school_id"],
}
NEW_INDEXES = {
    "ix_audit_events_action_seq": ["action", "seq"],
    "ix_audit_events_actor_seq": ["actor_id", "seq"],
    "ix_audit_events_cluster_seq": ["cluster_id", "seq"],
    "ix_audit_events_school_seq": ["school_id", "seq"],
    "ix_audit_events_object_seq": ["object_type", "object_id", "seq"],
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # The application numbers entries itself, under the log lock: a sequence
        # would leave gaps on rollback, and a leaf index must not have any.
        op.execute("ALTER TABLE audit_events ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_events_seq_seq")
    op.add_column(
        "audit_events",
        sa.Column("leaf_version", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
    )
    for name in OLD_INDEXES:
        op.drop_index(name, table_name="audit_events")
    for name, columns in NEW_INDEXES.items():
        op.create_index(name, "audit_events", columns, unique=False)

    op.create_table(
        "audit_subtrees",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "start", name=op.f("pk_audit_subtrees")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(op.f("ix_audit_checkpoints_size"), "audit_checkpoints", ["size"])
    op.create_table(
        "audit_verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("checkpoints", sa.Integer(), nullable=False),
        sa.Column("first_bad_seq", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verifications")),
    )
    op.create_index(
        op.f("ix_audit_verifications_finished_at"), "audit_verifications", ["finished_at"]
    )

    _hash_existing_entries()
    _create_triggers(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    op.drop_index(op.f("ix_audit_verifications_finished_at"), table_name="audit_verifications")
    op.drop_table("audit_verifications")
    op.drop_index(op.f("ix_audit_checkpoints_size"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_subtrees")
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="audit_events")
    for name, columns in OLD_INDEXES.items():
        op.create_index(name, "audit_events", columns, unique=False)
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("leaf_version")
    if dialect == "postgresql":
        op.execute("CREATE SEQUENCE audit_events_seq_seq OWNED BY audit_events.seq")
        op.execute(
            "SELECT setval('audit_events_seq_seq', COALESCE(MAX(seq), 0) + 1, false) "
            "FROM audit_events"
        )
        op.execute(
            "ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT nextval('audit_events_seq_seq')"
        )


# --- triggers -------------------------------------------------------------------------


def _create_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % on % is refused',
                    TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: "
                    f"{operation} on {table} is refused'); END"
                )


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for operation in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")


# --- entries written before this revision ---------------------------------------------

_events = sa.table(
    "audit_events",
    sa.column("seq", sa.BigInteger()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("action", sa.String()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor_role", sa.String()),
    sa.column("cluster_id", sa.Uuid()),
    sa.column("school_id", sa.Uuid()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("envelope_hash", sa.LargeBinary()),
    sa.column("detail", sa.JSON()),
)
_subtrees = sa.table(
    "audit_subtrees",
    sa.column("level", sa.SmallInteger()),
    sa.column("start", sa.BigInteger()),
    sa.column("hash", sa.LargeBinary()),
)


def _hash_existing_entries() -> None:
    """Renumber old entries from 0 (their order kept) and store their subtrees."""
    bind = op.get_bind()
    old = [row[0] for row in bind.execute(sa.select(_events.c.seq).order_by(_events.c.seq))]
    if old != list(range(len(old))):
        # Two steps, so no new number collides with an old one mid-statement.
        bind.execute(sa.update(_events).values(seq=-1 - _events.c.seq))
        bind.execute(
            sa.update(_events).where(_events.c.seq == sa.bindparam("old")),
            [{"old": -1 - before, "seq": index} for index, before in enumerate(old)],
        )
    frontier: dict[tuple[int, int], bytes] = {}
    rows: list[dict[str, Any]] = []
    for entry in bind.execute(sa.select(_events).order_by(_events.c.seq)):
        rows.extend(_append(frontier, entry.seq, _leaf_hash_v1(entry)))
        if len(rows) >= 10_000:
            bind.execute(sa.insert(_subtrees), rows)
            rows = []
    if rows:
        bind.execute(sa.insert(_subtrees), rows)


def _append(
    frontier: dict[tuple[int, int], bytes], index: int, leaf: bytes
) -> list[dict[str, Any]]:
    """RFC 9162 subtrees completed by appending leaf ``index`` (crypto/merkle.py's scheme)."""
    rows = [{"level": 0, "start": index, "hash": leaf}]
    current, level, end = leaf, 0, index + 1
    while end % (2 << level) == 0:
        start = end - (2 << level)
        current = hashlib.sha256(b"\x01" + frontier.pop((level, start)) + current).digest()
        level += 1
        rows.append({"level": level, "start": start, "hash": current})
    frontier[level, end - (1 << level)] = current
    return rows


def _leaf_hash_v1(entry: Any) -> bytes:
    """SHA-256(0x00 || leaf bytes), leaf bytes as docs/audit-log.md section 7 (version 1)."""
    at = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=UTC)
    value = {
        "v": 1,
        "seq": entry.seq,
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": entry.action,
        "actor": _text(entry.actor_id),
        "actor_role": entry.actor_role,
        "cluster": _text(entry.cluster_id),
        "school": _text(entry.school_id),
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "envelope_hash": entry.envelope_hash.hex() if entry.envelope_hash is not None else None,
        "detail": entry.detail or {},
    }
    encoded = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    return hashlib.sha256(b"\x00" + encoded).digest()


def _text(value: object) -> str | None:
    return str(value) if value is not None else None
