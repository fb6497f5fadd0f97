"""Indicators and sightings (issue 21): the cluster correlation key's
generations and its wraps to member schools (schools/correlation.py), each
alert's indicator hashes (network/alerts/indicators.py), and "We've seen this
too" as a kind of thread item.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0010"
branch_labels = None
depends_on = None

_KINDS = ("reply", "acknowledgement", "action", "attachment", "correction", "withdrawal", "closure")
_KINDS_BEFORE = f"kind IN ({', '.join(repr(k) for k in _KINDS)})"
_KINDS_AFTER = f"kind IN ({', '.join(repr(k) for k in (*_KINDS, 'sighting'))})"


def upgrade() -> None:
    op.create_table(
        "correlation_generations",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_correlation_generations_cluster_id_clusters"),
        ),
        sa.PrimaryKeyConstraint(
            "cluster_id", "generation", name=op.f("pk_correlation_generations")
        ),
    )
    op.create_table(
        "correlation_key_wraps",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("school_generation", sa.Integer(), nullable=False),
        sa.Column("wrap", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id", "generation"],
            ["correlation_generations.cluster_id", "correlation_generations.generation"],
            name=op.f("fk_correlation_key_wraps_cluster_id_correlation_generations"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_correlation_key_wraps_school_id_schools")
        ),
        sa.PrimaryKeyConstraint(
            "cluster_id", "generation", "school_id", name=op.f("pk_correlation_key_wraps")
        ),
    )
    with op.batch_alter_table("correlation_key_wraps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_correlation_key_wraps_school_id"), ["school_id"], unique=False
        )
    op.create_table(
        "alert_indicators",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_indicators_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", "hash", name=op.f("pk_alert_indicators")),
    )
    with op.batch_alter_table("alert_indicators", schema=None) as batch_op:
        batch_op.create_index("ix_alert_indicators_hash", ["hash"], unique=False)
    _thread_kinds(_KINDS_AFTER)


def _thread_kinds(condition: str) -> None:
    with op.batch_alter_table("thread_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_thread_items_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_thread_items_kind"), condition)


def downgrade() -> None:
    op.execute("DELETE FROM thread_items WHERE kind = 'sighting'")
    _thread_kinds(_KINDS_BEFORE)
    op.drop_table("alert_indicators")
    op.drop_table("correlation_key_wraps")
    op.drop_table("correlation_generations")
