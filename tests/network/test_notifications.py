"""Subscriptions and what they deliver: the right people, by the right
channel, at the right time, with metadata only."""

# The SMTP server, webhook receiver, app and cluster fixtures are imported from notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crypto.custody import FAST_FOR_TESTS
from network.alerts import posting
from network.alerts.content import AlertContent
from network.db import own_transaction
from network.notifications import subscriptions
from network.notifications.models import (
    Notification,
    NotificationDefaults,
    Status,
    Watch,
)
from network.worker import Worker
from schools import accounts, keyring
from schools.audit.models import AuditEvent
from schools.db import utcnow
from schools.models import Role
from tests.conftest import csrf_token, sign_in
from tests.network.alerts_helpers import make_head
from tests.network.notify_helpers import (  # noqa: F401  (fixtures)
    actions,
    app,
    cluster,
    deliver_all,
    notifications,
    receiver,
    smtp,
    subscribe,
    subscriptions_of,
    webhook,
)


def change(head, subscription, **fields):
    data = {
        "name": subscription.name,
        "channel": subscription.channel,
        "target_email": subscription.target or "",
        "target_url": subscription.target or "",
        "categories": subscription.categories,
        "min_severity": subscription.min_severity,
        "senders": subscription.sender_school_ids,
        "timing": subscription.timing,
        "digest_time": "07:30",
    }
    data.update(fields)
    url = f"/notifications/subscriptions/{subscription.id}"
    return head.post(url, data)


# --- defaults -----------------------------------------------------------------------------


def test_defaults_made_by_another_request_meanwhile_are_not_made_twice(app, world, cluster):
    """Two alerts reaching a school at once both find a member without
    defaults; the one that writes second makes none and does not fail."""
    head = make_head(app, world, cluster, "Ash")
    staff = world.person(Role.STAFF, "late@ash.example.org", school=head.school)
    # The second request's select ran before the first committed (on
    # PostgreSQL they overlap; SQLite serialises writers): it goes on to make
    # the defaults of a member it saw without any.
    for expected in (["in_app"], []):
        with own_transaction(app) as session:
            member = session.get(type(staff.member), staff.member.id)
            made = subscriptions._make_defaults(session, [member], signed_in=False)
            assert [s.channel for s in made] == expected
    assert [s.channel for s in subscriptions_of(app, staff.member.id)] == ["in_app"]
    with own_transaction(app) as session:
        created = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "subscription.created",
                AuditEvent.school_id == head.school.id,
            )
        ).all()
        assert [e.detail["owner"] for e in created].count(str(staff.member.id)) == 1


def test_first_sign_in_gives_in_hub_for_all_and_the_head_email_for_high(app, world, cluster):
    head = make_head(app, world, cluster, "Ash")
    staff = world.person(Role.STAFF, "dsl@ash.example.org", school=head.school)
    staff_client = app.test_client()
    sign_in(staff_client, "dsl@ash.example.org")

    mine = subscriptions_of(app, head.person.member.id)
    assert sorted((s.channel, s.min_severity) for s in mine) == [
        ("email", "high"),
        ("in_app", "info"),
    ]
    assert [s.channel for s in subscriptions_of(app, staff.member.id)] == ["in_app"]

    # Deleting a default is respected at the next sign-in.
    email_sub = next(s for s in mine if s.channel == "email")
    assert (
        head.post(
            f"/notifications/subscriptions/{email_sub.id}/delete",
            {"confirm": "yes"},
            page="/notifications/subscriptions",
        ).status_code
        == 303
    )
    sign_in(app.test_client(), head.person.email)
    assert [s.channel for s in subscriptions_of(app, head.person.member.id)] == ["in_app"]
    with own_transaction(app) as session:
        assert session.get(NotificationDefaults, head.person.member.id) is not None
    assert actions(app).count("subscription.created") == 3
    assert "subscription.deleted" in actions(app)


# --- the end-to-end picture -----------------------------------------------------------------


