"""The dashboard's figures, each computed by the database from metadata alone.

Every function is one aggregate query over indexed columns (alerts by cluster
and creation time; inbox rows by alert); nothing loads alert rows into Python.
Weeks start on Monday and, like all times here, are in UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    SQLColumnExpression,
    and_,
    case,
    func,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import Function

from network.alerts.models import Alert, AlertRecipient
from schools.errors import InvalidInput
from schools.models import Member, MemberStatus, School, SchoolKind, SchoolStatus

MAX_PERIOD_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def weeks(self) -> list[date]:
        first = self.start - timedelta(days=self.start.weekday())
        return [first + timedelta(weeks=n) for n in range((self.end - first).days // 7 + 1)]

    @classmethod
    def parse(
        cls, start: str | None, end: str | None, today: date, default_weeks: int = 8
    ) -> Period:
        try:
            end_date = date.fromisoformat(end) if end else today
        except ValueError:
            raise InvalidInput("Write the end date like 2026-11-30.", field="end") from None
        try:
            start_date = (
                date.fromisoformat(start)
                if start
                else end_date - timedelta(weeks=default_weeks) + timedelta(days=1)
            )
        except ValueError:
            raise InvalidInput("Write the start date like 2026-09-01.", field="start") from None
        if start_date > end_date:
            raise InvalidInput("The start date is after the end date.", field="start")
        if (end_date - start_date).days > MAX_PERIOD_DAYS:
            raise InvalidInput("Choose a period of at most three years.", field="start")
        if start_date.year < 2000 or end_date > today + timedelta(days=366):
            raise InvalidInput("Choose dates between 2000 and next year.", field="start")
        return cls(start_date, end_date)


def _week(session: Session, column: SQLColumnExpression[datetime]) -> ColumnElement[str]:
    """Monday of the column's week, as YYYY-MM-DD text, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone("UTC", column)), "YYYY-MM-DD")
    return func.date(column, "-6 days", "weekday 1")


def _alerts_in(cluster_id: uuid.UUID, period: Period) -> list[ColumnElement[bool]]:
    return [
        Alert.cluster_id == cluster_id,
        Alert.created_at >= period.since,
        Alert.created_at < period.until,
    ]


def weekly_by_category(
    session: Session, cluster_id: uuid.UUID, period: Period
) -> dict[date, dict[str, int]]:
    week = _week(session, Alert.created_at).label("week")
    rows = session.execute(
        select(week, Alert.category, func.count())
        .where(*_alerts_in(cluster_id, period))
        .group_by(week, Alert.category)
    ).all()
    weeks: dict[date, dict[str, int]] = {w: {} for w in period.weeks}
    for week_start, category, count in rows:
        weeks.setdefault(date.fromisoformat(str(week_start)[:10]), {})[category] = int(count)
    return weeks


def counts_by(
    session: Session, cluster_id: uuid.UUID, period: Period, column: SQLColumnExpression[str]
) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count()).where(*_alerts_in(cluster_id, period)).group_by(column)
    ).all()
    return {key: int(count) for key, count in rows}


@dataclass(frozen=True)
class ResponseTimes:
    key: str
    received: int
    acknowledged: int
    median_hours: float | None
    p90_hours: float | None


def _copies_received(cluster_id: uuid.UUID, period: Period) -> list[ColumnElement[bool]]:
    """Copies of alerts posted in the period, as schools received them: from
    ix_alert_recipients_cluster alone (cluster, time and severity are copied
    onto each inbox row), without the sender's own copy or the coordinators'
    office."""
    office = select(School.id).where(
        School.cluster_id == cluster_id, School.kind != SchoolKind.SCHOOL
    )
    return [
        AlertRecipient.cluster_id == cluster_id,
        AlertRecipient.created_at >= period.since,
        AlertRecipient.created_at < period.until,
        AlertRecipient.is_sender.is_(False),
        AlertRecipient.school_id.not_in(office.scalar_subquery()),
    ]


def _response_columns(session: Session) -> list[ColumnElement[Any]]:
    """received, acknowledged, then the median and 90th percentile of the time
    to acknowledge (unacknowledged copies are NULL, which percentiles skip).

    PostgreSQL sorts the intervals once for both fractions; SQLite gets the
    aggregate registered in schools/db.py, over seconds."""
    counts: list[ColumnElement[Any]] = [func.count(), func.count(AlertRecipient.acknowledged_at)]
    if session.get_bind().dialect.name == "postgresql":
        delay = AlertRecipient.acknowledged_at - AlertRecipient.created_at
        fractions = postgresql.array([literal(0.5, Float), literal(0.9, Float)])
        return [*counts, func.percentile_cont(fractions).within_group(delay)]
    seconds = (
        func.julianday(AlertRecipient.acknowledged_at) - func.julianday(AlertRecipient.created_at)
    ) * 86400.0
    return [
        *counts,
        Function("percentile_cont", seconds, literal(0.5)),
        Function("percentile_cont", seconds, literal(0.9)),
    ]


