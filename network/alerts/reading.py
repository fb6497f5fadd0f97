"""Reading an alert: open and verify it and its thread for the member's school,
record the opening, and download its attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from crypto.envelope import Header, Opened
from crypto.keys import SchoolKeys
from network.alerts import unread_marks
from network.alerts.access import (
    AlertView,
    alert_for,
    content_for,
    forwarding_allowed,
    may_amend,
    may_forward,
    sent_to_named_people,
)
from network.alerts.audience import forward_choices
from network.alerts.auditing import record_for_alert
from network.alerts.content import AlertContent, Evidence, Note, Sighting
from network.alerts.indicators import Correlation, correlations, stored_hashes
from network.alerts.integrity import (
    EARLIER_FORMAT,
    check_alert,
    check_attachment_places,
    check_item,
)
from network.alerts.keychain import Keychain, Signer, signers_of
from network.alerts.models import Alert, AlertRecipient, Platform, Sealed, ThreadItem
from network.alerts.read_records import Verified, keep, load_with_records
from network.alerts.sealing import (
    IntegrityFailure,
    Stored,
    open_shared,
    open_stored_hashed,
    require,
)
from network.alerts.search import index_opened
from network.alerts.vocab import ItemKind
from schools.db import utcnow
from schools.errors import NotFound
from schools.models import Member, School
from schools.session_correlation import keeper_of

# What a page shows above the alert rather than in its thread.
ABOVE_THE_ALERT = frozenset({ItemKind.CORRECTION, ItemKind.WITHDRAWAL})


@dataclass
class OpenedItem:
    item: ThreadItem
    text: str = ""
    evidence: Evidence | None = None
    problem: str = ""
    # The verified header: what the page shows of the item is what it says.
    signed: Header | None = None
    sighting: Sighting | None = None


@dataclass(frozen=True)
class Provenance:
    """Where a forward came from, as its readers could check it."""

    alert_id: uuid.UUID
    sender: School | None
    sent_at: datetime | None
    # Both signatures checked: the forwarder's, and the original sender's over
    # the original, opened with the content key the forward carries.
    checked: bool
    note: str = ""


@dataclass
class OpenedAlert:
    view: AlertView
    content: AlertContent | None
    sender_fingerprint: str
    items: list[OpenedItem] = field(default_factory=list)
    copies: list[AlertRecipient] = field(default_factory=list)
    platform: Platform | None = None
    problem: str = ""
    # The verified header (None until it verified): pages show its values.
    signed: Header | None = None
    origin: Provenance | None = None
    # The envelope's content key, kept in memory only: a forward hands it on.
    content_key: bytes = field(default=b"", repr=False)
    # Other alerts naming the same links, accounts or groups (indicators.py).
    correlations: list[Correlation] = field(default_factory=list)

    @property
    def sighted_by(self) -> list[School]:
        """The schools that said "We've seen this too", in the order they did,
        each once (from verified items only)."""
        schools: dict[uuid.UUID, School] = {}
        for entry in self.items:
            if entry.sighting is not None:
                schools.setdefault(entry.item.author_school_id, entry.item.author_school)
        return list(schools.values())

    @property
    def withdrawal(self) -> OpenedItem | None:
        """The sender's signed withdrawal, once it withdrew the alert."""
        return next((e for e in self.items if e.item.kind == ItemKind.WITHDRAWAL), None)

    @property
    def withdrawn_by_sender(self) -> bool:
        """Withdrawn as the sending school signed it: the hub's status alone
        does not make an alert withdrawn on the page."""
        withdrawal = self.withdrawal
        return withdrawal is not None and withdrawal.signed is not None

    @property
    def corrections(self) -> list[OpenedItem]:
        """The sender's signed corrections, newest first: shown above the original."""
        return [e for e in reversed(self.items) if e.item.kind == ItemKind.CORRECTION]

    @property
    def thread(self) -> list[OpenedItem]:
        """The thread below the alert: everything but corrections and the withdrawal."""
        return [e for e in self.items if e.item.kind not in ABOVE_THE_ALERT]

    @property
    def earlier_format(self) -> bool:
        return self.signed is not None and self.signed.version < 2

    @property
    def integrity_failed(self) -> bool:
        """The member's school holds the alert, but it failed its checks."""
        return self.view.may_read_content and self.content is None and bool(self.problem)


