"""What people do with alerts. Plain functions: they take the session and the
acting member, raise domain errors, flush and audit, and never commit."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload, raiseload

from crypto.envelope import Header, new_alert_id
from crypto.keys import SchoolKeys, SchoolPublicKeys
from network.alerts import signals, vocab
from network.alerts.access import AlertView, alert_for, content_for, copies_of
from network.alerts.content import MAX_NOTE, AlertContent, Evidence, Note, clean_text
from network.alerts.keychain import Keychain, parse_public_keys, public_keys_of
from network.alerts.models import Alert, AlertRecipient, Platform, Sealed, SealedWrap, ThreadItem
from network.alerts.sealing import (
    Audience,
    IntegrityFailure,
    Stored,
    load_for,
    open_stored,
    require,
    seal_and_store,
)
from network.alerts.vocab import AUDIENCES, FILTER_STATUSES, PAGE_SIZE
from schools import audit, policy
from schools.audit.models import AuditEvent
from schools.db import utcnow
from schools.errors import Conflict, Forbidden, InvalidInput, NotFound
from schools.models import Member, School, SchoolKeyGeneration, SchoolKind, SchoolStatus


@dataclass(frozen=True)
class AlertDraft:
    category: str
    severity: str
    platform: str
    tlp: str
    content: AlertContent
    audience: str = "schools"
    school_ids: tuple[uuid.UUID, ...] = ()
    include_coordinator: bool = False
    evidence: tuple[Evidence, ...] = ()


# --- posting --------------------------------------------------------------------------


def platforms(session: Session) -> list[Platform]:
    return list(session.scalars(select(Platform).order_by(Platform.position, Platform.name)))


def _check_terms(session: Session, draft: AlertDraft) -> None:
    if draft.category not in vocab.codes(vocab.CATEGORIES):
        raise InvalidInput("Choose what kind of alert this is.", field="category")
    if draft.severity not in vocab.codes(vocab.SEVERITIES):
        raise InvalidInput("Choose how serious it is.", field="severity")
    if draft.tlp not in vocab.codes(vocab.TLP):
        raise InvalidInput("Choose a handling label.", field="tlp")
    if session.get(Platform, draft.platform) is None:
        raise InvalidInput("Choose the platform.", field="platform")
    if draft.audience not in AUDIENCES:
        raise InvalidInput("Choose who receives the alert.", field="audience")


def _receiving(school: School) -> str | None:
    """Why a school cannot receive alerts now, or None if it can."""
    if school.status != SchoolStatus.ACTIVE:
        return f"{school.name} is suspended from the network."
    if school.key_generation == 0:
        return f"{school.name} cannot receive alerts yet: its head has not joined."
    return None


def resolve_audience(
    session: Session,
    actor: Member,
    audience: str,
    school_ids: Sequence[uuid.UUID],
    include_coordinator: bool,
) -> Audience:
    """The sender's own school first (for its Sent box), then every recipient."""
    own = actor.school
    assert own is not None
    chosen: list[School] = []
    if audience == "schools":
        if not school_ids:
            raise InvalidInput(
                "Choose at least one school, or send to the whole cluster.", field="schools"
            )
        found = {
            s.id: s
            for s in session.scalars(
                select(School).where(
                    School.id.in_(list(school_ids)), School.kind == SchoolKind.SCHOOL
                )
            )
        }
        for school_id in school_ids:
            school = found.get(school_id)
            if school is None or school.cluster_id != own.cluster_id:
                raise InvalidInput(
                    "One of the chosen schools is not in your cluster.", field="schools"
                )
            reason = _receiving(school)
            if reason:
                raise InvalidInput(reason, field="schools")
            chosen.append(school)
    else:
        query = select(School).where(
            School.kind == SchoolKind.SCHOOL,
            School.status == SchoolStatus.ACTIVE,
            School.key_generation > 0,
        )
        if audience == "cluster":
            query = query.where(School.cluster_id == own.cluster_id)
        chosen = list(session.scalars(query.order_by(School.name)))
    if include_coordinator:
        office = session.scalars(
            select(School).where(
                School.cluster_id == own.cluster_id, School.kind == SchoolKind.OFFICE
            )
        ).one()
        if office.key_generation == 0:
            raise InvalidInput(
                "Your cluster's coordinator has not joined yet, so cannot receive alerts.",
                field="include_coordinator",
            )
        chosen.append(office)
    others = [s for s in dict.fromkeys(chosen) if s.id != own.id]
    if not others:
        raise InvalidInput("There is no other school to send this to.", field="schools")
    return Audience((own, *others))


