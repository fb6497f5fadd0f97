"""Dashboard figures computed ahead of time and served from store.

Exact percentiles of a busy period cost the database a sort of every response
time in it (about two seconds for 400,000 acknowledged copies in eight weeks),
while the figures change only as alerts are posted and acknowledged. So the
figures of a cluster and period are stored with the time they were computed,
served while younger than ``ALERTNET_DASHBOARD_MAX_AGE`` (the page shows that
time and offers "Recompute now"), and the worker keeps the default periods of
every cluster fresh so nobody waits for them (docs/dashboard.md, "Freshness").
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from network.dashboard import figures
from network.dashboard.figures import Activity, Period, PeriodFigures, Responses, ResponseTimes
from network.dashboard.models import FigureSnapshot
from schools.models import Cluster

# Bumped when PeriodFigures changes shape: older stored figures are recomputed.
FORMAT = 1
# The periods the pages open on: the dashboard (8 weeks) and the report and a
# head's own figures (13 weeks), each ending today.
DEFAULT_WEEKS = (8, 13)
# Stored figures of other periods are dropped a day after they were computed.
KEEP = timedelta(days=1)


def encode(data: PeriodFigures) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "weekly": {week.isoformat(): counts for week, counts in data.weekly.items()},
        "by_severity": data.by_severity,
        "by_platform": data.by_platform,
        "by_category": data.by_category,
        "responses": {
            "by_school": [asdict(r) for r in data.responses.by_school],
            "by_severity": [asdict(r) for r in data.responses.by_severity],
            "overall": asdict(data.responses.overall),
        },
        "activity": asdict(data.activity),
    }


def decode(stored: dict[str, Any], computed_at: datetime) -> PeriodFigures:
    responses = stored["responses"]
    return PeriodFigures(
        computed_at=computed_at,
        weekly={date.fromisoformat(week): counts for week, counts in stored["weekly"].items()},
        by_severity=stored["by_severity"],
        by_platform=stored["by_platform"],
        by_category=stored["by_category"],
        responses=Responses(
            [ResponseTimes(**r) for r in responses["by_school"]],
            [ResponseTimes(**r) for r in responses["by_severity"]],
            ResponseTimes(**responses["overall"]),
        ),
        activity=Activity(**stored["activity"]),
    )


def stored(session: Session, cluster_id: uuid.UUID, period: Period) -> PeriodFigures | None:
    row = session.execute(
        select(FigureSnapshot.figures, FigureSnapshot.computed_at).where(
            FigureSnapshot.cluster_id == cluster_id,
            FigureSnapshot.period_start == period.start,
            FigureSnapshot.period_end == period.end,
        )
    ).first()
    if row is None or row.figures.get("format") != FORMAT:
        return None
    return decode(row.figures, row.computed_at)


def recompute(
    session: Session, cluster_id: uuid.UUID, period: Period, now: datetime
) -> PeriodFigures:
    """Compute the figures now and store them (replacing what was stored)."""
    data = figures.compute(session, cluster_id, period, now)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {
        "cluster_id": cluster_id,
        "period_start": period.start,
        "period_end": period.end,
        "computed_at": now,
        "figures": encode(data),
    }
    statement = insert(FigureSnapshot).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["cluster_id", "period_start", "period_end"],
            set_={"computed_at": now, "figures": statement.excluded.figures},
        )
    )
    return data


def current(
    session: Session,
    cluster_id: uuid.UUID,
    period: Period,
    now: datetime,
    max_age: timedelta,
) -> PeriodFigures:
    """The stored figures if younger than ``max_age``, else freshly computed ones."""
    data = stored(session, cluster_id, period)
    if data is not None and timedelta(0) <= now - data.computed_at <= max_age:
        return data
    return recompute(session, cluster_id, period, now)


def default_periods(today: date) -> list[Period]:
    return [Period.parse(None, None, today, weeks) for weeks in DEFAULT_WEEKS]


def refresh_defaults(session: Session, now: datetime, max_age: timedelta) -> int:
    """The worker's periodic task: recompute every cluster's default periods
    once their figures are half their allowed age, so the pages always find
    them in store; drop other periods' figures after a day. Returns how many
    periods were recomputed."""
    done = 0
    periods = default_periods(now.date())
    for cluster_id in session.scalars(select(Cluster.id)):
        for period in periods:
            data = stored(session, cluster_id, period)
            if data is None or not timedelta(0) <= now - data.computed_at <= max_age / 2:
                recompute(session, cluster_id, period, now)
                done += 1
    session.execute(delete(FigureSnapshot).where(FigureSnapshot.computed_at < now - KEEP))
    return done
