"""Subscriptions, watches, deadlines and the writing of outbox rows.

Plain functions in the house style: they take the session and the acting
member, raise domain errors, flush and audit, and never commit. Outbox rows are
written inside the caller's transaction (the alert's, the reply's...), so a
notification exists exactly when what it announces does; the worker
(network/notifications/worker.py) sends them after the commit.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    TextClause,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, contains_eager, lazyload

from network.alerts import vocab
from network.alerts.access import alert_for
from network.alerts.models import Alert, AlertRecipient, Platform, ThreadItem, not_senders_copy
from network.notifications import mail, webhooks
from network.notifications.models import (
    AckDeadline,
    Channel,
    Notification,
    NotificationDefaults,
    Status,
    Subscription,
    Timing,
    Watch,
)
from network.settings import Settings
from schools import audit, policy
from schools.db import utcnow
from schools.errors import InvalidInput, NotFound
from schools.models import Member, MemberStatus, Role, School, SchoolKind, SchoolStatus

URGENT = "urgent"
DEFAULT_DIGEST_TIME = time(7, 30)
# Without a coordinator's choice: urgent within 2 hours, high within one school day.
DEFAULT_DEADLINES: dict[str, tuple[int, str]] = {"urgent": (2, "hours"), "high": (1, "school_days")}
DEADLINE_UNITS = ("hours", "school_days")
# Overdue acknowledgements are chased (and shown) for copies this recent only.
CHASE_WINDOW = timedelta(days=14)
# The worker deletes settled notifications (the delivery log) after this long.
DELIVERY_LOG_DAYS = 90
_MICROSECOND = timedelta(microseconds=1)
# Higher goes first in the outbox: the severity's rank.
PRIORITY = vocab.SEVERITY_RANK
DELIVERY_PAGE = 50


def zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _key(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


#: PostgreSQL NOTIFY channel: idle workers wake when a transaction with new
#: deliveries commits (NOTIFY is transactional: a rollback sends nothing).
WAKE_CHANNEL = "alertnet_outbox"


def wake_workers(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {WAKE_CHANNEL}"))


# --- subscriptions --------------------------------------------------------------------


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
    if session.get(NotificationDefaults, member.id) is not None:
        return []
    return _make_defaults(session, [member], signed_in=signed_in)


def _default_subscriptions(member: Member) -> list[Subscription]:
    assert member.school_id is not None
    made = [
        Subscription(
            id=uuid.uuid4(),
            school_id=member.school_id,
            owner_id=member.id,
            name="Every alert, in the hub",
            channel=Channel.IN_APP,
            # Set, not left to the column default: rows with the same columns
            # set are inserted by one statement.
            min_severity="info",
            created_by_id=member.id,
        )
    ]
    if member.role_enum is Role.HEAD:
        made.append(
            Subscription(
                id=uuid.uuid4(),
                school_id=member.school_id,
                owner_id=member.id,
                name="High and urgent alerts, by email",
                channel=Channel.EMAIL,
                min_severity="high",
                created_by_id=member.id,
            )
        )
    return made


def _make_defaults(
    session: Session, members: Sequence[Member], *, signed_in: bool
) -> list[Subscription]:
    """The defaults of members who have none yet, written with one flush."""
    made: list[tuple[Member, Subscription]] = []
    for member in members:
        session.add(NotificationDefaults(member_id=member.id))
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


def _defaults_for_schools(session: Session, school_ids: Sequence[uuid.UUID]) -> None:
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


def _audit_detail(subscription: Subscription) -> dict[str, Any]:
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
    if draft.channel not in channels:
        raise InvalidInput("Choose how to be told.", field="channel")
    target = ""
    if draft.channel == Channel.EMAIL and not personal:
        target = mail.check_address(draft.target)
    elif draft.channel == Channel.WEBHOOK:
        target = webhooks.check_url(draft.target, settings.webhook_allow_networks)
    if set(draft.categories) - vocab.codes(vocab.CATEGORIES):
        raise InvalidInput("Choose categories from the list.", field="categories")
    if draft.min_severity not in vocab.codes(vocab.SEVERITIES):
        raise InvalidInput("Choose a minimum severity.", field="min_severity")
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
            raise InvalidInput("Choose schools from your cluster.", field="senders")
    if draft.timing not in (Timing.IMMEDIATE, Timing.DIGEST):
        raise InvalidInput("Choose when to be told.", field="timing")
    if draft.timing == Timing.DIGEST and draft.channel == Channel.IN_APP:
        raise InvalidInput(
            "In-hub notifications are immediate; choose email for a daily digest.", field="timing"
        )
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
    outbox = _Outbox(utcnow())
    outbox.add(
        event="test",
        channel=subscription.channel,
        school_id=subscription.school_id,
        member_id=subscription.owner_id,
        subscription_id=subscription.id,
        target=_target_of(subscription),
        payload={
            "type": "test",
            "school": _school_ref(subscription.school),
            "subscription": _subscription_ref(subscription),
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


# --- what a notification says -----------------------------------------------------------


def _school_ref(school: School) -> dict[str, str]:
    return {"id": str(school.id), "name": school.name}


def _subscription_ref(subscription: Subscription) -> dict[str, str]:
    return {"id": str(subscription.id), "name": subscription.name}


def platform_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Platform names by code, in one query for any number of alerts."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.execute(select(Platform.code, Platform.name).where(Platform.code.in_(wanted)))
    return {str(code): str(name) for code, name in rows.all()}


def alert_ref(
    session: Session, alert: Alert, platforms: dict[str, str] | None = None
) -> dict[str, Any]:
    """The metadata a notification may carry about an alert: never content.
    ``platforms`` (platform_names) spares the query for the platform's name."""
    if platforms is None:
        platforms = platform_names(session, [alert.platform])
    return {
        "id": str(alert.id),
        "category": alert.category,
        "category_label": vocab.label(vocab.CATEGORIES, alert.category),
        "severity": alert.severity,
        "severity_label": vocab.label(vocab.SEVERITIES, alert.severity),
        "platform": alert.platform,
        "platform_label": platforms.get(alert.platform, alert.platform),
        "sender_school": _school_ref(alert.sender_school),
        "created_at": alert.created_at.isoformat(),
        "path": f"/alerts/{alert.id}",
    }


