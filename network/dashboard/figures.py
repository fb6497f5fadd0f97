"""The dashboard's figures, each computed by the database from metadata alone.

Every function is one aggregate query over indexed columns (alerts by cluster
and creation time; inbox rows by alert); nothing loads alert rows into Python.
Weeks start on Monday and, like all times here, are in UTC.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select, text, tuple_
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


def _week(session: Session, column: ColumnElement[datetime]) -> ColumnElement[str]:
    """Monday of the column's week, as YYYY-MM-DD text, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone("UTC", column)), "YYYY-MM-DD")
    return func.date(column, "-6 days", "weekday 1")


def _seconds_between(
    session: Session, later: ColumnElement[datetime], earlier: ColumnElement[datetime]
) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _percentile(
    session: Session, fraction: float, value: ColumnElement[float]
) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "postgresql":
        return func.percentile_cont(fraction).within_group(value)
    return Function("percentile_cont", value, literal(fraction))


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
    session: Session, cluster_id: uuid.UUID, period: Period, column: ColumnElement[str]
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


def _response_query(
    session: Session, cluster_id: uuid.UUID, period: Period, group: ColumnElement[str]
) -> Select[tuple[str, int, int, float, float]]:
    """Copies received in the period, from ix_alert_recipients_cluster alone
    (cluster, time and severity are copied onto each inbox row); schools are
    joined only for their names and to leave the coordinators' office out."""
    delay = _seconds_between(session, AlertRecipient.acknowledged_at, AlertRecipient.created_at)
    acknowledged_delay = case((AlertRecipient.acknowledged_at.is_not(None), delay))
    return (
        select(
            group.label("key"),
            func.count(),
            func.count(AlertRecipient.acknowledged_at),
            _percentile(session, 0.5, acknowledged_delay),
            _percentile(session, 0.9, acknowledged_delay),
        )
        .select_from(AlertRecipient)
        .join(School, School.id == AlertRecipient.school_id)
        .where(
            AlertRecipient.cluster_id == cluster_id,
            AlertRecipient.created_at >= period.since,
            AlertRecipient.created_at < period.until,
            AlertRecipient.is_sender.is_(False),
            School.kind == SchoolKind.SCHOOL,
        )
        .group_by(group)
    )


def _times(rows: object) -> list[ResponseTimes]:
    result = []
    for key, received, acknowledged, median, p90 in rows:  # type: ignore[attr-defined]
        result.append(
            ResponseTimes(
                str(key),
                int(received),
                int(acknowledged),
                None if median is None else float(median) / 3600,
                None if p90 is None else float(p90) / 3600,
            )
        )
    return result


def response_by_school(
    session: Session, cluster_id: uuid.UUID, period: Period
) -> list[ResponseTimes]:
    """Time from an alert reaching a school to its first acknowledgement."""
    rows = session.execute(
        _response_query(session, cluster_id, period, School.name).order_by(School.name)
    ).all()
    return _times(rows)


def response_by_severity(
    session: Session, cluster_id: uuid.UUID, period: Period
) -> list[ResponseTimes]:
    rows = session.execute(
        _response_query(session, cluster_id, period, AlertRecipient.severity)
    ).all()
    return _times(rows)


@dataclass(frozen=True)
class Responses:
    by_school: list[ResponseTimes]
    by_severity: list[ResponseTimes]
    overall: ResponseTimes


def responses(session: Session, cluster_id: uuid.UUID, period: Period) -> Responses:
    """The three groupings of response times. PostgreSQL computes them in one
    pass (GROUPING SETS) with room to sort in memory; SQLite, which has no
    grouping sets, runs the three grouped queries."""
    if session.get_bind().dialect.name != "postgresql":
        return Responses(
            response_by_school(session, cluster_id, period),
            response_by_severity(session, cluster_id, period),
            response_overall(session, cluster_id, period),
        )
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    base = _response_query(session, cluster_id, period, School.name)
    query = (
        base.with_only_columns(
            School.name,
            AlertRecipient.severity,
            func.grouping(School.name, AlertRecipient.severity).label("level"),
            *base.selected_columns[1:],
        )
        .group_by(None)
        .group_by(
            func.grouping_sets(tuple_(School.name), tuple_(AlertRecipient.severity), tuple_())
        )
    )
    by_school, by_severity, overall = [], [], ResponseTimes("all", 0, 0, None, None)
    for name, severity, level, *figures_ in session.execute(query).all():
        (row,) = _times([("all", *figures_)])
        if level == 1:  # grouped by school only (severity rolled up)
            by_school.append(replace(row, key=str(name)))
        elif level == 2:
            by_severity.append(replace(row, key=str(severity)))
        else:
            overall = row
    by_school.sort(key=lambda r: r.key)
    return Responses(by_school, by_severity, overall)


def response_overall(
    session: Session, cluster_id: uuid.UUID, period: Period, school_id: uuid.UUID | None = None
) -> ResponseTimes:
    query = _response_query(session, cluster_id, period, literal("all"))
    if school_id is not None:
        query = query.where(AlertRecipient.school_id == school_id)
    rows = _times(session.execute(query).all())
    return rows[0] if rows else ResponseTimes("all", 0, 0, None, None)


@dataclass(frozen=True)
class Activity:
    schools: int
    active_schools: int
    suspended_schools: int
    schools_without_keys: int
    members: int
    posting_schools: int


def activity(session: Session, cluster_id: uuid.UUID, period: Period) -> Activity:
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
        or 0
    )
    return Activity(
        int(school_row[0]),
        int(school_row[1]),
        int(school_row[2]),
        int(school_row[3]),
        int(members),
        int(posting),
    )
