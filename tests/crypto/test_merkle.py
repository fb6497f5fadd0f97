"""RFC 9162 Merkle maths: known answers, a slow reference, and the O(log n) read promise."""

from __future__ import annotations

import base64
import hashlib
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.merkle import (
    EMPTY_ROOT,
    MemoryStore,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    reference_root,
    root_from,
    root_from_inclusion,
    subtree_hash,
    subtrees_completed_by_append,
    verify_consistency,
    verify_inclusion,
)
from crypto.replay import PrefixReplay, TreeBuilder
from tests.vectors import VECTORS, load_json, vectors_dir

# The leaves behind the transparency-dev inclusion vectors (shared/vectors/README.md).
README_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
README_ROOT_8 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def entries(n: int, salt: str = "") -> list[bytes]:
    """Distinct entries, so no two subtrees share a hash and swapped proofs must fail."""
    return [f"{salt}entry {i}".encode() for i in range(n)]


def reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 PATH(m, D[n]), written as the recursion."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*reference_path(index, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(index - k, leaves[k:]), reference_root(leaves[:k])]


def reference_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """RFC 9162 section 2.1.4.1 SUBPROOF(m, D[n], b), written as the recursion."""
    n = len(leaves)
    if m == n:
        return [] if complete else [reference_root(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], complete), reference_root(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]


