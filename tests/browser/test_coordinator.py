"""The coordinator in a browser: dashboard, then suspending a school, whose
head then sees why; every page passes axe-core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crypto.custody import FAST_FOR_TESTS
from network.alerts import posting
from network.alerts.content import AlertContent
from network.db import own_transaction
from schools import accounts, keyring
from schools.models import Role
from tests.conftest import PASSWORD


def test_dashboard_then_suspension_seen_by_the_head(live_world, live_app, visitor):
    cluster = live_world.cluster("Riverside")
    schools = [live_world.school(cluster, f"{n} Primary") for n in ("Ash", "Beech", "Cedar")]
    for school, name in zip(schools, ("ash", "beech", "cedar"), strict=True):
        live_world.person(Role.HEAD, f"head@{name}.example.org", school=school)
    live_world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    with own_transaction(live_app) as session:
        member, credential = accounts.authenticate(
            session, "head@ash.example.org", PASSWORD, FAST_FOR_TESTS
        )
        keys = keyring.unlock_for_member(session, member, credential)
        for days, category in ((20, "harassment"), (9, "defamation"), (2, "safeguarding")):
            posting.post_alert(
                session,
                member,
                keys,
                posting.AlertDraft(
                    category, "high", "tiktok", "AMBER", AlertContent("t"), "cluster"
                ),
                now=datetime.now(UTC) - timedelta(days=days),
            )

    coordinator = visitor("coordinator")
    coordinator.page.set_viewport_size({"width": 1280, "height": 900})
    coordinator.sign_in("coord@riverside.example.org", PASSWORD)
    coordinator.page.get_by_role("link", name="Dashboard").click()
    coordinator.page.wait_for_load_state()
    assert "alerts in the period" in coordinator.page.content()
    assert "Figures as of" in coordinator.page.content()
    assert "Overdue now" in coordinator.page.content()
    coordinator.assert_accessible()
    coordinator.snap("dashboard")
    opened = coordinator.page.url
    coordinator.page.get_by_role("button", name="Recompute now").click()
    coordinator.page.wait_for_load_state()
    assert coordinator.page.url.split("?")[0] == opened.split("?")[0]
    assert "alerts in the period" in coordinator.page.content()
    coordinator.page.set_viewport_size({"width": 390, "height": 844})  # a phone
    width = coordinator.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
    coordinator.snap("dashboard-phone")
    coordinator.page.set_viewport_size({"width": 1280, "height": 900})
    coordinator.page.get_by_role("link", name="Governors' report").click()
    coordinator.page.wait_for_load_state()
    coordinator.assert_accessible()
    coordinator.snap("report")
    coordinator.goto("/cluster/alerts")
    coordinator.assert_accessible()
    coordinator.snap("alerts-metadata")
    coordinator.goto("/cluster/schools")
    coordinator.page.get_by_role("link", name="Beech Primary").click()
    coordinator.page.wait_for_load_state()
    coordinator.assert_accessible()
    coordinator.page.get_by_label("Reason, shown to the school's members").fill(
        "Safeguarding review in progress; contact the LA office."
    )
    coordinator.page.get_by_label("I understand that the school stops posting").check()
    coordinator.page.get_by_role("button", name="Suspend Beech Primary").click()
    coordinator.page.wait_for_load_state()
    assert "is suspended" in coordinator.page.content()
    coordinator.assert_accessible()
    coordinator.snap("school-suspended")

    head = visitor("head-beech")
    head.sign_in("head@beech.example.org", PASSWORD)
    head.goto("/alerts")
    content = head.page.content()
    assert "Your school is suspended from the network" in content
    assert "Safeguarding review in progress" in content
    head.assert_accessible()
    head.snap("suspended-notice")
