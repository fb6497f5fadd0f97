"""A school's out-of-hours contact (docs/notifications.md, "Out of hours"):
named by the head on the school page, audited, and emailed when an urgent
alert's deadline falls on a day that is not one of the school's school days."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from network.alerts.out_of_hours import ContactDetails, set_contact
from network.db import own_transaction
from network.notifications.models import Channel, Notification
from network.notifications.render import describe
from schools.audit.models import AuditEvent
from schools.models import Member, School
from tests.network.alerts_helpers import nov, post_as

CONTACT = "oncall@beech.example.org"


def _name_contact(app, head_email: str, school_id) -> None:
    with own_transaction(app) as session:
        head = session.scalars(select(Member).where(Member.email == head_email)).one()
        school = session.get(School, school_id)
        set_contact(session, head, school, ContactDetails("Dana Price", CONTACT, "01632 960 123"))


def _out_of_hours(app) -> list[Notification]:
    with own_transaction(app) as session:
        rows = list(
            session.scalars(select(Notification).where(Notification.event == "alert.out_of_hours"))
        )
        session.expunge_all()
    return rows


def test_the_head_names_the_contact_and_every_member_sees_it(app, ash):
    page = "/school/out-of-hours"
    assert "No contact is named yet." in ash.client.get(page).get_data(as_text=True)
    answer = ash.post(page, {"name": "Dana Price", "email": "not an address", "phone": ""})
    assert answer.status_code == 422
    assert 'id="email-error"' in answer.get_data(as_text=True)
    answer = ash.post(page, {"name": "Dana Price", "email": CONTACT, "phone": "call me"})
    assert answer.status_code == 422
    assert 'id="phone-error"' in answer.get_data(as_text=True)
    answer = ash.post(page, {"name": "Dana Price", "email": CONTACT, "phone": "01632 960 123"})
    assert answer.status_code == 303
    overview = ash.client.get("/school").get_data(as_text=True)
    assert "Dana Price" in overview
    assert CONTACT in overview
    assert ash.post(f"{page}/remove", {}, page).status_code == 303
    assert "None named" in ash.client.get("/school").get_data(as_text=True)
    with own_transaction(app) as session:
        named = [
            e.detail["named"]
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "school.out_of_hours_contact_set")
            )
        ]
    assert named == [True, False]


def test_staff_may_not_name_the_contact(app, world, ash):
    from schools.models import Role
    from tests.factories import client_for

    staff = world.person(Role.STAFF, "teacher@ash.example.org", school=ash.school)
    client = client_for(app, staff)
    assert client.get("/school/out-of-hours").status_code == 403


def test_a_saturday_urgent_alert_emails_the_out_of_hours_contact(app, pair):
    ash, beech = pair
    _name_contact(app, beech.person.email, beech.school.id)
    with own_transaction(app) as session:
        # Saturday 21 November 2026, 10:00: due at 12:00, still Saturday.
        saturday = post_as(
            session, ash.person.email, [beech.school.id], nov(21, 10), severity="urgent"
        )
    [sent] = _out_of_hours(app)
    assert sent.channel == Channel.EMAIL
    assert sent.target == CONTACT
    assert sent.alert_id == saturday.id
    assert sent.school_id == beech.school.id
    assert sent.payload["deadline"].startswith("2026-11-21T12:00")
    # Metadata only, like every notification: no title, no year group, no reference.
    assert set(sent.payload) == {"type", "alert", "school", "deadline", "path"}
    rendered = describe(sent.payload, "https://hub.example.org", ZoneInfo("Europe/London"))
    assert "outside school days" in rendered.subject
    assert "out-of-hours contact" in rendered.headline
    assert rendered.manage == "https://hub.example.org/school/out-of-hours"


def test_an_alert_for_the_leadership_does_not_reach_the_contact(app, pair):
    """The contact is told as shared subscriptions are: of all-staff copies only."""
    ash, beech = pair
    _name_contact(app, beech.person.email, beech.school.id)
    with own_transaction(app) as session:
        post_as(
            session,
            ash.person.email,
            [beech.school.id],
            nov(21, 10),
            severity="urgent",
            category="staff_named",  # for the leadership by default
        )
    assert _out_of_hours(app) == []


def test_weekday_or_less_than_urgent_alerts_do_not_reach_the_contact(app, pair):
    ash, beech = pair
    _name_contact(app, beech.person.email, beech.school.id)
    with own_transaction(app) as session:
        # Tuesday 17 November, 10:00: due at noon on a school day.
        post_as(session, ash.person.email, [beech.school.id], nov(17, 10), severity="urgent")
        # A high alert on the Saturday: its deadline is in school days.
        post_as(session, ash.person.email, [beech.school.id], nov(21, 10), severity="high")
        # Friday 20 November, 23:00: due at 01:00 on Saturday.
        late = post_as(session, ash.person.email, [beech.school.id], nov(20, 23), severity="urgent")
    assert [n.alert_id for n in _out_of_hours(app)] == [late.id]


def test_a_school_without_a_contact_gets_no_out_of_hours_email(app, pair):
    ash, beech = pair
    with own_transaction(app) as session:
        post_as(session, ash.person.email, [beech.school.id], nov(21, 10), severity="urgent")
    assert _out_of_hours(app) == []


def test_the_worker_emails_the_contact_metadata_and_a_link(app, pair, smtp):
    from tests.network.notify_helpers import deliver_all

    ash, beech = pair
    _name_contact(app, beech.person.email, beech.school.id)
    with own_transaction(app) as session:
        alert = post_as(
            session,
            ash.person.email,
            [beech.school.id],
            nov(21, 10),
            severity="urgent",
            category="safeguarding",
        )
    deliver_all(app)
    [mail] = smtp.to(CONTACT)
    assert mail.subject.startswith("[alertnet] Urgent alert for Beech outside school days")
    text = mail.part("plain")
    assert f"/alerts/{alert.id}" in text
    assert "named you its out-of-hours contact" in text
    assert "Safeguarding" in text
