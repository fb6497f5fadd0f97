"""Daily digests: notifications held for an email subscription's digest time
go out together, one message per subscription per day. The worker runs
collect_digests (network/worker.py); urgent alerts never wait for a digest
(routing.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from network.notifications.models import Notification, Status, Subscription
from network.notifications.outbox import Outbox, OutboxRow, write_rows

DEFAULT_DIGEST_TIME = time(7, 30)


def next_digest_at(now: datetime, at: time | None, tz: ZoneInfo) -> datetime:
    """The next moment (after now) the local clock reads ``at``, as UTC."""
    at = at or DEFAULT_DIGEST_TIME
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def digest_for(
    subscription: Subscription, held: Sequence[Notification], due_at: datetime, now: datetime
) -> OutboxRow:
    """The digest row for what was held for one subscription until ``due_at``
    (at least one notification); write it with write_rows."""
    first = held[0]
    outbox = Outbox(now)
    outbox.add_for_subscription(
        subscription,
        event="alert.digest",
        target=first.target,
        payload={
            "type": "alert.digest",
            "school": first.payload.get("school"),
            "subscription": first.payload.get("subscription"),
            "alerts": [item.payload["alert"] for item in held],
            "path": "/alerts",
        },
        key=f"alert.digest:{subscription.id}:{due_at.isoformat()}",
    )
    [row] = outbox.rows
    return row


def collect_digests(session: Session, now: datetime) -> int:
    """One message per subscription per day, grouping what was held for it."""
    due = session.execute(
        select(Notification.subscription_id, Notification.due_at)
        .where(Notification.status == Status.HELD, Notification.due_at <= now)
        .distinct()
        .limit(500)
    ).all()
    if not due:
        return 0
    ids = {subscription_id for subscription_id, _ in due if subscription_id}
    subscriptions = {
        s.id: s
        for s in session.scalars(
            select(Subscription)
            .where(Subscription.id.in_(ids))
            .options(lazyload(Subscription.school))
        )
    }
    digests: list[OutboxRow] = []
    digested: list[tuple[list[Notification], uuid.UUID]] = []
    for subscription_id, due_at in due:
        items = list(
            session.scalars(
                select(Notification)
                .where(
                    Notification.subscription_id == subscription_id,
                    Notification.status == Status.HELD,
                    Notification.due_at == due_at,
                )
                .order_by(Notification.created_at)
                .with_for_update(skip_locked=True)
            )
        )
        if not items:
            continue
        subscription = subscriptions.get(subscription_id) if subscription_id else None
        if subscription is None:
            for item in items:
                item.status, item.due_at = Status.CANCELLED, None
            continue
        assert due_at is not None  # the query asked for due_at <= now
        digest = digest_for(subscription, items, due_at, now)
        digests.append(digest)
        digested.append((items, digest["id"]))
    # The digests first: the items point at them.
    write_rows(session, digests, now)
    for items, digest_id in digested:
        for item in items:
            item.status, item.digest_id, item.due_at, item.sent_at = (
                Status.DIGESTED,
                digest_id,
                None,
                now,
            )
    session.flush()
    return len(digests)
