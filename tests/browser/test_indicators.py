"""What only a network can see, in a real browser on a phone-sized screen:
three schools post about the same account, each written its own way; the third
sees the other two alerts, opens the one sent to it, and says it has seen that
one too; its sender sees the sighting."""

from __future__ import annotations

from schools.models import Role
from tests.conftest import PASSWORD


def _post(person, title: str, account: str, to: list[str], link: str = "") -> str:
    page = person.page
    person.goto("/alerts/new")
    page.get_by_label("Harassment or bullying").check()
    page.get_by_label("Platform", exact=True).select_option("instagram")
    page.get_by_label("High", exact=True).check()
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("What happened").fill("An account posting about our staff.")
    if link:
        page.get_by_label("Links to the posts").fill(link)
    page.get_by_label("Accounts (optional)").fill(account)
    page.get_by_label("TLP:AMBER", exact=True).check()
    for school in to:
        page.get_by_label(school, exact=True).check()
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    assert "Alert sent to" in page.content(), page.content()
    return page.url


def test_the_third_school_sees_that_two_others_reported_the_same_account(live_world, visitor):
    cluster = live_world.cluster("Riverside")
    for name in ("Ash", "Beech", "Cedar"):
        school = live_world.school(cluster, f"{name} Primary")
        live_world.person(
            Role.HEAD, f"head@{name.lower()}.example.org", school=school, name=f"Head of {name}"
        )
    a, b, c = visitor("head-a"), visitor("head-b"), visitor("head-c")
    for person, name in ((a, "ash"), (b, "beech"), (c, "cedar")):
        person.sign_in(f"head@{name}.example.org", PASSWORD)

    a.goto("/alerts/new")
    a.assert_accessible()
    first = _post(a, "Account naming our teachers", "@Riverside_Gossip", ["Cedar Primary"])
    _post(b, "Gossip account again", "riverside_gossip", ["Ash Primary"])
    third = _post(c, "Same account, our school now", "@RIVERSIDE_GOSSIP", ["Ash Primary"])

    c.page.goto(third)
    content = c.page.content()
    assert "Seen elsewhere in the network" in content
    assert "2 other alerts from 2 schools mention the same account" in content
    assert "@riverside_gossip on instagram" in content
    # Cedar was sent Ash's alert, not Beech's: one link, one named only.
    assert c.page.get_by_role("link", name="Alert from Ash Primary").count() == 1
    assert "Not sent to your school (1): Beech Primary" in content
    c.assert_accessible()
    c.snap("correlation")

    c.page.get_by_role("link", name="Alert from Ash Primary").click()
    c.page.wait_for_load_state()
    assert c.page.url == first
    c.page.get_by_label("Where (optional)").fill("Shared in our parents' group")
    c.page.get_by_role("button", name="We've seen this too").click()
    c.page.wait_for_load_state()
    assert "your school has seen this too" in c.page.content()
    c.assert_accessible()
    c.snap("sighted")

    a.page.goto(first)
    content = a.page.content()
    assert "Seen too by 1 school:</strong> Cedar Primary." in content
    assert (
        "Shared in our parents' group" in content or "Shared in our parents&#39; group" in content
    )
    a.assert_accessible()
    a.snap("sender-sees-sighting")
