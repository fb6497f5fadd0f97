"""What the API keeps of its own: the answers to idempotent requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from schools.db import Base, UTCDateTime, utcnow


class IdempotentRequest(Base):
    """A request made with an ``Idempotency-Key``, and the answer it got.

    Written in the same transaction as the alert it posts, so the key exists
    exactly when the alert does. ``principal_id`` is the API token's id (or, for
    a signed-in browser, the member's). The request is kept only as a keyed
    hash (HMAC under the hub's secret key), so the row reveals nothing of an
    alert's content; the response is metadata only.
    """

    __tablename__ = "api_idempotency_keys"

    principal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    location: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
