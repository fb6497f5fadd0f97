"""The contract of the audit log's API (its views are network/audit/api.py).

Those views declare their scope themselves (``gate.scoped``) and read their
query strings by hand, so their contract is declared here, by endpoint, for
openapi.py: the models below describe what they take and answer. They are
the same kind of contract as contract.py's, ready for ``@operation`` on those
views, which would then parse their queries with these models too.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field

from network.api.contract import Contract, follow
from network.api.fields import (
    DAY,
    Base64Data,
    Document,
    Identifier,
    Moment,
    Query,
    Text,
    WholeNumber,
)
from network.bounds import INT64_MAX

# Sequence numbers and tree sizes: what the log's BigInteger column holds.
Seq = Annotated[int, WholeNumber(0, INT64_MAX)]
Size = Annotated[int, WholeNumber(1, INT64_MAX)]
Hash = Annotated[bytes, Base64Data()]
Id = Annotated[uuid.UUID, Identifier()]
When = Annotated[datetime, Moment()]
# As network/audit/api.py pages the entries (a test checks they agree).
MAX_ENTRIES = 1000
DEFAULT_ENTRIES = 100
MAX_LEAVES = 10000
DEFAULT_LEAVES = 1000


class AuditKey(Document):
    """The log's verifier key: pin its vkey."""

    origin: str
    vkey: str
    algorithm: str
    key_id: str
    public_key: Hash


class Checkpoint(Document):
    """A signed checkpoint: the note text and its parsed fields."""

    origin: str
    size: Annotated[int, Field(ge=0)]
    root: Hash
    signed_at: When
    note: Annotated[str, Field(description="The C2SP signed note, exactly.")]


class InclusionProof(Document):
    """The proof and the checkpoint it is against."""

    seq: int
    tree_size: int
    leaf_hash: Hash
    proof: list[Hash]
    root: Hash
    checkpoint: Checkpoint | None


class ConsistencyProof(Document):
    """The proof and both roots."""

    from_: int = Field(alias="from")
    to: int
    from_root: Hash
    to_root: Hash
    proof: list[Hash]
    checkpoint: Checkpoint | None


class AuditEntry(Document):
    """One entry of the log."""

    seq: int
    at: When
    action: str
    actor: Id | None
    actor_role: str | None
    cluster: Id | None
    school: Id | None
    object_type: str | None
    object_id: str | None
    envelope_hash: str | None
    detail: dict[str, Any]
    leaf: str
    leaf_hash: Hash


class AuditEntries(Document):
    """Entries, oldest first."""

    tree_size: int
    start: int
    end: int
    entries: list[AuditEntry]
    next: int | None


class AuditLeaf(Document):
    """One position of the log, for rebuilding a checkpoint's tree."""

    seq: int
    present: Annotated[bool, Field(description="False when the log has no entry here.")]
    leaf: Annotated[
        str | None,
        Field(description="The exact leaf text, for entries in your scope; else null."),
    ]
    leaf_hash: Annotated[
        Hash | None,
        Field(description="SHA-256(0x00 || leaf), recomputed from the entry now."),
    ]
    stored_leaf_hash: Annotated[
        Hash | None, Field(description="The leaf hash stored when the entry was appended.")
    ]


class Restoration(Document):
    """A restore from backup that put the log back to ``restored_size`` entries."""

    seq: int
    at: When
    restored_size: int
    reason: str | None


class AuditLeaves(Document):
    """Positions of the log, oldest first, and the restores that cut it below ``end``."""

    tree_size: int
    start: int
    end: int
    leaves: list[AuditLeaf]
    next: int | None
    restorations: list[Restoration]


class InclusionQuery(Query):
    seq: Annotated[Seq, Field(description="The entry's seq.")]
    size: Annotated[Size | None, Field(description="Tree size.")] = None


class ConsistencyQuery(Query):
    from_: Annotated[Size, Field(alias="from", description="Older tree size.")]
    to: Annotated[Size | None, Field(description="Newer tree size.")] = None


class EntriesQuery(Query):
    start: Annotated[Seq | None, Field(description="First seq.")] = None
    end: Annotated[Seq | None, Field(description="Stop before this seq.")] = None
    limit: Annotated[int, WholeNumber(1, MAX_ENTRIES), Field(description="At most this many.")] = (
        DEFAULT_ENTRIES
    )
    school: Annotated[Id | None, Field(description="School id.")] = None
    actor: Annotated[Id | None, Field(description="Member id.")] = None
    action: Annotated[str | None, Text(64), Field(description="Action.")] = None
    object_type: Annotated[str | None, Text(32), Field(description="Object type.")] = None
    object_id: Annotated[str | None, Text(64), Field(description="Object id.")] = None
    since: Annotated[date | None, DAY, Field(description="From this day.")] = None
    until: Annotated[date | None, DAY, Field(description="To this day.")] = None


class LeavesQuery(Query):
    start: Annotated[Seq | None, Field(description="First seq (default 0).")] = None
    end: Annotated[
        Seq | None, Field(description="Stop before this seq (default: the log's size).")
    ] = None
    limit: Annotated[int, WholeNumber(1, MAX_LEAVES), Field(description="At most this many.")] = (
        DEFAULT_LEAVES
    )


OPERATIONS = {
    "audit_api.key": Contract(
        "auditKey", "The audit log's public key (pin its vkey)", answer=AuditKey
    ),
    "audit_api.checkpoint": Contract(
        "auditCheckpoint",
        "The latest signed checkpoint",
        answer=Checkpoint,
        links=follow("/size", "from", "auditConsistency"),
    ),
    "audit_api.inclusion_proof": Contract(
        "auditInclusion", "An entry's inclusion proof", query=InclusionQuery, answer=InclusionProof
    ),
    "audit_api.consistency_proof": Contract(
        "auditConsistency",
        "A consistency proof between two tree sizes",
        query=ConsistencyQuery,
        answer=ConsistencyProof,
    ),
    "audit_api.entries": Contract(
        "auditEntries",
        "Audit entries in your scope (heads, coordinators)",
        query=EntriesQuery,
        answer=AuditEntries,
        links=follow("/entries/0/seq", "seq", "auditEntry", "auditInclusion"),
    ),
    "audit_api.leaves": Contract(
        "auditLeaves",
        "Every position of the log with its leaf hashes (leaf text in your scope)",
        query=LeavesQuery,
        answer=AuditLeaves,
    ),
    "audit_api.entry": Contract(
        "auditEntry",
        "One audit entry in your scope",
        path={"seq": Annotated[Seq, Field(description="Sequence number.")]},
        answer=AuditEntry,
    ),
}
