"""Membership of a school: what a head allows each member (posting alerts),
their role (``change_role``) and their removal (``remove_member``).

Heads always post; safeguarding leads (DSL, deputy DSL) post from the day they
join; other staff once a head allows it. A head grants and withdraws it per
member, on the members page, through the API or at the command line
(``alertnet member set --may-post/--no-may-post EMAIL``), all through
``set_may_post``. schools/policy.py reads the flag (PER_MEMBER).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from schools import audit, directory, invitations, keyring, leadership, personal, policy
from schools.db import utcnow
from schools.directory import members_of, normalise_email
from schools.errors import Conflict, InvalidInput, KeysLocked, NotFound
from schools.models import (
    CredentialKind,
    Invitation,
    LoginSession,
    Member,
    MemberStatus,
    Role,
    School,
)


def members_for(session: Session, actor: Member) -> list[Member]:
    """The active members of the actor's own school."""
    school = actor.school
    if school is None or school.is_office:
        raise NotFound("Only members of a school have a list of members.")
    policy.check_school_member(actor, school)
    return members_of(session, school)


def posts_alerts(member: Member) -> bool:
    """Whether the member may post now (their role, and what their head allowed)."""
    return policy.may(member, policy.Permission.POST_ALERTS)


def member_by_email(session: Session, email: str) -> Member:
    """An active member of a school, by email (the command line names them so)."""
    member = session.scalar(select(Member).where(Member.email == normalise_email(email)))
    if member is None or member.school is None or not member.is_active:
        raise NotFound(f"No member of a school has the email address {email}.")
    return member


def set_may_post(
    session: Session, actor: Member | None, member_id: uuid.UUID, allowed: bool
) -> Member:
    """Grant or withdraw posting for one member (the operator at the CLI: None).
    Audited only when it changes."""
    member = session.get(Member, member_id)
    if member is None or member.school is None or not member.is_active:
        raise NotFound("No such member.")
    policy.check_manages_members(actor, member.school)
    if allowed:  # withdrawing only takes access away, so a suspended school may
        policy.check_school_may_act(actor, "let members post", school=member.school)
    if member.role_enum is Role.HEAD:
        raise Conflict("Heads always post alerts; there is nothing to allow or withdraw.")
    if member.may_post == allowed:
        return member
    member.may_post = allowed
    audit.record(
        session,
        "member.may_post_granted" if allowed else "member.may_post_withdrawn",
        actor=actor,
        school_id=member.school_id,
        object_type="member",
        object_id=member.id,
        role=member.role,
    )
    session.flush()
    return member


@dataclass(frozen=True)
class RoleChanged:
    member: Member
    # What the acting head holds now (the new leadership bundle after a rotation).
    keys: SchoolKeys | None
    rotated: bool


def change_role(
    session: Session,
    actor: Member | None,
    member_id: uuid.UUID,
    role: str,
    actor_keys: SchoolKeys | None,
) -> RoleChanged:
    """A head moves a member of their school to another role. Leaving the
    leadership rotates its bundle; joining it gets a wrap from the head."""
    member = session.get(Member, member_id)
    if member is None or member.school is None or not member.is_active:
        raise NotFound("No such member.")
    school: School = member.school
    policy.check_manages_members(actor, school)
    policy.check_school_may_act(actor, "change members' roles", school=school)
    try:
        new_role = Role(role)
    except ValueError:
        new_role = None
    if new_role is None or not new_role.is_school_role:
        raise InvalidInput("Choose head, safeguarding lead, deputy or staff.", field="role")
    if actor is not None and actor.id == member.id:
        raise Conflict("You cannot change your own role; ask another head.")
    if member.role_enum is new_role:
        return RoleChanged(member, actor_keys, rotated=False)
    if member.role_enum is Role.HEAD and not leadership.another_head(session, school, member):
        raise Conflict("A school needs at least one head; make someone else head first.")
    was = leadership.in_leadership(member)
    if was and new_role not in leadership.LEADERSHIP_ROLES:
        leadership.check_may_rotate(school, actor_keys)  # before anything is written
    before = member.role
    member.role = new_role.value
    audit.record(
        session,
        "member.role_changed",
        actor=actor,
        school_id=school.id,
        object_type="member",
        object_id=member.id,
        role_before=before,
        role_after=new_role.value,
    )
    keys, rotated = actor_keys, False
    if was and not leadership.in_leadership(member):
        new = leadership.member_leaves(session, member, actor, actor_keys)
        if new is not None and actor_keys is not None:
            keys, rotated = leadership.holding(actor_keys, new), True
        session.execute(delete(LoginSession).where(LoginSession.member_id == member.id))
    elif not was and leadership.in_leadership(member):
        current = leadership.leadership_of(actor_keys)
        if current is not None:
            leadership.confirm_missing(session, school, current, actor)
    session.flush()
    return RoleChanged(member, keys, rotated)