def test_an_alert_reaches_exactly_the_subscribed_people_in_a_cluster_of_five(
    app, world, cluster, smtp, receiver
):
    ash, beech, cedar, damson, elm = (
        make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar", "Damson", "Elm")
    )
    # Beech keeps the defaults: the head hears of high and urgent alerts by email.
    # Cedar's head wants email for urgent only; the school's system takes staff_named alerts.
    cedar_email = next(
        s for s in subscriptions_of(app, cedar.person.member.id) if s.channel == "email"
    )
    assert change(cedar, cedar_email, min_severity="urgent").status_code == 303
    cedar_secret = webhook(cedar, receiver, categories=["staff_named"], name="MIS")
    # Damson: no personal email; a shared mailbox in a daily digest; a webhook for
    # defamation only.
    damson_email = next(
        s for s in subscriptions_of(app, damson.person.member.id) if s.channel == "email"
    )
    damson.post(
        f"/notifications/subscriptions/{damson_email.id}/delete",
        {"confirm": "yes"},
        page="/notifications/subscriptions",
    )
    assert (
        subscribe(
            damson,
            school=True,
            target_email="dsl@damson.example.org",
            timing="digest",
            digest_time="16:00",
        ).status_code
        == 303
    )
    webhook(damson, receiver, categories=["defamation"])
    # Elm's head hears only of Beech's alerts; Elm's DSL of everything by email.
    elm_email = next(s for s in subscriptions_of(app, elm.person.member.id) if s.channel == "email")
    assert change(elm, elm_email, senders=[str(beech.school.id)]).status_code == 303
    world.person(Role.STAFF, "dsl@elm.example.org", school=elm.school)
    elm_dsl = app.test_client()
    sign_in(elm_dsl, "dsl@elm.example.org")
    assert (
        elm_dsl.post(
            "/notifications/subscriptions/new",
            data={
                "csrf_token": _csrf(elm_dsl),
                "channel": "email",
                "min_severity": "info",
                "timing": "immediate",
                "digest_time": "07:30",
            },
        ).status_code
        == 303
    )

    response = ash.post_alert(
        [beech.school, cedar.school, damson.school, elm.school],
        title="Secret title",
        severity="high",
        category="staff_named",
        # To all staff: the leadership tier's notifications are tests/network/test_tiers.py's.
        tier="all",
    )
    assert response.status_code == 303
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    deliver_all(app)

    assert smtp.recipients() == ["dsl@elm.example.org", beech.person.email]
    assert len(receiver.deliveries) == 1
    payload = receiver.deliveries[0].verify(cedar_secret)
    assert payload["type"] == "alert.received"
    assert payload["data"]["alert"]["id"] == alert_id
    assert payload["data"]["alert"]["severity"] == "high"
    assert payload["data"]["alert"]["sender_school"]["name"] == "Ash"
    assert payload["data"]["alert"]["link"] == f"http://hub.test/alerts/{alert_id}"
    in_app = notifications(app, Notification.channel == "in_app")
    assert len(in_app) == 5  # four heads and Elm's DSL, each once
    for mail in smtp.mails:
        assert "Secret title" not in mail.raw.decode()
        assert "High alert from Ash" in mail.subject
    held = notifications(app, Notification.status == Status.HELD)
    assert [n.target for n in held] == ["dsl@damson.example.org"]

    # The digest goes at 16:00 the hub's time: one message for the day.
    later = held[0].due_at + timedelta(minutes=1)
    worker = Worker(app)
    assert worker.periodic(later)["digests"] == 1
    assert worker.periodic(later)["digests"] == 0
    deliver_all(app, now=later)
    digest = smtp.to("dsl@damson.example.org")
    assert len(digest) == 1
    assert "Daily digest" in digest[0].subject
    assert "Staff named or discussed" in digest[0].part("plain")
    assert "Secret title" not in digest[0].raw.decode()

    # Urgent alerts never wait for a digest.
    ash.post_alert([damson.school], severity="urgent", category="harassment")
    deliver_all(app)
    assert len(smtp.to("dsl@damson.example.org")) == 2
    assert "Urgent alert from Ash" in smtp.to("dsl@damson.example.org")[-1].subject


def _csrf(client):

    return csrf_token(client, "/notifications/subscriptions/new")


def test_a_digest_groups_a_days_alerts_by_category_and_severity(app, world, cluster, smtp):
    ash, beech = make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")
    default = next(s for s in subscriptions_of(app, beech.person.member.id) if s.channel == "email")
    assert change(beech, default, min_severity="info", timing="digest").status_code == 303
    for category, severity in [
        ("staff_named", "high"),
        ("staff_named", "high"),
        ("defamation", "low"),
    ]:
        ash.post_alert([beech.school], category=category, severity=severity)
    deliver_all(app)
    assert smtp.mails == []
    due = notifications(app, Notification.status == Status.HELD)[0].due_at
    Worker(app).periodic(due)
    deliver_all(app, now=due)
    [digest] = smtp.mails
    text = digest.part("plain")
    assert "3 alerts" in digest.subject
    assert "High · Staff named or discussed (2)" in text
    assert "Low · A school defamed online (1)" in text
    assert text.index("High ·") < text.index("Low ·")
    assert "<h2" in digest.part("html")
    assert {
        n.status
        for n in notifications(
            app, Notification.event == "alert.received", Notification.channel == "email"
        )
    } == {"digested"}


