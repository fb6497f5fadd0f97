"""Guidance in a browser: the coordinator writes a new version, a head sees
it on the post form (choosing a category opens its guidance), records what
was done, and names the school's out-of-hours contact; every page passes
axe-core, on a phone and on a desktop."""

from __future__ import annotations

from schools.models import Role
from tests.conftest import PASSWORD

OURS = "Ring Riverside police on 101 and write the incident number below."


def test_guidance_written_by_the_coordinator_guides_the_post_form(live_world, visitor):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash)
    live_world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)

    coordinator = visitor("coordinator")
    coordinator.page.set_viewport_size({"width": 1280, "height": 900})
    coordinator.sign_in("coord@riverside.example.org", PASSWORD)
    coordinator.page.get_by_role("link", name="Guidance").click()
    coordinator.page.wait_for_load_state()
    coordinator.assert_accessible()
    coordinator.snap("guidance")
    coordinator.page.get_by_role("link", name="Harassment or bullying").click()
    coordinator.page.wait_for_load_state()
    coordinator.assert_accessible()
    coordinator.page.get_by_label("What the policy says to do").fill(OURS)
    coordinator.page.get_by_role("button", name="Save as a new version").click()
    coordinator.page.wait_for_load_state()
    assert "Enter the summary of the change." in coordinator.page.content()
    coordinator.assert_accessible()
    coordinator.snap("guidance-refused")
    coordinator.page.get_by_label("What changed and why").fill("Local police number")
    coordinator.page.get_by_role("button", name="Save as a new version").click()
    coordinator.page.wait_for_load_state()
    assert "Saved as version 1" in coordinator.page.content()
    coordinator.page.get_by_role("link", name="Harassment or bullying").click()
    coordinator.page.get_by_role("link", name="Version 1").click()
    coordinator.page.wait_for_load_state()
    assert OURS in coordinator.page.content()
    coordinator.assert_accessible()
    coordinator.assert_fits(390, 844)
    coordinator.snap("guidance-version-phone")

    head = visitor("head-ash")
    head.page.set_viewport_size({"width": 1280, "height": 900})
    head.sign_in("head@ash.example.org", PASSWORD)
    head.goto("/alerts/new")
    harassment = head.page.locator("details[data-guidance='harassment']")
    safeguarding = head.page.locator("details[data-guidance='safeguarding']")
    assert not harassment.evaluate("d => d.open")
    head.page.get_by_label("Harassment or bullying").check()
    assert harassment.evaluate("d => d.open")
    assert OURS in harassment.inner_text()
    head.page.get_by_label("Safeguarding: pupils identifiable").check()
    assert safeguarding.evaluate("d => d.open")
    assert not harassment.evaluate("d => d.open")
    head.assert_accessible()
    head.page.get_by_label("Police referral").check()
    head.page.get_by_label("Reference numbers (optional)").fill("CAD 4471")
    head.page.get_by_label("Designated safeguarding lead (optional)").fill("Sam Okafor")
    head.assert_fits(390, 844)
    head.snap("post-form-phone")

    head.page.set_viewport_size({"width": 1280, "height": 900})
    head.goto("/school/out-of-hours")
    head.assert_accessible()
    head.page.get_by_label("Name", exact=True).fill("Dana Price")
    head.page.get_by_label("Email address").fill("oncall@ash.example.org")
    head.page.get_by_role("button", name="Save").click()
    head.page.wait_for_load_state()
    assert "Now: " in head.page.content()
    head.assert_accessible()
    head.assert_fits(390, 844)
    head.snap("out-of-hours-phone")
