"""Inclusion and consistency proofs (RFC 9162) from the stored subtrees: one
query each, whatever the size of the log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crypto import merkle
from schools.audit.tree import tree_size, with_subtrees
from schools.errors import InvalidInput, NotFound


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

    return with_subtrees(session, plan)


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

    return with_subtrees(session, plan)
