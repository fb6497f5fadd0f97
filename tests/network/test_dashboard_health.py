"""The dashboard's live health figures: acknowledgements overdue now, and the
delivery of the period's notifications, against known histories."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from network.alerts import closing
from network.alerts.deadlines import CHASE_WINDOW, Deadline, set_deadlines
from network.dashboard import health, report
from network.dashboard.figures import Period
from network.db import own_transaction
from network.notifications.models import Channel, Notification, Status
from schools import directory
from schools.db import utcnow
from schools.models import Cluster, Role, School, SchoolKind
from tests.conftest import World, sign_in
from tests.network.alerts_helpers import acknowledge_as, keys_of, post_as
from tests.network.alerts_helpers import nov as _nov

LONDON = ZoneInfo("Europe/London")
MICROSECOND = timedelta(microseconds=1)


# --- overdue acknowledgements: a known history --------------------------------------------


def _post(
    session, sender_email, recipients, posted, severity, category="harassment", coordinator=False
):
    return post_as(
        session, sender_email, recipients, posted, severity, category, coordinator=coordinator
    ).id


def _heads(world: World, cluster: Cluster, names: tuple[str, ...]) -> dict[str, uuid.UUID]:
    schools = {}
    for name in names:
        school = world.school(cluster, name)
        world.person(Role.HEAD, f"head@{name.lower()}.example.org", school=school)
        schools[name] = school.id
    return schools


A7_POSTED = datetime(2026, 10, 20, 10, tzinfo=UTC)


@pytest.fixture
def story(app, world):
    """Riverside: Ash, Beech, Cedar and Damson (suspended), with the default
    deadlines (urgent: 2 hours; high: 1 school day). West: Elm and Fir."""
    riverside = world.cluster("Riverside")
    ids = _heads(world, riverside, ("Ash", "Beech", "Cedar", "Damson"))
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=riverside)
    west = world.cluster("West")
    west_ids = _heads(world, west, ("Elm", "Fir"))
    ash, beech, cedar = "head@ash.example.org", "head@beech.example.org", "head@cedar.example.org"
    alerts: dict[str, uuid.UUID] = {}
    with own_transaction(app) as session:
        # Urgent, Monday 05:00, due 07:00: Beech acknowledged late, Cedar never.
        alerts["A1"] = _post(session, ash, [ids["Beech"], ids["Cedar"]], _nov(16, 5), "urgent")
        acknowledge_as(session, beech, alerts["A1"], _nov(16, 9))
        # Urgent, Monday 09:00, due 11:00.
        alerts["A2"] = _post(session, beech, [ids["Ash"]], _nov(16, 9), "urgent", "defamation")
        # High, Friday 12:00: one school day later is Monday 12:00.
        alerts["A3"] = _post(session, cedar, [ids["Ash"], ids["Beech"]], _nov(13, 12), "high")
        # High, Thursday 09:00, due Friday 09:00.
        alerts["A4"] = _post(session, ash, [ids["Beech"]], _nov(12, 9), "high", "staff_named")
        # Urgent to Damson, suspended since: not chased, not counted.
        alerts["A5"] = _post(session, ash, [ids["Damson"]], _nov(16, 4), "urgent")
        # Urgent, resolved by its sender: nothing left to acknowledge.
        alerts["A6"] = _post(session, beech, [ids["Cedar"]], _nov(16, 3), "urgent")
        # Urgent, long before the chase window.
        alerts["A7"] = _post(
            session, ash, [ids["Cedar"]], datetime(2026, 10, 20, 10, tzinfo=UTC), "urgent"
        )
        # Info: no deadline.
        alerts["A9"] = _post(session, ash, [ids["Cedar"]], _nov(13, 9), "info")
        # Urgent, Monday 06:00, to Ash and the coordinators' office: Ash acknowledged.
        alerts["A10"] = _post(
            session, cedar, [ids["Ash"]], _nov(16, 6), "urgent", "safeguarding", coordinator=True
        )
        acknowledge_as(session, ash, alerts["A10"], _nov(16, 6, 30))
        # Another cluster's overdue copy.
        alerts["A8"] = _post(
            session, "head@elm.example.org", [west_ids["Fir"]], _nov(16, 5), "urgent"
        )
    with own_transaction(app) as session:
        member, keys = keys_of(session, "head@beech.example.org")
        closing.resolve(session, member, keys, alerts["A6"], "Dealt with.", confirmed=True)
        directory.suspend_school(session, None, session.get(School, ids["Damson"]), "Unpaid.")
    return {"cluster": riverside.id, "west": west.id, "alerts": alerts}


def _overdue(app, cluster_id, now) -> health.Overdue:
    with own_transaction(app) as session:
        return health.overdue(session, cluster_id, app.config["ALERTNET"], now)


def _schools(result: health.Overdue) -> list[tuple[str, int, datetime]]:
    return [(s.school, s.count, s.since) for s in result.by_school]


OFFICE = "Coordinators of Riverside"


def test_overdue_on_monday_morning(app, story):
    result = _overdue(app, story["cluster"], _nov(16, 10))
    assert result.total == 3
    # Beech's high alert since Friday; Cedar never acknowledged A1; the office
    # never acknowledged A10. Not Ash (sender of A1 and A4: its own copies), not
    # Beech's late acknowledgement of A1, not Damson (suspended), not A6
    # (resolved), not A7 (before the window), not A9 (no deadline), not West.
    assert _schools(result) == [
        ("Beech", 1, _nov(13, 9)),
        ("Cedar", 1, _nov(16, 7)),
        (OFFICE, 1, _nov(16, 8)),
    ]
    assert [s.is_office for s in result.by_school] == [False, False, True]
    listed = [
        (c.school, c.alert_id, c.category_label, c.severity_label, c.posted_at, c.deadline)
        for c in result.most_overdue
    ]
    a = story["alerts"]
    assert listed == [
        ("Beech", a["A4"], "Staff named or discussed", "High", _nov(12, 9), _nov(13, 9)),
        ("Cedar", a["A1"], "Harassment or bullying", "Urgent", _nov(16, 5), _nov(16, 7)),
        (OFFICE, a["A10"], "Safeguarding: pupils identifiable", "Urgent", _nov(16, 6), _nov(16, 8)),
    ]
    assert [c.overdue_hours for c in result.most_overdue] == [73.0, 3.0, 2.0]
    assert result.more == 0
    assert result.window == CHASE_WINDOW
    assert result.deadlines == {"high": "Within 1 school day", "urgent": "Within 2 hours"}


def test_overdue_at_noon_on_monday_includes_fridays_high_alert(app, story):
    result = _overdue(app, story["cluster"], _nov(16, 12))
    assert result.total == 6
    assert _schools(result) == [
        ("Beech", 2, _nov(13, 9)),
        ("Cedar", 1, _nov(16, 7)),
        (OFFICE, 1, _nov(16, 8)),
        ("Ash", 2, _nov(16, 11)),
    ]
    a = story["alerts"]
    assert [(c.school, c.alert_id) for c in result.most_overdue] == [
        ("Beech", a["A4"]),
        ("Cedar", a["A1"]),
        (OFFICE, a["A10"]),
        ("Ash", a["A2"]),
        ("Ash", a["A3"]),  # due exactly now: overdue
        ("Beech", a["A3"]),
    ]


@pytest.mark.parametrize("now", [_nov(14, 10), _nov(15, 10)])
def test_over_the_weekend_only_thursdays_high_alert_is_overdue(app, story, now):
    """Thursday's high alert fell due on Friday; Friday's falls due on Monday."""
    result = _overdue(app, story["cluster"], now)
    assert result.total == 1
    assert _schools(result) == [("Beech", 1, _nov(13, 9))]


def test_fridays_high_alert_falls_due_at_noon_on_monday(app, story):
    result = _overdue(app, story["cluster"], _nov(16, 12) - MICROSECOND)
    assert result.total == 4
    assert _schools(result) == [
        ("Beech", 1, _nov(13, 9)),
        ("Cedar", 1, _nov(16, 7)),
        (OFFICE, 1, _nov(16, 8)),
        ("Ash", 1, _nov(16, 11)),
    ]


def test_the_list_keeps_the_most_overdue_and_counts_the_rest(app, story, monkeypatch):
    monkeypatch.setattr(health, "OVERDUE_LISTED", 2)
    result = _overdue(app, story["cluster"], _nov(16, 12))
    a = story["alerts"]
    # High copies rank by age within their severity, urgent ones within theirs;
    # merged by deadline, Thursday's high alert and A1 come first.
    assert [(c.school, c.alert_id) for c in result.most_overdue] == [
        ("Beech", a["A4"]),
        ("Cedar", a["A1"]),
    ]
    assert (result.total, result.more) == (6, 4)


def test_the_list_ranks_each_nation_by_its_own_bank_holidays(app, world, monkeypatch):
    """Monday 30 November 2026 is St Andrew's Day, a bank holiday in Scotland
    only. A high alert (one school day) sent on Friday at noon to a Scottish
    school falls due on Tuesday; one sent an hour later to an English school
    falls due on Monday. The later copy is the more overdue, so a list with room
    for one must show it, though it is not the oldest of its severity."""
    borders = world.cluster("Borders")
    ids = _heads(world, borders, ("Tweed", "Loch", "Kent"))
    with own_transaction(app) as session:
        directory.set_nation(session, None, session.get(School, ids["Loch"]), "scotland")
    sender = "head@tweed.example.org"
    with own_transaction(app) as session:
        scottish = _post(session, sender, [ids["Loch"]], _nov(27, 12), "high")
        english = _post(session, sender, [ids["Kent"]], _nov(27, 13), "high")
    monkeypatch.setattr(health, "OVERDUE_LISTED", 1)
    result = _overdue(app, borders.id, datetime(2026, 12, 1, 14, tzinfo=UTC))
    assert [(c.school, c.alert_id, c.deadline) for c in result.most_overdue] == [
        ("Kent", english, _nov(30, 13))
    ]
    tuesday_noon = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert _schools(result) == [("Kent", 1, _nov(30, 13)), ("Loch", 1, tuesday_noon)]
    assert (result.total, result.more) == (2, 1)
    monkeypatch.setattr(health, "OVERDUE_LISTED", 2)
    result = _overdue(app, borders.id, datetime(2026, 12, 1, 14, tzinfo=UTC))
    assert [(c.alert_id, c.deadline) for c in result.most_overdue] == [
        (english, _nov(30, 13)),
        (scottish, tuesday_noon),
    ]


def test_a_deadline_of_zero_counts_nothing_of_that_severity(app, story):
    with own_transaction(app) as session:
        set_deadlines(session, None, story["cluster"], {"urgent": Deadline(0, "hours")})
    result = _overdue(app, story["cluster"], _nov(16, 12))
    assert result.total == 3
    assert _schools(result) == [("Beech", 2, _nov(13, 9)), ("Ash", 1, _nov(16, 12))]
    assert "urgent" not in result.deadlines


def test_the_chase_window_bounds_the_count(app, story):
    """A7 (20 October, 10:00) counts while it is within CHASE_WINDOW, no longer."""
    edge = A7_POSTED + CHASE_WINDOW
    assert _overdue(app, story["cluster"], edge).total == 1
    assert _overdue(app, story["cluster"], edge + MICROSECOND).total == 0


def test_another_cluster_sees_only_its_own(app, story):
    result = _overdue(app, story["west"], _nov(16, 10))
    assert _schools(result) == [("Fir", 1, _nov(16, 7))]


def test_the_count_query_uses_the_partial_index(app, story):
    """The WHERE clause carries the index predicate literally, so the planner
    can use ix_alert_recipients_waiting."""
    from sqlalchemy import event

    from network.db import engine

    captured: dict[str, Any] = {}

    def capture(_conn, _cursor, statement, params, _context, _many):  # type: ignore[no-untyped-def]
        captured[statement] = params

    eng = engine(app)
    event.listen(eng, "before_cursor_execute", capture)
    try:
        _overdue(app, story["cluster"], _nov(16, 12))
    finally:
        event.remove(eng, "before_cursor_execute", capture)
    counting = next(s for s in captured if "count(" in s.lower() and "alert_recipients" in s)
    assert "alert_recipients.acknowledged_at IS NULL" in counting
    assert "NOT alert_recipients.is_sender" in counting
    if eng.dialect.name == "sqlite":
        # On PostgreSQL the planner weighs the index against the table's size
        # (with 220,000 copies it chose a bitmap scan of it); SQLite takes it when it matches.
        raw = eng.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN QUERY PLAN " + counting, captured[counting])
            plan = cursor.fetchall()
        finally:
            raw.close()
        assert "ix_alert_recipients_waiting" in " ".join(str(row[-1]) for row in plan)


# --- notification delivery -----------------------------------------------------------------


def _notification(
    session, school_id: uuid.UUID, channel: Channel, status: Status, at: datetime, attempts: int = 0
) -> None:
    session.add(
        Notification(
            event="alert.received",
            channel=channel,
            status=status,
            school_id=school_id,
            created_at=at,
            due_at=at,
            attempts=attempts,
        )
    )


def _oct(day: int, hour: int = 12, **kwargs: Any) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC, **kwargs)


OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def deliveries(app, world):
    """Riverside's notifications of October 2026, by channel and state."""
    riverside = world.cluster("Riverside")
    schools = {name: world.school(riverside, name).id for name in ("Ash", "Beech", "Cedar")}
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=riverside)
    west = world.cluster("West")
    elm = world.school(west, "Elm").id
    E, W, I = Channel.EMAIL, Channel.WEBHOOK, Channel.IN_APP  # noqa: E741, N806
    with own_transaction(app) as session:
        office = session.scalars(
            select(School.id).where(
                School.cluster_id == riverside.id, School.kind == SchoolKind.OFFICE
            )
        ).one()
        ash, beech, cedar = schools["Ash"], schools["Beech"], schools["Cedar"]
        rows = [
            # Email: 3 sent (one on the period's first instant, one in a digest),
            # 3 waiting, 2 retrying, 2 dead, 1 cancelled (not counted).
            (ash, E, Status.SENT, datetime(2026, 10, 1, tzinfo=UTC), 0),
            (ash, E, Status.SENT, _oct(31, 23, minute=59, second=59), 1),
            (beech, E, Status.DIGESTED, _oct(5), 0),
            (ash, E, Status.PENDING, _oct(6), 0),
            (cedar, E, Status.HELD, _oct(6), 0),
            (cedar, E, Status.SENDING, _oct(6), 1),
            (ash, E, Status.PENDING, _oct(7), 1),
            (beech, E, Status.PENDING, _oct(7), 4),
            (beech, E, Status.DEAD, _oct(8), 5),
            (office, E, Status.DEAD, _oct(8), 5),
            (ash, E, Status.CANCELLED, _oct(9), 0),
            # Webhook: 1 sent, 2 dead.
            (ash, W, Status.SENT, _oct(10), 2),
            (beech, W, Status.DEAD, _oct(11), 5),
            (cedar, W, Status.DEAD, _oct(11), 5),
            # In the hub: 3 sent.
            (ash, I, Status.SENT, _oct(12), 0),
            (beech, I, Status.SENT, _oct(12), 0),
            (office, I, Status.SENT, _oct(12), 0),
            # Outside the period: the instant before, and the instant after.
            (ash, E, Status.DEAD, datetime(2026, 10, 1, tzinfo=UTC) - MICROSECOND, 5),
            (ash, E, Status.SENT, datetime(2026, 11, 1, tzinfo=UTC), 0),
            # Another cluster's.
            (elm, E, Status.SENT, _oct(12), 0),
            (elm, W, Status.DEAD, _oct(12), 5),
        ]
        for school_id, channel, status, at, attempts in rows:
            _notification(session, school_id, channel, status, at, attempts)
    return {"cluster": riverside.id, "west": west.id}


