"""A head signs in and lands on what needs their attention, acknowledges two
alerts at once, opens one and sees its screenshot previewed, marks it unread,
and confirms an irreversible action on a page that needs no JavaScript."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from network.alerts import posting
from network.alerts.content import AlertContent
from network.alerts.evidence import prepare
from network.db import own_transaction
from schools.db import utcnow
from schools.models import Role
from tests.conftest import PASSWORD
from tests.network.alerts_helpers import keys_of, png_bytes

TITLES = (
    "Threats against a Year 9 pupil",
    "Fake account using our logo",
    "Group chat naming a teacher",
)


def _post(app, sender: str, to, title: str, hours_ago: float, severity: str, evidence=()):
    with own_transaction(app) as session:
        member, keys = keys_of(session, sender)
        draft = posting.AlertDraft(
            "harassment",
            severity,
            "instagram",
            "AMBER",
            AlertContent(title, "What we saw."),
            "schools",
            (to,),
            evidence=evidence,
        )
        posting.post_alert(session, member, keys, draft, now=utcnow() - timedelta(hours=hours_ago))


def test_a_head_works_through_what_needs_their_attention(live_app, live_world, visitor):
    cluster = live_world.cluster("Riverside")
    schools = {}
    for name in ("Ash", "Beech"):
        schools[name] = live_world.school(cluster, f"{name} Primary")
        live_world.person(
            Role.HEAD,
            f"head@{name.lower()}.example.org",
            school=schools[name],
            name=f"Head of {name}",
        )
    screenshot = prepare("post.png", "image/png", png_bytes((320, 200)))
    _post(live_app, "head@ash.example.org", schools["Beech"].id, TITLES[0], 5, "urgent")
    _post(live_app, "head@ash.example.org", schools["Beech"].id, TITLES[1], 1, "low")
    _post(
        live_app,
        "head@ash.example.org",
        schools["Beech"].id,
        TITLES[2],
        0.5,
        "medium",
        (screenshot,),
    )

    beech = visitor("head-beech")
    page = beech.page
    beech.sign_in("head@beech.example.org", PASSWORD)
    assert page.url.endswith("/home")
    assert page.get_by_role("heading", name="Needs your attention").is_visible()
    assert page.get_by_role("heading", name="Acknowledgement overdue (1)").is_visible()
    home = page.get_by_role("navigation", name="Main").get_by_role("link", name="Home", exact=True)
    expect(home).to_have_attribute("aria-current", "page")
    beech.assert_accessible()
    beech.snap("needs-your-attention")

    page.get_by_label(f"Choose: {TITLES[0]}").check()
    page.get_by_label(f"Choose: {TITLES[1]}").check()
    page.get_by_role("button", name="Acknowledge selected").click()
    page.wait_for_load_state()
    assert page.url.endswith("/home")
    assert "Acknowledged 2 alerts." in page.content()
    assert page.get_by_label(f"Choose: {TITLES[2]}").is_visible()
    assert page.get_by_label(f"Choose: {TITLES[0]}").count() == 0
    beech.assert_accessible()
    beech.snap("acknowledged-two")

    page.get_by_role("link", name=TITLES[2]).click()
    page.wait_for_load_state()
    preview = page.get_by_role("img", name="Preview of post.png")
    preview.scroll_into_view_if_needed()
    # The preview is lazy: it starts loading once scrolled into view, so wait
    # for the decoded picture (Playwright polls) rather than read it at once.
    expect(preview).to_have_js_property("naturalWidth", 320)
    beech.assert_accessible()
    beech.snap("evidence-preview")

    page.get_by_role("button", name="Mark as unread").click()
    page.wait_for_load_state()
    assert page.url.endswith("/alerts")
    assert "Marked unread for you." in page.content()
    assert page.locator(".alert-row--unread").count() == 1
    assert page.locator(".nav .count").inner_text().startswith("1")
    assert page.locator(".nav .count .visually-hidden").text_content() == " unread by you"
    beech.assert_accessible()
    beech.snap("marked-unread")

    page.set_viewport_size({"width": 1280, "height": 900})
    beech.goto("/home")
    assert page.get_by_role("heading", name="Marked unread by you").is_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280
    beech.assert_accessible()
    beech.snap("home-wide")

    # An irreversible action asks first, on a page of its own.
    beech.goto("/school")
    page.get_by_role("button", name="Make a new recovery code").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Make a new recovery code?").is_visible()
    beech.assert_accessible()
    beech.snap("confirm-recovery-code")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
