"""Per-school daily figures for the dashboard (issue 19): alerts sent per
school, day and filing; copies received per school, day and severity, with
their acknowledgements and the exact time each took. Created and filled from
the alerts and their copies, as ``alertnet dashboard rebuild`` fills them.

Revision ID: 0024_daily_figures
Revises: 0023
"""

from __future__ import annotations

import sys
from array import array
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0024_daily_figures"
down_revision = "0023"
branch_labels = None
depends_on = None

_BATCH = 2000


def _key(*columns: tuple[str, int]) -> list[sa.Column[object]]:
    return [
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        *[sa.Column(name, sa.String(length=length), nullable=False) for name, length in columns],
    ]


def upgrade() -> None:
    sent_key = (("category", 32), ("severity", 16), ("platform", 32))
    op.create_table(
        "daily_sent",
        *_key(*sent_key),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_daily_sent_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_daily_sent_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "cluster_id",
            "day",
            "school_id",
            "category",
            "severity",
            "platform",
            name=op.f("pk_daily_sent"),
        ),
    )
    op.create_table(
        "daily_received",
        *_key(("severity", 16)),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.Column("delays", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_daily_received_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_daily_received_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "cluster_id", "day", "school_id", "severity", name=op.f("pk_daily_received")
        ),
    )
    _fill(op.get_bind())


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fill(bind: sa.Connection) -> None:
    """The figures of the alerts already posted (network/alerts/daily_figures.py, rebuild)."""
    meta = sa.MetaData()
    alerts = sa.Table("alerts", meta, autoload_with=bind)
    copies = sa.Table("alert_recipients", meta, autoload_with=bind)
    sent_table = sa.Table("daily_sent", meta, autoload_with=bind)
    received_table = sa.Table("daily_received", meta, autoload_with=bind)
    sent: Counter[tuple[object, ...]] = Counter()
    for cluster, school, created, category, severity, platform in bind.execute(
        sa.select(
            alerts.c.cluster_id,
            alerts.c.sender_school_id,
            alerts.c.created_at,
            alerts.c.category,
            alerts.c.severity,
            alerts.c.platform,
        )
    ):
        sent[(cluster, _utc(created).date(), school, category, severity, platform)] += 1
    received: dict[tuple[object, ...], list[float]] = {}
    counts: Counter[tuple[object, ...]] = Counter()
    microsecond = timedelta(microseconds=1)
    for cluster, school, severity, created, acknowledged in bind.execute(
        sa.select(
            copies.c.cluster_id,
            copies.c.school_id,
            copies.c.severity,
            copies.c.created_at,
            copies.c.acknowledged_at,
        ).where(copies.c.is_sender.is_(False))
    ):
        key = (cluster, _utc(created).date(), school, severity)
        counts[key] += 1
        delays = received.setdefault(key, [])
        if acknowledged is not None:
            delays.append(float((_utc(acknowledged) - _utc(created)) // microsecond))
    names = ("cluster_id", "day", "school_id", "category", "severity", "platform")
    rows = [{**dict(zip(names, k, strict=True)), "alerts": n} for k, n in sent.items()]
    for start in range(0, len(rows), _BATCH):
        bind.execute(sent_table.insert(), rows[start : start + _BATCH])
    rows = []
    for key, delays in received.items():
        packed = array("d", delays)
        if sys.byteorder == "big":
            packed.byteswap()
        rows.append(
            {
                **dict(zip(("cluster_id", "day", "school_id", "severity"), key, strict=True)),
                "received": counts[key],
                "acknowledged": len(delays),
                "delays": packed.tobytes(),
            }
        )
    for start in range(0, len(rows), _BATCH):
        bind.execute(received_table.insert(), rows[start : start + _BATCH])


def downgrade() -> None:
    op.drop_table("daily_received")
    op.drop_table("daily_sent")
