"""Alerts, their recipients and threads. The hub holds routing metadata in
clear (design.md, "What the hub may see") and everything else as sealed
envelopes it cannot open."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    TextClause,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crypto.header import TIER_ALL
from network.alerts.vocab import AlertStatus, FollowUp, ItemKind
from schools.db import Base, UTCDateTime, utcnow
from schools.models import Member, School


def _one_of(column: str, values: type[enum.StrEnum]) -> str:
    """A CHECK constraint's text: the column holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Platform(Base):
    """A social platform, its minimum age and where to report to it: data the
    hub admin keeps current (network/alerts/platforms.py)."""

    __tablename__ = "platforms"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    minimum_age: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Where a school reports a post, and where it reports an under-age user;
    # "" when the hub admin has recorded none.
    reporting_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    underage_reporting_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    # Retired: no longer offered for new alerts; alerts filed under it keep it.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class Sealed(Base):
    """The part of an envelope every recipient shares (header, ciphertext,
    commitment, signatures, the list of wrap hashes). Deleting it, with its
    wraps, crypto-shreds the content."""

    __tablename__ = "sealed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class SealedWrap(Base):
    """One recipient school's HPKE wrap of a sealed envelope's content key."""

    __tablename__ = "sealed_wraps"

    sealed_id: Mapped[int] = mapped_column(
        ForeignKey("sealed.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    # Whose keys within the school: "all" (the school bundle), "leadership",
    # or "person:<member>" (one per named person: network/alerts/named.py).
    tier: Mapped[str] = mapped_column(
        String(64), primary_key=True, default=TIER_ALL, server_default=TIER_ALL
    )
    wrap: Mapped[bytes] = mapped_column(LargeBinary)


class ReadRecord(Base):
    """What one school kept of an envelope it verified once (crypto/records.py):
    the signed header and the list's summary, sealed under a key only that
    school's members derive from its bundle, bound to the envelope's hash. The
    inbox opens these instead of verifying and decapsulating again; the hub
    can neither read nor make one. Deleted with the envelope when shredded."""

    __tablename__ = "read_records"

    sealed_id: Mapped[int] = mapped_column(
        ForeignKey("sealed.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    # The generation and tier of the bundle the record's key was derived from
    # (a copy sealed to named people: one record per named reader's tier).
    generation: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(
        String(64), primary_key=True, default=TIER_ALL, server_default=TIER_ALL
    )
    record: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_one_of("status", AlertStatus), name="status"),
        Index("ix_alerts_cluster_created", "cluster_id", "created_at"),
        Index("ix_alerts_expires", "expires_at"),
    )

    # The envelope's 128-bit random alert id.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id"))
    sender_school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)
    sender_member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    sender_generation: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(32))
    tlp: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    forwarded_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id"))
    recipient_count: Mapped[int] = mapped_column(Integer)
    attachment_count: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer)
    envelope_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # NULL once shredded: the metadata stays as a tombstone.
    sealed_id: Mapped[int | None] = mapped_column(ForeignKey("sealed.id", ondelete="SET NULL"))

    sender_school: Mapped[School] = relationship(lazy="joined", foreign_keys=[sender_school_id])
    sender_member: Mapped[Member] = relationship(lazy="joined")

    @property
    def shredded(self) -> bool:
        """Its content is gone: past its retention period, or withdrawn by its sender."""
        return self.status in (AlertStatus.SHREDDED, AlertStatus.WITHDRAWN)

    @property
    def withdrawn(self) -> bool:
        return self.status == AlertStatus.WITHDRAWN


def not_senders_copy() -> TextClause:
    """``NOT alert_recipients.is_sender``, as ix_alert_recipients_waiting's
    predicate has it (below): SQLAlchemy renders ``is_sender.is_(False)`` as
    ``is_sender = 0`` on SQLite, which SQLite's planner does not match with the
    partial index. A query meant to use the index writes this, beside
    ``acknowledged_at IS NULL``."""
    return text("NOT alert_recipients.is_sender")


