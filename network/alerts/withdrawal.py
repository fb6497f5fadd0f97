"""The sending school takes back or corrects what it said: a withdrawal (with
its reason) crypto-shreds the alert's content at every school, as retention
does, and keeps only the signed withdrawal; a correction is a signed thread
item shown above the original. Both are sealed to the alert's audience like a
reply, audited, and announced to every recipient school."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import signals
from network.alerts.access import amendable
from network.alerts.content import MAX_NOTE, Note, clean_text
from network.alerts.models import Alert, ThreadItem
from network.alerts.retention import shred
from network.alerts.thread import add_item
from network.alerts.vocab import AlertStatus, ItemKind
from schools.db import utcnow
from schools.models import Member


def withdraw(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    reason: str,
    now: datetime | None = None,
) -> Alert:
    """Withdraw an alert the actor's school sent. Recipients see "Withdrawn by
    the sender" and the reason; nothing else of it can be opened again."""
    alert = amendable(session, actor, alert_id, "withdraw it", withdrawing=True)
    reason = clean_text(reason, "reason", "reason", MAX_NOTE, required=True)
    now = now or utcnow()
    item = add_item(
        session,
        actor,
        keys,
        alert,
        ItemKind.WITHDRAWAL,
        Note(reason).to_bytes(),
        created_at=now,
        announce=False,
    )
    shred(session, [alert], keep={item.id})
    alert.status = AlertStatus.WITHDRAWN
    alert.withdrawn_at = now
    session.flush()
    signals.alert_withdrawn.send(None, session=session, alert=alert, actor=actor, item=item)
    return alert


def correct(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    text: str,
    now: datetime | None = None,
) -> ThreadItem:
    """Add a signed correction to an alert the actor's school sent."""
    alert = amendable(session, actor, alert_id, "correct it")
    text = clean_text(text, "correction", "correction", MAX_NOTE, required=True)
    return add_item(
        session, actor, keys, alert, ItemKind.CORRECTION, Note(text).to_bytes(), created_at=now
    )
