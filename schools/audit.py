"""The audit trail: an append-only, verifiable log of every state change.

``record()`` is the one place an action is recorded. Call it inside the action's
own transaction: the entry is appended to the log when that transaction
commits, so no action commits without its entry and no entry survives an
action that was rolled back (design.md, "The audit trail").

Entries are the leaves of an RFC 9162 Merkle tree (crypto/merkle.py). The hub
stores the hash of every complete perfect subtree, keyed ``(level, start)``, so
a root or a proof is one or two indexed queries at any size. The hub signs
checkpoints of the tree as C2SP signed notes (crypto/checkpoint.py);
``verify_log`` recomputes everything from the entries themselves.
docs/audit-log.md describes the leaf encoding byte by byte and the locking.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    Select,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    event,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from crypto import merkle
from crypto.checkpoint import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from schools.db import Base, UTCDateTime, utcnow
from schools.errors import DomainError, InvalidInput, NotFound
from schools.models import Member, School
from schools.policy import AuditScope

#: Version of the leaf encoding written into new entries (docs/audit-log.md, section 7).
LEAF_VERSION = 1

#: pg_advisory_xact_lock key serialising appends: the bytes "alertnet" as an integer.
LOG_LOCK_KEY = int.from_bytes(b"alertnet", "big")

_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)
_DETAIL_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
_MAX_JSON_INT = 2**53 - 1  # I-JSON: every reader gets the same number back
_FRONTIER_LEVELS = 64


class LogIntegrityError(DomainError):
    """The stored log is not what it should be: a row is missing or malformed."""

    status = 500


# --- tables -------------------------------------------------------------------------


class AuditEvent(Base):
    """One log entry: who, which school, which role, what, which object, when,
    the envelope hash; never content. ``seq`` is the entry's leaf index (from 0).

    Rows are never updated or deleted: database triggers refuse it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # Every listing is "newest first within a scope or filter": (x, seq) indexes
        # serve those as one index range, also at ten million entries.
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_actor_seq", "actor_id", "seq"),
        Index("ix_audit_events_cluster_seq", "cluster_id", "seq"),
        Index("ix_audit_events_school_seq", "school_id", "seq"),
        Index("ix_audit_events_object_seq", "object_type", "object_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_role: Mapped[str | None] = mapped_column(String(16))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column()
    school_id: Mapped[uuid.UUID | None] = mapped_column()
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    envelope_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    leaf_version: Mapped[int] = mapped_column(
        SmallInteger, default=LEAF_VERSION, server_default=text("1")
    )


class AuditSubtree(Base):
    """The hash of the perfect subtree of ``2**level`` entries starting at ``start``.

    Level 0 rows are the leaf hashes. Written once, when the subtree completes.
    """

    __tablename__ = "audit_subtrees"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A checkpoint the hub signed: the signed note and, for queries, its size and root."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditVerification(Base):
    """The result of one full ``alertnet audit verify`` run, shown by the pages' banner."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    entries: Mapped[int] = mapped_column(BigInteger)
    checkpoints: Mapped[int] = mapped_column(Integer)
    first_bad_seq: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text, default="")


_EVENTS = cast(Table, AuditEvent.__table__)
_SUBTREES = cast(Table, AuditSubtree.__table__)
_EVENT_COLUMNS = tuple(_EVENTS.c)


# --- the leaf encoding -----------------------------------------------------------------


class EntryFields(Protocol):
    """What a leaf is made of: an ``AuditEvent`` or a row selected from its table."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def action(self) -> str: ...
    @property
    def actor_id(self) -> uuid.UUID | None: ...
    @property
    def actor_role(self) -> str | None: ...
    @property
    def cluster_id(self) -> uuid.UUID | None: ...
    @property
    def school_id(self) -> uuid.UUID | None: ...
    @property
    def object_type(self) -> str | None: ...
    @property
    def object_id(self) -> str | None: ...
    @property
    def envelope_hash(self) -> bytes | None: ...
    @property
    def detail(self) -> dict[str, Any]: ...
    @property
    def leaf_version(self) -> int: ...


def _dumps(value: object) -> bytes:
    # A lone surrogate in a string fails the UTF-8 encoding (UnicodeEncodeError is
    # a ValueError), so no text reaches a leaf that JSON readers would disagree on.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def leaf_bytes(entry: EntryFields) -> bytes:
    """The exact bytes hashed as the entry's leaf (version 1, docs/audit-log.md section 7)."""
    if entry.leaf_version != 1:
        raise LogIntegrityError(
            f"entry {entry.seq} has leaf version {entry.leaf_version}, which this hub cannot read"
        )
    # The other members come from typed columns; only the detail can hold anything.
    _check_json(entry.detail, "detail")
    return _dumps(
        {
            "v": 1,
            "seq": entry.seq,
            "at": timestamp(entry.at),
            "action": entry.action,
            "actor": _uuid_text(entry.actor_id),
            "actor_role": entry.actor_role,
            "cluster": _uuid_text(entry.cluster_id),
            "school": _uuid_text(entry.school_id),
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "envelope_hash": entry.envelope_hash.hex() if entry.envelope_hash is not None else None,
            "detail": entry.detail,
        }
    )


def entry_leaf_hash(entry: EntryFields) -> bytes:
    return merkle.leaf_hash(leaf_bytes(entry))


def timestamp(at: datetime) -> str:
    """UTC, microseconds always written: ``2026-11-26T08:02:13.123456Z``."""
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid_text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _check_json(value: object, where: str) -> None:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"audit {where} is not valid Unicode text") from None
        return
    if isinstance(value, int):
        if abs(value) > _MAX_JSON_INT:
            raise ValueError(f"audit {where} is too large an integer for JSON readers")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _DETAIL_KEY.fullmatch(key):
                raise ValueError(f"audit {where} has a key {key!r}: use letters, digits, _ . -")
            _check_json(item, f"{where}.{key}")
        return
    raise ValueError(
        f"audit {where} is a {type(value).__name__}: use str, int, bool, None, list or dict"
    )


