"""Acknowledgement deadlines: how soon a cluster's schools should acknowledge
an alert of each severity, and which copies are overdue.

One rule serves both the worker's chase (network/notifications/chase.py) and
the coordinator's dashboard (network/dashboard/health.py): rule_for says what
a copy's deadline is, waiting_copies which copies have passed it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Integer,
    String,
    TextClause,
    and_,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.alerts import vocab
from network.alerts.models import Alert, AlertRecipient, not_senders_copy
from network.settings import Settings
from schools import audit, policy
from schools.db import Base
from schools.errors import InvalidInput
from schools.models import Member, School, SchoolStatus

# Without a coordinator's choice: urgent within 2 hours, high within one school day.
DEFAULT_DEADLINES: dict[str, tuple[int, str]] = {"urgent": (2, "hours"), "high": (1, "school_days")}
DEADLINE_UNITS = ("hours", "school_days")
# Overdue acknowledgements are chased (and shown) for copies this recent only.
CHASE_WINDOW = timedelta(days=14)
_MICROSECOND = timedelta(microseconds=1)


class AckDeadline(Base):
    """How soon a cluster's schools should acknowledge an alert of one severity.

    No row: the default (docs/notifications.md). ``amount`` 0: no deadline.
    """

    __tablename__ = "ack_deadlines"
    __table_args__ = (CheckConstraint("unit IN ('hours', 'school_days')", name="unit"),)

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))


def local_zone(settings: Settings) -> ZoneInfo:
    """The hub's clock (ALERTNET_TIME_ZONE): school days, digest times and the
    times people read are counted on it."""
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Deadline:
    amount: int
    unit: str

    @property
    def is_set(self) -> bool:
        return self.amount > 0

    def due(self, start: datetime, tz: ZoneInfo) -> datetime:
        if self.unit == "hours":
            return start + timedelta(hours=self.amount)
        # School days: the same time of day, that many weekdays later.
        local = start.astimezone(tz)
        days = self.amount
        while days > 0:
            local += timedelta(days=1)
            if local.weekday() < 5:
                days -= 1
        return local.astimezone(UTC)

    def latest_start(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The latest creation time whose deadline is at or before ``now``: a
        copy created at or before it is overdue at ``now``. Exact for hours; for
        school days a binary search to the microsecond, which relies on ``due``
        never decreasing as its start increases."""
        if not self.is_set:
            raise ValueError("no deadline, so nothing is ever overdue")
        if self.unit == "hours":
            return now - timedelta(hours=self.amount)
        # n school days never take longer than n weekdays plus every weekend in
        # between (two days per five) plus a daylight-saving hour: 3n + 4 days is ample.
        low = now - timedelta(days=3 * self.amount + 4)
        high = now  # due(now) > now, since the deadline is set
        # Invariant: due(low) <= now < due(high).
        while high - low > _MICROSECOND:
            middle = low + (high - low) // 2
            if self.due(middle, tz) <= now:
                low = middle
            else:
                high = middle
        return low

    def describe(self) -> str:
        if not self.is_set:
            return "No deadline"
        unit = {"hours": "hour", "school_days": "school day"}[self.unit]
        return f"Within {self.amount} {unit}{'s' if self.amount != 1 else ''}"


#: Each cluster's chosen rules: cluster id -> severity -> Deadline (see rules()).
Rules = dict[uuid.UUID, dict[str, Deadline]]


def rules(session: Session, cluster_id: uuid.UUID | None = None) -> Rules:
    """The rules coordinators chose (every cluster's, or one's), in one query.
    A severity without a row follows DEFAULT_DEADLINES: see rule_for."""
    query = select(AckDeadline)
    if cluster_id is not None:
        query = query.where(AckDeadline.cluster_id == cluster_id)
    chosen: Rules = {}
    for row in session.scalars(query):
        chosen.setdefault(row.cluster_id, {})[row.severity] = Deadline(row.amount, row.unit)
    return chosen


def rule_for(chosen: Rules, cluster_id: uuid.UUID, severity: str) -> Deadline:
    """The one rule: the cluster's choice for the severity, else the default."""
    rule = chosen.get(cluster_id, {}).get(severity)
    if rule is not None:
        return rule
    return Deadline(*DEFAULT_DEADLINES.get(severity, (0, "hours")))


