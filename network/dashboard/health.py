"""Two live health figures for the coordinator: acknowledgements overdue right
now, and how the cluster's notifications are being delivered.

Like the other figures (network/dashboard/figures.py), both are aggregates the
database computes from metadata; nothing here loads alert or notification rows
beyond the grouped counts and a short list of the most overdue copies.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from network.alerts import vocab
from network.alerts.deadlines import CHASE_WINDOW, Deadlines
from network.alerts.models import Alert, AlertRecipient
from network.dashboard import charts
from network.dashboard.figures import Period
from network.notifications.delivery_log import DELIVERY_LOG_DAYS
from network.notifications.models import Channel, Notification, Status
from network.settings import Settings
from schools.db import utcnow
from schools.models import School, SchoolKind

# How many of the most overdue copies the page lists ("and N more" after them).
OVERDUE_LISTED = 20

# --- overdue acknowledgements -------------------------------------------------------------


@dataclass(frozen=True)
class OverdueSchool:
    """One school's copies overdue now."""

    school: str
    is_office: bool
    count: int
    since: datetime  # the earliest deadline among them: overdue since then


@dataclass(frozen=True)
class OverdueCopy:
    """One school's copy of an alert, still unacknowledged after its deadline."""

    alert_id: uuid.UUID
    school: str
    category: str  # codes; the page shows vocab labels
    severity: str
    posted_at: datetime
    deadline: datetime
    now: datetime

    @property
    def category_label(self) -> str:
        return vocab.label(vocab.CATEGORIES, self.category)

    @property
    def severity_label(self) -> str:
        return vocab.label(vocab.SEVERITIES, self.severity)

    @property
    def overdue_hours(self) -> float:
        return (self.now - self.deadline).total_seconds() / 3600


@dataclass(frozen=True)
class Overdue:
    """Copies overdue at ``now`` among those created in the last CHASE_WINDOW."""

    now: datetime
    window: timedelta
    total: int
    by_school: list[OverdueSchool]  # most overdue copies first
    most_overdue: list[OverdueCopy]  # at most OVERDUE_LISTED, most overdue first
    # Severity code -> the deadline's description ("Within 2 hours"), for every
    # severity that has one.
    deadlines: dict[str, str] = field(default_factory=dict)

    @property
    def more(self) -> int:
        """Overdue copies not in the list."""
        return self.total - len(self.most_overdue)

    @property
    def window_days(self) -> int:
        return self.window.days

    def chart(self) -> charts.HorizontalBars:
        """Overdue copies per school, one bar each (the table beside has the same)."""
        return charts.count_bars([(s.school, s.count) for s in self.by_school], charts.PALETTE[1])


def overdue(session: Session, cluster_id: uuid.UUID, settings: Settings, now: datetime) -> Overdue:
    """Copies whose acknowledgement deadline has passed at ``now``.

    A copy counts when its school has not acknowledged it, the alert is still
    open, the school is receiving (not suspended), the severity has a deadline
    and that deadline (network.alerts.deadlines.Deadlines.due: the cluster's
    rule, in school days the school's calendar), measured from the alert's
    creation, is at or before ``now``. Only copies created within CHASE_WINDOW
    count: the worker chases no older ones. The coordinators' office is
    included, as the worker chases it too.

    Each deadline is turned into a creation-time cutoff in Python
    (Deadlines.past_deadline), so the database only compares ``created_at``
    with a constant per severity and nation: two queries for the rules and the
    calendar, one for the counts and the list together.
    """
    book = Deadlines.load(session, settings, cluster_id)
    described = {
        term.code: rule.describe()
        for term in vocab.SEVERITIES
        if (rule := book.rule(cluster_id, term.code)).is_set
    }
    empty = Overdue(now, CHASE_WINDOW, 0, [], [], described)
    # The chase's rule (Deadlines.waiting_copies): the same copies it chases.
    conditions = book.waiting_copies(now, cluster_id)
    if conditions is None:
        return empty

    # One pass over the waiting copies (each joined to its alert, whose status
    # counts, and school) serves both the counts and the list: a CTE read
    # twice, in one statement of two parts.
    waiting = (
        select(
            School.id.label("school_id"),
            School.name.label("school"),
            School.kind,
            School.nation,
            AlertRecipient.severity,
            AlertRecipient.created_at,
            AlertRecipient.alert_id,
            Alert.category,
        )
        .select_from(AlertRecipient)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .join(School, School.id == AlertRecipient.school_id)
        .where(*conditions)
        .cte("waiting")
    )
    w = waiting.c
    # The list: a deadline depends on the severity and on the school's nation
    # (its school days and holidays), and within both it only grows with the
    # time sent. So the oldest OVERDUE_LISTED copies of each severity and
    # nation hold the OVERDUE_LISTED most overdue of all: the database ranks
    # within each, and Python orders the few rows by their actual deadlines.
    rank = (
        func.row_number()
        .over(
            partition_by=(w.severity, w.nation),
            order_by=(w.created_at, w.alert_id, w.school),
        )
        .label("rank")
    )
    ranked = select(waiting, rank).subquery()
    listed = select(
        literal(True).label("listed"),
        ranked.c.school_id,
        ranked.c.school,
        ranked.c.kind,
        ranked.c.nation,
        ranked.c.severity,
        literal(1).label("count"),
        ranked.c.created_at,
        ranked.c.alert_id,
        ranked.c.category,
    ).where(ranked.c.rank <= OVERDUE_LISTED)
    # Per school and severity: the count, and the oldest copy's time.
    grouped = select(
        literal(False),
        w.school_id,
        w.school,
        w.kind,
        w.nation,
        w.severity,
        func.count(),
        func.min(w.created_at),
        null(),
        null(),
    ).group_by(w.school_id, w.school, w.kind, w.nation, w.severity)
    found = session.execute(union_all(listed, grouped)).all()
    if not found:
        return empty

    # Per school: the count, and the earliest deadline (due() never decreases
    # with its start, so the oldest copy of a severity has its earliest deadline).
    schools: dict[uuid.UUID, OverdueSchool] = {}
    total = 0
    copies = []
    for (
        is_listed,
        school_id,
        name,
        kind,
        nation,
        severity,
        count,
        oldest,
        alert_id,
        category,
    ) in found:
        since = book.due(cluster_id, str(nation), str(severity), oldest)
        if is_listed:
            copies.append(
                OverdueCopy(alert_id, str(name), str(category), str(severity), oldest, since, now)
            )
            continue
        total += int(count)
        known = schools.get(school_id)
        schools[school_id] = OverdueSchool(
            str(name),
            kind == SchoolKind.OFFICE,
            int(count) + (known.count if known else 0),
            min(since, known.since) if known else since,
        )
    by_school = sorted(schools.values(), key=lambda s: (s.since, -s.count, s.school))
    copies.sort(key=lambda c: (c.deadline, c.posted_at, c.school))
    return Overdue(now, CHASE_WINDOW, total, by_school, copies[:OVERDUE_LISTED], described)


