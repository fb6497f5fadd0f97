"""Read events join the log without waiting for its lock.

An alert opened, a page of titles listed, a file downloaded: reads are the
hub's most frequent events and change nothing else, so ``audit.record_read``
inserts them into ``audit_queue`` with one plain insert in the reader's own
transaction (committed with it, rolled back with it) and never takes the log's
lock. A sequencer integrates queued rows into the Merkle log in batches, in
the order they were queued, as Certificate Transparency logs integrate
submitted leaves: the next transaction that appends entries of its own does it
first, under the lock it takes anyway, and the worker does it every minute.
Integration is one transaction: a sequencer that dies mid-batch leaves the
batch queued, and the next one integrates it. docs/audit-log.md, "Queued
reads".
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from schools.audit import tree
from schools.audit.models import AuditEvent, AuditQueued
from schools.db import table_of

#: Rows one integration moves; a writer integrates at most this many before
#: appending its own entries, so a backlog never holds a writer long.
BATCH = 500

_COLUMNS = (
    "at",
    "action",
    "actor_id",
    "actor_role",
    "cluster_id",
    "school_id",
    "object_type",
    "object_id",
    "envelope_hash",
    "detail",
    "leaf_version",
)


def enqueue(session: Session, entry: AuditEvent) -> AuditQueued:
    """Queue a recorded entry (not yet numbered) instead of appending it."""
    queued = AuditQueued(**{name: getattr(entry, name) for name in _COLUMNS})
    session.add(queued)
    return queued


# Built once: it has no parameters, and building it cost about what running it
# does. On the tables' columns: a plain row, no ORM work at each append.
_SIZE_AND_BACKLOG = select(tree.LAST_SEQ, select(table_of(AuditQueued).c.id).exists())


def size_and_backlog(session: Session) -> tuple[int, bool]:
    """The log's size and whether reads are queued, in one query. The caller
    holds the log's lock (``tree.lock_log``), so both stand until it commits."""
    last, backlog = session.execute(_SIZE_AND_BACKLOG).one()
    return tree.size_after(last), bool(backlog)


def integrate_locked(
    session: Session, limit: int = BATCH, *, size: int | None = None
) -> tuple[int, int]:
    """Integrate up to ``limit`` queued rows, oldest first: how many moved, and
    the log's size afterwards. The caller holds the log's lock
    (``tree.lock_log``): rows are read after it is taken, so two sequencers
    never integrate the same row. ``size``: the log's size read under that
    lock, as ``tree.append`` takes it."""
    queued = list(session.scalars(select(AuditQueued).order_by(AuditQueued.id).limit(limit)))
    if not queued:
        return 0, tree.tree_size(session) if size is None else size
    entries = [AuditEvent(**{name: getattr(row, name) for name in _COLUMNS}) for row in queued]
    size = tree.append(session, entries, size=size)
    session.execute(
        delete(AuditQueued)
        .where(AuditQueued.id.in_([row.id for row in queued]))
        .execution_options(synchronize_session=False)
    )
    for row in queued:
        session.expunge(row)
    return len(queued), size


def integrate(session: Session, limit: int = BATCH) -> int:
    """The sequencer's run: take the log's lock and integrate one batch.
    Commit the session afterwards (the worker's job does)."""
    tree.lock_log(session)
    return integrate_locked(session, limit)[0]


def integrate_all(session: Session) -> int:
    """Integrate everything queued now, batch after batch, in this transaction."""
    total = 0
    while moved := integrate(session):
        total += moved
    return total


def queued_count(
    session: Session, cluster_id: uuid.UUID | None = None, school_id: uuid.UUID | None = None
) -> int:
    """Reads waiting for the sequencer: all of them, or one cluster's or school's."""
    query = select(func.count()).select_from(AuditQueued)
    if cluster_id is not None:
        query = query.where(AuditQueued.cluster_id == cluster_id)
    if school_id is not None:
        query = query.where(AuditQueued.school_id == school_id)
    return int(session.scalar(query) or 0)
