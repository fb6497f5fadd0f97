"""Emails to a member about their own account (a lock, a sign-in from a new
browser): outbox rows written in the transaction of what they announce, and
delivered by the worker like every other notification."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from network.notifications.models import Channel, Payload
from network.notifications.outbox import Outbox
from schools.models import Member


def _send(session: Session, member: Member, payload: Payload, key: str, now: datetime) -> bool:
    # The outbox is per key holder; a hub administrator has none, and no mail.
    if member.school_id is None:
        return False
    outbox = Outbox(now)
    outbox.add(
        event=payload["type"],
        channel=Channel.EMAIL,
        school_id=member.school_id,
        member_id=member.id,
        target=member.email,
        payload=payload,
        key=key,
    )
    return outbox.write(session) == 1


def account_locked(session: Session, member: Member, now: datetime) -> bool:
    assert member.locked_until is not None
    until = member.locked_until.isoformat()
    payload: Payload = {"type": "account.locked", "until": until, "path": "/sign-in"}
    return _send(session, member, payload, f"account.locked:{member.id}:{until}", now)


def new_browser(session: Session, member: Member, user_agent: str, now: datetime) -> bool:
    payload: Payload = {
        "type": "account.new_browser",
        "at": now.isoformat(),
        "browser": user_agent[:200],
        "path": "/account",
    }
    return _send(
        session, member, payload, f"account.new_browser:{member.id}:{now.isoformat()}", now
    )
