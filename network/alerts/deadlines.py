"""Acknowledgement deadlines: how soon a cluster's schools should acknowledge
an alert of each severity, and which copies are overdue.

One rule serves both the worker's chase (network/notifications/chase.py) and
the coordinator's dashboard (network/dashboard/health.py): Deadlines.due says
when a school's copy falls due, Deadlines.waiting_copies which copies have
passed it. School days follow the school's calendar
(network/alerts/school_calendar.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
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
from network.alerts.school_calendar import ClusterCalendar, SchoolCalendar, cluster_calendars
from network.settings import Settings
from schools import audit, policy
from schools.db import Base
from schools.errors import InvalidInput, Problems
from schools.models import Member, Nation, School, SchoolStatus

# Without a coordinator's choice: urgent within 2 hours, high within one school day.
DEFAULT_DEADLINES: dict[str, tuple[int, str]] = {"urgent": (2, "hours"), "high": (1, "school_days")}
DEADLINE_UNITS = ("hours", "school_days")
# Overdue acknowledgements are chased (and shown) for copies this recent only.
CHASE_WINDOW = timedelta(days=14)
# How far back a school-day cutoff is looked for: past the longest holiday.
SEARCH_LIMIT = timedelta(days=120)
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

    def due(self, start: datetime, tz: ZoneInfo, calendar: SchoolCalendar) -> datetime:
        """When a copy created at ``start`` falls due, for a school keeping
        ``calendar``. Never decreases as ``start`` increases."""
        if self.unit == "hours":
            return start + timedelta(hours=self.amount)
        # School days: the same time of day, that many school days later. A
        # copy that arrives on a day off starts at the beginning of the next
        # school day (so it is due at the end of one, not earlier than a copy
        # sent the school day before, and ``due`` never decreases).
        local = start.astimezone(tz)
        if not calendar.is_school_day(local.date()):
            day = local.date() + timedelta(days=1)
            while not calendar.is_school_day(day):
                day += timedelta(days=1)
            local = datetime.combine(day, time(), tzinfo=tz)
        days = self.amount
        while days > 0:
            local += timedelta(days=1)
            if calendar.is_school_day(local.date()):
                days -= 1
        return local.astimezone(UTC)

    def latest_start(self, now: datetime, tz: ZoneInfo, calendar: SchoolCalendar) -> datetime:
        """The latest creation time whose deadline is at or before ``now``: a
        copy created at or before it is overdue at ``now``. Exact for hours; for
        school days a binary search to the microsecond, which relies on ``due``
        never decreasing as its start increases."""
        if not self.is_set:
            raise ValueError("no deadline, so nothing is ever overdue")
        if self.unit == "hours":
            return now - timedelta(hours=self.amount)
        # n school days usually take at most n weekdays plus the weekends between
        # (3n + 4 days with a daylight-saving hour); holidays and the weeks
        # between terms take longer, so the window widens until it holds a start
        # already due. Past SEARCH_LIMIT nothing the chase looks at is overdue.
        span = timedelta(days=3 * self.amount + 4)
        low = now - span
        while self.due(low, tz, calendar) > now:
            if now - low >= SEARCH_LIMIT:
                return now - SEARCH_LIMIT
            span *= 2
            low = now - span
        high = now  # due(now) > now, since the deadline is set
        # Invariant: due(low) <= now < due(high).
        while high - low > _MICROSECOND:
            middle = low + (high - low) // 2
            if self.due(middle, tz, calendar) <= now:
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
    """The cluster's choice for the severity, else the default."""
    rule = chosen.get(cluster_id, {}).get(severity)
    if rule is not None:
        return rule
    return Deadline(*DEFAULT_DEADLINES.get(severity, (0, "hours")))


def deadlines_for(session: Session, cluster_id: uuid.UUID) -> dict[str, Deadline]:
    chosen = rules(session, cluster_id)
    return {term.code: rule_for(chosen, cluster_id, term.code) for term in vocab.SEVERITIES}


_NO_CALENDAR = ClusterCalendar()


def _nations(rule: Deadline) -> tuple[Nation | None, ...]:
    """Hours pass alike everywhere (None: any nation); school days follow each
    nation's bank holidays."""
    return (None,) if rule.unit == "hours" else tuple(Nation)


