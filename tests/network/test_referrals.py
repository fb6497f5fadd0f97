"""The referral tracker (docs/alerts.md, "Referrals and follow-ups"): every
recorded action is a referral or step with its agency, dates and follow-up in
clear and its reference number sealed; bad input is refused beside its field
with nothing written; overdue follow-ups show to the school, and an outcome
closes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from network.alerts import referrals
from network.alerts.models import Referral, ThreadItem
from network.db import own_transaction
from tests.network.alerts_helpers import Head, count_rows
from tests.network.notify_helpers import actions as _actions

# The day in the hub's time zone (the tests' settings keep Europe/London).
TODAY = datetime.now(ZoneInfo("Europe/London")).date()


def _alert(sender: Head, recipient: Head) -> str:
    response = sender.post_alert(
        [recipient.school], category="harassment", title="Threats to a teacher"
    )
    assert response.status_code == 303
    return str(response.headers["Location"].rsplit("/", 1)[1])


def _refer(head: Head, alert_id: str, **fields: str):
    data = {"action_type": "police", "reference": "CAD 4411/05DEC", "note": "Spoke to PC Lee."}
    data.update(fields)
    return head.post(f"/alerts/{alert_id}/actions", data, page=f"/alerts/{alert_id}")


def _later(monkeypatch: pytest.MonkeyPatch, days: int) -> datetime:
    """Move the referral tracker's clock ``days`` ahead."""
    moved = datetime.now(UTC) + timedelta(days=days)
    monkeypatch.setattr(referrals, "utcnow", lambda: moved)
    return moved


@pytest.mark.heads("Ash", "Beech")
def test_a_police_referral_keeps_its_agency_and_dates_in_clear_and_its_reference_sealed(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = _alert(a, b)
    due = TODAY + timedelta(days=7)
    response = _refer(a, alert_id, referred_on=str(TODAY - timedelta(days=1)), due_on=str(due))
    assert response.status_code == 303
    with own_transaction(app) as session:
        referral = session.scalars(select(Referral)).one()
        item = session.get(ThreadItem, referral.item_id)
        assert item is not None
        assert item.action_type == "police"
        assert (referral.agency, referral.referred_on, referral.due_on) == (
            "police",
            TODAY - timedelta(days=1),
            due,
        )
        assert (referral.follow_up, referral.outcome) == ("due", None)
        assert referral.school_id == a.school.id
    # The reference is sealed in the thread: both schools of the alert read it.
    for head in (a, b):
        page = head.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
        assert "Reference number: CAD 4411/05DEC" in page
        assert "Police referral" in page
    listing = a.client.get("/school/referrals").get_data(as_text=True)
    assert "Police referral" in listing
    assert f'Due by <time datetime="{due.isoformat()}">{due:%-d %b %Y}</time>' in listing
    assert "CAD 4411" not in listing  # the list shows only what the hub holds in clear
    assert "No follow-up is overdue." in listing
    assert "alert.actioned" in _actions(app)


@pytest.mark.heads("Ash", "Beech")
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"action_type": "fbi"}, "action_type", "that one is not known"),
        ({"due_on": str(TODAY - timedelta(days=1))}, "due_on", "has passed"),
        ({"referred_on": str(TODAY + timedelta(days=2))}, "referred_on", "is in the future"),
        ({"reference": "x" * 101}, "reference", "at most 100"),
    ],
)
def test_bad_referral_input_is_refused_beside_its_field_and_nothing_is_written(
    app, heads, fields, field, message
):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = _alert(a, b)
    items, rows = count_rows(app, ThreadItem), count_rows(app, Referral)
    response = _refer(a, alert_id, **fields)
    assert response.status_code in (400, 422)
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    error = page.split(f'id="{field}-error"', 1)[1][:300]
    assert message in error
    assert (count_rows(app, ThreadItem), count_rows(app, Referral)) == (items, rows)


