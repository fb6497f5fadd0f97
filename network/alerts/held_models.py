"""Alerts held at the author's school before they are sent: drafts (saved, or
kept after a refused submission so accepted evidence stays attached) and
alerts waiting for four-eyes review. Everything the author wrote is sealed to
the author's own school only (network/alerts/held.py); the hub keeps who, when
and in what state."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schools.db import Base, UTCDateTime, new_id, utcnow
from schools.models import Member


class HeldState(enum.StrEnum):
    DRAFT = "draft"  # the author's to finish; shredded a day after it was last saved
    IN_REVIEW = "in_review"  # waits for a head or DSL (four-eyes review)
    CHANGES_REQUESTED = "changes_requested"  # back with the author, with the reviewer's note
    REJECTED = "rejected"  # refused with a reason; shredded a day later


# States a day's neglect shreds: the author's to act on. An alert waiting for
# review stays until a reviewer decides.
ABANDONABLE = (HeldState.DRAFT, HeldState.CHANGES_REQUESTED, HeldState.REJECTED)


class HeldAlert(Base):
    __tablename__ = "held_alerts"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s.value) for s in HeldState)})", name="state"),
        Index("ix_held_alerts_school_state", "school_id", "state"),
        Index("ix_held_alerts_updated", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    state: Mapped[str] = mapped_column(String(24), default=HeldState.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The form as the author left it, sealed to their own school (kind "draft").
    sealed_id: Mapped[int | None] = mapped_column(ForeignKey("sealed.id", ondelete="SET NULL"))
    # The reviewer's note (changes asked for) or reason (rejection), sealed likewise.
    note_sealed_id: Mapped[int | None] = mapped_column(ForeignKey("sealed.id", ondelete="SET NULL"))
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    author: Mapped[Member] = relationship(lazy="joined", foreign_keys=[author_id])
    reviewed_by: Mapped[Member | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def state_enum(self) -> HeldState:
        return HeldState(self.state)


class HeldEvidence(Base):
    """One evidence file of a held alert, each sealed on its own (kind
    "draft_evidence"), so a failed submission keeps what was accepted."""

    __tablename__ = "held_evidence"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    held_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("held_alerts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sealed_id: Mapped[int | None] = mapped_column(ForeignKey("sealed.id", ondelete="SET NULL"))
