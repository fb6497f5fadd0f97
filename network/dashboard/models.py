"""Stored dashboard figures: what the database computed for a cluster and a
period, kept so that opening the dashboard does not recompute them
(docs/dashboard.md, "Freshness")."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from schools.db import Base, UTCDateTime


class FigureSnapshot(Base):
    __tablename__ = "dashboard_snapshots"

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    period_end: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Aggregates only (counts and hours per category, severity, platform, school).
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
