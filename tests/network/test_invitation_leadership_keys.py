"""An invitation into a school's leadership keeps carrying its leadership keys
when they move on before it is accepted (issue 16): each new generation is
wrapped to the open invitations into the leadership, so the invited DSL reads
leadership alerts from their first sign-in, without a colleague signing in."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from network.db import own_transaction
from schools import leadership
from schools.models import LeadershipWrap, Role, School
from tests.conftest import PASSWORD, csrf_token, sign_in


def _invite(head, email: str, role: str) -> tuple[str, uuid.UUID]:
    response = head.post(
        "/school/invite", {"name": "Dee", "email": email, "role": role}, page="/school"
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:1000]
    link = re.search(r"/invitations/([A-Za-z0-9_-]+)", response.get_data(as_text=True))
    assert link is not None
    return link.group(0), _invitation_id(head, email)


def _invitation_id(head, email: str) -> uuid.UUID:
    from schools.models import Invitation

    with own_transaction(head.client.application) as session:
        return session.scalars(select(Invitation.id).where(Invitation.email == email)).one()


def _wraps(app, school_id: uuid.UUID, generation: int) -> list[tuple[str, uuid.UUID]]:
    with own_transaction(app) as session:
        rows = session.execute(
            select(LeadershipWrap.credential_kind, LeadershipWrap.credential_id).where(
                LeadershipWrap.school_id == school_id,
                LeadershipWrap.generation == generation,
            )
        )
        return [(kind, credential_id) for kind, credential_id in rows]


@pytest.mark.heads("Ash", "Beech")
def test_an_invited_dsl_holds_the_leadership_keys_that_moved_on_before_they_joined(
    app, world, heads
):
    ash, beech = heads["Ash"], heads["Beech"]
    dan = world.person(Role.DSL, "dan@beech.example.org", school=beech.school)
    assert sign_in(beech.client, beech.person.email).status_code == 302  # confirms Dan
    link, dee_invitation = _invite(beech, "dee@beech.example.org", "dsl")
    _staff_link, staff_invitation = _invite(beech, "sam@beech.example.org", "staff")
    assert (leadership.INVITATION, dee_invitation) in _wraps(app, beech.school.id, 1)
    # Dan leaves the leadership before Dee accepts: the keys move on.
    moved = beech.post(f"/school/members/{dan.member.id}/role", {"role": "staff"}, page="/school")
    assert moved.status_code == 303
    with own_transaction(app) as session:
        assert session.get(School, beech.school.id).leadership_generation == 2
    wrapped = _wraps(app, beech.school.id, 2)
    assert (leadership.INVITATION, dee_invitation) in wrapped
    assert (leadership.INVITATION, staff_invitation) not in wrapped  # staff hold none
    assert (leadership.MEMBER, dan.member.id) not in wrapped
    # Dee joins; nobody of Beech signs in after. A leadership alert opens for her.
    dee = app.test_client()
    accepted = dee.post(
        link,
        data={
            "name": "Dee",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_token(dee, link),
        },
    )
    assert accepted.status_code == 302
    sent = ash.post_alert([beech.school], title="For the new DSL", tier="leadership")
    alert_id = sent.headers["Location"].rsplit("/", 1)[1]
    assert "For the new DSL" in dee.get(f"/alerts/{alert_id}").get_data(as_text=True)
    kinds = [kind for kind, _ in _wraps(app, beech.school.id, 2)]
    assert leadership.INVITATION not in kinds  # the link's wrap went with it