def _normalised(value: object) -> Any:
    """Tuples become lists (what the JSON column gives back); everything else is checked."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items()}
    return value


# --- recording -------------------------------------------------------------------------

_PENDING = "alertnet.audit.pending"
_SERIAL = "alertnet.audit.serial"
_SAVEPOINTS = "alertnet.audit.savepoints"


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
    kept = _normalised({k: v for k, v in detail.items() if v is not None})
    _check_json(kept, "detail")
    entry = AuditEvent(
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
    if session.get_transaction() is None:
        # The entry belongs to a transaction, whose end (commit or rollback) must
        # be seen: begin one now if the session has not autobegun yet.
        session.begin()
    serial = session.info.get(_SERIAL, 0) + 1
    session.info[_SERIAL] = serial
    session.info.setdefault(_PENDING, []).append((serial, entry))
    return entry


def _check_field(value: str | None, what: str, limit: int) -> None:
    if value is not None and not 0 < len(value) <= limit:
        raise ValueError(f"an audit {what} is 1 to {limit} characters, got {value!r}")


def pending(session: Session) -> list[AuditEvent]:
    """Entries recorded in this transaction and not yet appended."""
    return [entry for _, entry in session.info.get(_PENDING, [])]


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
    append(session, entries)
    return entries


def append(session: Session, entries: Sequence[AuditEvent]) -> None:
    """Lock the log, number ``entries`` from the current size and insert them with
    the subtree rows they complete. Also the bulk path (bench, tests)."""
    if not entries:
        return
    _lock_log(session)
    size = tree_size(session)
    frontier = merkle.perfect_subtrees(0, size) if size else []
    nodes = _fetch(session, frontier)
    missing = sorted(set(frontier) - set(nodes))
    if missing:
        # Fail closed: appending on a damaged tree would make a log nobody can verify.
        level, start = missing[0]
        raise LogIntegrityError(
            f"the log has no stored subtree at level {level}, start {start}; "
            "run 'alertnet audit verify'"
        )
    read = _reader(nodes)
    entry_rows: list[dict[str, Any]] = []
    subtree_rows: list[dict[str, Any]] = []
    for offset, entry in enumerate(entries):
        entry.seq = size + offset
        entry.leaf_version = LEAF_VERSION
        completed = merkle.subtrees_completed_by_append(entry.seq, entry_leaf_hash(entry), read)
        for level, start, digest in completed:
            subtree_rows.append({"level": level, "start": start, "hash": digest})
        _advance_frontier(nodes, completed)
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


def _advance_frontier(
    nodes: dict[tuple[int, int], bytes], completed: list[tuple[int, int, bytes]]
) -> None:
    """Keep only the frontier: the new top subtree replaces the halves it consumed."""
    for level, start, _ in completed[1:]:
        nodes.pop((level - 1, start), None)
    level, start, digest = completed[-1]
    nodes[level, start] = digest


def _lock_log(session: Session) -> None:
    # SQLite: every transaction already began with BEGIN IMMEDIATE (schools/db.py),
    # so it is the only writer. PostgreSQL: a transaction-scoped advisory lock,
    # released by the commit. It needs no row, so TRUNCATE cannot remove it.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOG_LOCK_KEY})


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
        session.info.pop(_SAVEPOINTS, None)


# --- reading the tree ------------------------------------------------------------------

T = TypeVar("T")
_PLACEHOLDER = bytes(merkle.HASH_SIZE)


def tree_size(session: Session) -> int:
    """Entries in the log. Appends are serialised and atomic, so the committed
    entries are always exactly ``0 .. size - 1``."""
    last = session.scalar(select(func.max(AuditEvent.seq)))
    return 0 if last is None else int(last) + 1


def _fetch(session: Session, positions: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Read the stored subtrees at ``positions`` in one query."""
    wanted = sorted(set(positions))
    if not wanted:
        return {}
    # An OR of primary-key equalities: both databases answer it with one index
    # probe per row (SQLite scans the table for a row-value IN list).
    rows = session.execute(
        select(AuditSubtree.level, AuditSubtree.start, AuditSubtree.hash).where(
            or_(*(and_(AuditSubtree.level == lv, AuditSubtree.start == st) for lv, st in wanted))
        )
    )
    return {(level, start): bytes(digest) for level, start, digest in rows}


