"""Per-school daily figures behind the coordinator's dashboard
(docs/dashboard.md, "Daily figures"), kept in the same transaction as the
events that change them, so any period's figures are sums over days.

Two tables, both keyed by the alert's cluster and the UTC day it was posted
(the dashboard counts days in UTC):

- ``daily_sent``: alerts a school sent that day, per category, severity and
  platform;
- ``daily_received``: copies a school received that day (never the sender's
  own), per severity, how many it has acknowledged, and the exact time each
  acknowledgement took, in microseconds, so medians and percentiles of any
  period are computed from every value, not estimated.

Posting and acknowledging call ``count_posted`` and ``count_acknowledged``.
Withdrawing and shredding an alert keep its metadata row, which the figures
count as the live queries did, so they change nothing here. ``rebuild``
recomputes everything from the alerts and their copies (``alertnet
dashboard rebuild``, after a restore)."""

from __future__ import annotations

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
from schools.db import Base

MICROSECOND = timedelta(microseconds=1)
# Rows written per statement by a rebuild.
REBUILD_BATCH = 2000


class DailySent(Base):
    """Alerts one school sent on one UTC day, per filing."""

    __tablename__ = "daily_sent"

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    alerts: Mapped[int] = mapped_column(Integer)


class DailyReceived(Base):
    """Copies of one day's alerts one school received, per severity, and its
    acknowledgements of them with the time each took."""

    __tablename__ = "daily_received"

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
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
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _joined(session: Session, kept: Any, added: Any) -> ColumnElement[bytes]:
    """Kept bytes followed by added ones (SQLite's || makes text: cast back)."""
    if session.get_bind().dialect.name == "postgresql":
        return kept.op("||")(added)  # type: ignore[no-any-return]
    return cast(kept.op("||")(added), LargeBinary)


# --- kept as events happen -----------------------------------------------------------------


def count_posted(session: Session, alert: Alert, recipient_ids: Iterable[uuid.UUID]) -> None:
    """An alert was posted to these schools (the sender's own school left out)."""
    day = day_of(alert.created_at)
    insert_ = _insert(session)
    sent = insert_(DailySent).values(
        cluster_id=alert.cluster_id,
        day=day,
        school_id=alert.sender_school_id,
        category=alert.category,
        severity=alert.severity,
        platform=alert.platform,
        alerts=1,
    )
    session.execute(
        sent.on_conflict_do_update(
            index_elements=["cluster_id", "day", "school_id", "category", "severity", "platform"],
            set_={"alerts": DailySent.alerts + 1},
        )
    )
    # In school order, so two postings to overlapping schools lock the rows
    # in the same order and cannot deadlock.
    rows = [
        {
            "cluster_id": alert.cluster_id,
            "day": day,
            "school_id": school_id,
            "severity": alert.severity,
            "received": 1,
            "acknowledged": 0,
            "delays": b"",
        }
        for school_id in sorted(set(recipient_ids) - {alert.sender_school_id})
    ]
    if rows:
        received = insert_(DailyReceived).values(rows)
        session.execute(
            received.on_conflict_do_update(
                index_elements=["cluster_id", "day", "school_id", "severity"],
                set_={"received": DailyReceived.received + 1},
            )
        )


def count_acknowledged(session: Session, copy: AlertRecipient) -> None:
    """A school acknowledged its copy (``copy.acknowledged_at`` is set)."""
    if copy.is_sender or copy.acknowledged_at is None:
        return
    delay = pack([delay_of(copy.created_at, copy.acknowledged_at)])
    statement = _insert(session)(DailyReceived).values(
        cluster_id=copy.cluster_id,
        day=day_of(copy.created_at),
        school_id=copy.school_id,
        severity=copy.severity,
        received=0,  # only if the figures were never built: rebuild() mends them
        acknowledged=1,
        delays=delay,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["cluster_id", "day", "school_id", "severity"],
            set_={
                "acknowledged": DailyReceived.acknowledged + 1,
                "delays": _joined(session, DailyReceived.delays, statement.excluded.delays),
            },
        )
    )


# --- rebuilt from the alerts ---------------------------------------------------------------


@dataclass
class _Received:
    received: int = 0
    delays: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Rebuilt:
    sent_rows: int
    received_rows: int
    alerts: int
    copies: int


def rebuild(session: Session, cluster_id: uuid.UUID | None = None) -> Rebuilt:
    """Recompute the daily figures of one cluster (or all) from the alerts
    and their copies, replacing what was kept. One pass over each table."""
    mine = [] if cluster_id is None else [Alert.cluster_id == cluster_id]
    their = [] if cluster_id is None else [AlertRecipient.cluster_id == cluster_id]
    for table in (DailySent, DailyReceived):
        session.execute(
            delete(table).where(*([] if cluster_id is None else [table.cluster_id == cluster_id]))
        )
    sent: Counter[tuple[Any, ...]] = Counter()
    alerts = 0
    for row in session.execute(
        select(
            Alert.cluster_id,
            Alert.sender_school_id,
            Alert.created_at,
            Alert.category,
            Alert.severity,
            Alert.platform,
        )
        .where(*mine)
        .execution_options(yield_per=10_000)
    ):
        alerts += 1
        sent[(row[0], day_of(row[2]), row[1], row[3], row[4], row[5])] += 1
    received: dict[tuple[Any, ...], _Received] = {}
    copies = 0
    for cluster, school, severity, created, acknowledged in session.execute(
        select(
            AlertRecipient.cluster_id,
            AlertRecipient.school_id,
            AlertRecipient.severity,
            AlertRecipient.created_at,
            AlertRecipient.acknowledged_at,
        )
        .where(AlertRecipient.is_sender.is_(False), *their)
        .execution_options(yield_per=10_000)
    ):
        copies += 1
        kept = received.setdefault((cluster, day_of(created), school, severity), _Received())
        kept.received += 1
        if acknowledged is not None:
            kept.delays.append(delay_of(created, acknowledged))
    sent_keys = ("cluster_id", "day", "school_id", "category", "severity", "platform")
    _insert_rows(
        session,
        DailySent,
        ({**dict(zip(sent_keys, key, strict=True)), "alerts": n} for key, n in sent.items()),
    )
    _insert_rows(
        session,
        DailyReceived,
        (
            {
                **dict(zip(("cluster_id", "day", "school_id", "severity"), key, strict=True)),
                "received": kept.received,
                "acknowledged": len(kept.delays),
                "delays": pack(kept.delays),
            }
            for key, kept in received.items()
        ),
    )
    return Rebuilt(len(sent), len(received), alerts, copies)


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
    sent = {tuple(row) for row in session.execute(select(*DailySent.__table__.c))}
    received = {
        (*row[:-1], tuple(sorted(unpack(row[-1]))))
        for row in session.execute(select(*DailyReceived.__table__.c))
    }
    return sent, received