@dataclass(frozen=True)
class Posted:
    """A posted (or forwarded) alert and the schools it went to, the sender's
    own school left out."""

    alert: Alert
    recipients: tuple[School, ...]


def post_alert(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    draft: AlertDraft,
    now: datetime | None = None,
    forwarded_from: Alert | None = None,
) -> Posted:
    """Seal an alert to its audience and file it in every recipient's inbox;
    hands back the alert and whom it went to."""
    policy.check_may_post(actor)
    _check_terms(session, draft)
    if not draft.content.title:
        raise InvalidInput("Enter a title.", field="title")
    school = actor.school
    assert school is not None
    if keys.generation != school.key_generation:
        raise Conflict("Your school's keys changed since you signed in. Sign in again.")
    audience = resolve_audience(
        session, actor, draft.audience, draft.school_ids, draft.include_coordinator
    )
    now = now or utcnow()
    alert_id = uuid.UUID(bytes=new_alert_id())
    sealed_envelope, sealed = seal_and_store(
        session,
        alert_id=alert_id,
        kind="alert",
        parent=None,
        sender=actor,
        sender_keys=keys,
        audience=audience,
        created_at=now,
        category=draft.category,
        severity=draft.severity,
        platform=draft.platform,
        tlp=draft.tlp,
        plaintext=draft.content.to_bytes(),
    )
    cluster = school.cluster
    alert = Alert(
        id=alert_id,
        cluster_id=school.cluster_id,
        sender_school_id=school.id,
        sender_member_id=actor.id,
        sender_generation=keys.generation,
        category=draft.category,
        severity=draft.severity,
        platform=draft.platform,
        tlp=draft.tlp,
        created_at=now,
        expires_at=now + timedelta(days=cluster.retention_days),
        forwarded_from_id=forwarded_from.id if forwarded_from else None,
        recipient_count=len(audience.schools) - 1,
        attachment_count=len(draft.evidence),
        size=len(sealed_envelope.ciphertext),
        envelope_hash=sealed_envelope.envelope_hash(),
        sealed_id=sealed.id,
    )
    session.add(alert)
    session.flush()
    session.execute(
        insert(AlertRecipient),
        [
            {
                "alert_id": alert.id,
                "school_id": s.id,
                "is_sender": s.id == school.id,
                "created_at": now,
                "cluster_id": school.cluster_id,
                "severity": draft.severity,
                "first_read_at": now if s.id == school.id else None,
                "first_read_by_id": actor.id if s.id == school.id else None,
            }
            for s in audience.schools
        ],
    )
    audit.record(
        session,
        "alert.posted",
        actor=actor,
        object_type="alert",
        object_id=alert.id,
        envelope_hash=alert.envelope_hash,
        category=draft.category,
        severity=draft.severity,
        platform=draft.platform,
        tlp=draft.tlp,
        recipients=[str(s.id) for s in audience.schools[1:]],
        forwarded_from=str(forwarded_from.id) if forwarded_from else None,
    )
    for evidence in draft.evidence:
        _add_item(
            session,
            actor,
            keys,
            alert,
            "attachment",
            evidence.to_bytes(),
            audience,
            created_at=now,
            announce=False,
        )
    session.flush()
    signals.alert_posted.send(None, session=session, alert=alert, actor=actor)
    return Posted(alert, audience.schools[1:])


# --- threads ----------------------------------------------------------------------------


def _thread_audience(session: Session, alert: Alert, author_school: School) -> Audience:
    """Replies go to the alert's audience, at each school's current keys;
    suspended schools and shredded copies are left out."""
    schools = list(
        session.scalars(
            select(School)
            .join(AlertRecipient, AlertRecipient.school_id == School.id)
            .where(AlertRecipient.alert_id == alert.id, School.status == SchoolStatus.ACTIVE)
        )
    )
    others = [s for s in schools if s.id != author_school.id]
    return Audience((author_school, *others))


