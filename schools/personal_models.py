"""Tables of each member's personal key bundle (schools/personal.py): its
public keys per generation, and its wraps to the member's own credentials."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from schools.db import Base, UTCDateTime, utcnow


class PersonalKeyGeneration(Base):
    """One member's personal bundle of one generation: its public keys (what
    a sender seals a "named people" alert to), the previous generation's
    bundle chained under it (so what was sealed to that still opens), and when
    it was retired."""

    __tablename__ = "personal_key_generations"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_keys: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(120))
    previous_bundle: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PersonalWrap(Base):
    """A member's personal bundle of one generation, HPKE-wrapped to one of
    their own credentials: their password's credential ("member") or an API
    token they made ("token"). Nobody else holds one."""

    __tablename__ = "personal_wraps"
    __table_args__ = (
        CheckConstraint("credential_kind IN ('member', 'token')", name="credential_kind"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    credential_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    wrap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
