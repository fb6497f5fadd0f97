"""What a head allows each member of their school: posting alerts.

Heads always post; safeguarding leads (DSL, deputy DSL) post from the day they
join; other staff once a head allows it. A head grants and withdraws it per
member, on the members page, through the API or at the command line
(``alertnet member set --may-post/--no-may-post EMAIL``), all through
``set_may_post``. schools/policy.py reads the flag (PER_MEMBER).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from schools import audit, policy
from schools.directory import members_of, normalise_email
from schools.errors import Conflict, NotFound
from schools.models import Member, Role


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
