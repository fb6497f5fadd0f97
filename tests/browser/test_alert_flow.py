"""The everyday flow, in a real browser on a phone-sized screen:
head A posts an urgent alert with a screenshot to schools B and C; head B reads,
acknowledges and replies; head A sees both; head D cannot reach the alert."""

from __future__ import annotations

import io

from schools.models import Role
from tests.conftest import PASSWORD


def _png(path) -> None:
    from PIL import Image

    image = Image.new("RGB", (320, 200), (240, 240, 240))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


def test_urgent_alert_from_post_to_acknowledgement(live_world, visitor, tmp_path):
    cluster = live_world.cluster("Riverside")
    schools = {n: live_world.school(cluster, f"{n} Primary") for n in ("Ash", "Beech", "Cedar")}
    for n, school in schools.items():
        live_world.person(
            Role.HEAD, f"head@{n.lower()}.example.org", school=school, name=f"Head of {n}"
        )
    other = live_world.school(live_world.cluster("Elsewhere"), "Damson Primary")
    live_world.person(Role.HEAD, "head@damson.example.org", school=other, name="Head of Damson")
    screenshot = tmp_path / "post.png"
    _png(screenshot)

    a = visitor("head-a")
    a.sign_in("head@ash.example.org", PASSWORD)
    a.goto("/alerts")
    a.assert_accessible()
    a.snap("inbox-empty")
    a.page.get_by_role("link", name="Post an alert").click()
    a.assert_accessible()
    page = a.page
    page.get_by_label("Harassment or bullying").check()
    page.get_by_label("Platform", exact=True).select_option("instagram")
    page.get_by_label("Urgent", exact=True).check()
    page.get_by_label("Title", exact=True).fill("Fake account messaging pupils")
    page.get_by_label("What happened").fill(
        "An account using a pupil's photo is messaging children from several schools."
    )
    page.get_by_label("Links to the posts").fill("https://instagram.example.com/fake 2026-11-25")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Beech Primary", exact=True).check()
    page.get_by_label("Cedar Primary", exact=True).check()
    page.get_by_label("Evidence (optional)").set_input_files(str(screenshot))
    a.snap("new-alert-filled")
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    assert "Alert sent to 2 schools" in page.content()
    a.assert_accessible()
    a.snap("posted")
    alert_url = page.url

    b = visitor("head-b")
    b.sign_in("head@beech.example.org", PASSWORD)
    b.goto("/alerts")
    assert b.page.locator(".count").inner_text().startswith("1")
    b.assert_accessible()
    b.snap("inbox-unread")
    b.page.get_by_role("link", name="Fake account messaging pupils").click()
    b.page.wait_for_load_state()
    assert "Signature verified" in b.page.content()
    assert "post.png" in b.page.content()
    b.assert_accessible()
    b.snap("opened")
    b.page.get_by_label("Comment (optional)").fill("Our DSL is checking our pupils now.")
    b.page.get_by_role("button", name="Acknowledge").click()
    b.page.wait_for_load_state()
    b.page.get_by_role("textbox", name="Reply").fill("None of ours so far; reported to Instagram.")
    b.page.get_by_role("button", name="Send reply").click()
    b.page.wait_for_load_state()
    assert "reported to Instagram" in b.page.content()
    b.assert_accessible()
    b.snap("acknowledged-and-replied")

    a.page.goto(alert_url)
    content = a.page.content()
    assert "Our DSL is checking our pupils now." in content
    assert "None of ours so far; reported to Instagram." in content
    assert "Head of Beech" in content
    a.assert_accessible()
    a.snap("sender-sees-acknowledgement")

    d = visitor("head-d")
    d.sign_in("head@damson.example.org", PASSWORD)
    response = d.goto(alert_url.removeprefix(d.base))
    assert response.status == 404
    d.assert_accessible()
    d.snap("outsider-404")
    d.goto("/alerts")
    assert "Fake account messaging pupils" not in d.page.content()


def test_sign_in_and_account_pages_are_accessible(live_world, visitor):
    live_world.person(Role.HUB_ADMIN, "admin@hub.example.org")
    v = visitor("admin")
    v.goto("/sign-in")
    v.assert_accessible()
    v.snap("sign-in")
    v.page.get_by_role("button", name="Sign in").click()  # empty form: errors shown
    v.page.wait_for_load_state()
    assert "Enter your email address." in v.page.content()
    v.assert_accessible()
    v.snap("sign-in-errors")
    v.sign_in("admin@hub.example.org", PASSWORD)
    for path in ("/admin/clusters", "/admin/platforms", "/account"):
        v.goto(path)
        v.assert_accessible()
        v.snap(path.strip("/").replace("/", "-"))
