"""The delivery log: what was sent where, and what failed (a head sees the
whole school's, a member their own). Settled notifications are kept for
DELIVERY_LOG_DAYS; the worker prunes older ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from network.notifications.models import Channel, Notification, Status, Subscription
from network.notifications.subscriptions import subscriptions_of_notifications
from schools import policy
from schools.errors import InvalidInput, NotFound
from schools.models import Member

# The worker deletes settled notifications (the delivery log) after this long.
DELIVERY_LOG_DAYS = 90
DELIVERY_PAGE = 50


@dataclass
class DeliveryLog:
    rows: list[Notification]
    whole_school: bool
    subscriptions: dict[uuid.UUID, Subscription]


def delivery_log(
    session: Session, actor: Member, channel: str = "", limit: int = DELIVERY_PAGE
) -> DeliveryLog:
    """What was sent where: the whole school's for a head, one's own otherwise."""
    if actor.school is None:
        raise NotFound("You have no delivery log.")
    whole = policy.sees_school_deliveries(actor)
    query = select(Notification).where(
        Notification.school_id == actor.school.id,
        Notification.channel != Channel.IN_APP,
        Notification.status != Status.DIGESTED,
    )
    if not whole:
        query = query.where(Notification.member_id == actor.id)
    if channel:
        if channel not in (Channel.EMAIL, Channel.WEBHOOK):
            raise InvalidInput("Unknown channel.", field="channel")
        query = query.where(Notification.channel == channel)
    rows = list(session.scalars(query.order_by(Notification.created_at.desc()).limit(limit)))
    return DeliveryLog(rows, whole, subscriptions_of_notifications(session, rows))


def prune(session: Session, now: datetime) -> int:
    """The delivery log and in-hub notices are kept for DELIVERY_LOG_DAYS."""
    cutoff = now - timedelta(days=DELIVERY_LOG_DAYS)
    result = session.execute(
        delete(Notification).where(
            Notification.created_at < cutoff,
            Notification.status.in_([Status.SENT, Status.DEAD, Status.CANCELLED, Status.DIGESTED]),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
