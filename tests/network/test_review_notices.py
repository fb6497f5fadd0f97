"""Reviewers hear of an alert waiting for them (issue 16): the heads and
safeguarding leads of the author's school, in the hub and by email, with a
link to the alert in the review queue and nothing of its content."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from network.db import own_transaction
from network.notifications import render
from network.notifications.models import Notification
from tests.network.api_helpers import member_named
from tests.network.review_helpers import resubmit, submit, team

TITLE = "Fake page naming staff"


def _requested(app) -> list[Notification]:
    with own_transaction(app) as session:
        rows = list(
            session.scalars(
                select(Notification)
                .where(Notification.event == "review.requested")
                .order_by(Notification.created_at)
            )
        )
        session.expunge_all()
        return rows


@pytest.mark.heads("Ash", "Beech")
def test_the_heads_and_dsls_of_the_authors_school_are_told_with_a_link_and_no_content(
    app, world, heads
):
    ash, beech = heads["Ash"], heads["Beech"]
    author, dsl = team(app, world, ash)
    held_id = submit(author, beech, title=TITLE)
    rows = _requested(app)
    told = {(r.member_id, r.channel) for r in rows}
    head_id, dsl_id = ash.person.member.id, member_named(app, "dsl@ash.example.org").id
    author_id = member_named(app, "author@ash.example.org").id
    assert told == {
        (head_id, "in_app"),
        (head_id, "email"),
        (dsl_id, "in_app"),
        (dsl_id, "email"),
    }
    assert author_id not in {r.member_id for r in rows}
    assert {r.school_id for r in rows} == {ash.school.id}
    assert {r.target for r in rows if r.channel == "email"} == {
        ash.person.email,
        "dsl@ash.example.org",
    }
    for row in rows:
        assert row.payload["path"] == f"/alerts/reviews/{held_id}"
        assert TITLE not in str(row.payload)
        assert set(row.payload) == {"type", "at", "path"}
    # The email: what waits and where, never the content.
    rendered = render.describe(rows[0].payload, "https://hub.example.org", ZoneInfo("UTC"))
    assert rendered.subject == "[alertnet] An alert waits for your review"
    assert rendered.link == f"https://hub.example.org/alerts/reviews/{held_id}"
    assert "review alerts from your school's staff" in rendered.why
    # In the hub: the DSL's notifications link to the alert waiting for them.
    page = dsl.client.get("/notifications").get_data(as_text=True)
    assert "An alert waits for your review" in page
    assert f"/alerts/reviews/{held_id}" in page
    assert TITLE not in page


@pytest.mark.heads("Ash", "Beech")
def test_a_resubmission_after_changes_tells_the_reviewers_again(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    author, dsl = team(app, world, ash)
    held_id = submit(author, beech)
    assert len(_requested(app)) == 4
    asked = dsl.post(
        f"/alerts/reviews/{held_id}/changes",
        {"changes-text": "Remove the teacher's surname."},
        page=f"/alerts/reviews/{held_id}",
    )
    assert asked.status_code == 303
    resubmit(author, held_id, beech)
    assert len(_requested(app)) == 8


@pytest.mark.heads("Ash", "Beech")
def test_an_alert_sent_straight_away_tells_no_reviewer(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    team(app, world, ash)
    sent = ash.post_alert([beech.school], title="From the head")
    assert sent.status_code == 303
    assert _requested(app) == []