def _hours(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds() / 3600
    return float(value) / 3600  # type: ignore[arg-type]


def _times(key: str, figures_: Sequence[Any]) -> ResponseTimes:
    received, acknowledged, *percentiles = figures_
    if len(percentiles) == 1:  # PostgreSQL: one array of both
        percentiles = list(percentiles[0] or (None, None))
    median, p90 = percentiles
    return ResponseTimes(key, int(received), int(acknowledged), _hours(median), _hours(p90))


@dataclass(frozen=True)
class Responses:
    by_school: list[ResponseTimes]
    by_severity: list[ResponseTimes]
    overall: ResponseTimes


def responses(session: Session, cluster_id: uuid.UUID, period: Period) -> Responses:
    """Time from an alert reaching a school to its first acknowledgement, per
    school (by name), per severity and overall: one pass with GROUPING SETS on
    PostgreSQL, three grouped queries on SQLite (which has none)."""
    where = _copies_received(cluster_id, period)
    columns = _response_columns(session)
    school, severity = AlertRecipient.school_id, AlertRecipient.severity
    grouped = select(school, severity, *columns).where(*where)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        query = grouped.group_by(func.grouping_sets(tuple_(school), tuple_(severity), tuple_()))
        rows = [(r[0], r[1], r[2:]) for r in session.execute(query)]
    else:  # the same three groupings, one query each
        rows = [
            (r[0], r[1], r[2:])
            for by in ((school,), (severity,), ())
            for r in session.execute(
                grouped.with_only_columns(
                    school if by == (school,) else literal(None),
                    severity if by == (severity,) else literal(None),
                    *columns,
                ).group_by(*by)
            )
        ]
    query_names = select(School.id, School.name).where(School.cluster_id == cluster_id)
    names: dict[uuid.UUID, str] = {row.id: row.name for row in session.execute(query_names)}
    by_school, by_severity = [], []
    overall = ResponseTimes("all", 0, 0, None, None)
    for school_id, severity_code, figures_ in rows:
        if school_id is not None:
            by_school.append(_times(names.get(school_id, str(school_id)), figures_))
        elif severity_code is not None:
            by_severity.append(_times(str(severity_code), figures_))
        elif figures_[0]:
            overall = _times("all", figures_)
    by_school.sort(key=lambda r: r.key)
    return Responses(by_school, by_severity, overall)


def response_of_school(
    session: Session, cluster_id: uuid.UUID, period: Period, school_id: uuid.UUID
) -> ResponseTimes:
    """One school's response times (its inbox index: school, time)."""
    row = session.execute(
        select(*_response_columns(session)).where(
            *_copies_received(cluster_id, period), AlertRecipient.school_id == school_id
        )
    ).one()
    return _times("all", row)


@dataclass(frozen=True)
class Activity:
    schools: int
    active_schools: int
    suspended_schools: int
    schools_without_keys: int
    members: int
    posting_schools: int


def activity(session: Session, cluster_id: uuid.UUID, period: Period | None) -> Activity:
    """The cluster's schools and members now, and the schools that posted in
    the period (none counted without one: the daily figures count those)."""
    school_row = session.execute(
        select(
            func.count(),
            func.count(
                case((and_(School.status == SchoolStatus.ACTIVE, School.key_generation > 0), 1))
            ),
            func.count(case((School.status == SchoolStatus.SUSPENDED, 1))),
            func.count(case((School.key_generation == 0, 1))),
        ).where(School.cluster_id == cluster_id, School.kind == SchoolKind.SCHOOL)
    ).one()
    members = (
        session.scalar(
            select(func.count())
            .select_from(Member)
            .join(School, School.id == Member.school_id)
            .where(
                School.cluster_id == cluster_id,
                School.kind == SchoolKind.SCHOOL,
                Member.status == MemberStatus.ACTIVE,
            )
        )
        or 0
    )
    posting = (
        session.scalar(
            select(func.count(func.distinct(Alert.sender_school_id))).where(
                *_alerts_in(cluster_id, period)
            )
        )
        if period is not None
        else 0
    ) or 0
    return Activity(
        int(school_row[0]),
        int(school_row[1]),
        int(school_row[2]),
        int(school_row[3]),
        int(members),
        int(posting),
    )


@dataclass(frozen=True)
class PeriodFigures:
    """Everything the dashboard and the report show for a cluster and a period,
    as the database computed it at ``computed_at``."""

    computed_at: datetime
    weekly: dict[date, dict[str, int]]
    by_severity: dict[str, int]
    by_platform: dict[str, int]
    by_category: dict[str, int]
    responses: Responses
    activity: Activity


def compute(
    session: Session, cluster_id: uuid.UUID, period: Period, now: datetime
) -> PeriodFigures:
    """The period's figures, summed from the per-school daily figures
    (network/dashboard/daily.py): the same numbers as compute_live, without
    counting and sorting every alert and copy of the period."""
    from network.dashboard import daily  # it builds on this module's types

    sent = daily.sent(session, cluster_id, period)
    schools = daily.schools(session, cluster_id, period)
    return PeriodFigures(
        computed_at=now,
        weekly=sent.weekly,
        by_severity=sent.by_severity,
        by_platform=sent.by_platform,
        by_category=sent.by_category,
        responses=schools.responses,
        activity=replace(activity(session, cluster_id, None), posting_schools=schools.posting),
    )


def compute_live(
    session: Session, cluster_id: uuid.UUID, period: Period, now: datetime
) -> PeriodFigures:
    """The same figures from every alert and copy of the period: what the daily
    figures must always equal (the tests compare them; the bench times both)."""
    return PeriodFigures(
        computed_at=now,
        weekly=weekly_by_category(session, cluster_id, period),
        by_severity=counts_by(session, cluster_id, period, Alert.severity),
        by_platform=counts_by(session, cluster_id, period, Alert.platform),
        by_category=counts_by(session, cluster_id, period, Alert.category),
        responses=responses(session, cluster_id, period),
        activity=activity(session, cluster_id, period),
    )
