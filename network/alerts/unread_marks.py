"""Unread, per member: an alert is unread for a member until they open it (or
acknowledge it), and again while they have it marked unread. The inbox's
"Unread" filter, its count in the navigation, the home page and the API all
mean this. Colleagues and the sender's receipts see no change: the school's
copy keeps who at the school first read it, and when."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from network.alerts.access import content_for
from network.alerts.auditing import record_for_alert
from network.alerts.home_models import MemberRead, UnreadMark
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


def record_read(
    session: Session, actor: Member, alert_id: uuid.UUID, now: datetime | None = None
) -> None:
    """The member has read the alert (acknowledging it counts): a mark of
    theirs still keeps it unread for them."""
    insert_new(
        session,
        MemberRead,
        [{"member_id": actor.id, "alert_id": alert_id, "read_at": now or utcnow()}],
        key=["member_id", "alert_id"],
        returning=MemberRead.alert_id,
    )


def opened(
    session: Session, actor: Member, alert_id: uuid.UUID, now: datetime | None = None
) -> None:
    """The member opened the alert: it is read for them, and a mark of theirs is cleared."""
    record_read(session, actor, alert_id, now)
    session.execute(
        delete(UnreadMark)
        .where(UnreadMark.member_id == actor.id, UnreadMark.alert_id == alert_id)
        .execution_options(synchronize_session=False)
    )


def unread_for(
    member: Member | ColumnElement[uuid.UUID],
    alert_id: ColumnElement[uuid.UUID] | InstrumentedAttribute[uuid.UUID],
) -> ColumnElement[bool]:
    """The condition "unread for this member" on a query's alert id column:
    not opened by them, or marked unread by them. The member may be a bound
    parameter of their id (the inbox's statement is built once for every reader)."""
    member_id = member.id if isinstance(member, Member) else member
    read = exists().where(MemberRead.member_id == member_id, MemberRead.alert_id == alert_id)
    mark = exists().where(UnreadMark.member_id == member_id, UnreadMark.alert_id == alert_id)
    return ~read | mark


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
