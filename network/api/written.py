"""The inbox's page written straight to JSON values, for the API's hottest read.

``InboxPage.of(...).model_dump(mode="json")`` builds and validates a model of
every row (25 by default) only to write it back out: about a sixth of what a
listing costs the hub. ``inbox_page`` writes the same values from the same
rows directly. Nothing the page shows comes from the caller: the rows are the
hub's own columns and the titles opened from the school's read records.
tests/network/test_api_written.py holds the two writers equal, byte for byte,
for titles, problems, read, acknowledged and unread rows, next links and Sent
boxes (the document's writer validating each row as it goes); the OpenAPI
document still describes ``documents.InboxPage``, and its schemathesis run
checks the answers against it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import url_for

from network.alerts import inbox
from schools.audit.leaf import timestamp

# An id no alert has: its text is replaced by each row's in the one URL built per page.
_PLACEHOLDER = uuid.UUID(int=0)


def _moment(value: datetime | None) -> str | None:
    return None if value is None else timestamp(value)


def inbox_page(page: inbox.InboxPage, next_url: str | None, sent: bool) -> dict[str, Any]:
    """``documents.InboxPage.of(page, next_url, sent).model_dump(mode="json")``."""
    head, _, tail = url_for("api.read_alert", alert_id=_PLACEHOLDER).partition(str(_PLACEHOLDER))
    alerts = []
    for row in page.rows:
        alert, copy = row.alert, row.copy
        alert_id = str(alert.id)
        alerts.append(
            {
                "id": alert_id,
                "created_at": timestamp(alert.created_at),
                "category": alert.category,
                "severity": alert.severity,
                "platform": alert.platform,
                "tlp": alert.tlp,
                "status": alert.status,
                "sender": {"id": str(alert.sender_school.id), "name": alert.sender_school.name},
                "recipient_count": alert.recipient_count,
                "attachment_count": alert.attachment_count,
                "title": row.title or None,
                "problem": row.problem or None,
                "read_at": _moment(copy.first_read_at),
                "acknowledged_at": _moment(copy.acknowledged_at),
                # Unread for the reader, from the page's own query; a sent box has none.
                "unread": bool(row.unread and not sent),
                "url": f"{head}{alert_id}{tail}",
            }
        )
    return {"alerts": alerts, "next_cursor": page.next_cursor, "next": next_url}
