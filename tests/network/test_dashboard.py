"""The coordinator's dashboard and governors' report, against a known history."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from network.alerts.retention import periods_for
from network.dashboard import report
from network.dashboard.figures import Period
from network.db import own_transaction
from schools.models import Cluster, Member, Role, School
from tests.conftest import sign_in
from tests.network.alerts_helpers import acknowledge_as, post_as


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def history(app, world):
    """Three schools; alerts on a Monday, a Sunday night and a Saturday."""
    cluster = world.cluster("Riverside")
    people = {}
    for name in ("Ash", "Beech", "Cedar"):
        school = world.school(cluster, name)
        person = world.person(
            Role.HEAD, f"head@{name.lower()}.example.org", school=school, name=f"Head of {name}"
        )
        people[name] = person
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)

    story = [
        # sender, recipients, posted, category, severity, platform, acks {school: hours}
        (
            "Ash",
            ["Beech", "Cedar"],
            _at(2, 9),
            "harassment",
            "high",
            "instagram",
            {"Beech": 1, "Cedar": 3},
        ),
        ("Beech", ["Ash"], _at(8, 22), "defamation", "urgent", "facebook", {"Ash": 10}),
        ("Cedar", ["Ash", "Beech"], _at(14, 10), "harassment", "low", "tiktok", {"Ash": 2}),
        ("Ash", ["Beech"], _at(16, 9), "other", "info", "other", {}),  # after the period
    ]
    with own_transaction(app) as session:
        schools = {n: session.get(Member, p.member.id).school_id for n, p in people.items()}
        for sender, recipients, posted, category, severity, platform, acks in story:
            alert = post_as(
                session,
                people[sender].email,
                [schools[r] for r in recipients],
                posted,
                severity,
                category,
                platform,
            )
            for name, hours in acks.items():
                acknowledge_as(
                    session, people[name].email, alert.id, posted + timedelta(hours=hours)
                )
    return cluster.id


PERIOD = Period(date(2026, 11, 2), date(2026, 11, 15))


def test_every_figure_matches_the_known_history(app, history):
    with own_transaction(app) as session:
        data = report.cluster_figures(
            session, None, session.get(Cluster, history), PERIOD, settings=app.config["ALERTNET"]
        )
    assert data.total == 3
    assert {w: dict(c) for w, c in data.weekly.items()} == {
        date(2026, 11, 2): {"harassment": 1, "defamation": 1},  # Sunday night is week 1
        date(2026, 11, 9): {"harassment": 1},
    }
    assert dict(data.by_severity) == {"Info": 0, "Low": 1, "Medium": 0, "High": 1, "Urgent": 1}
    assert dict(data.by_platform) == {"Instagram": 1, "Facebook": 1, "TikTok": 1}
    by_school = {r.key: r for r in data.response_schools}
    assert (by_school["Ash"].received, by_school["Ash"].acknowledged) == (2, 2)
    assert by_school["Ash"].median_hours == pytest.approx(6.0)
    assert by_school["Ash"].p90_hours == pytest.approx(9.2)
    assert (by_school["Beech"].received, by_school["Beech"].acknowledged) == (2, 1)
    assert by_school["Beech"].median_hours == pytest.approx(1.0)
    assert (by_school["Cedar"].received, by_school["Cedar"].acknowledged) == (1, 1)
    assert by_school["Cedar"].median_hours == pytest.approx(3.0)
    assert (data.overall.received, data.overall.acknowledged) == (5, 4)
    assert data.overall.median_hours == pytest.approx(2.5)
    assert data.overall.p90_hours == pytest.approx(7.9)
    by_severity = {r.key: r for r in data.response_severity}
    assert by_severity["high"].median_hours == pytest.approx(2.0)
    assert by_severity["urgent"].median_hours == pytest.approx(10.0)
    assert (by_severity["low"].received, by_severity["low"].acknowledged) == (2, 1)
    assert by_severity["low"].median_hours == pytest.approx(2.0)
    a = data.activity
    assert (a.schools, a.active_schools, a.members, a.posting_schools) == (3, 3, 3, 3)


def test_the_dashboard_page_and_report_show_those_figures(app, history):
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    page = client.get("/cluster/dashboard?start=2026-11-02&end=2026-11-15")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<span class="stat">3</span> alerts in the period' in html
    assert "2.5 h" in html  # cluster median
    assert "<svg" in html
    assert 'role="img"' in html
    assert "Head of" not in html  # no member is named
    printable = client.get("/cluster/report?start=2026-11-02&end=2026-11-15")
    assert "raised 3 alerts" in printable.get_data(as_text=True)
    download = client.get("/cluster/report.csv?start=2026-11-02&end=2026-11-15")
    assert download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    overall = next(r for r in rows if r["section"] == "response_overall")
    assert (overall["received"], overall["acknowledged"]) == ("5", "4")
    assert overall["median_hours_to_acknowledge"] == "2.50"
    assert overall["p90_hours_to_acknowledge"] == "7.90"
    weeks = {r["item"]: r["alerts"] for r in rows if r["section"] == "week"}
    assert weeks == {"2026-11-02": "2", "2026-11-09": "1"}


def test_a_head_sees_only_their_school_against_the_cluster(app, history):
    client = app.test_client()
    sign_in(client, "head@ash.example.org")
    assert client.get("/cluster/dashboard").status_code == 403
    page = client.get("/school/dashboard?start=2026-11-02&end=2026-11-15").get_data(as_text=True)
    assert "acknowledged 2 of the 2 alerts" in page
    assert "6.0 h" in page
    assert "2.5 h" in page
    assert "Beech" not in page


def test_another_clusters_coordinator_sees_none_of_it(app, world, history):
    world.person(Role.COORDINATOR, "coord@west.example.org", cluster=world.cluster("West"))
    client = app.test_client()
    sign_in(client, "coord@west.example.org")
    html = client.get("/cluster/dashboard?start=2026-11-02&end=2026-11-15").get_data(as_text=True)
    assert '<span class="stat">0</span> alerts in the period' in html
    assert "Ash" not in html
    assert "No alerts in this period." in html
    assert "Ash" not in client.get("/cluster/alerts").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-11-15&end=2026-11-02", "start date is after the end date"),
        ("start=1990-01-01&end=2026-11-02", "at most three years"),
        ("start=yesterday", "Write the start date like"),
        ("start=2026-11-01&end=2026-11-31", "Write the end date like"),
    ],
)
def test_absurd_periods_get_a_clear_message(app, history, query, message):
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    response = client.get(f"/cluster/dashboard?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    # Beside the date it is about, never silently replaced by the default period.
    wrong = "end" if "end date like" in message else "start"
    assert f'id="{wrong}" name="{wrong}"' in html
    assert re.search(rf'id="{wrong}" name="{wrong}" value="[^"]*" aria-invalid="true"', html)
    assert "alerts in the period" not in html
    assert client.get(f"/cluster/report.csv?{query}").status_code == 400
    assert client.get(f"/cluster/report?{query}").status_code == 400


def test_suspending_a_school_stops_it_and_tells_its_members(app, world, history):
    from sqlalchemy import select

    from schools.models import School

    with own_transaction(app) as session:
        beech = session.scalars(select(School).where(School.name == "Beech")).one()
    coordinator = app.test_client()
    sign_in(coordinator, "coord@riverside.example.org")
    page = f"/cluster/schools/{beech.id}"
    from tests.conftest import post_form

    response = post_form(
        coordinator, f"{page}/suspend", {"reason": "", "confirm": "yes"}, page=page
    )
    assert response.status_code == 422
    assert "Say why" in response.get_data(as_text=True)
    response = post_form(
        coordinator,
        f"{page}/suspend",
        {"reason": "Unpaid subscription; call the LA office.", "confirm": "yes"},
        page=page,
    )
    assert response.status_code == 303
    head = app.test_client()
    sign_in(head, "head@beech.example.org")
    html = head.get("/alerts").get_data(as_text=True)
    assert "Your school is suspended" in html
    assert "Unpaid subscription" in html
    assert head.get("/alerts/new").status_code == 403
    response = post_form(coordinator, f"{page}/reinstate", {}, page=page)
    assert response.status_code == 303
    assert "Your school is suspended" not in head.get("/alerts").get_data(as_text=True)


def test_coordinator_verifies_a_fingerprint_and_sets_retention(app, world, history):
    from sqlalchemy import select

    from schools.audit.models import AuditEvent
    from schools.models import School, SchoolKeyGeneration
    from tests.conftest import post_form

    with own_transaction(app) as session:
        ash = session.scalars(select(School).where(School.name == "Ash")).one()
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    page = f"/cluster/schools/{ash.id}"
    assert "The head confirmed it matches" in client.get(page).get_data(as_text=True)
    assert post_form(client, f"{page}/verify/1", {}, page=page).status_code == 303
    assert "Verified" in client.get(page).get_data(as_text=True)
    periods = {f"days_{c}": "730" for c in ("defamation", "staff_named", "harassment")}
    periods |= {f"days_{c}": "365" for c in ("safeguarding", "under_age", "staff_conduct", "other")}
    response = post_form(client, "/cluster/settings", {**periods, "days_other": "5"})
    assert response.status_code == 422
    assert "between 30 and 9,150 days" in response.get_data(as_text=True)
    assert post_form(client, "/cluster/settings", periods).status_code == 303
    with own_transaction(app) as session:
        row = session.scalars(
            select(SchoolKeyGeneration).where(SchoolKeyGeneration.school_id == ash.id)
        ).one()
        assert row.verified_at is not None
        assert periods_for(session, history)["harassment"] == 730
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"school.fingerprint_verified", "cluster.retention_changed"} <= actions


def test_the_report_csv_writes_typed_names_as_text_not_formulas(app, history):
    with own_transaction(app) as session:
        school = session.scalars(select(School).where(School.name == "Ash")).one()
        school.name = "=HYPERLINK(0)"
    client = app.test_client()
    sign_in(client, "coord@riverside.example.org")
    download = client.get("/cluster/report.csv?start=2026-11-02&end=2026-11-15")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    schools = {r["item"] for r in rows if r["section"] == "response_by_school"}
    assert "'=HYPERLINK(0)" in schools
    assert "=HYPERLINK(0)" not in schools
