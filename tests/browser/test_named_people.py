"""Named people in a browser (issue 16): a head sends an alert to one named
safeguarding lead at Beech; the form says who cannot receive it by name yet
and refuses them beside the field; the named DSL reads and replies; Beech's
head and its other DSL never see it (inbox, count, page). axe-core passes on
the post form, the refusal and the alert page, on a phone and a desktop."""

from __future__ import annotations

from schools.models import Role
from tests.conftest import PASSWORD

TITLE = "Deputy head named in a parents' WhatsApp group"


def test_an_alert_sealed_to_one_named_person(live_world, visitor):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    beech = live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Head of Ash")
    live_world.person(Role.HEAD, "head@beech.example.org", school=beech, name="Head of Beech")
    live_world.person(Role.DSL, "priya@beech.example.org", school=beech, name="Priya Shah")
    live_world.person(Role.DSL, "omar@beech.example.org", school=beech, name="Omar Ali")
    live_world.person(Role.DEPUTY_DSL, "new@beech.example.org", school=beech, name="Nia New")

    # Personal keys are made at a member's first complete sign-in (holding the
    # school's keys, which Beech's head confirms for the newcomers first):
    # Priya and Omar have signed in since; Nia has not.
    beech_head = visitor("beech-head")
    beech_head.sign_in("head@beech.example.org", PASSWORD)
    priya = visitor("priya")
    priya.sign_in("priya@beech.example.org", PASSWORD)
    omar = visitor("omar")
    omar.sign_in("omar@beech.example.org", PASSWORD)

    sender = visitor("sender")
    sender.sign_in("head@ash.example.org", PASSWORD)
    sender.goto("/alerts/new")
    page = sender.page
    waiting = page.get_by_label(
        "Nia New, Deputy designated safeguarding lead, Beech Primary", exact=False
    )
    assert "cannot receive it by name until they next sign in" in page.content()
    page.get_by_label("Staff named or discussed").check()
    page.get_by_label("Platform", exact=True).select_option("whatsapp")
    page.get_by_label("High", exact=True).check()
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("What happened").fill("Facts only: screenshots held by the office.")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Beech Primary", exact=True).check()
    page.get_by_label("Named people only: those you tick below").check()
    page.get_by_text("Named people: choose whom").click()  # the list opens
    waiting.check()
    sender.assert_accessible()
    sender.snap("named-form")
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    assert "cannot receive an alert by name yet" in page.content()
    assert "Nia New" in page.locator("#named-error").inner_text()
    sender.assert_accessible()
    sender.snap("named-refused")

    waiting.uncheck()
    page.get_by_label("Priya Shah, Designated safeguarding lead, Beech Primary").check()
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    assert "Alert sent to 1 school" in page.content(), page.locator(
        ".error-summary"
    ).all_inner_texts()
    path = page.url.removeprefix(sender.base)

    priya.goto("/alerts")
    assert TITLE in priya.page.content()
    priya.goto(path)
    assert TITLE in priya.page.content()
    priya.page.get_by_role("textbox", name="Reply", exact=True).fill(
        "Spoken to the deputy head; LADO informed."
    )
    priya.page.get_by_role("button", name="Send reply").click()
    priya.page.wait_for_load_state()
    assert "LADO informed" in priya.page.content()
    priya.assert_fits(390)
    priya.assert_accessible()
    priya.snap("named-reader-phone")
    priya.assert_fits(1280)
    priya.assert_accessible()

    for outsider in (omar, beech_head):
        outsider.goto("/alerts")
        assert TITLE not in outsider.page.content()
        assert outsider.goto(path).status == 404
    sender.goto(path)
    assert "LADO informed" in sender.page.content()
