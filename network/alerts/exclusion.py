"""Withdrawing a named member of a school from an alert's thread.

When an alert is about one of a school's own people, its head or a
safeguarding lead withdraws that person from the thread. From then on:

* the hub hides the alert, its thread and its notifications from them (the
  inbox, the unread count, the alert page, watchers' notifications:
  ``access.copy_visible_to`` and ``access.visible_to_member``);
* every item sealed afterwards reaches their school at its leadership tier
  only (``thread._thread_audience``), so no key they hold opens it.

Items sealed before stay sealed to whatever tier they were: if that was all
staff, the withdrawn member's own keys still open them, and only the hub's
hiding keeps them away. A member of the school's leadership cannot be
withdrawn: they hold the leadership keys themselves (change their role first,
which moves the leadership keys on without them).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.alerts.access import AlertView, content_for
from network.alerts.auditing import record_for_alert
from network.alerts.models import ThreadExclusion
from schools import policy
from schools.errors import Conflict, Forbidden, InvalidInput
from schools.leadership import in_leadership
from schools.models import Member, MemberStatus

FIELD = "member_id"


def may_withdraw(actor: Member, view: AlertView) -> bool:
    """Whether the alert page offers withdrawing someone: the member is in the
    leadership of a school holding the alert."""
    return view.may_read_content and in_leadership(actor)


def withdrawable_members(session: Session, actor: Member, view: AlertView) -> list[Member]:
    """Members of the actor's school who can be withdrawn from this thread."""
    if not may_withdraw(actor, view) or actor.school_id is None:
        return []
    already = set(
        session.scalars(
            select(ThreadExclusion.member_id).where(ThreadExclusion.alert_id == view.alert.id)
        )
    )
    return [
        m
        for m in session.scalars(
            select(Member)
            .where(Member.school_id == actor.school_id, Member.status == MemberStatus.ACTIVE)
            .order_by(Member.name)
        )
        if m.id not in already and not in_leadership(m)
    ]


def withdraw_member(session: Session, actor: Member, alert_id: uuid.UUID, chosen: str) -> Member:
    """Withdraw the member whose id is ``chosen`` from the alert's thread (audited)."""
    policy.check_school_may_act(actor, "withdraw members from threads")
    view = content_for(session, actor, alert_id)
    try:
        member_id = uuid.UUID(chosen)
    except ValueError:
        raise InvalidInput("Choose the member to withdraw.", field=FIELD) from None
    if not in_leadership(actor):
        raise Forbidden(
            "Only your head or a safeguarding lead can withdraw a member from a thread."
        )
    school = actor.school
    assert school is not None
    member = session.get(Member, member_id)
    if member is None or member.school_id != school.id or not member.is_active:
        raise InvalidInput("Choose a member of your own school.", field=FIELD)
    if member.id == actor.id:
        raise InvalidInput("You cannot withdraw yourself.", field=FIELD)
    if in_leadership(member):
        raise InvalidInput(
            f"{member.name} is in your school's leadership and holds its leadership keys, so "
            "the hub cannot seal past them. Change their role to staff first (this moves "
            "your leadership keys on without them), then withdraw them.",
            field=FIELD,
        )
    if not school.leadership_generation:
        raise InvalidInput(
            "Your school has no leadership keys yet, so later items could not be sealed "
            "past this member. A head makes them by signing in again; then try once more.",
            field=FIELD,
        )
    if session.get(ThreadExclusion, (view.alert.id, member.id)) is not None:
        raise Conflict(f"{member.name} was already withdrawn from this thread.", field=FIELD)
    session.add(
        ThreadExclusion(
            alert_id=view.alert.id,
            member_id=member.id,
            school_id=school.id,
            excluded_by_id=actor.id,
        )
    )
    record_for_alert(
        session,
        "alert.member_withdrawn",
        actor,
        view.alert,
        None,
        member=str(member.id),
    )
    session.flush()
    return member
