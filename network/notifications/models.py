"""Subscriptions, the notification outbox, watches and the chase of overdue
acknowledgements (the deadlines themselves: network/alerts/deadlines.py).

Everything here is metadata the hub may see (design.md, "What the hub may
see"): a notification names an alert's category, severity, platform, sender
school and time, never its content. Webhook secrets are stored sealed under a
key derived from the hub's SECRET_KEY (see webhooks.seal_secret).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, time
from typing import NotRequired, TypedDict

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schools.db import Base, UTCDateTime, new_id, utcnow
from schools.models import Member, School


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    IN_APP = "in_app"

    @property
    def label(self) -> str:
        return {"email": "Email", "webhook": "Webhook", "in_app": "In the hub"}[self.value]


class Timing(enum.StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class Status(enum.StrEnum):
    """Where a notification is in the outbox (docs/notifications.md, "Outbox states")."""

    PENDING = "pending"  # due at due_at
    SENDING = "sending"  # claimed by a worker until due_at (its lease)
    SENT = "sent"
    DEAD = "dead"  # gave up after the configured number of attempts
    HELD = "held"  # waits for its subscription's daily digest at due_at
    DIGESTED = "digested"  # went out inside the digest named by digest_id
    CANCELLED = "cancelled"  # its subscription was deleted before it went out


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Subscription(Base):
    """Which alerts reach which channel, and when.

    ``owner_id`` None: the school's own (heads manage it: shared addresses,
    webhooks). Otherwise one member's, managed by that member alone.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(_in("channel", Channel), name="channel"),
        CheckConstraint(_in("timing", Timing), name="timing"),
        CheckConstraint("channel <> 'in_app' OR owner_id IS NOT NULL", name="in_app_is_personal"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(16))
    # Email: the address (NULL on a member's own: their current address).
    # Webhook: the URL.
    target: Mapped[str | None] = mapped_column(String(500))
    # Empty lists mean "any".
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    sender_school_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_severity: Mapped[str] = mapped_column(String(16), default="info")
    timing: Mapped[str] = mapped_column(String(16), default=Timing.IMMEDIATE)
    digest_time: Mapped[time | None] = mapped_column(Time())
    # Webhooks: the current whsec_ secret and, during a rotation's overlap, the
    # previous one; both sealed (webhooks.seal_secret).
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    owner: Mapped[Member | None] = relationship(lazy="joined", foreign_keys=[owner_id])
    school: Mapped[School] = relationship(lazy="joined")

    @property
    def channel_enum(self) -> Channel:
        return Channel(self.channel)

    @property
    def is_personal(self) -> bool:
        return self.owner_id is not None

    @property
    def destination(self) -> str | None:
        """Where its notifications go: an in-hub one nowhere outside the hub; a
        member's own email subscription to the member's current address."""
        if self.channel == Channel.IN_APP:
            return None
        if self.channel == Channel.EMAIL and self.owner is not None:
            return self.owner.email
        return self.target


class SchoolRef(TypedDict):
    id: str
    name: str


class SubscriptionRef(TypedDict):
    id: str
    name: str


class AlertRef(TypedDict):
    """What a notification may say about an alert: never its content."""

    id: str
    category: str
    category_label: str
    severity: str
    severity_label: str
    platform: str
    platform_label: str
    sender_school: SchoolRef
    created_at: str
    path: str


class ItemRef(TypedDict):
    """A reply, action or attachment added to an alert's thread."""

    kind: str
    at: str
    action_type: NotRequired[str]
    action_label: NotRequired[str]


class Payload(TypedDict, total=False):
    """A notification's metadata (docs/notifications.md, "Payloads"), stored as
    JSON: ``type`` (its event) says which of the other keys it has."""

    type: str
    alert: AlertRef
    alerts: list[AlertRef]  # a digest's
    schools: int  # how many schools a forward went to
    school: SchoolRef | None  # the school it is for, or about
    by: SchoolRef | None  # the school that did what a watcher hears of
    subscription: SubscriptionRef | None
    item: ItemRef
    deadline: str
    acknowledged_at: str
    resolved_at: str
    requested_by: str
    path: str


class Notification(Base):
    """One delivery: a row of the transactional outbox.

    Written in the same transaction as the alert (or reply, reminder...) it
    announces, so it exists exactly when that commits. ``id`` is the
    Standard Webhooks ``webhook-id`` and the email's Message-ID: stable across
    retries, so a receiver can drop duplicates. ``due_at`` is when the row next
    needs a worker: the next attempt (pending), the end of a claim's lease
    (sending) or the digest time (held).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("channel", Channel), name="channel"),
        CheckConstraint(_in("status", Status), name="status"),
        # The workers' claim: due rows of one status, oldest first.
        Index("ix_notifications_due", "status", "due_at"),
        Index("ix_notifications_school_created", "school_id", "created_at"),
        Index("ix_notifications_member_created", "member_id", "created_at"),
        Index("ix_notifications_subscription_status", "subscription_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # What it is about: "alert.received", "alert.digest", "alert.replied", ...
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING)
    # Higher goes first: urgent alerts overtake a backlog.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    # The receiving school (the delivery log's scope) and, when personal, member.
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE")
    )
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id"))
    # Where it goes, as it was when written: an address or a URL (None in-app).
    target: Mapped[str | None] = mapped_column(String(500))
    # Metadata only (docs/notifications.md, "Payloads"); rendered at delivery.
    payload: Mapped[Payload] = mapped_column(JSON, default=dict)
    # SHA-256 of what makes it unique: the same notification cannot be written twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    digest_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A fresh random token per claim: only the claim's holder may settle it.
    claim: Mapped[str | None] = mapped_column(String(40))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def channel_enum(self) -> Channel:
        return Channel(self.channel)


class Watch(Base):
    """A member follows an alert: replies, actions, acknowledgements, resolution."""

    __tablename__ = "alert_watches"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    by_email: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AckChase(Base):
    """What has been done about one school's overdue acknowledgement."""

    __tablename__ = "ack_chases"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotificationDefaults(Base):
    """The member's default subscriptions were made (once, at first sign-in):
    deleting them later must not bring them back."""

    __tablename__ = "notification_defaults"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
