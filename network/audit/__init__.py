"""The hub's side of the audit trail: its checkpoint key, checkpoints signed on
demand, receipts, and the JSON shapes the API and exports share.

The log itself (tables, appends, proofs, verification) is schools/audit.py; the
pages are network/audit/views.py, the JSON API network/audit/api.py and the
``alertnet audit`` commands network/audit/cli.py.
"""

from __future__ import annotations

import base64
import functools
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from crypto import merkle
from crypto.checkpoint import NoteSigner, NoteVerifier, RotatedVerifier
from network.settings import Settings, log_key_seed
from network.settings import current as settings
from schools import audit
from schools.audit import AuditCheckpoint, AuditEvent, Integrity, LogIntegrityError


@functools.lru_cache(maxsize=8)
def _signer(encoded_seed: str, origin: str) -> NoteSigner:
    return NoteSigner(origin, Ed25519PrivateKey.from_private_bytes(log_key_seed(encoded_seed)))


def signer(configured: Settings | None = None) -> NoteSigner:
    """The hub's checkpoint signer; its key name is the log's origin."""
    configured = configured or settings()
    return _signer(configured.log_key, configured.log_origin)


def verifier(configured: Settings | None = None) -> NoteVerifier:
    configured = configured or settings()
    current = NoteVerifier.from_vkey(signer(configured).verifier_key())
    if not configured.log_retired_keys:
        return current
    # After a rotation, checkpoints the retired keys signed still verify.
    retired = [NoteVerifier.from_vkey(vkey) for vkey in configured.log_retired_keys]
    return RotatedVerifier(current, retired)


def current_checkpoint(session: Session, covering: int | None = None) -> AuditCheckpoint:
    """The latest checkpoint, signing a fresh one when the log has grown and the
    last is older than the configured interval, or when entry ``covering`` is
    not in it yet (docs/audit-log.md, "When checkpoints are signed")."""
    configured = settings()
    return audit.current_checkpoint(
        session,
        signer(configured),
        max_age=timedelta(seconds=configured.checkpoint_interval_seconds),
        covering=covering,
    )


def integrity(session: Session, shown: list[AuditEvent]) -> Integrity:
    """The banner's checks for one page view (see schools.audit.quick_check)."""
    return audit.quick_check(session, verifier(), current_checkpoint(session), shown)


def receipt_for(session: Session, seq: int) -> dict[str, Any]:
    """The receipt for entry ``seq`` (e.g. an alert's "alert.posted" entry): the
    signed checkpoint that includes it and the entry's inclusion proof against it.

    Entries recorded earlier in this transaction are appended first, so a sender
    gets the receipt of the alert they are posting: call ``audit.append_pending``
    to learn its ``seq``. The log lock is then held until the commit, and a
    checkpoint signed here commits (or rolls back) with the alert.
    """
    audit.append_pending(session)
    checkpoint = current_checkpoint(session, covering=seq)
    proof = audit.inclusion(session, seq, checkpoint.size)
    if proof.root != checkpoint.root:
        raise LogIntegrityError(
            f"the stored tree's root at size {checkpoint.size} differs from its checkpoint"
        )
    return {
        "seq": seq,
        "leaf_hash": b64(proof.leaf_hash),
        "tree_size": checkpoint.size,
        "inclusion_proof": [b64(h) for h in proof.proof],
        "checkpoint": checkpoint_document(checkpoint),
        "key": signer().verifier_key(),
    }


# --- JSON shapes ------------------------------------------------------------------------


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def checkpoint_document(row: AuditCheckpoint) -> dict[str, Any]:
    return {
        "origin": settings().log_origin,
        "size": row.size,
        "root": b64(row.root),
        "signed_at": audit.timestamp(row.signed_at),
        "note": row.note,
    }


def entry_document(entry: AuditEvent) -> dict[str, Any]:
    """An entry as the API and the JSON export give it; ``leaf`` is the exact
    leaf text, so a school can hash it: SHA-256(0x00 || UTF-8 of leaf)."""
    leaf = audit.leaf_bytes(entry)
    return {
        "seq": entry.seq,
        "at": audit.timestamp(entry.at),
        "action": entry.action,
        "actor": str(entry.actor_id) if entry.actor_id else None,
        "actor_role": entry.actor_role,
        "cluster": str(entry.cluster_id) if entry.cluster_id else None,
        "school": str(entry.school_id) if entry.school_id else None,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "envelope_hash": entry.envelope_hash.hex() if entry.envelope_hash is not None else None,
        "detail": entry.detail,
        "leaf": leaf.decode("utf-8"),
        "leaf_hash": b64(merkle.leaf_hash(leaf)),
    }
