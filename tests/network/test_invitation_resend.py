"""Resend invitation: a new link for an open invitation, the old one dead at
once, audited; the new link carries the school's keys when the resender's
session holds them."""

from __future__ import annotations

import re

from sqlalchemy import select

from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import Invitation, Member, Role
from tests.conftest import PASSWORD, post_form, sign_in

LINK = re.compile(r"http://[^<\s]+/invitations/([A-Za-z0-9_\-]+)")


def _link(response) -> str:
    match = LINK.search(response.get_data(as_text=True))
    assert match, "no invitation link on the page"
    return f"/invitations/{match.group(1)}"


def _invitation(app, email: str) -> Invitation:
    with own_transaction(app) as session:
        return session.scalars(select(Invitation).where(Invitation.email == email)).one()


def _head_inviting(app, world):
    cluster = world.cluster()
    school = world.school(cluster, "Ash")
    world.person(Role.HEAD, "head@ash.example.org", school=school)
    client = app.test_client()
    sign_in(client, "head@ash.example.org")
    response = post_form(
        client, "/school/invite", {"email": "new@ash.example.org", "role": "staff"}, page="/school"
    )
    return cluster, school, client, _link(response)


def test_a_head_resends_and_only_the_new_link_works(app, world):
    _, school, client, old_link = _head_inviting(app, world)
    invitation = _invitation(app, "new@ash.example.org")
    page = client.get("/school").get_data(as_text=True)
    assert f"/school/invitations/{invitation.id}/resend" in page
    assert "Resend invitation" in page

    response = post_form(client, f"/school/invitations/{invitation.id}/resend", {}, page="/school")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "New invitation link for new@ash.example.org" in html
    assert "The link sent before no longer works." in html
    new_link = _link(response)
    assert new_link != old_link
    refused = app.test_client().get(old_link)
    assert refused.status_code == 410
    assert "not valid" in refused.get_data(as_text=True)
    assert app.test_client().get(new_link).status_code == 200
    renewed = _invitation(app, "new@ash.example.org")
    assert renewed.id == invitation.id
    assert renewed.expires_at >= invitation.expires_at
    with own_transaction(app) as session:
        entry = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "invitation.resent")
        ).one()
        head = session.scalars(select(Member).where(Member.email == "head@ash.example.org")).one()
        assert entry.actor_id == head.id
        assert entry.object_id == str(invitation.id)
        assert entry.school_id == school.id
        assert entry.detail == {"role": "staff"}
    log = client.get("/audit").get_data(as_text=True)
    assert "sent someone a new invitation link to join as a member of staff." in log
    # The head's session held the keys: the newcomer gets them with the new link.
    accepted = post_form(
        app.test_client(),
        new_link,
        {"name": "New Person", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert accepted.status_code in (200, 302, 303)
    with own_transaction(app) as session:
        member = session.scalars(select(Member).where(Member.email == "new@ash.example.org")).one()
        assert member.keys_pending is False


def test_a_coordinator_resends_a_heads_invitation(app, world):
    cluster = world.cluster()
    school = world.school(cluster, "Elm")
    world.person(Role.COORDINATOR, "coord@north.example.org", cluster=cluster)
    old_token = world.invite(Role.HEAD, "head@elm.example.org", school=school)
    invitation = _invitation(app, "head@elm.example.org")
    client = app.test_client()
    sign_in(client, "coord@north.example.org")
    page = f"/cluster/schools/{school.id}"
    assert f"/cluster/invitations/{invitation.id}/resend" in client.get(page).get_data(as_text=True)
    response = post_form(client, f"/cluster/invitations/{invitation.id}/resend", {}, page=page)
    assert response.status_code == 200
    new_link = _link(response)
    assert app.test_client().get(f"/invitations/{old_token}").status_code == 410
    assert app.test_client().get(new_link).status_code == 200


def test_resending_is_refused_to_others_and_for_closed_invitations(app, world):
    cluster, _, head, link = _head_inviting(app, world)
    invitation = _invitation(app, "new@ash.example.org")
    other = world.school(cluster, "Oak")
    world.person(Role.HEAD, "head@oak.example.org", school=other)
    stranger = app.test_client()
    sign_in(stranger, "head@oak.example.org")
    url = f"/school/invitations/{invitation.id}/resend"
    refused = post_form(stranger, url, {}, page="/school")
    assert refused.status_code == 404
    assert app.test_client().get(link).status_code == 200  # still the only link
    # Without the form's token (CSRF), nothing happens either.
    assert head.post(url).status_code == 400
    post_form(
        head, f"/school/invitations/{invitation.id}/withdraw", {"confirm": "yes"}, page="/school"
    )
    assert post_form(head, url, {}, page="/school").status_code == 404
    with own_transaction(app) as session:
        resent = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "invitation.resent")
        ).all()
        assert resent == []