MONDAY = _nov(16, 10)


def _delivery(app, cluster_id, period=OCTOBER, now=MONDAY) -> health.Delivery:
    with own_transaction(app) as session:
        return health.delivery(session, cluster_id, period, now=now)


def _rows(result: health.Delivery) -> dict[str, tuple[int, int, int, int]]:
    return {c.label: (c.sent, c.waiting, c.retrying, c.dead) for c in result.channels}


def test_delivery_per_channel(app, deliveries):
    result = _delivery(app, deliveries["cluster"])
    assert _rows(result) == {
        "Email": (3, 3, 2, 2),
        "Webhook": (1, 0, 0, 2),
        "In the hub": (3, 0, 0, 0),
    }
    t = result.total
    assert (t.sent, t.waiting, t.retrying, t.dead) == (7, 3, 2, 4)
    assert result.dead == 4
    assert [(d.school, d.is_office, d.count) for d in result.dead_by_school] == [
        ("Beech", False, 2),
        ("Cedar", False, 1),
        (OFFICE, True, 1),
    ]
    assert not result.incomplete  # 1 October is within 90 days of 16 November


def test_delivery_of_another_cluster_and_of_an_empty_period(app, deliveries):
    west = _delivery(app, deliveries["west"])
    assert _rows(west) == {"Email": (1, 0, 0, 0), "Webhook": (0, 0, 0, 1)}
    assert [d.school for d in west.dead_by_school] == ["Elm"]
    september = _delivery(app, deliveries["cluster"], Period(date(2026, 9, 1), date(2026, 9, 29)))
    assert (september.channels, september.dead_by_school) == ([], [])


