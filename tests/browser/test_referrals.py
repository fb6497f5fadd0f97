"""The referral tracker in a real browser: a head posts a harassment alert,
records the police referral with its reference number and a follow-up date,
and, once the clock has moved past that date, sees the follow-up come due on
the school's pages, records the outcome, and prints the governors' report.
Each page fits a phone and a desktop and passes axe-core."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from network.alerts import referrals
from schools.models import Role
from tests.conftest import PASSWORD

WIDTHS = ((390, 844), (1280, 900))


def _check(person, label: str) -> None:
    for width, height in WIDTHS:
        person.page.set_viewport_size({"width": width, "height": height})
        person.page.wait_for_load_state()
        scroll = person.page.evaluate("document.scrollingElement.scrollWidth")
        assert scroll <= width, f"{label} scrolls sideways at {width} px"
        person.assert_accessible()
        person.snap(f"{label}-{width}")


def test_a_head_records_a_police_referral_and_sees_its_follow_up_come_due(
    live_world, visitor, monkeypatch
):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    beech = live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Priya Shah")
    live_world.person(Role.HEAD, "head@beech.example.org", school=beech, name="Sam Jones")
    head = visitor("head-ash")
    head.sign_in("head@ash.example.org", PASSWORD)
    page = head.page

    head.goto("/alerts/new")
    page.get_by_label("Harassment or bullying").check()
    page.get_by_label("Platform", exact=True).select_option("instagram")
    page.get_by_label("High", exact=True).check()
    page.get_by_label("Title", exact=True).fill("Threats against a teacher")
    page.get_by_label("What happened").fill("An account threatens a member of staff.")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Beech Primary", exact=True).check()
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    assert "Alert sent to" in page.content()
    alert_url = page.url

    today = datetime.now(UTC).date()
    # A follow-up date in the past is refused beside its field; nothing is recorded.
    page.get_by_label("Referral or step").select_option("police")
    page.get_by_label("Reference number (optional, encrypted)").fill("CAD 4411/05DEC")
    page.get_by_label("Follow up by (optional)").fill(str(today - timedelta(days=1)))
    page.get_by_role("button", name="Record action").click()
    page.wait_for_load_state()
    error = page.locator("#due_on-error")
    assert "has passed" in error.inner_text()
    assert "Reference number: CAD 4411/05DEC" not in page.content()
    _check(head, "refused-due-date")

    due = today + timedelta(days=7)
    page.get_by_label("Referral or step").select_option("police")
    page.get_by_label("Reference number (optional, encrypted)").fill("CAD 4411/05DEC")
    page.get_by_label("Follow up by (optional)").fill(str(due))
    page.get_by_label("Note (optional, encrypted)").last.fill("Reported by phone to 101.")
    page.get_by_role("button", name="Record action").click()
    page.wait_for_load_state()
    assert page.url.startswith(alert_url)
    assert "Reference number: CAD 4411/05DEC" in page.content()
    assert "Police referral" in page.content()

    head.goto("/school/referrals")
    assert "No follow-up is overdue." in page.content()
    assert "CAD 4411" not in page.content()

    # Nine days later the follow-up is two days overdue.
    moved = datetime.now(UTC) + timedelta(days=9)
    monkeypatch.setattr(referrals, "utcnow", lambda: moved)
    head.goto("/school/referrals")
    overdue = page.locator("#overdue-heading").locator("..")
    assert "2 days overdue" in overdue.inner_text()
    assert f"{due:%-d %b %Y}" in overdue.inner_text()
    _check(head, "referrals-overdue")
    head.goto("/school/dashboard")
    assert "2 days overdue" in page.content()
    head.goto("/notifications/watching")
    assert "2 days overdue" in page.content()

    head.goto("/school/referrals")
    page.get_by_role("link", name="Record the outcome of the Police referral").click()
    page.wait_for_load_state()
    _check(head, "outcome-form")
    page.get_by_label("Outcome").select_option("investigating")
    page.get_by_label("Follow up again by (optional)").fill(str(date.today() - timedelta(days=1)))
    page.get_by_role("button", name="Record the outcome").click()
    page.wait_for_load_state()
    assert "has passed" in page.locator("#next_due_on-error").inner_text()
    page.get_by_label("Outcome").select_option("investigating")
    page.get_by_label("Follow up again by (optional)").fill("")
    page.get_by_label("Note (optional, encrypted)").fill("PC Lee is investigating.")
    page.get_by_role("button", name="Record the outcome").click()
    page.wait_for_load_state()
    assert "Outcome recorded" in page.content()
    assert "No follow-up is overdue." in page.content()
    assert "Being investigated" in page.content()

    page.goto(alert_url.split("#")[0])
    assert "Outcome: Being investigated" in page.content()

    head.goto("/school/report")
    content = page.content()
    assert "Report for governors" in content
    assert "1 referral or step recorded" in content
    assert "CAD 4411" not in content
    _check(head, "school-report")
