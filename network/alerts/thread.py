"""An alert's thread: replies, recorded actions, acknowledgements (with their
comments) and attachments. Each item is sealed to the alert's audience as the
alert was. Closing and resolving are in closing.py, withdrawing and correcting
in withdrawal.py, recorded actions (referrals and steps) in referrals.py; each
adds its signed items here."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto.envelope import new_alert_id
from crypto.header import TIER_LEADERSHIP
from crypto.keys import SchoolKeys
from network.alerts import daily_figures, signals, unread_marks
from network.alerts.access import acknowledgeable, sightable, writable
from network.alerts.auditing import record_for_alert
from network.alerts.content import MAX_NOTE, Note, Sighting, clean_text
from network.alerts.models import Alert, AlertRecipient, ThreadExclusion, ThreadItem
from network.alerts.named import thread_named
from network.alerts.named_models import TIER_NAMED
from network.alerts.sealing import Audience, seal_and_store
from network.alerts.vocab import AlertStatus, ItemKind
from schools.db import utcnow
from schools.errors import Conflict, Forbidden, InvalidInput, Problems
from schools.models import Member, School, SchoolStatus

AUDITED_AS = {
    ItemKind.REPLY: "alert.replied",
    ItemKind.ACKNOWLEDGEMENT: "alert.ack_comment",
    ItemKind.ACTION: "alert.actioned",
    ItemKind.ATTACHMENT: "alert.attachment_added",
    ItemKind.SIGHTING: "alert.sighted",
    ItemKind.CORRECTION: "alert.corrected",
    ItemKind.WITHDRAWAL: "alert.withdrawn",
    ItemKind.CLOSURE: "alert.closed",
}


def _thread_audience(session: Session, alert: Alert, author_school: School) -> Audience:
    """Replies go to the alert's audience, at each school's current keys of the
    tier its copy is at; a school that withdrew a member from the thread gets
    them at its leadership tier. Suspended schools and shredded copies are
    left out."""
    rows = session.execute(
        select(School, AlertRecipient.tier)
        .join(AlertRecipient, AlertRecipient.school_id == School.id)
        .where(AlertRecipient.alert_id == alert.id, School.status == SchoolStatus.ACTIVE)
    ).all()
    withdrawing = set(
        session.scalars(
            select(ThreadExclusion.school_id).where(ThreadExclusion.alert_id == alert.id)
        )
    )
    tiers = {
        # A copy for named people stays so: withdrawn members are left out of it.
        school.id: TIER_LEADERSHIP if school.id in withdrawing and tier != TIER_NAMED else tier
        for school, tier in rows
    }
    own = [s for s, _ in rows if s.id == author_school.id]
    others = [s for s, _ in rows if s.id != author_school.id]
    named = thread_named(session, alert.id) if TIER_NAMED in tiers.values() else {}
    return Audience(((own or [author_school])[0], *others), tiers, named)


def add_item(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert: Alert,
    kind: ItemKind,
    plaintext: bytes,
    audience: Audience | None = None,
    action_type: str | None = None,
    created_at: datetime | None = None,
    announce: bool = True,
    position: int = 0,
    audited_as: str | None = None,
) -> ThreadItem:
    """Seal an item to the alert's audience (or the one given) and audit it;
    ``announce`` tells other features (notifications) it was added. An
    attachment's header names the alert it is attached to and its
    ``position`` among the alert's files."""
    school = actor.school
    assert school is not None
    audience = audience or _thread_audience(session, alert, school)
    item_id = uuid.UUID(bytes=new_alert_id())
    now = created_at or utcnow()
    sealed_envelope, sealed = seal_and_store(
        session,
        alert_id=item_id,
        kind=kind,
        parent=alert.id,
        sender=actor,
        sender_keys=keys,
        audience=audience,
        created_at=now,
        action_type=action_type or "",
        attached_to=alert.id if kind == ItemKind.ATTACHMENT else None,
        position=position,
        plaintext=plaintext,
    )
    item = ThreadItem(
        id=item_id,
        alert_id=alert.id,
        kind=kind,
        author_school_id=school.id,
        author_member_id=actor.id,
        author_generation=keys.generation,
        action_type=action_type,
        size=len(sealed_envelope.ciphertext),
        created_at=now,
        envelope_hash=sealed_envelope.envelope_hash(),
        sealed_id=sealed.id,
    )
    session.add(item)
    session.flush()
    record_for_alert(
        session,
        audited_as or AUDITED_AS[kind],
        actor,
        alert,
        item.envelope_hash,
        item=str(item.id),
        action_type=action_type,
        size=item.size,
    )
    if announce:
        signals.thread_item_added.send(None, session=session, alert=alert, actor=actor, item=item)
    return item


