"""Outbox rows come with whatever builds the app: create_app connects the
notification receivers, however many apps the process builds."""

from __future__ import annotations

import uuid

from flask import Flask

from network.db import own_transaction
from network.notifications import receivers
from network.notifications.models import Notification
from schools.db import utcnow
from schools.models import Role
from tests.conftest import World, hub
from tests.network.alerts_helpers import post_as
from tests.network.notify_helpers import notifications


def _post_to_beech(app: Flask) -> uuid.UUID:
    """Ash's head posts a high alert to Beech through the service, as a CLI
    command would: no page, no sign-in. Beech's school id."""
    world = World(app)
    cluster = world.cluster("Riverside")
    ash, beech = world.school(cluster, "Ash"), world.school(cluster, "Beech")
    world.person(Role.HEAD, "head@ash.example.org", school=ash)
    world.person(Role.HEAD, "head@beech.example.org", school=beech)
    with own_transaction(app) as session:
        post_as(session, "head@ash.example.org", [beech.id], utcnow())
    return beech.id


def _received(app: Flask) -> list[tuple[str, uuid.UUID]]:
    return sorted(
        (n.channel, n.school_id) for n in notifications(app, Notification.event == "alert.received")
    )


def test_posting_through_a_freshly_created_app_writes_outbox_rows(database_url, tmp_path):
    receivers.disconnect()  # as in a process that has built no app yet
    try:
        with hub(database_url, tmp_path) as app:
            beech = _post_to_beech(app)
            # Beech's head never signed in: the defaults, in the hub and by email.
            assert _received(app) == [("email", beech), ("in_app", beech)]
    finally:
        receivers.connect()


def test_without_the_receivers_an_alert_writes_no_outbox_rows(database_url, tmp_path):
    with hub(database_url, tmp_path) as app:
        receivers.disconnect()
        try:
            _post_to_beech(app)
        finally:
            receivers.connect()
        assert _received(app) == []


def test_many_apps_in_one_process_write_each_notification_once(database_url, tmp_path):
    with hub(database_url, tmp_path / "first"), hub(database_url, tmp_path / "second") as app:
        beech = _post_to_beech(app)
        assert _received(app) == [("email", beech), ("in_app", beech)]