_UNSIGNED_WITHDRAWAL = (
    "The hub's record says the sender withdrew this alert, but no withdrawal signed by "
    "the sending school opens. It is not shown; tell your coordinator."
)


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
    """What one school needs to open envelopes of one alert: the shared parts,
    its wraps and read records, and the signers' public keys (two queries for
    them all); and the envelopes it verified in full, to keep records of."""

    keychain: Keychain
    stored: dict[int, Stored]
    signers: dict[tuple[uuid.UUID, int], Signer]
    verified: dict[int, Verified] = field(default_factory=dict)

    @classmethod
    def load(
        cls, session: Session, keychain: Keychain, rows: Sequence[Alert | ThreadItem]
    ) -> _Envelopes:
        sealed_ids = [row.sealed_id for row in rows if row.sealed_id is not None]
        stored = load_with_records(session, sealed_ids, keychain.school_id, keychain.tiers)
        signers = signers_of(session, {_signer(row) for row in rows})
        return cls(keychain, stored, signers)

    def open(self, row: Alert | ThreadItem) -> Opened:
        """Verify and decrypt; an IntegrityFailure (or NotFound once shredded).
        A read record of the school's stands in for the signatures."""
        signer = self.signers.get(_signer(row))
        if row.sealed_id is not None and row.sealed_id not in self.stored:
            # Sealed to the school at a tier this reader holds no keys of.
            raise NotFound(NOT_SEALED_TO_YOU)
        stored = require(self.stored, row.sealed_id)
        opened, envelope_hash = open_stored_hashed(
            stored,
            self.keychain.school_id,
            self.keychain,
            signer.public if signer is not None else None,
        )
        if stored.record is None and row.sealed_id is not None:
            self.verified[row.sealed_id] = Verified(
                row.sealed_id, stored.generation, envelope_hash, opened, stored.tier
            )
        return opened

    def keep_records(self, session: Session, checked: Sequence[Alert | ThreadItem]) -> None:
        """Records of the envelopes verified in full that also passed their checks."""
        ids = {row.sealed_id for row in checked}
        keep(
            session,
            self.keychain.school_id,
            self.keychain,
            [v for sealed_id, v in self.verified.items() if sealed_id in ids],
        )

    def retired_at(self, row: Alert | ThreadItem) -> datetime | None:
        """When the generation that signed ``row`` was retired (None: current)."""
        signer = self.signers.get(_signer(row))
        return signer.retired_at if signer is not None else None


NOT_SEALED_TO_YOU = (
    "Not sealed to you: your school's share of it is for its leadership only "
    "(or it is no longer available)."
)


