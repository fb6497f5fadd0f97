"""Every main page fits a 390 px phone and a 1,280 px screen without sideways
scrolling, with the longest things people can put on it: a title of the
maximum length without a space, a link of the maximum length, a long audit
log. Every page, at both widths, passes axe-core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crypto.custody import FAST_FOR_TESTS
from network.alerts import posting
from network.alerts.content import MAX_TITLE, MAX_URL, AlertContent, Link
from network.db import own_transaction
from schools import accounts, keyring
from schools.models import Role
from tests.conftest import PASSWORD

WIDTHS = ((390, 844), (1280, 900))
LONG_TITLE = "Fakeaccount" * (MAX_TITLE // 11) + "x" * (MAX_TITLE % 11)
LONG_LINK = "https://social.example.com/" + "p" * (MAX_URL - len("https://social.example.com/"))


def _post_long_alert(live_app, sender: str, recipients: list) -> str:
    with own_transaction(live_app) as session:
        member, credential = accounts.authenticate(session, sender, PASSWORD, FAST_FOR_TESTS)
        keys = keyring.unlock_for_member(session, member, credential)
        content = AlertContent(
            LONG_TITLE,
            "Description" * 300,
            (Link(LONG_LINK), Link("https://social.example.com/short")),
            "Report" * 200,
        )
        posted = posting.post_alert(
            session,
            member,
            keys,
            posting.AlertDraft(
                "staff_named",
                "urgent",
                "tiktok",
                "AMBER",
                content,
                "schools",
                tuple(s.id for s in recipients),
            ),
            now=datetime.now(UTC) - timedelta(hours=3),
        )
        return str(posted.alert.id)


def _fits_every_width(person, path: str) -> None:
    for width, height in WIDTHS:
        person.page.set_viewport_size({"width": width, "height": height})
        person.goto(path)
        person.page.wait_for_load_state()
        person.assert_fits(width, height)
        person.assert_accessible()
        name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
        person.snap(f"{name or 'home'}-{width}")


def test_main_pages_fit_a_phone_and_a_desktop(live_world, live_app, visitor):
    cluster = live_world.cluster("Riverside")
    ash = live_world.school(cluster, "Ash Primary")
    beech = live_world.school(cluster, "Beech Primary")
    live_world.person(Role.HEAD, "head@ash.example.org", school=ash, name="Priya Shah")
    live_world.person(Role.HEAD, "head@beech.example.org", school=beech, name="Sam Jones")
    live_world.person(Role.STAFF, "dsl@beech.example.org", school=beech, name="Ann Lee")
    live_world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    alert_id = _post_long_alert(live_app, "head@ash.example.org", [beech])

    head = visitor("head-beech")
    head.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=head.base)
    head.sign_in("head@beech.example.org", PASSWORD)
    head.goto(f"/alerts/{alert_id}")  # read: the audit log gets an opening
    assert LONG_TITLE in head.page.content()
    # Each link of the alert has its copy button.
    head.page.get_by_role("button", name="Copy the link").first.click()
    head.page.get_by_role("status").filter(has_text="Copied the link.").wait_for()
    assert head.page.evaluate("navigator.clipboard.readText()") == LONG_LINK
    for path in (
        "/alerts",
        f"/alerts/{alert_id}",
        "/school/dashboard",
        "/audit",
        f"/audit/objects/alert/{alert_id}",
        "/school",
        "/account",
        "/account/tokens",
        "/notifications",
        "/notifications/subscriptions",
        "/alerts/new",
    ):
        _fits_every_width(head, path)

    coordinator = visitor("coordinator")
    coordinator.sign_in("coord@riverside.example.org", PASSWORD)
    for path in (
        "/cluster/dashboard",
        "/audit",
        "/audit?view=technical",
        "/cluster/schools",
        f"/cluster/schools/{beech.id}",
        "/cluster/alerts",
    ):
        _fits_every_width(coordinator, path)
