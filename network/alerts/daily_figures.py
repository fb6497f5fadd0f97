"""Per-school daily figures behind the coordinator's dashboard
(docs/dashboard.md, "Daily figures"), kept in the same transaction as the
events that change them, so any period's figures are sums over days.

Two tables, both keyed by the alert's cluster and the UTC day it was posted
(the dashboard counts days in UTC):

- ``daily_schools``, per school and severity: alerts the school sent that
  day, copies it received (never the sender's own), how many of those it has
  acknowledged, and the exact time each acknowledgement took, in
  microseconds, so medians and percentiles of any period are computed from
  every value, not estimated;
- ``daily_filings``, per category, severity and platform: the cluster's
  alerts, which the dashboard shows only for the whole cluster.

Posting and acknowledging call ``count_posted`` and ``count_acknowledged``.
Withdrawing and shredding an alert keep its metadata row, which the figures
count as the live queries did, so they change nothing here. ``rebuild``
recomputes everything from the alerts and their copies (``alertnet
dashboard rebuild``, after a restore)."""

from __future__ import annotations

import functools
import sys
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    cast,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.alerts.models import Alert, AlertRecipient
from schools.db import Base, table_of

MICROSECOND = timedelta(microseconds=1)
# Rows written per statement by a rebuild.
REBUILD_BATCH = 2000


class DailyFiling(Base):
    """Alerts of one cluster posted on one UTC day, per filing: the dashboard
    shows these for the whole cluster only (schools that posted: DailySchool.sent)."""

    __tablename__ = "daily_filings"
    # Rows kept in key order on SQLite too, so a period is one sequential read.
    __table_args__ = {"sqlite_with_rowid": False}

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    alerts: Mapped[int] = mapped_column(Integer)


class DailySchool(Base):
    """One school's alerts of one UTC day, per severity: those it sent, the
    copies it received, its acknowledgements of them and the time each took."""

    __tablename__ = "daily_schools"
    # Rows kept in key order on SQLite too, so a period is one sequential read
    # rather than a lookup per row.
    __table_args__ = {"sqlite_with_rowid": False}

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer)
    acknowledged: Mapped[int] = mapped_column(Integer)
    # acknowledged_at - created_at of each acknowledged copy, in microseconds,
    # as little-endian float64 (exact below 2**53 microseconds: 285 years),
    # in no particular order: see pack() and unpack().
    delays: Mapped[bytes] = mapped_column(LargeBinary)


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def pack(delays: Iterable[float]) -> bytes:
    values = array("d", delays)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def unpack(data: bytes | None) -> array[float]:
    values = array("d")
    values.frombytes(data or b"")
    if sys.byteorder == "big":
        values.byteswap()
    return values


