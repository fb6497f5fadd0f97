"""Needs your attention (issue 17): where heads and safeguarding leads land,
what the page lists, acknowledging several alerts at once, marking one
unread for oneself, and image evidence shown in the alert's page."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from network.alerts.home_models import HomeVisit, UnreadMark
from network.alerts.models import AlertRecipient, ThreadItem
from network.db import own_transaction
from schools.db import utcnow
from schools.models import Cluster, Role
from tests.factories import client_for, sign_in
from tests.network.alerts_helpers import (
    audit_entries,
    colleague_of,
    png_bytes,
    post_as,
)


def _id(response):
    return response.headers["Location"].rsplit("/", 1)[1]


def _copy(app, alert_id, school):
    with own_transaction(app) as session:
        return session.get(AlertRecipient, (uuid.UUID(str(alert_id)), school.id))


# --- where people land ------------------------------------------------------------------


def test_heads_and_safeguarding_leads_land_on_what_needs_their_attention(app, world, cluster):
    school = world.school(cluster, "Oak")
    landing = {
        Role.HEAD: "/home",
        Role.DSL: "/home",
        Role.DEPUTY_DSL: "/home",
        Role.STAFF: "/school",
    }
    for role, expected in landing.items():
        email = f"{role.value}@oak.example.org"
        world.person(role, email, school=school)
        response = sign_in(app.test_client(), email)
        assert response.status_code == 302
        assert response.headers["Location"] == expected, role
    coordinator = world.person(Role.COORDINATOR, "coord@oak.example.org", cluster=cluster)
    assert sign_in(app.test_client(), coordinator.email).headers["Location"] == "/cluster/schools"


def test_the_brand_link_takes_a_head_home(ash):
    assert ash.client.get("/").headers["Location"] == "/home"
    page = ash.client.get("/home").get_data(as_text=True)
    assert "Needs your attention" in page
    assert "Nothing needs your attention" in page


def test_the_navigation_has_a_home_item_for_heads_and_safeguarding_leads(app, world, ash):
    nav = re.compile(r'<li><a href="/home"( aria-current="page")?>Home</a></li>')
    assert nav.search(ash.client.get("/alerts").get_data(as_text=True))
    assert 'href="/home" aria-current="page">Home<' in ash.client.get("/home").get_data(
        as_text=True
    )
    dsl = world.person(Role.DSL, "dsl@ash.example.org", school=ash.school)
    assert nav.search(client_for(app, dsl).get("/alerts").get_data(as_text=True))
    staff = world.person(Role.STAFF, "staff@ash.example.org", school=ash.school)
    assert not nav.search(client_for(app, staff).get("/alerts").get_data(as_text=True))


# --- what the page lists ------------------------------------------------------------------


def test_home_lists_overdue_and_unacknowledged_alerts_with_their_deadline(app, pair):
    ash, beech = pair
    with own_transaction(app) as session:
        overdue = post_as(
            session, ash.person.email, [beech.school.id], utcnow() - timedelta(hours=3), "urgent"
        ).id
    waiting = _id(ash.post_alert([beech.school], title="Page naming our deputy", severity="low"))
    done = _id(ash.post_alert([beech.school], title="Already in hand", severity="low"))
    beech.post(f"/alerts/{done}/acknowledge", {}, page=f"/alerts/{done}")
    page = beech.client.get("/home").get_data(as_text=True)
    overdue_part, _, rest = page.partition('id="waiting-heading"')
    assert "Acknowledgement overdue (1)" in overdue_part
    assert f"/alerts/{overdue}" in overdue_part
    assert "Was due" in overdue_part
    assert f"/alerts/{waiting}" in rest
    assert "Page naming our deputy" in rest
    assert "Already in hand" not in page
    # The sender's own alerts never wait for its own acknowledgement.
    assert "Nothing needs your attention" in ash.client.get("/home").get_data(as_text=True)
    # Titles are decrypted as the inbox decrypts them: audited.
    assert audit_entries(app, "inbox.titles_decrypted")


def test_replies_since_the_last_visit(app, pair):
    ash, beech = pair
    alert_id = _id(ash.post_alert([beech.school], title="Group chat naming a pupil"))
    beech.post(f"/alerts/{alert_id}/reply", {"text": "Ours too."}, page=f"/alerts/{alert_id}")
    first = ash.client.get("/home").get_data(as_text=True)
    assert "Your first visit: replies of the last 14 days." in first
    assert "Group chat naming a pupil" in first
    assert "1 reply from Beech" in first
    # Within the same visit the replies stay listed.
    assert "1 reply from Beech" in ash.client.get("/home").get_data(as_text=True)
    # An hour later is a new visit: only what came after the last one is listed.
    with own_transaction(app) as session:
        visit = session.get(HomeVisit, ash.person.member.id)
        visit.since -= timedelta(hours=2)
        visit.seen_at -= timedelta(hours=1)
        session.flush()
        with_reply = session.scalars(select(ThreadItem).where(ThreadItem.kind == "reply")).one()
        with_reply.created_at = visit.seen_at - timedelta(minutes=5)
    later = ash.client.get("/home").get_data(as_text=True)
    assert "No other school has replied since then." in later
    beech.post(f"/alerts/{alert_id}/reply", {"text": "And again."}, page=f"/alerts/{alert_id}")
    again = ash.client.get("/home").get_data(as_text=True)
    assert "1 reply from Beech" in again
    # Its own school's replies are not news to it.
    assert "No other school has replied" in beech.client.get("/home").get_data(as_text=True)


# --- acknowledging several at once ------------------------------------------------------------


def test_bulk_acknowledge_acknowledges_each_as_the_single_one_does(app, pair):
    ash, beech = pair
    ids = [_id(ash.post_alert([beech.school], title=f"Alert {n}")) for n in range(3)]
    inbox = beech.client.get("/alerts").get_data(as_text=True)
    assert inbox.count('name="alert_ids"') == 3
    response = beech.post(
        "/alerts/acknowledge", {"alert_ids": ids[:2], "back": "/alerts"}, page="/alerts"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/alerts"
    assert "Acknowledged 2 alerts." in beech.client.get("/alerts").get_data(as_text=True)
    for alert_id in ids[:2]:
        copy = _copy(app, alert_id, beech.school)
        assert copy.acknowledged_by_id == beech.person.member.id
        assert copy.first_read_at is not None
    assert _copy(app, ids[2], beech.school).acknowledged_at is None
    assert sorted(e.object_id for e in audit_entries(app, "alert.acknowledged")) == sorted(ids[:2])
    # The sender sees each acknowledgement, as after the single one.
    sender_page = ash.client.get(f"/alerts/{ids[0]}").get_data(as_text=True)
    assert "Head of Beech" in sender_page


def test_bulk_acknowledge_is_all_or_nothing(app, pair):
    ash, beech = pair
    first, second = (_id(ash.post_alert([beech.school], title=f"A{n}")) for n in range(2))
    beech.post(f"/alerts/{second}/acknowledge", {}, page=f"/alerts/{second}")
    response = beech.post(
        "/alerts/acknowledge", {"alert_ids": [first, second], "back": "/home"}, page="/alerts"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/home"
    page = beech.client.get("/home").get_data(as_text=True)
    assert "Nothing was acknowledged. Already acknowledged by Head of Beech" in page
    assert _copy(app, first, beech.school).acknowledged_at is None
    assert len(audit_entries(app, "alert.acknowledged")) == 1
    # Nothing chosen, or not an alert: refused, nothing written.
    for data in ({}, {"alert_ids": ["not-an-id"]}):
        beech.post("/alerts/acknowledge", data, page="/alerts")
        assert "Nothing was acknowledged." in beech.client.get("/alerts").get_data(as_text=True)
    assert _copy(app, first, beech.school).acknowledged_at is None
    # Another school's alert it did not receive: nothing, as for the single one.
    own = _id(beech.post_alert([ash.school]))
    beech.post("/alerts/acknowledge", {"alert_ids": [first, own]}, page="/alerts")
    assert _copy(app, first, beech.school).acknowledged_at is None


# --- mark as unread, per member -------------------------------------------------------------


def _unread_rows(html):
    return re.findall(r'class="alert-row alert-row--unread"', html)


def test_mark_unread_is_for_the_member_alone(app, world, pair):
    ash, beech = pair
    alert_id = _id(ash.post_alert([beech.school], title="Fake account"))
    colleague = colleague_of(app, beech, "dsl", "dsl@beech.example.org")
    beech.client.get(f"/alerts/{alert_id}")
    colleague.get(f"/alerts/{alert_id}")
    assert _unread_rows(beech.client.get("/alerts").get_data(as_text=True)) == []
    response = beech.post(f"/alerts/{alert_id}/unread", {}, page=f"/alerts/{alert_id}")
    assert response.status_code == 303
    inbox = beech.client.get("/alerts").get_data(as_text=True)
    assert len(_unread_rows(inbox)) == 1
    assert '<span class="count">1<' in inbox
    # The colleague, and the sender's receipts, see it read.
    assert _unread_rows(colleague.get("/alerts").get_data(as_text=True)) == []
    assert _copy(app, alert_id, beech.school).first_read_at is not None
    assert "Marked unread by you" in beech.client.get("/home").get_data(as_text=True)
    [event] = audit_entries(app, "alert.marked_unread")
    assert event.object_id == alert_id
    # Marking again changes nothing; opening it makes it read again.
    beech.post(f"/alerts/{alert_id}/unread", {}, page="/alerts")
    assert len(audit_entries(app, "alert.marked_unread")) == 1
    beech.client.get(f"/alerts/{alert_id}")
    assert _unread_rows(beech.client.get("/alerts").get_data(as_text=True)) == []
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(UnreadMark)) == 0


def test_mark_unread_only_of_an_alert_the_school_holds(app, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id = _id(ash.post_alert([cedar.school]))
    assert beech.post(f"/alerts/{alert_id}/unread", {}, page="/alerts").status_code == 404
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(UnreadMark)) == 0


# --- image previews -------------------------------------------------------------------------


def test_image_evidence_is_previewed_for_the_reader_only(app, world, cluster, pair):
    ash, beech = pair
    photo = png_bytes((12, 10))
    alert_id = _id(
        ash.post_alert(
            [beech.school],
            evidence=[
                (io.BytesIO(photo), "post.png", "image/png"),
                (io.BytesIO(b"%PDF-1.4 test"), "letter.pdf", "application/pdf"),
            ],
        )
    )
    with own_transaction(app) as session:
        items = {
            i.size > 0 and i.id: i
            for i in session.scalars(select(ThreadItem).where(ThreadItem.kind == "attachment"))
        }
    page = beech.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    previews = re.findall(
        r'<img class="evidence-preview" src="([^"]+)" alt="Preview of ([^"]+)"', page
    )
    assert [name for _url, name in previews] == ["post.png"]
    url = previews[0][0]
    shown = beech.client.get(url)
    assert shown.status_code == 200
    assert shown.mimetype == "image/png"
    assert shown.headers["Cache-Control"] == "no-store"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    from PIL import Image

    with Image.open(io.BytesIO(shown.data)) as image:
        assert image.size == (12, 10)
        assert image.format == "PNG"
    # Audited as the download it is, marked a preview.
    previewed = [
        e for e in audit_entries(app, "alert.attachment_downloaded") if e.detail.get("preview")
    ]
    assert len(previewed) == 1
    # Not a PDF, and not for a school that did not receive it.
    pdf = next(i for i in items.values() if f"/attachments/{i.id}/preview" not in url)
    assert beech.client.get(f"/alerts/{alert_id}/attachments/{pdf.id}/preview").status_code == 404
    cedar_head = world.person(Role.HEAD, "head@cedar.example.org", school=world.school(cluster))
    assert client_for(app, cedar_head).get(url).status_code == 404


def test_the_demo_shows_a_head_a_filled_page(runner, app):
    from network.cli import main

    assert (
        runner.invoke(main, args=["demo", "--password", "demo password for tests"]).exit_code == 0
    )
    # The demo's heads set up a second factor first (tested elsewhere); then this.
    with own_transaction(app) as session:
        for cluster in session.scalars(select(Cluster)):
            cluster.second_factor_leaders = False
    client = app.test_client()
    response = sign_in(client, "head.oakfield@demo.alertnet.example", "demo password for tests")
    assert response.headers["Location"] == "/home"
    page = client.get("/home").get_data(as_text=True)
    overdue, _, rest = page.partition('id="waiting-heading"')
    waiting, _, replies = rest.partition('id="replies-heading"')
    assert "Threats against a Year 9 pupil shared after school" in overdue
    assert "Was due" in overdue
    assert "Guidance request: staff accepting friend requests from parents" in waiting
    assert "Online safety evening for parents next month" in replies
    assert "1 reply from Riverside Academy" in replies
