"""The transactional outbox: notification rows written inside the transaction
of what they announce (the alert's, the reply's, the chase's...), so a
notification exists exactly when that commits. The worker delivers them after
the commit (network/notifications/delivery.py).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from network.alerts import vocab
from network.alerts.models import Alert
from network.notifications.models import Channel, Notification, Payload, Status, Subscription
from schools.db import table_of
from schools.models import Member

#: PostgreSQL NOTIFY channel: idle workers wake when a transaction with new
#: deliveries commits (NOTIFY is transactional: a rollback sends nothing).
WAKE_CHANNEL = "alertnet_outbox"
# Higher goes first in the outbox: the severity's rank.
PRIORITY = vocab.SEVERITY_RANK


class OutboxRow(TypedDict):
    """The columns of one notification, as one INSERT writes many."""

    id: uuid.UUID
    event: str
    channel: str
    status: str
    priority: int
    school_id: uuid.UUID
    member_id: uuid.UUID | None
    subscription_id: uuid.UUID | None
    alert_id: uuid.UUID | None
    target: str | None
    payload: Payload
    dedupe_key: str | None
    created_at: datetime
    due_at: datetime | None
    sent_at: datetime | None
    attempts: int


def priority_of(alert: Alert) -> int:
    return PRIORITY.get(alert.severity, 0)


def wake_workers(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {WAKE_CHANNEL}"))


def _key(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class Outbox:
    """Rows for one event, deduplicated: one email per address, one in-hub
    notice per member, one call per webhook subscription."""

    now: datetime
    rows: list[OutboxRow] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def add(
        self,
        *,
        event: str,
        channel: str,
        school_id: uuid.UUID,
        payload: Payload,
        key: str | None,
        member_id: uuid.UUID | None = None,
        subscription_id: uuid.UUID | None = None,
        alert_id: uuid.UUID | None = None,
        target: str | None = None,
        priority: int = 0,
        held_until: datetime | None = None,
    ) -> bool:
        """``key`` None: no dedupe key (a test may be sent again and again)."""
        ident = (
            str(member_id)
            if channel == Channel.IN_APP
            else (target or "").lower()
            if channel == Channel.EMAIL
            else str(subscription_id)
        )
        if (channel, ident) in self.seen:
            return False
        self.seen.add((channel, ident))
        in_app = channel == Channel.IN_APP
        self.rows.append(
            {
                "id": uuid.uuid4(),
                "event": event,
                "channel": channel,
                "status": Status.SENT if in_app else Status.HELD if held_until else Status.PENDING,
                "priority": priority,
                "school_id": school_id,
                "member_id": member_id,
                "subscription_id": subscription_id,
                "alert_id": alert_id,
                "target": target,
                "payload": payload,
                "dedupe_key": None if key is None else _key(key, channel, ident),
                "created_at": self.now,
                "due_at": None if in_app else held_until or self.now,
                "sent_at": self.now if in_app else None,
                "attempts": 0,
            }
        )
        return True

    def add_for_subscription(
        self,
        subscription: Subscription,
        *,
        event: str,
        payload: Payload,
        key: str | None,
        alert_id: uuid.UUID | None = None,
        target: str | None = None,
        priority: int = 0,
        held_until: datetime | None = None,
    ) -> bool:
        """By the subscription's channel to its destination (``target`` when it
        has none of its own any more)."""
        return self.add(
            event=event,
            channel=subscription.channel,
            school_id=subscription.school_id,
            member_id=subscription.owner_id,
            subscription_id=subscription.id,
            alert_id=alert_id,
            target=subscription.destination or target,
            payload=payload,
            key=key,
            priority=priority,
            held_until=held_until,
        )

    def add_for_member(
        self,
        member: Member,
        *,
        event: str,
        alert: Alert,
        payload: Payload,
        key: str,
        by_email: bool,
    ) -> None:
        """One person about an alert: in the hub and, when asked, by email."""
        assert member.school_id is not None
        channels = (Channel.IN_APP, Channel.EMAIL) if by_email else (Channel.IN_APP,)
        for channel in channels:
            self.add(
                event=event,
                channel=channel,
                school_id=member.school_id,
                member_id=member.id,
                alert_id=alert.id,
                target=member.email if channel == Channel.EMAIL else None,
                payload=payload,
                key=key,
                priority=priority_of(alert),
            )

    def _wake(self, session: Session) -> None:
        if any(r["status"] == Status.PENDING for r in self.rows):
            wake_workers(session)

    def write(self, session: Session) -> int:
        """One INSERT statement for all the rows (every row names every
        column: OutboxRow), into the table itself: the ORM's bulk INSERT
        re-examined each row's values in Python, a few milliseconds for the
        sixty rows of a post to 30 schools."""
        if self.rows:
            session.execute(insert(table_of(Notification)), list(self.rows))
            self._wake(session)
        return len(self.rows)

    def write_objects(self, session: Session) -> list[Notification]:
        """The rows as objects in the session, for a caller that needs them."""
        made = [Notification(**row) for row in self.rows]
        session.add_all(made)
        session.flush()
        self._wake(session)
        return made


def write_rows(session: Session, rows: list[OutboxRow], now: datetime) -> int:
    """Outbox rows made apart (a run's digests, the chase's notices), in one
    INSERT; wakes the workers once."""
    return Outbox(now, rows).write(session)