def _add_item(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert: Alert,
    kind: str,
    plaintext: bytes,
    audience: Audience | None = None,
    action_type: str | None = None,
    created_at: datetime | None = None,
    announce: bool = True,
) -> ThreadItem:
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
        category=action_type or "",
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
    audit.record(
        session,
        {
            "reply": "alert.replied",
            "acknowledgement": "alert.ack_comment",
            "action": "alert.actioned",
            "attachment": "alert.attachment_added",
        }[kind],
        actor=actor,
        object_type="alert",
        object_id=alert.id,
        envelope_hash=item.envelope_hash,
        item=str(item.id),
        action_type=action_type,
        size=item.size,
    )
    if announce:
        signals.thread_item_added.send(None, session=session, alert=alert, actor=actor, item=item)
    return item


def _writable(session: Session, view: AlertView, resolving: bool = False) -> Alert:
    """The alert, if it still takes replies and actions. Its row stays locked
    until the commit (on PostgreSQL; SQLite has one writer at a time): shared by
    replies, exclusive for resolving, so a resolution waits for the replies in
    flight, a reply after it sees it, and of two resolutions the second sees the first."""
    alert = view.alert
    session.refresh(alert, ["status", "resolved_at"], with_for_update={"read": not resolving})
    if alert.status == "shredded":
        raise Conflict("This alert has passed its retention period and was shredded.")
    if alert.status == "resolved" and resolving and alert.resolved_at is not None:
        raise Conflict(
            f"This alert was already resolved on {alert.resolved_at:%d %b %Y at %H:%M} UTC."
        )
    if alert.status == "resolved":
        raise Conflict("This alert is resolved; it takes no more replies or actions.")
    return alert


def reply(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    text: str,
    now: datetime | None = None,
) -> ThreadItem:
    policy.check_school_may_act(actor, "reply to alerts")
    alert = _writable(session, content_for(session, actor, alert_id))
    text = clean_text(text, "text", "reply", MAX_NOTE, required=True)
    return _add_item(session, actor, keys, alert, "reply", Note(text).to_bytes(), created_at=now)


def record_action(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    action_type: str,
    note: str,
    now: datetime | None = None,
) -> ThreadItem:
    policy.check_school_may_act(actor, "record actions")
    alert = _writable(session, content_for(session, actor, alert_id))
    if action_type not in vocab.codes(vocab.ACTIONS):
        raise InvalidInput("Choose the action you took.", field="action_type")
    note = clean_text(note, "note", "note", MAX_NOTE)
    return _add_item(
        session,
        actor,
        keys,
        alert,
        "action",
        Note(note).to_bytes(),
        action_type=action_type,
        created_at=now,
    )


def acknowledge(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_id: uuid.UUID,
    comment: str = "",
    now: datetime | None = None,
) -> AlertRecipient:
    policy.check_school_may_act(actor, "acknowledge alerts")
    view = content_for(session, actor, alert_id)
    copy = view.copy
    assert copy is not None
    if copy.is_sender:
        raise Conflict("Your school sent this alert; recipients acknowledge it.")
    if view.alert.status == "shredded":
        raise Conflict("This alert was shredded.")
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
    audit.record(
        session,
        "alert.acknowledged",
        actor=actor,
        object_type="alert",
        object_id=view.alert.id,
        envelope_hash=view.alert.envelope_hash,
    )
    if comment:
        if keys is None:
            raise Forbidden("Your session cannot open the school's keys to seal the comment.")
        _add_item(
            session,
            actor,
            keys,
            view.alert,
            "acknowledgement",
            Note(comment).to_bytes(),
            created_at=now,
        )
    signals.alert_acknowledged.send(None, session=session, alert=view.alert, actor=actor, copy=copy)
    session.flush()
    return copy


def _already_acknowledged(copy: AlertRecipient) -> Conflict:
    who = copy.acknowledged_by.name if copy.acknowledged_by else "a colleague"
    when = f" on {copy.acknowledged_at:%d %b %Y at %H:%M} UTC" if copy.acknowledged_at else ""
    return Conflict(f"Already acknowledged by {who}{when}.")


