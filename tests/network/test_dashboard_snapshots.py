"""Dashboard figures served from store: exact, dated, recomputed when too old,
on demand, and ahead of time by the worker."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from network.dashboard import figures, snapshots
from network.dashboard.figures import Period
from network.dashboard.models import FigureSnapshot
from network.db import own_transaction
from network.worker import Worker
from schools.models import Member
from tests.conftest import post_form, sign_in
from tests.network.alerts_helpers import post_as
from tests.network.test_dashboard import PERIOD, history  # noqa: F401  (fixture)

COMPUTED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _post(app, sender_email: str, recipient_ids, now: datetime) -> None:
    with own_transaction(app) as session:
        post_as(session, sender_email, recipient_ids, now)


def _school_of(app, email: str):
    with own_transaction(app) as session:
        return session.scalars(
            select(Member.school_id).where(func.lower(Member.email) == email)
        ).one()


def test_stored_figures_are_the_computed_ones(app, history):  # noqa: F811
    with own_transaction(app) as session:
        live = figures.compute(session, history, PERIOD, COMPUTED)
        snapshots.recompute(session, history, PERIOD, COMPUTED)
    with own_transaction(app) as session:
        kept = snapshots.stored(session, history, PERIOD)
    assert kept == live
    assert kept is not None
    assert kept.responses.overall.median_hours == pytest.approx(2.5)
    assert kept.weekly[date(2026, 11, 2)] == {"harassment": 1, "defamation": 1}


def test_served_while_young_recomputed_when_old(app, history):  # noqa: F811
    age = timedelta(minutes=10)
    with own_transaction(app) as session:
        first = snapshots.current(session, history, PERIOD, COMPUTED, age)
    assert first.computed_at == COMPUTED
    assert sum(first.by_category.values()) == 3
    _post(app, "head@ash.example.org", [_school_of(app, "head@cedar.example.org")], PERIOD.since)
    with own_transaction(app) as session:
        young = snapshots.current(session, history, PERIOD, COMPUTED + age, age)
    assert young.computed_at == COMPUTED
    assert sum(young.by_category.values()) == 3
    later = COMPUTED + age + timedelta(seconds=1)
    with own_transaction(app) as session:
        old = snapshots.current(session, history, PERIOD, later, age)
    assert old.computed_at == later
    assert sum(old.by_category.values()) == 4
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(FigureSnapshot)) == 1


def test_figures_stored_in_an_older_format_are_recomputed(app, history):  # noqa: F811
    with own_transaction(app) as session:
        snapshots.recompute(session, history, PERIOD, COMPUTED)
        session.execute(update(FigureSnapshot).values(figures={"format": 0}))
    with own_transaction(app) as session:
        assert snapshots.stored(session, history, PERIOD) is None
        again = snapshots.current(session, history, PERIOD, COMPUTED, timedelta(hours=1))
    assert sum(again.by_category.values()) == 3


def test_a_clock_set_back_does_not_serve_figures_from_the_future(app, history):  # noqa: F811
    with own_transaction(app) as session:
        snapshots.recompute(session, history, PERIOD, COMPUTED)
        earlier = COMPUTED - timedelta(minutes=1)
        data = snapshots.current(session, history, PERIOD, earlier, timedelta(hours=1))
    assert data.computed_at == earlier


def test_the_worker_keeps_default_periods_fresh_and_drops_old_ones(app, history):  # noqa: F811
    worker = Worker(app)
    now = datetime.now(UTC)
    stale = Period(date(2026, 1, 5), date(2026, 2, 1))
    with own_transaction(app) as session:
        snapshots.recompute(session, history, stale, now - snapshots.KEEP - timedelta(minutes=1))
    done = worker.periodic(now=now)
    assert done["dashboards"] == len(snapshots.DEFAULT_WEEKS)
    with own_transaction(app) as session:
        kept = {
            (row.period_start, row.period_end)
            for row in session.execute(
                select(FigureSnapshot.period_start, FigureSnapshot.period_end)
            )
        }
    assert kept == {(p.start, p.end) for p in snapshots.default_periods(now.date())}
    app.config["ALERTNET"] = dataclasses.replace(
        app.config["ALERTNET"], dashboard_max_age_seconds=600
    )
    worker = Worker(app)
    assert worker.periodic(now=now + timedelta(minutes=4))["dashboards"] == 0
    assert worker.periodic(now=now + timedelta(minutes=6))["dashboards"] == 2


def test_the_page_says_when_its_figures_were_computed_and_recomputes_on_demand(
    app,
    history,  # noqa: F811
):
    app.config["ALERTNET"] = dataclasses.replace(
        app.config["ALERTNET"], dashboard_max_age_seconds=600
    )
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    url = "/cluster/dashboard?start=2026-11-02&end=2026-11-15"
    html = client.get(url).get_data(as_text=True)
    assert '<span class="stat">3</span> alerts in the period' in html
    assert "Figures as of" in html
    _post(app, "head@ash.example.org", [_school_of(app, "head@cedar.example.org")], PERIOD.since)
    html = client.get(url).get_data(as_text=True)
    assert '<span class="stat">3</span> alerts in the period' in html  # from store
    report = client.get("/cluster/report.csv?start=2026-11-02&end=2026-11-15")
    assert "period,2026-11-02 to 2026-11-15,3," in report.get_data(as_text=True)
    response = post_form(
        client,
        "/cluster/dashboard/recompute",
        {"start": "2026-11-02", "end": "2026-11-15"},
        page=url,
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(url)
    html = client.get(url).get_data(as_text=True)
    assert '<span class="stat">4</span> alerts in the period' in html


def test_recomputing_an_absurd_period_is_refused_with_a_message(app, history):  # noqa: F811
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    response = post_form(
        client,
        "/cluster/dashboard/recompute",
        {"start": "2026-11-15", "end": "2026-11-02"},
        page="/cluster/dashboard",
    )
    assert response.status_code == 400
    assert "The start date is after the end date." in response.get_data(as_text=True)


def test_only_a_coordinator_may_recompute(app, history):  # noqa: F811
    app.config["ALERTNET"] = dataclasses.replace(
        app.config["ALERTNET"], dashboard_max_age_seconds=600
    )
    client = app.test_client()
    sign_in(client, "head@ash.example.org")
    client.get("/school/dashboard?start=2026-11-02&end=2026-11-15")  # stores the cluster's
    with own_transaction(app) as session:
        before = session.execute(select(FigureSnapshot.computed_at)).scalars().all()
    response = post_form(
        client,
        "/cluster/dashboard/recompute",
        {"start": "2026-11-02", "end": "2026-11-15"},
        page="/school/dashboard?start=2026-11-02&end=2026-11-15",
    )
    assert response.status_code == 403
    with own_transaction(app) as session:
        assert session.execute(select(FigureSnapshot.computed_at)).scalars().all() == before


def test_recomputing_is_rate_limited_per_coordinator(app, history):  # noqa: F811
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    page = "/cluster/dashboard?start=2026-11-02&end=2026-11-15"
    form = {"start": "2026-11-02", "end": "2026-11-15"}
    statuses = [
        post_form(client, "/cluster/dashboard/recompute", form, page=page).status_code
        for _ in range(11)
    ]
    assert statuses == [303] * 10 + [429]
