"""The demo's mail catcher: without SMTP, mail lands in a folder, and each
member sees only what was sent to them or their school."""

# The SMTP server, webhook receiver, app, cluster and pair fixtures are imported from
# notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

import re

from network.db import engine
from network.notifications import mail
from schools.models import Role
from tests.conftest import World, sign_in
from tests.network.alerts_helpers import make_head
from tests.network.notify_helpers import (  # noqa: F401  (fixtures)
    app,
    cluster,
    deliver_all,
    make_notify_app,
    pair,
    smtp,
    subscribe,
)


def test_the_demo_writes_mail_to_a_folder_and_shows_it(database_url, tmp_path):
    demo = make_notify_app(tmp_path / "demo", database_url, "", demo=True)
    try:
        demo_world = World(demo)
        cluster = demo_world.cluster("Demo")
        ash = make_head(demo, demo_world, cluster, "Ash")
        beech = make_head(demo, demo_world, cluster, "Beech")
        ash.post_alert([beech.school], severity="urgent", tier="all")
        deliver_all(demo)
        files = list((tmp_path / "demo" / "mail").glob("*.eml"))
        assert len(files) == 1
        listing = beech.client.get("/notifications/mail").get_data(as_text=True)
        assert "Urgent alert from Ash" in listing
        name = files[0].name
        message = beech.client.get(f"/notifications/mail/{name}").get_data(as_text=True)
        assert "Sign in to read it" in message
        assert beech.client.get("/notifications/mail/..%2Fsecret_key").status_code == 404
    finally:
        engine(demo).dispose()


def _mailbox(client):
    """The subjects listed on a member's demo mailbox, and the names of the files."""
    page = client.get("/notifications/mail")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return html, re.findall(r"/notifications/mail/([0-9T]{21}-[0-9a-f]{8}\.eml)", html)


def test_the_demo_mailbox_shows_a_member_only_mail_sent_to_them_or_their_school(
    database_url, tmp_path
):
    demo = make_notify_app(tmp_path / "demo", database_url, "", demo=True)
    try:
        world = World(demo)
        riverside, hillside = world.cluster("Riverside"), world.cluster("Hillside")
        ash = make_head(demo, world, riverside, "Ash")
        beech = make_head(demo, world, riverside, "Beech")
        oak = make_head(demo, world, hillside, "Oak")
        elm = make_head(demo, world, hillside, "Elm")
        shared = subscribe(beech, school=True, target_email="DSL@beech.example.org")
        assert shared.status_code == 303
        staff = world.person(Role.STAFF, "staff@beech.example.org", school=beech.school)
        coordinator = world.person(
            Role.COORDINATOR, "coord@riverside.example.org", cluster=riverside
        )
        clients = {}
        for person in (staff, coordinator):
            clients[person.email] = demo.test_client()
            assert sign_in(clients[person.email], person.email).status_code == 302
        ash.post_alert([beech.school], severity="urgent", tier="all")
        oak.post_alert([elm.school], severity="urgent", tier="all")
        deliver_all(demo)
        caught = {
            path.name: mail.read_caught(path.parent, path.name).to
            for path in (tmp_path / "demo" / "mail").glob("*.eml")
        }
        assert sorted(caught.values()) == [
            "DSL@beech.example.org",
            beech.person.email,
            elm.person.email,
        ]
        sent_to = {to: name for name, to in caught.items()}

        html, listed = _mailbox(beech.client)
        assert sorted(listed) == sorted(
            [sent_to[beech.person.email], sent_to["DSL@beech.example.org"]]
        )
        assert "Urgent alert from Ash" in html
        _, listed = _mailbox(clients[staff.email])
        assert listed == [sent_to["DSL@beech.example.org"]]
        _, listed = _mailbox(elm.client)
        assert listed == [sent_to[elm.person.email]]
        for client in (ash.client, oak.client, clients[coordinator.email]):
            html, listed = _mailbox(client)
            assert listed == []
            assert "Urgent alert" not in html
        # Nor can another member open a message by its name.
        for name in caught:
            assert elm.client.get(f"/notifications/mail/{name}").status_code == (
                200 if caught[name] == elm.person.email else 404
            )
        assert (
            clients[coordinator.email]
            .get(f"/notifications/mail/{sent_to['DSL@beech.example.org']}")
            .status_code
            == 404
        )
    finally:
        engine(demo).dispose()


def test_the_mailbox_page_exists_only_in_demo_mode(app, pair):
    assert pair[0].client.get("/notifications/mail").status_code == 404
