"""Fan-out: who hears of what happened to an alert. A new alert reaches every
matching subscription of every recipient school; a reply, action,
attachment, acknowledgement or resolution reaches the alert's watchers.

Called by the receivers of the alert signals (receivers.py), inside the
transaction of what they announce: the rows are written, never sent, here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from crypto.header import TIER_ALL
from network.alerts import access, vocab
from network.alerts.deadlines import local_zone
from network.alerts.models import Alert, AlertRecipient, Platform, ThreadItem
from network.alerts.vocab import ItemKind
from network.notifications import out_of_hours
from network.notifications.models import Payload, Subscription, Watch
from network.notifications.outbox import Outbox
from network.notifications.payloads import alert_ref, school_ref
from network.notifications.routing import add_for_subscriptions, live_subscriptions, matches
from network.notifications.subscriptions import defaults_for_schools
from network.settings import Settings
from schools.db import utcnow
from schools.models import Member, MemberStatus, School

THREAD_EVENTS = {
    ItemKind.REPLY: "alert.replied",
    ItemKind.ACTION: "alert.action_recorded",
    ItemKind.ATTACHMENT: "alert.attachment_added",
    ItemKind.CLOSURE: "alert.closed",
    ItemKind.SIGHTING: "alert.sighted",
}


def _to_recipient_schools(
    session: Session,
    alert: Alert,
    settings: Settings,
    *,
    event: str,
    key: str,
    honour_digest: bool,
    extra: Payload | None = None,
) -> Outbox:
    """Every matching subscription of every recipient school (the sender's left
    out) that reaches only people who may see the alert: at a school holding it
    for its leadership, only leadership members' own subscriptions (a shared
    address or a webhook may reach anyone); never a subscription of a member
    withdrawn from its thread."""
    ref = alert_ref(session, alert)
    rows = session.execute(
        select(School, AlertRecipient.tier)
        .join(AlertRecipient, AlertRecipient.school_id == School.id)
        .where(AlertRecipient.alert_id == alert.id, AlertRecipient.is_sender.is_(False))
        .options(lazyload("*"))
    ).all()
    schools = {s.id: s for s, _tier in rows}
    outbox = Outbox(utcnow())
    defaults_for_schools(session, list(schools))
    matching = [s for s in live_subscriptions(session, list(schools)) if matches(s, alert)]
    matching = _reaching_only_readers(session, alert, matching, dict(rows))
    add_for_subscriptions(
        outbox,
        matching,
        event=event,
        alert=alert,
        ref=ref,
        schools=schools,
        key=key,
        honour_digest=honour_digest,
        tz=local_zone(settings),
        extra=extra,
    )
    return outbox


def _reaching_only_readers(
    session: Session,
    alert: Alert,
    subscriptions: list[Subscription],
    tiers: dict[School, str],
) -> list[Subscription]:
    """Those of ``subscriptions`` whose every reader may see the alert."""
    leadership_only = {s.id for s, tier in tiers.items() if tier != TIER_ALL}
    owners = {s.owner_id for s in subscriptions if s.owner_id is not None}
    readers = (
        set(
            session.scalars(
                select(Member.id)
                .where(Member.id.in_(owners), Member.status == MemberStatus.ACTIVE)
                .where(access.visible_to_member(alert))
            )
        )
        if owners
        else set()
    )
    return [
        s
        for s in subscriptions
        if (s.owner_id in readers) or (s.owner_id is None and s.school_id not in leadership_only)
    ]


def alert_posted(session: Session, alert: Alert, actor: Member, settings: Settings) -> int:
    """Every matching subscription of every recipient school; the poster watches it."""
    outbox = _to_recipient_schools(
        session,
        alert,
        settings,
        event="alert.received",
        key=f"alert.received:{alert.id}",
        honour_digest=True,
    )
    if session.get(Watch, (actor.id, alert.id)) is None:
        session.add(Watch(member_id=actor.id, alert_id=alert.id, by_email=False))
    written = outbox.write(session)
    # Apart from the subscriptions' rows: a contact whose address a
    # subscription also uses still hears that the deadline is out of hours.
    written += out_of_hours.notify_contacts(session, alert, settings)
    session.flush()
    return written


def alert_followed_up(
    session: Session,
    alert: Alert,
    actor: Member,
    event: str,
    detail: Payload,
    key: str,
) -> int:
    """Tell the alert's watchers (not the one who did it) who still see it
    (alert_visible_to_member), asked of all the watchers in the one query."""
    now = utcnow()
    platform = select(Platform.name).where(Platform.code == alert.platform).scalar_subquery()
    watchers = session.execute(
        select(Watch.by_email, Member, platform)
        .join(Member, Member.id == Watch.member_id)
        .where(
            Watch.alert_id == alert.id,
            Watch.member_id != actor.id,
            Member.status == MemberStatus.ACTIVE,
            Member.school_id.is_not(None),
            access.visible_to_member(alert),
        )
        .options(lazyload("*"))
    ).all()
    if not watchers:
        return 0
    platform_name = watchers[0][2]
    ref = alert_ref(
        session, alert, {alert.platform: platform_name} if platform_name is not None else {}
    )
    outbox = Outbox(now)
    by = school_ref(actor.school) if actor.school is not None else None
    payload: Payload = {**detail, "type": event, "alert": ref, "by": by, "path": ref["path"]}
    for by_email, member, _ in watchers:
        outbox.add_for_member(
            member, event=event, alert=alert, payload=payload, key=key, by_email=by_email
        )
    written = outbox.write(session)
    session.flush()
    return written


def alert_withdrawn(
    session: Session, alert: Alert, actor: Member, item: ThreadItem, settings: Settings
) -> int:
    """Every school that received it hears, at once (never in a digest), as it
    heard of the alert; the reason stays sealed."""
    return _amended(session, alert, actor, item, settings, "alert.withdrawn")


def _amended(
    session: Session,
    alert: Alert,
    actor: Member,
    item: ThreadItem,
    settings: Settings,
    event: str,
) -> int:
    outbox = _to_recipient_schools(
        session,
        alert,
        settings,
        event=event,
        key=f"{event}:{item.id}",
        honour_digest=False,
        extra={
            "by": school_ref(actor.school) if actor.school is not None else None,
            "item": {"kind": item.kind, "at": item.created_at.isoformat()},
        },
    )
    written = outbox.write(session)
    session.flush()
    return written


def thread_item_added(
    session: Session, alert: Alert, actor: Member, item: ThreadItem, settings: Settings
) -> int:
    if item.kind == ItemKind.CORRECTION:
        # Every school that received the alert, as for the alert itself.
        return _amended(session, alert, actor, item, settings, "alert.corrected")
    event = THREAD_EVENTS.get(ItemKind(item.kind))
    if event is None:
        return 0  # an acknowledgement's comment: alert_acknowledged tells of it
    detail: Payload = {"item": {"kind": item.kind, "at": item.created_at.isoformat()}}
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


def alert_forwarded(session: Session, alert: Alert, actor: Member, forward: Alert) -> int:
    """The original's watchers (its sender among them) hear that it went on
    to other schools, and to how many; not which, nor the forward itself."""
    return alert_followed_up(
        session,
        alert,
        actor,
        "alert.forwarded",
        {"schools": forward.recipient_count},
        f"alert.forwarded:{forward.id}",
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
