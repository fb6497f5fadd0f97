"""The audit entries of what people do with an alert: each names the alert as
its object, with the hash of the envelope acted on (never content)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from network.alerts.models import Alert
from schools import audit
from schools.models import Member


def record_for_alert(
    session: Session,
    action: str,
    actor: Member,
    alert: Alert,
    envelope_hash: bytes | None,
    *,
    read: bool = False,
    **detail: Any,
) -> None:
    """A read (``read=True``: an opening, a download) is queued rather than
    appended, so readers never wait for the log's lock (schools/audit/queue.py)."""
    (audit.record_read if read else audit.record)(
        session,
        action,
        actor=actor,
        object_type="alert",
        object_id=alert.id,
        envelope_hash=envelope_hash,
        **detail,
    )
