"""A head allows a member of staff to post; the staff member posts an alert to
another school, then withdraws it; the recipient sees the withdrawal and its
reason, and nothing of the alert. Every page passes axe-core."""

from __future__ import annotations

from schools.models import Role
from tests.conftest import PASSWORD

REASON = "Sent in error: the account was about another school."


def test_head_allows_posting_staff_posts_and_withdraws_recipient_sees_why(live_world, visitor):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    beech = live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Head of Ash")
    live_world.person(Role.STAFF, "sam@ash.example.org", school=ash, name="Sam Staff")
    live_world.person(Role.HEAD, "head@beech.example.org", school=beech, name="Head of Beech")

    head = visitor("head")
    head.sign_in("head@ash.example.org", PASSWORD)  # also confirms Sam's keys
    head.goto("/school")
    row = head.page.get_by_role("row", name="Sam Staff")
    assert "No" in row.inner_text()
    head.assert_accessible()
    head.snap("members-before")
    head.page.get_by_role("button", name="Allow posting for Sam Staff").click()
    head.page.wait_for_load_state()
    assert "Sam Staff may now post alerts." in head.page.content()
    assert head.page.get_by_role("button", name="Stop posting for Sam Staff").is_visible()
    head.assert_accessible()
    head.snap("members-after")

    sam = visitor("staff")
    sam.sign_in("sam@ash.example.org", PASSWORD)
    sam.goto("/alerts")
    sam.page.get_by_role("link", name="Post an alert").click()
    page = sam.page
    page.get_by_label("Staff named or discussed").check()
    page.get_by_label("Platform", exact=True).select_option("facebook")
    page.get_by_label("High", exact=True).check()
    page.get_by_label("Title", exact=True).fill("Page naming two teachers")
    page.get_by_label("What happened").fill("A page names two teachers.")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Beech Primary", exact=True).check()
    # Staff are not in the leadership, so they send to all staff.
    page.get_by_label("All staff", exact=True).check()
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    assert "Alert sent to 1 school" in page.content()
    alert_path = page.url.removeprefix(sam.base)
    sam.assert_accessible()
    sam.snap("posted")

    recipient = visitor("recipient")
    recipient.sign_in("head@beech.example.org", PASSWORD)
    recipient.goto(alert_path)
    assert "Page naming two teachers" in recipient.page.content()
    recipient.assert_accessible()
    recipient.snap("before-withdrawal")

    page.get_by_label("Why are you withdrawing it?").fill(REASON)
    page.get_by_label("I understand that this destroys the alert").check()
    page.get_by_role("button", name="Withdraw the alert").click()
    page.wait_for_load_state()
    assert "Withdrawn. Its content was destroyed at every school" in page.content()
    sam.assert_accessible()

    recipient.goto(alert_path)
    content = recipient.page.content()
    assert recipient.page.get_by_role("heading", name="Withdrawn by the sender").is_visible()
    assert REASON in content
    assert "Page naming two teachers" not in content
    assert "A page names two teachers." not in content
    recipient.assert_accessible()
    recipient.snap("withdrawn")
    recipient.goto("/alerts")
    assert "Withdrawn, the hub reports" in recipient.page.content()
    recipient.assert_accessible()
