"""The in-hub feed: a member's notifications shown in the hub, the unread
count in the header, and what the page polls to update without reloading."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Uuid, bindparam, func, select, update
from sqlalchemy.orm import Session

from network.alerts.access import copy_visible_to, tiers_of
from network.alerts.inbox import unread_counted
from network.alerts.models import AlertRecipient
from network.notifications.models import Channel, Notification
from schools.db import utcnow
from schools.models import Member

IN_APP_PAGE = 50


def in_app_for(session: Session, actor: Member) -> tuple[list[Notification], set[uuid.UUID]]:
    """The member's newest in-hub notifications; showing them marks them read
    (the rows keep whether they were unread when shown)."""
    rows = list(
        session.scalars(
            select(Notification)
            .where(Notification.member_id == actor.id, Notification.channel == Channel.IN_APP)
            .order_by(Notification.created_at.desc())
            .limit(IN_APP_PAGE)
        )
    )
    unread = [r.id for r in rows if r.read_at is None]
    if unread:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(unread))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return rows, set(unread)


def header_counts(session: Session, member: Member, school_id: uuid.UUID) -> tuple[int, int]:
    """The two numbers in every page's header, in one query: the alerts
    unread by the member (network.alerts.inbox.unread_count) and their unread
    in-hub notifications (not yet read, in the hub's own channel)."""
    alerts, notifications = session.execute(
        _header_counts(tiers_of(member)), {"school_id": school_id, "reader_id": member.id}
    ).one()
    return int(alerts or 0), int(notifications or 0)


@functools.cache
def _header_counts(tiers: tuple[str, ...]) -> Select[Any]:
    """header_counts' statement, built once per process for each set of tiers."""
    in_app = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.member_id == bindparam("reader_id", type_=Uuid()),
            Notification.channel == Channel.IN_APP,
            Notification.read_at.is_(None),
        )
        .scalar_subquery()
    )
    return select(unread_counted(tiers), in_app)


def latest_in_inbox(
    session: Session, school_id: uuid.UUID, reader: Member | None = None
) -> datetime | None:
    """When the newest copy the reader would see listed arrived."""
    moment: datetime | None = session.scalar(
        select(func.max(AlertRecipient.created_at)).where(
            AlertRecipient.school_id == school_id,
            AlertRecipient.is_sender.is_(False),
            copy_visible_to(reader),
        )
    )
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
