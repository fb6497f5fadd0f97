"""The per-school daily figures: kept as alerts are posted, acknowledged,
withdrawn and shredded, they always equal a rebuild from scratch, and the
dashboard's figures summed from them equal the live aggregate queries."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from network.alerts import withdrawal
from network.alerts.daily_figures import DailyFiling, DailySchool, kept_rows, rebuild
from network.alerts.retention import shred_expired
from network.cli import main
from network.dashboard import figures, snapshots
from network.dashboard.figures import Period
from network.db import own_transaction
from schools.models import Member, Role
from tests.network.alerts_helpers import acknowledge_as, keys_of, post_as

NAMES = ("Ash", "Beech", "Cedar", "Damson")
SEVERITIES = ("info", "low", "medium", "high", "urgent")
CATEGORIES = ("harassment", "defamation", "other", "under_age")
PLATFORMS = ("instagram", "facebook", "tiktok")
START = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)


@pytest.fixture
def orchard(app, world):
    cluster = world.cluster("Orchard")
    people = {}
    for name in NAMES:
        school = world.school(cluster, name)
        people[name] = world.person(
            Role.HEAD, f"head@{name.lower()}.example.org", school=school, name=f"Head of {name}"
        )
    world.person(Role.COORDINATOR, "coord@orchard.example.org", cluster=cluster)
    with own_transaction(app) as session:
        ids = {n: session.get(Member, p.member.id).school_id for n, p in people.items()}
    return cluster.id, {n: (p.email, ids[n]) for n, p in people.items()}


def _random_history(app, orchard, seed: int) -> None:
    """Posts (some to the coordinators' office, some near midnight), acks after
    seconds to days (with microseconds), withdrawals and a retention run."""
    rng = random.Random(seed)
    _, people = orchard
    posted: list[tuple[object, datetime, list[str]]] = []
    waiting: list[tuple[object, str, datetime]] = []
    for _ in range(16):
        sender = rng.choice(NAMES)
        others = [n for n in NAMES if n != sender]
        to = rng.sample(others, rng.randint(1, len(others)))
        at = START + timedelta(
            days=rng.randint(0, 20), seconds=rng.choice([0, 86399, rng.randint(0, 86399)])
        )
        at += timedelta(microseconds=rng.randint(0, 999_999))
        with own_transaction(app) as session:
            alert = post_as(
                session,
                people[sender][0],
                [people[n][1] for n in to],
                at,
                rng.choice(SEVERITIES),
                rng.choice(CATEGORIES),
                rng.choice(PLATFORMS),
                coordinator=rng.random() < 0.3,
            )
        posted.append((alert.id, at, [sender]))
        waiting += [(alert.id, n, at) for n in to]
        rng.shuffle(waiting)
        while waiting and rng.random() < 0.6:
            alert_id, name, at = waiting.pop()
            delay = timedelta(seconds=rng.randint(1, 3 * 86400), microseconds=rng.randint(0, 999))
            with own_transaction(app) as session:
                acknowledge_as(session, people[name][0], alert_id, at + delay)
        if rng.random() < 0.25:  # withdrawn: its copies still waiting never will be acknowledged
            alert_id, _, (sender_name,) = posted.pop(rng.randrange(len(posted)))
            with own_transaction(app) as session:
                member, keys = keys_of(session, people[sender_name][0])
                withdrawal.withdraw(session, member, keys, alert_id, "Posted in error.")
            waiting = [w for w in waiting if w[0] != alert_id]
    with own_transaction(app) as session:
        shred_expired(session, START + timedelta(days=400))  # "other" and "under_age" go


def _everything(app):
    with own_transaction(app) as session:
        return kept_rows(session)


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_figures_equal_a_rebuild_after_a_random_history(app, orchard, seed):
    _random_history(app, orchard, seed)
    kept = _everything(app)
    assert kept[0]  # something was counted
    assert kept[1]
    with own_transaction(app) as session:
        rebuild(session)
    assert _everything(app) == kept


def test_the_dashboard_summed_from_days_equals_the_live_queries(app, orchard):
    cluster_id, _ = orchard
    _random_history(app, orchard, 3)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for period in (
        Period(date(2026, 10, 1), date(2026, 11, 30)),
        Period(date(2026, 10, 9), date(2026, 10, 17)),  # days cut at both ends
        Period(date(2026, 10, 12), date(2026, 10, 12)),
    ):
        with own_transaction(app) as session:
            summed = figures.compute(session, cluster_id, period, now)
            live = figures.compute_live(session, cluster_id, period, now)
        assert summed.weekly == live.weekly
        assert (summed.by_severity, summed.by_platform, summed.by_category) == (
            live.by_severity,
            live.by_platform,
            live.by_category,
        )
        assert summed.activity == live.activity
        for mine, theirs in (
            *zip(summed.responses.by_school, live.responses.by_school, strict=True),
            *zip(
                sorted(summed.responses.by_severity, key=lambda r: r.key),
                sorted(live.responses.by_severity, key=lambda r: r.key),
                strict=True,
            ),
            (summed.responses.overall, live.responses.overall),
        ):
            assert (mine.key, mine.received, mine.acknowledged) == (
                theirs.key,
                theirs.received,
                theirs.acknowledged,
            )
            for a, b in (
                (mine.median_hours, theirs.median_hours),
                (mine.p90_hours, theirs.p90_hours),
            ):
                assert (a is None) == (b is None)
                if a is not None:
                    assert a == pytest.approx(b, abs=1e-6)  # to well under a second


def test_an_acknowledgement_adds_its_exact_time_to_its_day(app, orchard):
    cluster_id, people = orchard
    posted = datetime(2026, 11, 9, 23, 59, 59, 500_000, tzinfo=UTC)  # Monday night
    with own_transaction(app) as session:
        alert = post_as(session, people["Ash"][0], [people["Beech"][1]], posted, "urgent")
    with own_transaction(app) as session:
        acknowledge_as(
            session, people["Beech"][0], alert.id, posted + timedelta(hours=1, microseconds=7)
        )
    with own_transaction(app) as session:
        ash, beech = (
            session.scalars(select(DailySchool).where(DailySchool.school_id == people[n][1])).one()
            for n in ("Ash", "Beech")
        )
        filing = session.scalars(select(DailyFiling)).one()
        data = figures.compute(session, cluster_id, Period(posted.date(), posted.date()), posted)
    assert (beech.day, beech.sent, beech.received, beech.acknowledged) == (
        date(2026, 11, 9),
        0,
        1,
        1,
    )
    assert (ash.sent, ash.received, ash.delays) == (1, 0, b"")
    assert (filing.day, filing.alerts, filing.severity) == (date(2026, 11, 9), 1, "urgent")
    assert data.responses.overall.median_hours == (3_600_000_007 / 3_600_000_000)


def test_the_rebuild_command_restores_figures_lost_in_a_restore(app, orchard, runner):
    cluster_id, people = orchard
    with own_transaction(app) as session:
        alert = post_as(session, people["Ash"][0], [people["Beech"][1]], START, "high")
        acknowledge_as(session, people["Beech"][0], alert.id, START + timedelta(hours=2))
    period = Period(START.date(), START.date() + timedelta(days=6))
    with own_transaction(app) as session:
        snapshots.recompute(session, cluster_id, period, START)
        before = kept_rows(session)
        for table in (DailyFiling, DailySchool):  # as if restored without them
            session.execute(delete(table))
    result = runner.invoke(main, ["dashboard", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "of 1 alerts and 1 copies" in result.output
    with own_transaction(app) as session:
        assert kept_rows(session) == before
        assert snapshots.stored(session, cluster_id, period) is None  # recomputed on next view
        data = figures.compute(session, cluster_id, period, START)
    assert data.responses.overall.median_hours == pytest.approx(2.0)
    result = runner.invoke(main, ["dashboard", "rebuild", "--cluster", "Orchard"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["dashboard", "rebuild", "--cluster", "Nowhere"])
    assert result.exit_code == 2
    assert "No cluster is called 'Nowhere'." in result.output
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(DailyFiling)) == 1


def test_the_migration_fills_the_figures_of_alerts_already_posted(app, orchard):
    from alembic import command

    from network.db import engine
    from network.migrate import config, upgrade

    _random_history(app, orchard, 4)
    kept = _everything(app)
    engine(app).dispose()
    command.downgrade(config(app), "0026-1")  # to the revision before it
    upgrade(app)  # 0024 creates the tables and fills them from the alerts
    assert _everything(app) == kept
