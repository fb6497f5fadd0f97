"""RFC 9162 (Certificate Transparency v2) Merkle tree maths for the audit log.

The hub keeps the log in a database, so nothing here owns storage. Instead the
hub stores, for every leaf, the hashes of the *perfect* subtrees (2^k leaves,
aligned on a multiple of 2^k) that end at that leaf, keyed by ``(level, start)``.
Every tree hash RFC 9162 needs — roots, inclusion and consistency proofs — is a
combination of O(log n) such stored subtrees, read through a caller-supplied
``get(level, start) -> bytes``. That keeps a proof against a log of ten million
entries at a few dozen indexed reads.

Verification follows the algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2
and never touches storage, so schools can run it against what the hub serves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Getter",
    "MemoryStore",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "reference_root",
    "root_from",
    "root_from_inclusion",
    "subtree_hash",
    "subtrees_completed_by_append",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

#: MTH of the empty list: SHA-256 of nothing (RFC 9162 section 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: Reads the stored hash of the perfect subtree of ``2**level`` leaves starting at
#: leaf ``start``. Implementations raise (e.g. ``KeyError``) if it is not stored.
Getter = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A Merkle proof, or the sizes and hashes it was checked against, did not verify."""


def leaf_hash(entry: bytes) -> bytes:
    """Hash a log entry as a leaf; the 0x00 prefix keeps leaves and nodes apart."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent (0x01 prefix, RFC 9162 section 2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH of raw entries, written exactly as the RFC's recursion.

    Slow (it rehashes everything) and kept only as an independent check on the
    O(log n) path in tests. (``alertnet audit verify`` does not use it: it
    recomputes the tree with ``subtrees_completed_by_append`` in
    schools.audit.verify.verify_log.)
    """
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hash(leaves[0])
    k = _split_point(n)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


# --- storage-side: what to store and how to read it ------------------------------


