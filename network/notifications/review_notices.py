"""Four-eyes review (network/alerts/review.py) in the notifications: the
school's reviewers are told when an alert enters its review queue, and the
author what a reviewer decided. In the hub and by email, with a link, never
the alert's content or the reviewer's note (both stay sealed to the school)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.alerts.held_models import HeldAlert
from network.notifications.models import Channel, Payload
from network.notifications.outbox import Outbox
from schools import policy
from schools.db import utcnow
from schools.models import Member, MemberStatus
from schools.policy import Permission

REVIEW_REQUESTED = "review.requested"


def _tell(outbox: Outbox, school_id: uuid.UUID, member: Member, payload: Payload, key: str) -> None:
    for channel in (Channel.IN_APP, Channel.EMAIL):
        outbox.add(
            event=payload["type"],
            channel=channel,
            school_id=school_id,
            member_id=member.id,
            target=member.email if channel == Channel.EMAIL else None,
            payload=payload,
            key=key,
        )


def tell_author(session: Session, author: Member, event: str, path: str, key: str) -> int:
    if author.school_id is None:
        return 0
    now = utcnow()
    outbox = Outbox(now)
    _tell(
        outbox, author.school_id, author, {"type": event, "at": now.isoformat(), "path": path}, key
    )
    return outbox.write(session)


def reviewers_of(session: Session, held: HeldAlert) -> list[Member]:
    """Who may decide on it: the active heads and safeguarding leads of the
    author's school (schools/policy.py, REVIEW_ALERTS), the author left out."""
    members = session.scalars(
        select(Member)
        .where(
            Member.school_id == held.school_id,
            Member.status == MemberStatus.ACTIVE,
            Member.id != held.author_id,
        )
        .order_by(Member.email)
    )
    return [m for m in members if policy.may(m, Permission.REVIEW_ALERTS)]


def tell_reviewers(session: Session, held: HeldAlert, key: str) -> int:
    """An alert waits for review: each reviewer hears of it, with a link to it."""
    now = utcnow()
    outbox = Outbox(now)
    payload: Payload = {
        "type": REVIEW_REQUESTED,
        "at": now.isoformat(),
        "path": f"/alerts/reviews/{held.id}",
    }
    for reviewer in reviewers_of(session, held):
        _tell(outbox, held.school_id, reviewer, payload, key)
    return outbox.write(session)
