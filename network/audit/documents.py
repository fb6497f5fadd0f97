"""The JSON shapes of the audit log that the API, receipts and exports share.

Hashes are standard base64, as in checkpoints; envelope hashes are hex, as in
the leaf encoding.
"""

from __future__ import annotations

import base64
from typing import Any

from crypto import merkle
from network.settings import current as settings
from schools.audit.leaf import leaf_bytes, timestamp
from schools.audit.models import AuditCheckpoint, AuditEvent
from schools.audit.replay import Leaf
from schools.policy import AuditScope


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def checkpoint_document(row: AuditCheckpoint) -> dict[str, Any]:
    return {
        "origin": settings().log_origin,
        "size": row.size,
        "root": b64(row.root),
        "signed_at": timestamp(row.signed_at),
        "note": row.note,
    }


def entry_document(entry: AuditEvent) -> dict[str, Any]:
    """An entry as the API and the JSON export give it; ``leaf`` is the exact
    leaf text, so a school can hash it: SHA-256(0x00 || UTF-8 of leaf)."""
    leaf = leaf_bytes(entry)
    return {
        "seq": entry.seq,
        "at": timestamp(entry.at),
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


def leaf_document(leaf: Leaf, scope: AuditScope | None) -> dict[str, Any]:
    """A position of the log for rebuilding a checkpoint's tree: hashes for every
    reader, the leaf text only for entries in the reader's ``scope``."""
    entry = leaf.entry
    readable = (
        entry is not None
        and scope is not None
        and (scope.cluster_id is None or entry.cluster_id == scope.cluster_id)
        and (scope.school_id is None or entry.school_id == scope.school_id)
    )
    return {
        "seq": leaf.seq,
        "present": entry is not None,
        "leaf": leaf.text.decode("utf-8") if readable and leaf.text is not None else None,
        "leaf_hash": b64(leaf.hash) if leaf.hash is not None else None,
        "stored_leaf_hash": b64(leaf.stored) if leaf.stored is not None else None,
    }