def resolve(session: Session, actor: Member, alert_id: uuid.UUID) -> Alert:
    policy.check_school_may_act(actor, "resolve alerts")
    view = content_for(session, actor, alert_id)
    if view.copy is None or not view.copy.is_sender:
        raise Forbidden("Only the school that sent an alert can resolve it.")
    alert = _writable(session, view, resolving=True)
    alert.status = "resolved"
    alert.resolved_at = utcnow()
    audit.record(
        session,
        "alert.resolved",
        actor=actor,
        object_type="alert",
        object_id=alert.id,
        envelope_hash=alert.envelope_hash,
    )
    signals.alert_resolved.send(None, session=session, alert=alert, actor=actor)
    session.flush()
    return alert


# --- reading ----------------------------------------------------------------------------


@dataclass
class OpenedItem:
    item: ThreadItem
    text: str = ""
    evidence: Evidence | None = None
    problem: str = ""


@dataclass
class OpenedAlert:
    view: AlertView
    content: AlertContent | None
    sender_fingerprint: str
    items: list[OpenedItem] = field(default_factory=list)
    copies: list[AlertRecipient] = field(default_factory=list)
    platform: Platform | None = None
    problem: str = ""


def _sender_keys(
    session: Session, rows: Sequence[Alert | ThreadItem]
) -> dict[tuple[uuid.UUID, int], SchoolPublicKeys]:
    pairs = set()
    for row in rows:
        if isinstance(row, Alert):
            pairs.add((row.sender_school_id, row.sender_generation))
        else:
            pairs.add((row.author_school_id, row.author_generation))
    return public_keys_of(session, pairs)


def open_alert(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_id: uuid.UUID,
    now: datetime | None = None,
    keep_evidence: bool = False,
) -> OpenedAlert:
    """Decrypt and verify an alert and its thread for the member's school, and
    record the opening. A coordinator who is not a recipient gets metadata only.

    Attachments are opened (and so verified) along with the rest; their bytes
    are dropped unless ``keep_evidence`` (forwarding needs them)."""
    view = alert_for(session, actor, alert_id)
    alert = view.alert
    fingerprint = (
        session.scalar(
            select(SchoolKeyGeneration.fingerprint).where(
                SchoolKeyGeneration.school_id == alert.sender_school_id,
                SchoolKeyGeneration.generation == alert.sender_generation,
            )
        )
        or ""
    )
    opened = OpenedAlert(
        view,
        None,
        fingerprint,
        copies=copies_of(session, alert),
        platform=session.get(Platform, alert.platform),
    )
    if not view.may_read_content:
        audit.record(
            session, "alert.metadata_viewed", actor=actor, object_type="alert", object_id=alert.id
        )
        return opened
    if alert.shredded:
        return opened
    assert view.copy is not None
    school_id = view.copy.school_id
    keychain = Keychain(session, school_id, keys)
    items = list(
        session.scalars(
            select(ThreadItem)
            .where(ThreadItem.alert_id == alert.id)
            .order_by(ThreadItem.created_at)
        )
    )
    stored = load_for(
        session,
        [i for i in [alert.sealed_id, *[x.sealed_id for x in items]] if i is not None],
        school_id,
    )
    senders = _sender_keys(session, [alert, *items])
    keychain.require_current()
    try:
        header, plaintext = open_stored(
            require(stored, alert.sealed_id),
            school_id,
            keychain,
            senders.get((alert.sender_school_id, alert.sender_generation)),
        )
        _check_header_matches(header, alert)
        opened.content = AlertContent.from_bytes(plaintext)
    except IntegrityFailure as failure:
        opened.problem = failure.message
    for item in items:
        entry = OpenedItem(item)
        try:
            item_header, data = open_stored(
                require(stored, item.sealed_id),
                school_id,
                keychain,
                senders.get((item.author_school_id, item.author_generation)),
            )
            if item_header.parent != alert.id.bytes or item_header.kind != item.kind:
                raise IntegrityFailure("This item does not belong to this alert.")
            if item.kind == "attachment":
                evidence = Evidence.from_bytes(data)
                entry.evidence = (
                    evidence
                    if keep_evidence
                    else Evidence(evidence.filename, evidence.content_type, b"")
                )
            else:
                entry.text = Note.from_bytes(data).text
        except (IntegrityFailure, NotFound) as failure:
            entry.problem = failure.message
        opened.items.append(entry)
    now = now or utcnow()
    if view.copy.first_read_at is None:
        view.copy.first_read_at, view.copy.first_read_by = now, actor
    audit.record(
        session,
        "alert.opened",
        actor=actor,
        object_type="alert",
        object_id=alert.id,
        envelope_hash=alert.envelope_hash,
        items=len(items),
    )
    session.flush()
    return opened