def open_alert(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_id: uuid.UUID,
    now: datetime | None = None,
    forwarding: bool = False,
) -> OpenedAlert:
    """Decrypt and verify an alert and its thread for the member's school, and
    record the opening. A coordinator who is not a recipient gets metadata only.

    Attachments are opened (and so verified) along with the rest; their bytes
    are dropped unless ``forwarding``, which needs them, and which records
    ``alert.forwarded`` (and each download) instead of another opening, and
    matches no indicators."""
    view = alert_for(session, actor, alert_id)
    alert = view.alert
    opened = OpenedAlert(
        view,
        None,
        "",
        copies=copies_of(session, alert),
        platform=session.get(Platform, alert.platform),
    )
    if not view.may_read_content:
        record_for_alert(session, "alert.metadata_viewed", actor, alert, None, read=True)
        return opened
    if alert.shredded and not alert.withdrawn:
        return opened
    assert view.copy is not None
    keychain = Keychain(session, view.copy.school_id, keys)
    query = select(ThreadItem).where(ThreadItem.alert_id == alert.id)
    if alert.withdrawn:
        # All that is left of it: the sender's signed withdrawal and its reason.
        query = query.where(ThreadItem.kind == ItemKind.WITHDRAWAL)
    items = list(session.scalars(query.order_by(ThreadItem.created_at)))
    envelopes = _Envelopes.load(session, keychain, [alert, *items])
    keychain.require_current()
    # The fingerprint shown beside the tick is that of the key that checks the
    # signature, not a column the hub keeps beside it.
    signer = envelopes.signers.get(_signer(alert))
    opened.sender_fingerprint = signer.public.fingerprint() if signer is not None else ""
    if not alert.withdrawn:
        _open_the_alert(session, envelopes, opened)
    attachments: list[Header] = []
    failed: list[uuid.UUID] = []
    for item in items:
        entry = OpenedItem(item)
        try:
            item_sealed = envelopes.open(item)
            check_item(item_sealed.header, item, alert, retired_at=envelopes.retired_at(item))
            data = item_sealed.body
            assert data is not None
            if item.kind == ItemKind.ATTACHMENT:
                attachments.append(item_sealed.header)
                evidence = Evidence.from_bytes(data)
                entry.evidence = (
                    evidence
                    if forwarding
                    else Evidence(evidence.filename, evidence.content_type, b"")
                )
            elif item.kind == ItemKind.SIGHTING:
                entry.sighting = Sighting.from_bytes(data)
            else:
                entry.text = Note.from_bytes(data).text
            entry.signed = item_sealed.header
        except IntegrityFailure as failure:
            entry.problem = failure.message
            failed.append(item.id)
        except NotFound as gone:
            entry.problem = gone.message
        opened.items.append(entry)
    if alert.withdrawn and not opened.withdrawn_by_sender:
        # The hub's status says withdrawn; no withdrawal the sender signed says so.
        opened.problem = _UNSIGNED_WITHDRAWAL
    if opened.content is not None:
        try:
            check_attachment_places(attachments, opened.content.attachments)
        except IntegrityFailure as failure:
            opened.content, opened.signed, opened.problem = None, None, failure.message
    own = envelopes.stored.get(alert.sealed_id) if alert.sealed_id is not None else None
    if opened.content is not None and own is not None:
        # The school's search index (network/alerts/search.py): title and
        # description, under the key of the copy's tier.
        index_opened(
            session,
            keychain,
            alert.id,
            own.generation,
            own.tier,
            [opened.content.title, opened.content.description],
        )
    if opened.content is not None and actor.school is not None and not forwarding:
        opened.correlations = correlations(
            session,
            actor.school,
            keychain.for_generation,
            alert,
            opened.content,
            actor,
            kept=keeper_of(keychain.current),
        )
    checked: list[Alert | ThreadItem] = [alert] if opened.signed is not None else []
    envelopes.keep_records(session, checked + [e.item for e in opened.items if e.signed])
    now = now or utcnow()
    if view.copy.first_read_at is None:
        view.copy.first_read_at, view.copy.first_read_by = now, actor
    unread_marks.opened(session, actor, alert.id, now)
    if opened.integrity_failed or failed:
        # For the coordinator: a record on the hub no longer matches what was signed.
        record_for_alert(
            session,
            "alert.integrity_failed",
            actor,
            alert,
            alert.envelope_hash,
            alert_failed=opened.integrity_failed,
            items=[str(i) for i in failed],
        )
    if not opened.integrity_failed and not forwarding:
        record_for_alert(
            session, "alert.opened", actor, alert, alert.envelope_hash, read=True, items=len(items)
        )
    session.flush()
    return opened


def _open_the_alert(session: Session, envelopes: _Envelopes, opened: OpenedAlert) -> None:
    alert = opened.view.alert
    try:
        sealed = envelopes.open(alert)
        check_alert(
            sealed.header,
            alert,
            opened.copies,
            retired_at=envelopes.retired_at(alert),
            indicators=stored_hashes(session, alert.id),
        )
        assert sealed.body is not None
        content = AlertContent.from_bytes(sealed.body)
        if alert.forwarded_from_id is not None:
            opened.origin = _provenance(session, sealed.header, alert, content)
        opened.content, opened.signed = content, sealed.header
        opened.content_key = sealed.content_key
    except IntegrityFailure as failure:
        opened.problem = failure.message


