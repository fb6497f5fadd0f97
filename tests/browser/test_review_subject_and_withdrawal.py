"""Issue 16 end to end, in the browser: a head allows a member of staff to
post and turns four-eyes review on; the member of staff posts an alert about
a member of Beech's staff, marking Beech as the subject's school; the DSL
approves it; Beech's head reads it, while the member of Beech's staff it is
about never sees it (page, inbox, unread count, notifications, API); the
sending school withdraws it and both schools see the withdrawal. Every page
passes axe-core at 390 and 1280 pixels wide."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from network.db import own_transaction
from network.notifications.models import Notification
from schools.models import Member, Role
from tests.conftest import PASSWORD

WIDTHS = ((390, 844), (1280, 900))
TITLE = "Parents' group names a Beech teacher"
REASON = "The post was misread: it names nobody at Beech."


def _checked_at_both_widths(person: Any, label: str) -> None:
    for width, height in WIDTHS:
        person.page.set_viewport_size({"width": width, "height": height})
        person.assert_accessible()
        person.snap(f"{label}-{width}")


def _member_id(app: Any, email: str) -> uuid.UUID:
    with own_transaction(app) as session:
        return session.scalars(select(Member.id).where(Member.email == email)).one()


def test_staff_post_reviewed_subject_never_sees_it_and_withdrawal_reaches_every_school(
    live_app, live_world, visitor
):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    beech = live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Head of Ash")
    live_world.person(Role.STAFF, "sam@ash.example.org", school=ash, name="Sam Staff")
    live_world.person(Role.DSL, "dee@ash.example.org", school=ash, name="Dee Lead")
    live_world.person(Role.HEAD, "head@beech.example.org", school=beech, name="Head of Beech")
    live_world.person(Role.STAFF, "tom@beech.example.org", school=beech, name="Tom Teacher")

    # Beech's head signs in first: Tom's keys are confirmed, Beech's leadership keys made.
    recipient = visitor("beech-head")
    recipient.sign_in("head@beech.example.org", PASSWORD)
    tom = visitor("beech-staff")
    tom.sign_in("tom@beech.example.org", PASSWORD)

    head = visitor("ash-head")
    head.sign_in("head@ash.example.org", PASSWORD)
    head.goto("/school")
    head.page.get_by_role("button", name="Allow posting for Sam Staff").click()
    head.page.wait_for_load_state()
    head.page.get_by_label("On: a head or the DSL approves each alert from staff").check()
    head.page.locator("form[action='/school/review'] button").click()
    head.page.wait_for_load_state()
    _checked_at_both_widths(head, "granted-and-review-on")

    sam = visitor("ash-staff")
    sam.sign_in("sam@ash.example.org", PASSWORD)
    sam.goto("/alerts/new")
    page = sam.page
    page.get_by_label("Staff named or discussed").check()
    page.get_by_label("Platform", exact=True).select_option("facebook")
    page.get_by_label("High", exact=True).check()
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("What happened").fill("A parents' group names a Beech teacher.")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Beech Primary", exact=True).check()
    page.get_by_label("A member of a recipient school is the subject (optional)").select_option(
        label="Beech Primary"
    )
    _checked_at_both_widths(sam, "post-form")
    page.get_by_role("button", name="Encrypt and submit for review").click()
    page.wait_for_load_state()
    assert "Sent for review" in page.content()

    # Nothing reaches Beech before approval.
    recipient.goto("/alerts")
    assert TITLE not in recipient.page.content()

    dee = visitor("ash-dsl")
    dee.sign_in("dee@ash.example.org", PASSWORD)
    dee.goto("/alerts/reviews")
    dee.page.get_by_role("link", name=TITLE).click()
    dee.page.wait_for_load_state()
    _checked_at_both_widths(dee, "review")
    dee.page.get_by_role("button", name="Approve and send").click()
    dee.page.wait_for_load_state()
    assert "Approved: the alert was sealed to its schools and sent." in dee.page.content()

    recipient.goto("/alerts")
    assert TITLE in recipient.page.content()
    recipient.page.get_by_role("link", name=TITLE).first.click()
    recipient.page.wait_for_load_state()
    alert_path = recipient.page.url.removeprefix(recipient.base)
    alert_id = alert_path.rsplit("/", 1)[1]
    assert "A parents' group names a Beech teacher." in recipient.page.content()
    _checked_at_both_widths(recipient, "received-by-leadership")

    # The member of Beech's staff it is about: not in the inbox, not counted,
    # no page, no notification, nothing through the API.
    tom.goto("/alerts")
    assert TITLE not in tom.page.content()
    assert tom.page.locator("nav .count").count() == 0
    _checked_at_both_widths(tom, "subject-inbox")
    response = tom.page.goto(recipient.base + alert_path)
    assert response is not None
    assert response.status == 404
    assert "A parents' group names a Beech teacher." not in tom.page.content()
    tom_id = _member_id(live_app, "tom@beech.example.org")
    with own_transaction(live_app) as session:
        told = session.scalars(
            select(Notification).where(
                Notification.member_id == tom_id,
                Notification.alert_id == uuid.UUID(alert_id),
            )
        ).all()
    assert told == []
    # The API, with Tom's signed-in session (staff make no API tokens).
    api = tom.page.request
    assert api.get(f"{tom.base}/api/v1/alerts/{alert_id}").status == 404
    listed = api.get(f"{tom.base}/api/v1/alerts")
    assert listed.status == 200
    assert alert_id not in listed.text()

    # The sending school withdraws it; both schools see the withdrawal.
    head.goto(alert_path)
    head.page.get_by_label("Why are you withdrawing it?").fill(REASON)
    head.page.get_by_label("I understand that this destroys the alert").check()
    head.page.get_by_role("button", name="Withdraw the alert").click()
    head.page.wait_for_load_state()
    assert "Withdrawn. Its content was destroyed at every school" in head.page.content()
    for reader in (recipient, head):
        reader.goto(alert_path)
        assert reader.page.get_by_role("heading", name="Withdrawn by the sender").is_visible()
        assert REASON in reader.page.content()
        assert "A parents' group names a Beech teacher." not in reader.page.content()
        _checked_at_both_widths(reader, "withdrawn")
    tom.goto("/alerts")
    assert TITLE not in tom.page.content()