def _check_header_matches(header: object, alert: Alert) -> None:
    """The signed header must say what the hub's clear columns say."""
    assert isinstance(header, Header)
    if (
        header.alert_id != alert.id.bytes
        or header.kind != "alert"
        or header.category != alert.category
        or header.severity != alert.severity
        or header.platform != alert.platform
        or header.tlp != alert.tlp
        or header.sender_school != str(alert.sender_school_id)
    ):
        raise IntegrityFailure(
            "The hub's record of this alert does not match what the sender "
            "signed. It is not shown; tell your coordinator."
        )


def download(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_id: uuid.UUID,
    item_id: uuid.UUID,
) -> Evidence:
    view = content_for(session, actor, alert_id)
    item = session.get(ThreadItem, item_id)
    if item is None or item.alert_id != view.alert.id or item.kind != "attachment":
        raise NotFound("No such attachment.")
    assert view.copy is not None
    keychain = Keychain(session, view.copy.school_id, keys)
    keychain.require_current()
    stored = load_for(session, [item.sealed_id] if item.sealed_id else [], view.copy.school_id)
    senders = _sender_keys(session, [item])
    header, data = open_stored(
        require(stored, item.sealed_id),
        view.copy.school_id,
        keychain,
        senders.get((item.author_school_id, item.author_generation)),
    )
    if header.parent != view.alert.id.bytes:
        raise IntegrityFailure("This attachment does not belong to this alert.")
    _record_download(session, actor, view.alert, item)
    return Evidence.from_bytes(data)


def _record_download(session: Session, actor: Member, alert: Alert, item: ThreadItem) -> None:
    audit.record(
        session,
        "alert.attachment_downloaded",
        actor=actor,
        object_type="alert",
        object_id=alert.id,
        envelope_hash=item.envelope_hash,
        item=str(item.id),
    )


def schools_holding(
    session: Session, original: Alert, school_ids: Sequence[uuid.UUID]
) -> list[School]:
    """Those of the schools holding a copy of the alert or of a forward of it.
    Forwards come after the alert, so each school's inbox is range-scanned from
    the alert's time only."""
    if not school_ids:
        return []
    return list(
        session.scalars(
            select(School)
            .join(AlertRecipient, AlertRecipient.school_id == School.id)
            .join(Alert, Alert.id == AlertRecipient.alert_id)
            .where(
                AlertRecipient.school_id.in_(list(school_ids)),
                AlertRecipient.created_at >= original.created_at,
                or_(Alert.id == original.id, Alert.forwarded_from_id == original.id),
            )
            .distinct()
        )
    )


def forward_choices(session: Session, actor: Member, original: Alert) -> list[School]:
    """Schools the alert may be forwarded to: those of the member's cluster that
    can receive alerts and have neither it nor a forward of it."""
    candidates = schools_to_choose(session, actor)
    holding = {s.id for s in schools_holding(session, original, [s.id for s in candidates])}
    return [s for s in candidates if s.id not in holding]