def flip_bit(data: bytes, bit: int) -> bytes:
    buf = bytearray(data)
    buf[bit // 8 % len(buf)] ^= 1 << (bit % 8)
    return bytes(buf)


# --- hashing ---------------------------------------------------------------------


def test_hashes_are_domain_separated_sha256() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    # An entry that looks like two child hashes must not hash like their parent.
    assert leaf_hash(b"\x01" + left + right) != node_hash(left, right)


def test_root_of_the_eight_readme_leaves_matches_the_published_root() -> None:
    store = MemoryStore.from_entries(README_LEAVES)
    assert b64(store.root()) == README_ROOT_8
    assert b64(reference_root(README_LEAVES)) == README_ROOT_8
    assert store.root(0) == reference_root([]) == EMPTY_ROOT
    assert store.root(1) == leaf_hash(README_LEAVES[0])


# --- the transparency-dev vectors -----------------------------------------------


def _vector_files(kind: str) -> list[str]:
    # Collected at import time; when the folder is missing the test below skips
    # (or fails under CI) through vectors_dir, so a placeholder id keeps it visible.
    root = VECTORS / "merkle" / kind
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*.json"))
    return found or ["<vectors missing>"]


def _load_vector(kind: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = load_json("merkle", kind, *Path(name).parts)
    return loaded


@pytest.mark.parametrize("name", _vector_files("inclusion"))
def test_inclusion_vector(name: str) -> None:
    v = _load_vector("inclusion", name)
    args = (
        unb64(v["leafHash"]),
        v["leafIdx"],
        v["treeSize"],
        [unb64(p) for p in v["proof"] or []],
        unb64(v["root"]),
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("name", _vector_files("consistency"))
def test_consistency_vector(name: str) -> None:
    v = _load_vector("consistency", name)
    args = (
        v["size1"],
        v["size2"],
        unb64(v["root1"]),
        unb64(v["root2"]),
        [unb64(p) for p in v["proof"] or []],
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_generated_proofs_reproduce_every_happy_path_vector() -> None:
    store = MemoryStore.from_entries(README_LEAVES)
    checked = 0
    for path in sorted(vectors_dir("merkle", "inclusion").glob("[0-9]*/happy-path.json")):
        v = load_json("merkle", "inclusion", path.parent.name, path.name)
        index, size = v["leafIdx"], v["treeSize"]
        assert b64(leaf_hash(README_LEAVES[index])) == v["leafHash"]
        assert b64(store.root(size)) == v["root"]
        assert [b64(h) for h in store.inclusion_proof(index, size)] == (v["proof"] or [])
        checked += 1
    for path in sorted(vectors_dir("merkle", "consistency").glob("[0-9]*/happy-path.json")):
        v = load_json("merkle", "consistency", path.parent.name, path.name)
        old, new = v["size1"], v["size2"]
        assert b64(store.root(old)) == v["root1"]
        assert b64(store.root(new)) == v["root2"]
        assert [b64(h) for h in store.consistency_proof(old, new)] == (v["proof"] or [])
        checked += 1
    assert checked == 10


# --- generation against the RFC's recursive definitions --------------------------


def test_all_proofs_of_small_trees_equal_the_rfc_recursion() -> None:
    leaves = entries(40)
    store = MemoryStore.from_entries(leaves)
    for size in range(1, len(leaves) + 1):
        root = store.root(size)
        assert root == reference_root(leaves[:size])
        for index in range(size):
            proof = store.inclusion_proof(index, size)
            assert proof == reference_path(index, leaves[:size])
            verify_inclusion(leaf_hash(leaves[index]), index, size, proof, root)
        for old in range(1, size + 1):
            proof = store.consistency_proof(old, size)
            assert proof == reference_subproof(old, leaves[:size], True)
            verify_consistency(old, size, store.root(old), root, proof)


def test_stored_rows_are_exactly_the_complete_perfect_subtrees() -> None:
    n = 77
    store = MemoryStore.from_entries(entries(n))
    expected = {
        (level, start)
        for level in range(n.bit_length())
        for start in range(0, n - (1 << level) + 1, 1 << level)
    }
    rows = store.rows()
    assert set(rows) == expected
    leaves = entries(n)
    for (level, start), digest in rows.items():
        assert digest == reference_root(leaves[start : start + (1 << level)])


def test_append_reads_only_left_halves_and_few_of_them() -> None:
    store = MemoryStore()
    for i, entry in enumerate(entries(1 << 12)):
        before = store.reads
        store.append(entry)
        trailing_ones = (~i & (i + 1)).bit_length() - 1
        assert store.reads - before == trailing_ones
    assert store.reads < store.size  # amortised: fewer than one read per append


def test_perfect_subtrees_split_a_range_largest_first() -> None:
    assert perfect_subtrees(0, 13) == [(3, 0), (2, 8), (0, 12)]
    assert perfect_subtrees(8, 13) == [(2, 8), (0, 12)]
    assert perfect_subtrees(16, 32) == [(4, 16)]
    for bad in ((0, 0), (3, 2), (-1, 3), (2, 6), (4, 12)):
        with pytest.raises(ValueError, match="range"):
            perfect_subtrees(*bad)


def test_subtree_hash_of_any_mth_range_matches_the_reference() -> None:
    leaves = entries(50)
    store = MemoryStore.from_entries(leaves)
    for start in range(50):
        for end in range(start + 1, 51):
            size = end - start
            if start % (1 << (size.bit_length() - 1)) == 0:
                assert subtree_hash(start, end, store.get) == reference_root(leaves[start:end])


# --- misuse of the generation side ------------------------------------------------


def test_generation_refuses_impossible_requests() -> None:
    store = MemoryStore.from_entries(entries(5))
    with pytest.raises(ValueError, match="not in a tree"):
        store.inclusion_proof(5, 5)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(-1, 5, store.get)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(0, 5, store.get)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(4, 3, store.get)
    with pytest.raises(ValueError, match="not 6"):
        store.root(6)
    with pytest.raises(ValueError, match="non-negative"):
        root_from(-1, store.get)
    assert store.consistency_proof(5, 5) == []
    with pytest.raises(KeyError, match="level 3"):
        root_from(8, store.get)  # rows beyond what was appended are not invented


def test_a_store_returning_garbage_is_caught() -> None:
    with pytest.raises(ValueError, match="malformed hash"):
        root_from(2, lambda level, start: b"short")
    with pytest.raises(ValueError, match="leaf hash must be 32 bytes"):
        subtrees_completed_by_append(0, b"raw entry, not a hash", lambda level, start: b"")
    with pytest.raises(ValueError, match="non-negative"):
        subtrees_completed_by_append(-1, leaf_hash(b""), lambda level, start: b"")


# --- misuse of the verification side -----------------------------------------------


@pytest.fixture(scope="module")
def tree7() -> MemoryStore:
    return MemoryStore.from_entries(entries(7))


def test_inclusion_rejects_malformed_inputs(tree7: MemoryStore) -> None:
    leaves = entries(7)
    root = tree7.root()
    leaf = leaf_hash(leaves[3])
    proof = tree7.inclusion_proof(3)
    verify_inclusion(leaf, 3, 7, proof, root)
    cases = {
        "leaf hash must be 32 bytes": (leaf[:31], 3, 7, proof, root),
        "root hash must be 32 bytes": (leaf, 3, 7, proof, root + b"\x00"),
        "proof hash 1 must be 32 bytes": (leaf, 3, 7, [proof[0], proof[1][:16], proof[2]], root),
        "not in a tree": (leaf, 7, 7, proof, root),
        "must have 3 hashes, got 4": (leaf, 3, 7, [*proof, proof[0]], root),
        "must have 3 hashes, got 2": (leaf, 3, 7, proof[:2], root),
        "does not match the root": (leaf, 3, 7, [proof[1], proof[0], proof[2]], root),
    }
    for message, args in cases.items():
        with pytest.raises(ProofError, match=message):
            verify_inclusion(*args)
    with pytest.raises(ProofError, match="not in a tree"):
        root_from_inclusion(leaf, -1, 7, proof)


def test_consistency_rejects_malformed_inputs(tree7: MemoryStore) -> None:
    old, new = tree7.root(3), tree7.root(7)
    proof = tree7.consistency_proof(3, 7)
    verify_consistency(3, 7, old, new, proof)
    cases = {
        "from the empty tree": (0, 7, EMPTY_ROOT, new, proof),
        "larger than new size": (7, 3, new, old, proof),
        "non-negative": (-1, 7, old, new, proof),
        "proof is not empty": (7, 7, new, new, proof),
        "different roots": (7, 7, new, old, []),
        "old root hash must be 32 bytes": (3, 7, old[:20], new, proof),
        "new root hash must be 32 bytes": (3, 7, old, new + b"!", proof),
        "proof hash 0 must be 32 bytes": (3, 7, old, new, [b"", *proof[1:]]),
        "must have 4 hashes, got 5": (3, 7, old, new, [*proof, proof[0]]),
        "must have 4 hashes, got 3": (3, 7, old, new, proof[1:]),
        "old root": (3, 7, new, new, proof),
        "new root": (3, 7, old, old, proof),
    }
    for message, args in cases.items():
        with pytest.raises(ProofError, match=message):
            verify_consistency(*args)


def test_a_school_cannot_be_shown_a_rewritten_history() -> None:
    """The hub edits entry 2 after a school saw the size-5 root: no proof can bridge it."""
    honest = entries(9)
    forged = [*honest[:2], b"edited", *honest[3:]]
    seen = MemoryStore.from_entries(honest[:5]).root()
    rewritten = MemoryStore.from_entries(forged)
    with pytest.raises(ProofError):
        verify_consistency(5, 9, seen, rewritten.root(), rewritten.consistency_proof(5))


# --- properties ----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(size=st.integers(min_value=0, max_value=300), salt=st.text(max_size=4))
def test_fast_root_equals_reference_root_for_every_prefix(size: int, salt: str) -> None:
    leaves = entries(size, salt)
    store = MemoryStore.from_entries(leaves)
    for prefix in range(size + 1):
        assert store.root(prefix) == reference_root(leaves[:prefix])


tree_and_index = st.integers(min_value=1, max_value=300).flatmap(
    lambda size: st.tuples(st.just(size), st.integers(min_value=0, max_value=size - 1))
)


@settings(max_examples=150, deadline=None)
@given(case=tree_and_index, salt=st.text(max_size=4), data=st.data())
def test_inclusion_proofs_verify_and_any_change_breaks_them(
    case: tuple[int, int], salt: str, data: st.DataObject
) -> None:
    size, index = case
    leaves = entries(size, salt)
    store = MemoryStore.from_entries(leaves)
    root, leaf = store.root(), leaf_hash(leaves[index])
    proof = store.inclusion_proof(index)
    verify_inclusion(leaf, index, size, proof, root)
    assert root_from_inclusion(leaf, index, size, proof) == root

    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(leaves[index] + b"!"), index, size, proof, root)
    other = data.draw(st.integers(min_value=0, max_value=size), label="other index")
    if other != index:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, other, size, proof, root)
    if proof:
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        tampered = [*proof[:i], flip_bit(proof[i], bit), *proof[i + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, tampered, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof[:-1], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, [*proof, root], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, [leaf, *proof], root)


sizes_pair = st.integers(min_value=1, max_value=300).flatmap(
    lambda new: st.tuples(st.integers(min_value=1, max_value=new), st.just(new))
)


@settings(max_examples=150, deadline=None)
@given(case=sizes_pair, salt=st.text(max_size=4), data=st.data())
def test_consistency_proofs_verify_and_any_change_breaks_them(
    case: tuple[int, int], salt: str, data: st.DataObject
) -> None:
    old, new = case
    leaves = entries(new, salt)
    store = MemoryStore.from_entries(leaves)
    old_root, new_root = store.root(old), store.root(new)
    proof = store.consistency_proof(old, new)
    assert proof == reference_subproof(old, leaves, True)
    verify_consistency(old, new, old_root, new_root, proof)

    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, flip_bit(new_root, 7), proof)
    if old < new:
        with pytest.raises(ProofError):
            verify_consistency(old, new, flip_bit(old_root, 0), new_root, proof)
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        tampered = [*proof[:i], flip_bit(proof[i], bit), *proof[i + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, tampered)
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, [*proof, new_root])
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, [old_root, *proof])
        other = data.draw(st.integers(min_value=1, max_value=new), label="other old size")
        if other != old:
            with pytest.raises(ProofError):
                verify_consistency(other, new, old_root, new_root, proof)


# --- the O(log n) read promise ----------------------------------------------------


def read_bound(size: int) -> int:
    """2*ceil(log2 n) + 1 reads at most; the design promise is looser (4*log2 n + 4)."""
    bound = 2 * math.ceil(math.log2(size)) + 1 if size > 1 else 1
    assert bound <= 4 * math.log2(size) + 4
    return bound


class UniformTree:
    """A lazily "stored" tree of identical leaves: every row of a level has one hash.

    It lets the tests ask for proofs of a million-leaf or ten-million-leaf log
    without building one, while checking every read names a row that a real store
    of that size would hold.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0
        self._levels = [leaf_hash(b"same entry")]

    def get(self, level: int, start: int) -> bytes:
        assert start % (1 << level) == 0, "read of an unaligned subtree"
        assert start >= 0, "read before the first leaf"
        assert start + (1 << level) <= self.size, "read beyond the tree"
        self.reads += 1
        while len(self._levels) <= level:
            self._levels.append(node_hash(self._levels[-1], self._levels[-1]))
        return self._levels[level]


@pytest.mark.parametrize("size", [1_000_000, 1_048_577, 10_000_000])
def test_proofs_of_a_huge_log_take_logarithmically_many_reads(size: int) -> None:
    rng = random.Random(size)
    tree = UniformTree(size)
    root = root_from(size, tree.get)
    assert tree.reads <= size.bit_count()

    indices = [0, 1, size // 2, size - 2, size - 1, (1 << 19) - 1, 1 << 19]
    indices += [rng.randrange(size) for _ in range(40)]
    for index in indices:
        tree.reads = 0
        proof = inclusion_proof(index, size, tree.get)
        assert tree.reads <= read_bound(size), (index, tree.reads)
        verify_inclusion(tree.get(0, index), index, size, proof, root)

    olds = [1, 2, size // 2, size - 1, size, 1 << 19, (1 << 19) + 1, (1 << 19) - 1]
    olds += [rng.randrange(1, size) for _ in range(40)]
    for old in olds:
        tree.size = old
        old_root = root_from(old, tree.get)
        tree.size, tree.reads = size, 0
        proof = consistency_proof(old, size, tree.get)
        assert tree.reads <= read_bound(size) + 1, (old, tree.reads)
        verify_consistency(old, size, old_root, root, proof)


def test_read_counts_on_a_real_store_stay_logarithmic() -> None:
    size = (1 << 16) + 123
    store = MemoryStore.from_entries(entries(size))
    rng = random.Random(7)
    root = store.root()
    for index in [0, size - 1, *(rng.randrange(size) for _ in range(100))]:
        store.reads = 0
        proof = store.inclusion_proof(index)
        assert store.reads <= read_bound(size)
        verify_inclusion(leaf_hash(f"entry {index}".encode()), index, size, proof, root)
    for old in [1, size - 1, *(rng.randrange(1, size) for _ in range(100))]:
        old_root = store.root(old)
        store.reads = 0
        proof = store.consistency_proof(old)
        assert store.reads <= read_bound(size) + 1
        verify_consistency(old, size, old_root, root, proof)


# --- rebuilding a signed prefix ---------------------------------------------------


@given(st.integers(min_value=0, max_value=70))
def test_the_tree_builder_gives_the_reference_root(size):
    entries = [i.to_bytes(4, "big") for i in range(size)]
    builder = TreeBuilder()
    for entry in entries:
        builder.append(leaf_hash(entry))
    assert builder.size == size
    assert builder.root() == reference_root(entries)


def _replay(leaves, stored, root, present=None):
    replay = PrefixReplay(len(leaves), root)
    for seq, (leaf, kept) in enumerate(zip(leaves, stored, strict=True)):
        replay.add(seq, leaf, kept, present=True if present is None else present[seq])
    return replay.result()


def _signed(size):
    entries = [f"entry {i}".encode() for i in range(size)]
    return [leaf_hash(e) for e in entries], reference_root(entries)


@pytest.mark.parametrize("size", [1, 7, 201])
def test_a_replay_of_the_signed_leaves_is_ok(size):
    leaves, root = _signed(size)
    result = _replay(leaves, leaves, root)
    assert result.ok
    assert result.first_bad is None
    assert result.problem() is None


def test_a_replay_names_a_changed_a_missing_and_a_moved_entry():
    leaves, root = _signed(201)
    changed = list(leaves)
    changed[150] = leaf_hash(b"entry 150!")
    result = _replay(changed, leaves, root)
    assert (result.ok, result.first_bad, result.stored_signed) == (False, 150, True)
    assert "entry 150 is not the entry the checkpoint signed" in (result.problem() or "")

    gone = _replay(leaves, leaves, root, present=[i != 150 for i in range(201)])
    assert (gone.ok, gone.first_bad) == (False, 150)
    assert (gone.problem() or "").startswith("entry 150 is missing")

    swapped = list(leaves)
    swapped[150], swapped[151] = leaves[151], leaves[150]
    moved = _replay(swapped, leaves, root)
    assert (moved.ok, moved.first_bad) == (False, 150)


def test_a_replay_says_when_the_changed_entry_cannot_be_located():
    leaves, root = _signed(9)
    rewritten = list(leaves)
    rewritten[4] = leaf_hash(b"rewritten")
    # The stored leaf hashes were rewritten with the entry: nothing to compare with.
    result = _replay(rewritten, rewritten, root)
    assert not result.ok
    assert result.first_bad is None
    assert "cannot be told from this log" in (result.problem() or "")
    # A stored leaf changed under an unchanged entry: the entries still match.
    damaged = list(leaves)
    damaged[2] = leaf_hash(b"damaged")
    stored_only = _replay(leaves, damaged, root)
    assert (stored_only.ok, stored_only.first_bad) == (False, 2)
    assert "its stored leaf hash was changed" in (stored_only.problem() or "")


def test_a_replay_takes_the_entries_in_order_and_all_of_them():
    leaves, root = _signed(3)
    replay = PrefixReplay(3, root)
    with pytest.raises(ValueError, match="expected entry 0"):
        replay.add(1, leaves[1], leaves[1], present=True)
    replay.add(0, leaves[0], leaves[0], present=True)
    with pytest.raises(ValueError, match="only 1 of 3"):
        replay.result()
