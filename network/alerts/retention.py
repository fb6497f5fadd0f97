"""Retention: how long a cluster keeps alerts of each category, legal holds
that keep one alert whatever its period, and the shredder that crypto-shreds
alerts past their period and not held (``shred``, the shredding itself, also
serves a sender withdrawing an alert)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Interval,
    String,
    and_,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network.alerts import search, vocab
from network.alerts.models import (
    Alert,
    AlertIndicator,
    ReadRecord,
    Sealed,
    SealedWrap,
    ThreadItem,
)
from network.alerts.vocab import AlertStatus
from schools import audit, policy
from schools.db import Base, UTCDateTime, utcnow
from schools.errors import Conflict, InvalidInput, NotFound, Problems
from schools.models import Cluster, Member

# Without a coordinator's choice, in days (docs/alerts.md says why each). A
# safeguarding concern can matter until the pupil is an adult and beyond, as
# schools keep child-protection records (until the pupil's 25th birthday);
# allegations about staff are kept for ten years; harassment for the six
# years a civil claim may be brought; defamation's limitation period is one
# year from publication, so two years covers it with time to act.
DEFAULT_RETENTION_DAYS: dict[str, int] = {
    "safeguarding": 25 * 365,
    "staff_conduct": 10 * 365,
    "harassment": 6 * 365,
    "defamation": 2 * 365,
    "staff_named": 2 * 365,
    "under_age": 365,
    "other": 365,
}
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 25 * 366
# Alerts shredded per statement batch (well under SQLite's bound-variable limit).
SHRED_BATCH = 500


class RetentionPeriod(Base):
    """How long a cluster keeps alerts of one category. No row: the default."""

    __tablename__ = "retention_periods"

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)


class LegalHold(Base):
    """A hold on one alert: while open (not released) the shredder keeps it,
    whatever its retention period. Placed and released by the cluster's
    coordinator, both audited."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_alert", "alert_id", "released_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    placed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))

    placed_by: Mapped[Member | None] = relationship(foreign_keys=[placed_by_id])


def _held() -> ColumnElement[bool]:
    """SQL on ``Alert``: an open legal hold keeps it."""
    return exists().where(LegalHold.alert_id == Alert.id, LegalHold.released_at.is_(None))


# --- retention periods ---------------------------------------------------------------------


def periods_for(session: Session, cluster_id: uuid.UUID) -> dict[str, int]:
    """Every category's period for the cluster: its choice, else the default."""
    chosen = {
        row.category: row.days
        for row in session.scalars(
            select(RetentionPeriod).where(RetentionPeriod.cluster_id == cluster_id)
        )
    }
    return {
        term.code: chosen.get(term.code, DEFAULT_RETENTION_DAYS[term.code])
        for term in vocab.CATEGORIES
    }


def expiry(session: Session, cluster_id: uuid.UUID, category: str, posted: datetime) -> datetime:
    """When an alert of the category posted at ``posted`` passes its period."""
    row = session.get(RetentionPeriod, (cluster_id, category))
    days = row.days if row is not None else DEFAULT_RETENTION_DAYS.get(category, 365)
    return posted + timedelta(days=days)


