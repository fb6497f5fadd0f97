"""Restores from backup, as the log records them, for the checkpoint checks.

``alertnet restore`` of an older backup puts the log back to the backup's size
and appends a ``hub.restored`` entry with ``restored_size`` (and the operator's
reason, network/operations/restore.py). A checkpoint saved before the restore
that covers entries past that size cannot match the restored log; the checks
say so instead of leaving the school to guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schools.audit.models import AuditEvent

#: The action ``alertnet restore`` records (network/operations/restoration.py;
#: a test checks the two agree).
RESTORED = "hub.restored"


@dataclass(frozen=True)
class Restore:
    seq: int
    at: datetime
    restored_size: int
    reason: str | None


def restores_cutting(session: Session, size: int) -> list[Restore]:
    """The restores that put the log back to fewer than ``size`` entries, oldest
    first: each one lost entries that a checkpoint of ``size`` entries covers."""
    found = []
    for entry in session.scalars(
        select(AuditEvent).where(AuditEvent.action == RESTORED).order_by(AuditEvent.seq)
    ):
        restored = entry.detail.get("restored_size", entry.seq)
        if isinstance(restored, int) and restored < size:
            reason = entry.detail.get("reason")
            found.append(
                Restore(entry.seq, entry.at, restored, reason if isinstance(reason, str) else None)
            )
    return found


def explain(restores: list[Restore], size: int, first_bad: int | None) -> str:
    """The restores that can explain why a checkpoint of ``size`` entries stopped
    matching at ``first_bad`` (those that kept fewer entries), one line each."""
    lines = []
    for restore in restores:
        if first_bad is not None and restore.restored_size > first_bad:
            continue
        because = f"; reason given: {restore.reason}" if restore.reason else ""
        lines.append(
            f"The log was restored from a backup on {restore.at:%Y-%m-%d %H:%M} UTC to its "
            f"first {restore.restored_size:,} entries (entry {restore.seq} records it"
            f"{because}). A checkpoint saved before that restore covers entries "
            f"{restore.restored_size} to {size - 1}, which the restored log lost, so it "
            "cannot match."
        )
    return "\n".join(lines)
