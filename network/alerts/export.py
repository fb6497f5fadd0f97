"""An alert with its thread, signatures and fingerprints, for a child's file or
the police: a print-friendly page and a PDF. Both decrypt for the member
asking only, open and verify exactly as the alert's page does, and are audited
as a read (``alert.exported``, with the medium) beside the opening."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts.auditing import record_for_alert
from network.alerts.keychain import signers_of
from network.alerts.reading import OpenedAlert, OpenedItem, open_alert
from network.alerts.vocab import ItemKind
from schools.db import utcnow
from schools.errors import Conflict, Forbidden, NotFound
from schools.models import Member


class ExportMedium(enum.StrEnum):
    PRINT = "print"
    PDF = "pdf"


@dataclass(frozen=True)
class ExportedAlert:
    """What an export shows: the opened alert, every signer's fingerprint (the
    sender's and each thread item's school, by key generation), who exported
    it and when."""

    opened: OpenedAlert
    fingerprints: dict[tuple[uuid.UUID, int], str]
    exported_by: Member
    exported_at: datetime

    def fingerprint_of(self, entry: OpenedItem) -> str:
        item = entry.item
        return self.fingerprints.get((item.author_school_id, item.author_generation), "")


def export_alert(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_id: uuid.UUID,
    medium: ExportMedium,
    now: datetime | None = None,
) -> ExportedAlert:
    """Open and verify the alert and its thread for the member's school; only a
    copy that opened and passed every check is exported, never part of one."""
    now = now or utcnow()
    opened = open_alert(session, actor, keys, alert_id, now)
    alert = opened.view.alert
    if not opened.view.may_read_content:
        raise Forbidden(
            "Only a school the alert was sent to can print it: its content is encrypted "
            "for those schools."
        )
    if opened.content is None:
        if opened.problem:
            raise Conflict(opened.problem)
        raise NotFound("This alert's content was destroyed, so there is nothing to print.")
    signers = signers_of(
        session,
        {(alert.sender_school_id, alert.sender_generation)}
        | {(e.item.author_school_id, e.item.author_generation) for e in opened.items},
    )
    record_for_alert(
        session,
        "alert.exported",
        actor,
        alert,
        alert.envelope_hash,
        read=True,
        medium=medium.value,
        items=len(opened.items),
    )
    return ExportedAlert(
        opened,
        {pair: signer.public.fingerprint() for pair, signer in signers.items()},
        actor,
        now,
    )


def item_verb(entry: OpenedItem, sender_school_id: uuid.UUID) -> str:
    """What a thread item's author did, in the words of the alert's page."""
    kind = entry.item.kind
    if kind == ItemKind.REPLY:
        return "replied"
    if kind == ItemKind.ACKNOWLEDGEMENT:
        return "acknowledged"
    if kind == ItemKind.ACTION:
        return "recorded an action"
    if kind == ItemKind.SIGHTING:
        return "has seen this too"
    if kind == ItemKind.CLOSURE:
        if entry.item.author_school_id == sender_school_id:
            return "resolved it"
        return "closed it for their school"
    if kind == ItemKind.CORRECTION:
        return "added a correction"
    return "attached evidence"
