"""Four-eyes review (issue 16). When a school turns it on (its head, on the
school's page), alerts from its staff wait, sealed to the school alone, until
a head or DSL of the school approves them; only then are they sealed to their
audience and sent. A reviewer may instead send one back asking for changes,
or reject it with a reason (both sealed to the school). Nobody reviews their
own alert. Every step is audited and the author is told."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import held as held_alerts
from network.alerts import signals
from network.alerts.compose import compose
from network.alerts.content import MAX_NOTE, clean_text
from network.alerts.held_models import HeldAlert, HeldState
from network.alerts.models import Alert
from network.alerts.posting import post_alert
from schools import audit, policy
from schools.db import utcnow
from schools.errors import Conflict, Forbidden, NotFound
from schools.models import Member, School
from schools.policy import Permission

OWN_ALERT = (
    "You wrote this alert, so you cannot review it: another head or safeguarding lead "
    "of your school must."
)


def set_review(session: Session, actor: Member, school: School, on: bool) -> None:
    """The head turns four-eyes review on or off for their school (audited)."""
    policy.check_manages_members(actor, school)
    policy.check_school_may_act(actor, "change how it reviews alerts", school=school)
    if school.reviews_staff_alerts == on:
        return
    school.reviews_staff_alerts = on
    audit.record(
        session,
        "school.review_turned_on" if on else "school.review_turned_off",
        actor=actor,
        object_type="school",
        object_id=school.id,
    )
    session.flush()


def check_reviewer(actor: Member, doing: str) -> None:
    policy.check_school_may_act(actor, doing)
    policy.require(actor, Permission.REVIEW_ALERTS)


def queue_of(session: Session, actor: Member) -> list[HeldAlert]:
    """The school's alerts waiting for review, oldest first."""
    policy.require(actor, Permission.REVIEW_ALERTS)
    return list(
        session.scalars(
            select(HeldAlert)
            .where(
                HeldAlert.school_id == actor.school_id,
                HeldAlert.state == HeldState.IN_REVIEW,
            )
            .order_by(HeldAlert.updated_at)
        )
    )


def _waiting(session: Session, actor: Member, held_id: uuid.UUID) -> HeldAlert:
    held = session.get(HeldAlert, held_id)
    if held is None or held.school_id != actor.school_id:
        raise NotFound("No such alert waiting for review.")
    if held.state_enum is not HeldState.IN_REVIEW:
        raise Conflict("This alert is no longer waiting for review: someone decided already.")
    if held.author_id == actor.id:
        raise Forbidden(OWN_ALERT)
    return held


def _tell_author(session: Session, held: HeldAlert, event: str, path: str, now: datetime) -> None:
    """Through the notifications (in the hub and by email): metadata and a
    link only, never the note."""
    signals.review_decided.send(
        None,
        session=session,
        author=held.author,
        event=event,
        path=path,
        key=f"{event}:{held.id}:{now.isoformat()}",
    )


def _record(session: Session, action: str, actor: Member, held: HeldAlert, **detail: Any) -> None:
    audit.record(
        session,
        action,
        actor=actor,
        object_type="held_alert",
        object_id=held.id,
        author=str(held.author_id),
        **detail,
    )


def approve(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    held_id: uuid.UUID,
    today: date,
    now: datetime | None = None,
) -> Alert:
    """Seal the alert to its audience and send it, as its author's; the held
    copy is shredded."""
    check_reviewer(actor, "approve alerts")
    held = _waiting(session, actor, held_id)
    now = now or utcnow()
    opened = held_alerts.open_held(session, actor, keys, held.id)
    evidence = held_alerts.evidence_of(session, keys, held)
    draft = compose(session, opened.fields, evidence, today, sender=held.author)
    alert = post_alert(session, held.author, keys, draft, now=now, approved_by=actor).alert
    _record(session, "alert.review_approved", actor, held, alert=str(alert.id))
    _tell_author(session, held, "review.approved", f"/alerts/{alert.id}", now)
    held_alerts.forget(session, held)
    return alert


def _send_back(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    held_id: uuid.UUID,
    text: str | None,
    state: HeldState,
    now: datetime | None,
) -> HeldAlert:
    doing = "ask for changes" if state is HeldState.CHANGES_REQUESTED else "reject alerts"
    check_reviewer(actor, doing)
    asking = state is HeldState.CHANGES_REQUESTED
    label = "changes you ask for" if asking else "reason"
    written = clean_text(text, "text", label, MAX_NOTE, required=True)
    held = _waiting(session, actor, held_id)
    now = now or utcnow()
    held_alerts.seal_note(session, actor, keys, held, written, now)
    held.state = state
    held.reviewed_by_id = actor.id
    held.reviewed_at = now
    held.updated_at = now
    session.flush()
    action = (
        "alert.review_changes_requested"
        if state is HeldState.CHANGES_REQUESTED
        else "alert.review_rejected"
    )
    _record(session, action, actor, held)
    event = "review.changes_requested" if asking else "review.rejected"
    _tell_author(session, held, event, f"/alerts/drafts/{held.id}", now)
    return held


def request_changes(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    held_id: uuid.UUID,
    note: str | None,
    now: datetime | None = None,
) -> HeldAlert:
    """Back to the author with a note (sealed to the school), to change and resubmit."""
    return _send_back(session, actor, keys, held_id, note, HeldState.CHANGES_REQUESTED, now)


def reject(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    held_id: uuid.UUID,
    reason: str | None,
    now: datetime | None = None,
) -> HeldAlert:
    """Refused with a reason (sealed to the school); nothing is sent."""
    return _send_back(session, actor, keys, held_id, reason, HeldState.REJECTED, now)
