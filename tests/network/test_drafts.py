"""Drafts (issue 17): the post form reports every problem at once, files it
accepted survive a refused submission (sealed to the author's school), a
draft is saved, resumed and sent, and one abandoned for a day is shredded."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from network.alerts.held import shred_abandoned
from network.alerts.held_models import HeldAlert, HeldEvidence
from network.alerts.models import Alert, Sealed, SealedWrap
from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.db import utcnow
from tests.network.alerts_helpers import count_rows, phone_photo

DRAFT_LINK = re.compile(r'action="/alerts/drafts/([0-9a-f-]{36})"')


def _actions(app, prefix: str) -> list[str]:
    with own_transaction(app) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like(f"{prefix}%"))
                .order_by(AuditEvent.seq)
            )
        )


@pytest.mark.heads("Ash", "Beech")
def test_the_post_form_shows_every_problem_at_once(app, heads):
    a, _b = heads["Ash"], heads["Beech"]
    response = a.post_alert(
        [],
        title="",
        category="",
        platform="no-such-platform",
        links="ftp://example.com/x",
        accounts="@",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("title", "category", "platform", "links", "accounts", "schools"):
        assert f'id="{field}-error"' in page, field
    assert count_rows(app, Alert) == 0
    # Nothing was attached, so nothing was kept either.
    assert count_rows(app, HeldAlert) == 0


@pytest.mark.heads("Ash", "Beech")
def test_an_eight_megabyte_photo_survives_a_refused_submission_and_is_sent(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    photo = phone_photo()
    refused = a.post_alert(
        [b.school], title="", evidence=[(io.BytesIO(photo), "IMG_2041.jpg", "image/jpeg")]
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="title-error"' in page
    assert "Remove IMG_2041.jpg" in page
    draft_id = DRAFT_LINK.search(page).group(1)  # type: ignore[union-attr]
    # Kept sealed to Ash alone: one wrap per envelope, Ash's.
    with own_transaction(app) as session:
        held = session.get(HeldAlert, uuid.UUID(draft_id))
        assert held is not None
        assert held.author_id == a.person.member.id
        rows = list(session.scalars(select(HeldEvidence)))
        assert len(rows) == 1
        assert rows[0].size > 0
        wraps = session.scalars(
            select(SealedWrap.school_id).where(SealedWrap.sealed_id == rows[0].sealed_id)
        ).all()
        assert wraps == [a.school.id]
    assert count_rows(app, Alert) == 0
    # The draft's own address continues it, with the photo still attached.
    resumed = a.post(
        f"/alerts/drafts/{draft_id}",
        {
            "category": "staff_named",
            "severity": "high",
            "platform": "facebook",
            "tlp": "AMBER",
            "title": "Page naming two teachers",
            "audience": "schools",
            "schools": [str(b.school.id)],
        },
        content_type="multipart/form-data",
    )
    assert resumed.status_code == 303, resumed.get_data(as_text=True)[:3000]
    alert_id = resumed.headers["Location"].rsplit("/", 1)[1]
    with own_transaction(app) as session:
        alert = session.get(Alert, uuid.UUID(alert_id))
        assert alert is not None
        assert alert.attachment_count == 1
    assert count_rows(app, HeldAlert) == 0
    assert count_rows(app, HeldEvidence) == 0
    assert "alert.draft_sent" in _actions(app, "alert.draft")
    shown = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "IMG_2041.jpg" in shown


@pytest.mark.heads("Ash", "Beech")
def test_a_head_saves_a_draft_comes_back_and_sends_it(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    saved = a.post(
        "/alerts/new",
        {"title": "Half-written", "description": "More to come", "save_draft": "1"},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 303
    draft_url = saved.headers["Location"]
    listing = a.client.get("/alerts/drafts").get_data(as_text=True)
    assert "Half-written" in listing
    form = a.client.get(draft_url).get_data(as_text=True)
    assert 'value="Half-written"' in form
    assert "More to come" in form
    assert count_rows(app, Alert) == 0
    # Nothing of it is on the hub in clear.
    with own_transaction(app) as session:
        bodies = session.scalars(select(Sealed.body)).all()
        assert not any(b"Half-written" in body for body in bodies)
    sent = a.post(
        draft_url,
        {
            "category": "harassment",
            "severity": "high",
            "platform": "facebook",
            "tlp": "AMBER",
            "title": "Finished",
            "audience": "schools",
            "schools": [str(b.school.id)],
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    assert count_rows(app, Alert) == 1
    assert count_rows(app, HeldAlert) == 0
    assert "Finished" in b.client.get("/alerts").get_data(as_text=True)


@pytest.mark.heads("Ash")
def test_a_draft_abandoned_for_a_day_is_shredded(app, heads):
    a = heads["Ash"]
    saved = a.post(
        "/alerts/new",
        {"title": "Forgotten", "save_draft": "1", "evidence": []},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 303
    envelopes = count_rows(app, Sealed)
    with own_transaction(app) as session:
        assert shred_abandoned(session, utcnow() + timedelta(hours=23)) == 0
    with own_transaction(app) as session:
        assert shred_abandoned(session, utcnow() + timedelta(days=1, minutes=1)) == 1
    assert count_rows(app, HeldAlert) == 0
    assert count_rows(app, Sealed) == envelopes - 1
    assert _actions(app, "alert.draft") == ["alert.draft_saved", "alert.draft_shredded"]
    assert a.client.get(saved.headers["Location"]).status_code == 404
