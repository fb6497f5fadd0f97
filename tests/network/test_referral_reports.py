"""Referral counts on the coordinator's dashboard and governors' report (page
and CSV), and a head's own report (docs/dashboard.md): counts only, never a
reference number; the report's indicators table."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from network.alerts import referrals
from network.alerts.models import Referral
from network.db import own_transaction
from tests.network.alerts_helpers import Head, keys_of

NOW = datetime.now(UTC)
TODAY = NOW.date()


def _alert(sender: Head, recipients: list[Head], account: str = "") -> str:
    response = sender.post_alert(
        [h.school for h in recipients], category="harassment", accounts=account
    )
    assert response.status_code == 303
    return str(response.headers["Location"].rsplit("/", 1)[1])


def _refer(app, head: Head, alert_id: str, agency: str, days_ago: int, due_in: int | None):
    """A referral recorded ``days_ago`` (its follow-up ``due_in`` days after that)."""
    at = NOW - timedelta(days=days_ago)
    with own_transaction(app) as session:
        member, keys = keys_of(session, head.person.email)
        due = at.date() + timedelta(days=due_in) if due_in is not None else None
        given = referrals.ReferralInput(agency, reference="SECRET-REF-991", due_on=due)
        referrals.record_action(session, member, keys, alert_id, given, now=at)  # type: ignore[arg-type]


@pytest.fixture
def referred(app, heads):
    """Ash: a police referral overdue by 3 days, and a CEOP report closed with an
    outcome. Beech: a platform report with no follow-up. Three schools name
    the same account, so the report has an indicator."""
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    first = _alert(b, [a, c], "@riverside_gossip")
    _alert(c, [a, b], "riverside_gossip")
    _alert(a, [b, c], "@Riverside_Gossip")
    import uuid

    alert_id = uuid.UUID(first)
    _refer(app, a, alert_id, "police", days_ago=10, due_in=7)
    _refer(app, a, alert_id, "ceop", days_ago=2, due_in=None)
    _refer(app, b, alert_id, "reported_platform", days_ago=1, due_in=None)
    with own_transaction(app) as session:
        ceop = session.scalars(select(Referral).where(Referral.agency == "ceop")).one()
        member, keys = keys_of(session, a.person.email)
        referrals.record_outcome(session, member, keys, ceop.id, "content_removed", "", None)
    return heads


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_coordinator_sees_referral_counts_and_overdue_follow_ups_per_school(
    app, referred, coordinator
):
    page = coordinator.get("/cluster/dashboard").get_data(as_text=True)
    assert '<span class="stat">1</span> follow-up of referrals overdue now' in page
    agency = page.split('id="ref-agency"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">Police referral</th><td class="num" data-label="Count">1' in agency
    assert '<th scope="row">Report to CEOP</th><td class="num" data-label="Count">1' in agency
    outcome = page.split('id="ref-outcome"', 1)[1].split("</table>", 1)[0]
    assert 'Content removed</th><td class="num" data-label="Count">1' in outcome
    overdue = page.split('id="ref-overdue"', 1)[1].split("</table>", 1)[0]
    assert 'Ash</th><td class="num" data-label="Overdue">1' in overdue
    assert "Beech" not in overdue
    assert "SECRET-REF" not in page

    report = coordinator.get("/cluster/report").get_data(as_text=True)
    assert "Referrals and outcomes" in report
    assert "3 referrals or steps recorded" in report
    table = report.split('id="indicators-seen"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">Indicator 1</th><td class="num">3</td><td class="num">3</td>' in table

    rows = _rows(coordinator.get("/cluster/report.csv").get_data(as_text=True))
    made = {r["item"]: r["count"] for r in rows if r["section"] == "referrals"}
    assert (made["Police referral"], made["Report to CEOP"], made["Reported to the platform"]) == (
        "1",
        "1",
        "1",
    )
    assert {r["item"]: r["count"] for r in rows if r["section"] == "outcomes"}[
        "Content removed"
    ] == "1"
    (total,) = [r for r in rows if r["section"] == "follow_ups_overdue"]
    assert total["count"] == "1"
    assert [
        (r["item"], r["count"]) for r in rows if r["section"] == "follow_ups_overdue_by_school"
    ] == [("Ash", "1")]
    # The account, and the link every alert of the fixture names.
    indicators = [r for r in rows if r["section"] == "indicator"]
    assert [(r["item"], r["alerts"], r["schools"], r["latest"]) for r in indicators] == [
        (f"Indicator {n}", "3", "3", TODAY.isoformat()) for n in (1, 2)
    ]


def test_a_head_gets_the_same_report_for_their_own_school(app, referred, coordinator):
    a, b = referred["Ash"], referred["Beech"]
    page = a.client.get("/school/report").get_data(as_text=True)
    assert "Report for governors" in page
    assert "Ash sent 1 alert and received 2 in the period." in page
    assert "2 referrals or steps recorded" in page
    assert "<strong>1</strong> follow-up overdue now" in page
    assert "SECRET-REF" not in page
    rows = _rows(a.client.get("/school/report.csv").get_data(as_text=True))
    made = {r["item"]: r["count"] for r in rows if r["section"] == "referrals"}
    assert (made["Police referral"], made["Reported to the platform"]) == ("1", "0")
    received = {r["item"]: r["alerts"] for r in rows if r["section"] == "received_by_category"}
    assert received["Harassment or bullying"] == "2"
    beech = _rows(b.client.get("/school/report.csv").get_data(as_text=True))
    assert [r["count"] for r in beech if r["section"] == "follow_ups_overdue"] == ["0"]
    # The coordinator has the cluster's report, not a school's.
    assert coordinator.get("/school/report").status_code == 403
    assert a.client.get("/school/report?start=2026-13-01").status_code == 400
