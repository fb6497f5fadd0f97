"""Reading an alert: open and verify it and its thread for the member's school,
record the opening, and download its attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from crypto.envelope import Header
from crypto.keys import SchoolKeys, SchoolPublicKeys
from network.alerts.access import (
    AlertView,
    alert_for,
    content_for,
    forwarding_allowed,
    may_forward,
)
from network.alerts.audience import forward_choices
from network.alerts.auditing import record_for_alert
from network.alerts.content import AlertContent, Evidence, Note
from network.alerts.keychain import Keychain, public_keys_of
from network.alerts.models import Alert, AlertRecipient, Platform, ThreadItem
from network.alerts.sealing import IntegrityFailure, Stored, load_for, open_stored, require
from network.alerts.vocab import ALERT_KIND, ItemKind
from schools.db import utcnow
from schools.errors import NotFound
from schools.models import Member, School, SchoolKeyGeneration


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


def copies_of(session: Session, alert: Alert) -> list[AlertRecipient]:
    """Every school's copy, the sender's first, with what the alert page shows
    of each: the school and who read and acknowledged it."""
    return list(
        session.scalars(
            select(AlertRecipient)
            .where(AlertRecipient.alert_id == alert.id)
            .order_by(AlertRecipient.is_sender.desc())
            .options(
                joinedload(AlertRecipient.school),
                selectinload(AlertRecipient.first_read_by),
                selectinload(AlertRecipient.acknowledged_by),
            )
        )
    )


def _signer(row: Alert | ThreadItem) -> tuple[uuid.UUID, int]:
    """The school and key generation that signed an alert or item."""
    if isinstance(row, Alert):
        return row.sender_school_id, row.sender_generation
    return row.author_school_id, row.author_generation


@dataclass(frozen=True)
class _Envelopes:
    """What one school needs to open envelopes of one alert: the shared parts
    and its wraps, and the signers' public keys (two queries for them all)."""

    keychain: Keychain
    stored: dict[int, Stored]
    signers: dict[tuple[uuid.UUID, int], SchoolPublicKeys]

    @classmethod
    def load(
        cls, session: Session, keychain: Keychain, rows: Sequence[Alert | ThreadItem]
    ) -> _Envelopes:
        sealed_ids = [row.sealed_id for row in rows if row.sealed_id is not None]
        stored = load_for(session, sealed_ids, keychain.school_id)
        signers = public_keys_of(session, {_signer(row) for row in rows})
        return cls(keychain, stored, signers)

    def open(self, row: Alert | ThreadItem) -> tuple[Header, bytes]:
        """Verify and decrypt; an IntegrityFailure (or NotFound once shredded)."""
        return open_stored(
            require(self.stored, row.sealed_id),
            self.keychain.school_id,
            self.keychain,
            self.signers.get(_signer(row)),
        )


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
        record_for_alert(session, "alert.metadata_viewed", actor, alert, None)
        return opened
    if alert.shredded:
        return opened
    assert view.copy is not None
    keychain = Keychain(session, view.copy.school_id, keys)
    items = list(
        session.scalars(
            select(ThreadItem)
            .where(ThreadItem.alert_id == alert.id)
            .order_by(ThreadItem.created_at)
        )
    )
    envelopes = _Envelopes.load(session, keychain, [alert, *items])
    keychain.require_current()
    try:
        header, plaintext = envelopes.open(alert)
        check_header_matches(header, alert)
        opened.content = AlertContent.from_bytes(plaintext)
    except IntegrityFailure as failure:
        opened.problem = failure.message
    for item in items:
        entry = OpenedItem(item)
        try:
            item_header, data = envelopes.open(item)
            if item_header.parent != alert.id.bytes or item_header.kind != item.kind:
                raise IntegrityFailure("This item does not belong to this alert.")
            if item.kind == ItemKind.ATTACHMENT:
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
    record_for_alert(session, "alert.opened", actor, alert, alert.envelope_hash, items=len(items))
    session.flush()
    return opened


def check_header_matches(header: Header, alert: Alert) -> None:
    """The signed header must say what the hub's clear columns say."""
    if (
        header.alert_id != alert.id.bytes
        or header.kind != ALERT_KIND
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


@dataclass(frozen=True)
class AlertPage:
    """What the alert's page shows: the opened alert, whether its handling label
    allows forwarding, and whether and to which schools the member may forward it."""

    opened: OpenedAlert
    forwarding_allowed: bool
    may_forward: bool
    forward_to: list[School]


def alert_page(
    session: Session, actor: Member, keys: SchoolKeys | None, alert_id: uuid.UUID
) -> AlertPage:
    opened = open_alert(session, actor, keys, alert_id)
    alert = opened.view.alert
    # Forwarding to a school that already has the alert would only duplicate it.
    return AlertPage(
        opened,
        forwarding_allowed(alert),
        may_forward(actor, alert),
        forward_choices(session, actor, alert),
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
    if item is None or item.alert_id != view.alert.id or item.kind != ItemKind.ATTACHMENT:
        raise NotFound("No such attachment.")
    assert view.copy is not None
    keychain = Keychain(session, view.copy.school_id, keys)
    keychain.require_current()
    header, data = _Envelopes.load(session, keychain, [item]).open(item)
    if header.parent != view.alert.id.bytes:
        raise IntegrityFailure("This attachment does not belong to this alert.")
    record_download(session, actor, view.alert, item)
    return Evidence.from_bytes(data)


def record_download(session: Session, actor: Member, alert: Alert, item: ThreadItem) -> None:
    record_for_alert(
        session, "alert.attachment_downloaded", actor, alert, item.envelope_hash, item=str(item.id)
    )
