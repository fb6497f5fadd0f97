"""The leadership bundle in the school domain (schools/leadership.py): made
with the first head, carried by a head's session beside the school bundle, and
a change that would rotate it refused before anything is written when the
acting head does not hold it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from schools import accounts, invitations, keyring, leadership, roles
from schools.errors import KeysLocked
from schools.models import LeadershipKeyGeneration, LeadershipWrap, Member, Role
from tests.factories import join


def test_the_first_head_makes_the_leadership_keys_and_holds_them(session, school, head):
    assert school.leadership_generation == 1
    assert session.get(LeadershipKeyGeneration, (school.id, 1)) is not None
    keys = leadership.unlock_for_member(session, head.member, head.credential)
    held = leadership.leadership_of(keys)
    assert held is not None
    assert held.generation == 1
    # Equal to the plain school bundle it carries.
    assert keys == keyring.unlock_for_member(session, head.member, head.credential)
    signed = accounts.start_session(session, head.member, head.credential)
    assert signed.login.leadership_generation == 1
    assert leadership.leadership_of(accounts.session_keys(signed.login, signed.vault_key)) == held


def test_a_change_that_rotates_is_refused_without_the_leadership_keys(session, school, head):
    keys = leadership.unlock_for_member(session, head.member, head.credential)
    invited = invitations.invite(
        session, head.member, Role.DSL, "dsl@oak.example.org", school=school, actor_keys=keys
    )
    dsl = join(session, invited.token, "Dee")
    plain = keyring.unlock_for_member(session, head.member, head.credential)
    wraps = session.scalar(select(func.count()).select_from(LeadershipWrap))
    with pytest.raises(KeysLocked):
        roles.change_role(session, head.member, dsl.member.id, "staff", plain)
    with pytest.raises(KeysLocked):
        roles.remove_member(session, head.member, dsl.member.id, plain)
    assert session.get(Member, dsl.member.id).role == Role.DSL
    assert session.get(Member, dsl.member.id).is_active
    assert session.scalar(select(func.count()).select_from(LeadershipWrap)) == wraps
    assert school.leadership_generation == 1
    # With them, it rotates, and the DSL holds no wrap of the new generation.
    changed = roles.change_role(session, head.member, dsl.member.id, "staff", keys)
    assert changed.rotated
    assert school.leadership_generation == 2
    assert leadership.unwrap_for_member(session, dsl.member, dsl.credential) is None
    assert session.scalars(
        select(LeadershipWrap.credential_id).where(LeadershipWrap.generation == 2)
    ).all() == [head.member.id]
