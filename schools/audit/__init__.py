"""The audit trail: an append-only, verifiable log of every state change.

``record()`` is the one place an action is recorded. Call it inside the action's
own transaction: the entry is appended to the log when that transaction
commits, so no action commits without its entry and no entry survives an
action that was rolled back (design.md, "The audit trail").

The log is an RFC 9162 Merkle tree whose leaves are the entries:

- ``models``: the tables; ``leaf``: the exact bytes of an entry that are hashed;
- ``tree``: appending under the log lock, and roots from the stored subtrees;
- ``proofs``: inclusion and consistency proofs; ``checkpoints``: signed heads;
- ``verify``: ``alertnet audit verify``; ``replay``: a saved checkpoint's tree
  rebuilt from the entries (``--from-checkpoint``, the API's ``/leaves``);
  ``integrity``: the pages' quick checks.

docs/audit-log.md describes the leaf encoding byte by byte and the locking.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from schools.audit import queue, tree
from schools.audit.leaf import LEAF_VERSION, check_json, normalised
from schools.audit.models import AuditEvent, AuditQueued
from schools.db import utcnow
from schools.models import Member, School

_PENDING = "alertnet.audit.pending"
_SERIAL = "alertnet.audit.serial"
_SAVEPOINTS = "alertnet.audit.savepoints"
_QUEUED = "alertnet.audit.queued"
_LASTING = "alertnet.audit.lasting"


def record(
    session: Session,
    action: str,
    *,
    actor: Member | None = None,
    school_id: uuid.UUID | None = None,
    cluster_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: object = None,
    envelope_hash: bytes | None = None,
    **detail: Any,
) -> AuditEvent:
    """Record an entry: who, which school, what, which object; never content.

    The entry joins the log when the session's transaction commits (or at
    ``append_pending``); until then its ``seq`` is None. Detail values must be
    JSON: str, int, bool, list or dict (None values are left out).
    """
    entry = _entry(
        session, action, actor, school_id, cluster_id, object_type, object_id, envelope_hash, detail
    )
    if session.get_transaction() is None:
        # The entry belongs to a transaction, whose end (commit or rollback) must
        # be seen: begin one now if the session has not autobegun yet.
        session.begin()
    serial = session.info.get(_SERIAL, 0) + 1
    session.info[_SERIAL] = serial
    session.info.setdefault(_PENDING, []).append((serial, entry))
    return entry


def record_lasting(session: Session, action: str, **fields: Any) -> AuditEvent:
    """Record an entry that must stand even if the action's transaction rolls
    back (a refusal the hub must remember, such as keys that do not match what
    the school published). It is recorded as ``record`` does; whoever rolls the
    transaction back records what ``take_lasting`` gives in a transaction of its
    own (network/db.py does, for requests, commands and the worker)."""
    session.info.setdefault(_LASTING, []).append((action, dict(fields)))
    return record(session, action, **fields)


def take_lasting(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """The lasting entries recorded in the session so far, forgotten there."""
    taken: list[tuple[str, dict[str, Any]]] = session.info.pop(_LASTING, [])
    return taken


def record_read(
    session: Session,
    action: str,
    *,
    actor: Member | None = None,
    school_id: uuid.UUID | None = None,
    cluster_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: object = None,
    envelope_hash: bytes | None = None,
    **detail: Any,
) -> None:
    """Record a read (an opening, a listing, a download) as ``record`` does, but
    queued: one insert in this transaction, without the log's lock; the entry
    joins the log at the next integration (``schools/audit/queue.py``)."""
    entry = _entry(
        session, action, actor, school_id, cluster_id, object_type, object_id, envelope_hash, detail
    )
    session.info.setdefault(_QUEUED, []).append(queue.enqueue(session, entry))


def _entry(
    session: Session,
    action: str,
    actor: Member | None,
    school_id: uuid.UUID | None,
    cluster_id: uuid.UUID | None,
    object_type: str | None,
    object_id: object,
    envelope_hash: bytes | None,
    detail: dict[str, Any],
) -> AuditEvent:
    if actor is not None:
        school_id = school_id or actor.school_id
        cluster_id = cluster_id or actor.effective_cluster_id
    if school_id is not None and cluster_id is None:
        # Scoping relies on it: a coordinator sees entries by their cluster.
        school = session.get(School, school_id)
        cluster_id = school.cluster_id if school is not None else None
    object_text = str(object_id) if object_id is not None else None
    _check_field(action, "action", 64)
    _check_field(object_type, "object type", 32)
    _check_field(object_text, "object id", 64)
    if envelope_hash is not None and len(envelope_hash) > 64:
        raise ValueError("an envelope hash is at most 64 bytes")
    kept = normalised({k: v for k, v in detail.items() if v is not None})
    check_json(kept, "detail")
    return AuditEvent(
        at=utcnow(),
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_role=actor.role if actor is not None else None,
        school_id=school_id,
        cluster_id=cluster_id,
        object_type=object_type,
        object_id=object_text,
        envelope_hash=envelope_hash,
        detail=kept,
        leaf_version=LEAF_VERSION,
    )


def _check_field(value: str | None, what: str, limit: int) -> None:
    if value is not None and not 0 < len(value) <= limit:
        raise ValueError(f"an audit {what} is 1 to {limit} characters, got {value!r}")


def pending(session: Session) -> list[AuditEvent | AuditQueued]:
    """Entries recorded in this transaction and not yet appended, and reads it
    queued (a caller may still add to their detail before the commit)."""
    return [entry for _, entry in session.info.get(_PENDING, [])] + list(
        session.info.get(_QUEUED, [])
    )


def append_pending(session: Session) -> list[AuditEvent]:
    """Append this transaction's recorded entries now, giving them their ``seq``.

    Commit does this by itself. Call it only to learn a ``seq`` inside the
    transaction (a receipt, say): the log lock is then held until the commit.
    """
    queued = session.info.pop(_PENDING, None)
    if not queued:
        return []
    entries = [entry for _, entry in queued]
    # Everything else the transaction writes goes first, so the lock is taken
    # last and held only for the inserts below and the commit.
    session.flush()
    # The lock is taken once; reads queued before it go first (at most a batch).
    # The log's size and whether any are queued are read in one query, under it.
    tree.lock_log(session)
    size, backlog = queue.size_and_backlog(session)
    if backlog:
        size = queue.integrate_locked(session, size=size)[1]
    tree.append(session, entries, size=size)
    return entries


@event.listens_for(Session, "before_commit")
def _append_before_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        append_pending(session)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[transaction] = session.info.get(_SERIAL, 0)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Entries recorded inside a rolled-back savepoint are forgotten with it."""
    if previous_transaction.nested:
        mark = session.info.get(_SAVEPOINTS, {}).pop(previous_transaction, None)
        queued = session.info.get(_PENDING)
        if mark is not None and queued:
            queued[:] = [item for item in queued if item[0] <= mark]
    elif previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (and appended) or abandoned
        session.info.pop(_PENDING, None)
        session.info.pop(_QUEUED, None)
        session.info.pop(_SAVEPOINTS, None)