def _reader(nodes: dict[tuple[int, int], bytes]) -> merkle.Getter:
    def read(level: int, start: int) -> bytes:
        try:
            return nodes[level, start]
        except KeyError:
            raise LogIntegrityError(
                f"the log has no stored subtree at level {level}, start {start}; "
                "run 'alertnet audit verify'"
            ) from None

    return read


def _with_subtrees(session: Session, plan: Callable[[merkle.Getter], T]) -> T:
    """Run ``plan`` (roots, proofs) against the stored tree with one query.

    Which subtrees a root or proof reads depends only on the sizes and indexes,
    never on the hashes, so a dry run with placeholders lists them all.
    """
    wanted: list[tuple[int, int]] = []

    def note(level: int, start: int) -> bytes:
        wanted.append((level, start))
        return _PLACEHOLDER

    plan(note)
    return plan(_reader(_fetch(session, wanted)))


def root_at(session: Session, size: int) -> bytes:
    """The root hash of the first ``size`` entries, from at most log2(size)+1 rows."""
    return _with_subtrees(session, lambda get: merkle.root_from(size, get))


@dataclass(frozen=True)
class Inclusion:
    seq: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes


@dataclass(frozen=True)
class Consistency:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]


def inclusion(session: Session, seq: int, size: int) -> Inclusion:
    """Entry ``seq``'s stored leaf hash, its inclusion proof in the tree of ``size``
    entries and that tree's root: one query, whatever the size of the log."""
    if seq < 0:
        raise InvalidInput("The sequence number must be 0 or more.", field="seq")
    current = tree_size(session)
    if seq >= current:
        raise NotFound(f"There is no entry {seq}: the log has {current} entries.")
    if not seq < size <= current:
        raise InvalidInput(
            f"The tree size must be more than {seq} and at most {current}.", field="size"
        )

    def plan(get: merkle.Getter) -> Inclusion:
        return Inclusion(
            seq,
            size,
            get(0, seq),
            merkle.inclusion_proof(seq, size, get),
            merkle.root_from(size, get),
        )

    return _with_subtrees(session, plan)


def consistency(session: Session, old_size: int, new_size: int) -> Consistency:
    """A proof that the first ``old_size`` entries are unchanged in the tree of
    ``new_size``, with both roots: one query."""
    current = tree_size(session)
    if old_size < 1:
        raise InvalidInput(
            "The old size must be at least 1: a proof from the empty log proves nothing.",
            field="from",
        )
    if not old_size <= new_size <= current:
        raise InvalidInput(
            f"Sizes must satisfy 1 <= old <= new <= {current} (the log's size).", field="to"
        )

    def plan(get: merkle.Getter) -> Consistency:
        return Consistency(
            old_size,
            new_size,
            merkle.root_from(old_size, get),
            merkle.root_from(new_size, get),
            merkle.consistency_proof(old_size, new_size, get) if old_size < new_size else [],
        )

    return _with_subtrees(session, plan)


