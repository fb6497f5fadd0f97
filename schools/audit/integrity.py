"""The integrity banner of the audit pages: checks cheap enough for every page
view, and the result of the last full ``alertnet audit verify``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.checkpoint import NoteVerifier
from schools.audit.checkpoints import check_checkpoint
from schools.audit.leaf import entry_leaf_hash
from schools.audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from schools.audit.tree import root_at, stored_subtrees
from schools.audit.verify import VerifyReport
from schools.db import utcnow
from schools.errors import LogIntegrityError


def record_verification(session: Session, report: VerifyReport, started_at: datetime) -> None:
    """Keep the result of a full run for the pages' integrity banner."""
    session.add(
        AuditVerification(
            started_at=started_at,
            finished_at=utcnow(),
            ok=report.ok,
            entries=report.entries,
            checkpoints=report.checkpoints,
            first_bad_seq=report.seq,
            message=report.problem or "",
        )
    )
    session.flush()


def last_verification(session: Session) -> AuditVerification | None:
    return session.scalars(
        select(AuditVerification)
        .order_by(AuditVerification.finished_at.desc(), AuditVerification.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Integrity:
    """What the pages' banner says: the cheap checks of this page view, and the
    last full run of ``alertnet audit verify``."""

    ok: bool
    problem: str | None
    checkpoint: AuditCheckpoint | None
    last_full: AuditVerification | None


def quick_check(
    session: Session,
    verifier: NoteVerifier,
    checkpoint: AuditCheckpoint | None,
    shown: Sequence[AuditEvent],
) -> Integrity:
    """Checks cheap enough for every page view: the checkpoint's signature, its
    root against the stored subtrees, and the leaves of the entries shown."""
    last_full = last_verification(session)
    problem = None
    if checkpoint is not None:
        problem = check_checkpoint(checkpoint, verifier)
        if problem is None:
            try:
                if root_at(session, checkpoint.size) != checkpoint.root:
                    problem = (
                        f"the stored tree's root at size {checkpoint.size} differs from the "
                        "signed checkpoint"
                    )
            except LogIntegrityError as error:
                problem = error.message
    if problem is None:
        problem = _check_shown(session, shown)
    if problem is None and last_full is not None and not last_full.ok:
        problem = f"the last full check ({last_full.finished_at:%Y-%m-%d %H:%M} UTC) failed: "
        problem += last_full.message
    return Integrity(problem is None, problem, checkpoint, last_full)


def _check_shown(session: Session, shown: Sequence[AuditEvent]) -> str | None:
    if not shown:
        return None
    stored = stored_subtrees(session, [(0, entry.seq) for entry in shown])
    for entry in sorted(shown, key=lambda e: e.seq):
        try:
            leaf = entry_leaf_hash(entry)
        except (LogIntegrityError, ValueError):
            return f"entry {entry.seq} cannot be encoded as a leaf"
        if stored.get((0, entry.seq)) != leaf:
            return f"entry {entry.seq} on this page does not match its stored leaf hash"
    return None
