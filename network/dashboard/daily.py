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
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, cast, func, literal, select, text
from sqlalchemy.orm import Session

from network.alerts.daily_figures import DailyFiling, DailySchool, unpack
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


def _days(table: Any, cluster_id: uuid.UUID, period: Period) -> list[ColumnElement[bool]]:
    return [
        table.cluster_id == cluster_id,
        table.day >= period.start,
        table.day <= period.end,
    ]


def sent(session: Session, cluster_id: uuid.UUID, period: Period) -> Sent:
    """Alerts posted in the period: per week and category, per severity, per
    platform and per category (the schools that posted: see responses)."""
    rows = session.execute(
        select(
            DailyFiling.day,
            DailyFiling.category,
            DailyFiling.severity,
            DailyFiling.platform,
            func.sum(DailyFiling.alerts),
        )
        .where(*_days(DailyFiling, cluster_id, period))
        .group_by(DailyFiling.day, DailyFiling.category, DailyFiling.severity, DailyFiling.platform)
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
    return Sent(weekly, by_severity, by_platform, by_category)


@dataclass
class _Group:
    received: int = 0
    delays: list[float] = field(default_factory=list)


def _per_school(
    session: Session, cluster_id: uuid.UUID, period: Period
) -> list[tuple[uuid.UUID, str, int, int, bytes]]:
    """Per school and severity over the period's days: alerts sent, copies
    received, and every delay end to end as one bytes value (``string_agg``
    on PostgreSQL; ``group_concat`` on SQLite, whose text is cast back to
    bytes unchanged)."""
    gathered: ColumnElement[bytes]
    if session.get_bind().dialect.name == "postgresql":
        # The hash of 2,500 groups of delays holds a few megabytes: keep it in memory.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        gathered = func.string_agg(DailySchool.delays, literal(b"", LargeBinary))
    else:
        gathered = cast(
            func.group_concat(DailySchool.delays, literal(b"", LargeBinary)), LargeBinary
        )
    rows = session.execute(
        select(
            DailySchool.school_id,
            DailySchool.severity,
            func.sum(DailySchool.sent),
            func.sum(DailySchool.received),
            gathered,
        )
        .where(*_days(DailySchool, cluster_id, period))
        .group_by(DailySchool.school_id, DailySchool.severity)
    )
    return [(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in rows]


@dataclass(frozen=True)
class Schools:
    responses: Responses
    posting: int  # schools that sent an alert in the period


def schools(session: Session, cluster_id: uuid.UUID, period: Period) -> Schools:
    """Received, acknowledged, median and 90th percentile of the time to
    acknowledge, per school (by name), per severity and overall, for copies
    of alerts posted in the period (not the sender's own: never kept; nor the
    cluster's coordinators' office, as figures.responses); and how many
    schools posted. One grouped query over the period's days."""
    rows = _per_school(session, cluster_id, period)
    # The cluster's schools' names, and which are the coordinators' office: one query.
    names: dict[uuid.UUID, str] = {}
    office: set[uuid.UUID] = set()
    for school_id, name, kind in session.execute(
        select(School.id, School.name, School.kind).where(School.cluster_id == cluster_id)
    ):
        names[school_id] = name
        if kind != SchoolKind.SCHOOL:
            office.add(school_id)
    posting: set[uuid.UUID] = set()
    by_id: dict[uuid.UUID, _Group] = {}
    severities: dict[str, _Group] = {}
    for school_id, severity, sent_, received, delays in rows:
        if sent_:
            posting.add(school_id)
        if not received or school_id in office:
            continue
        values = unpack(delays).tolist()
        values.sort()
        for group in (
            by_id.setdefault(school_id, _Group()),
            severities.setdefault(severity, _Group()),
        ):
            group.received += int(received)
            group.delays += values  # sorted runs: the sorts below merge them
    if not by_id:
        return Schools(Responses([], [], ResponseTimes("all", 0, 0, None, None)), len(posting))
    by_school = []
    for school_id, group in by_id.items():
        group.delays.sort()
        by_school.append(times(names.get(school_id, str(school_id)), group.received, group.delays))
    by_school.sort(key=lambda r: r.key)
    by_severity = []
    every: list[float] = []
    total = 0
    for severity, group in severities.items():
        group.delays.sort()
        by_severity.append(times(str(severity), group.received, group.delays))
        every += group.delays
        total += group.received
    every.sort()
    return Schools(Responses(by_school, by_severity, times("all", total, every)), len(posting))
