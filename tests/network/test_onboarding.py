"""The path from an empty hub to a working school: clusters, schools, invitations."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import Cluster, Invitation, Member, Role, School, utcnow
from tests.conftest import PASSWORD, post_form, sign_in
from tests.network.factor_helpers import enrol_app

LINK = re.compile(r"http://[^<\s]+/invitations/([A-Za-z0-9_\-]+)")


def _link(response) -> str:
    match = LINK.search(response.get_data(as_text=True))
    assert match, "no invitation link on the page"
    return f"/invitations/{match.group(1)}"


def _accept(client, link, name="New Person", password=PASSWORD, confirm=None):
    return post_form(
        client,
        link,
        {"name": name, "password": password, "confirm": password if confirm is None else confirm},
    )


def test_from_empty_hub_to_a_head_inviting_staff(app, world):
    world.person(Role.HUB_ADMIN, "admin@hub.example.org")
    admin = app.test_client()
    sign_in(admin, "admin@hub.example.org")
    response = post_form(
        admin,
        "/admin/clusters",
        {
            "name": "Riverside",
            "coordinator_name": "Helen",
            "coordinator_email": "helen@riverside.example.org",
        },
    )
    assert response.status_code == 200
    coordinator_link = _link(response)

    coordinator = app.test_client()
    page = coordinator.get(coordinator_link).get_data(as_text=True)
    assert "Riverside" in page
    assert "cluster coordinator" in page
    # The first coordinator creates the office's keys and is shown its recovery code.
    response = _accept(coordinator, coordinator_link, "Helen Marsh")
    assert response.status_code == 200
    assert "recovery code" in response.get_data(as_text=True)
    # A new cluster asks coordinators and heads for a second factor: set up first.
    assert coordinator.get("/cluster/schools").headers["Location"] == "/account/second-factors"
    enrol_app(coordinator)
    response = post_form(
        coordinator,
        "/cluster/schools",
        {
            "name": "Oakfield Primary",
            "urn": "123456",
            "address": "1 Oak Lane",
            "head_name": "Amara",
            "head_email": "amara@oakfield.example.org",
        },
    )
    assert response.status_code == 200
    head_link = _link(response)
    assert "Oakfield Primary" in response.get_data(as_text=True)

    head = app.test_client()
    response = _accept(head, head_link, "Amara Okafor")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "recovery code" in page
    assert "shown only this once" in page
    enrol_app(head)
    response = post_form(
        head,
        "/school/invite",
        {"name": "Grace", "email": "grace@oakfield.example.org", "role": "staff"},
        page="/school",
    )
    assert response.status_code == 201
    staff_link = _link(response)
    staff = app.test_client()
    assert _accept(staff, staff_link, "Grace Lewis").status_code == 302
    page = staff.get("/school").get_data(as_text=True)
    assert "Grace Lewis" in page
    assert "Amara Okafor" in page
    assert "waiting for confirmation" not in page


def test_invitation_cannot_be_used_twice(app, world):
    cluster = world.cluster()
    token = world.invite(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    client = app.test_client()
    assert _accept(client, f"/invitations/{token}").status_code == 200
    other = app.test_client()
    response = other.get(f"/invitations/{token}")
    assert response.status_code == 410
    assert "already been used" in response.get_data(as_text=True)


def test_expired_invitation_is_refused_and_says_so(app, world):
    cluster = world.cluster()
    token = world.invite(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    with own_transaction(app) as session:
        for invitation in session.scalars(select(Invitation)):
            invitation.expires_at = utcnow() - timedelta(minutes=1)
    response = app.test_client().get(f"/invitations/{token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_unknown_invitation_link_is_refused(client):
    response = client.get("/invitations/not-a-real-token")
    assert response.status_code == 410
    assert "not valid" in response.get_data(as_text=True)


def test_invitation_tokens_are_stored_only_as_hashes(app, world):
    cluster = world.cluster()
    token = world.invite(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    with own_transaction(app) as session:
        invitation = session.scalars(select(Invitation)).one()
        assert token.encode() not in invitation.token_hash
        assert len(invitation.token_hash) == 32


def test_weak_password_is_refused_and_nothing_is_written(app, world):
    cluster = world.cluster()
    token = world.invite(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    client = app.test_client()
    for password, confirm, message in [
        ("", "", "Enter a password."),
        ("short", "short", "at least 12 characters"),
        ("password1234", "password1234", "too easy to guess"),
        ("a long enough passphrase", "a different passphrase", "do not match"),
    ]:
        response = _accept(client, f"/invitations/{token}", "Cleo", password, confirm)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 0
        assert session.scalars(select(Invitation)).one().accepted_at is None
    assert _accept(client, f"/invitations/{token}", "Cleo").status_code == 200


def test_duplicate_urn_is_refused_next_to_the_field(app, world):
    cluster = world.cluster()
    world.person(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    world.school(cluster, "First")  # URN 100001
    client = app.test_client()
    sign_in(client, "c@x.example.org")
    response = post_form(
        client,
        "/cluster/schools",
        {"name": "Second", "urn": "100001", "head_email": "h@second.example.org"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "URN 100001 is already registered" in page
    assert 'id="urn-error"' in page
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).where(School.kind == "school")) == 1
        assert session.scalar(select(func.count()).select_from(Invitation)) == 1  # only c@


def test_bad_urn_and_email_get_clear_messages(app, world):
    cluster = world.cluster()
    world.person(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    client = app.test_client()
    sign_in(client, "c@x.example.org")
    response = post_form(
        client,
        "/cluster/schools",
        {"name": "Second", "urn": "12ab", "head_email": "h@second.example.org"},
    )
    assert "six-digit" in response.get_data(as_text=True)
    response = post_form(
        client,
        "/cluster/schools",
        {"name": "Second", "urn": "123123", "head_email": "not-an-email"},
    )
    assert response.status_code == 422
    assert "email address like" in response.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).where(School.kind == "school")) == 0


def test_duplicate_cluster_name_is_refused(app, world):
    world.person(Role.HUB_ADMIN, "admin@hub.example.org")
    world.cluster("Riverside")
    client = app.test_client()
    sign_in(client, "admin@hub.example.org")
    response = post_form(
        client, "/admin/clusters", {"name": "riverside", "coordinator_email": "x@y.example.org"}
    )
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Cluster)) == 1


def test_oversized_form_is_refused(app, world):
    world.person(Role.HUB_ADMIN, "admin@hub.example.org")
    client = app.test_client()
    sign_in(client, "admin@hub.example.org")
    response = post_form(
        client, "/admin/clusters", {"name": "x" * 100_000, "coordinator_email": "x@y.example.org"}
    )
    assert response.status_code == 413
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Cluster)) == 0


def test_inviting_an_existing_member_is_refused(app, world):
    cluster = world.cluster()
    school = world.school(cluster)
    world.person(Role.HEAD, "head@s.example.org", school=school)
    client = app.test_client()
    sign_in(client, "head@s.example.org")
    response = post_form(
        client, "/school/invite", {"email": "head@s.example.org", "role": "staff"}, page="/school"
    )
    assert response.status_code == 422 or response.status_code == 409
    assert "already has an account" in response.get_data(as_text=True)


def test_withdrawn_invitation_stops_working(app, world):
    cluster = world.cluster()
    school = world.school(cluster)
    world.person(Role.HEAD, "head@s.example.org", school=school)
    client = app.test_client()
    sign_in(client, "head@s.example.org")
    response = post_form(
        client, "/school/invite", {"email": "new@s.example.org", "role": "staff"}, page="/school"
    )
    link = _link(response)
    with own_transaction(app) as session:
        invitation = session.scalars(
            select(Invitation).where(Invitation.email == "new@s.example.org")
        ).one()
    post_form(
        client, f"/school/invitations/{invitation.id}/withdraw", {"confirm": "yes"}, page="/school"
    )
    response = app.test_client().get(link)
    assert response.status_code == 410
    assert "withdrawn" in response.get_data(as_text=True)
    # Withdrawing it again is refused, and says why.
    again = post_form(
        client, f"/school/invitations/{invitation.id}/withdraw", {"confirm": "yes"}, page="/school"
    )
    assert again.status_code == 409
    assert "already withdrawn" in again.get_data(as_text=True)


def test_coordinators_and_heads_cannot_withdraw_a_hub_administrators_invitation(app, world):
    cluster = world.cluster()
    school = world.school(cluster)
    world.person(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    world.person(Role.HEAD, "head@s.example.org", school=school)
    token = world.invite(Role.HUB_ADMIN, "next-admin@hub.example.org")
    with own_transaction(app) as session:
        invitation_id = session.scalars(
            select(Invitation.id).where(Invitation.email == "next-admin@hub.example.org")
        ).one()
        entries = session.scalar(select(func.count()).select_from(AuditEvent))
    for email, area, page in (
        ("c@x.example.org", "cluster", "/cluster/schools"),
        ("head@s.example.org", "school", "/school"),
    ):
        client = app.test_client()
        sign_in(client, email)
        url = f"/{area}/invitations/{invitation_id}/withdraw"
        response = post_form(client, url, {"confirm": "yes"}, page=page)
        assert response.status_code == 404
        assert "No such open invitation" in response.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.get(Invitation, invitation_id).revoked_at is None
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.seq >= entries)).all()
        assert "member.signed_in" in actions
        assert "invitation.withdrawn" not in actions
    assert app.test_client().get(f"/invitations/{token}").status_code == 200
