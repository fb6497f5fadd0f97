"""Shown means signed: someone with write access to the hub's database changes
one column at a time, and the page and the API refuse what no longer matches
the sender's signature, naming what failed, instead of showing it as verified."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from network.alerts.models import Alert, AlertRecipient, ThreadItem
from network.db import own_transaction
from schools.audit.models import AuditEvent
from tests.network.alerts_helpers import png_bytes
from tests.network.api_helpers import api_for

VERIFIED = "✓ Signature verified"

pytestmark = pytest.mark.heads("Ash", "Beech", "Cedar", "Dale")


@dataclass
class Story:
    """One alert from Ash to Beech and Cedar with two screenshots, two replies
    from Beech and a police referral; and a forward of a second alert."""

    alert: uuid.UUID
    other: uuid.UUID
    forward: uuid.UUID
    replies: list[uuid.UUID]
    action: uuid.UUID
    attachments: list[uuid.UUID]
    other_attachment: uuid.UUID


def _alert_id(response) -> uuid.UUID:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return uuid.UUID(response.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture
def signed_story(app, heads) -> Story:
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    shots = [(io.BytesIO(png_bytes((8 + i, 8))), f"shot{i}.png", "image/png") for i in (1, 2)]
    alert = _alert_id(ash.post_alert([beech.school, cedar.school], tlp="GREEN", evidence=shots))
    page = f"/alerts/{alert}"
    for text in ("First reply from Beech", "Second reply from Beech"):
        assert beech.post(f"{page}/reply", {"text": text}, page=page).status_code == 303
    referral = {"action_type": "police", "note": "Reported to the police"}
    assert beech.post(f"{page}/actions", referral, page=page).status_code == 303
    other = _alert_id(
        ash.post_alert(
            [beech.school],
            title="Another alert",
            tlp="GREEN",
            evidence=(io.BytesIO(png_bytes((9, 9))), "other.png", "image/png"),
        )
    )
    forwarded = beech.post(
        f"/alerts/{other}/forward", {"schools": [str(cedar.school.id)]}, page=f"/alerts/{other}"
    )
    forward = _alert_id(forwarded)
    with own_transaction(app) as session:

        def items(alert_id: uuid.UUID, kind: str) -> list[uuid.UUID]:
            return list(
                session.scalars(
                    select(ThreadItem.id)
                    .where(ThreadItem.alert_id == alert_id, ThreadItem.kind == kind)
                    .order_by(ThreadItem.created_at, ThreadItem.size)
                )
            )

        return Story(
            alert,
            other,
            forward,
            items(alert, "reply"),
            items(alert, "action")[0],
            items(alert, "attachment"),
            items(other, "attachment")[0],
        )


def _swap(session: Session, first: uuid.UUID, second: uuid.UUID, column: str) -> None:
    one, two = (session.get(ThreadItem, i) for i in (first, second))
    assert one is not None
    assert two is not None
    a, b = getattr(one, column), getattr(two, column)
    session.execute(update(ThreadItem).where(ThreadItem.id == first).values({column: None}))
    session.execute(update(ThreadItem).where(ThreadItem.id == second).values({column: a}))
    session.execute(update(ThreadItem).where(ThreadItem.id == first).values({column: b}))


def _member_of(heads, name):
    return heads[name].person.member.id


# (what is changed, whose page shows it, which alert, alert-level or item-level,
#  the change) -- one column at a time.
Change = Callable[[Session, Story, dict], None]
CASES: dict[str, tuple[str, str, str, Change]] = {
    "the sending member": (
        "Beech",
        "alert",
        "alert",
        lambda s, st, h: s.execute(
            update(Alert).where(Alert.id == st.alert).values(sender_member_id=_member_of(h, "Dale"))
        ),
    ),
    "the alert's time": (
        "Beech",
        "alert",
        "alert",
        lambda s, st, h: s.execute(
            update(Alert)
            .where(Alert.id == st.alert)
            .values(created_at=s.get(Alert, st.alert).created_at - timedelta(days=3))
        ),
    ),
    "forwarded_from on an alert that is not a forward": (
        "Beech",
        "alert",
        "alert",
        lambda s, st, h: s.execute(
            update(Alert).where(Alert.id == st.alert).values(forwarded_from_id=st.other)
        ),
    ),
    "forwarded_from of a forward": (
        "Cedar",
        "forward",
        "alert",
        lambda s, st, h: s.execute(
            update(Alert).where(Alert.id == st.forward).values(forwarded_from_id=st.alert)
        ),
    ),
    "an added recipient": (
        "Beech",
        "alert",
        "alert",
        lambda s, st, h: s.execute(
            insert(AlertRecipient).values(
                alert_id=st.alert,
                school_id=h["Dale"].school.id,
                is_sender=False,
                created_at=s.get(Alert, st.alert).created_at,
                cluster_id=h["Dale"].school.cluster_id,
                severity="high",
            )
        ),
    ),
    "a copy relabelled as another school's": (
        "Beech",
        "alert",
        "alert",
        lambda s, st, h: s.execute(
            update(AlertRecipient)
            .where(
                AlertRecipient.alert_id == st.alert,
                AlertRecipient.school_id == h["Cedar"].school.id,
            )
            .values(school_id=h["Dale"].school.id)
        ),
    ),
    "a reply's time": (
        "Cedar",
        "alert",
        "item",
        lambda s, st, h: s.execute(
            update(ThreadItem)
            .where(ThreadItem.id == st.replies[1])
            .values(created_at=s.get(ThreadItem, st.replies[1]).created_at - timedelta(hours=2))
        ),
    ),
    "the action's type": (
        "Cedar",
        "alert",
        "item",
        lambda s, st, h: s.execute(
            update(ThreadItem).where(ThreadItem.id == st.action).values(action_type="legal_advice")
        ),
    ),
    "a reply's author": (
        "Cedar",
        "alert",
        "item",
        lambda s, st, h: s.execute(
            update(ThreadItem)
            .where(ThreadItem.id == st.replies[0])
            .values(author_member_id=_member_of(h, "Cedar"))
        ),
    ),
    "two replies swapped": (
        "Cedar",
        "alert",
        "item",
        lambda s, st, h: _swap(s, st.replies[0], st.replies[1], "sealed_id"),
    ),
    "attachments swapped between alerts": (
        "Beech",
        "alert",
        "alert",
        lambda s, st, h: _swap(s, st.attachments[0], st.other_attachment, "sealed_id"),
    ),
    "an attachment removed": (
        "Beech",
        "alert",
        "alert",
        lambda s, st, h: s.execute(delete(ThreadItem).where(ThreadItem.id == st.attachments[1])),
    ),
}


def test_an_untouched_thread_is_verified_everywhere(app, heads, signed_story):
    for name, alert in (("Beech", signed_story.alert), ("Cedar", signed_story.forward)):
        page = heads[name].client.get(f"/alerts/{alert}").get_data(as_text=True)
        assert VERIFIED in page
        assert "integrity check" not in page
        body = api_for(app, heads[name].person.email).get(f"/api/v1/alerts/{alert}").get_json()
        assert body["verified"] is True
        assert all(item["problem"] is None for item in body["thread"])


@pytest.mark.parametrize("changed", list(CASES))
def test_a_changed_column_is_refused_by_the_page_and_the_api(app, heads, signed_story, changed):
    reader, which, level, change = CASES[changed]
    alert = signed_story.forward if which == "forward" else signed_story.alert
    with own_transaction(app) as session:
        change(session, signed_story, heads)
    page = heads[reader].client.get(f"/alerts/{alert}")
    html = page.get_data(as_text=True)
    response = api_for(app, heads[reader].person.email).get(f"/api/v1/alerts/{alert}")
    if level == "alert":
        assert page.status_code == 200
        assert VERIFIED not in html
        assert "does not match what the sender signed" in html
        assert "tell your coordinator" in html
        assert response.status_code == 409, response.get_data(as_text=True)
        problem = response.get_json()
        assert problem["verified"] is False
        assert "does not match" in problem["detail"]
    else:
        assert "integrity check" in html or "does not match what its author signed" in html
        assert response.status_code == 200
        failing = [i for i in response.get_json()["thread"] if i["problem"]]
        assert failing, response.get_json()["thread"]
        assert all(i["text"] is None and i["attachment"] is None for i in failing)
    with own_transaction(app) as session:
        assert session.scalar(
            select(AuditEvent.seq).where(AuditEvent.action == "alert.integrity_failed")
        )


def test_an_envelope_of_the_earlier_format_is_checked_as_far_as_it_goes(app, heads, monkeypatch):
    """Envelopes sealed before version 2 cannot be re-signed. They open with
    every check version 1 covers (sender, time, recipients, content); a forward
    among them says its origin is the hub's word only."""
    import crypto.envelope
    import network.alerts.posting

    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    monkeypatch.setattr(crypto.envelope, "HEADER_VERSION", 1)
    monkeypatch.setattr(network.alerts.posting, "Origin", lambda *_: None)
    # Version 1 headers know the all-staff tier only.
    old = _alert_id(ash.post_alert([beech.school], title="Old one", tlp="GREEN", tier="all"))
    page = f"/alerts/{old}"
    assert beech.post(f"{page}/reply", {"text": "An old reply"}, page=page).status_code == 303
    forward = _alert_id(
        beech.post(f"{page}/forward", {"schools": [str(cedar.school.id)]}, page=page)
    )
    monkeypatch.undo()
    html = beech.client.get(page).get_data(as_text=True)
    assert VERIFIED in html
    assert "An old reply" in html
    html = cedar.client.get(f"/alerts/{forward}").get_data(as_text=True)
    assert VERIFIED in html
    assert "Old one" in html
    assert "originally from <strong>Ash</strong>" in html
    assert "Signed under the earlier format" in html
    assert "both signatures checked" not in html
    with own_transaction(app) as session:
        session.execute(
            update(Alert).where(Alert.id == old).values(sender_member_id=_member_of(heads, "Dale"))
        )
    html = beech.client.get(page).get_data(as_text=True)
    assert "does not match what the sender signed (the sender)" in html


