"""A school's subscriptions: which alerts reach which channel (email, webhook,
in the hub), and when (now, or in a daily digest).

Plain functions in the house style: they take the session and the acting
member, raise domain errors, flush and audit, and never commit. A member's
defaults are made once, at first sign-in or when an alert first reaches
their school.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypedDict

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, lazyload

from network.alerts import vocab
from network.notifications import mail, webhooks
from network.notifications.digests import DEFAULT_DIGEST_TIME
from network.notifications.models import (
    Channel,
    Notification,
    NotificationDefaults,
    Status,
    Subscription,
    Timing,
)
from network.notifications.outbox import PRIORITY, Outbox
from network.notifications.payloads import school_ref, subscription_ref
from network.settings import Settings
from schools import audit, policy
from schools.db import insert_new, table_of, utcnow
from schools.errors import InvalidInput, NotFound, Problems
from schools.models import Member, MemberStatus, Role, School, SchoolKind


@dataclass(frozen=True)
class SubscriptionDraft:
    channel: str
    name: str = ""
    target: str = ""
    categories: tuple[str, ...] = ()
    min_severity: str = "info"
    sender_school_ids: tuple[uuid.UUID, ...] = ()
    timing: str = Timing.IMMEDIATE
    digest_time: time | None = None


def ensure_defaults(
    session: Session, member: Member, *, signed_in: bool = True
) -> list[Subscription]:
    """In-app for everything; a head also email for high and urgent alerts.

    Made at a member's first sign-in, or earlier when an alert reaches their
    school first; made once, so a member who deletes them keeps that choice.
    """
    if member.school is None or not member.is_active:
        return []
    if session.scalar(_HAS_DEFAULTS, {"member_id": member.id}) is not None:
        return []
    return _make_defaults(session, [member], signed_in=signed_in)


# Asked at every sign-in: built once, with the member bound at each run (an
# indexed probe on the table's column: no row is loaded, no ORM work).
_APPLIED = table_of(NotificationDefaults).c
_HAS_DEFAULTS = select(_APPLIED.member_id).where(_APPLIED.member_id == bindparam("member_id"))


# Every member's: in the hub, everything; a head's also: by email, high and urgent.
_DEFAULTS = (
    ("Every alert, in the hub", Channel.IN_APP, "info", None),
    ("High and urgent alerts, by email", Channel.EMAIL, "high", Role.HEAD),
)


def _default_subscriptions(member: Member) -> list[Subscription]:
    assert member.school_id is not None
    return [
        Subscription(
            id=uuid.uuid4(),
            school_id=member.school_id,
            owner_id=member.id,
            name=name,
            channel=channel,
            # Set, not left to the column default: rows with the same columns
            # set are inserted by one statement.
            min_severity=min_severity,
            created_by_id=member.id,
        )
        for name, channel, min_severity, only_for in _DEFAULTS
        if only_for is None or member.role_enum is only_for
    ]


def _make_defaults(
    session: Session, members: Sequence[Member], *, signed_in: bool
) -> list[Subscription]:
    """The defaults of members who have none yet, written with one flush.

    Each member's ``notification_defaults`` row is claimed first with an insert
    that skips a row already there: two requests making one member's defaults
    at once (two alerts reaching a school together) make them once, and the
    second makes none instead of failing on the key."""
    claimed = _claim_defaults(session, [member.id for member in members])
    made: list[tuple[Member, Subscription]] = []
    for member in members:
        if member.id in claimed:
            made.extend((member, s) for s in _default_subscriptions(member))
    session.add_all([s for _, s in made])
    session.flush()
    for member, subscription in made:
        audit.record(
            session,
            "subscription.created",
            actor=member if signed_in else None,
            school_id=member.school_id,
            object_type="subscription",
            object_id=subscription.id,
            **_audit_detail(subscription),
            default=True,
            owner=str(member.id),
        )
    return [s for _, s in made]


def _claim_defaults(session: Session, member_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Insert the members' defaults rows, skipping those another transaction
    wrote; the ids of the rows this one inserted."""
    return insert_new(
        session,
        NotificationDefaults,
        [{"member_id": member_id, "applied_at": utcnow()} for member_id in member_ids],
        key=["member_id"],
        returning=NotificationDefaults.member_id,
    )


