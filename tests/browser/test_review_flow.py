"""Four-eyes review and drafts in the browser: the head turns review on; a
member of staff attaches a photo to an alert missing its title (refused, the
photo kept), saves it as a draft, comes back and submits it; the DSL
approves it; only then does the other school see it. Every page passes
axe-core at 390 and 1280 pixels wide."""

from __future__ import annotations

from typing import Any

from schools.models import Role
from tests.conftest import PASSWORD
from tests.network.alerts_helpers import png_bytes

WIDTHS = ((390, 844), (1280, 900))


def _accessible_at_both_widths(person: Any, label: str) -> None:
    for width, height in WIDTHS:
        person.page.set_viewport_size({"width": width, "height": height})
        person.assert_accessible()
        person.snap(f"{label}-{width}")


def test_head_turns_review_on_staff_posts_dsl_approves_recipient_sees_it(
    live_world, visitor, tmp_path
):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    beech = live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Head of Ash")
    live_world.person(Role.STAFF, "sam@ash.example.org", school=ash, name="Sam Staff")
    live_world.person(Role.DSL, "dee@ash.example.org", school=ash, name="Dee Lead")
    live_world.person(Role.HEAD, "head@beech.example.org", school=beech, name="Head of Beech")

    head = visitor("head")
    head.sign_in("head@ash.example.org", PASSWORD)  # also confirms Sam's and Dee's keys
    head.goto("/school")
    head.page.get_by_role("button", name="Allow posting for Sam Staff").click()
    head.page.wait_for_load_state()
    head.page.get_by_label("On: a head or the DSL approves each alert from staff").check()
    head.page.locator("form[action='/school/review'] button").click()
    head.page.wait_for_load_state()
    assert "Alerts from staff now wait for a head or safeguarding lead" in head.page.content()
    _accessible_at_both_widths(head, "review-on")

    sam = visitor("staff")
    sam.sign_in("sam@ash.example.org", PASSWORD)
    sam.goto("/alerts/new")
    page = sam.page
    assert "Your school reviews alerts from staff" in page.content()
    photo = tmp_path / "screenshot.png"
    photo.write_bytes(png_bytes((64, 64)))
    page.get_by_label("Staff named or discussed").check()
    page.get_by_label("Platform", exact=True).select_option("facebook")
    page.get_by_label("Evidence (optional)").set_input_files(str(photo))
    page.get_by_role("button", name="Encrypt and submit for review").click()
    page.wait_for_load_state()
    # Refused for the missing title and school, the photo kept with a draft.
    assert "There is a problem" in page.content()
    assert "Enter the title." in page.content()
    assert "Choose at least one school, or send to the whole cluster." in page.content()
    assert "Remove screenshot.png" in page.content()
    _accessible_at_both_widths(sam, "refused-file-kept")
    page.get_by_label("Title", exact=True).fill("Page naming two teachers")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert "Draft saved" in page.content()
    sam.goto("/alerts/drafts")
    assert "Page naming two teachers" in page.content()
    _accessible_at_both_widths(sam, "drafts")
    page.get_by_role("link", name="Page naming two teachers").click()
    page.wait_for_load_state()
    page.get_by_label("What happened").fill("A page names two teachers.")
    page.get_by_label("Beech Primary", exact=True).check()
    page.get_by_role("button", name="Encrypt and submit for review").click()
    page.wait_for_load_state()
    assert "Sent for review" in page.content()

    recipient = visitor("recipient")
    recipient.sign_in("head@beech.example.org", PASSWORD)
    recipient.goto("/alerts")
    assert "Page naming two teachers" not in recipient.page.content()

    dee = visitor("dsl")
    dee.sign_in("dee@ash.example.org", PASSWORD)
    dee.goto("/alerts/reviews")
    _accessible_at_both_widths(dee, "queue")
    dee.page.get_by_role("link", name="Page naming two teachers").click()
    dee.page.wait_for_load_state()
    assert "screenshot.png" in dee.page.content()
    _accessible_at_both_widths(dee, "review")
    dee.page.get_by_role("button", name="Approve and send").click()
    dee.page.wait_for_load_state()
    assert "Approved: the alert was sealed to its schools and sent." in dee.page.content()

    recipient.goto("/alerts")
    assert "Page naming two teachers" in recipient.page.content()
    recipient.page.get_by_role("link", name="Page naming two teachers").first.click()
    recipient.page.wait_for_load_state()
    assert "A page names two teachers." in recipient.page.content()
    assert "screenshot.png" in recipient.page.content()
    _accessible_at_both_widths(recipient, "received")