def subtrees_completed_by_append(
    index: int, leaf: bytes, get: Getter
) -> list[tuple[int, int, bytes]]:
    """Return the ``(level, start, hash)`` rows to store when leaf ``index`` is appended.

    ``leaf`` is the 32-byte *leaf hash* (``leaf_hash(entry)``), which is the
    level-0 row. Appending leaf ``i`` completes one perfect subtree per trailing
    one bit of ``i`` plus the leaf itself; each needs only its left half, stored
    earlier, so this reads ``trailing_ones(i)`` rows: at most log2(n), and on
    average fewer than one.
    """
    if index < 0:
        raise ValueError(f"leaf index must be non-negative, got {index}")
    _check_hash(leaf, "leaf hash")
    rows = [(0, index, leaf)]
    current = leaf
    level = 0
    end = index + 1
    while end % (2 << level) == 0:
        start = end - (2 << level)
        left = _read(get, level, start)
        current = node_hash(left, current)
        level += 1
        rows.append((level, start, current))
    return rows


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split the leaf range ``[start, end)`` into stored perfect subtrees, left to right.

    Valid for every range MTH uses (``start`` aligned to the largest power of two
    not above the range's size); ``perfect_subtrees(0, size)`` is the right-edge
    "frontier" of a tree of ``size`` leaves. Returns ``(level, start)`` pairs, at
    most log2(size) + 1 of them, so the hub may fetch them in one query.
    """
    size = end - start
    if start < 0 or size <= 0:
        raise ValueError(f"not a non-empty leaf range: [{start}, {end})")
    top = size.bit_length() - 1
    if start % (1 << top):
        raise ValueError(f"[{start}, {end}) is not a subtree range of a Merkle tree")
    parts = []
    for level in range(top, -1, -1):
        if size >> level & 1:
            parts.append((level, start))
            start += 1 << level
    return parts


def subtree_hash(start: int, end: int, get: Getter) -> bytes:
    """MTH of leaves ``[start, end)``, from at most log2(size) + 1 stored subtrees.

    MTH always splits off the largest power of two on the left, so a range is its
    perfect subtrees (largest first) folded together from the right.
    """
    parts = perfect_subtrees(start, end)
    level, first = parts[-1]
    result = _read(get, level, first)
    for level, first in reversed(parts[:-1]):
        result = node_hash(_read(get, level, first), result)
    return result


def root_from(size: int, get: Getter) -> bytes:
    """Root hash of the first ``size`` leaves (``EMPTY_ROOT`` for an empty log)."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    if size == 0:
        return EMPTY_ROOT
    return subtree_hash(0, size, get)


def inclusion_proof(index: int, size: int, get: Getter) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of ``size`` leaves (RFC 9162 PATH).

    Walks down from the root. Every sibling is a stored perfect subtree except at
    most one: the first time the walk turns left off the right edge, the sibling
    is the ragged right part, costing up to log2(n) reads. So at most
    2 * log2(n) + 1 reads in all.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split_point(end - start)
        mid = start + k
        if index < mid:
            proof.append(subtree_hash(mid, end, get))
            end = mid
        else:
            proof.append(_read(get, k.bit_length() - 1, start))
            start = mid
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, get: Getter) -> list[bytes]:
    """Proof that the first ``old_size`` leaves are a prefix of ``new_size`` (RFC 9162 PROOF).

    Same shape of walk as ``inclusion_proof`` and the same cost bound, plus one
    read for the subtree where the old tree's edge ends. An empty old tree has no
    meaningful proof (RFC 9162 section 2.1.4), so ``old_size`` must be positive.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    proof: list[bytes] = []
    start, end = 0, new_size
    complete = True  # the RFC's "b": still on the old tree's left edge
    while end != old_size:
        k = _split_point(end - start)
        mid = start + k
        if old_size <= mid:
            proof.append(subtree_hash(mid, end, get))
            end = mid
        else:
            proof.append(_read(get, k.bit_length() - 1, start))
            start = mid
            complete = False
    if not complete:
        proof.append(subtree_hash(start, end, get))
    proof.reverse()
    return proof


# --- verifier-side: RFC 9162 sections 2.1.3.2 and 2.1.4.2 ------------------------


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Recompute the root implied by an inclusion proof, or raise ``ProofError``.

    A caller that trusts no root yet (e.g. one reading a proof before the
    checkpoint) can compare the result itself; ``verify_inclusion`` does that.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash(leaf, "leaf hash", ProofError)
    _check_proof_hashes(proof)
    want = _inclusion_proof_length(index, size)
    if len(proof) != want:
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} must have {want} hashes, got {len(proof)}"
        )
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is leaf ``index`` of the tree with ``root``."""
    _check_hash(root, "root hash", ProofError)
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise ProofError(f"inclusion proof for leaf {index} of {size} does not match the root")


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    An empty old tree is refused rather than trivially accepted: its "proof" says
    nothing, and a school holding a size-0 checkpoint has nothing to protect.
    For equal sizes the proof must be empty and the roots identical; no hashing
    happens, so their length is not checked there (as the transparency-dev
    vectors expect) — roots from ``Checkpoint.parse`` are always 32 bytes.
    """
    if old_size < 0 or new_size < 0:
        raise ProofError(f"tree sizes must be non-negative, got {old_size} and {new_size}")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if old_size == new_size:
        if proof:
            raise ProofError(f"sizes are equal ({old_size}) but the proof is not empty")
        if old_root != new_root:
            raise ProofError(f"different roots for the same tree size {old_size}")
        return
    _check_hash(old_root, "old root hash", ProofError)
    _check_hash(new_root, "new root hash", ProofError)
    _check_proof_hashes(proof)
    want = _consistency_proof_length(old_size, new_size)
    if len(proof) != want:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size} must have {want} hashes, "
            f"got {len(proof)}"
        )

    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node itself
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if fr != old_root:
        raise ProofError(f"consistency proof does not match the old root (size {old_size})")
    if sr != new_root:
        raise ProofError(f"consistency proof does not match the new root (size {new_size})")


# --- in-memory store --------------------------------------------------------------


class MemoryStore:
    """Dict-backed log storing exactly the rows the hub's database stores.

    Used by tests, as an independent model of the rows the database holds;
    ``reads`` counts ``get`` calls so tests can hold the O(log n) promise.
    ``alertnet audit verify`` does not use it (schools.audit.verify.verify_log reads
    the database in batches).
    """

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0
        self.reads = 0

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> MemoryStore:
        """Build a store by appending raw entries in order."""
        store = cls()
        for entry in entries:
            store.append(entry)
        return store

    def __len__(self) -> int:
        return self.size

    def append(self, entry: bytes) -> int:
        """Append a raw entry; return its leaf index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append an already-hashed leaf; return its leaf index."""
        index = self.size
        for level, start, digest in subtrees_completed_by_append(index, leaf, self.get):
            self._nodes[level, start] = digest
        self.size += 1
        return index

    def get(self, level: int, start: int) -> bytes:
        """Read one stored perfect subtree (the ``Getter`` the proof functions take)."""
        self.reads += 1
        try:
            return self._nodes[level, start]
        except KeyError:
            raise KeyError(f"no complete subtree stored at level {level}, start {start}") from None

    def rows(self) -> dict[tuple[int, int], bytes]:
        """A copy of every stored ``(level, start) -> hash`` row, for audits."""
        return dict(self._nodes)

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (default: all of them)."""
        return root_from(self._size_or_all(size), self.get)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof for leaf ``index`` in the tree of ``size`` leaves (default: all)."""
        return inclusion_proof(index, self._size_or_all(size), self.get)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Consistency proof from ``old_size`` to ``new_size`` leaves (default: all)."""
        return consistency_proof(old_size, self._size_or_all(new_size), self.get)

    def _size_or_all(self, size: int | None) -> int:
        if size is None:
            return self.size
        if size > self.size:
            raise ValueError(f"the log has {self.size} entries, not {size}")
        return size


# --- helpers ----------------------------------------------------------------------


def _split_point(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n >= 2): MTH's split."""
    return 1 << ((n - 1).bit_length() - 1)


def _read(get: Getter, level: int, start: int) -> bytes:
    """Read through ``get``, catching a store that returns something not a hash."""
    digest = get(level, start)
    if len(digest) != HASH_SIZE:
        raise ValueError(f"store returned a malformed hash for level {level}, start {start}")
    return digest


def _check_hash(value: bytes, what: str, error: type[ValueError] = ValueError) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        _check_hash(h, f"proof hash {i}", ProofError)


def _inclusion_proof_length(index: int, size: int) -> int:
    # Below the level where the paths to `index` and to the last leaf meet, every
    # level has a sibling; above it, only the levels where `index` is a right child.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    # The inclusion path of the old tree's last leaf, minus the levels inside the
    # old tree's last perfect subtree, plus that subtree's own hash unless it is
    # the whole old tree (then the verifier already has it as the old root).
    shift = (old_size & -old_size).bit_length() - 1
    length = _inclusion_proof_length(old_size - 1, new_size) - shift
    return length if old_size == 1 << shift else length + 1
