"""Forms say every problem in one answer, in a browser (issue 17): a new
member of staff accepting their invitation on a phone, and a head naming the
out-of-hours contact, each see every problem at once, beside its field and in
the summary, fix them and go on; axe-core passes on each page."""

from __future__ import annotations

from schools.models import Role
from tests.conftest import PASSWORD


def _problems(person) -> list[str]:
    """What the summary at the top of the form lists."""
    return [
        text.strip()
        for text in person.page.locator(".error-summary li").all_inner_texts()
        if text.strip()
    ]


def test_every_problem_of_a_form_is_shown_at_once(live_world, visitor):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Head of Ash")
    token = live_world.invite(Role.STAFF, "new.teacher@ash.example.org", school=ash)

    newcomer = visitor("newcomer")  # a phone, 390 px wide
    newcomer.goto(f"/invitations/{token}")
    newcomer.page.get_by_label("Choose a password").fill("short")
    newcomer.page.get_by_label("Type the password again").fill("other")
    newcomer.page.get_by_role("button", name="Create my account").click()
    newcomer.page.wait_for_load_state()
    problems = _problems(newcomer)
    assert any("Enter your name." in p for p in problems), problems
    assert any("at least 12 characters" in p for p in problems), problems
    assert newcomer.page.locator("#name-error").inner_text().strip().endswith("Enter your name.")
    assert "at least 12 characters" in newcomer.page.locator("#password-error").inner_text()
    newcomer.assert_accessible()
    newcomer.snap("invitation-every-problem")

    newcomer.page.get_by_label("Your name").fill("Sam Taylor")
    newcomer.page.get_by_label("Choose a password").fill(PASSWORD)
    newcomer.page.get_by_label("Type the password again").fill(PASSWORD)
    newcomer.page.get_by_role("button", name="Create my account").click()
    newcomer.page.wait_for_load_state()
    assert "/invitations/" not in newcomer.page.url
    newcomer.assert_accessible()

    head = visitor("head-ash")
    head.page.set_viewport_size({"width": 1280, "height": 900})
    head.sign_in("head@ash.example.org", PASSWORD)
    head.goto("/school/out-of-hours")
    head.page.get_by_label("Email address").fill("not an address")
    head.page.get_by_role("button", name="Save").click()
    head.page.wait_for_load_state()
    problems = _problems(head)
    assert len(problems) >= 2, problems
    assert head.page.locator("#name-error").count() == 1
    assert head.page.locator("#email-error").count() == 1
    # What was typed is still there to correct.
    assert head.page.get_by_label("Email address").input_value() == "not an address"
    head.assert_accessible()
    head.snap("out-of-hours-every-problem")

    head.page.get_by_label("Name", exact=True).fill("Pat Jones")
    head.page.get_by_label("Email address").fill("pat.jones@ash.example.org")
    head.page.get_by_role("button", name="Save").click()
    head.page.wait_for_load_state()
    assert "Pat Jones" in head.page.content()
    assert head.page.locator(".error-summary").count() == 0
    head.assert_accessible()
    head.snap("out-of-hours-saved")