@pytest.mark.heads("Ash", "Beech")
def test_an_overdue_follow_up_shows_until_the_outcome_is_recorded(app, heads, monkeypatch):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = _alert(b, a)
    assert _refer(a, alert_id, due_on=str(TODAY + timedelta(days=3))).status_code == 303
    assert "No follow-up is overdue." in a.client.get("/school/referrals").get_data(as_text=True)

    _later(monkeypatch, 5)
    with own_transaction(app) as session:
        school = session.get(type(a.school), a.school.id)
        overdue = referrals.overdue_follow_ups(session, school)
        assert [r.agency for r in overdue] == ["police"]
        other = session.get(type(b.school), b.school.id)
        assert referrals.overdue_follow_ups(session, other) == []
    for page in ("/school/referrals", "/school/dashboard", "/notifications/watching", "/home"):
        text = a.client.get(page).get_data(as_text=True)
        assert "ollow-ups overdue" in text, page
        assert "2 days overdue" in text, page
    # The other school of the alert sees none of Ash's follow-ups.
    assert "2 days overdue" not in b.client.get("/school/referrals").get_data(as_text=True)

    referral_id = overdue[0].id
    url = f"/school/referrals/{referral_id}/outcome"
    # Another school cannot reach it.
    assert b.client.get(url).status_code == 404
    before = count_rows(app, ThreadItem)
    refused = a.post(url, {"outcome": "no_further_action", "next_due_on": str(TODAY)}, page=url)
    assert refused.status_code in (400, 422)
    assert "has passed" in refused.get_data(as_text=True).split('id="next_due_on-error"', 1)[1]
    refused = a.post(url, {"outcome": "arrested"}, page=url)
    assert "Choose the outcome" in refused.get_data(as_text=True)
    assert count_rows(app, ThreadItem) == before

    done = a.post(url, {"outcome": "no_further_action", "note": "CPS declined."}, page=url)
    assert done.status_code == 303
    assert count_rows(app, ThreadItem) == before + 1
    with own_transaction(app) as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        assert (referral.outcome, referral.follow_up) == ("no_further_action", "done")
    assert "No follow-up is overdue." in a.client.get("/school/referrals").get_data(as_text=True)
    thread = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Outcome: No further action" in thread
    assert "CPS declined." in thread
    assert "referral.updated" in _actions(app)


@pytest.mark.heads("Ash", "Beech")
def test_an_outcome_may_set_a_new_follow_up_date(app, heads, monkeypatch):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = _alert(a, b)
    assert (
        _refer(a, alert_id, action_type="reported_platform", due_on=str(TODAY)).status_code == 303
    )
    with own_transaction(app) as session:
        referral_id = session.scalars(select(Referral.id)).one()
    url = f"/school/referrals/{referral_id}/outcome"
    again = TODAY + timedelta(days=14)
    assert (
        a.post(url, {"outcome": "investigating", "next_due_on": str(again)}, page=url).status_code
        == 303
    )
    with own_transaction(app) as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        assert (referral.follow_up, referral.due_on, referral.outcome) == (
            "due",
            again,
            "investigating",
        )
    _later(monkeypatch, 15)
    assert "1 day overdue" in a.client.get("/school/referrals").get_data(as_text=True)


@pytest.mark.heads("Ash", "Beech")
def test_an_overdue_follow_up_is_reminded_once_through_the_notifications(app, heads):
    from network.notifications.follow_ups import chase_follow_ups
    from network.notifications.models import Notification

    a, b = heads["Ash"], heads["Beech"]
    alert_id = _alert(b, a)
    assert _refer(a, alert_id, due_on=str(TODAY + timedelta(days=2))).status_code == 303
    settings = app.config["ALERTNET"]

    def chase(days: int) -> int:
        with own_transaction(app) as session:
            return chase_follow_ups(session, settings, datetime.now(UTC) + timedelta(days=days))

    assert chase(2) == 0  # due today: not yet overdue
    assert chase(3) == 1
    assert chase(4) == 0  # reminded once per follow-up date
    with own_transaction(app) as session:
        sent = session.scalars(
            select(Notification).where(Notification.event == "referral.follow_up_due")
        ).all()
        assert {(n.school_id, n.channel) for n in sent} == {
            (a.school.id, "in_app"),
            (a.school.id, "email"),
        }
        assert "CAD 4411" not in repr([n.payload for n in sent])
    assert "referral.follow_up_reminded" in _actions(app)
    feed = a.client.get("/notifications").get_data(as_text=True)
    assert "Follow-up overdue: Police referral" in feed