# --- checkpoints -----------------------------------------------------------------------


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.size.desc(), AuditCheckpoint.id.desc())
        .limit(1)
    ).first()


def checkpoint_of_size(session: Session, size: int) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.size == size)
        .order_by(AuditCheckpoint.id.desc())
        .limit(1)
    ).first()


def sign_new_checkpoint(
    session: Session, signer: NoteSigner, size: int | None = None
) -> AuditCheckpoint:
    """Sign and store a checkpoint of the first ``size`` entries (default: all).

    Any prefix of committed entries never changes, so signing needs no lock; in
    the transaction that appended entries it covers those too and commits with them.
    """
    size = tree_size(session) if size is None else size
    root = root_at(session, size)
    note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    row = AuditCheckpoint(size=size, root=root, note=note.decode("utf-8"), signed_at=utcnow())
    session.add(row)
    session.flush()
    return row


def current_checkpoint(
    session: Session,
    signer: NoteSigner,
    *,
    max_age: timedelta,
    covering: int | None = None,
) -> AuditCheckpoint:
    """The latest checkpoint, signing a new one when the log has grown and the
    latest is older than ``max_age`` (so at most one per ``max_age``), or when it
    does not yet include entry ``covering`` (a receipt or proof asks for it)."""
    latest = latest_checkpoint(session)
    if latest is not None:
        if covering is not None and covering < latest.size:
            return latest
        if covering is None and utcnow() - latest.signed_at < max_age:
            return latest
    size = tree_size(session)
    if covering is not None and covering >= size:
        raise NotFound(f"There is no entry {covering}: the log has {size} entries.")
    if latest is not None and latest.size >= size:
        return latest
    return sign_new_checkpoint(session, signer, size)


def check_checkpoint(row: AuditCheckpoint, verifier: NoteVerifier) -> str | None:
    """Why a stored checkpoint is not a good signature of its own size and root
    (None when it is). Its root is compared with the tree by the callers."""
    where = f"checkpoint #{row.id} (size {row.size}, signed {row.signed_at:%Y-%m-%d %H:%M} UTC)"
    try:
        # The hub's key is named after its log's origin.
        signed = open_checkpoint(row.note.encode("utf-8"), verifier, verifier.name)
    except NoteError as error:
        return f"{where} does not verify as this log's checkpoint with the hub's key: {error}"
    if signed.size != row.size or signed.root != row.root:
        return f"{where}: its stored size or root differs from what the note signs"
    return None


# --- verification ----------------------------------------------------------------------


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
        read = _reader(frontier)
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
                    select(*_EVENT_COLUMNS)
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
                _advance_frontier(frontier, completed)
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
    stored.update(_fetch(session, larger))
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
    stored = _fetch(session, [(0, entry.seq) for entry in shown])
    for entry in sorted(shown, key=lambda e: e.seq):
        try:
            leaf = entry_leaf_hash(entry)
        except (LogIntegrityError, ValueError):
            return f"entry {entry.seq} cannot be encoded as a leaf"
        if stored.get((0, entry.seq)) != leaf:
            return f"entry {entry.seq} on this page does not match its stored leaf hash"
    return None


# --- finding entries -------------------------------------------------------------------


@dataclass(frozen=True)
class EntryFilter:
    """What a reader narrows the log to; every part is optional."""

    school_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    # Exact, or a group when it ends with a dot ("member." is every member action).
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def _where(
    statement: Select[AuditEvent], scope: AuditScope, filters: EntryFilter
) -> Select[AuditEvent]:
    if scope.cluster_id is not None:
        statement = statement.where(AuditEvent.cluster_id == scope.cluster_id)
    if scope.school_id is not None:
        statement = statement.where(AuditEvent.school_id == scope.school_id)
    if filters.school_id is not None:
        statement = statement.where(AuditEvent.school_id == filters.school_id)
    if filters.actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == filters.actor_id)
    if filters.action:
        if filters.action.endswith("."):
            statement = statement.where(
                AuditEvent.action.startswith(filters.action, autoescape=True)
            )
        else:
            statement = statement.where(AuditEvent.action == filters.action)
    if filters.object_type:
        statement = statement.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        statement = statement.where(AuditEvent.object_id == filters.object_id)
    if filters.since is not None:
        statement = statement.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEvent.at < filters.until)
    return statement


