"""Status per school: each recipient closes the alert on its own side with a
note and may reopen it; the sender's resolution closes it for the sender only."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from network.alerts.models import AlertRecipient, ThreadItem
from network.db import own_transaction
from network.notifications.models import Notification
from schools.audit.models import AuditEvent
from tests.network.alerts_helpers import make_head
from tests.network.api_helpers import api_for, assert_problem


def _copies(app, alert_id: str) -> dict[str, bool]:
    """Each school's name: closed on its side."""
    with own_transaction(app) as session:
        rows = session.scalars(
            select(AlertRecipient).where(AlertRecipient.alert_id == uuid.UUID(alert_id))
        ).all()
        return {row.school.name: row.closed_at is not None for row in rows}


def test_each_school_closes_and_reopens_its_own_side_only(app, world):
    cluster = world.cluster("Riverside")
    ash, beech, cedar = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
    alert_id = ash.post_alert([beech.school, cedar.school]).headers["Location"].rsplit("/", 1)[1]
    page = f"/alerts/{alert_id}"
    no_note = beech.post(f"{page}/close", {"close_note": ""}, page=page)
    assert no_note.status_code == 422
    assert "Enter the note." in no_note.get_data(as_text=True)
    sender_closing = ash.post(f"{page}/close", {"close_note": "x"}, page=page)
    assert sender_closing.status_code == 409
    assert "resolve it instead" in sender_closing.get_data(as_text=True)
    assert beech.post(f"{page}/close", {"close_note": "Pupils spoken to."}, page=page).status_code
    assert _copies(app, alert_id) == {"Ash": False, "Beech": True, "Cedar": False}
    with own_transaction(app) as session:  # the poster watches it, and hears of the closing
        told = session.scalars(
            select(Notification.member_id).where(Notification.event == "alert.closed")
        ).all()
    assert told == [ash.person.member.id]
    shown = cedar.client.get(page).get_data(as_text=True)
    assert "Pupils spoken to." in shown  # the note is sealed to every school of the alert
    assert "closed it for their school" in shown
    assert "Close for your school" in shown  # Cedar's own side is still open
    assert "Reopen for your school" in beech.client.get(page).get_data(as_text=True)
    twice = beech.post(f"{page}/close", {"close_note": "again"}, page=page)
    assert twice.status_code == 409
    assert "Already closed for your school by Head of Beech" in twice.get_data(as_text=True)
    # The inbox filters by the school's own side.
    assert beech.alert_ids("/alerts?status=closed") == [alert_id]
    assert beech.alert_ids("/alerts?status=open") == []
    assert cedar.alert_ids("/alerts?status=open") == [alert_id]
    # Beech can still act after closing, and reopen it.
    assert beech.post(f"{page}/reply", {"text": "One more thing."}, page=page).status_code == 303
    assert beech.post(f"{page}/reopen", {}, page=page).status_code == 303
    assert _copies(app, alert_id) == {"Ash": False, "Beech": False, "Cedar": False}
    # Through the API: close, read the status, reopen.
    api = api_for(app, cedar.person.email)
    assert_problem(api.post(f"/api/v1/alerts/{alert_id}/close", {}), 422, field="note")
    closed = api.post(f"/api/v1/alerts/{alert_id}/close", {"note": "Reported to the platform."})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["closed_by"]["name"] == "Head of Cedar"
    copies = api.get(f"/api/v1/alerts/{alert_id}").get_json()["recipients"]
    assert {c["school"]["name"]: c["closed_at"] is not None for c in copies} == {
        "Ash": False,
        "Beech": False,
        "Cedar": True,
    }
    assert api.post(f"/api/v1/alerts/{alert_id}/reopen").status_code == 200
    assert_problem(api.post(f"/api/v1/alerts/{alert_id}/reopen"), 409, "open for your school")
    with own_transaction(app) as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions.count("alert.closed") == 2
    assert actions.count("alert.reopened") == 2


def test_the_senders_resolution_closes_its_side_and_reopening_opens_it_again(app, world):
    cluster = world.cluster("Riverside")
    ash, beech = (make_head(app, world, cluster, n) for n in ("Ash", "Beech"))
    alert_id = ash.post_alert([beech.school]).headers["Location"].rsplit("/", 1)[1]
    page = f"/alerts/{alert_id}"
    resolved = ash.post(
        f"{page}/resolve", {"resolve_note": "Page removed.", "confirm": "y"}, page=page
    )
    assert resolved.status_code == 303
    assert _copies(app, alert_id) == {"Ash": True, "Beech": False}
    assert ash.alert_ids("/alerts/sent?status=resolved") == [alert_id]
    assert beech.alert_ids("/alerts?status=open") == [alert_id]  # open for Beech still
    assert beech.post(f"{page}/close", {"close_note": "Done too."}, page=page).status_code == 303
    assert ash.post(f"{page}/reopen", {}, page=page).status_code == 303
    assert _copies(app, alert_id) == {"Ash": False, "Beech": True}
    assert ash.alert_ids("/alerts/sent?status=resolved") == []
    with own_transaction(app) as session:
        kinds = list(session.scalars(select(ThreadItem.kind).order_by(ThreadItem.created_at)))
    assert kinds == ["closure", "closure"]