@pytest.mark.heads("Ash", "Beech")
def test_the_api_records_a_referral_and_refuses_bad_input_writing_nothing(app, heads):
    from tests.network.api_helpers import alert_body, api_for, assert_problem

    a, b = heads["Ash"], heads["Beech"]
    api = api_for(app, a.person.email)
    posted = api.post("/api/v1/alerts", alert_body([b.school], category="harassment"))
    assert posted.status_code == 201, posted.get_data(as_text=True)
    url = f"/api/v1/alerts/{posted.get_json()['id']}/actions"
    due = TODAY + timedelta(days=10)
    before = (count_rows(app, ThreadItem), count_rows(app, Referral))
    assert_problem(api.post(url, {"action_type": "fbi"}), 422, field="action_type")
    body = {"action_type": "police", "due_on": str(TODAY - timedelta(days=1))}
    assert_problem(api.post(url, body), 422, "has passed", field="due_on")
    assert (count_rows(app, ThreadItem), count_rows(app, Referral)) == before

    body = {"action_type": "lado", "reference": "LADO-22", "due_on": str(due)}
    response = api.post(url, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["action_type"] == "lado"
    with own_transaction(app) as session:
        referral = session.scalars(select(Referral)).one()
        assert (referral.agency, referral.due_on, referral.referred_on) == ("lado", due, TODAY)
    thread = api.get(f"/api/v1/alerts/{posted.get_json()['id']}").get_json()["thread"]
    assert any(i["text"] == "Reference number: LADO-22" for i in thread)


@pytest.mark.heads("Ash", "Beech")
def test_a_withdrawn_alerts_follow_ups_are_no_longer_overdue(app, heads, monkeypatch):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = _alert(a, b)
    assert _refer(b, alert_id, due_on=str(TODAY)).status_code == 303
    moved = _later(monkeypatch, 3)
    with own_transaction(app) as session:
        school = session.get(type(b.school), b.school.id)
        assert len(referrals.overdue_follow_ups(session, school)) == 1
        assert referrals.overdue_count(session, school.cluster_id, moved) == {school.id: 1}
    page = f"/alerts/{alert_id}"
    assert (
        a.post(
            f"{page}/withdraw", {"reason": "Posted in error.", "confirm": "yes"}, page=page
        ).status_code
        == 303
    )
    with own_transaction(app) as session:
        school = session.get(type(b.school), b.school.id)
        assert referrals.overdue_follow_ups(session, school) == []
        assert referrals.overdue_count(session, school.cluster_id, moved) == {}


@pytest.mark.heads("Ash", "Beech")
def test_a_follow_up_falls_overdue_by_the_day_in_the_hubs_time_zone(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = _alert(b, a)
    assert _refer(a, alert_id, due_on=str(TODAY + timedelta(days=3))).status_code == 303
    due = date(2027, 7, 14)
    with own_transaction(app) as session:
        session.execute(update(Referral).values(due_on=due))
    # 23:30 UTC is 00:30 on the 15th in London (BST): overdue there, though
    # still the 14th in UTC; an hour earlier it is still the 14th in London.
    late_evening = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)
    with own_transaction(app) as session:
        school = session.get(type(a.school), a.school.id)
        overdue = referrals.overdue_follow_ups(session, school, late_evening)
        assert [r.due_on for r in overdue] == [due]
        assert (
            referrals.overdue_follow_ups(session, school, late_evening - timedelta(hours=1)) == []
        )
