"""What one member keeps for themselves about alerts: which they opened, which
they marked unread, and when they last looked at their home page
(network/alerts/attention.py).
Nothing here is the school's: a colleague's inbox and the sender's receipts
are unchanged."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from schools.db import Base, UTCDateTime, utcnow


class UnreadMark(Base):
    """A member marked an alert unread: it shows as unread to them until they
    open it again. The school's copy keeps who first read it, and when."""

    __tablename__ = "unread_marks"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MemberRead(Base):
    """A member opened an alert (or acknowledged it): it is read for them. An
    alert is unread for a member until then, or while they have it marked
    unread (network/alerts/unread_marks.py). The school's copy keeps who at
    the school first read it, for the sender's receipts."""

    __tablename__ = "member_reads"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HomeVisit(Base):
    """A member's visits to their home page: ``since`` is where the current
    visit's "replies since your last visit" start, ``seen_at`` the latest view."""

    __tablename__ = "home_visits"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
