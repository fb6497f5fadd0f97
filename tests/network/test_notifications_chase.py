"""The chase of overdue acknowledgements: a reminder to the school, then a
notice to the coordinators, on the deadlines the coordinator sets."""

# The SMTP server, webhook receiver, app, cluster and pair fixtures are imported from
# notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from network.alerts.deadlines import Deadline
from network.alerts.models import Alert
from network.alerts.school_calendar import SchoolCalendar
from network.db import engine, own_transaction
from network.notifications.chase import chase_acknowledgements
from network.notifications.models import Notification
from network.worker import Worker
from schools.models import Nation, Role
from tests.conftest import csrf_token, sign_in
from tests.network.notify_helpers import (  # noqa: F401  (fixtures)
    actions,
    app,
    cluster,
    deliver_all,
    notifications,
    pair,
    smtp,
    subscriptions_of,
)


def test_overdue_acknowledgements_remind_the_school_then_the_coordinator(
    app, world, cluster, pair, smtp
):
    ash, beech = pair
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    coordinator = app.test_client()
    sign_in(coordinator, "coord@riverside.example.org")
    ash.post_alert([beech.school], severity="urgent")
    acknowledged = ash.post_alert([beech.school], severity="urgent").headers["Location"]
    beech.post(f"{acknowledged}/acknowledge", {}, page=acknowledged)
    deliver_all(app)
    smtp.mails.clear()
    [alert] = [
        n.alert_id for n in notifications(app, Notification.member_id == beech.person.member.id)
    ][:1]
    posted = notifications(app, Notification.alert_id == alert)[0].created_at
    worker = Worker(app)

    assert worker.periodic(posted + timedelta(minutes=119)) == {
        "reads_integrated": 0,  # the post's own write integrated the queue
        "digests": 0,
        "reminded": 0,
        "escalated": 0,
        "dashboards": 2,  # the cluster's default dashboard periods, computed ahead
        "follow_ups_reminded": 0,
        "drafts_shredded": 0,
    }
    assert worker.periodic(posted + timedelta(hours=2, minutes=1))["reminded"] == 1
    assert worker.periodic(posted + timedelta(hours=3))["reminded"] == 0
    deliver_all(app)
    [reminder] = smtp.mails
    assert reminder.to == [beech.person.email]
    assert "Reminder: please acknowledge" in reminder.subject

    done = worker.periodic(posted + timedelta(hours=4, minutes=1))
    assert (done["reminded"], done["escalated"]) == (0, 1)
    assert worker.periodic(posted + timedelta(hours=5))["escalated"] == 0
    deliver_all(app)
    overdue = smtp.to("coord@riverside.example.org")
    assert len(overdue) == 1
    assert "Overdue: Beech has not acknowledged" in overdue[0].subject
    assert "Overdue" in coordinator.get("/notifications").get_data(as_text=True)
    assert {"alert.ack_reminder_sent", "alert.ack_overdue_escalated"} <= set(actions(app))


def test_the_coordinator_sets_the_deadlines_and_school_days_skip_weekends(
    app, world, cluster, pair
):
    ash, beech = pair
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    coordinator = app.test_client()
    sign_in(coordinator, "coord@riverside.example.org")
    page = coordinator.get("/notifications/deadlines").get_data(as_text=True)
    assert "Within 2 hours" in page
    assert "Within 1 school day" in page

    form = {f"amount_{s}": "0" for s in ("info", "low", "medium", "high", "urgent")}
    form.update({f"unit_{s}": "hours" for s in ("info", "low", "medium", "high", "urgent")})
    bad = {**form, "amount_urgent": "999"}
    token = csrf_token(coordinator, "/notifications/deadlines")
    assert (
        coordinator.post("/notifications/deadlines", data={**bad, "csrf_token": token}).status_code
        == 422
    )
    form.update({"amount_urgent": "1", "amount_high": "2", "unit_high": "school_days"})
    response = coordinator.post("/notifications/deadlines", data={**form, "csrf_token": token})
    assert response.status_code == 303
    assert "ack_deadlines.changed" in actions(app)
    assert "Within 2 school days" in coordinator.get("/notifications/deadlines").get_data(
        as_text=True
    )
    assert beech.client.get("/notifications/deadlines").status_code == 403

    london = ZoneInfo("Europe/London")
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=london)
    rule = Deadline(2, "school_days")
    assert rule.due(friday, london, SchoolCalendar(Nation.ENGLAND_WALES)).astimezone(
        london
    ) == datetime(2026, 12, 1, 15, 0, tzinfo=london)
    ash.post_alert([beech.school], severity="high")
    with own_transaction(app) as session:
        posted = session.scalars(select(Alert.created_at)).one()
    worker = Worker(app)
    assert worker.periodic(posted + timedelta(hours=30))["reminded"] == 0  # not 2 school days
    assert worker.periodic(posted + timedelta(days=5))["reminded"] == 1


def test_a_reminder_reaches_the_heads_when_no_subscription_asks_for_it(app, pair, smtp):
    ash, beech = pair
    for subscription in subscriptions_of(app, beech.person.member.id):
        page = f"/notifications/subscriptions/{subscription.id}"
        assert beech.post(f"{page}/delete", {"confirm": "yes"}, page=page).status_code == 303
    ash.post_alert([beech.school], severity="urgent")
    deliver_all(app)
    assert smtp.mails == []
    posted = notifications(app, Notification.event == "alert.received")
    assert posted == []
    with own_transaction(app) as session:
        created = session.scalars(select(Alert.created_at)).one()
    assert Worker(app).periodic(created + timedelta(hours=3))["reminded"] == 1
    deliver_all(app)
    assert [m.to for m in smtp.mails] == [[beech.person.email]]
    assert "Reminder" in smtp.mails[0].subject


def test_the_chase_and_the_fan_out_cost_the_same_statements_for_any_number_of_schools(
    app, world, cluster, pair
):
    """One INSERT writes an alert's notifications, in-hub and email rows alike;
    the chase's statements do not grow with the overdue copies: what its
    notices need is loaded once, and all of them are written together."""

    ash, beech = pair
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    others = []
    for name in ("Cedar", "Damson", "Elm"):
        school = world.school(cluster, name)
        for n in range(3):  # never signed in: their defaults come with the alert
            world.person(Role.HEAD, f"head{n}@{name.lower()}.example.org", school=school)
        others.append(school)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    eng = engine(app)
    event.listen(eng, "before_cursor_execute", count)
    try:
        ash.post_alert([beech.school, *others], severity="urgent")
        inserts = [s for s in statements if s.startswith("INSERT INTO notifications")]
        defaults = [s for s in statements if s.startswith("INSERT INTO subscriptions")]
        with own_transaction(app) as session:
            created = session.scalars(select(Alert.created_at)).one()
        with own_transaction(app) as session:
            statements.clear()
            done = chase_acknowledgements(
                session, app.config["ALERTNET"], created + timedelta(hours=4, minutes=1)
            )
            chase = list(statements)
    finally:
        event.remove(eng, "before_cursor_execute", count)
    assert len(inserts) == 1
    assert len(defaults) == 1  # nine heads' defaults, in-hub and email, in one statement
    assert done == (4, 4)
    assert len([s for s in chase if s.startswith("INSERT INTO notifications")]) == 1
    assert len([s for s in chase if s.startswith("INSERT INTO ack_chases")]) == 1
    # The rules, the calendars, the copies, platforms, subscriptions, heads,
    # coordinators, the writes: not one per copy.
    assert len([s for s in chase if s.lstrip().upper().startswith("SELECT")]) <= 7