def delay_of(created_at: datetime, acknowledged_at: datetime) -> float:
    """The time to acknowledge, in whole microseconds (both ends are stored to the microsecond)."""
    return float((acknowledged_at - created_at) // MICROSECOND)


def _insert(session: Session) -> Any:
    return _insert_for(session.get_bind().dialect.name)


def _insert_for(dialect: str) -> Any:
    """The database's INSERT with ON CONFLICT (both dialects have one)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _joined(session: Session, kept: Any, added: Any) -> ColumnElement[bytes]:
    """Kept bytes followed by added ones (SQLite's || makes text: cast back)."""
    if session.get_bind().dialect.name == "postgresql":
        return kept.op("||")(added)  # type: ignore[no-any-return]
    return cast(kept.op("||")(added), LargeBinary)


# --- kept as events happen -----------------------------------------------------------------


def count_posted(session: Session, alert: Alert, school_ids: Iterable[uuid.UUID]) -> None:
    """An alert was posted by its sender to these schools (the sender's own
    school among them or not: it is counted as the sender)."""
    day = day_of(alert.created_at)
    insert_ = _insert(session)
    filing = insert_(DailyFiling).values(
        cluster_id=alert.cluster_id,
        day=day,
        category=alert.category,
        severity=alert.severity,
        platform=alert.platform,
        alerts=1,
    )
    session.execute(
        filing.on_conflict_do_update(
            index_elements=["cluster_id", "day", "category", "severity", "platform"],
            set_={"alerts": DailyFiling.alerts + 1},
        )
    )
    sender = alert.sender_school_id
    # In school order, so two postings to overlapping schools lock the rows
    # in the same order and cannot deadlock.
    rows = [
        {
            "cluster_id": alert.cluster_id,
            "day": day,
            "school_id": school_id,
            "severity": alert.severity,
            "sent": int(school_id == sender),
            "received": int(school_id != sender),
            "acknowledged": 0,
            "delays": b"",
        }
        for school_id in sorted({*school_ids, sender})
    ]
    session.execute(_counted(session.get_bind().dialect.name), rows)


@functools.cache
def _counted(dialect: str) -> Any:
    """The upsert of one school's row of a post, run once per school (one
    statement, compiled once per process: a multi-row VALUES of 31 rows was
    compiled again for every post)."""
    table = table_of(DailySchool)
    statement = _insert_for(dialect)(table)
    return statement.on_conflict_do_update(
        index_elements=["cluster_id", "day", "school_id", "severity"],
        set_={
            "sent": table.c.sent + statement.excluded.sent,
            "received": table.c.received + statement.excluded.received,
        },
    )


def count_acknowledged(session: Session, copy: AlertRecipient) -> None:
    """A school acknowledged its copy (``copy.acknowledged_at`` is set)."""
    if copy.is_sender or copy.acknowledged_at is None:
        return
    delay = pack([delay_of(copy.created_at, copy.acknowledged_at)])
    statement = _insert(session)(DailySchool).values(
        cluster_id=copy.cluster_id,
        day=day_of(copy.created_at),
        school_id=copy.school_id,
        severity=copy.severity,
        sent=0,
        received=0,  # only if the figures were never built: rebuild() mends them
        acknowledged=1,
        delays=delay,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["cluster_id", "day", "school_id", "severity"],
            set_={
                "acknowledged": DailySchool.acknowledged + 1,
                "delays": _joined(session, DailySchool.delays, statement.excluded.delays),
            },
        )
    )


# --- rebuilt from the alerts ---------------------------------------------------------------


@dataclass
class _School:
    sent: int = 0
    received: int = 0
    delays: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Rebuilt:
    filing_rows: int
    school_rows: int
    alerts: int
    copies: int


def rebuild(session: Session, cluster_id: uuid.UUID | None = None) -> Rebuilt:
    """Recompute the daily figures of one cluster (or all) from the alerts
    and their copies, replacing what was kept. One pass over each table."""
    for table in (DailyFiling, DailySchool):
        session.execute(
            delete(table).where(*([] if cluster_id is None else [table.cluster_id == cluster_id]))
        )
    filings: Counter[tuple[Any, ...]] = Counter()
    schools: dict[tuple[Any, ...], _School] = {}
    alerts = 0
    for cluster, sender, created, category, severity, platform in session.execute(
        select(
            Alert.cluster_id,
            Alert.sender_school_id,
            Alert.created_at,
            Alert.category,
            Alert.severity,
            Alert.platform,
        )
        .where(*([] if cluster_id is None else [Alert.cluster_id == cluster_id]))
        .execution_options(yield_per=10_000)
    ):
        alerts += 1
        day = day_of(created)
        filings[(cluster, day, category, severity, platform)] += 1
        schools.setdefault((cluster, day, sender, severity), _School()).sent += 1
    copies = 0
    for cluster, school, severity, created, acknowledged in session.execute(
        select(
            AlertRecipient.cluster_id,
            AlertRecipient.school_id,
            AlertRecipient.severity,
            AlertRecipient.created_at,
            AlertRecipient.acknowledged_at,
        )
        .where(
            AlertRecipient.is_sender.is_(False),
            *([] if cluster_id is None else [AlertRecipient.cluster_id == cluster_id]),
        )
        .execution_options(yield_per=10_000)
    ):
        copies += 1
        kept = schools.setdefault((cluster, day_of(created), school, severity), _School())
        kept.received += 1
        if acknowledged is not None:
            kept.delays.append(delay_of(created, acknowledged))
    filing_keys = ("cluster_id", "day", "category", "severity", "platform")
    _insert_rows(
        session,
        DailyFiling,
        (
            {**dict(zip(filing_keys, key, strict=True)), "alerts": n}
            for key, n in sorted(filings.items())
        ),
    )
    _insert_rows(
        session,
        DailySchool,
        (
            {
                **dict(zip(("cluster_id", "day", "school_id", "severity"), key, strict=True)),
                "sent": kept.sent,
                "received": kept.received,
                "acknowledged": len(kept.delays),
                "delays": pack(kept.delays),
            }
            # In key order: PostgreSQL then reads a period from adjacent pages.
            for key, kept in sorted(schools.items(), key=lambda item: item[0])
        ),
    )
    return Rebuilt(len(filings), len(schools), alerts, copies)


def _insert_rows(session: Session, table: type[Base], rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == REBUILD_BATCH:
            session.execute(insert(table), batch)
            batch = []
    if batch:
        session.execute(insert(table), batch)
    session.flush()


def kept_rows(session: Session) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """Every kept row, with each row's delays sorted: what two ways of
    building the figures are compared by (the tests, after a random history)."""
    filings = {tuple(row) for row in session.execute(select(*DailyFiling.__table__.c))}
    schools = {
        (*row[:-1], tuple(sorted(unpack(row[-1]))))
        for row in session.execute(select(*DailySchool.__table__.c))
    }
    return filings, schools
