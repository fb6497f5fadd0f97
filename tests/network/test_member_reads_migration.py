"""Migration 0024: which member opened which alert. What a school had read
before counts as read for each of its members then, so nobody's unread count
jumps on the upgrade; an unread copy stays unread for all."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from alembic import command

from network import create_app
from network.alerts.models import AlertRecipient
from network.db import engine, own_transaction
from network.migrate import config, upgrade
from schools.db import utcnow
from schools.models import Role
from tests.conftest import settings_for_tests
from tests.factories import World
from tests.network.alerts_helpers import post_as


def _reads(app) -> set[tuple[uuid.UUID, uuid.UUID]]:
    with engine(app).connect() as connection:
        rows = connection.execute(sa.text("SELECT member_id, alert_id FROM member_reads")).all()
    return {(uuid.UUID(str(m)), uuid.UUID(str(a))) for m, a in rows}


def test_what_a_school_had_read_stays_read_for_its_members(tmp_path, empty_database):
    app = create_app(settings_for_tests(tmp_path, empty_database))
    upgrade(app)
    world = World(app)
    cluster = world.cluster("Riverside")
    ash, beech = world.school(cluster, "Ash"), world.school(cluster, "Beech")
    world.person(Role.HEAD, "head@ash.example.org", school=ash)
    head = world.person(Role.HEAD, "head@beech.example.org", school=beech)
    dsl = world.person(Role.DSL, "dsl@beech.example.org", school=beech)
    with own_transaction(app) as session:
        earlier = utcnow() - timedelta(hours=1)
        read = post_as(session, "head@ash.example.org", [beech.id], earlier).id
        unread = post_as(session, "head@ash.example.org", [beech.id], earlier).id
        session.get(AlertRecipient, (read, beech.id)).first_read_at = utcnow()
    command.downgrade(config(app), "0024")
    upgrade(app)
    assert _reads(app) == {(head.member.id, read), (dsl.member.id, read)}
    assert unread not in {a for _, a in _reads(app)}
    engine(app).dispose()
