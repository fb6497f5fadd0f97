"""``alertnet audit verify``: recompute the whole log from its entries.

Every leaf from its entry's fields, every stored subtree from the leaves, every
stored checkpoint's root and signature, in seq order; the first divergence is
reported with the entry where it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import merkle
from crypto.checkpoint import NoteVerifier
from schools.audit.checkpoints import check_checkpoint, latest_checkpoint
from schools.audit.leaf import EntryFields, entry_leaf_hash
from schools.audit.models import AuditCheckpoint, AuditEvent, AuditSubtree
from schools.audit.tree import advance_frontier, reader, stored_subtrees, tree_size
from schools.db import table_of
from schools.errors import LogIntegrityError

_ENTRY_COLUMNS = tuple(table_of(AuditEvent).c)
_FRONTIER_LEVELS = 64  # more levels than any log can have


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    checkpoints: int
    latest_size: int | None = None
    latest_signed_at: datetime | None = None
    problem: str | None = None
    seq: int | None = None


class _Divergence(Exception):
    def __init__(self, message: str, seq: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.seq = seq


def verify_log(
    transaction: Callable[[], AbstractContextManager[Session]],
    verifier: NoteVerifier,
    *,
    batch_bits: int = 13,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Recompute every leaf from its entry's fields, every stored subtree from the
    leaves and every stored checkpoint's root, in seq order; report the first
    divergence.

    Streams ``2**batch_bits`` entries at a time, each batch in its own short
    transaction from ``transaction()`` (SQLite's write lock is never held for
    long), so memory and lock time stay flat at ten million entries. The log is
    checked as it was when the run started; later appends wait for the next run.
    """
    with transaction() as session:
        last_checkpoint_id = session.scalar(select(func.max(AuditCheckpoint.id))) or 0
        size = tree_size(session)
        empty = list(_checkpoints_between(session, -1, 0, last_checkpoint_id))
    checked = 0
    try:
        frontier: dict[tuple[int, int], bytes] = {}
        read = reader(frontier)
        for checkpoint in empty:
            checked += _check_stored_checkpoint(checkpoint, merkle.EMPTY_ROOT, verifier)
        batch = 1 << batch_bits
        leftover: tuple[int, int] | None = None
        for first in range(0, size, batch):
            end = min(first + batch, size)
            with transaction() as session:
                stored = _stored_block(session, first, end, batch_bits)
                due = list(_checkpoints_between(session, first, end, last_checkpoint_id))
                rows = session.execute(
                    select(*_ENTRY_COLUMNS)
                    .where(AuditEvent.seq >= first, AuditEvent.seq < end)
                    .order_by(AuditEvent.seq)
                ).all()
            expected = first
            for row in rows:
                entry = cast(EntryFields, row)
                if entry.seq != expected:
                    raise _Divergence(f"entry {expected} is missing (deleted?)", expected)
                try:
                    leaf = entry_leaf_hash(entry)
                except (ValueError, LogIntegrityError) as error:
                    raise _Divergence(
                        f"entry {expected} cannot be encoded as a leaf: {error}", expected
                    ) from None
                completed = merkle.subtrees_completed_by_append(expected, leaf, read)
                for level, start, digest in completed:
                    _compare_row(stored, level, start, digest)
                advance_frontier(frontier, completed)
                expected += 1
                while due and due[0].size == expected:
                    checked += _check_stored_checkpoint(
                        due.pop(0), merkle.root_from(expected, read), verifier
                    )
            if expected != end:
                raise _Divergence(f"entry {expected} is missing (deleted?)", expected)
            if stored:
                leftover = min(stored, key=lambda key: (key[1], key[0]))
                break
            if progress is not None:
                progress(end, size)
        with transaction() as session:
            # Rows reaching past the end say which entries were deleted from it:
            # a better report than the leftover row itself, so checked first.
            _check_nothing_beyond(session, size, last_checkpoint_id)
        if leftover is not None:
            level, start = leftover
            raise _Divergence(
                f"the stored subtree at level {level}, start {start} belongs to no "
                "entry of the log (an entry after it was deleted, or a row was added)",
                start,
            )
    except _Divergence as divergence:
        return _report(transaction, False, size, checked, divergence.message, divergence.seq)
    except LogIntegrityError as error:
        return _report(transaction, False, size, checked, error.message, None)
    return _report(transaction, True, size, checked, None, None)