def _plus_days(session: Session, days: int) -> ColumnElement[datetime]:
    """``alerts.created_at`` plus ``days``, in the database's own arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite stores the timestamp as text; datetime() keeps whole seconds,
        # so the recomputed expiry is at most a second early.
        return func.datetime(Alert.created_at, text(f"'+{int(days)} days'"))
    return Alert.created_at + literal(timedelta(days=days), Interval())


def held_too_long(
    session: Session, cluster: Cluster, periods: Mapping[str, int]
) -> list[tuple[str, str]]:
    """(field, message) for each changed period that an alert under an open
    legal hold is already older than: the change would shred it."""
    before = periods_for(session, cluster.id)
    now = utcnow()
    found: list[tuple[str, str]] = []
    for category, days in periods.items():
        if days == before.get(category):
            continue
        oldest_held = session.scalar(
            select(func.min(Alert.created_at)).where(
                Alert.cluster_id == cluster.id,
                Alert.category == category,
                Alert.status != AlertStatus.SHREDDED,
                _held(),
            )
        )
        if oldest_held is not None and oldest_held + timedelta(days=days) <= now:
            age = (now - oldest_held).days
            label = vocab.label(vocab.CATEGORIES, category)
            found.append(
                (
                    f"days_{category}",
                    f"An alert under a legal hold ({label}, posted {oldest_held:%-d %b %Y}) "
                    f"is {age} days old, older than {days} days: release its hold first, "
                    f"or keep these alerts at least {age + 1} days.",
                )
            )
    return found


def check_periods(periods: Mapping[str, int]) -> None:
    """Each period within the limits, every refusal at once (InvalidInputs)."""
    problems = Problems()
    for category, days in periods.items():
        if category not in vocab.codes(vocab.CATEGORIES):
            problems.add(InvalidInput("Unknown category."))
        elif not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
            problems.add(
                InvalidInput(
                    f"Keep alerts between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS:,} days "
                    "(25 years).",
                    field=f"days_{category}",
                )
            )
    problems.raise_any()


def set_retention(
    session: Session, actor: Member | None, cluster: Cluster, periods: Mapping[str, int]
) -> dict[str, int]:
    """The coordinator's periods per category. Alerts already posted follow
    the new period; one that would be past it while under an open legal hold
    refuses the change (release the hold first)."""
    policy.check_cluster(actor, cluster)
    check_periods(periods)
    before = periods_for(session, cluster.id)
    held = held_too_long(session, cluster, periods)
    if held:
        field, message = held[0]
        raise Conflict(message, field=field)
    for category, days in periods.items():
        if days == before[category]:
            continue
        row = session.get(RetentionPeriod, (cluster.id, category))
        if row is None:
            row = RetentionPeriod(cluster_id=cluster.id, category=category)
            session.add(row)
        row.days = days
        session.execute(
            update(Alert)
            .where(
                Alert.cluster_id == cluster.id,
                Alert.category == category,
                Alert.status != AlertStatus.SHREDDED,
            )
            .values(expires_at=_plus_days(session, days))
            .execution_options(synchronize_session=False)
        )
    session.flush()
    after = periods_for(session, cluster.id)
    if after != before:
        audit.record(
            session,
            "cluster.retention_changed",
            actor=actor,
            cluster_id=cluster.id,
            object_type="cluster",
            object_id=cluster.id,
            before=before,
            after=after,
        )
    return after


# --- legal holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldState:
    """What the alert page shows: the open hold (if any), and whether the
    member may place or release one."""

    hold: LegalHold | None
    may_change: bool


def _cluster_of(session: Session, alert_id: uuid.UUID) -> tuple[Alert, Cluster]:
    alert = session.get(Alert, alert_id)
    cluster = session.get(Cluster, alert.cluster_id) if alert is not None else None
    if alert is None or cluster is None:
        raise NotFound("No such alert.")
    return alert, cluster


def open_hold(session: Session, alert_id: uuid.UUID) -> LegalHold | None:
    return session.scalars(
        select(LegalHold).where(LegalHold.alert_id == alert_id, LegalHold.released_at.is_(None))
    ).first()


def hold_state(session: Session, actor: Member, alert: Alert) -> HoldState:
    """The cluster's coordinators place and release holds; everyone who sees
    the alert sees whether it is held."""
    return HoldState(
        open_hold(session, alert.id), policy.sees_cluster_metadata(actor, alert.cluster_id)
    )


def place_hold(session: Session, actor: Member | None, alert_id: uuid.UUID) -> LegalHold:
    """Keep the alert, whatever its retention period, until the hold is released."""
    alert, cluster = _cluster_of(session, alert_id)
    policy.check_cluster(actor, cluster)
    if alert.shredded:
        raise Conflict("This alert was already shredded: there is nothing left to hold.")
    if open_hold(session, alert.id) is not None:
        raise Conflict("This alert is already under a legal hold.")
    hold = LegalHold(
        alert_id=alert.id, placed_at=utcnow(), placed_by_id=actor.id if actor else None
    )
    session.add(hold)
    session.flush()
    audit.record(
        session,
        "alert.legal_hold_placed",
        actor=actor,
        cluster_id=cluster.id,
        object_type="alert",
        object_id=alert.id,
    )
    return hold


def release_hold(session: Session, actor: Member | None, alert_id: uuid.UUID) -> LegalHold:
    """The alert follows its retention period again (and is shredded on the
    next run if already past it)."""
    alert, cluster = _cluster_of(session, alert_id)
    policy.check_cluster(actor, cluster)
    hold = open_hold(session, alert.id)
    if hold is None:
        raise Conflict("This alert is not under a legal hold.")
    hold.released_at = utcnow()
    hold.released_by_id = actor.id if actor else None
    session.flush()
    audit.record(
        session,
        "alert.legal_hold_released",
        actor=actor,
        cluster_id=cluster.id,
        object_type="alert",
        object_id=alert.id,
        placed_at=hold.placed_at.isoformat(),
    )
    return hold


# --- the shredder --------------------------------------------------------------------------


def shred_expired(session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Crypto-shred alerts past their retention period (their cluster's for
    their category, fixed in ``expires_at``) and under no open legal hold:
    ciphertext, wraps and schools' read records are deleted; the metadata
    tombstone and the audit entries stay. A few statements per batch of
    alerts, whatever their threads hold."""
    now = now or utcnow()
    shredded: list[uuid.UUID] = []
    while expired := list(
        session.scalars(
            select(Alert)
            .where(Alert.expires_at <= now, Alert.status != AlertStatus.SHREDDED, ~_held())
            .limit(SHRED_BATCH)
        )
    ):
        shred(session, expired)
        for alert in expired:
            alert.status = AlertStatus.SHREDDED
            alert.shredded_at = now
            audit.record(
                session,
                "alert.shredded",
                school_id=alert.sender_school_id,
                cluster_id=alert.cluster_id,
                object_type="alert",
                object_id=alert.id,
                envelope_hash=alert.envelope_hash,
            )
        session.flush()
        shredded += [alert.id for alert in expired]
    return shredded


