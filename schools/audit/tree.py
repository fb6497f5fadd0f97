"""The log's Merkle tree as stored: appending entries with the complete-subtree
hashes they finish, and reading roots from those hashes.

The hub stores the hash of every complete perfect subtree, keyed ``(level,
start)``, so a root or a proof is one indexed query at any size of the log.
Appends are serialised by a lock (docs/audit-log.md describes the locking).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Select, and_, bindparam, func, insert, or_, select, text
from sqlalchemy.orm import Session

from crypto import merkle
from schools.audit.leaf import LEAF_VERSION, entry_leaf_hash
from schools.audit.models import AuditEvent, AuditSubtree
from schools.db import table_of
from schools.errors import LogIntegrityError

#: pg_advisory_xact_lock key serialising appends: the bytes "alertnet" as an integer.
LOG_LOCK_KEY = int.from_bytes(b"alertnet", "big")

_EVENTS = table_of(AuditEvent)
_SUBTREES = table_of(AuditSubtree)


def append(session: Session, entries: Sequence[AuditEvent], *, size: int | None = None) -> int:
    """Lock the log, number ``entries`` from the current size and insert them with
    the subtree rows they complete; the log's new size. Also the bulk path
    (bench, tests). A caller that took the lock in this transaction and read
    the size under it passes ``size``: neither is done again."""
    if size is None:
        lock_log(session)
        size = tree_size(session)
    if not entries:
        return size
    frontier = merkle.perfect_subtrees(0, size) if size else []
    nodes = stored_subtrees(session, frontier)
    missing = sorted(set(frontier) - set(nodes))
    if missing:
        # Fail closed: appending on a damaged tree would make a log nobody can verify.
        level, start = missing[0]
        raise LogIntegrityError(
            f"the log has no stored subtree at level {level}, start {start}; "
            "run 'alertnet audit verify'"
        )
    read = reader(nodes)
    entry_rows: list[dict[str, Any]] = []
    subtree_rows: list[dict[str, Any]] = []
    for offset, entry in enumerate(entries):
        entry.seq = size + offset
        entry.leaf_version = LEAF_VERSION
        completed = merkle.subtrees_completed_by_append(entry.seq, entry_leaf_hash(entry), read)
        for level, start, digest in completed:
            subtree_rows.append({"level": level, "start": start, "hash": digest})
        advance_frontier(nodes, completed)
        entry_rows.append(
            {
                "seq": entry.seq,
                "at": entry.at,
                "action": entry.action,
                "actor_id": entry.actor_id,
                "actor_role": entry.actor_role,
                "cluster_id": entry.cluster_id,
                "school_id": entry.school_id,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "envelope_hash": entry.envelope_hash,
                "detail": entry.detail,
                "leaf_version": entry.leaf_version,
            }
        )
    session.execute(insert(_EVENTS), entry_rows)
    session.execute(insert(_SUBTREES), subtree_rows)
    return size + len(entries)


def advance_frontier(
    nodes: dict[tuple[int, int], bytes], completed: list[tuple[int, int, bytes]]
) -> None:
    """Keep only the frontier: the new top subtree replaces the halves it consumed."""
    for level, start, _ in completed[1:]:
        nodes.pop((level - 1, start), None)
    level, start, digest = completed[-1]
    nodes[level, start] = digest


def lock_log(session: Session) -> None:
    """Serialise appends until the transaction ends (taking it twice is harmless)."""
    # SQLite: every transaction already began with BEGIN IMMEDIATE (schools/db.py),
    # so it is the only writer. PostgreSQL: a transaction-scoped advisory lock,
    # released by the commit. It needs no row, so TRUNCATE cannot remove it.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOG_LOCK_KEY})


T = TypeVar("T")
_PLACEHOLDER = bytes(merkle.HASH_SIZE)


# The last entry's number (None: an empty log), built once.
LAST_SEQ = select(func.max(_EVENTS.c.seq)).scalar_subquery()


def tree_size(session: Session) -> int:
    """Entries in the log. Appends are serialised and atomic, so the committed
    entries are always exactly ``0 .. size - 1``."""
    return size_after(session.scalar(select(LAST_SEQ)))


def size_after(last: int | None) -> int:
    """The log's size, its last entry's number being ``last``."""
    return 0 if last is None else int(last) + 1


def stored_subtrees(
    session: Session, positions: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Read the stored subtrees at ``positions`` in one query."""
    wanted = sorted(set(positions))
    if not wanted:
        return {}
    values: dict[str, int] = {}
    for i, (level, start) in enumerate(wanted):
        values[f"l{i}"], values[f"s{i}"] = level, start
    rows = session.execute(_subtrees_at(len(wanted)), values)
    return {(level, start): bytes(digest) for level, start, digest in rows}


@lru_cache(maxsize=128)
def _subtrees_at(count: int) -> Select[int, int, bytes]:
    """The query for ``count`` stored subtrees: an OR of primary-key equalities,
    which both databases answer with one index probe per row (SQLite scans the
    table for a row-value IN list). Built once per count, with bound values:
    building it anew cost more than running it, at every append. On the
    table's columns: plain rows, no ORM work at each run."""
    columns = _SUBTREES.c
    return select(columns.level, columns.start, columns.hash).where(
        or_(
            *(
                and_(columns.level == bindparam(f"l{i}"), columns.start == bindparam(f"s{i}"))
                for i in range(count)
            )
        )
    )


def reader(nodes: dict[tuple[int, int], bytes]) -> merkle.Getter:
    """A getter over subtrees already read; a missing one means a damaged log."""

    def read(level: int, start: int) -> bytes:
        try:
            return nodes[level, start]
        except KeyError:
            raise LogIntegrityError(
                f"the log has no stored subtree at level {level}, start {start}; "
                "run 'alertnet audit verify'"
            ) from None

    return read


def with_subtrees(session: Session, plan: Callable[[merkle.Getter], T]) -> T:
    """Run ``plan`` (roots, proofs) against the stored tree with one query.

    Which subtrees a root or proof reads depends only on the sizes and indexes,
    never on the hashes, so a dry run with placeholders lists them all.
    """
    wanted: list[tuple[int, int]] = []

    def note(level: int, start: int) -> bytes:
        wanted.append((level, start))
        return _PLACEHOLDER

    plan(note)
    return plan(reader(stored_subtrees(session, wanted)))


def root_at(session: Session, size: int) -> bytes:
    """The root hash of the first ``size`` entries, from at most log2(size)+1 rows."""
    return with_subtrees(session, lambda get: merkle.root_from(size, get))