# --- notification delivery ----------------------------------------------------------------


@dataclass(frozen=True)
class ChannelHealth:
    """One channel's notifications created in the period, by where they are."""

    channel: str  # the code; ``label`` is what the page shows
    sent: int  # sent, or went out inside a digest
    waiting: int  # not yet tried: pending first attempt, held for a digest, being sent
    retrying: int  # failed at least once, will be tried again
    dead: int  # given up after the configured number of attempts

    @property
    def label(self) -> str:
        return Channel(self.channel).label

    @property
    def total(self) -> int:
        return self.sent + self.waiting + self.retrying + self.dead


@dataclass(frozen=True)
class DeadLetters:
    """Where the dead-lettered notifications were for: whose delivery log shows them."""

    school: str
    is_office: bool
    count: int


@dataclass(frozen=True)
class Delivery:
    period: Period
    channels: list[ChannelHealth]  # in Channel order, only channels with notifications
    dead_by_school: list[DeadLetters]
    # The worker deletes settled notifications older than DELIVERY_LOG_DAYS:
    # before this moment the counts are incomplete.
    pruned_before: datetime
    log_days: int

    @property
    def total(self) -> ChannelHealth:
        return ChannelHealth(
            "all",
            sum(c.sent for c in self.channels),
            sum(c.waiting for c in self.channels),
            sum(c.retrying for c in self.channels),
            sum(c.dead for c in self.channels),
        )

    @property
    def dead(self) -> int:
        return sum(c.dead for c in self.channels)

    @property
    def incomplete(self) -> bool:
        """The period reaches back past what the worker keeps."""
        return self.period.since < self.pruned_before


_SENT = (Status.SENT, Status.DIGESTED)
_WAITING = (Status.HELD, Status.SENDING)


def delivery(
    session: Session, cluster_id: uuid.UUID, period: Period, *, now: datetime | None = None
) -> Delivery:
    """Notifications to the cluster's schools (and office) created in the
    period, per channel: sent, waiting, retrying and dead-lettered. One query
    grouped by channel, status and whether it was tried before; a second, only
    when some were dead-lettered, says for which schools. Cancelled
    notifications (their subscription was deleted) are not counted."""
    now = now or utcnow()
    retried = case((Notification.attempts > 0, 1), else_=0).label("retried")
    in_cluster = [
        School.cluster_id == cluster_id,
        Notification.created_at >= period.since,
        Notification.created_at < period.until,
    ]
    rows = session.execute(
        select(Notification.channel, Notification.status, retried, func.count())
        .select_from(Notification)
        .join(School, School.id == Notification.school_id)
        .where(*in_cluster)
        .group_by(Notification.channel, Notification.status, retried)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for channel, status, was_retried, count in rows:
        if status == Status.PENDING:
            kind = "retrying" if was_retried else "waiting"
        elif status in _SENT:
            kind = "sent"
        elif status in _WAITING:
            kind = "waiting"
        elif status == Status.DEAD:
            kind = "dead"
        else:
            continue  # cancelled
        per = counts.setdefault(str(channel), {})
        per[kind] = per.get(kind, 0) + int(count)
    channels = [
        ChannelHealth(
            c.value,
            counts[c.value].get("sent", 0),
            counts[c.value].get("waiting", 0),
            counts[c.value].get("retrying", 0),
            counts[c.value].get("dead", 0),
        )
        for c in Channel
        if c.value in counts
    ]
    dead_by_school: list[DeadLetters] = []
    if any(c.dead for c in channels):
        dead_by_school = [
            DeadLetters(str(name), kind == SchoolKind.OFFICE, int(count))
            for name, kind, count in session.execute(
                select(School.name, School.kind, func.count())
                .select_from(Notification)
                .join(School, School.id == Notification.school_id)
                .where(*in_cluster, Notification.status == Status.DEAD)
                .group_by(School.name, School.kind)
                .order_by(func.count().desc(), School.name)
            ).all()
        ]
    return Delivery(
        period, channels, dead_by_school, now - timedelta(days=DELIVERY_LOG_DAYS), DELIVERY_LOG_DAYS
    )
