"""Rebuilding a saved checkpoint's tree from the log's entries as they are now.

``alertnet audit verify --from-checkpoint`` and the API's ``/audit/leaves``
(which ``alertnet client audit verify`` reads) both start here: for every
sequence number, the entry's leaf recomputed from its fields beside the leaf
hash stored when it was appended. crypto.replay.PrefixReplay compares them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import merkle
from crypto.replay import PrefixReplay, ReplayResult
from schools.audit.leaf import EntryFields, leaf_bytes
from schools.audit.models import AuditEvent, AuditSubtree
from schools.db import table_of
from schools.errors import LogIntegrityError

_ENTRY_COLUMNS = tuple(table_of(AuditEvent).c)


@dataclass(frozen=True)
class Leaf:
    """One position of the log: its entry (None if there is none), the leaf
    bytes and hash recomputed from the entry's fields now (None with ``problem``
    if they cannot be encoded), and the leaf hash stored when it was appended."""

    seq: int
    entry: EntryFields | None
    text: bytes | None
    hash: bytes | None
    problem: str | None
    stored: bytes | None


def leaves_between(session: Session, start: int, end: int) -> list[Leaf]:
    """Every position ``start <= seq < end``, in order, missing entries included:
    two indexed range reads, whatever the size of the log."""
    rows = session.execute(
        select(*_ENTRY_COLUMNS)
        .where(AuditEvent.seq >= start, AuditEvent.seq < end)
        .order_by(AuditEvent.seq)
    ).all()
    stored = {
        int(first): bytes(digest)
        for first, digest in session.execute(
            select(AuditSubtree.start, AuditSubtree.hash).where(
                AuditSubtree.level == 0, AuditSubtree.start >= start, AuditSubtree.start < end
            )
        )
    }
    entries = {int(row.seq): cast(EntryFields, row) for row in rows}
    found = []
    for seq in range(start, end):
        entry = entries.get(seq)
        text = digest = problem = None
        if entry is not None:
            try:
                text = leaf_bytes(entry)
                digest = merkle.leaf_hash(text)
            except (ValueError, LogIntegrityError) as error:
                problem = str(error)
        found.append(Leaf(seq, entry, text, digest, problem, stored.get(seq)))
    return found


def replay_checkpoint(
    transaction: Callable[[], AbstractContextManager[Session]],
    size: int,
    root: bytes,
    *,
    batch_bits: int = 13,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Recompute the leaf of every entry ``0 .. size - 1`` from its fields, build
    the tree of ``size`` leaves from them and compare its root with ``root``.

    Reads ``2**batch_bits`` positions at a time, each batch in its own short
    transaction, so memory stays flat at ten million entries.
    """
    replay = PrefixReplay(size, root)
    batch = 1 << batch_bits
    for first in range(0, size, batch):
        end = min(first + batch, size)
        with transaction() as session:
            leaves = leaves_between(session, first, end)
        for leaf in leaves:
            replay.add(leaf.seq, leaf.hash, leaf.stored, present=leaf.entry is not None)
        if progress is not None:
            progress(end, size)
    return replay.result()
