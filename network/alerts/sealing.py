"""Storing envelopes and opening them: one piece of code for alerts, replies,
actions, acknowledgements and attachments alike."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from crypto import envelope as env
from crypto.envelope import (
    TIER_ALL,
    TIER_LEADERSHIP,
    TIER_PERSON_PREFIX,
    Envelope,
    Header,
    Opened,
    Origin,
    Recipient,
)
from crypto.errors import CryptoError, MalformedEnvelope, UnwrapError
from crypto.header import person_tier
from crypto.keys import SchoolKeys, SchoolPublicKeys
from crypto.records import open_verified_before, read_key
from network.alerts.keychain import (
    Keychain,
    leadership_public_keys_of,
    personal_public_keys_of,
    public_keys_of,
)
from network.alerts.models import Sealed, SealedWrap
from network.alerts.named_models import TIER_NAMED
from schools.db import table_of
from schools.errors import Conflict, DomainError, NotFound
from schools.models import Member, School


class IntegrityFailure(DomainError):
    """An envelope failed verification: shown as such, never partially."""

    status = 409
    # The API's problem document says so in a member of its own.
    problem_extensions = {"verified": False}


@dataclass(frozen=True)
class Audience:
    """Schools an envelope is sealed to, each at its tier (all staff unless
    ``tiers`` says "leadership" or "named"), with the generation of that
    tier's keys. A school at the named tier gets one recipient per member in
    ``named`` (member, generation of their personal keys: network/alerts/named.py)."""

    schools: tuple[School, ...]
    tiers: Mapping[uuid.UUID, str] = field(default_factory=dict)
    named: Mapping[uuid.UUID, tuple[tuple[uuid.UUID, int], ...]] = field(default_factory=dict)

    def tier_of(self, school: School) -> str:
        return self.tiers.get(school.id, TIER_ALL)

    def recipients(self) -> tuple[Recipient, ...]:
        found: list[Recipient] = []
        for s in self.schools:
            tier = self.tier_of(s)
            if tier == TIER_NAMED:
                found.extend(
                    Recipient(str(s.id), generation, person_tier(member_id))
                    for member_id, generation in self.named.get(s.id, ())
                )
            else:
                generation = (
                    s.leadership_generation if tier == TIER_LEADERSHIP else s.key_generation
                )
                found.append(Recipient(str(s.id), generation, tier))
        return tuple(found)


def seal_and_store(
    session: Session,
    *,
    alert_id: uuid.UUID,
    kind: str,
    parent: uuid.UUID | None,
    sender: Member,
    sender_keys: SchoolKeys,
    audience: Audience,
    created_at: datetime,
    category: str = "",
    severity: str = "",
    platform: str = "",
    tlp: str = "",
    action_type: str = "",
    attached_to: uuid.UUID | None = None,
    position: int = 0,
    forwarded_from: Origin | None = None,
    indicators: tuple[bytes, ...] = (),
    plaintext: bytes,
    summary: bytes = b"",
) -> tuple[Envelope, Sealed]:
    """Seal to the audience and store the shared part and one wrap per school.

    Everything the hub also keeps in clear about the item (ids, sender, time,
    filing, action type, an attachment's place, a forward's origin, indicator
    hashes) goes into
    the signed header, so that readers can check the hub's columns against it
    (network/alerts/integrity.py)."""
    school = sender.school
    assert school is not None
    recipients = audience.recipients()
    staff = {(uuid.UUID(r.school), r.generation) for r in recipients if r.tier == TIER_ALL}
    leaders = {(uuid.UUID(r.school), r.generation) for r in recipients if r.tier == TIER_LEADERSHIP}
    people = {
        (uuid.UUID(r.tier.removeprefix(TIER_PERSON_PREFIX)), r.generation)
        for r in recipients
        if r.tier.startswith(TIER_PERSON_PREFIX)
    }
    by_tier = {
        TIER_ALL: public_keys_of(session, staff),
        TIER_LEADERSHIP: leadership_public_keys_of(session, leaders),
    }
    by_person = personal_public_keys_of(session, people)

    def key_of(r: Recipient) -> SchoolPublicKeys | None:
        if r.tier.startswith(TIER_PERSON_PREFIX):
            return by_person.get((uuid.UUID(r.tier.removeprefix(TIER_PERSON_PREFIX)), r.generation))
        return by_tier[r.tier].get((uuid.UUID(r.school), r.generation))

    public = {r: key for r in recipients if (key := key_of(r)) is not None}
    # A school is missing with no recipient entry, or one without published keys.
    present = {r.school for r in recipients}
    unkeyed = {r.school for r in recipients if r not in public}
    missing = [s.name for s in audience.schools if str(s.id) not in present or str(s.id) in unkeyed]
    if missing:
        raise Conflict(f"No published keys for {', '.join(missing)}.")
    header = Header(
        version=env.HEADER_VERSION,
        alert_id=alert_id.bytes,
        cluster=str(school.cluster_id),
        sender_school=str(school.id),
        sender_generation=sender_keys.generation,
        sender_member=str(sender.id),
        created_at=created_at,
        kind=kind,
        parent=parent.bytes if parent else None,
        category=category,
        severity=severity,
        platform=platform,
        tlp=tlp,
        recipients=recipients,
        action_type=action_type,
        attached_to=attached_to.bytes if attached_to else None,
        position=position,
        forwarded_from=forwarded_from,
        # Version 1 (still sealed where a test asks for it) carries none.
        indicators=indicators if env.HEADER_VERSION >= 2 else (),
    )
    sealed_envelope = env.seal(
        header,
        plaintext,
        public,
        sender_keys,
        summary if header.version >= 2 else b"",
    )
    row = Sealed(body=sealed_envelope.without_wraps().to_bytes())
    session.add(row)
    session.flush()
    # Into the table itself: one statement, no per-row ORM bookkeeping (an
    # ORM entity's bulk insert re-examines every row's values in Python).
    session.execute(
        insert(table_of(SealedWrap)),
        [
            {
                "sealed_id": row.id,
                "school_id": uuid.UUID(r.school),
                "generation": r.generation,
                "tier": r.tier,
                "wrap": wrap,
            }
            for r, wrap in sealed_envelope.wraps
        ],
    )
    return sealed_envelope, row


@dataclass(frozen=True)
class Stored:
    """What one school needs to open one sealed envelope."""

    body: bytes
    wrap: bytes
    generation: int
    tier: str = TIER_ALL
    # The school's read record of the envelope, sealed under K_read of the
    # bundle of ``generation`` and ``tier`` (read_records.py), when it
    # verified it before.
    record: bytes | None = None


def open_shared(body: bytes, content_key: bytes, sender_public: SchoolPublicKeys | None) -> Opened:
    """Open an envelope's shared part with a content key handed on by a
    forward: the original sender's signatures and the key commitment are
    checked as for a recipient."""
    if sender_public is None:
        raise IntegrityFailure("The original sender's public keys are missing.")
    try:
        return env.open_with_content_key(Envelope.from_bytes(body), content_key, sender_public)
    except CryptoError as error:
        raise IntegrityFailure(
            f"The original alert failed its integrity check ({type(error).__name__})."
        ) from error


def load_for(
    session: Session,
    sealed_ids: Sequence[int],
    school_id: uuid.UUID,
    tiers: Sequence[str] = (TIER_ALL,),
) -> dict[int, Stored]:
    """The shared parts and this school's wraps of the ``tiers`` the reader
    holds keys of, for several envelopes, one query. An envelope sealed to the
    school at another tier is not loaded at all."""
    if not sealed_ids:
        return {}
    rows = session.execute(
        select(Sealed.id, Sealed.body, SealedWrap.wrap, SealedWrap.generation, SealedWrap.tier)
        .join(SealedWrap, SealedWrap.sealed_id == Sealed.id)
        .where(
            Sealed.id.in_(list(sealed_ids)),
            SealedWrap.school_id == school_id,
            SealedWrap.tier.in_(list(tiers)),
        )
    ).all()
    return {sid: Stored(body, wrap, gen, tier) for sid, body, wrap, gen, tier in rows}


def open_stored(
    stored: Stored, school_id: uuid.UUID, keychain: Keychain, sender_public: SchoolPublicKeys | None
) -> Opened:
    """Verify and decrypt; any failure is an IntegrityFailure, never partial text.
    With the school's read record of the envelope (``stored.record``), the
    record stands in for the signatures (crypto/records.py
    ``open_verified_before``); a record that does not prove it is ignored and
    the envelope verified in full."""
    opened, _hash = open_stored_hashed(stored, school_id, keychain, sender_public)
    return opened


def open_stored_hashed(
    stored: Stored, school_id: uuid.UUID, keychain: Keychain, sender_public: SchoolPublicKeys | None
) -> tuple[Opened, bytes]:
    """``open_stored``, and the envelope hash (what a read record is bound to)."""
    return _open(stored, school_id, keychain, sender_public, summary_only=False)


def open_summary(
    stored: Stored, school_id: uuid.UUID, keychain: Keychain, sender_public: SchoolPublicKeys | None
) -> tuple[Opened, bytes]:
    """What a list shows: both signatures and the key commitment checked as for
    the whole envelope, but of a version 2 envelope only the summary is
    decrypted (the body stays sealed; its hash stands in for it). Version 1
    has no summary, so its body is decrypted too. Returns the opened envelope
    and its envelope hash (what a read record is bound to)."""
    return _open(stored, school_id, keychain, sender_public, summary_only=True)


def _open(
    stored: Stored,
    school_id: uuid.UUID,
    keychain: Keychain,
    sender_public: SchoolPublicKeys | None,
    *,
    summary_only: bool,
) -> tuple[Opened, bytes]:
    if sender_public is None:
        raise IntegrityFailure(
            "The sender's public keys are missing, so this cannot be verified and is not shown."
        )
    try:
        envelope = Envelope.from_bytes(stored.body)
        if envelope.withheld:
            raise MalformedEnvelope("the hub stored this envelope without its body")
        if summary_only and envelope.version >= 2:
            envelope = envelope.summary_only()
        recipient = Recipient(str(school_id), stored.generation, stored.tier)
        keys = keychain.for_recipient(stored.generation, stored.tier)
        mine = envelope.with_wraps([(recipient, stored.wrap)])
        if stored.record is not None and not summary_only:
            try:
                opened = open_verified_before(
                    mine, recipient, keys, read_key(keys, stored.tier), stored.record
                )
                return opened, envelope.envelope_hash()
            except UnwrapError:
                pass  # not this envelope's record: verify in full, as the first time
        opened = env.open_envelope(mine, recipient, keys, sender_public)
        return opened, envelope.envelope_hash()
    except CryptoError as error:
        raise IntegrityFailure(
            f"This item failed its integrity check ({type(error).__name__}) and is not shown. "
            "Tell your coordinator: it may have been altered on the hub."
        ) from error


def require(stored: dict[int, Stored], sealed_id: int | None) -> Stored:
    if sealed_id is None or sealed_id not in stored:
        raise NotFound("That content is no longer available.")
    return stored[sealed_id]
