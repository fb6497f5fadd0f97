"""Receipts: proof for a sender that their action is in the log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from network.audit.documents import b64, checkpoint_document
from network.audit.signer import current_checkpoint, signer
from schools import audit
from schools.audit import proofs
from schools.errors import LogIntegrityError


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
    proof = proofs.inclusion(session, seq, checkpoint.size)
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