def defaults_for_schools(session: Session, school_ids: Sequence[uuid.UUID]) -> None:
    """Members who have not signed in yet still get the defaults' notifications."""
    waiting = session.scalars(
        select(Member)
        .outerjoin(NotificationDefaults, NotificationDefaults.member_id == Member.id)
        .where(
            Member.school_id.in_(list(school_ids)),
            Member.status == MemberStatus.ACTIVE,
            NotificationDefaults.member_id.is_(None),
        )
        .options(lazyload("*"))
    ).all()
    if waiting:
        _make_defaults(session, waiting, signed_in=False)


class _AuditDetail(TypedDict):
    channel: str
    personal: bool
    categories: list[str]
    min_severity: str
    senders: list[str]
    timing: str


def _audit_detail(subscription: Subscription) -> _AuditDetail:
    # Never the URL or address: a webhook URL may carry a token of its own.
    return {
        "channel": subscription.channel,
        "personal": subscription.is_personal,
        "categories": list(subscription.categories or []),
        "min_severity": subscription.min_severity,
        "senders": list(subscription.sender_school_ids or []),
        "timing": subscription.timing,
    }


def _clean(
    session: Session, actor: Member, draft: SubscriptionDraft, personal: bool, settings: Settings
) -> SubscriptionDraft:
    school = actor.school
    assert school is not None
    channels = (Channel.EMAIL, Channel.IN_APP) if personal else (Channel.EMAIL, Channel.WEBHOOK)
    # Every problem is reported together (each beside its field).
    problems = Problems()
    if draft.channel not in channels:
        problems.add(InvalidInput("Choose how to be told.", field="channel"))
    target = ""
    if draft.channel == Channel.EMAIL and not personal:
        target = problems.check("", lambda: mail.check_address(draft.target))
    elif draft.channel == Channel.WEBHOOK:
        target = problems.check(
            "", lambda: webhooks.check_url(draft.target, settings.webhook_allow_networks)
        )
    if set(draft.categories) - vocab.codes(vocab.CATEGORIES):
        problems.add(InvalidInput("Choose categories from the list.", field="categories"))
    if draft.min_severity not in vocab.codes(vocab.SEVERITIES):
        problems.add(InvalidInput("Choose a minimum severity.", field="min_severity"))
    if draft.sender_school_ids:
        known = set(
            session.scalars(
                select(School.id).where(
                    School.id.in_(list(draft.sender_school_ids)),
                    School.cluster_id == school.cluster_id,
                )
            )
        )
        if known != set(draft.sender_school_ids):
            problems.add(InvalidInput("Choose schools from your cluster.", field="senders"))
    if draft.timing not in (Timing.IMMEDIATE, Timing.DIGEST):
        problems.add(InvalidInput("Choose when to be told.", field="timing"))
    elif draft.timing == Timing.DIGEST and draft.channel == Channel.IN_APP:
        problems.add(
            InvalidInput(
                "In-hub notifications are immediate; choose email for a daily digest.",
                field="timing",
            )
        )
    problems.raise_any()
    digest_time = draft.digest_time or DEFAULT_DIGEST_TIME
    return SubscriptionDraft(
        channel=draft.channel,
        name=draft.name.strip()[:100],
        target=target,
        categories=tuple(sorted(set(draft.categories))),
        min_severity=draft.min_severity,
        sender_school_ids=tuple(sorted(set(draft.sender_school_ids), key=str)),
        timing=draft.timing,
        digest_time=digest_time.replace(second=0, microsecond=0, tzinfo=None),
    )