def deadlines_for(session: Session, cluster_id: uuid.UUID) -> dict[str, Deadline]:
    chosen = rules(session, cluster_id)
    return {term.code: rule_for(chosen, cluster_id, term.code) for term in vocab.SEVERITIES}


def past_deadline(chosen: Rules, now: datetime, tz: ZoneInfo) -> ColumnElement[bool] | None:
    """A condition on alert_recipients: the copy's acknowledgement deadline
    (rule_for: its cluster's rule for its severity, or the default) has passed
    at ``now``. Each rule becomes a creation-time cutoff, so the database
    compares ``created_at`` with a constant. None when no rule applies at all.
    With the rules of one cluster only, the caller limits the copies to it
    (waiting_copies does)."""
    terms: list[ColumnElement[bool]] = []
    chosen_for: dict[str, list[uuid.UUID]] = {}
    for cluster_id, by_severity in chosen.items():
        for severity, rule in by_severity.items():
            chosen_for.setdefault(severity, []).append(cluster_id)
            if rule.is_set:
                terms.append(
                    and_(
                        AlertRecipient.cluster_id == cluster_id,
                        AlertRecipient.severity == severity,
                        AlertRecipient.created_at <= rule.latest_start(now, tz),
                    )
                )
    for severity, (amount, unit) in DEFAULT_DEADLINES.items():
        rule = Deadline(amount, unit)
        if rule.is_set:
            term = and_(
                AlertRecipient.severity == severity,
                AlertRecipient.created_at <= rule.latest_start(now, tz),
            )
            if severity in chosen_for:
                term = and_(term, AlertRecipient.cluster_id.not_in(chosen_for[severity]))
            terms.append(term)
    return or_(*terms) if terms else None


def waiting_copies(
    now: datetime, tz: ZoneInfo, chosen: Rules, cluster_id: uuid.UUID | None = None
) -> list[ColumnElement[bool] | TextClause] | None:
    """The overdue rule, for the worker's chase (every cluster) and the
    dashboard (one): copies created within CHASE_WINDOW, not acknowledged, not
    the sender's, past their deadline (past_deadline, with ``chosen`` from
    rules()), of an open alert, to a school that is receiving (not suspended).
    The query joins Alert and School. None when no rule applies: nothing is
    overdue. The first conditions are ix_alert_recipients_waiting's, its
    predicate written as the index has it."""
    passed = past_deadline(chosen, now, tz)
    if passed is None:
        return None
    conditions: list[ColumnElement[bool] | TextClause] = []
    if cluster_id is not None:
        conditions.append(AlertRecipient.cluster_id == cluster_id)
    conditions += [
        AlertRecipient.created_at >= now - CHASE_WINDOW,
        AlertRecipient.acknowledged_at.is_(None),
        not_senders_copy(),
        passed,
        Alert.status == "open",
        School.status == SchoolStatus.ACTIVE,  # a suspended school receives nothing
    ]
    return conditions


def set_deadlines(
    session: Session, actor: Member, cluster_id: uuid.UUID, rules: dict[str, Deadline]
) -> dict[str, Deadline]:
    policy.check_sets_deadlines(actor, cluster_id)
    for severity, rule in rules.items():
        if severity not in vocab.codes(vocab.SEVERITIES):
            raise InvalidInput("Unknown severity.")
        if rule.unit not in DEADLINE_UNITS:
            raise InvalidInput("Choose hours or school days.", field=f"unit_{severity}")
        limit = 24 * 14 if rule.unit == "hours" else 10
        if not 0 <= rule.amount <= limit:
            raise InvalidInput(
                f"Enter a number from 0 (no deadline) to {limit}.", field=f"amount_{severity}"
            )
    before = {k: v.describe() for k, v in deadlines_for(session, cluster_id).items()}
    for severity, rule in rules.items():
        row = session.get(AckDeadline, (cluster_id, severity))
        if row is None:
            row = AckDeadline(cluster_id=cluster_id, severity=severity)
            session.add(row)
        row.amount, row.unit = rule.amount, rule.unit
    session.flush()
    after = deadlines_for(session, cluster_id)
    audit.record(
        session,
        "ack_deadlines.changed",
        actor=actor,
        cluster_id=cluster_id,
        object_type="cluster",
        object_id=cluster_id,
        before=before,
        after={k: v.describe() for k, v in after.items()},
    )
    return after
