"""Which subscriptions an alert reaches, and the outbox rows written for them:
now, or held for the subscription's daily digest (urgent alerts never wait).
Used by the fan-out (a new alert) and the chase (a deadline's reminder).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, contains_eager, lazyload

from network.alerts import vocab
from network.alerts.models import Alert
from network.notifications.digests import next_digest_at
from network.notifications.models import AlertRef, Channel, Payload, Subscription, Timing
from network.notifications.outbox import Outbox, priority_of
from network.notifications.payloads import school_ref, subscription_ref
from schools.models import Member, MemberStatus, School

URGENT = "urgent"


def live_subscriptions(session: Session, school_ids: Sequence[uuid.UUID]) -> list[Subscription]:
    """Subscriptions of these schools whose owner (if any) is still an active member there."""
    if not school_ids:
        return []
    # The owner comes from the join that checks it; the school is not needed
    # (callers have it): no eager joins beyond that.
    rows = session.scalars(
        select(Subscription)
        .outerjoin(Member, Member.id == Subscription.owner_id)
        .options(
            contains_eager(Subscription.owner).options(lazyload("*")),
            lazyload(Subscription.school),
        )
        .where(
            Subscription.school_id.in_(list(school_ids)),
            or_(
                Subscription.owner_id.is_(None),
                and_(
                    Member.status == MemberStatus.ACTIVE,
                    Member.school_id == Subscription.school_id,
                ),
            ),
        )
        .order_by(Subscription.created_at)
    )
    return list(rows)


def matches(subscription: Subscription, alert: Alert) -> bool:
    if subscription.categories and alert.category not in subscription.categories:
        return False
    if vocab.SEVERITY_RANK.get(alert.severity, 0) < vocab.SEVERITY_RANK.get(
        subscription.min_severity, 0
    ):
        return False
    return not (
        subscription.sender_school_ids
        and str(alert.sender_school_id) not in subscription.sender_school_ids
    )


def add_for_subscriptions(
    outbox: Outbox,
    subscriptions: Iterable[Subscription],
    *,
    event: str,
    alert: Alert,
    ref: AlertRef,
    schools: Mapping[uuid.UUID, School],
    key: str,
    honour_digest: bool,
    tz: ZoneInfo,
    extra: Payload | None = None,
) -> None:
    """Tell each subscription of ``event`` about the alert (``ref``: its
    alert_ref), naming the subscription's school (from ``schools``) and what
    ``extra`` adds. Immediate deliveries first, so an address that also has a
    digest subscription is not told twice."""
    urgent = alert.severity == URGENT
    ordered = sorted(subscriptions, key=lambda s: s.timing == Timing.DIGEST)
    for subscription in ordered:
        held = (
            honour_digest
            and not urgent
            and subscription.timing == Timing.DIGEST
            and subscription.channel != Channel.IN_APP
        )
        payload: Payload = {
            "type": event,
            "alert": ref,
            "school": school_ref(schools[subscription.school_id]),
            "subscription": subscription_ref(subscription),
            **(extra or {}),
            "path": ref["path"],
        }
        outbox.add_for_subscription(
            subscription,
            event=event,
            alert_id=alert.id,
            payload=payload,
            key=f"{key}:{subscription.id}" if held else key,
            priority=priority_of(alert),
            held_until=next_digest_at(outbox.now, subscription.digest_time, tz) if held else None,
        )