def forward(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    school_ids: Sequence[uuid.UUID],
    note: str = "",
) -> Posted:
    """Send an alert on to other schools as a new alert from this school,
    unless its handling label forbids it. Refusals come before anything is
    decrypted, audited or marked read."""
    policy.check_school_may_act(actor, "forward alerts")
    policy.check_may_post(actor)
    original = alert_for(session, actor, alert_id).alert
    if original.tlp in vocab.NOT_FORWARDABLE:
        raise Forbidden(f"This alert is labelled TLP:{original.tlp}: it must not be forwarded.")
    note = clean_text(note, "note", "note", MAX_NOTE)
    # Forwards of one alert are made one at a time (the alert's row is locked
    # until the commit; SQLite has one writer at a time anyway), so two at once
    # cannot both find that a school does not have it yet.
    session.refresh(original, ["status"], with_for_update=True)
    holding = schools_holding(session, original, school_ids)
    if holding:
        names = " and ".join(sorted(s.name for s in holding))
        verb = "has" if len(holding) == 1 else "have"
        raise Conflict(f"{names} already {verb} this alert.", field="schools")
    # Each attachment is opened and verified once, with the alert.
    opened = open_alert(session, actor, keys, alert_id, keep_evidence=True)
    if opened.content is None:
        raise Conflict(opened.problem or "This alert's content is not available to forward.")
    evidence = []
    for item in opened.items:
        if item.evidence is not None:
            evidence.append(item.evidence)
            _record_download(session, actor, original, item.item)
    content = AlertContent(
        opened.content.title,
        opened.content.description,
        opened.content.links,
        opened.content.recommended_action,
        forwarded_note=note,
    )
    draft = AlertDraft(
        original.category,
        original.severity,
        original.platform,
        original.tlp,
        content,
        "schools",
        tuple(school_ids),
        False,
        tuple(evidence),
    )
    forwarded = post_alert(session, actor, keys, draft, forwarded_from=original)
    audit.record(
        session,
        "alert.forwarded",
        actor=actor,
        object_type="alert",
        object_id=original.id,
        envelope_hash=original.envelope_hash,
        new_alert=str(forwarded.alert.id),
        recipients=[str(s) for s in school_ids],
    )
    return forwarded


# --- inboxes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    category: str = ""
    severity: str = ""
    platform: str = ""
    sender: uuid.UUID | None = None

    def validate(self, session: Session) -> None:
        if self.status and self.status not in FILTER_STATUSES:
            raise InvalidInput("Unknown status filter.", field="status")
        if self.category and self.category not in vocab.codes(vocab.CATEGORIES):
            raise InvalidInput("Unknown category.", field="category")
        if self.severity and self.severity not in vocab.codes(vocab.SEVERITIES):
            raise InvalidInput("Unknown severity.", field="severity")
        if self.platform and session.get(Platform, self.platform) is None:
            raise InvalidInput("Unknown platform.", field="platform")


@dataclass
class InboxRow:
    copy: AlertRecipient
    alert: Alert
    title: str = ""
    problem: str = ""


@dataclass
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


def encode_cursor(created_at: datetime, alert_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{alert_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, alert_id = raw.split("|")
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            raise ValueError
        # A moment the database cannot compare (year 1 with an offset) overflows here.
        return moment.astimezone(UTC), uuid.UUID(alert_id)
    except (ValueError, OverflowError):
        raise InvalidInput(
            "That page link is not valid; start from the first page.", field="cursor"
        ) from None


def inbox_query(
    school_id: uuid.UUID,
    filters: InboxFilters,
    cursor: str | None = None,
    sent: bool = False,
    limit: int = PAGE_SIZE,
) -> Select[Any]:
    """The inbox's one query: a range scan of ix_alert_recipients_inbox for the
    school, joined by primary key to the alert, its sealed envelope, this
    school's wrap and the sender's public keys."""
    sender_keys = aliased(SchoolKeyGeneration)
    query = (
        select(
            AlertRecipient,
            Alert,
            Sealed.body,
            SealedWrap.wrap,
            SealedWrap.generation,
            sender_keys.public_keys,
        )
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .outerjoin(Sealed, Sealed.id == Alert.sealed_id)
        .outerjoin(
            SealedWrap,
            and_(
                SealedWrap.sealed_id == Alert.sealed_id,
                SealedWrap.school_id == AlertRecipient.school_id,
            ),
        )
        .outerjoin(
            sender_keys,
            and_(
                sender_keys.school_id == Alert.sender_school_id,
                sender_keys.generation == Alert.sender_generation,
            ),
        )
        .where(AlertRecipient.school_id == school_id, AlertRecipient.is_sender.is_(sent))
    )
    query = _apply_filters(query, filters)
    if cursor:
        moment, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                AlertRecipient.created_at < moment,
                and_(AlertRecipient.created_at == moment, AlertRecipient.alert_id < last_id),
            )
        )
    return (
        query.order_by(AlertRecipient.created_at.desc(), AlertRecipient.alert_id.desc())
        .limit(limit + 1)
        # Only the sender school's name is shown; nothing else is loaded eagerly
        # (members' rows carry key material the inbox has no use for).
        .options(raiseload("*"), joinedload(Alert.sender_school).raiseload("*"))
    )