def shred(session: Session, alerts: Sequence[Alert], keep: Collection[uuid.UUID] = ()) -> None:
    """Delete the sealed envelopes of these alerts and of their threads' items,
    with every school's wrap of them: no school can open them again, whatever
    it kept. Items named in ``keep`` stay (a withdrawal keeps its own signed
    reason). The rows stay as tombstones; the caller sets their status and
    audits. Used by retention and by a sender withdrawing an alert."""
    ids = [alert.id for alert in alerts]
    items = and_(ThreadItem.alert_id.in_(ids), ThreadItem.id.not_in(list(keep)))
    sealed_ids = [alert.sealed_id for alert in alerts if alert.sealed_id is not None]
    sealed_ids += session.scalars(
        select(ThreadItem.sealed_id).where(items, ThreadItem.sealed_id.is_not(None))
    )
    session.execute(
        update(ThreadItem)
        .where(items)
        .values(sealed_id=None)
        .execution_options(synchronize_session=False)
    )
    for alert in alerts:
        alert.sealed_id = None
    session.flush()
    # The indicator hashes go too: a shredded or withdrawn alert links to nothing.
    session.execute(
        delete(AlertIndicator)
        .where(AlertIndicator.alert_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    # So do the schools' search tokens of its words.
    search.forget(session, ids)
    if sealed_ids:
        # Schools' read records go too: they hold the titles.
        for held in (SealedWrap, ReadRecord):
            session.execute(
                delete(held)
                .where(held.sealed_id.in_(sealed_ids))
                .execution_options(synchronize_session=False)
            )
        session.execute(
            delete(Sealed)
            .where(Sealed.id.in_(sealed_ids))
            .execution_options(synchronize_session=False)
        )
    # Rows loaded before the bulk update still name their envelope.
    for item in session.identity_map.values():
        if isinstance(item, ThreadItem) and item.alert_id in ids and item.id not in keep:
            session.expire(item, ["sealed_id"])
