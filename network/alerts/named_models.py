"""Who an alert sealed to named people reaches (network/alerts/named.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from schools.db import Base

# The tier of a school's copy (``alert_recipients.tier``) sealed to named
# members of it: each one's wrap is at the envelope tier "person:<member>".
TIER_NAMED = "named"


class NamedReader(Base):
    """One member an alert was sealed to by name, at their school's copy.
    The hub keeps this in clear (whom it routes the alert to, as it keeps the
    recipient schools); only these members' personal keys open the copy."""

    __tablename__ = "alert_named_readers"
    __table_args__ = (Index("ix_alert_named_readers_member", "member_id", "alert_id"),)

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    generation: Mapped[int]