def test_nothing_is_written_when_the_alert_rolls_back(app, world, cluster):

    ash, beech = make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")

    def post_then_fail():
        with app.app_context(), own_transaction(app) as session:
            member, credential = accounts.authenticate(
                session, ash.person.email, ash.person.password, FAST_FOR_TESTS
            )
            keys = keyring.unlock_for_member(session, member, credential)
            draft = posting.AlertDraft(
                "harassment",
                "urgent",
                "facebook",
                "AMBER",
                AlertContent("t", "", (), ""),
                school_ids=(beech.school.id,),
            )
            posting.post_alert(session, member, keys, draft)
            session.flush()
            assert session.scalars(select(Notification)).first() is not None
            raise RuntimeError("the request failed after posting")

    with pytest.raises(RuntimeError):
        post_then_fail()
    assert notifications(app) == []


# --- watching -----------------------------------------------------------------------------------


def test_watchers_hear_of_replies_actions_acknowledgements_and_resolution(
    app, world, cluster, smtp
):
    ash, beech, cedar = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
    alert = ash.post_alert([beech.school, cedar.school], severity="low").headers["Location"]
    alert_id = alert.rsplit("/", 1)[1]
    with own_transaction(app) as session:  # the poster watches their own alert
        assert session.get(Watch, (ash.person.member.id, __import__("uuid").UUID(alert_id)))
    assert (
        cedar.post(f"/notifications/watch/{alert_id}", {"by_email": "y"}, page=alert).status_code
        == 303
    )
    beech.post(f"{alert}/reply", {"text": "Reply text here"}, page=alert)
    beech.post(f"{alert}/actions", {"action_type": "police", "note": "n"}, page=alert)
    beech.post(f"{alert}/acknowledge", {"comment": "seen"}, page=alert)
    resolution = {"resolve_note": "Page taken down.", "confirm": "y"}
    assert ash.post(f"{alert}/resolve", resolution, page=alert).status_code == 303
    deliver_all(app)

    cedar_mail = [m.subject for m in smtp.to(cedar.person.email)]
    assert any("New reply from Beech" in s for s in cedar_mail)
    assert any("Beech recorded an action" in s for s in cedar_mail)
    assert any("Beech acknowledged" in s for s in cedar_mail)
    assert any("Resolved" in s for s in cedar_mail)
    assert len(cedar_mail) == 4
    assert all("Reply text here" not in m.raw.decode() for m in smtp.mails)
    ash_notices = [
        n.event for n in notifications(app, Notification.member_id == ash.person.member.id)
    ]
    assert sorted(ash_notices) == [
        "alert.acknowledged",
        "alert.action_recorded",
        "alert.replied",
    ]  # not their own resolution
    assert smtp.to(ash.person.email) == []  # the poster's own watch is in the hub only

    page = cedar.client.get("/notifications/watching").get_data(as_text=True)
    assert "In the hub and by email" in page
    assert (
        cedar.post(
            f"/notifications/unwatch/{alert_id}", {}, page="/notifications/watching"
        ).status_code
        == 303
    )
    outsider = make_head(app, world, cluster, "Damson")
    assert (
        outsider.post(
            f"/notifications/watch/{alert_id}", {"by_email": "y"}, page="/notifications/watching"
        ).status_code
        == 404
    )
    assert {"alert.watched", "alert.unwatched"} <= set(actions(app))


# --- in the hub: counts and the notices page ---------------------------------------------------


def test_the_unread_count_and_inbox_update_without_reloading(app, world, cluster):
    ash, beech = make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")
    before = beech.client.get("/notifications/unread.json").get_json()
    assert before == {"unread": 0, "latest": None, "notifications": 0}
    ash.post_alert([beech.school])
    after = beech.client.get("/notifications/unread.json")
    assert after.headers["Cache-Control"] == "no-store"
    data = after.get_json()
    assert data["unread"] == 1
    assert data["notifications"] == 1
    assert data["latest"].startswith(str(utcnow().year))
    page = beech.client.get("/alerts").get_data(as_text=True)
    assert '<script src="/static/notifications.js" defer></script>' in page
    script = beech.client.get("/static/notifications.js")
    assert script.status_code == 200
    script.close()
    assert app.test_client().get("/notifications/unread.json").status_code == 302

    notices = beech.client.get("/notifications").get_data(as_text=True)
    assert "High alert from Ash" in notices
    assert "notice-item--new" in notices
    assert beech.client.get("/notifications/unread.json").get_json()["notifications"] == 0
    assert "notice-item--new" not in beech.client.get("/notifications").get_data(as_text=True)


# --- who may do what ------------------------------------------------------------------------------


