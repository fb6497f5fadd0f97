"""The audit log's tables: its entries, the stored subtree hashes, the signed
checkpoints and the results of full verifications.

Rows of ``audit_events`` and ``audit_subtrees`` are never updated or deleted:
database triggers refuse it (migrations/versions/0002_audit_log.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from schools.audit.leaf import LEAF_VERSION
from schools.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """One log entry: who, which school, which role, what, which object, when,
    the envelope hash; never content. ``seq`` is the entry's leaf index (from 0).

    Rows are never updated or deleted: database triggers refuse it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # Every listing is "newest first within a scope or filter": (x, seq) indexes
        # serve those as one index range, also at ten million entries.
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_actor_seq", "actor_id", "seq"),
        Index("ix_audit_events_cluster_seq", "cluster_id", "seq"),
        Index("ix_audit_events_school_seq", "school_id", "seq"),
        Index("ix_audit_events_object_seq", "object_type", "object_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_role: Mapped[str | None] = mapped_column(String(16))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column()
    school_id: Mapped[uuid.UUID | None] = mapped_column()
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    envelope_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    leaf_version: Mapped[int] = mapped_column(
        SmallInteger, default=LEAF_VERSION, server_default=text("1")
    )


class AuditQueued(Base):
    """A read event (an alert opened, titles listed, a file downloaded) waiting
    to join the log. Readers insert here in their own transaction without the
    log's lock; a sequencer (the next writer, or the worker) moves queued rows
    into ``audit_events`` in id order under the lock, in one transaction, and
    deletes them (schools/audit/queue.py). Same columns as an entry, without
    ``seq``."""

    __tablename__ = "audit_queue"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_role: Mapped[str | None] = mapped_column(String(16))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    school_id: Mapped[uuid.UUID | None] = mapped_column()
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    envelope_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    leaf_version: Mapped[int] = mapped_column(SmallInteger, default=LEAF_VERSION)


class AuditSubtree(Base):
    """The hash of the perfect subtree of ``2**level`` entries starting at ``start``.

    Level 0 rows are the leaf hashes. Written once, when the subtree completes.
    """

    __tablename__ = "audit_subtrees"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A checkpoint the hub signed: the signed note and, for queries, its size and root."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditVerification(Base):
    """The result of one full ``alertnet audit verify`` run, shown by the pages' banner."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    entries: Mapped[int] = mapped_column(BigInteger)
    checkpoints: Mapped[int] = mapped_column(Integer)
    first_bad_seq: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text, default="")