def inbox_for(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    filters: InboxFilters,
    cursor: str | None = None,
    sent: bool = False,
    limit: int = PAGE_SIZE,
) -> InboxPage:
    """One page of the school's inbox (or Sent box), newest first.

    One indexed query fetches the page's rows with, for each, the sealed
    envelope, this school's wrap and the sender's public keys; titles are then
    decrypted for this page only, and the decryption is audited once.
    """
    school = policy.check_reads_alerts(actor)
    filters.validate(session)
    query = inbox_query(school.id, filters, cursor, sent, limit)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    keychain = Keychain(session, school.id, keys)
    page = []
    for copy, alert, body, wrap, generation, public in rows:
        row = InboxRow(copy, alert)
        if alert.shredded:
            row.problem = "Shredded after its retention period."
        elif keys is None:
            row.problem = "Locked: your session cannot open the school's keys."
        elif body is None or wrap is None:
            row.problem = "Content unavailable."
        else:
            try:
                header, plaintext = open_stored(
                    Stored(body, wrap, generation),
                    school.id,
                    keychain,
                    parse_public_keys(public) if public else None,
                )
                _check_header_matches(header, alert)
                row.title = AlertContent.from_bytes(plaintext).title
            except IntegrityFailure:
                row.problem = "Failed its integrity check: not shown."
        page.append(row)
    opened = [str(r.alert.id) for r in page if r.title]
    if opened:
        audit.record(
            session,
            "inbox.titles_decrypted",
            actor=actor,
            school_id=school.id,
            object_type="school",
            object_id=school.id,
            alerts=opened,
            box="sent" if sent else "inbox",
        )
    next_cursor = (
        encode_cursor(page[-1].copy.created_at, page[-1].copy.alert_id) if more and page else None
    )
    return InboxPage(page, next_cursor)


def _apply_filters(query, filters: InboxFilters):  # type: ignore[no-untyped-def]
    if filters.status == "unread":
        query = query.where(AlertRecipient.first_read_at.is_(None))
    elif filters.status == "unacknowledged":
        query = query.where(AlertRecipient.acknowledged_at.is_(None))
    elif filters.status == "acknowledged":
        query = query.where(AlertRecipient.acknowledged_at.is_not(None))
    elif filters.status in ("open", "resolved"):
        query = query.where(Alert.status == filters.status)
    if filters.category:
        query = query.where(Alert.category == filters.category)
    if filters.severity:
        query = query.where(Alert.severity == filters.severity)
    if filters.platform:
        query = query.where(Alert.platform == filters.platform)
    if filters.sender:
        query = query.where(Alert.sender_school_id == filters.sender)
    return query


def unread_count(session: Session, school_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AlertRecipient)
            .where(
                AlertRecipient.school_id == school_id,
                AlertRecipient.is_sender.is_(False),
                AlertRecipient.first_read_at.is_(None),
            )
        )
        or 0
    )


def schools_to_choose(session: Session, actor: Member) -> list[School]:
    """Schools of the member's cluster that can receive alerts now."""
    own = actor.school
    if own is None:
        return []
    return [
        s
        for s in session.scalars(
            select(School)
            .where(
                School.cluster_id == own.cluster_id,
                School.kind == SchoolKind.SCHOOL,
                School.id != own.id,
            )
            .order_by(School.name)
        )
        if _receiving(s) is None
    ]


def possible_senders(session: Session, school: School) -> list[School]:
    """Schools an inbox filter can name: the cluster's (a small table, so the
    filter costs nothing however large the inbox grows)."""
    return list(
        session.scalars(
            select(School)
            .where(School.cluster_id == school.cluster_id, School.kind == SchoolKind.SCHOOL)
            .order_by(School.name)
        )
    )


# --- retention --------------------------------------------------------------------------


# Alerts shredded per statement batch (well under SQLite's bound-variable limit).
SHRED_BATCH = 500


