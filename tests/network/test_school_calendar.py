"""Deadlines in school days follow each school's calendar: its nation's bank
holidays, its cluster's terms and INSET days. The chase and the dashboard
ask the same Deadlines, so they agree on every copy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from network.alerts.deadlines import Deadline
from network.alerts.school_calendar import CalendarEntry, SchoolCalendar, add_inset_day, add_term
from network.dashboard import health
from network.db import own_transaction
from network.notifications.chase import chase_acknowledgements
from schools import directory
from schools.models import Cluster, Nation, Role, School
from tests.conftest import post_form, sign_in
from tests.network.alerts_helpers import make_head, post_as
from tests.network.notify_helpers import actions


def _utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# Autumn 2026 in two halves, half term 26 to 30 October.
AUTUMN = [
    ("Autumn 1", date(2026, 9, 3), date(2026, 10, 23)),
    ("Autumn 2", date(2026, 11, 2), date(2026, 12, 18)),
]


@pytest.fixture
def calendared(app, world):
    """Riverside keeps Autumn 2026 and an INSET day on Friday 4 December; Ash
    and Beech are in England, Thistle in Scotland. Default deadlines: high
    alerts within one school day."""
    cluster = world.cluster("Riverside")
    schools = {}
    for name in ("Ash", "Beech", "Thistle"):
        schools[name] = world.school(cluster, name)
        world.person(Role.HEAD, f"head@{name.lower()}.example.org", school=schools[name])
    with own_transaction(app) as session:
        riverside = session.get(Cluster, cluster.id)
        for name, first, last in AUTUMN:
            add_term(session, None, riverside, name, first, last)
        add_inset_day(session, None, riverside, date(2026, 12, 4))
        directory.set_nation(session, None, session.get(School, schools["Thistle"].id), "scotland")
    return cluster, {name: school.id for name, school in schools.items()}


def _post_high(app, recipients, posted):
    with own_transaction(app) as session:
        return post_as(session, "head@ash.example.org", recipients, posted, "high").id


def _overdue(app, cluster_id, now):
    with own_transaction(app) as session:
        result = health.overdue(session, cluster_id, app.config["ALERTNET"], now)
    return {s.school: s.since for s in result.by_school}


def _chased(app, now):
    with own_transaction(app) as session:
        return chase_acknowledgements(session, app.config["ALERTNET"], now)[0]


def test_half_term_is_not_school_days(app, calendared):
    cluster, ids = calendared
    # Friday 23 October 10:00 UTC (11:00 in London, BST), the last day before half term:
    # due the first day back, Monday 2 November at 11:00 London time (GMT by then).
    _post_high(app, [ids["Beech"]], _utc(10, 23, 10))
    assert _overdue(app, cluster.id, _utc(10, 30, 17)) == {}  # half term: not yet
    assert _overdue(app, cluster.id, _utc(11, 2, 10, 59)) == {}
    assert _overdue(app, cluster.id, _utc(11, 2, 11)) == {"Beech": _utc(11, 2, 11)}
    assert _chased(app, _utc(11, 2, 10, 59)) == 0
    assert _chased(app, _utc(11, 2, 11)) == 1


def test_a_bank_holiday_is_skipped_in_its_own_nation_only(app, calendared):
    cluster, ids = calendared
    # Friday 28 August (before the first recorded term: weekdays count). Monday
    # 31 August is the late summer bank holiday in England, not in Scotland.
    _post_high(app, [ids["Beech"], ids["Thistle"]], _utc(8, 28, 10))
    on_monday = _utc(8, 31, 10)
    assert _overdue(app, cluster.id, on_monday) == {"Thistle": on_monday}
    assert _chased(app, on_monday) == 1
    assert _overdue(app, cluster.id, _utc(9, 1, 10)) == {
        "Thistle": on_monday,
        "Beech": _utc(9, 1, 10),
    }
    assert _chased(app, _utc(9, 1, 10)) == 1  # Beech now; Thistle was reminded already


def test_a_scottish_holiday_delays_only_scottish_schools(app, calendared):
    cluster, ids = calendared
    # Friday 27 November: Monday 30 November is St Andrew's Day in Scotland.
    _post_high(app, [ids["Beech"], ids["Thistle"]], _utc(11, 27, 10))
    monday_noon = _utc(11, 30, 12)
    assert _overdue(app, cluster.id, monday_noon) == {"Beech": _utc(11, 30, 10)}
    assert _overdue(app, cluster.id, _utc(12, 1, 10)) == {
        "Beech": _utc(11, 30, 10),
        "Thistle": _utc(12, 1, 10),
    }


def test_an_inset_day_is_not_a_school_day(app, calendared):
    cluster, ids = calendared
    # Thursday 3 December; Friday 4 December is the cluster's INSET day.
    _post_high(app, [ids["Beech"]], _utc(12, 3, 10))
    assert _overdue(app, cluster.id, _utc(12, 4, 12)) == {}
    assert _chased(app, _utc(12, 4, 12)) == 0
    assert _overdue(app, cluster.id, _utc(12, 7, 10)) == {"Beech": _utc(12, 7, 10)}
    assert _chased(app, _utc(12, 7, 10)) == 1


def test_another_cluster_keeps_its_own_calendar(app, world, calendared):
    west = world.cluster("West")
    elm = world.school(west, "Elm")
    world.person(Role.HEAD, "head@elm.example.org", school=elm)
    fir = world.school(west, "Fir")
    world.person(Role.HEAD, "head@fir.example.org", school=fir)
    with own_transaction(app) as session:
        post_as(session, "head@elm.example.org", [fir.id], _utc(12, 3, 10), "high")
    # West records no INSET day: Friday 4 December is a school day there.
    assert _overdue(app, west.id, _utc(12, 4, 10)) == {"Fir": _utc(12, 4, 10)}
    assert _overdue(app, calendared[0].id, _utc(12, 4, 10)) == {}


# --- the rule itself, without a database ------------------------------------------------------


def test_school_days_skip_each_kind_of_day_off():
    london = __import__("zoneinfo").ZoneInfo("Europe/London")
    terms = tuple((first, last) for _, first, last in AUTUMN)
    england = SchoolCalendar(Nation.ENGLAND_WALES, terms, frozenset({date(2026, 12, 4)}))
    scotland = SchoolCalendar(Nation.SCOTLAND, terms, frozenset({date(2026, 12, 4)}))
    one = Deadline(1, "school_days")
    assert one.due(_utc(10, 23, 10), london, england) == _utc(11, 2, 11)  # half term
    assert one.due(_utc(8, 28, 10), london, england) == _utc(9, 1, 10)  # bank holiday
    assert one.due(_utc(8, 28, 10), london, scotland) == _utc(8, 31, 10)
    assert one.due(_utc(11, 27, 10), london, scotland) == _utc(12, 1, 10)  # St Andrew's Day
    assert one.due(_utc(12, 3, 10), london, england) == _utc(12, 7, 10)  # INSET day
    # Arriving on a day off, a copy starts at the next school day: posted on
    # Saturday 14 November, due at the end of Monday, never before Friday's.
    assert one.due(_utc(11, 14, 10), london, england) == _utc(11, 17, 0)
    assert one.due(_utc(11, 13, 15), london, england) == _utc(11, 16, 15)
    # Christmas: the term ends on 18 December; after the last recorded term,
    # weekdays count except bank holidays (25, 28 December, 1 January).
    assert one.due(_utc(12, 24, 10), london, england) == _utc(12, 29, 10)
    # The cutoff is exact across a half term, to the microsecond.
    now = _utc(11, 2, 11)
    cutoff = one.latest_start(now, london, england)
    assert (
        one.due(cutoff, london, england)
        <= now
        < one.due(cutoff + timedelta(microseconds=1), london, england)
    )


# --- the coordinator keeps the calendar; the head says the nation -------------------------------


def _entries(app):
    with own_transaction(app) as session:
        return session.scalar(select(func.count()).select_from(CalendarEntry))


@pytest.mark.parametrize(
    ("url", "data", "field", "message"),
    [
        (
            "/cluster/calendar/terms",
            {"name": "Spring 1", "starts_on": "2027-02-12", "ends_on": "2027-01-05"},
            "ends_on",
            "The term ends (5 Jan 2027) before it starts (12 Feb 2027).",
        ),
        (
            "/cluster/calendar/terms",
            {"name": "Spring X", "starts_on": "2027-01-04", "ends_on": "2027-01-20"},
            "starts_on",
            "This term overlaps Spring 1 (5 Jan 2027 to 12 Feb 2027)",
        ),
        (
            "/cluster/calendar/terms",
            {"name": "Spring 2", "starts_on": "22/02/2027", "ends_on": "2027-03-26"},
            "starts_on",
            "Enter the first day as a date, like 2027-01-05.",
        ),
        (
            "/cluster/calendar/terms",
            {"name": "", "starts_on": "2027-02-22", "ends_on": "2027-03-26"},
            "name",
            "Name the term",
        ),
        ("/cluster/calendar/inset", {"day": "2027-01-09"}, "day", "is a weekend"),
        ("/cluster/calendar/inset", {"day": "2027-01-04"}, "day", "already an INSET day"),
    ],
)
def test_bad_terms_and_inset_days_are_refused_beside_the_field(
    app, coordinator, url, data, field, message
):
    ok = {"name": "Spring 1", "starts_on": "2027-01-05", "ends_on": "2027-02-12"}
    assert (
        post_form(coordinator, "/cluster/calendar/terms", ok, page="/cluster/calendar").status_code
        == 303
    )
    inset = {"day": "2027-01-04"}
    assert (
        post_form(
            coordinator, "/cluster/calendar/inset", inset, page="/cluster/calendar"
        ).status_code
        == 303
    )
    response = post_form(coordinator, url, data, page="/cluster/calendar")
    html = response.get_data(as_text=True)
    assert response.status_code in (409, 422), html
    assert f'id="{field}-error"' in html
    assert message in html
    assert _entries(app) == 2


def test_a_term_shows_every_problem_at_once(app, coordinator):
    bad = {"name": "", "starts_on": "22/02/2027", "ends_on": "2027-03-26"}
    response = post_form(coordinator, "/cluster/calendar/terms", bad, page="/cluster/calendar")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="name-error"' in html
    assert 'id="starts_on-error"' in html
    reversed_days = {"name": "Spring 2", "starts_on": "2027-03-26", "ends_on": "2027-02-22"}
    html = post_form(
        coordinator,
        "/cluster/calendar/terms",
        {**reversed_days, "name": " "},
        page="/cluster/calendar",
    ).get_data(as_text=True)
    assert "Name the term" in html
    assert "before it starts" in html
    assert _entries(app) == 0


def test_the_coordinator_adds_and_removes_terms_and_sees_bank_holidays(app, coordinator, world):
    page = coordinator.get("/cluster/calendar").get_data(as_text=True)
    assert "Christmas Day (England and Wales)" in page
    data = {"name": "Spring 1", "starts_on": "2027-01-05", "ends_on": "2027-02-12"}
    assert (
        post_form(
            coordinator, "/cluster/calendar/terms", data, page="/cluster/calendar"
        ).status_code
        == 303
    )
    with own_transaction(app) as session:
        entry_id = session.scalars(select(CalendarEntry.id)).one()
    page = coordinator.get("/cluster/calendar").get_data(as_text=True)
    assert "Tue 5 Jan 2027" in page
    remove = f"/cluster/calendar/{entry_id}/remove"
    assert post_form(coordinator, remove, {}, page="/cluster/calendar").status_code == 303
    assert _entries(app) == 0
    assert {"calendar.term_added", "calendar.term_removed"} <= set(actions(app))
    # A head manages no cluster calendar.
    head = make_head(app, world, world.cluster("West"), "Elm")
    assert head.client.get("/cluster/calendar").status_code == 403


def test_the_head_says_which_nation_the_school_is_in(app, world):
    cluster = world.cluster("Riverside")
    head = make_head(app, world, cluster, "Thistle")
    assert "England and Wales" in head.client.get("/school").get_data(as_text=True)
    bad = head.post("/school/nation", {"nation": "wales"}, page="/school")
    assert bad.status_code == 422
    assert "Choose England and Wales, Scotland or Northern Ireland." in bad.get_data(as_text=True)
    assert head.post("/school/nation", {"nation": "scotland"}, page="/school").status_code == 303
    with own_transaction(app) as session:
        assert session.get(School, head.school.id).nation == "scotland"
    assert "school.nation_changed" in actions(app)
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    coordinator = app.test_client()
    assert sign_in(coordinator, "coord@riverside.example.org").status_code == 302
    page = coordinator.get(f"/cluster/schools/{head.school.id}").get_data(as_text=True)
    assert "<dt>Nation (bank holidays)</dt><dd>Scotland</dd>" in page