def _target_of(subscription: Subscription) -> str | None:
    if subscription.channel == Channel.IN_APP:
        return None
    if subscription.channel == Channel.EMAIL and subscription.owner is not None:
        return subscription.owner.email
    return subscription.target


def _matches(subscription: Subscription, alert: Alert) -> bool:
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


def _live_subscriptions(session: Session, school_ids: Sequence[uuid.UUID]) -> list[Subscription]:
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


def next_digest_at(now: datetime, at: time | None, tz: ZoneInfo) -> datetime:
    """The next moment (after now) the local clock reads ``at``, as UTC."""
    at = at or DEFAULT_DIGEST_TIME
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


@dataclass
class _Outbox:
    """Rows for one event, deduplicated: one email per address, one in-hub
    notice per member, one call per webhook subscription."""

    now: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def add(
        self,
        *,
        event: str,
        channel: str,
        school_id: uuid.UUID,
        payload: dict[str, Any],
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

    def _wake(self, session: Session) -> None:
        if any(r["status"] == Status.PENDING for r in self.rows):
            wake_workers(session)

    def write(self, session: Session) -> int:
        """One INSERT for all the rows. render_nulls: the ORM's bulk INSERT
        leaves out None values, so in-hub and email rows (different keys set)
        would otherwise be batched apart, one statement per run of rows."""
        if self.rows:
            session.execute(insert(Notification).execution_options(render_nulls=True), self.rows)
            self._wake(session)
        return len(self.rows)

    def write_objects(self, session: Session) -> list[Notification]:
        """The rows as objects in the session, for a caller that needs them."""
        made = [Notification(**row) for row in self.rows]
        session.add_all(made)
        session.flush()
        self._wake(session)
        return made


def digest_for(
    subscription: Subscription, held: Sequence[Notification], due_at: datetime, now: datetime
) -> dict[str, Any]:
    """The digest row for what was held for one subscription until ``due_at``
    (at least one notification); write it with write_rows."""
    first = held[0]
    outbox = _Outbox(now)
    outbox.add(
        event="alert.digest",
        channel=subscription.channel,
        school_id=subscription.school_id,
        member_id=subscription.owner_id,
        subscription_id=subscription.id,
        target=_target_of(subscription) or first.target,
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


def write_rows(session: Session, rows: list[dict[str, Any]], now: datetime) -> int:
    """Outbox rows made apart (digest_for), in one INSERT; wakes the workers once."""
    return _Outbox(now, rows).write(session)


def _by_subscription(
    outbox: _Outbox,
    subscriptions: Iterable[Subscription],
    *,
    event: str,
    alert: Alert,
    payload_for: Any,
    key: str,
    honour_digest: bool,
    tz: ZoneInfo,
) -> None:
    """Immediate deliveries first, so an address that also has a digest
    subscription is not told twice."""
    urgent = alert.severity == URGENT
    ordered = sorted(subscriptions, key=lambda s: s.timing == Timing.DIGEST)
    for subscription in ordered:
        held = (
            honour_digest
            and not urgent
            and subscription.timing == Timing.DIGEST
            and subscription.channel != Channel.IN_APP
        )
        outbox.add(
            event=event,
            channel=subscription.channel,
            school_id=subscription.school_id,
            member_id=subscription.owner_id,
            subscription_id=subscription.id,
            alert_id=alert.id,
            target=_target_of(subscription),
            payload=payload_for(subscription),
            key=f"{key}:{subscription.id}" if held else key,
            priority=PRIORITY.get(alert.severity, 0),
            held_until=next_digest_at(outbox.now, subscription.digest_time, tz) if held else None,
        )


# --- fan-out: what happened to an alert ---------------------------------------------------


def alert_posted(session: Session, alert: Alert, actor: Member, settings: Settings) -> int:
    """Every matching subscription of every recipient school; the poster watches it."""
    now = utcnow()
    ref = alert_ref(session, alert)
    schools = {
        s.id: s
        for s in session.scalars(
            select(School)
            .join(AlertRecipient, AlertRecipient.school_id == School.id)
            .where(AlertRecipient.alert_id == alert.id, AlertRecipient.is_sender.is_(False))
            .options(lazyload("*"))
        )
    }
    outbox = _Outbox(now)
    _defaults_for_schools(session, list(schools))
    matching = [s for s in _live_subscriptions(session, list(schools)) if _matches(s, alert)]
    _by_subscription(
        outbox,
        matching,
        event="alert.received",
        alert=alert,
        payload_for=lambda s: {
            "type": "alert.received",
            "alert": ref,
            "school": _school_ref(schools[s.school_id]),
            "subscription": _subscription_ref(s),
            "path": ref["path"],
        },
        key=f"alert.received:{alert.id}",
        honour_digest=True,
        tz=zone(settings),
    )
    if session.get(Watch, (actor.id, alert.id)) is None:
        session.add(Watch(member_id=actor.id, alert_id=alert.id, by_email=False))
    written = outbox.write(session)
    session.flush()
    return written


THREAD_EVENTS = {
    "reply": "alert.replied",
    "action": "alert.action_recorded",
    "attachment": "alert.attachment_added",
}


def alert_followed_up(
    session: Session,
    alert: Alert,
    actor: Member,
    event: str,
    detail: dict[str, Any],
    key: str,
) -> int:
    """Tell the alert's watchers (not the one who did it) who still see it.

    Who sees it is network.alerts.access.alert_for's rule, asked of all the
    watchers in the one query: an active member whose school holds a copy (the
    sender's included), or an active coordinator of the alert's cluster."""
    now = utcnow()
    holds_copy = exists().where(
        AlertRecipient.alert_id == alert.id, AlertRecipient.school_id == Member.school_id
    )
    platform = select(Platform.name).where(Platform.code == alert.platform).scalar_subquery()
    watchers = session.execute(
        select(Watch.by_email, Member, platform)
        .join(Member, Member.id == Watch.member_id)
        .where(
            Watch.alert_id == alert.id,
            Watch.member_id != actor.id,
            Member.status == MemberStatus.ACTIVE,
            Member.school_id.is_not(None),
            or_(
                holds_copy,
                and_(Member.role == Role.COORDINATOR, Member.cluster_id == alert.cluster_id),
            ),
        )
        .options(lazyload("*"))
    ).all()
    if not watchers:
        return 0
    platform_name = watchers[0][2]
    ref = alert_ref(
        session, alert, {alert.platform: platform_name} if platform_name is not None else {}
    )
    outbox = _Outbox(now)
    by = _school_ref(actor.school) if actor.school is not None else None
    payload = {"type": event, "alert": ref, "by": by, **detail, "path": ref["path"]}
    for by_email, member, _ in watchers:
        assert member.school_id is not None
        common: dict[str, Any] = {
            "event": event,
            "school_id": member.school_id,
            "member_id": member.id,
            "alert_id": alert.id,
            "payload": payload,
            "key": key,
            "priority": PRIORITY.get(alert.severity, 0),
        }
        outbox.add(channel=Channel.IN_APP, **common)
        if by_email:
            outbox.add(channel=Channel.EMAIL, target=member.email, **common)
    written = outbox.write(session)
    session.flush()
    return written


def thread_item_added(session: Session, alert: Alert, actor: Member, item: ThreadItem) -> int:
    event = THREAD_EVENTS.get(item.kind)
    if event is None:
        return 0  # an acknowledgement's comment: alert_acknowledged tells of it
    detail: dict[str, Any] = {"item": {"kind": item.kind, "at": item.created_at.isoformat()}}
    if item.action_type:
        detail["item"]["action_type"] = item.action_type
        detail["item"]["action_label"] = vocab.label(vocab.ACTIONS, item.action_type)
    return alert_followed_up(session, alert, actor, event, detail, f"{event}:{item.id}")


def alert_acknowledged(session: Session, alert: Alert, actor: Member, copy: AlertRecipient) -> int:
    return alert_followed_up(
        session,
        alert,
        actor,
        "alert.acknowledged",
        {"acknowledged_at": (copy.acknowledged_at or utcnow()).isoformat()},
        f"alert.acknowledged:{alert.id}:{copy.school_id}",
    )


def alert_resolved(session: Session, alert: Alert, actor: Member) -> int:
    return alert_followed_up(
        session,
        alert,
        actor,
        "alert.resolved",
        {"resolved_at": (alert.resolved_at or utcnow()).isoformat()},
        f"alert.resolved:{alert.id}",
    )


# --- watching -------------------------------------------------------------------------------


def watch(session: Session, actor: Member, alert_id: uuid.UUID, by_email: bool) -> Watch:
    policy.check_school_may_act(actor, "change its notifications")
    view = alert_for(session, actor, alert_id)
    existing = session.get(Watch, (actor.id, view.alert.id))
    if existing is None:
        existing = Watch(member_id=actor.id, alert_id=view.alert.id, by_email=by_email)
        session.add(existing)
    existing.by_email = by_email
    session.flush()
    audit.record(
        session,
        "alert.watched",
        actor=actor,
        object_type="alert",
        object_id=view.alert.id,
        by_email=by_email,
    )
    return existing


def unwatch(session: Session, actor: Member, alert_id: uuid.UUID) -> None:
    policy.check_school_may_act(actor, "change its notifications")
    existing = session.get(Watch, (actor.id, alert_id))
    if existing is None:
        raise NotFound("You are not watching that alert.")
    session.delete(existing)
    session.flush()
    audit.record(session, "alert.unwatched", actor=actor, object_type="alert", object_id=alert_id)


def watching(session: Session, actor: Member) -> list[tuple[Watch, Alert]]:
    return [
        (w, a)
        for w, a in session.execute(
            select(Watch, Alert)
            .join(Alert, Alert.id == Watch.alert_id)
            .where(Watch.member_id == actor.id)
            .order_by(Alert.created_at.desc())
        ).all()
    ]


def watch_of(session: Session, actor: Member, alert_id: uuid.UUID) -> Watch | None:
    return session.get(Watch, (actor.id, alert_id))


# --- in the hub -----------------------------------------------------------------------------


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


def unread_in_app(session: Session, member_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.member_id == member_id,
                Notification.channel == Channel.IN_APP,
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


def latest_in_inbox(session: Session, school_id: uuid.UUID) -> datetime | None:
    moment: datetime | None = session.scalar(
        select(func.max(AlertRecipient.created_at)).where(
            AlertRecipient.school_id == school_id, AlertRecipient.is_sender.is_(False)
        )
    )
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


# --- the delivery log ---------------------------------------------------------------------


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
    ids = {r.subscription_id for r in rows if r.subscription_id}
    subscriptions = (
        {s.id: s for s in session.scalars(select(Subscription).where(Subscription.id.in_(ids)))}
        if ids
        else {}
    )
    return DeliveryLog(rows, whole, subscriptions)


# --- acknowledgement deadlines ------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    amount: int
    unit: str

    @property
    def is_set(self) -> bool:
        return self.amount > 0

    def due(self, start: datetime, tz: ZoneInfo) -> datetime:
        if self.unit == "hours":
            return start + timedelta(hours=self.amount)
        # School days: the same time of day, that many weekdays later.
        local = start.astimezone(tz)
        days = self.amount
        while days > 0:
            local += timedelta(days=1)
            if local.weekday() < 5:
                days -= 1
        return local.astimezone(UTC)

    def latest_start(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The latest creation time whose deadline is at or before ``now``: a
        copy created at or before it is overdue at ``now``. Exact for hours; for
        school days a binary search to the microsecond, which relies on ``due``
        never decreasing as its start increases."""
        if not self.is_set:
            raise ValueError("no deadline, so nothing is ever overdue")
        if self.unit == "hours":
            return now - timedelta(hours=self.amount)
        # n school days never take longer than n weekdays plus every weekend in
        # between (two days per five) plus a daylight-saving hour: 3n + 4 days is ample.
        low = now - timedelta(days=3 * self.amount + 4)
        high = now  # due(now) > now, since the deadline is set
        # Invariant: due(low) <= now < due(high).
        while high - low > _MICROSECOND:
            middle = low + (high - low) // 2
            if self.due(middle, tz) <= now:
                low = middle
            else:
                high = middle
        return low

    def describe(self) -> str:
        if not self.is_set:
            return "No deadline"
        unit = {"hours": "hour", "school_days": "school day"}[self.unit]
        return f"Within {self.amount} {unit}{'s' if self.amount != 1 else ''}"


#: Each cluster's chosen rules: cluster id -> severity -> Deadline (operations.rules).
Rules = dict[uuid.UUID, dict[str, Deadline]]


def rules(session: Session, cluster_id: uuid.UUID | None = None) -> Rules:
    """The rules coordinators chose (every cluster's, or one's), in one query.
    A severity without a row follows DEFAULT_DEADLINES: see rule_for."""
    query = select(AckDeadline)
    if cluster_id is not None:
        query = query.where(AckDeadline.cluster_id == cluster_id)
    chosen: Rules = {}
    for row in session.scalars(query):
        chosen.setdefault(row.cluster_id, {})[row.severity] = Deadline(row.amount, row.unit)
    return chosen


def rule_for(chosen: Rules, cluster_id: uuid.UUID, severity: str) -> Deadline:
    """The one rule: the cluster's choice for the severity, else the default."""
    rule = chosen.get(cluster_id, {}).get(severity)
    if rule is not None:
        return rule
    return Deadline(*DEFAULT_DEADLINES.get(severity, (0, "hours")))


def deadlines_for(session: Session, cluster_id: uuid.UUID) -> dict[str, Deadline]:
    chosen = rules(session, cluster_id)
    return {term.code: rule_for(chosen, cluster_id, term.code) for term in vocab.SEVERITIES}


def past_deadline(chosen: Rules, now: datetime, tz: ZoneInfo) -> ColumnElement[bool] | None:
    """A condition on alert_recipients: the copy's acknowledgement deadline
    (rule_for: its cluster's rule for its severity, or the default) has passed
    at ``now``. Each rule becomes a creation-time cutoff, so the database
    compares ``created_at`` with a constant. None when no rule applies at all.
    With the rules of one cluster only, the caller limits the copies to it
    (waiting_copies does)."""
    terms: list[ColumnElement[bool]] = []
    chosen_for: dict[str, list[uuid.UUID]] = {}
    for cluster_id, by_severity in chosen.items():
        for severity, rule in by_severity.items():
            chosen_for.setdefault(severity, []).append(cluster_id)
            if rule.is_set:
                terms.append(
                    and_(
                        AlertRecipient.cluster_id == cluster_id,
                        AlertRecipient.severity == severity,
                        AlertRecipient.created_at <= rule.latest_start(now, tz),
                    )
                )
    for severity, (amount, unit) in DEFAULT_DEADLINES.items():
        rule = Deadline(amount, unit)
        if rule.is_set:
            term = and_(
                AlertRecipient.severity == severity,
                AlertRecipient.created_at <= rule.latest_start(now, tz),
            )
            if severity in chosen_for:
                term = and_(term, AlertRecipient.cluster_id.not_in(chosen_for[severity]))
            terms.append(term)
    return or_(*terms) if terms else None


def waiting_copies(
    now: datetime, tz: ZoneInfo, chosen: Rules, cluster_id: uuid.UUID | None = None
) -> list[ColumnElement[bool] | TextClause] | None:
    """The overdue rule, for the worker's chase (every cluster) and the
    dashboard (one): copies created within CHASE_WINDOW, not acknowledged, not
    the sender's, past their deadline (past_deadline, with ``chosen`` from
    rules()), of an open alert, to a school that is receiving (not suspended).
    The query joins Alert and School. None when no rule applies: nothing is
    overdue. The first conditions are ix_alert_recipients_waiting's, its
    predicate written as the index has it."""
    passed = past_deadline(chosen, now, tz)
    if passed is None:
        return None
    conditions: list[ColumnElement[bool] | TextClause] = []
    if cluster_id is not None:
        conditions.append(AlertRecipient.cluster_id == cluster_id)
    conditions += [
        AlertRecipient.created_at >= now - CHASE_WINDOW,
        AlertRecipient.acknowledged_at.is_(None),
        not_senders_copy(),
        passed,
        Alert.status == "open",
        School.status == SchoolStatus.ACTIVE,  # receiving()
    ]
    return conditions


def set_deadlines(
    session: Session, actor: Member, cluster_id: uuid.UUID, rules: dict[str, Deadline]
) -> dict[str, Deadline]:
    policy.check_sets_deadlines(actor, cluster_id)
    for severity, rule in rules.items():
        if severity not in vocab.codes(vocab.SEVERITIES):
            raise InvalidInput("Unknown severity.")
        if rule.unit not in DEADLINE_UNITS:
            raise InvalidInput("Choose hours or school days.", field=f"unit_{severity}")
        limit = 24 * 14 if rule.unit == "hours" else 10
        if not 0 <= rule.amount <= limit:
            raise InvalidInput(
                f"Enter a number from 0 (no deadline) to {limit}.", field=f"amount_{severity}"
            )
    before = {k: v.describe() for k, v in deadlines_for(session, cluster_id).items()}
    for severity, rule in rules.items():
        row = session.get(AckDeadline, (cluster_id, severity))
        if row is None:
            row = AckDeadline(cluster_id=cluster_id, severity=severity)
            session.add(row)
        row.amount, row.unit = rule.amount, rule.unit
    session.flush()
    after = deadlines_for(session, cluster_id)
    audit.record(
        session,
        "ack_deadlines.changed",
        actor=actor,
        cluster_id=cluster_id,
        object_type="cluster",
        object_id=cluster_id,
        before=before,
        after={k: v.describe() for k, v in after.items()},
    )
    return after


def coordinators_of(session: Session, cluster_id: uuid.UUID) -> list[Member]:
    return list(
        session.scalars(
            select(Member)
            .join(School, School.id == Member.school_id)
            .where(
                School.cluster_id == cluster_id,
                School.kind == SchoolKind.OFFICE,
                Member.role == Role.COORDINATOR,
                Member.status == MemberStatus.ACTIVE,
            )
            .options(lazyload("*"))
        )
    )


@dataclass
class Chase:
    """Who the deadline notices of one run of the worker's chase reach, each
    loaded once for all the schools due: their live subscriptions, their heads
    (who lead the key holder: heads of a school, coordinators of an office) and,
    per cluster when first needed, the coordinators."""

    session: Session
    settings: Settings
    subscriptions: dict[uuid.UUID, list[Subscription]]
    heads: dict[uuid.UUID, list[Member]]
    coordinators: dict[uuid.UUID, list[Member]] = field(default_factory=dict)
    # Every notice of the run, written together by write().
    rows: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, session: Session, settings: Settings, school_ids: Iterable[uuid.UUID]) -> Chase:
        ids = list(set(school_ids))
        subscriptions: dict[uuid.UUID, list[Subscription]] = {}
        for subscription in _live_subscriptions(session, ids):
            subscriptions.setdefault(subscription.school_id, []).append(subscription)
        heads: dict[uuid.UUID, list[Member]] = {}
        if ids:
            for member in session.scalars(
                select(Member)
                .where(
                    Member.school_id.in_(ids),
                    Member.role.in_([Role.HEAD, Role.COORDINATOR]),
                    Member.status == MemberStatus.ACTIVE,
                )
                .options(lazyload("*"))
            ):
                assert member.school_id is not None
                heads.setdefault(member.school_id, []).append(member)
        return cls(session, settings, subscriptions, heads)

    def coordinators_of(self, cluster_id: uuid.UUID) -> list[Member]:
        if cluster_id not in self.coordinators:
            self.coordinators[cluster_id] = coordinators_of(self.session, cluster_id)
        return self.coordinators[cluster_id]

    def notices(
        self, outbox: _Outbox, action: str, alert: Alert, school: School, deadline: datetime
    ) -> int:
        """Keep one school's notices for write(), and audit them."""
        self.rows.extend(outbox.rows)
        audit.record(
            self.session,
            action,
            school_id=school.id,
            object_type="alert",
            object_id=alert.id,
            deadline=deadline.isoformat(),
            notifications=len(outbox.rows),
        )
        return len(outbox.rows)

    def write(self, now: datetime) -> int:
        """All the run's notices in one INSERT; wakes the workers once."""
        return write_rows(self.session, self.rows, now)


def remind_school(
    chase: Chase, alert: Alert, ref: dict[str, Any], school: School, deadline: datetime
) -> int:
    """The school's own channels, digest or not: a deadline does not wait.
    ``ref``: alert_ref(alert), made once per alert."""
    outbox = _Outbox(utcnow())
    matching = [s for s in chase.subscriptions.get(school.id, []) if _matches(s, alert)]
    _by_subscription(
        outbox,
        matching,
        event="alert.acknowledgement_due",
        alert=alert,
        payload_for=lambda s: {
            "type": "alert.acknowledgement_due",
            "alert": ref,
            "school": _school_ref(school),
            "subscription": _subscription_ref(s),
            "deadline": deadline.isoformat(),
            "path": ref["path"],
        },
        key=f"alert.acknowledgement_due:{alert.id}:{school.id}",
        honour_digest=False,
        tz=zone(chase.settings),
    )
    if not outbox.rows:
        # No subscription asks for this alert: a deadline still reaches the heads.
        _notify_people(
            outbox,
            chase.heads.get(school.id, []),
            "alert.acknowledgement_due",
            alert,
            ref,
            school,
            deadline,
        )
    return chase.notices(outbox, "alert.ack_reminder_sent", alert, school, deadline)


def escalate_to_coordinators(
    chase: Chase, alert: Alert, ref: dict[str, Any], school: School, deadline: datetime
) -> int:
    outbox = _Outbox(utcnow())
    _notify_people(
        outbox,
        chase.coordinators_of(alert.cluster_id),
        "alert.acknowledgement_overdue",
        alert,
        ref,
        school,
        deadline,
    )
    return chase.notices(outbox, "alert.ack_overdue_escalated", alert, school, deadline)


def _notify_people(
    outbox: _Outbox,
    people: Iterable[Member],
    event: str,
    alert: Alert,
    ref: dict[str, Any],
    school: School,
    deadline: datetime,
) -> None:
    """In the hub and by email to each person, about a school's deadline."""
    for person in people:
        assert person.school_id is not None
        common: dict[str, Any] = {
            "event": event,
            "school_id": person.school_id,
            "member_id": person.id,
            "alert_id": alert.id,
            "payload": {
                "type": event,
                "alert": ref,
                "school": _school_ref(school),
                "deadline": deadline.isoformat(),
                "path": ref["path"],
            },
            "key": f"{event}:{alert.id}:{school.id}",
            "priority": PRIORITY.get(alert.severity, 0),
        }
        outbox.add(channel=Channel.IN_APP, **common)
        outbox.add(channel=Channel.EMAIL, target=person.email, **common)


def receiving(school: School) -> bool:
    return school.status == SchoolStatus.ACTIVE