@dataclass
class Deadlines:
    """The one place acknowledgement deadlines are computed: the worker's chase
    (network/notifications/chase.py) and the coordinator's dashboard
    (network/dashboard/health.py) both load one and ask it ``due`` (when one
    school's copy falls due) and ``waiting_copies`` (which copies are overdue).

    A copy's deadline follows its cluster's rule for its severity (or the
    default) and, for school days, the receiving school's calendar: its
    nation's bank holidays, its cluster's terms and INSET days
    (network/alerts/school_calendar.py)."""

    chosen: Rules
    calendars: dict[uuid.UUID, ClusterCalendar]
    tz: ZoneInfo
    _cutoffs: dict[tuple[Deadline, SchoolCalendar, datetime], datetime] = field(
        default_factory=dict
    )

    @classmethod
    def load(
        cls, session: Session, settings: Settings, cluster_id: uuid.UUID | None = None
    ) -> Deadlines:
        """Every cluster's rules and calendars (or one's): two queries."""
        return cls(
            rules(session, cluster_id), cluster_calendars(session, cluster_id), local_zone(settings)
        )

    def rule(self, cluster_id: uuid.UUID, severity: str) -> Deadline:
        return rule_for(self.chosen, cluster_id, severity)

    def calendar(self, cluster_id: uuid.UUID, nation: str) -> SchoolCalendar:
        return self.calendars.get(cluster_id, _NO_CALENDAR).for_nation(nation)

    def due(self, cluster_id: uuid.UUID, nation: str, severity: str, start: datetime) -> datetime:
        """When a copy created at ``start`` for a school of ``nation`` in the
        cluster falls due (the severity has a deadline: the caller checks)."""
        return self.rule(cluster_id, severity).due(
            start, self.tz, self.calendar(cluster_id, nation)
        )

    def _cutoff(self, rule: Deadline, calendar: SchoolCalendar, now: datetime) -> datetime:
        key = (rule, calendar, now)
        if key not in self._cutoffs:
            self._cutoffs[key] = rule.latest_start(now, self.tz, calendar)
        return self._cutoffs[key]

    def _overdue(
        self,
        rule: Deadline,
        calendar: SchoolCalendar,
        severity: str,
        nation: Nation | None,
        now: datetime,
    ) -> ColumnElement[bool]:
        condition = and_(
            AlertRecipient.severity == severity,
            AlertRecipient.created_at <= self._cutoff(rule, calendar, now),
        )
        return condition if nation is None else and_(condition, School.nation == nation)

    def past_deadline(self, now: datetime) -> ColumnElement[bool] | None:
        """A condition on alert_recipients joined with schools: the copy's
        deadline has passed at ``now``. Each rule and calendar becomes a
        creation-time cutoff, so the database compares ``created_at`` with a
        constant: per severity and nation for the clusters that chose neither
        rules nor a calendar, per cluster for the others. None when no rule
        applies at all."""
        terms: list[ColumnElement[bool]] = []
        own = sorted(set(self.chosen) | set(self.calendars))
        for severity in sorted(vocab.codes(vocab.SEVERITIES)):
            default = Deadline(*DEFAULT_DEADLINES.get(severity, (0, "hours")))
            for nation in _nations(default):
                if default.is_set:
                    calendar = _NO_CALENDAR.for_nation(nation or Nation.ENGLAND_WALES)
                    condition = self._overdue(default, calendar, severity, nation, now)
                    if own:
                        condition = and_(condition, AlertRecipient.cluster_id.not_in(own))
                    terms.append(condition)
            for cluster_id in own:
                rule = self.rule(cluster_id, severity)
                for nation in _nations(rule) if rule.is_set else ():
                    calendar = self.calendar(cluster_id, nation or Nation.ENGLAND_WALES)
                    condition = self._overdue(rule, calendar, severity, nation, now)
                    terms.append(and_(AlertRecipient.cluster_id == cluster_id, condition))
        return or_(*terms) if terms else None

    def waiting_copies(
        self, now: datetime, cluster_id: uuid.UUID | None = None
    ) -> list[ColumnElement[bool] | TextClause] | None:
        """The overdue rule, for the worker's chase (every cluster) and the
        dashboard (one): copies created within CHASE_WINDOW, not acknowledged,
        not the sender's, past their deadline (past_deadline), of an open
        alert, to a school that is receiving (not suspended). The query joins
        Alert and School. None when no rule applies: nothing is overdue. The
        first conditions are ix_alert_recipients_waiting's, its predicate
        written as the index has it."""
        passed = self.past_deadline(now)
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


def check_deadlines(rules: Mapping[str, Deadline]) -> None:
    """Each severity's rule, every refusal at once (InvalidInputs). Writes nothing."""
    problems = Problems()
    for severity, rule in rules.items():
        if severity not in vocab.codes(vocab.SEVERITIES):
            problems.add(InvalidInput("Unknown severity."))
            continue
        if rule.unit not in DEADLINE_UNITS:
            problems.add(InvalidInput("Choose hours or school days.", field=f"unit_{severity}"))
            continue
        limit = 24 * 14 if rule.unit == "hours" else 10
        if not 0 <= rule.amount <= limit:
            problems.add(
                InvalidInput(
                    f"Enter a number from 0 (no deadline) to {limit}.", field=f"amount_{severity}"
                )
            )
    problems.raise_any()


def set_deadlines(
    session: Session, actor: Member, cluster_id: uuid.UUID, rules: dict[str, Deadline]
) -> dict[str, Deadline]:
    policy.check_sets_deadlines(actor, cluster_id)
    check_deadlines(rules)
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