@dataclass(frozen=True)
class Page:
    """Newest first. ``older``/``newer`` are the cursors for the next pages."""

    entries: list[AuditEvent]
    older: int | None
    newer: int | None


def entries_page(
    session: Session,
    scope: AuditScope,
    filters: EntryFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> Page:
    """One page of the scoped, filtered log, by keyset on ``seq`` (never OFFSET):
    entries older than ``before``, or newer than ``after``, or the newest."""
    base = _where(select(AuditEvent), scope, filters)
    if after is not None:
        rows = list(
            session.scalars(
                base.where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(limit + 1)
            )
        )
        more_newer = len(rows) > limit
        entries = rows[:limit][::-1]
        newer = entries[0].seq if more_newer else None
        older = (
            entries[-1].seq if entries and _exists(session, base, below=entries[-1].seq) else None
        )
        return Page(entries, older, newer)
    base_older = base.where(AuditEvent.seq < before) if before is not None else base
    rows = list(session.scalars(base_older.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    entries = rows[:limit]
    older = entries[-1].seq if len(rows) > limit else None
    newer = None
    if before is not None and entries and _exists(session, base, above=entries[0].seq):
        newer = entries[0].seq
    return Page(entries, older, newer)


def _exists(
    session: Session,
    base: Select[AuditEvent],
    *,
    below: int | None = None,
    above: int | None = None,
) -> bool:
    statement = base.with_only_columns(AuditEvent.seq)
    if below is not None:
        statement = statement.where(AuditEvent.seq < below)
    if above is not None:
        statement = statement.where(AuditEvent.seq > above)
    return session.scalar(statement.limit(1)) is not None


def entries_in_range(
    session: Session,
    scope: AuditScope,
    filters: EntryFilter,
    start: int,
    end: int,
    limit: int,
) -> tuple[list[AuditEvent], int | None]:
    """Scoped entries with ``start <= seq < end``, oldest first, at most ``limit``;
    and where the next page starts (None at the end)."""
    rows = list(
        session.scalars(
            _where(select(AuditEvent), scope, filters)
            .where(AuditEvent.seq >= start, AuditEvent.seq < end)
            .order_by(AuditEvent.seq)
            .limit(limit + 1)
        )
    )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq + 1
    return rows, None


def entry_in_scope(session: Session, scope: AuditScope, seq: int) -> AuditEvent:
    """One entry, if the reader may see it; otherwise NotFound, as if absent."""
    found = session.scalars(
        _where(select(AuditEvent), scope, EntryFilter()).where(AuditEvent.seq == seq)
    ).first()
    if found is None:
        raise NotFound(f"There is no entry {seq} that you can see.")
    return found


def schools_in_scope(session: Session, scope: AuditScope) -> list[School]:
    statement = select(School).order_by(School.name)
    if scope.school_id is not None:
        statement = statement.where(School.id == scope.school_id)
    elif scope.cluster_id is not None:
        statement = statement.where(School.cluster_id == scope.cluster_id)
    return list(session.scalars(statement))


def member_in_scope(session: Session, scope: AuditScope, email: str) -> Member | None:
    """The member with this email address, if they belong to the reader's scope."""
    # Stored addresses are normalised (directory.normalise_email strips and
    # lower-cases them): normalise the query the same way and compare the column
    # as it is, so the unique index on members.email serves.
    statement = select(Member).where(Member.email == email.strip().lower())
    if scope.school_id is not None:
        statement = statement.where(Member.school_id == scope.school_id)
    elif scope.cluster_id is not None:
        in_school = select(School.id).where(School.cluster_id == scope.cluster_id)
        statement = statement.where(
            or_(Member.cluster_id == scope.cluster_id, Member.school_id.in_(in_school))
        )
    return session.scalars(statement).first()


@dataclass(frozen=True)
class Names:
    """Readable names for the ids on a page of entries."""

    members: dict[uuid.UUID, Member]
    schools: dict[uuid.UUID, School]


def names_for(session: Session, entries: Sequence[AuditEvent]) -> Names:
    member_ids = {e.actor_id for e in entries if e.actor_id is not None}
    school_ids = {e.school_id for e in entries if e.school_id is not None}
    members = (
        {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))}
        if member_ids
        else {}
    )
    schools = (
        {s.id: s for s in session.scalars(select(School).where(School.id.in_(school_ids)))}
        if school_ids
        else {}
    )
    return Names(members, schools)


def valid_object_type(value: str) -> bool:
    return bool(_TYPE.fullmatch(value))
