"""What the audit pages say about restores: every ``hub.restored`` entry, read
from the log itself through its public functions, for the integrity banner
(templates/audit/_banner.html)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from network.audit import search
from network.audit.search import EntryFilter
from schools.policy import AuditScope

RESTORED = "hub.restored"


@dataclass(frozen=True)
class Restoration:
    """A restore from backup, as its audit entry recorded it."""

    seq: int
    at: datetime
    restored_size: int
    backup_created_at: datetime | None
    newest_checkpoint_size: int | None
    entries_rolled_back: int
    reason: str | None


def restorations(session: Session, limit: int = 5) -> list[Restoration]:
    """The latest restores, newest first. Every reader sees them whatever their
    scope: they explain why checkpoints saved before them no longer match."""
    page = search.entries_page(session, AuditScope(), EntryFilter(action=RESTORED), limit=limit)
    found = []
    for entry in page.entries:
        detail = entry.detail
        created = detail.get("backup_created_at")
        found.append(
            Restoration(
                seq=entry.seq,
                at=entry.at,
                restored_size=int(detail.get("restored_size", entry.seq)),
                backup_created_at=datetime.fromisoformat(created) if created else None,
                newest_checkpoint_size=detail.get("newest_checkpoint_size"),
                entries_rolled_back=int(detail.get("entries_rolled_back") or 0),
                reason=detail.get("reason"),
            )
        )
    return found


def for_banner() -> list[Restoration]:
    """The template global behind the banner: the request's session."""
    from network.db import db

    return restorations(db())
