"""Copy buttons: with JavaScript, "Copy" puts the invitation link on the
clipboard; without it, the link is on the page as text and no dead button is.
Fingerprints and recovery codes wrap on a phone between their groups only."""

from __future__ import annotations

import re

from schools.models import Role
from tests.conftest import PASSWORD

# How many lines an element's text takes, and the groups (between separators)
# that are split across two lines.
GROUPS_ON_LINES = """(element, separator) => {
  const whole = document.createRange();
  whole.selectNodeContents(element);
  const tops = new Set([...whole.getClientRects()].map(r => Math.round(r.top)));
  const split = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let at = 0;
    for (const group of node.textContent.split(separator)) {
      if (group) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + group.length);
        const rows = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (rows.size > 1) split.push(group);
      }
      at += group.length + separator.length;
    }
  }
  return [tops.size, split];
}"""


def test_the_invitation_link_is_copied_with_one_press(live_world, live_app, visitor):
    cluster = live_world.cluster("Riverside")
    school = live_world.school(cluster, "Ash Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=school, name="Priya Shah")
    head = visitor("head")
    head.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=head.base)
    head.sign_in("head@ash.example.org", PASSWORD)
    head.goto("/school")
    head.page.get_by_label("Email address").fill("new@ash.example.org")
    head.page.get_by_role("button", name="Create invitation").click()
    head.page.wait_for_load_state()
    link = head.page.locator(".invite-link code").inner_text().strip()
    assert re.fullmatch(r"http://\S+/invitations/[A-Za-z0-9_\-]+", link)
    head.page.get_by_role("button", name="Copy the invitation link").click()
    head.page.get_by_role("status").filter(has_text="Copied the invitation link.").wait_for()
    assert head.page.evaluate("navigator.clipboard.readText()") == link
    head.assert_accessible()
    head.snap("copied")

    # Resend: a new link, copied the same way.
    head.page.get_by_role("button", name="Resend invitation").click()
    head.page.wait_for_load_state()
    resent = head.page.locator(".invite-link code").inner_text().strip()
    assert resent != link
    assert "The link sent before no longer works." in head.page.content()
    head.page.get_by_role("button", name="Copy the invitation link").click()
    head.page.get_by_role("status").filter(has_text="Copied the invitation link.").wait_for()
    assert head.page.evaluate("navigator.clipboard.readText()") == resent


def test_without_javascript_the_code_is_text_and_no_button_is_shown(live_world, live_app, browser):
    cluster = live_world.cluster("Riverside")
    school = live_world.school(cluster, "Ash Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=school)
    base = live_app.config["LIVE_URL"]
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(base + "/sign-in")
        page.get_by_label("Email address").fill("head@ash.example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.goto(base + "/school")
        fingerprint = page.locator(".fingerprint code").inner_text()
        assert re.fullmatch(r"(\d{5} ){11}\d{5}", fingerprint.strip())
        assert page.locator(".copy-button").count() == 0
        # On a phone the fingerprint wraps, but never inside a group of digits.
        lines, split = page.locator(".fingerprint code").evaluate(GROUPS_ON_LINES, " ")
        assert lines > 1
        assert split == []
        page.get_by_role("button", name="Make a new recovery code").click()
        page.wait_for_load_state()
        # Irreversible (the old code stops working): confirmed on a page of its own.
        page.get_by_label("I understand that this cannot be undone").check()
        page.get_by_role("button", name="Make a new recovery code").click()
        page.wait_for_load_state()
        code = page.locator(".recovery-code code").inner_text().strip()
        assert re.fullmatch(r"([0-9A-Z]{4}-){8}[0-9A-Z]{4}", code)
        lines, split = page.locator(".recovery-code code").evaluate(GROUPS_ON_LINES, "-")
        assert lines > 1
        assert split == []
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    finally:
        context.close()