def reply(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    text: str,
    now: datetime | None = None,
) -> ThreadItem:
    alert = writable(session, actor, alert_id, "reply to alerts")
    text = clean_text(text, "text", "reply", MAX_NOTE, required=True)
    return add_item(
        session, actor, keys, alert, ItemKind.REPLY, Note(text).to_bytes(), created_at=now
    )


MAX_WHERE = 500


def check_sighting(seen_on: date | None, where: str, today: date) -> str:
    """Where it was seen, with the day: every problem at once (InvalidInputs)."""
    problems = Problems()
    if seen_on is not None and seen_on > today:
        problems.add(InvalidInput("The date seen is in the future.", field="seen_on"))
    where = problems.check(
        "", lambda: clean_text(where, "where", "place where you saw it", MAX_WHERE)
    )
    problems.raise_any()
    return where


def record_sighting(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    seen_on: date | None,
    where: str,
    now: datetime | None = None,
) -> list[ThreadItem]:
    """ "We've seen this too": sealed to the alert's audience as a reply is.
    On a forward, the sighting also goes into the thread of each alert it was
    forwarded from (sealed to that alert's audience and the sighting school),
    so the original's sender hears of it. Returns the items, the forward's first."""
    alert = sightable(session, actor, alert_id)
    now = now or utcnow()
    where = check_sighting(seen_on, where, now.date())
    plaintext = Sighting(seen_on, where).to_bytes()
    items: list[ThreadItem] = []
    chain: Alert | None = alert
    while chain is not None and chain.status not in _CLOSED_FOR_GOOD and len(items) < _MAX_CHAIN:
        items.append(
            add_item(session, actor, keys, chain, ItemKind.SIGHTING, plaintext, created_at=now)
        )
        origin = chain.forwarded_from_id
        chain = session.get(Alert, origin) if origin is not None else None
    return items


# A forward of a forward of...: a bound, well above what schools do.
_MAX_CHAIN = 10
# An original withdrawn or shredded takes no sighting (its forward still does).
_CLOSED_FOR_GOOD = frozenset({AlertStatus.WITHDRAWN, AlertStatus.SHREDDED})


def acknowledge(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_id: uuid.UUID,
    comment: str = "",
    now: datetime | None = None,
) -> AlertRecipient:
    view = acknowledgeable(session, actor, alert_id)
    copy = view.copy
    assert copy is not None
    if copy.acknowledged_at is not None:
        raise _already_acknowledged(copy)
    comment = clean_text(comment, "comment", "comment", MAX_NOTE)
    now = now or utcnow()
    # Check and write in one statement: of simultaneous acknowledgements, only
    # one finds the copy unacknowledged (on PostgreSQL the others wait for its
    # commit, then match no row).
    claimed = session.execute(
        update(AlertRecipient)
        .where(
            AlertRecipient.alert_id == copy.alert_id,
            AlertRecipient.school_id == copy.school_id,
            AlertRecipient.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=now, acknowledged_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(copy)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _already_acknowledged(copy)
    if copy.first_read_at is None:
        copy.first_read_at, copy.first_read_by = now, actor
    unread_marks.record_read(session, actor, copy.alert_id, now)
    record_for_alert(session, "alert.acknowledged", actor, view.alert, view.alert.envelope_hash)
    if comment:
        if keys is None:
            raise Forbidden("Your session cannot open the school's keys to seal the comment.")
        add_item(
            session,
            actor,
            keys,
            view.alert,
            ItemKind.ACKNOWLEDGEMENT,
            Note(comment).to_bytes(),
            created_at=now,
        )
    daily_figures.count_acknowledged(session, copy)
    signals.alert_acknowledged.send(None, session=session, alert=view.alert, actor=actor, copy=copy)
    session.flush()
    return copy


def _already_acknowledged(copy: AlertRecipient) -> Conflict:
    who = copy.acknowledged_by.name if copy.acknowledged_by else "a colleague"
    when = f" on {copy.acknowledged_at:%d %b %Y at %H:%M} UTC" if copy.acknowledged_at else ""
    return Conflict(f"Already acknowledged by {who}{when}.")
