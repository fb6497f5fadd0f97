"""Retention: alerts past their cluster's retention period are crypto-shredded."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from network.alerts.models import (
    Alert,
    AlertIndicator,
    ReadRecord,
    Sealed,
    SealedWrap,
    ThreadItem,
)
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
        # The indicator hashes go too: a shredded alert links to nothing.
        session.execute(
            delete(AlertIndicator)
            .where(AlertIndicator.alert_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        if sealed_ids:
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
        shredded += ids
    return shredded
