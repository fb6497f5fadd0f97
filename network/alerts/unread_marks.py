"""Mark as unread, per member: an alert a member marks unread shows as unread
to them (in the inbox, its count and their home page) until they open it
again. Colleagues and the sender's receipts see no change: the school's copy
keeps who first read it, and when."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from network.alerts.access import content_for
from network.alerts.auditing import record_for_alert
from network.alerts.home_models import UnreadMark
from network.alerts.models import AlertRecipient
from schools.db import insert_new, utcnow
from schools.models import Member


def mark_unread(
    session: Session, actor: Member, alert_id: uuid.UUID, now: datetime | None = None
) -> None:
    """Only an alert the member's school holds a copy of (others: 404). Marking
    one already marked changes nothing."""
    view = content_for(session, actor, alert_id)
    inserted = insert_new(
        session,
        UnreadMark,
        [{"member_id": actor.id, "alert_id": view.alert.id, "marked_at": now or utcnow()}],
        key=["member_id", "alert_id"],
        returning=UnreadMark.alert_id,
    )
    if inserted:
        record_for_alert(session, "alert.marked_unread", actor, view.alert, None)
    session.flush()


def clear(session: Session, actor: Member, alert_id: uuid.UUID) -> None:
    """The member opened the alert: it is read for them again."""
    session.execute(
        delete(UnreadMark)
        .where(UnreadMark.member_id == actor.id, UnreadMark.alert_id == alert_id)
        .execution_options(synchronize_session=False)
    )


def marked_among(
    session: Session, member: Member, alert_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these alerts the member marked unread (one query)."""
    if not alert_ids:
        return set()
    return set(
        session.scalars(
            select(UnreadMark.alert_id).where(
                UnreadMark.member_id == member.id, UnreadMark.alert_id.in_(list(alert_ids))
            )
        )
    )


def marked(session: Session, member: Member, limit: int) -> list[uuid.UUID]:
    """The alerts the member marked unread, latest marked first."""
    return list(
        session.scalars(
            select(UnreadMark.alert_id)
            .where(UnreadMark.member_id == member.id)
            .order_by(UnreadMark.marked_at.desc())
            .limit(limit)
        )
    )


def marked_but_read(session: Session, member: Member) -> int:
    """Marked unread by the member on copies their school has read: added to
    the school's unread count for them (an unopened copy is counted already)."""
    if member.school_id is None:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(UnreadMark)
            .join(
                AlertRecipient,
                (AlertRecipient.alert_id == UnreadMark.alert_id)
                & (AlertRecipient.school_id == member.school_id),
            )
            .where(
                UnreadMark.member_id == member.id,
                AlertRecipient.is_sender.is_(False),
                AlertRecipient.first_read_at.is_not(None),
            )
        )
        or 0
    )