def _provenance(
    session: Session, header: Header, alert: Alert, content: AlertContent
) -> Provenance:
    """Check a forward against its original: the forward names the original
    (alert, sending school, envelope hash) in its signed header and carries the
    original's content key, so the reader opens the original's shared part,
    checks its sender's signatures and key commitment, and that the forward
    reports what the original said."""
    original_id = alert.forwarded_from_id
    assert original_id is not None
    original = session.get(Alert, original_id)
    origin = header.forwarded_from
    sender = original.sender_school if original is not None else None
    sent_at = original.created_at if original is not None else None

    def unchecked(note: str) -> Provenance:
        return Provenance(original_id, sender, sent_at, False, note)

    if origin is None:  # version 1: the origin is the hub's word only
        return unchecked(EARLIER_FORMAT)
    if original is None or original.shredded or original.sealed_id is None:
        return unchecked("The original has since been shredded, so it could not be checked.")
    if not content.original_key:
        raise IntegrityFailure("This forward does not carry the key of its original.")
    body = session.scalar(select(Sealed.body).where(Sealed.id == original.sealed_id))
    signer = signers_of(session, {_signer(original)}).get(_signer(original))
    if body is None:
        return unchecked("The original has since been shredded, so it could not be checked.")
    opened = open_shared(body, content.original_key, signer.public if signer else None)
    check_alert(opened.header, original, retired_at=signer.retired_at if signer else None)
    if (
        origin.alert_id != original.id.bytes
        or origin.sender_school != str(original.sender_school_id)
        or origin.envelope_hash != original.envelope_hash
    ):
        raise IntegrityFailure(
            "This forward names another original than the one the hub holds. "
            "It is not shown; tell your coordinator."
        )
    assert opened.body is not None
    if not content.same_report_as(AlertContent.from_bytes(opened.body)):
        raise IntegrityFailure(
            "This forward does not say what its original said. It is not shown; "
            "tell your coordinator."
        )
    return Provenance(original.id, sender, opened.header.created_at, True)


@dataclass(frozen=True)
class AlertPage:
    """What the alert's page shows: the opened alert, whether its handling label
    allows forwarding, and whether and to which schools the member may forward it."""

    opened: OpenedAlert
    forwarding_allowed: bool
    may_forward: bool
    forward_to: list[School]
    # Whether the member may withdraw it and add corrections.
    may_amend: bool
    # Sealed to named people: never forwarded, whatever its label.
    named_only: bool = False


def alert_page(
    session: Session, actor: Member, keys: SchoolKeys | None, alert_id: uuid.UUID
) -> AlertPage:
    opened = open_alert(session, actor, keys, alert_id)
    alert = opened.view.alert
    named_only = sent_to_named_people(session, alert)
    allowed = forwarding_allowed(alert) and not named_only
    may = may_forward(actor, alert) and not named_only
    # The schools to offer, only when the form is shown (two queries); never
    # one that already has the alert, which would only duplicate it.
    offered = allowed and may and opened.content is not None and not alert.shredded
    return AlertPage(
        opened,
        allowed,
        may,
        forward_choices(session, actor, alert) if offered else [],
        may_amend(actor, opened.view) and not alert.shredded,
        named_only,
    )


def download(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_id: uuid.UUID,
    item_id: uuid.UUID,
    preview: bool = False,
) -> Evidence:
    """An attachment, decrypted for the member; audited as a download
    (``preview``: shown in the alert's page rather than saved)."""
    view = content_for(session, actor, alert_id)
    item = session.get(ThreadItem, item_id)
    if item is None or item.alert_id != view.alert.id or item.kind != ItemKind.ATTACHMENT:
        raise NotFound("No such attachment.")
    assert view.copy is not None
    keychain = Keychain(session, view.copy.school_id, keys)
    keychain.require_current()
    envelopes = _Envelopes.load(session, keychain, [item])
    sealed = envelopes.open(item)
    check_item(sealed.header, item, view.alert, retired_at=envelopes.retired_at(item))
    assert sealed.body is not None
    record_download(session, actor, view.alert, item, preview)
    return Evidence.from_bytes(sealed.body)


def record_download(
    session: Session, actor: Member, alert: Alert, item: ThreadItem, preview: bool = False
) -> None:
    record_for_alert(
        session,
        "alert.attachment_downloaded",
        actor,
        alert,
        item.envelope_hash,
        read=True,
        item=str(item.id),
        **({"preview": True} if preview else {}),
    )
