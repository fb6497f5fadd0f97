"""Each school's own status of an alert. A recipient school closes the alert
on its side with a note, and may reopen it; the sender's closing is resolving
it (a note and a confirmation). Neither touches another school's copy: after a
resolution, recipients still acknowledge, reply and record actions. Each
closing note is a signed thread item, sealed to the alert's audience."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import signals
from network.alerts.access import closable, resolvable
from network.alerts.auditing import record_for_alert
from network.alerts.content import MAX_NOTE, Note, clean_text
from network.alerts.models import Alert, AlertRecipient
from network.alerts.thread import add_item
from network.alerts.vocab import AlertStatus, ItemKind
from schools.db import utcnow
from schools.errors import Conflict, InvalidInput
from schools.models import Member


def close(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    note: str,
    now: datetime | None = None,
) -> AlertRecipient:
    """Close the alert for the actor's school (a recipient's; the sender resolves)."""
    view = closable(session, actor, alert_id, "close alerts")
    copy = view.copy
    assert copy is not None
    if view.is_sender:
        raise Conflict("Your school sent this alert: resolve it instead, with a note.")
    if copy.closed_at is not None:
        raise _already_closed(copy)
    note = clean_text(note, "close_note", "note", MAX_NOTE, required=True)
    now = now or utcnow()
    copy.closed_at, copy.closed_by = now, actor
    add_item(
        session, actor, keys, view.alert, ItemKind.CLOSURE, Note(note).to_bytes(), created_at=now
    )
    session.flush()
    return copy


def resolve(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    note: str,
    confirmed: bool,
    now: datetime | None = None,
) -> Alert:
    """The sender closes the alert on its side: resolved, with a note, once
    confirmed. Other schools' copies stay as they are."""
    view = resolvable(session, actor, alert_id)
    note = clean_text(note, "resolve_note", "note", MAX_NOTE, required=True)
    if not confirmed:
        raise InvalidInput(
            "Confirm that the matter is dealt with for your school.", field="confirm"
        )
    alert, copy = view.alert, view.copy
    assert copy is not None
    now = now or utcnow()
    alert.status, alert.resolved_at = AlertStatus.RESOLVED, now
    copy.closed_at, copy.closed_by = now, actor
    add_item(
        session,
        actor,
        keys,
        alert,
        ItemKind.CLOSURE,
        Note(note).to_bytes(),
        created_at=now,
        announce=False,
        audited_as="alert.resolved",
    )
    signals.alert_resolved.send(None, session=session, alert=alert, actor=actor)
    session.flush()
    return alert


def reopen(
    session: Session, actor: Member, alert_id: uuid.UUID, now: datetime | None = None
) -> AlertRecipient:
    """Open the alert again for the actor's school (for the sender: no longer resolved)."""
    view = closable(session, actor, alert_id, "reopen alerts")
    copy = view.copy
    assert copy is not None
    if copy.closed_at is None:
        raise Conflict("This alert is open for your school.")
    copy.closed_at, copy.closed_by = None, None
    if view.is_sender:
        view.alert.status, view.alert.resolved_at = AlertStatus.OPEN, None
    record_for_alert(session, "alert.reopened", actor, view.alert, view.alert.envelope_hash)
    session.flush()
    return copy


def _already_closed(copy: AlertRecipient) -> Conflict:
    who = copy.closed_by.name if copy.closed_by else "a colleague"
    when = f" on {copy.closed_at:%d %b %Y at %H:%M} UTC" if copy.closed_at else ""
    return Conflict(f"Already closed for your school by {who}{when}.")