def check_subscription(
    session: Session, actor: Member, draft: SubscriptionDraft, personal: bool, settings: Settings
) -> SubscriptionDraft:
    """The checks of a subscription, alone (the form shows them beside its own)."""
    return _clean(session, actor, draft, personal, settings)


def _apply(subscription: Subscription, draft: SubscriptionDraft) -> None:
    subscription.name = draft.name
    subscription.channel = draft.channel
    subscription.target = draft.target or None
    subscription.categories = list(draft.categories)
    subscription.sender_school_ids = [str(s) for s in draft.sender_school_ids]
    subscription.min_severity = draft.min_severity
    subscription.timing = draft.timing
    subscription.digest_time = draft.digest_time
    subscription.updated_at = utcnow()


def create_subscription(
    session: Session,
    actor: Member,
    draft: SubscriptionDraft,
    *,
    personal: bool,
    settings: Settings,
) -> tuple[Subscription, str | None]:
    """A new subscription; for a webhook also its secret, shown to the head once."""
    policy.check_school_may_act(actor, "change its notifications")
    if actor.school is None:
        raise NotFound("No such subscription.")
    policy.check_manages_subscription(actor, actor.school.id, actor.id if personal else None)
    draft = _clean(session, actor, draft, personal, settings)
    subscription = Subscription(
        id=uuid.uuid4(),
        school_id=actor.school.id,
        owner_id=actor.id if personal else None,
        created_by_id=actor.id,
    )
    _apply(subscription, draft)
    secret = None
    if draft.channel == Channel.WEBHOOK:
        secret = webhooks.new_secret()
        subscription.secret = webhooks.seal_secret(
            settings.secret_key, secret, str(subscription.id)
        )
    session.add(subscription)
    session.flush()
    audit.record(
        session,
        "subscription.created",
        actor=actor,
        object_type="subscription",
        object_id=subscription.id,
        **_audit_detail(subscription),
    )
    return subscription, secret


def subscription_for(session: Session, actor: Member, subscription_id: uuid.UUID) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound("No such subscription.")
    policy.check_manages_subscription(actor, subscription.school_id, subscription.owner_id)
    return subscription


def update_subscription(
    session: Session,
    actor: Member,
    subscription_id: uuid.UUID,
    draft: SubscriptionDraft,
    settings: Settings,
) -> tuple[Subscription, str | None]:
    policy.check_school_may_act(actor, "change its notifications")
    subscription = subscription_for(session, actor, subscription_id)
    draft = _clean(session, actor, draft, subscription.is_personal, settings)
    before = _audit_detail(subscription)
    was_webhook = subscription.channel == Channel.WEBHOOK
    _apply(subscription, draft)
    secret = None
    if subscription.channel == Channel.WEBHOOK and not was_webhook:
        secret = webhooks.new_secret()
        subscription.secret = webhooks.seal_secret(
            settings.secret_key, secret, str(subscription.id)
        )
    elif subscription.channel != Channel.WEBHOOK:
        subscription.secret = subscription.previous_secret = None
        subscription.previous_secret_until = None
    session.flush()
    audit.record(
        session,
        "subscription.changed",
        actor=actor,
        object_type="subscription",
        object_id=subscription.id,
        before=before,
        **_audit_detail(subscription),
    )
    return subscription, secret


def delete_subscription(session: Session, actor: Member, subscription_id: uuid.UUID) -> None:
    """Deliveries not yet made for it are cancelled; the delivery log keeps the rest."""
    policy.check_school_may_act(actor, "change its notifications")
    subscription = subscription_for(session, actor, subscription_id)
    session.execute(
        update(Notification)
        .where(
            Notification.subscription_id == subscription.id,
            Notification.status.in_([Status.PENDING, Status.HELD]),
        )
        .values(status=Status.CANCELLED, due_at=None)
    )
    audit.record(
        session,
        "subscription.deleted",
        actor=actor,
        object_type="subscription",
        object_id=subscription.id,
        **_audit_detail(subscription),
    )
    session.delete(subscription)
    session.flush()


