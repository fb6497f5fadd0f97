"""The sending school's receipt for an alert: the hub's signed checkpoint and
the inclusion proof of the alert's "posted" entry in the audit log, checkable
with `alertnet audit verify`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.alerts.access import check_has_receipt
from network.audit.receipts import receipt_for
from schools.audit.models import AuditEvent
from schools.errors import NotFound
from schools.models import Member


def receipt(session: Session, actor: Member, alert_id: uuid.UUID) -> dict[str, Any]:
    return receipt_for(session, posted_entry(session, actor, alert_id))


def posted_entry(session: Session, actor: Member, alert_id: uuid.UUID) -> int:
    """The audit sequence number of an alert's "alert.posted" entry."""
    check_has_receipt(session, actor, alert_id)
    seq = session.scalar(
        select(AuditEvent.seq).where(
            AuditEvent.action == "alert.posted", AuditEvent.object_id == str(alert_id)
        )
    )
    if seq is None:
        raise NotFound("This alert's audit entry is not in the log yet.")
    return int(seq)