def test_the_original_sender_is_told_of_a_forward(app, heads, signed_story):
    from network.notifications.models import Notification

    ash = heads["Ash"].person.member
    with own_transaction(app) as session:
        told = session.scalars(
            select(Notification).where(
                Notification.event == "alert.forwarded", Notification.member_id == ash.id
            )
        ).all()
        assert told
        assert all(n.alert_id == signed_story.other for n in told)
        assert told[0].payload["schools"] == 1
        forwarded = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.forwarded")
        ).one()
        assert forwarded.object_id == str(signed_story.other)


def test_a_withdrawal_the_sender_did_not_sign_is_not_shown_as_one(app, heads, signed_story):
    """The hub sets an alert's status to withdrawn: without a withdrawal signed
    by the sending school, the page does not say the sender withdrew it."""
    with own_transaction(app) as session:
        session.execute(
            update(Alert).where(Alert.id == signed_story.alert).values(status="withdrawn")
        )
    page = heads["Beech"].client.get(f"/alerts/{signed_story.alert}")
    html = page.get_data(as_text=True)
    assert "Withdrawn by the sender" not in html
    assert "no withdrawal signed by the sending school opens" in html
    api = api_for(app, heads["Beech"].person.email)
    refused = api.get(f"/api/v1/alerts/{signed_story.alert}")
    assert refused.status_code == 409
    assert refused.get_json()["verified"] is False
