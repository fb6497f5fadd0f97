"""Notifications in a real browser on a phone-sized screen: a head sets up a
webhook and a digest for the school, the pages pass axe, and the inbox count
and a "new alerts" notice appear without reloading the page."""

from __future__ import annotations

import dataclasses

from schools.models import Role
from tests.conftest import PASSWORD
from tests.network.alerts_helpers import make_head


def test_a_head_manages_notifications_and_the_inbox_updates_live(live_app, live_world, visitor):
    cluster = live_world.cluster("Riverside")
    ash = make_head(live_app, live_world, cluster, "Ash")
    beech_school = live_world.school(cluster, "Beech")
    live_world.person(
        Role.HEAD, "head@beech.example.org", school=beech_school, name="Head of Beech"
    )
    live_app.config["ALERTNET"] = dataclasses.replace(
        live_app.config["ALERTNET"], webhook_allow_networks=("127.0.0.1/32",)
    )

    b = visitor("head-b")
    b.sign_in("head@beech.example.org", PASSWORD)
    b.goto("/notifications")
    b.assert_accessible()
    b.page.get_by_role("link", name="Subscriptions").click()
    b.assert_accessible()
    assert "High and urgent alerts, by email" in b.page.content()
    b.snap("subscriptions-defaults")

    b.page.get_by_role("link", name="Add a subscription for the school").click()
    b.page.get_by_label("Name", exact=True).fill("DSL mailbox")
    b.page.get_by_label("By email", exact=True).check()
    b.page.get_by_label("Email address").fill("dsl@beech.example.org")
    b.page.get_by_label("Safeguarding: pupils identifiable").check()
    b.page.get_by_label("In a daily digest (urgent alerts still come straight away)").check()
    b.assert_accessible()
    b.snap("new-subscription")
    b.page.get_by_role("button", name="Save").click()
    b.page.wait_for_load_state()
    assert "Subscription saved." in b.page.content()
    assert "Daily digest at 07:30" in b.page.content()

    b.page.get_by_role("link", name="Add a subscription for the school").click()
    b.page.get_by_label("By webhook").check()
    b.page.get_by_label("Webhook address").fill("http://127.0.0.1:9/alertnet")
    b.page.get_by_role("button", name="Save").click()
    b.page.wait_for_load_state()
    assert "Copy this secret now" in b.page.content()
    b.assert_accessible()
    b.snap("webhook-secret")

    b.goto("/notifications/deliveries")
    b.assert_accessible()

    b.goto("/alerts")
    assert b.page.locator(".nav .count").count() == 0
    ash.post_alert([beech_school], severity="urgent")
    # The page polls every 25 s while visible; coming back to the tab polls at once.
    b.page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    b.page.get_by_text("New alerts have arrived.").wait_for(timeout=10_000)
    assert b.page.locator(".nav .count").inner_text().startswith("1")
    assert b.page.locator(".nav .count-new").inner_text().startswith("1")
    b.assert_accessible()
    b.snap("inbox-live-notice")
    b.page.get_by_role("link", name="Show them").click()
    b.page.wait_for_load_state()
    assert "Fake account naming staff" in b.page.content()

    b.goto("/notifications")
    assert "Urgent alert from Ash" in b.page.content()
    b.assert_accessible()
    b.snap("notices")