def test_heads_manage_the_schools_subscriptions_and_members_their_own(
    app, world, cluster, receiver
):
    ash = make_head(app, world, cluster, "Ash")
    world.person(Role.STAFF, "dsl@ash.example.org", school=ash.school)
    staff = app.test_client()
    sign_in(staff, "dsl@ash.example.org")
    webhook(ash, receiver)
    school_sub = subscriptions_of(app, school_id=ash.school.id)[0]
    head_sub = subscriptions_of(app, ash.person.member.id)[0]

    assert staff.get("/notifications/subscriptions/new?for=school").status_code == 403
    assert staff.get(f"/notifications/subscriptions/{school_sub.id}").status_code == 403
    assert staff.get(f"/notifications/subscriptions/{head_sub.id}").status_code == 404
    assert receiver.url() not in staff.get("/notifications/subscriptions").get_data(as_text=True)
    staff_sub = next(
        s for s in subscriptions_of(app) if s.owner_id not in (None, ash.person.member.id)
    )
    assert ash.client.get(f"/notifications/subscriptions/{staff_sub.id}").status_code == 404
    other = make_head(app, world, world.cluster("Elsewhere"), "Zed")
    assert other.client.get(f"/notifications/subscriptions/{school_sub.id}").status_code == 404
    assert staff.get("/notifications/deadlines").status_code == 403
    assert ash.client.get("/notifications/deadlines").status_code == 403
    # Personal webhooks do not exist; in-hub notices are personal.
    response = subscribe(ash, channel="webhook", target_url=receiver.url())
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_bad_subscriptions_are_refused_next_to_the_field(app, world, cluster):
    ash = make_head(app, world, cluster, "Ash")
    cases = [
        ({"target_email": "not an address"}, "Enter an email address"),
        ({"channel": "webhook", "target_url": "ftp://x.example.org/"}, "starting with https://"),
        ({"channel": "webhook", "target_url": "http://10.0.0.5/hook"}, "private, loopback"),
        (
            {"channel": "webhook", "target_url": "https://169.254.169.254/latest"},
            "private, loopback",
        ),
        (
            {"channel": "webhook", "target_url": "https://user:pw@hooks.example.org/"},
            "Leave passwords out",
        ),
        ({"target_email": "a@b.example.org", "categories": ["gossip"]}, "Not a valid choice"),
        (
            {"target_email": "a@b.example.org", "senders": [str(ash.school.id)]},
            "Not a valid choice",
        ),
    ]
    for fields, message in cases:
        response = subscribe(ash, school=True, **fields)
        page = response.get_data(as_text=True)
        assert response.status_code == 422, (fields, page)
        assert message.lower() in page.lower(), fields
    assert subscriptions_of(app, school_id=ash.school.id) == []


def test_changes_to_subscriptions_are_audited_without_their_targets(app, world, cluster, receiver):
    ash = make_head(app, world, cluster, "Ash")
    webhook(ash, receiver)
    sub = subscriptions_of(app, school_id=ash.school.id)[0]
    assert change(ash, sub, min_severity="high").status_code == 303
    page = f"/notifications/subscriptions/{sub.id}"
    assert ash.post(f"{page}/rotate", {"confirm": "yes"}, page=page).status_code == 200
    assert ash.post(f"{page}/test", {}, page=page).status_code == 303
    assert ash.post(f"{page}/delete", {"confirm": "yes"}, page=page).status_code == 303
    done = actions(app)
    for action in (
        "subscription.created",
        "subscription.changed",
        "subscription.secret_rotated",
        "notification.test_sent",
        "subscription.deleted",
    ):
        assert action in done
    with own_transaction(app) as session:
        details = [str(e.detail) for e in session.scalars(select(AuditEvent))]
    assert not any(receiver.url() in d for d in details)


def test_a_member_who_never_signed_in_still_hears_of_an_urgent_alert(app, world, cluster, smtp):
    ash = make_head(app, world, cluster, "Ash")
    school = world.school(cluster, "Beech")
    head = world.person(Role.HEAD, "head@beech.example.org", school=school)
    ash.post_alert([school], severity="urgent")
    deliver_all(app)
    assert smtp.recipients() == ["head@beech.example.org"]
    assert {s.channel for s in subscriptions_of(app, head.member.id)} == {"email", "in_app"}
    # Their first sign-in later does not add the defaults twice.
    sign_in(app.test_client(), "head@beech.example.org")
    assert len(subscriptions_of(app, head.member.id)) == 2


def test_every_problem_of_a_subscription_is_shown_at_once(app, world, cluster):
    ash = make_head(app, world, cluster, "Ash")
    response = subscribe(ash, school=True, target_email="not an address", categories=["gossip"])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "not a valid choice" in page.lower()
    assert "enter an email address" in page.lower()
    assert subscriptions_of(app, school_id=ash.school.id) == []
