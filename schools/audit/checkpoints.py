"""Checkpoints: the hub's signed statements of the log's size and root, as C2SP
signed notes (crypto/checkpoint.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.checkpoint import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from schools.audit.models import AuditCheckpoint
from schools.audit.tree import root_at, tree_size
from schools.db import utcnow
from schools.errors import NotFound


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
