"""The API for what the home page and the inbox's buttons do (issue 17):
GET /api/v1/home, marking an alert unread, acknowledging several at once;
each the page's service, so the same rules and the same answers."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from network.alerts.bulk import MAX_CHOSEN
from network.alerts.home_models import UnreadMark
from network.alerts.models import AlertRecipient
from network.db import own_transaction
from schools.db import utcnow
from schools.policy import Scope
from tests.network.alerts_helpers import audit_entries, post_as
from tests.network.api_helpers import api_for, assert_problem

pytestmark = pytest.mark.heads("Ash", "Beech", "Cedar")


def _id(response) -> str:
    return str(response.headers["Location"].rsplit("/", 1)[1])


def _acknowledged(app, school) -> set[str]:
    with own_transaction(app) as session:
        return {
            str(alert_id)
            for alert_id in session.scalars(
                select(AlertRecipient.alert_id).where(
                    AlertRecipient.school_id == school.id,
                    AlertRecipient.acknowledged_at.is_not(None),
                )
            )
        }


def _ids(rows) -> list[str]:
    return [row["id"] for row in rows]


def test_the_api_home_has_the_sections_of_the_page(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    with own_transaction(app) as session:
        overdue = str(
            post_as(
                session,
                ash.person.email,
                [beech.school.id],
                utcnow() - timedelta(hours=3),
                "urgent",
            ).id
        )
    waiting = _id(ash.post_alert([beech.school], title="Page naming our deputy", severity="low"))
    replied = _id(beech.post_alert([ash.school], title="Our own alert", severity="low"))
    ash.post(f"/alerts/{replied}/reply", {"text": "Seen here too."}, page=f"/alerts/{replied}")
    api = api_for(app, beech.person.email)
    assert api.post(f"/api/v1/alerts/{waiting}/unread").status_code == 204

    home = api.get("/api/v1/home")
    assert home.status_code == 200
    body = home.get_json()
    assert body["first_visit"] is True
    assert [o["alert"]["id"] for o in body["overdue"]] == [overdue]
    assert body["overdue"][0]["due"].endswith("Z")
    assert _ids(body["unacknowledged"]) == [waiting]
    assert body["unacknowledged"][0]["title"] == "Page naming our deputy"
    assert body["unacknowledged"][0]["unread"] is True
    assert [(r["alert"]["id"], r["replies"], r["schools"]) for r in body["replies"]] == [
        (replied, 1, ["Ash"])
    ]
    assert _ids(body["marked_unread"]) == [waiting]
    assert body["follow_ups"] == []
    # The page lists the same alerts in the same sections.
    page = beech.client.get("/home").get_data(as_text=True)
    sections = {
        m.group(1): set(re.findall(r'href="/alerts/([0-9a-f-]{36})"', m.group(2)))
        for m in re.finditer(r'<h2 id="([a-z-]+)-heading">(.*?)</section>', page, re.S)
    }
    assert sections["overdue"] == {overdue}
    assert sections["waiting"] == {waiting}
    assert sections["replies"] == {replied}
    assert sections["marked"] == {waiting}


def test_mark_unread_through_the_api_is_the_pages_mark(app, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id = _id(ash.post_alert([beech.school], title="Fake account"))
    api = api_for(app, beech.person.email)
    assert api.get(f"/api/v1/alerts/{alert_id}").status_code == 200
    [row] = api.get("/api/v1/alerts").get_json()["alerts"]
    assert row["unread"] is False
    assert api.get("/api/v1/alerts?status=unread").get_json()["alerts"] == []

    response = api.post(f"/api/v1/alerts/{alert_id}/unread")
    assert response.status_code == 204
    assert api.post(f"/api/v1/alerts/{alert_id}/unread", {}).status_code == 204  # again: same
    unread = api.get("/api/v1/alerts?status=unread").get_json()["alerts"]
    assert [(r["id"], r["unread"]) for r in unread] == [(alert_id, True)]
    # The page says the same: in the count beside Inbox and the Unread filter.
    assert 'class="count">1<' in beech.client.get("/alerts?status=unread").get_data(as_text=True)
    assert len(audit_entries(app, "alert.marked_unread")) == 1
    # Opening it again makes it read.
    api.get(f"/api/v1/alerts/{alert_id}")
    assert api.get("/api/v1/alerts?status=unread").get_json()["alerts"] == []

    # Only an alert the school holds; only with a token that may write.
    assert_problem(api_for(app, cedar.person.email).post(f"/api/v1/alerts/{alert_id}/unread"), 404)
    reader = api_for(app, beech.person.email, (Scope.INBOX_READ.value,))
    assert_problem(reader.post(f"/api/v1/alerts/{alert_id}/unread"), 403)
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(UnreadMark)) == 0


def test_bulk_acknowledge_through_the_api_is_all_or_nothing(app, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    first = _id(ash.post_alert([beech.school], title="One"))
    second = _id(ash.post_alert([beech.school], title="Two"))
    third = _id(ash.post_alert([beech.school], title="Three"))
    elsewhere = _id(ash.post_alert([cedar.school], title="Not for Beech"))
    api = api_for(app, beech.person.email)

    response = api.post("/api/v1/alerts/acknowledge", {"alert_ids": [first, second]})
    assert response.status_code == 200
    done = response.get_json()["acknowledged"]
    assert {d["alert_id"] for d in done} == {first, second}
    assert {d["acknowledged_by"]["name"] for d in done} == {"Head of Beech"}
    assert _acknowledged(app, beech.school) == {first, second}
    assert len(audit_entries(app, "alert.acknowledged")) == 2

    # One already acknowledged, or one the school did not receive: none is.
    assert_problem(
        api.post("/api/v1/alerts/acknowledge", {"alert_ids": [third, first]}),
        409,
        "Already acknowledged",
    )
    assert_problem(api.post("/api/v1/alerts/acknowledge", {"alert_ids": [third, elsewhere]}), 404)
    assert _acknowledged(app, beech.school) == {first, second}

    # Up to 25 at a time, at least one, each an id: refused naming the field.
    many = [str(uuid.uuid4()) for _ in range(MAX_CHOSEN + 1)]
    assert MAX_CHOSEN == 25
    for body, field in [
        ({"alert_ids": many}, "alert_ids"),
        ({"alert_ids": []}, "alert_ids"),
        ({}, "alert_ids"),
        ({"alert_ids": ["nope"]}, "alert_ids[0]"),
    ]:
        assert_problem(api.post("/api/v1/alerts/acknowledge", body), 422, field=field)
    reader = api_for(app, beech.person.email, (Scope.INBOX_READ.value,))
    assert_problem(reader.post("/api/v1/alerts/acknowledge", {"alert_ids": [third]}), 403)
    assert _acknowledged(app, beech.school) == {first, second}
    assert len(audit_entries(app, "alert.acknowledged")) == 2
