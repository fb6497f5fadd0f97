"""Telling an author what a reviewer decided about their alert held for
four-eyes review (network/alerts/review.py): in the hub and by email, with
the decision and a link, never the reviewer's note or the alert's content."""

from __future__ import annotations

from sqlalchemy.orm import Session

from network.notifications.models import Channel, Payload
from network.notifications.outbox import Outbox
from schools.db import utcnow
from schools.models import Member


def tell_author(session: Session, author: Member, event: str, path: str, key: str) -> int:
    if author.school_id is None:
        return 0
    now = utcnow()
    outbox = Outbox(now)
    payload: Payload = {"type": event, "at": now.isoformat(), "path": path}
    for channel in (Channel.IN_APP, Channel.EMAIL):
        outbox.add(
            event=event,
            channel=channel,
            school_id=author.school_id,
            member_id=author.id,
            target=author.email if channel == Channel.EMAIL else None,
            payload=payload,
            key=key,
        )
    return outbox.write(session)
