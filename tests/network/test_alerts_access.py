"""network/alerts/access.py: the one place that says who may see an alert."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from sqlalchemy import exists, select

from network.alerts.access import content_for, visible_to_school
from network.alerts.models import Alert, AlertRecipient
from network.db import own_transaction
from schools.errors import NotFound
from schools.models import Member, Role
from tests.network.alerts_helpers import make_head


def _posted(response):
    return uuid.UUID(response.headers["Location"].rsplit("/", 1)[1])


def test_a_school_lists_exactly_the_alerts_it_may_read(app, world):
    cluster = world.cluster("Riverside")
    ash, beech, cedar = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
    ash.post_alert([beech.school])
    ash.post_alert([beech.school, cedar.school])
    cedar.post_alert([ash.school])
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    with own_transaction(app) as session:
        alerts = list(session.scalars(select(Alert.id)))
        for head in (ash, beech, cedar):
            member = session.get(Member, head.person.member.id)
            listed = set(
                session.scalars(
                    select(Alert.id).join(
                        AlertRecipient, visible_to_school(head.school.id, Alert.id)
                    )
                )
            )
            readable = set()
            for alert_id in alerts:
                with contextlib.suppress(NotFound):
                    readable.add(content_for(session, member, alert_id).alert.id)
            assert listed == readable
            assert len(listed) == {"Ash": 3, "Beech": 2, "Cedar": 2}[head.school.name]


@pytest.mark.parametrize("recipients", [["Beech"], ["Beech", "Cedar"]])
def test_members_whose_school_holds_a_copy_are_found_in_one_query(app, world, recipients):
    cluster = world.cluster("Riverside")
    heads = {n: make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar", "Damson")}
    alert_id = _posted(heads["Ash"].post_alert([heads[n].school for n in recipients]))
    with own_transaction(app) as session:
        holding = set(
            session.scalars(
                select(Member.email).where(
                    exists().where(visible_to_school(Member.school_id, alert_id))
                )
            )
        )
    assert holding == {heads[n].person.email for n in ["Ash", *recipients]}