def test_delivery_period_boundaries(app, deliveries):
    last_day = _delivery(app, deliveries["cluster"], Period(date(2026, 10, 31), date(2026, 10, 31)))
    assert _rows(last_day) == {"Email": (1, 0, 0, 0)}
    day_before = _delivery(app, deliveries["cluster"], Period(date(2026, 9, 30), date(2026, 9, 30)))
    assert _rows(day_before) == {"Email": (0, 0, 0, 1)}
    day_after = _delivery(app, deliveries["cluster"], Period(date(2026, 11, 1), date(2026, 11, 1)))
    assert _rows(day_after) == {"Email": (1, 0, 0, 0)}


def test_a_period_older_than_the_delivery_log_is_flagged(app, deliveries):
    assert _delivery(app, deliveries["cluster"], now=_nov(16, 10)).incomplete is False
    late = _delivery(app, deliveries["cluster"], now=datetime(2027, 1, 1, tzinfo=UTC))
    assert late.incomplete is True
    assert late.pruned_before == datetime(2026, 10, 3, tzinfo=UTC)


# --- on the pages ------------------------------------------------------------------------------


@pytest.fixture
def overdue_now(app, world):
    """Overdue copies as of the real clock: two urgent alerts from Ash, posted
    five and four hours ago, that Beech has not acknowledged; a third resolved."""
    cluster = world.cluster("Riverside")
    ids = _heads(world, cluster, ("Ash", "Beech"))
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    now = utcnow()
    with own_transaction(app) as session:
        first = _post(
            session, "head@ash.example.org", [ids["Beech"]], now - timedelta(hours=5), "urgent"
        )
        second = _post(
            session,
            "head@ash.example.org",
            [ids["Beech"]],
            now - timedelta(hours=4),
            "urgent",
            "defamation",
        )
        done = _post(
            session, "head@ash.example.org", [ids["Beech"]], now - timedelta(hours=6), "urgent"
        )
    with own_transaction(app) as session:
        member, keys = keys_of(session, "head@ash.example.org")
        closing.resolve(session, member, keys, done, "Dealt with.", confirmed=True)
    return {"cluster": cluster.id, "first": first, "second": second, "done": done}


