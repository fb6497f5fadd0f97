"""Daily figures for the dashboard (issue 19): per school, day and severity
the alerts sent, the copies received, their acknowledgements and the exact
time each took; per cluster, day and filing the alerts posted. Created and
filled from the alerts and their copies, as ``alertnet dashboard rebuild``
fills them (network/alerts/daily_figures.py).

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sys
from array import array
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_BATCH = 2000


def _foreign_keys(table: str, *references: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            [f"{referred[:-1]}_id"],
            [f"{referred}.id"],
            name=op.f(f"fk_{table}_{referred[:-1]}_id_{referred}"),
            ondelete="CASCADE",
        )
        for referred in references
    ]


def upgrade() -> None:
    op.create_table(
        "daily_filings",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        *_foreign_keys("daily_filings", "clusters"),
        sa.PrimaryKeyConstraint(
            "cluster_id",
            "day",
            "category",
            "severity",
            "platform",
            name=op.f("pk_daily_filings"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "daily_schools",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.Column("delays", sa.LargeBinary(), nullable=False),
        *_foreign_keys("daily_schools", "clusters", "schools"),
        sa.PrimaryKeyConstraint(
            "cluster_id", "day", "school_id", "severity", name=op.f("pk_daily_schools")
        ),
        sqlite_with_rowid=False,
    )
    _fill(op.get_bind())


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fill(bind: sa.Connection) -> None:
    """The figures of the alerts already posted (network/alerts/daily_figures.py, rebuild)."""
    meta = sa.MetaData()
    alerts = sa.Table("alerts", meta, autoload_with=bind)
    copies = sa.Table("alert_recipients", meta, autoload_with=bind)
    filing_table = sa.Table("daily_filings", meta, autoload_with=bind)
    school_table = sa.Table("daily_schools", meta, autoload_with=bind)
    filings: Counter[tuple[object, ...]] = Counter()
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
        day = _utc(created).date()
        filings[(cluster, day, category, severity, platform)] += 1
        sent[(cluster, day, school, severity)] += 1
    received: Counter[tuple[object, ...]] = Counter()
    delays: dict[tuple[object, ...], list[float]] = {}
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
        received[key] += 1
        if acknowledged is not None:
            delays.setdefault(key, []).append(
                float((_utc(acknowledged) - _utc(created)) // microsecond)
            )
    names = ("cluster_id", "day", "category", "severity", "platform")
    rows = [{**dict(zip(names, k, strict=True)), "alerts": n} for k, n in sorted(filings.items())]
    for start in range(0, len(rows), _BATCH):
        bind.execute(filing_table.insert(), rows[start : start + _BATCH])
    rows = []
    for key in sorted(sent.keys() | received.keys()):  # in key order: a period's rows adjacent
        packed = array("d", delays.get(key, []))
        if sys.byteorder == "big":
            packed.byteswap()
        rows.append(
            {
                **dict(zip(("cluster_id", "day", "school_id", "severity"), key, strict=True)),
                "sent": sent[key],
                "received": received[key],
                "acknowledged": len(packed),
                "delays": packed.tobytes(),
            }
        )
    for start in range(0, len(rows), _BATCH):
        bind.execute(school_table.insert(), rows[start : start + _BATCH])


def downgrade() -> None:
    op.drop_table("daily_schools")
    op.drop_table("daily_filings")
