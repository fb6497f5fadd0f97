"""Replaying a signed prefix of the log: rebuild the tree of the first ``size``
entries from their recomputed leaves and compare its root with a checkpoint's,
naming the first entry that was changed, removed or reordered (the checks of
``alertnet audit verify --from-checkpoint`` and ``alertnet client audit
verify``; docs/audit-log.md). Pure maths over ``crypto.merkle``; no storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.merkle import EMPTY_ROOT, HASH_SIZE, _check_hash, node_hash

__all__ = ["PrefixReplay", "ReplayResult", "TreeBuilder"]


class TreeBuilder:
    """MTH of leaf hashes given in order, holding only the frontier (log2(n) hashes),
    so a root of ten million leaves is computed in constant memory."""

    def __init__(self) -> None:
        self._frontier: list[tuple[int, bytes]] = []  # (level, hash), largest first
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Add the next leaf *hash* (``leaf_hash(entry)``)."""
        _check_hash(leaf, "leaf hash")
        level, current = 0, leaf
        while self._frontier and self._frontier[-1][0] == level:
            current = node_hash(self._frontier.pop()[1], current)
            level += 1
        self._frontier.append((level, current))
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far: the perfect subtrees folded from the right."""
        if not self._frontier:
            return EMPTY_ROOT
        current = self._frontier[-1][1]
        for _, left in reversed(self._frontier[:-1]):
            current = node_hash(left, current)
        return current


@dataclass(frozen=True)
class ReplayResult:
    """What rebuilding a checkpoint's tree from the log's entries found.

    ``missing`` and ``unreadable`` are the first entry absent from the log or
    that could not be encoded as a leaf; ``differing`` the first whose leaf
    hash, recomputed from its fields, is not the hash stored when it was
    appended. ``stored_signed`` says whether the stored leaf hashes rebuild the
    signed root: if they do, they are the leaves the checkpoint signed (SHA-256
    collisions aside), so ``differing`` is the first entry that changed.
    """

    size: int
    signed_root: bytes
    entries_root: bytes | None  # None when an entry is missing or unreadable
    stored_signed: bool
    missing: int | None
    unreadable: int | None
    differing: int | None

    @property
    def ok(self) -> bool:
        """The entries rebuild the signed root and every stored leaf hash agrees."""
        return self.entries_root == self.signed_root and self.differing is None

    @property
    def first_bad(self) -> int | None:
        """The sequence number the problem starts at, when one can be named."""
        found = [s for s in (self.missing, self.unreadable, self.differing) if s is not None]
        return min(found) if found else None

    def problem(self) -> str | None:
        """Why the entries are not what the checkpoint signed, naming the entry."""
        if self.ok:
            return None
        first = self.first_bad
        # Without the signed leaves, an entry before ``first`` may have changed unseen.
        caveat = (
            ""
            if self.stored_signed
            else "; the stored leaf hashes do not rebuild the checkpoint's root either, so "
            "an earlier entry may have changed too"
        )
        if first is not None and first == self.missing:
            return (
                f"entry {first} is missing: the checkpoint covers entries 0 to {self.size - 1} "
                f"but the log has no entry {first} (deleted){caveat}"
            )
        if first is not None and first == self.unreadable:
            return f"entry {first} cannot be encoded as a leaf (its fields were changed){caveat}"
        if self.entries_root == self.signed_root:
            return (
                f"entry {first} matches the checkpoint, but its stored leaf hash was changed "
                "(the stored tree is damaged)"
            )
        if first is not None and self.stored_signed:
            return (
                f"entry {first} is not the entry the checkpoint signed: its leaf hash, "
                "recomputed from its fields, differs from the one in the signed tree (the "
                "entry was changed, or entries were reordered); history was rewritten"
            )
        if first is not None:
            return (
                f"history was rewritten: the entries do not rebuild the checkpoint's root; "
                f"entry {first} differs from its stored leaf hash, but the stored leaf hashes "
                "do not rebuild that root either, so an earlier entry may have changed too"
            )
        return (
            "history was rewritten: the entries do not rebuild the checkpoint's root, and "
            "their stored leaf hashes were rewritten with them, so which entry changed "
            "cannot be told from this log"
        )


class PrefixReplay:
    """Rebuild the tree a checkpoint signed (``size`` leaves, ``root``) from the
    log's entries, in order, beside the tree of the leaf hashes the log stored
    when they were appended; ``result()`` says whether and where they differ.

    Used by the hub (``alertnet audit verify --from-checkpoint``) and by schools
    (``alertnet client audit verify``) alike.
    """

    def __init__(self, size: int, root: bytes) -> None:
        if size < 0:
            raise ValueError(f"tree size must be non-negative, got {size}")
        _check_hash(root, "root")
        self.size = size
        self._root = root
        self._entries: TreeBuilder | None = TreeBuilder()
        self._stored: TreeBuilder | None = TreeBuilder()
        self._missing: int | None = None
        self._unreadable: int | None = None
        self._differing: int | None = None
        self.next = 0

    def add(self, seq: int, leaf: bytes | None, stored: bytes | None, *, present: bool) -> None:
        """Entry ``seq`` (the next one): its leaf hash recomputed from its fields
        (None if it cannot be encoded), the leaf hash stored for it (None if there
        is none), and whether the log has the entry at all."""
        if seq != self.next or seq >= self.size:
            raise ValueError(f"expected entry {self.next} of {self.size}, got {seq}")
        self.next += 1
        if stored is None or len(stored) != HASH_SIZE:
            self._stored = None
        elif self._stored is not None:
            self._stored.append(stored)
        if not present:
            self._missing = seq if self._missing is None else self._missing
            self._entries = None
            return
        if leaf is None or len(leaf) != HASH_SIZE:
            self._unreadable = seq if self._unreadable is None else self._unreadable
            self._entries = None
            return
        if self._entries is not None:
            self._entries.append(leaf)
        if self._differing is None and leaf != stored:
            self._differing = seq

    def result(self) -> ReplayResult:
        if self.next != self.size:
            raise ValueError(f"only {self.next} of {self.size} entries were given")
        return ReplayResult(
            size=self.size,
            signed_root=self._root,
            entries_root=self._entries.root() if self._entries is not None else None,
            stored_signed=self._stored is not None and self._stored.root() == self._root,
            missing=self._missing,
            unreadable=self._unreadable,
            differing=self._differing,
        )