TILE = '<span class="stat">{}</span> <a href="#overdue-h">acknowledgements overdue now</a>'


def _coordinator(app):
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    return client


def test_the_dashboard_shows_what_is_overdue_now(app, overdue_now):
    html = _coordinator(app).get("/cluster/dashboard").get_data(as_text=True)
    assert (
        '<span class="stat">2</span> <a href="#overdue-h">acknowledgements overdue now</a>' in html
    )
    assert '<h2 id="overdue-h">Overdue now</h2>' in html
    assert "<strong>2</strong> deliveries are overdue at 1 school." in html
    assert "last 14 days" in html
    assert '<tr><th scope="row">Beech</th><td class="num" data-label="Overdue">2</td>' in html
    assert f'href="/alerts/{overdue_now["first"]}">Harassment or bullying</a>' in html
    assert f'href="/alerts/{overdue_now["second"]}">A school defamed online</a>' in html
    assert f"/alerts/{overdue_now['done']}" not in html  # resolved
    assert html.index(str(overdue_now["first"])) < html.index(
        str(overdue_now["second"])
    )  # most overdue first
    assert "3.0 h" in html  # overdue by (the deadline is 2 hours)
    assert "2.0 h" in html
    assert 'aria-labelledby="overdue-t overdue-d"' in html  # the chart, beside its table
    assert "and 1 more" not in html


