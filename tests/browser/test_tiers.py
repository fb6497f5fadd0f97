"""A head sends an alert about staff to Beech's leadership; Beech's head reads
it, and a member of staff at Beech does not see it. Beech's head withdraws a
member of staff from an alert's thread. The post form and the alert page's
new section pass axe-core."""

from __future__ import annotations

from schools.models import Role
from tests.conftest import PASSWORD


def test_a_leadership_alert_and_withdrawing_a_member_from_a_thread(live_world, visitor):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    beech = live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Head of Ash")
    live_world.person(Role.HEAD, "head@beech.example.org", school=beech, name="Head of Beech")
    live_world.person(Role.STAFF, "sam@beech.example.org", school=beech, name="Sam Staff")

    recipient = visitor("recipient")
    recipient.sign_in("head@beech.example.org", PASSWORD)  # also confirms Sam's keys
    sam = visitor("staff")
    sam.sign_in("sam@beech.example.org", PASSWORD)

    sender = visitor("sender")
    sender.sign_in("head@ash.example.org", PASSWORD)
    paths = []
    for title, tier in (("Page naming a teacher", None), ("Harassment of a parent", "All staff")):
        sender.goto("/alerts/new")
        page = sender.page
        if tier is None:
            sender.assert_accessible()
            sender.snap("post-form")
        page.get_by_label("Staff named or discussed").check()
        page.get_by_label("Platform", exact=True).select_option("facebook")
        page.get_by_label("High", exact=True).check()
        page.get_by_label("Title", exact=True).fill(title)
        page.get_by_label("What happened").fill("Facts only.")
        page.get_by_label("TLP:AMBER", exact=True).check()
        page.get_by_label("Beech Primary", exact=True).check()
        if tier is not None:
            page.get_by_label(tier, exact=True).check()
        page.get_by_role("button", name="Encrypt and send").click()
        page.wait_for_load_state()
        assert "Alert sent to 1 school" in page.content()
        paths.append(page.url.removeprefix(sender.base))
    leadership_only, to_all = paths

    recipient.goto(leadership_only)
    assert "Page naming a teacher" in recipient.page.content()
    sam.goto("/alerts")
    assert "Page naming a teacher" not in sam.page.content()
    assert "Harassment of a parent" in sam.page.content()

    recipient.goto(to_all)
    heading = recipient.page.get_by_role(
        "heading", name="Withdraw a member of your school from this thread"
    )
    assert heading.is_visible()
    recipient.assert_accessible()
    recipient.snap("withdraw-member")
    recipient.page.get_by_label("Member", exact=True).select_option(
        label="Sam Staff (sam@beech.example.org)"
    )
    recipient.page.get_by_role("button", name="Withdraw them from this thread").click()
    recipient.page.wait_for_load_state()
    assert "Sam Staff no longer sees this alert" in recipient.page.content()
    recipient.assert_accessible()

    sam.goto("/alerts")
    assert "Harassment of a parent" not in sam.page.content()
