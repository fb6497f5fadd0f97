"""The dashboard's figures for any period, summed from the per-school daily
figures (network/alerts/daily_figures.py) instead of counted and sorted from
every alert and copy: two grouped queries over the days of the period.

Counts add up exactly. Medians and 90th percentiles cannot be added, so each
day keeps every acknowledgement's time to the microsecond; the period's are
gathered per school and severity by the database (one bytes value each),
sorted here and interpolated between ranks as PostgreSQL's percentile_cont
does: the same figures as the live queries (figures.py), from far fewer rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, cast, func, literal, select
from sqlalchemy.orm import Session

from network.alerts.daily_figures import DailyReceived, DailySent, unpack
from network.dashboard.figures import Period, Responses, ResponseTimes
from schools.models import School, SchoolKind

MICROSECONDS_PER_HOUR = 3_600_000_000


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """percentile_cont over sorted values: linear between the two nearest ranks."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(value: float | None) -> float | None:
    return None if value is None else value / MICROSECONDS_PER_HOUR


def times(key: str, received: int, ordered: Sequence[float]) -> ResponseTimes:
    return ResponseTimes(
        key,
        received,
        len(ordered),
        _hours(percentile(ordered, 0.5)),
        _hours(percentile(ordered, 0.9)),
    )


@dataclass(frozen=True)
class Sent:
    weekly: dict[date, dict[str, int]]
    by_severity: dict[str, int]
    by_platform: dict[str, int]
    by_category: dict[str, int]
    posting_schools: int


def _days(table: Any, cluster_id: uuid.UUID, period: Period) -> list[ColumnElement[bool]]:
    return [
        table.cluster_id == cluster_id,
        table.day >= period.start,
        table.day <= period.end,
    ]


def sent(session: Session, cluster_id: uuid.UUID, period: Period) -> Sent:
    """Alerts posted in the period: per week and category, per severity, per
    platform, per category, and how many schools posted."""
    where = _days(DailySent, cluster_id, period)
    rows = session.execute(
        select(
            DailySent.day,
            DailySent.category,
            DailySent.severity,
            DailySent.platform,
            func.sum(DailySent.alerts),
        )
        .where(*where)
        .group_by(DailySent.day, DailySent.category, DailySent.severity, DailySent.platform)
    ).all()
    weekly: dict[date, dict[str, int]] = {w: {} for w in period.weeks}
    by_severity: dict[str, int] = {}
    by_platform: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for day, category, severity, platform, count in rows:
        n = int(count)
        if not n:
            continue
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        week = weekly.setdefault(day - timedelta(days=day.weekday()), {})
        week[category] = week.get(category, 0) + n
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_platform[platform] = by_platform.get(platform, 0) + n
        by_category[category] = by_category.get(category, 0) + n
    posting = session.scalar(
        select(func.count(func.distinct(DailySent.school_id))).where(*where, DailySent.alerts > 0)
    )
    return Sent(weekly, by_severity, by_platform, by_category, int(posting or 0))


def _gathered(session: Session) -> ColumnElement[bytes]:
    """Every delay of a group, end to end, as one bytes value."""
    if session.get_bind().dialect.name == "postgresql":
        return func.string_agg(DailyReceived.delays, literal(b"", LargeBinary))
    return cast(func.group_concat(DailyReceived.delays, literal(b"", LargeBinary)), LargeBinary)


def responses(session: Session, cluster_id: uuid.UUID, period: Period) -> Responses:
    """Received, acknowledged, median and 90th percentile of the time to
    acknowledge, per school (by name), per severity and overall, for copies
    of alerts posted in the period: not the sender's own (never kept), nor the
    cluster's coordinators' office, as figures.responses."""
    office = select(School.id).where(
        School.cluster_id == cluster_id, School.kind != SchoolKind.SCHOOL
    )
    rows = session.execute(
        select(
            DailyReceived.school_id,
            DailyReceived.severity,
            func.sum(DailyReceived.received),
            _gathered(session),
        )
        .where(
            *_days(DailyReceived, cluster_id, period),
            DailyReceived.school_id.not_in(office.scalar_subquery()),
        )
        .group_by(DailyReceived.school_id, DailyReceived.severity)
    ).all()
    schools: dict[uuid.UUID, tuple[int, list[float]]] = {}
    severities: dict[str, tuple[int, list[float]]] = {}
    for school_id, severity, received, delays in rows:
        values = unpack(delays).tolist()
        values.sort()
        for groups, key in ((schools, school_id), (severities, severity)):
            count, gathered = groups.get(key, (0, []))
            gathered += values  # sorted runs: the sorts below merge them
            groups[key] = (count + int(received), gathered)
    if not rows:
        return Responses([], [], ResponseTimes("all", 0, 0, None, None))
    names = dict(
        session.execute(select(School.id, School.name).where(School.cluster_id == cluster_id)).all()
    )
    by_school = []
    for school_id, (received, gathered) in schools.items():
        gathered.sort()
        by_school.append(times(names.get(school_id, str(school_id)), received, gathered))
    by_school.sort(key=lambda r: r.key)
    by_severity = []
    every: list[float] = []
    total = 0
    for severity, (received, gathered) in severities.items():
        gathered.sort()
        by_severity.append(times(str(severity), received, gathered))
        every += gathered
        total += received
    every.sort()
    overall = times("all", total, every) if total else ResponseTimes("all", 0, 0, None, None)
    return Responses(by_school, by_severity, overall)
