"""Read records: what a school keeps of an envelope it has verified once, so
its inbox lists titles without verifying and decapsulating again
(network/alerts/models.py ReadRecord, crypto/records.py); and the audit queue,
where read events wait to join the log without taking its lock
(schools/audit/queue.py).

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "read_records",
        sa.Column("sealed_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sealed_id"],
            ["sealed.id"],
            name=op.f("fk_read_records_sealed_id_sealed"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_read_records_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("sealed_id", "school_id", name=op.f("pk_read_records")),
    )
    op.create_table(
        "audit_queue",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=True),
        sa.Column("cluster_id", sa.Uuid(), nullable=True),
        sa.Column("school_id", sa.Uuid(), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("envelope_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("leaf_version", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_queue")),
    )
    op.create_index(op.f("ix_audit_queue_cluster_id"), "audit_queue", ["cluster_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_queue_cluster_id"), table_name="audit_queue")
    op.drop_table("audit_queue")
    op.drop_table("read_records")
