"""Retention: alerts past their cluster's retention period are crypto-shredded
(and ``shred``, the shredding itself, serves a sender withdrawing an alert)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from network.alerts.models import Alert, ReadRecord, Sealed, SealedWrap, ThreadItem
from network.alerts.vocab import AlertStatus
from schools import audit
from schools.db import utcnow

# Alerts shredded per statement batch (well under SQLite's bound-variable limit).
SHRED_BATCH = 500


def shred_expired(session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Crypto-shred alerts past their cluster's retention period: ciphertext and
    wraps are deleted; the metadata tombstone and the audit entries stay. A few
    statements per batch of alerts, whatever their threads hold. Schools' read
    records of the envelopes go too (they hold the titles)."""
    now = now or utcnow()
    shredded: list[uuid.UUID] = []
    while expired := list(
        session.scalars(
            select(Alert)
            .where(Alert.expires_at <= now, Alert.status != AlertStatus.SHREDDED)
            .limit(SHRED_BATCH)
        )
    ):
        shred(session, expired)
        for alert in expired:
            alert.status = AlertStatus.SHREDDED
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
        shredded += [alert.id for alert in expired]
    return shredded


def shred(session: Session, alerts: Sequence[Alert], keep: Collection[uuid.UUID] = ()) -> None:
    """Delete the sealed envelopes of these alerts and of their threads' items,
    with every school's wrap of them: no school can open them again, whatever
    it kept. Items named in ``keep`` stay (a withdrawal keeps its own signed
    reason). The rows stay as tombstones; the caller sets their status and
    audits. Used by retention and by a sender withdrawing an alert."""
    ids = [alert.id for alert in alerts]
    items = and_(ThreadItem.alert_id.in_(ids), ThreadItem.id.not_in(list(keep)))
    sealed_ids = [alert.sealed_id for alert in alerts if alert.sealed_id is not None]
    sealed_ids += session.scalars(
        select(ThreadItem.sealed_id).where(items, ThreadItem.sealed_id.is_not(None))
    )
    session.execute(
        update(ThreadItem)
        .where(items)
        .values(sealed_id=None)
        .execution_options(synchronize_session=False)
    )
    for alert in alerts:
        alert.sealed_id = None
    session.flush()
    if sealed_ids:
        # Schools' read records go too: they hold the titles.
        for held in (SealedWrap, ReadRecord):
            session.execute(
                delete(held)
                .where(held.sealed_id.in_(sealed_ids))
                .execution_options(synchronize_session=False)
            )
        session.execute(
            delete(Sealed)
            .where(Sealed.id.in_(sealed_ids))
            .execution_options(synchronize_session=False)
        )
    # Rows loaded before the bulk update still name their envelope.
    for item in session.identity_map.values():
        if isinstance(item, ThreadItem) and item.alert_id in ids and item.id not in keep:
            session.expire(item, ["sealed_id"])
