"""Withdrawing invitations: who may, and only once (schools.policy decides who)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from schools import audit, directory, invitations
from schools.audit.models import AuditEvent
from schools.errors import Conflict, NotFound
from schools.models import Invitation, Role
from tests.factories import join as _join


def _withdrawals(session) -> int:
    audit.append_pending(session)
    return len(
        session.scalars(select(AuditEvent).where(AuditEvent.action == "invitation.withdrawn")).all()
    )


@pytest.fixture
def hub_people(session):
    """A hub admin, a cluster with its coordinator and a school with its head."""
    cluster = directory.create_cluster(session, None, "Riverside")
    school = directory.admit_school(session, None, cluster, "Oakfield", "123456", "")
    admin = _join(
        session, invitations.invite(session, None, Role.HUB_ADMIN, "a@hub.example.org").token
    )
    coordinator = _join(
        session,
        invitations.invite(
            session, None, Role.COORDINATOR, "c@r.example.org", cluster=cluster
        ).token,
    )
    head = _join(
        session,
        invitations.invite(session, None, Role.HEAD, "h@oak.example.org", school=school).token,
    )
    return {"admin": admin.member, "coordinator": coordinator.member, "head": head.member}


@pytest.fixture
def hub_admin_invitation(session) -> Invitation:
    """A pending invitation with neither school nor cluster: a future hub administrator's."""
    invitation = invitations.invite(
        session, None, Role.HUB_ADMIN, "next@hub.example.org"
    ).invitation
    assert invitation.school_id is None
    assert invitation.cluster_id is None
    return invitation


@pytest.mark.parametrize("who", ["coordinator", "head"])
def test_only_hub_administrators_withdraw_a_hub_administrators_invitation(
    session, hub_people, hub_admin_invitation, who
):
    before = _withdrawals(session)
    with pytest.raises(NotFound, match="No such open invitation"):
        invitations.withdraw_invitation(session, hub_people[who], hub_admin_invitation.id)
    session.refresh(hub_admin_invitation)
    assert hub_admin_invitation.revoked_at is None
    assert _withdrawals(session) == before


def test_a_hub_administrator_withdraws_it_once_and_a_second_time_is_refused(
    session, hub_people, hub_admin_invitation
):
    before = _withdrawals(session)
    invitations.withdraw_invitation(session, hub_people["admin"], hub_admin_invitation.id)
    assert hub_admin_invitation.revoked_at is not None
    with pytest.raises(Conflict, match="already withdrawn"):
        invitations.withdraw_invitation(session, hub_people["admin"], hub_admin_invitation.id)
    assert _withdrawals(session) == before + 1


def test_the_operator_at_the_command_line_may_withdraw_it(session, hub_admin_invitation):
    invitations.withdraw_invitation(session, None, hub_admin_invitation.id)
    assert hub_admin_invitation.revoked_at is not None


def test_a_head_withdraws_their_schools_invitation_only_once(session, hub_people):
    head = hub_people["head"]
    invitation = invitations.invite(
        session, head, Role.STAFF, "dsl@oak.example.org", school=head.school
    ).invitation
    invitations.withdraw_invitation(session, head, invitation.id)
    with pytest.raises(Conflict, match="already withdrawn"):
        invitations.withdraw_invitation(session, head, invitation.id)
    # Neither the hub administrator nor a coordinator of another cluster manages it.
    other = directory.create_cluster(session, None, "Elsewhere")
    stranger = _join(
        session,
        invitations.invite(session, None, Role.COORDINATOR, "c@e.example.org", cluster=other).token,
    )
    fresh = invitations.invite(
        session, head, Role.STAFF, "dsl2@oak.example.org", school=head.school
    ).invitation
    for outsider in (hub_people["admin"], stranger.member):
        with pytest.raises(NotFound):
            invitations.withdraw_invitation(session, outsider, fresh.id)


def test_a_coordinator_withdraws_a_heads_invitation_to_their_cluster(session, hub_people):
    coordinator = hub_people["coordinator"]
    school = hub_people["head"].school
    invitation = invitations.invite(
        session, coordinator, Role.HEAD, "deputy@oak.example.org", school=school
    ).invitation
    invitations.withdraw_invitation(session, coordinator, invitation.id)
    with pytest.raises(Conflict, match="already withdrawn"):
        invitations.withdraw_invitation(session, coordinator, invitation.id)


def test_admitting_a_school_and_inviting_report_every_problem_at_once(session):
    from schools.errors import InvalidInputs

    cluster = directory.create_cluster(session, None, "Riverside")
    with pytest.raises(InvalidInputs) as admitted:
        directory.admit_school(session, None, cluster, "", "12", "")
    assert {p.field for p in admitted.value.problems} == {"name", "urn"}
    with pytest.raises(InvalidInputs) as invited:
        invitations.invite(session, None, Role.HEAD, "not an address", "x" * 500)
    assert {p.field for p in invited.value.problems} == {"email", "name"}
