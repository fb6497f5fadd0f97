"""Four-eyes review (issue 16): with review on, an alert from staff waits at
its school until a head or DSL approves it; nothing reaches another school
before; changes and rejection go back to the author; nobody approves their
own; every step is audited and the author is told."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from sqlalchemy import select, update

from network.alerts import review
from network.alerts.held_models import HeldAlert, HeldState
from network.alerts.models import Alert
from network.db import own_transaction
from network.notifications.models import Notification
from schools import roles
from schools.audit.models import AuditEvent
from schools.errors import Forbidden
from schools.models import Member
from tests.conftest import csrf_token
from tests.network.alerts_helpers import Head, count_rows, keys_of
from tests.network.api_helpers import alert_body, api_for, member_named
from tests.network.review_helpers import HELD, resubmit, submit, team


def _actions(app) -> list[str]:
    with own_transaction(app) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(
                    (AuditEvent.object_type == "held_alert")
                    | AuditEvent.action.like("school.review%")
                )
                .order_by(AuditEvent.seq)
            )
        )


@pytest.mark.heads("Ash", "Beech")
def test_a_dsl_approves_a_staff_alert_and_only_then_beech_receives_it(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    author, dsl = team(app, world, ash)
    held_id = submit(author, beech)
    # Nothing has reached Beech: inbox, API, notifications.
    assert count_rows(app, Alert) == 0
    assert "Fake page naming staff" not in beech.client.get("/alerts").get_data(as_text=True)
    api = api_for(app, beech.person.email)
    assert api.get("/api/v1/alerts").get_json()["alerts"] == []
    assert count_rows(app, Notification, Notification.school_id == beech.school.id) == 0
    # The DSL sees it in the queue and approves it.
    queue = dsl.client.get("/alerts/reviews").get_data(as_text=True)
    assert HELD.findall(queue) == [held_id]
    assert "Fake page naming staff" in queue
    approved = dsl.post(f"/alerts/reviews/{held_id}/approve", {}, page=f"/alerts/reviews/{held_id}")
    assert approved.status_code == 303, approved.get_data(as_text=True)[:2000]
    assert "Fake page naming staff" in beech.client.get("/alerts").get_data(as_text=True)
    author_id = member_named(app, "author@ash.example.org").id
    with own_transaction(app) as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.sender_member_id == author_id
    assert count_rows(app, HeldAlert) == 0
    assert (
        count_rows(
            app,
            Notification,
            Notification.event == "review.approved",
            Notification.member_id == author_id,
        )
        == 2
    )  # in the hub and by email
    assert _actions(app) == [
        "school.review_turned_on",
        "alert.draft_saved",
        "alert.submitted_for_review",
        "alert.review_approved",
    ]


@pytest.mark.heads("Ash", "Beech")
def test_changes_asked_for_then_a_rejection_with_its_reason(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    author, dsl = team(app, world, ash)
    held_id = submit(author, beech)
    empty = dsl.post(
        f"/alerts/reviews/{held_id}/changes",
        {"changes-text": ""},
        page=f"/alerts/reviews/{held_id}",
    )
    assert empty.status_code == 422
    assert "Enter the changes you ask for." in empty.get_data(as_text=True)
    asked = dsl.post(
        f"/alerts/reviews/{held_id}/changes",
        {"changes-text": "Remove the teacher's surname."},
        page=f"/alerts/reviews/{held_id}",
    )
    assert asked.status_code == 303
    # Decided already: a second decision is refused.
    late = dsl.post(
        f"/alerts/reviews/{held_id}/reject",
        {"reject-text": "Too late."},
        page="/alerts/reviews",
    )
    assert late.status_code == 409
    page = author.client.get(f"/alerts/drafts/{held_id}").get_data(as_text=True)
    assert "Remove the teacher&#39;s surname." in page
    # Resubmitted, then rejected.
    resubmit(author, held_id, beech)
    rejected = dsl.post(
        f"/alerts/reviews/{held_id}/reject",
        {"reject-text": "Not a matter for other schools."},
        page=f"/alerts/reviews/{held_id}",
    )
    assert rejected.status_code == 303
    assert "Not a matter for other schools." in author.client.get(
        f"/alerts/drafts/{held_id}"
    ).get_data(as_text=True)
    assert count_rows(app, Alert) == 0
    author_id = member_named(app, "author@ash.example.org").id
    for event in ("review.changes_requested", "review.rejected"):
        assert (
            count_rows(
                app, Notification, Notification.event == event, Notification.member_id == author_id
            )
            == 2
        )
    actions = _actions(app)
    assert "alert.review_changes_requested" in actions
    assert actions[-1] == "alert.review_rejected"
    # The notifications carry no note.
    with own_transaction(app) as session:
        payloads = session.scalars(select(Notification.payload)).all()
        assert not any("surname" in str(p) or "other schools." in str(p) for p in payloads)


@pytest.mark.heads("Ash", "Beech")
def test_nobody_approves_their_own_alert(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    author, _dsl = team(app, world, ash)
    held_id = submit(author, beech)
    # The author becomes a DSL: still not their own reviewer.
    with own_transaction(app) as session:
        session.execute(
            update(Member).where(Member.email == "author@ash.example.org").values(role="dsl")
        )
    before = _actions(app)
    with own_transaction(app) as session:
        member, keys = keys_of(session, "author@ash.example.org")
        with pytest.raises(Forbidden, match="you cannot review it"):
            review.approve(session, member, keys, uuid.UUID(held_id), date.today())
    assert count_rows(app, Alert) == 0
    assert _actions(app) == before
    with own_transaction(app) as session:
        assert session.get(HeldAlert, uuid.UUID(held_id)).state == HeldState.IN_REVIEW


@pytest.mark.heads("Ash", "Beech")
def test_staff_who_may_not_post_are_refused_and_nothing_is_written(app, world, heads):
    ash, _beech = heads["Ash"], heads["Beech"]
    author, _dsl = team(app, world, ash, may_post=False)
    before = _actions(app)
    refused = author.client.post("/alerts/new", data={})
    assert refused.status_code in (400, 403)
    page = author.client.get("/alerts/new")
    assert page.status_code == 403
    assert "Your head has not allowed you to post alerts" in page.get_data(as_text=True)
    assert count_rows(app, HeldAlert) == 0
    assert _actions(app) == before


def _api_post(author: Head, body: dict, **headers: str):
    """Staff hold no API token; their signed-in browser calls the API."""
    return author.client.post(
        "/api/v1/alerts",
        json=body,
        headers={"X-CSRFToken": csrf_token(author.client, "/account"), **headers},
    )


@pytest.mark.heads("Ash", "Beech")
def test_staff_submit_for_review_through_the_api_and_the_approved_alert_is_whole(app, world, heads):
    from tests.network.alerts_helpers import png_bytes
    from tests.network.api_helpers import attachment

    ash, beech = heads["Ash"], heads["Beech"]
    author, dsl = team(app, world, ash)
    body = alert_body(
        [beech.school],
        accounts=["@fake_staff_page"],
        groups=["Parents of Year 4"],
        done={"referred_to": ["police"], "references": "FB-123", "dsl_name": "Dee Lead"},
        attachments=[attachment("shot.png", png_bytes())],
    )
    waiting = _api_post(author, body, **{"Idempotency-Key": "submit-1"})
    assert waiting.status_code == 202, waiting.get_json()
    answer = waiting.get_json()
    assert answer["state"] == "in_review"
    assert set(answer) == {"id", "state", "submitted_at"}
    # A retry with the same key gets the same answer, and holds nothing more.
    retried = _api_post(author, body, **{"Idempotency-Key": "submit-1"})
    assert (retried.status_code, retried.get_json()) == (202, answer)
    assert count_rows(app, HeldAlert) == 1
    assert count_rows(app, Alert) == 0
    assert _actions(app)[-2:] == ["alert.draft_saved", "alert.submitted_for_review"]
    # Exactly as from the page: in the queue, the reviewers told, the author's draft.
    queue = dsl.client.get("/alerts/reviews").get_data(as_text=True)
    assert HELD.findall(queue) == [answer["id"]]
    assert (
        count_rows(
            app,
            Notification,
            Notification.event == "review.requested",
            Notification.member_id == member_named(app, "dsl@ash.example.org").id,
        )
        == 2
    )
    review_page = dsl.client.get(f"/alerts/reviews/{answer['id']}").get_data(as_text=True)
    assert "@fake_staff_page" in review_page
    approved = dsl.post(
        f"/alerts/reviews/{answer['id']}/approve", {}, page=f"/alerts/reviews/{answer['id']}"
    )
    assert approved.status_code == 303, approved.get_data(as_text=True)[:2000]
    beech_api = api_for(app, beech.person.email)
    [listed] = beech_api.get("/api/v1/alerts").get_json()["alerts"]
    content = beech_api.get(f"/api/v1/alerts/{listed['id']}").get_json()["content"]
    assert content["title"] == body["title"]
    assert content["description"] == body["description"]
    assert content["links"] == body["links"]
    assert content["accounts"] == ["@fake_staff_page"]
    assert content["groups"] == ["Parents of Year 4"]
    assert content["done"]["references"] == "FB-123"
    assert content["done"]["referred_to"] == ["police"]
    assert listed["attachment_count"] == 1


@pytest.mark.heads("Ash", "Beech")
def test_the_api_refuses_staff_a_bad_alert_or_no_permission_and_holds_nothing(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    author, _dsl = team(app, world, ash)
    before = _actions(app)
    bad = _api_post(author, alert_body([beech.school], tlp="RED", audience="cluster"))
    assert bad.status_code == 422
    assert [e["field"] for e in bad.get_json()["errors"]] == ["audience"]
    with own_transaction(app) as session:
        roles.set_may_post(session, None, member_named(app, "author@ash.example.org").id, False)
    refused = _api_post(author, alert_body([beech.school]))
    assert refused.status_code == 403
    assert "Your head has not allowed you to post alerts" in refused.get_json()["detail"]
    assert count_rows(app, HeldAlert) == 0
    assert count_rows(app, Alert) == 0
    assert _actions(app) == before


@pytest.mark.heads("Ash", "Beech", "Cedar")
def test_staff_cannot_forward_round_review(app, world, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    author, _dsl = team(app, world, ash)
    sent = beech.post_alert([ash.school], tlp="GREEN", tier="all")
    alert_id = sent.headers["Location"].rsplit("/", 1)[1]
    before = count_rows(app, Alert)
    refused = author.post(
        f"/alerts/{alert_id}/forward",
        {"schools": [str(cedar.school.id)], "note": "For you too"},
        page=f"/alerts/{alert_id}",
    )
    assert refused.status_code == 403
    assert "reviews alerts from staff" in refused.get_data(as_text=True)
    assert count_rows(app, Alert) == before


@pytest.mark.heads("Ash", "Beech")
def test_the_reviewer_opens_the_evidence_and_no_other_school_can(app, world, heads):
    import io

    from tests.network.alerts_helpers import png_bytes

    ash, beech = heads["Ash"], heads["Beech"]
    author, dsl = team(app, world, ash)
    sent = author.post_alert(
        [beech.school], evidence=[(io.BytesIO(png_bytes()), "shot.png", "image/png")]
    )
    assert sent.status_code == 303
    with own_transaction(app) as session:
        held = session.scalars(select(HeldAlert)).one()
        held_id = held.id
    page = dsl.client.get(f"/alerts/reviews/{held_id}").get_data(as_text=True)
    link = re.search(r'href="(/alerts/reviews/[^"]+/files/[^"]+)"', page)
    assert link is not None
    download = dsl.client.get(link.group(1))
    assert download.status_code == 200
    assert download.mimetype == "image/png"
    assert beech.client.get(link.group(1)).status_code == 404
    assert author.client.get(link.group(1).replace("/reviews/", "/drafts/")).status_code == 200


@pytest.mark.heads("Ash", "Beech")
def test_a_head_reviews_through_the_api(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    author, _dsl = team(app, world, ash)
    held_id = submit(author, beech)
    head_api = api_for(app, ash.person.email)
    queue = head_api.get("/api/v1/reviews").get_json()
    assert [(a["id"], a["title"], a["author"]) for a in queue["alerts"]] == [
        (held_id, "Fake page naming staff", "Ann Author")
    ]
    empty = head_api.post(f"/api/v1/reviews/{held_id}/changes", {"text": ""})
    assert empty.status_code == 422
    assert count_rows(app, HeldAlert, HeldAlert.state == HeldState.IN_REVIEW) == 1
    approved = head_api.post(f"/api/v1/reviews/{held_id}/approve", {})
    assert approved.status_code == 200, approved.get_json()
    decision = approved.get_json()
    assert decision["decision"] == "approved"
    inbox = api_for(app, beech.person.email).get("/api/v1/alerts").get_json()["alerts"]
    assert [a["id"] for a in inbox] == [decision["alert_id"]]
    again = head_api.post(f"/api/v1/reviews/{held_id}/approve", {})
    assert again.status_code == 404
