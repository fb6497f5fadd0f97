"""The one place a state change is recorded. Call it inside the transaction of
the action itself, so no action commits without its entry (design.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from schools.db import Base, UTCDateTime, utcnow
from schools.models import Member


class AuditEvent(Base):
    """An append-only record of a state change; never content (design.md).

    The audit issue turns this into the leaves of a verifiable Merkle log; the
    shape of a record (who, which school, what, which object, when) is fixed here.
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    school_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    envelope_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: Session,
    action: str,
    *,
    actor: Member | None = None,
    school_id: uuid.UUID | None = None,
    cluster_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: object = None,
    envelope_hash: bytes | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append an audit entry: who, which school, what, which object; never content."""
    if actor is not None:
        school_id = school_id or actor.school_id
        cluster_id = cluster_id or actor.effective_cluster_id
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_role=actor.role if actor is not None else None,
        school_id=school_id,
        cluster_id=cluster_id,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        envelope_hash=envelope_hash,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    session.add(event)
    session.flush()
    return event