def test_the_list_says_how_many_more(app, overdue_now, monkeypatch):
    monkeypatch.setattr(health, "OVERDUE_LISTED", 1)
    html = _coordinator(app).get("/cluster/dashboard").get_data(as_text=True)
    assert "The most overdue: the first 1 of 2" in html
    assert "<p>and 1 more.</p>" in html
    assert f"/alerts/{overdue_now['second']}" not in html


def test_the_report_and_its_csv_show_what_is_overdue(app, overdue_now):
    client = _coordinator(app)
    html = client.get("/cluster/report").get_data(as_text=True)
    assert '<h3 id="overdue-h">Overdue now</h3>' in html
    assert '<tr><th scope="row">Beech</th><td class="num" data-label="Overdue">2</td>' in html
    assert "Harassment or bullying" in html
    download = client.get("/cluster/report.csv")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert all(len(r) == 16 and None not in r.values() for r in rows)  # every row as wide
    (total,) = [r for r in rows if r["section"] == "overdue"]
    assert total["alerts"] == "2"
    assert total["item"].startswith("as of ")
    (beech,) = [r for r in rows if r["section"] == "overdue_by_school"]
    assert (beech["item"], beech["alerts"]) == ("Beech", "2")
    assert beech["overdue_since"]  # the earliest deadline, ISO 8601


