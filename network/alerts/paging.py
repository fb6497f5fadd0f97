"""Keyset pagination for alert lists, newest first: a cursor names the last row
shown (its time and id), so a page costs one index range scan however deep it is."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import QueryableAttribute

from schools.errors import InvalidInput


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = raw.split("|")
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            raise ValueError
        # A moment the database cannot compare (year 1 with an offset) overflows here.
        return moment.astimezone(UTC), uuid.UUID(row_id)
    except (ValueError, OverflowError):
        raise InvalidInput(
            "That page link is not valid; start from the first page.", field="cursor"
        ) from None


def after_cursor(
    cursor: str,
    created_at: QueryableAttribute[datetime],
    row_id: QueryableAttribute[uuid.UUID],
) -> ColumnElement[bool]:
    """The rows that come after the cursor's, ordered by (created_at, id) descending."""
    moment, last_id = decode_cursor(cursor)
    return or_(created_at < moment, and_(created_at == moment, row_id < last_id))
