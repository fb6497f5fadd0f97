"""What the tests of four-eyes review share: Ash's staff author and DSL with
review turned on, a staff alert submitted for review, and its resubmission
after changes were asked for."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from network.alerts.held_models import HeldAlert, HeldState
from network.db import own_transaction
from schools import roles
from schools.models import Role
from tests.conftest import sign_in
from tests.network.alerts_helpers import Head
from tests.network.api_helpers import member_named

HELD = re.compile(r'href="/alerts/reviews/([0-9a-f-]{36})"')


def team(app, world, ash: Head, *, may_post: bool = True) -> tuple[Head, Head]:
    """Ash's staff author and DSL, signed in; review turned on by Ash's head."""
    world.person(Role.STAFF, "author@ash.example.org", school=ash.school, name="Ann Author")
    world.person(Role.DSL, "dsl@ash.example.org", school=ash.school, name="Dee Lead")
    sign_in(ash.client, ash.person.email)  # confirms both: their keys are wrapped
    if may_post:
        with own_transaction(app) as session:
            roles.set_may_post(session, None, member_named(app, "author@ash.example.org").id, True)
    people = []
    for email in ("author@ash.example.org", "dsl@ash.example.org"):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "127.9.{}.{}".format(*uuid.uuid4().bytes[:2])
        assert sign_in(client, email).status_code == 302
        people.append(Head(ash.person, ash.school, client))
    turned = ash.post("/school/review", {"reviews_staff_alerts": "on"}, page="/school")
    assert turned.status_code == 303
    return people[0], people[1]


def submit(author: Head, beech: Head, title: str = "Fake page naming staff") -> str:
    sent = author.post_alert([beech.school], title=title)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    with own_transaction(author.client.application) as session:
        held = session.scalars(select(HeldAlert).order_by(HeldAlert.created_at.desc())).first()
        assert held is not None
        assert held.state == HeldState.IN_REVIEW
        return str(held.id)


def resubmit(author: Head, held_id: str, beech: Head, title: str = "Fake page naming a teacher"):
    """The author sends the held alert back for review from its draft page."""
    again = author.post(
        f"/alerts/drafts/{held_id}",
        {
            "category": "staff_named",
            "severity": "high",
            "platform": "facebook",
            "tlp": "AMBER",
            "title": title,
            "audience": "schools",
            "schools": [str(beech.school.id)],
        },
        content_type="multipart/form-data",
    )
    assert again.status_code == 303
    return again