@dataclass(frozen=True)
class Removed:
    """What removing a member changed that the remover must see."""

    # The school's new key generation; None when the school had no keys yet.
    keys: SchoolKeys | None
    # The unused recovery code was made by the removed member (who may have kept
    # it): it was withdrawn, and a head should make a new one.
    recovery_code_withdrawn: bool = False


def remove_member(
    session: Session, actor: Member | None, member_id: uuid.UUID, actor_keys: SchoolKeys | None
) -> Removed:
    """Remove a member: their wraps, sessions and open invitations go, and the
    school moves to a new key generation so nothing they kept opens new alerts.
    A recovery code they made (and so may have kept) is withdrawn."""
    member = session.get(Member, member_id)
    if member is None or member.school is None or not member.is_active:
        raise NotFound("No such member.")
    school: School = member.school
    policy.check_manages_members(actor, school)
    if actor is not None and actor.id == member.id:
        raise Conflict("You cannot remove yourself; ask another head.")
    if member.role_enum is Role.HEAD and not leadership.another_head(session, school, member):
        raise Conflict("A school needs at least one head; invite another head first.")
    if school.key_generation and actor_keys is None:
        raise KeysLocked("Removing a member changes the school's keys; sign in again to do it.")
    if member.role_enum in leadership.LEADERSHIP_ROLES:
        leadership.check_may_rotate(school, actor_keys)  # before anything is written
    member.status = MemberStatus.REMOVED
    keyring.delete_wraps_of(session, CredentialKind.MEMBER, member.id)
    session.execute(delete(LoginSession).where(LoginSession.member_id == member.id))
    audit.record(
        session,
        "member.removed",
        actor=actor,
        school_id=school.id,
        object_type="member",
        object_id=member.id,
    )
    # The links they made are credentials they may have kept: withdraw them
    # before rotating, so the new generation is not wrapped to them.
    for invitation in session.scalars(
        select(Invitation).where(
            Invitation.invited_by_id == member.id, Invitation.is_open(utcnow())
        )
    ).all():
        invitations.withdraw(session, actor, invitation, reason="inviter removed")
    # Likewise the recovery code they made: spent before rotating.
    withdrawn = directory.spend_recovery_codes(session, school, made_by=member.id) > 0
    if withdrawn:
        audit.record(
            session,
            "school.recovery_code_withdrawn",
            actor=actor,
            school_id=school.id,
            object_type="member",
            object_id=member.id,
            reason="maker removed",
        )
    new_keys = None
    held = leadership.leadership_of(actor_keys)
    if member.role_enum in leadership.LEADERSHIP_ROLES:
        # They held the leadership bundle too: it moves on without them.
        held = leadership.member_leaves(session, member, actor, actor_keys) or held
    if actor_keys is not None and school.key_generation:
        new_keys = keyring.rotate(session, school, actor_keys, actor, reason="member removed")
        new_keys = leadership.holding(new_keys, held)
        if (mine := personal.personal_of(actor_keys)) is not None:
            new_keys = personal.carrying(new_keys, *mine)
    session.flush()
    return Removed(keys=new_keys, recovery_code_withdrawn=withdrawn)
