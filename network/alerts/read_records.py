"""A school's read records beside the envelopes it opens again (design.md,
"Open once per school"; crypto/records.py).

The inbox writes a record when it first lists an alert; an alert's page loads
the records of the alert and its thread along with the envelopes, in the same
query, so that a repeat view checks each record in place of the signatures
(sealing.py ``open_stored``), and writes one for each envelope it verified in
full, so that the next view does not verify it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from crypto.envelope import TIER_ALL, Opened
from crypto.records import read_key, seal_read_record
from network.alerts.content import AlertContent
from network.alerts.keychain import Keychain
from network.alerts.models import ReadRecord, Sealed, SealedWrap
from network.alerts.sealing import Stored
from network.alerts.vocab import ALERT_KIND
from schools.db import insert_new, utcnow


def load_with_records(
    session: Session,
    sealed_ids: Sequence[int],
    school_id: uuid.UUID,
    tiers: Sequence[str] = (TIER_ALL,),
) -> dict[int, Stored]:
    """The shared parts, this school's wraps of the ``tiers`` the reader holds
    keys of, and its read records (when it has one) for several envelopes, one
    query. An envelope sealed to the school at another tier is not loaded."""
    if not sealed_ids:
        return {}
    rows = session.execute(
        select(
            Sealed.id,
            Sealed.body,
            SealedWrap.wrap,
            SealedWrap.generation,
            SealedWrap.tier,
            ReadRecord.record,
        )
        .join(SealedWrap, SealedWrap.sealed_id == Sealed.id)
        .outerjoin(
            ReadRecord,
            and_(
                ReadRecord.sealed_id == Sealed.id,
                ReadRecord.school_id == school_id,
                # A record is sealed under K_read of the bundle whose wrap it
                # opened: one of another generation or tier proves nothing here.
                ReadRecord.generation == SealedWrap.generation,
                ReadRecord.tier == SealedWrap.tier,
            ),
        )
        .where(
            Sealed.id.in_(list(sealed_ids)),
            SealedWrap.school_id == school_id,
            SealedWrap.tier.in_(list(tiers)),
        )
    ).all()
    return {
        sid: Stored(body, wrap, gen, tier, record) for sid, body, wrap, gen, tier, record in rows
    }


@dataclass(frozen=True)
class Verified:
    """An envelope this request verified in full (no record proved it before)."""

    sealed_id: int
    generation: int
    envelope_hash: bytes
    opened: Opened
    tier: str = TIER_ALL


def keep(
    session: Session, school_id: uuid.UUID, keychain: Keychain, verified: Sequence[Verified]
) -> None:
    """Seal a read record of each envelope verified in full, as the inbox's
    first listing does: the header (with this school's own recipient entry
    only) and the summary a list shows. Call only for envelopes that also
    passed their checks against the hub's columns. Two members opening at once
    both write one: the second is skipped."""
    rows: list[dict[str, object]] = []
    for entry in verified:
        header, summary = entry.opened.header, entry.opened.summary
        if not summary and header.kind == ALERT_KIND and entry.opened.body is not None:
            # Version 1: no summary part; the inbox reads the title from this.
            summary = AlertContent.from_bytes(entry.opened.body).summary()
        listed = replace(
            header, recipients=tuple(r for r in header.recipients if r.school == str(school_id))
        )
        key = read_key(keychain.for_recipient(entry.generation, entry.tier), entry.tier)
        rows.append(
            {
                "sealed_id": entry.sealed_id,
                "school_id": school_id,
                "generation": entry.generation,
                "tier": entry.tier,
                "record": seal_read_record(key, entry.envelope_hash, listed, summary),
                "created_at": utcnow(),
            }
        )
    insert_new(
        session,
        ReadRecord,
        rows,
        key=["sealed_id", "school_id", "tier"],
        returning=ReadRecord.sealed_id,
    )