def rotate_secret(
    session: Session,
    actor: Member,
    subscription_id: uuid.UUID,
    settings: Settings,
    now: datetime | None = None,
) -> tuple[Subscription, str]:
    """A new secret; the old one keeps signing beside it for the overlap, so the
    receiver can switch without missing a delivery. The subscription, and the
    new secret to show the head once."""
    policy.check_school_may_act(actor, "change its notifications")
    subscription = subscription_for(session, actor, subscription_id)
    if subscription.channel != Channel.WEBHOOK or subscription.secret is None:
        raise InvalidInput("Only webhooks have a secret.")
    now = now or utcnow()
    new = webhooks.new_secret()
    old = webhooks.open_secret_or_none(settings.secret_key, subscription.secret, subscription.id)
    subscription.previous_secret = (
        webhooks.seal_secret(settings.secret_key, old, str(subscription.id)) if old else None
    )
    subscription.previous_secret_until = (
        now + timedelta(hours=settings.webhook_secret_overlap_hours) if old else None
    )
    subscription.secret = webhooks.seal_secret(settings.secret_key, new, str(subscription.id))
    subscription.updated_at = now
    session.flush()
    audit.record(
        session,
        "subscription.secret_rotated",
        actor=actor,
        object_type="subscription",
        object_id=subscription.id,
        overlap_hours=settings.webhook_secret_overlap_hours,
    )
    return subscription, new


def send_test(session: Session, actor: Member, subscription_id: uuid.UUID) -> Notification:
    policy.check_school_may_act(actor, "send test notifications")
    subscription = subscription_for(session, actor, subscription_id)
    outbox = Outbox(utcnow())
    outbox.add_for_subscription(
        subscription,
        event="test",
        payload={
            "type": "test",
            "school": school_ref(subscription.school),
            "subscription": subscription_ref(subscription),
            "requested_by": actor.name,
            "path": "/notifications/subscriptions",
        },
        key=None,
        priority=PRIORITY["urgent"],
    )
    [row] = outbox.write_objects(session)
    audit.record(
        session,
        "notification.test_sent",
        actor=actor,
        object_type="subscription",
        object_id=subscription.id,
        notification=str(row.id),
        channel=subscription.channel,
    )
    return row


@dataclass
class Subscriptions:
    mine: list[Subscription]
    school: list[Subscription]
    manages_school: bool


def subscriptions_of(session: Session, actor: Member) -> Subscriptions:
    if actor.school is None:
        return Subscriptions([], [], False)
    rows = list(
        session.scalars(
            select(Subscription)
            .where(
                Subscription.school_id == actor.school.id,
                or_(Subscription.owner_id == actor.id, Subscription.owner_id.is_(None)),
            )
            .order_by(Subscription.created_at)
        )
    )
    manages = policy.may(actor, policy.Permission.MANAGE_SCHOOL_NOTIFICATIONS)
    return Subscriptions(
        [s for s in rows if s.owner_id == actor.id],
        [s for s in rows if s.owner_id is None] if manages else [],
        manages,
    )


def sender_choices(session: Session, actor: Member) -> list[School]:
    """The cluster's schools an alert can come from."""
    if actor.school is None:
        return []
    return list(
        session.scalars(
            select(School)
            .where(
                School.cluster_id == actor.school.cluster_id,
                School.kind == SchoolKind.SCHOOL,
                School.id != actor.school.id,
            )
            .order_by(School.name)
        )
    )


def subscriptions_of_notifications(
    session: Session, rows: Sequence[Notification]
) -> dict[uuid.UUID, Subscription]:
    """The subscriptions these notifications were made for, by id, in one query."""
    ids = {r.subscription_id for r in rows if r.subscription_id}
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Subscription).where(Subscription.id.in_(ids)))}