class AlertRecipient(Base):
    """A school's copy of an alert: its inbox row and what it has done with it.

    The sender's own school is a recipient too (its Sent box), marked
    ``is_sender``; the inbox leaves those rows out.
    """

    __tablename__ = "alert_recipients"
    __table_args__ = (
        # The inbox: one school's rows newest first (keyset pagination on both columns).
        Index("ix_alert_recipients_inbox", "school_id", "is_sender", "created_at", "alert_id"),
        Index("ix_alert_recipients_unread", "school_id", "is_sender", "first_read_at"),
        # The count of alerts unread by a member: their tiers' copies from the index alone.
        Index("ix_alert_recipients_tiers", "school_id", "is_sender", "tier"),
        # The dashboard's response times: one range scan per cluster and period.
        Index("ix_alert_recipients_cluster", "cluster_id", "created_at"),
        # The dashboard's overdue acknowledgements: only copies still waiting.
        Index(
            "ix_alert_recipients_waiting",
            "cluster_id",
            "created_at",
            postgresql_where=text("acknowledged_at IS NULL AND NOT is_sender"),
            sqlite_where=text("acknowledged_at IS NULL AND NOT is_sender"),
        ),
    )

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    is_sender: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who at the school the alert is sealed to: "all" staff or its "leadership".
    tier: Mapped[str] = mapped_column(String(64), default=TIER_ALL, server_default=TIER_ALL)
    # Copied from the alert so the inbox and the dashboard are index range scans.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id"))
    severity: Mapped[str] = mapped_column(String(16))
    first_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_read_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    # Each school closes the alert on its own side (the sender's copy: resolving
    # it) and may reopen it; other schools' copies are not touched.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))

    # Loaded when asked for: a copy is read far more often than these, and the
    # alert's and members' rows bring their own joins. reading.copies_of loads
    # what the alert page shows.
    alert: Mapped[Alert] = relationship()
    school: Mapped[School] = relationship()
    acknowledged_by: Mapped[Member | None] = relationship(foreign_keys=[acknowledged_by_id])
    first_read_by: Mapped[Member | None] = relationship(foreign_keys=[first_read_by_id])
    closed_by: Mapped[Member | None] = relationship(foreign_keys=[closed_by_id])


class ThreadItem(Base):
    """A reply, acknowledgement comment, recorded action or attachment of an
    alert. Sealed to the alert's audience with the same envelope."""

    __tablename__ = "thread_items"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ItemKind), name="kind"),
        Index("ix_thread_items_alert", "alert_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    author_school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    author_member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    author_generation: Mapped[int] = mapped_column(Integer)
    # Action *types* are metadata the hub may see; the note is sealed.
    action_type: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    envelope_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed_id: Mapped[int | None] = mapped_column(ForeignKey("sealed.id", ondelete="SET NULL"))

    author_school: Mapped[School] = relationship(lazy="joined")
    author_member: Mapped[Member] = relationship(lazy="joined")


class AlertIndicator(Base):
    """One keyed hash of an indicator an alert names (crypto/indicators.py),
    under its cluster's correlation key of ``generation``. The hub sees which
    alerts share a hash, never what was hashed; the hashes are also in the
    alert's signed header, so the hub can neither add nor drop one unseen.
    Deleted when the alert is shredded."""

    __tablename__ = "alert_indicators"
    __table_args__ = (Index("ix_alert_indicators_hash", "hash"),)

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)


class Referral(Base):
    """A referral or step a school recorded on an alert (network/alerts/referrals.py).
    In clear, for content-blind counts and the follow-up: the agency or step
    (the action's code), its dates, the follow-up and the latest outcome. The
    reference number and notes are only in the sealed thread items it names."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(_one_of("follow_up", FollowUp), name="follow_up"),
        # A school's follow-ups, soonest due first (its referrals page, its overdue list).
        Index("ix_referrals_school_due", "school_id", "follow_up", "due_on"),
        # The dashboard's and reports' counts: one range scan per cluster and period.
        Index("ix_referrals_cluster_referred", "cluster_id", "referred_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id"))
    # The sealed action item with the reference number and the note.
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("thread_items.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(32))
    referred_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    follow_up: Mapped[str] = mapped_column(String(8), default=FollowUp.NONE)
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_on: Mapped[date | None] = mapped_column(Date)
    # When the school was reminded that the follow-up of ``due_on`` is overdue.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    alert: Mapped[Alert] = relationship()


class SearchEntry(Base):
    """That one school indexed its copy of an alert (network/alerts/search.py),
    under which generation of its bundle, and how much of it: the title only
    (listed in the inbox) or the title and description (opened)."""

    __tablename__ = "search_entries"
    __table_args__ = (CheckConstraint("scope IN ('title', 'full')", name="scope"),)

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    # The tier of the school's copy, whose bundle the search key comes from
    # (a copy sealed to named people: one entry per named reader's tier).
    tier: Mapped[str] = mapped_column(
        String(64), primary_key=True, default=TIER_ALL, server_default=TIER_ALL
    )
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SearchToken(Base):
    """One keyed token of a word of one school's copy of an alert
    (crypto/search.py), under that school's search key of ``generation`` and
    ``tier`` (a leadership copy's under the leadership bundle's). The
    hub sees which of the school's alerts share a token, never the word.
    Deleted when the alert is shredded."""

    __tablename__ = "search_tokens"
    __table_args__ = (Index("ix_search_tokens_alert", "alert_id"),)

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    token: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(64), default=TIER_ALL, server_default=TIER_ALL)


class ThreadExclusion(Base):
    """A member withdrawn from an alert's thread by their school's head or
    safeguarding lead: the hub hides the alert from them, and their school's
    share of items sealed afterwards goes to its leadership only."""

    __tablename__ = "thread_exclusions"

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    excluded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