def _report(
    transaction: Callable[[], AbstractContextManager[Session]],
    ok: bool,
    size: int,
    checked: int,
    problem: str | None,
    seq: int | None,
) -> VerifyReport:
    with transaction() as session:
        latest = latest_checkpoint(session)
        return VerifyReport(
            ok,
            size,
            checked,
            latest.size if latest is not None else None,
            latest.signed_at if latest is not None else None,
            problem,
            seq,
        )


def _stored_block(
    session: Session, first: int, end: int, batch_bits: int
) -> dict[tuple[int, int], bytes]:
    """The stored rows that entries ``first .. end - 1`` complete: everything up to
    ``batch_bits`` starting in the block, and the larger subtrees ending at ``end``."""
    rows = session.execute(
        select(AuditSubtree.level, AuditSubtree.start, AuditSubtree.hash).where(
            AuditSubtree.level.in_(range(batch_bits + 1)),
            AuditSubtree.start >= first,
            AuditSubtree.start < end,
        )
    )
    stored = {(level, start): bytes(digest) for level, start, digest in rows}
    larger = [
        (level, end - (1 << level))
        for level in range(batch_bits + 1, _FRONTIER_LEVELS)
        if end % (1 << level) == 0 and end >= 1 << level
    ]
    stored.update(stored_subtrees(session, larger))
    return stored


def _compare_row(
    stored: dict[tuple[int, int], bytes], level: int, start: int, digest: bytes
) -> None:
    found = stored.pop((level, start), None)
    if level == 0:
        if found is None:
            raise _Divergence(f"entry {start} has no stored leaf hash", start)
        if found != digest:
            raise _Divergence(
                f"entry {start} does not match its stored leaf hash: the entry or its "
                "leaf row was changed",
                start,
            )
        return
    last = start + (1 << level) - 1
    if found is None:
        raise _Divergence(
            f"the subtree of entries {start}..{last} (level {level}) is missing", start
        )
    if found != digest:
        raise _Divergence(
            f"the stored subtree of entries {start}..{last} (level {level}) was changed", start
        )


def _checkpoints_between(
    session: Session, after: int, upto: int, last_id: int
) -> Iterator[AuditCheckpoint]:
    return iter(
        session.scalars(
            select(AuditCheckpoint)
            .where(
                AuditCheckpoint.size > after,
                AuditCheckpoint.size <= upto,
                AuditCheckpoint.id <= last_id,
            )
            .order_by(AuditCheckpoint.size, AuditCheckpoint.id)
        ).all()
    )


def _check_stored_checkpoint(row: AuditCheckpoint, root: bytes, verifier: NoteVerifier) -> int:
    problem = check_checkpoint(row, verifier)
    if problem is None and row.root != root:
        problem = (
            f"checkpoint #{row.id} (size {row.size}) signs a root that differs from the "
            "root recomputed from the entries: history was rewritten"
        )
    if problem is not None:
        raise _Divergence(problem, row.size - 1 if row.size else None)
    return 1


def _check_nothing_beyond(session: Session, size: int, last_checkpoint_id: int) -> None:
    """Rows past the log's end mean entries were deleted from its end."""
    deleted = session.scalar(
        select(func.min(AuditSubtree.start)).where(
            AuditSubtree.level == 0, AuditSubtree.start >= size
        )
    )
    if deleted is not None:
        raise _Divergence(
            f"entry {deleted} was deleted: its leaf hash is stored but the entry is not",
            size,
        )
    beyond = session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.size > size, AuditCheckpoint.id <= last_checkpoint_id)
        .order_by(AuditCheckpoint.size)
        .limit(1)
    ).first()
    if beyond is not None:
        raise _Divergence(
            f"checkpoint #{beyond.id} signs {beyond.size} entries but the log has only "
            f"{size}: entries were deleted",
            size,
        )
    top = size.bit_length()
    for level in range(1, top + 2):
        # Subtrees above ``top`` cannot fit in the log at all (level top + 1 stands
        # for all of them); below it, a subtree must end at or before the last entry.
        condition = (
            AuditSubtree.level > top
            if level == top + 1
            else (AuditSubtree.level == level) & (AuditSubtree.start > size - (1 << level))
        )
        found = session.execute(
            select(AuditSubtree.level, AuditSubtree.start).where(condition).limit(1)
        ).first()
        if found is not None:
            raise _Divergence(
                f"a stored subtree (level {found.level}, start {found.start}) reaches past "
                f"the log's end ({size} entries): entries were deleted from the end",
                size,
            )