def test_the_dashboard_report_and_csv_show_delivery_health(app, deliveries):
    client = _coordinator(app)
    html = client.get("/cluster/dashboard?start=2026-10-01&end=2026-10-31").get_data(as_text=True)
    assert '<h2 id="delivery-h">Notification delivery</h2>' in html
    assert (
        '<tr><th scope="row">Email</th><td class="num" data-label="Sent">3</td>'
        '<td class="num" data-label="Waiting">3</td><td class="num" data-label="Retrying">2</td>'
        '<td class="num" data-label="Dead-lettered"><strong>2 (failed)</strong></td></tr>'
    ) in html
    assert (
        '<tr><th scope="row">In the hub</th><td class="num" data-label="Sent">3</td>'
        '<td class="num" data-label="Waiting">0</td><td class="num" data-label="Retrying">0</td>'
        '<td class="num" data-label="Dead-lettered">0</td></tr>'
    ) in html
    assert (
        '<tfoot><tr><th scope="row">All channels</th><td class="num" data-label="Sent">7</td>'
        '<td class="num" data-label="Waiting">3</td><td class="num" data-label="Retrying">2</td>'
        '<td class="num" data-label="Dead-lettered">4</td></tr></tfoot>'
    ) in html
    assert "Warning: 4 notifications were dead-lettered" in html
    assert "2 for Beech: ask its head to check the school's delivery log" in html
    assert "1 for Cedar" in html
    assert '1 for the coordinators\' office: <a href="/notifications/deliveries">' in html
    assert "Elm" not in html
    printable = client.get("/cluster/report?start=2026-10-01&end=2026-10-31")
    assert "Warning: 4 notifications were dead-lettered" in printable.get_data(as_text=True)
    download = client.get("/cluster/report.csv?start=2026-10-01&end=2026-10-31")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    delivery = {
        r["item"]: (r["sent"], r["waiting"], r["retrying"], r["dead_lettered"])
        for r in rows
        if r["section"] == "delivery"
    }
    assert delivery == {
        "Email": ("3", "3", "2", "2"),
        "Webhook": ("1", "0", "0", "2"),
        "In the hub": ("3", "0", "0", "0"),
        "All channels": ("7", "3", "2", "4"),
    }


def test_a_period_beyond_the_delivery_log_says_so(app, deliveries):
    client = _coordinator(app)
    old = client.get("/cluster/dashboard?start=2026-01-01&end=2026-10-31").get_data(as_text=True)
    assert "The delivery log is kept for 90 days" in old
    recent_start = (utcnow() - timedelta(days=30)).date().isoformat()
    recent = client.get(f"/cluster/dashboard?start={recent_start}").get_data(as_text=True)
    assert "The delivery log is kept for 90 days" not in recent


def test_empty_states(app, world):
    cluster = world.cluster("Quiet")
    world.person(Role.COORDINATOR, "coord@quiet.example.org", cluster=cluster)
    client = app.test_client()
    sign_in(client, "coord@quiet.example.org")
    html = client.get("/cluster/dashboard?start=2026-10-01&end=2026-10-31").get_data(as_text=True)
    assert (
        '<span class="stat">0</span> <a href="#overdue-h">acknowledgements overdue now</a>' in html
    )
    assert "No acknowledgement is overdue." in html
    assert "No notifications in this period." in html
    assert "dead-lettered</strong>" not in html
    printable = client.get("/cluster/report?start=2026-10-01&end=2026-10-31").get_data(as_text=True)
    assert "No acknowledgement is overdue." in printable
    assert "No notifications in this period." in printable
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/cluster/report.csv?start=2026-10-01&end=2026-10-31").get_data(
                    as_text=True
                )
            )
        )
    )
    assert [r["alerts"] for r in rows if r["section"] == "overdue"] == ["0"]
    assert not [r for r in rows if r["section"] in ("overdue_by_school", "delivery")]


def test_cluster_figures_carries_both(app, story):
    with own_transaction(app) as session:
        data = report.cluster_figures(
            session,
            None,
            session.get(Cluster, story["cluster"]),
            Period(date(2026, 11, 2), date(2026, 11, 15)),
            settings=app.config["ALERTNET"],
            now=_nov(16, 10),
        )
    assert data.overdue.total == 3
    assert data.overdue.now == _nov(16, 10)
    assert isinstance(data.delivery, health.Delivery)