def shred_expired(session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Crypto-shred alerts past their cluster's retention period: ciphertext and
    wraps are deleted; the metadata tombstone and the audit entries stay. A few
    statements per batch of alerts, whatever their threads hold."""
    now = now or utcnow()
    shredded: list[uuid.UUID] = []
    while expired := list(
        session.scalars(
            select(Alert)
            .where(Alert.expires_at <= now, Alert.status != "shredded")
            .limit(SHRED_BATCH)
        )
    ):
        ids = [alert.id for alert in expired]
        items = ThreadItem.alert_id.in_(ids)
        sealed_ids = [alert.sealed_id for alert in expired if alert.sealed_id is not None]
        sealed_ids += session.scalars(
            select(ThreadItem.sealed_id).where(items, ThreadItem.sealed_id.is_not(None))
        )
        session.execute(
            update(ThreadItem)
            .where(items)
            .values(sealed_id=None)
            .execution_options(synchronize_session=False)
        )
        for alert in expired:
            alert.sealed_id = None
            alert.status = "shredded"
            alert.shredded_at = now
            audit.record(
                session,
                "alert.shredded",
                school_id=alert.sender_school_id,
                cluster_id=alert.cluster_id,
                object_type="alert",
                object_id=alert.id,
                envelope_hash=alert.envelope_hash,
            )
        session.flush()
        if sealed_ids:
            session.execute(
                SealedWrap.__table__.delete().where(SealedWrap.sealed_id.in_(sealed_ids))
            )
            session.execute(Sealed.__table__.delete().where(Sealed.id.in_(sealed_ids)))
        shredded += ids
    return shredded


def set_minimum_age(session: Session, actor: Member, code: str, age: int) -> Platform:
    """Platforms change their terms; the hub admin keeps the minimum ages current."""
    platform = session.get(Platform, code)
    if platform is None:
        raise NotFound("No such platform.")
    if not 0 <= age <= 21:
        raise InvalidInput(
            "Enter an age from 0 to 21 (0 if the platform sets none).", field="minimum_age"
        )
    before = platform.minimum_age
    platform.minimum_age = age
    audit.record(
        session,
        "platform.minimum_age_changed",
        actor=actor,
        object_type="platform",
        object_id=code,
        before=before,
        after=age,
    )
    session.flush()
    return platform


@dataclass
class ClusterAlertRow:
    alert: Alert
    acknowledged: int
    read: int


def cluster_alerts(
    session: Session, actor: Member, cursor: str | None = None, limit: int = 50
) -> tuple[list[ClusterAlertRow], str | None]:
    """Every alert of the coordinator's cluster, newest first: metadata only."""
    cluster_id = policy.check_sees_cluster_alerts(actor)
    query = select(Alert).where(Alert.cluster_id == cluster_id)
    if cursor:
        moment, last_id = decode_cursor(cursor)
        query = query.where(
            or_(Alert.created_at < moment, and_(Alert.created_at == moment, Alert.id < last_id))
        )
    alerts = list(
        session.scalars(
            query.order_by(Alert.created_at.desc(), Alert.id.desc())
            .limit(limit + 1)
            .options(raiseload("*"), joinedload(Alert.sender_school).raiseload("*"))
        )
    )
    more = len(alerts) > limit
    alerts = alerts[:limit]
    counts = {
        alert_id: (int(acks), int(reads))
        for alert_id, acks, reads in session.execute(
            select(
                AlertRecipient.alert_id,
                func.count(AlertRecipient.acknowledged_at),
                func.count(AlertRecipient.first_read_at),
            )
            .where(
                AlertRecipient.alert_id.in_([a.id for a in alerts]),
                AlertRecipient.is_sender.is_(False),
            )
            .group_by(AlertRecipient.alert_id)
        )
    }
    rows = [ClusterAlertRow(a, *counts.get(a.id, (0, 0))) for a in alerts]
    next_cursor = encode_cursor(alerts[-1].created_at, alerts[-1].id) if more and alerts else None
    return rows, next_cursor


def posted_entry(session: Session, actor: Member, alert_id: uuid.UUID) -> int:
    """The audit sequence number of an alert's "alert.posted" entry, for the
    sending school's receipt (its inclusion proof in the signed log)."""
    view = content_for(session, actor, alert_id)
    if view.copy is None or not view.copy.is_sender:
        raise NotFound("Only the school that sent an alert has its receipt.")
    seq = session.scalar(
        select(AuditEvent.seq).where(
            AuditEvent.action == "alert.posted", AuditEvent.object_id == str(alert_id)
        )
    )
    if seq is None:
        raise NotFound("This alert's audit entry is not in the log yet.")
    return int(seq)
