"""The audit log as a verifiable Merkle log: encoding, appends, proofs, verification.

Helpers here (``TEST_SIGNER``, ``tamper``, ``transactions``, ``build_large_log``)
are shared with the network tests of the audit trail.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session

from crypto import merkle
from crypto.checkpoint import NoteSigner, NoteVerifier, open_checkpoint
from schools import audit
from schools.audit import checkpoints, leaf, proofs, tree, verify
from schools.audit.models import AuditCheckpoint, AuditEvent, AuditSubtree
from schools.errors import InvalidInput, LogIntegrityError, NotFound

ROOT = Path(__file__).resolve().parents[2]
TEST_SIGNER = NoteSigner(
    "hub.test.example/audit", Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
)
TEST_VERIFIER = NoteVerifier.from_vkey(TEST_SIGNER.verifier_key())
APPEND_ONLY = ("audit_events", "audit_subtrees", "audit_checkpoints")


# --- helpers shared with tests/network ----------------------------------------------------


def transactions(engine: Engine) -> Callable[[], AbstractContextManager[Session]]:
    """What verify_log takes: a fresh committed-or-rolled-back session per call."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()

    return transaction


def tamper(engine: Engine, *statements: tuple[str, dict[str, Any]]) -> None:
    """Change the log as an attacker with database access would: triggers off first.

    PostgreSQL: ``session_replication_role = replica`` skips triggers for this
    transaction only (the test database is shared with later tests). SQLite:
    each test has its own copy of the database, so the triggers are dropped.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for table in APPEND_ONLY:
                for operation in ("update", "delete"):
                    connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{operation}"))
        for statement, params in statements:
            connection.execute(text(statement), params)


def add_entries(engine: Engine, count: int, *, per_transaction: int = 1, tag: str = "t") -> None:
    done = 0
    while done < count:
        with Session(engine) as session:
            for _ in range(min(per_transaction, count - done)):
                audit.record(
                    session, "test.thing", object_type="thing", object_id=f"{tag}-{done}", n=done
                )
                done += 1
            session.commit()


def stored_leaves(session: Session) -> list[bytes]:
    return [
        leaf.leaf_bytes(e) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]


def build_large_log(engine: Engine, size: int) -> merkle.MemoryStore:
    """A log of ``size`` leaves in seconds: subtree rows computed in memory and
    bulk-inserted, plus only the last entry's row (so the log has that size)."""
    store = merkle.MemoryStore.from_entries(i.to_bytes(8, "big") for i in range(size))
    rows = [{"level": lv, "start": st, "hash": h} for (lv, st), h in store.rows().items()]
    with engine.begin() as connection:
        for chunk in range(0, len(rows), 20_000):
            connection.execute(insert(AuditSubtree.__table__), rows[chunk : chunk + 20_000])
        connection.execute(
            insert(AuditEvent.__table__),
            [{"seq": size - 1, "at": datetime.now(UTC), "action": "test.bulk", "detail": {}}],
        )
    return store


@contextmanager
def counting_statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def engine(session: Session) -> Engine:
    bound = session.get_bind()
    assert isinstance(bound, Engine)
    return bound


# --- the leaf encoding --------------------------------------------------------------------


def test_leaf_encoding_is_exactly_the_documented_bytes():
    entry = AuditEvent(
        seq=7,
        at=datetime(2026, 11, 26, 8, 2, 13, 42, tzinfo=UTC),
        action="alert.opened",
        actor_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        actor_role="head",
        cluster_id=uuid.UUID("00000000-0000-4000-8000-000000000002"),
        school_id=uuid.UUID("00000000-0000-4000-8000-000000000003"),
        object_type="alert",
        object_id="4f0c",
        envelope_hash=bytes(range(32)),
        detail={"z": 1, "a": ["é", True]},
        leaf_version=1,
    )
    expected = (
        '{"action":"alert.opened","actor":"00000000-0000-4000-8000-000000000001",'
        '"actor_role":"head","at":"2026-11-26T08:02:13.000042Z",'
        '"cluster":"00000000-0000-4000-8000-000000000002","detail":{"a":["é",true],"z":1},'
        '"envelope_hash":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",'
        '"object_id":"4f0c","object_type":"alert",'
        '"school":"00000000-0000-4000-8000-000000000003","seq":7,"v":1}'
    ).encode()
    assert leaf.leaf_bytes(entry) == expected
    assert (
        hashlib.sha256(b"\x00" + expected).hexdigest()
        == "eb898a63ae532a6d964a89355ceb5b77fd0802371fc7b65a2aaaede810787b51"
    )


def test_an_entry_of_nothing_but_an_action_still_has_every_member():
    entry = AuditEvent(
        seq=0, at=datetime(2026, 1, 1, tzinfo=UTC), action="x.y", detail={}, leaf_version=1
    )
    assert leaf.leaf_bytes(entry) == (
        b'{"action":"x.y","actor":null,"actor_role":null,"at":"2026-01-01T00:00:00.000000Z",'
        b'"cluster":null,"detail":{},"envelope_hash":null,"object_id":null,'
        b'"object_type":null,"school":null,"seq":0,"v":1}'
    )


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ({"ratio": 0.5}, "float"),
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "datetime"),
        ({"big": 2**60}, "too large"),
        ({"nested": {"bad key": 1}}, "key"),
        ({"text": "\ud800"}, "Unicode"),
    ],
)
def test_detail_that_would_not_hash_the_same_everywhere_is_refused_at_once(
    session, detail, message
):
    with pytest.raises(ValueError, match=message):
        audit.record(session, "test.thing", **detail)
    assert audit.pending(session) == []


def test_overlong_fields_are_refused_rather_than_truncated(session):
    with pytest.raises(ValueError, match="object id"):
        audit.record(session, "test.thing", object_type="thing", object_id="x" * 65)


# --- recording and appending --------------------------------------------------------------


def test_entries_get_their_sequence_numbers_when_the_transaction_commits(session):
    first = audit.record(session, "test.one")
    second = audit.record(session, "test.two", object_type="thing", object_id=uuid.uuid4())
    assert first.seq is None
    assert audit.pending(session) == [first, second]
    session.commit()
    assert (first.seq, second.seq) == (0, 1)
    assert session.scalar(select(func.count()).select_from(AuditSubtree)) == 3  # 2 leaves + root
    assert tree.tree_size(session) == 2


def test_a_rolled_back_action_leaves_no_entry(session):
    audit.record(session, "test.abandoned")
    session.rollback()
    audit.record(session, "test.kept")
    session.commit()
    assert [e.action for e in session.scalars(select(AuditEvent))] == ["test.kept"]
    assert session.scalars(select(AuditEvent.seq)).all() == [0]


def test_entries_of_a_rolled_back_savepoint_are_forgotten_with_it(session):
    audit.record(session, "test.before")
    savepoint = session.begin_nested()
    audit.record(session, "test.inside")
    savepoint.rollback()
    audit.record(session, "test.after")
    session.commit()
    assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all() == [
        "test.before",
        "test.after",
    ]


def test_a_school_entry_is_filed_under_its_cluster_even_without_an_actor(session):
    from schools import directory

    cluster = directory.create_cluster(session, None, "Filed")
    school = directory.admit_school(session, None, cluster, "Oak", "654321", "")
    entry = audit.record(session, "test.about_school", school_id=school.id)
    assert entry.cluster_id == cluster.id


def test_the_root_after_many_appends_is_the_rfc_root_of_the_leaves(session, engine):
    add_entries(engine, 37, per_transaction=5)
    add_entries(engine, 4, per_transaction=1, tag="u")
    leaves = stored_leaves(session)
    assert len(leaves) == 41
    for size in (1, 2, 3, 8, 16, 17, 40, 41):
        assert tree.root_at(session, size) == merkle.reference_root(leaves[:size])
    rows = {(s.level, s.start): s.hash for s in session.scalars(select(AuditSubtree))}
    assert rows == merkle.MemoryStore.from_entries(leaves).rows()


def test_proofs_served_from_the_database_verify_against_the_rfc_roots(session, engine):
    add_entries(engine, 23, per_transaction=4)
    leaves = stored_leaves(session)
    for size in (1, 5, 16, 23):
        root = merkle.reference_root(leaves[:size])
        for seq in range(size):
            proof = proofs.inclusion(session, seq, size)
            assert proof.root == root
            assert proof.leaf_hash == merkle.leaf_hash(leaves[seq])
            merkle.verify_inclusion(proof.leaf_hash, seq, size, proof.proof, root)
    for old in range(1, 24):
        for new in (old, 23):
            proof = proofs.consistency(session, old, new)
            merkle.verify_consistency(old, new, proof.old_root, proof.new_root, proof.proof)
            assert proof.old_root == merkle.reference_root(leaves[:old])


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: proofs.inclusion(s, 5, 5), NotFound),
        (lambda s: proofs.inclusion(s, -1, 3), InvalidInput),
        (lambda s: proofs.inclusion(s, 2, 2), InvalidInput),
        (lambda s: proofs.inclusion(s, 0, 9), InvalidInput),
        (lambda s: proofs.consistency(s, 0, 3), InvalidInput),
        (lambda s: proofs.consistency(s, 4, 3), InvalidInput),
        (lambda s: proofs.consistency(s, 1, 6), InvalidInput),
    ],
)
def test_proofs_out_of_range_are_refused_clearly(session, engine, call, error):
    add_entries(engine, 5, per_transaction=5)
    with pytest.raises(error):
        call(session)


# --- checkpoints --------------------------------------------------------------------------


def test_a_checkpoint_is_a_signed_note_of_the_tree(session, engine):
    add_entries(engine, 6, per_transaction=3)
    row = checkpoints.sign_new_checkpoint(session, TEST_SIGNER)
    signed = open_checkpoint(row.note.encode(), TEST_VERIFIER, TEST_SIGNER.name)
    assert (signed.size, signed.root) == (6, merkle.reference_root(stored_leaves(session)))
    assert checkpoints.check_checkpoint(row, TEST_VERIFIER) is None


def test_checkpoints_are_signed_lazily_at_most_once_per_interval(session, engine):
    hour = timedelta(hours=1)

    def current(**kwargs: Any) -> AuditCheckpoint:
        # Each in its own transaction: on SQLite an open one holds the write lock.
        row = checkpoints.current_checkpoint(session, TEST_SIGNER, **kwargs)
        session.commit()
        return row

    first = current(max_age=hour)
    assert first.size == 0  # the empty log has a checkpoint too
    add_entries(engine, 3)
    assert current(max_age=hour).id == first.id
    # ...unless someone needs an entry that the latest does not include yet.
    covering = current(max_age=hour, covering=2)
    assert covering.size == 3
    assert current(max_age=timedelta(0)).id == covering.id
    add_entries(engine, 1)
    assert current(max_age=timedelta(0)).size == 4
    with pytest.raises(NotFound):
        current(max_age=hour, covering=4)


# --- full verification --------------------------------------------------------------------


def _verify(engine: Engine, **kwargs: Any) -> verify.VerifyReport:
    return verify.verify_log(transactions(engine), TEST_VERIFIER, **kwargs)


def _log_with_checkpoints(session: Session, engine: Engine, size: int = 40) -> None:
    add_entries(engine, size // 2, per_transaction=7)
    checkpoints.sign_new_checkpoint(session, TEST_SIGNER)
    session.commit()
    add_entries(engine, size - size // 2, per_transaction=3, tag="b")
    checkpoints.sign_new_checkpoint(session, TEST_SIGNER)
    session.commit()


@pytest.mark.parametrize("batch_bits", [2, 13])
def test_an_untouched_log_verifies_in_small_or_large_batches(session, engine, batch_bits):
    _log_with_checkpoints(session, engine)
    report = _verify(engine, batch_bits=batch_bits)
    assert report.ok, report.problem
    assert (report.entries, report.checkpoints, report.latest_size) == (40, 2, 40)


def test_an_empty_log_verifies(session, engine):
    report = _verify(engine)
    assert report.ok
    assert report.entries == 0


def test_a_changed_entry_is_named(session, engine):
    _log_with_checkpoints(session, engine)
    tamper(engine, ("UPDATE audit_events SET action = 'test.innocent' WHERE seq = 17", {}))
    report = _verify(engine, batch_bits=3)
    assert not report.ok
    assert report.seq == 17
    assert "entry 17 does not match its stored leaf hash" in (report.problem or "")


def test_a_deleted_entry_is_named(session, engine):
    _log_with_checkpoints(session, engine)
    tamper(engine, ("DELETE FROM audit_events WHERE seq = 22", {}))
    report = _verify(engine, batch_bits=3)
    assert (report.ok, report.seq) == (False, 22)
    assert "entry 22 is missing" in (report.problem or "")


def test_deleting_the_newest_entries_is_noticed(session, engine):
    _log_with_checkpoints(session, engine)
    tamper(engine, ("DELETE FROM audit_events WHERE seq >= 38", {}))
    report = _verify(engine)
    assert (report.ok, report.seq) == (False, 38)
    assert "entry 38 was deleted" in (report.problem or "")


def test_reordered_entries_are_named(session, engine):
    _log_with_checkpoints(session, engine)
    tamper(
        engine,
        ("UPDATE audit_events SET seq = -1 WHERE seq = 9", {}),
        ("UPDATE audit_events SET seq = 9 WHERE seq = 10", {}),
        ("UPDATE audit_events SET seq = 10 WHERE seq = -1", {}),
    )
    report = _verify(engine)
    assert (report.ok, report.seq) == (False, 9)


def test_a_changed_subtree_row_is_named(session, engine):
    _log_with_checkpoints(session, engine)
    tamper(
        engine,
        (
            "UPDATE audit_subtrees SET hash = :h WHERE level = 2 AND start = 12",
            {"h": bytes(32)},
        ),
    )
    report = _verify(engine, batch_bits=3)
    assert (report.ok, report.seq) == (False, 12)
    assert "entries 12..15 (level 2) was changed" in (report.problem or "")


def test_a_changed_stored_checkpoint_is_named(session, engine):
    _log_with_checkpoints(session, engine)
    first = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).first()
    assert first is not None
    forged = first.note.replace(f"\n{first.size}\n", f"\n{first.size - 1}\n")
    first_id = first.id
    session.rollback()  # on SQLite an open transaction holds the write lock
    tamper(
        engine,
        ("UPDATE audit_checkpoints SET note = :n WHERE id = :i", {"n": forged, "i": first_id}),
    )
    report = _verify(engine)
    assert not report.ok
    assert f"checkpoint #{first_id}" in (report.problem or "")
    assert "does not verify" in (report.problem or "")


def test_a_consistent_rewrite_is_caught_by_the_signed_checkpoints(session, engine):
    """An attacker who rewrites an entry and recomputes every subtree row still
    cannot forge the hub's signature on the old checkpoints."""
    _log_with_checkpoints(session, engine)
    tamper(engine, ("UPDATE audit_events SET action = 'test.innocent' WHERE seq = 3", {}))
    leaves = stored_leaves(session)
    session.rollback()
    rows = merkle.MemoryStore.from_entries(leaves).rows()
    tamper(
        engine,
        ("DELETE FROM audit_subtrees", {}),
        *(
            (
                "INSERT INTO audit_subtrees (level, start, hash) VALUES (:l, :s, :h)",
                {"l": lv, "s": st, "h": h},
            )
            for (lv, st), h in rows.items()
        ),
    )
    report = _verify(engine)
    assert not report.ok
    assert "history was rewritten" in (report.problem or "")


def test_a_missing_subtree_row_stops_appends_rather_than_forking_the_log(session, engine):
    add_entries(engine, 6, per_transaction=6)
    tamper(engine, ("DELETE FROM audit_subtrees WHERE level = 2", {}))
    audit.record(session, "test.after_damage")
    with pytest.raises(LogIntegrityError, match="level 2, start 0"):
        session.commit()


# --- the database refuses changes ---------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "UPDATE audit_subtrees SET hash = hash",
        "DELETE FROM audit_subtrees",
        "UPDATE audit_checkpoints SET size = 1",
        "DELETE FROM audit_checkpoints",
    ],
)
def test_the_database_refuses_to_update_or_delete_the_log(session, engine, statement):
    add_entries(engine, 2, per_transaction=2)
    checkpoints.sign_new_checkpoint(session, TEST_SIGNER)
    session.commit()
    with pytest.raises(Exception, match="append-only") as refused, engine.begin() as connection:
        connection.execute(text(statement))
    assert "IntegrityError" in type(refused.value).__name__
    assert _verify(engine).ok
    assert tree.tree_size(session) == 2


def test_inserting_into_the_log_is_allowed(session, engine):
    add_entries(engine, 3)
    assert tree.tree_size(session) == 3


# --- concurrency --------------------------------------------------------------------------


def _assert_gap_free_and_consistent(session: Session, engine: Engine, count: int) -> None:
    session.rollback()
    seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert seqs == list(range(count))
    leaves = stored_leaves(session)
    assert tree.root_at(session, count) == merkle.reference_root(leaves)
    session.rollback()
    report = _verify(engine)
    assert report.ok, report.problem


def test_parallel_appends_from_threads_get_distinct_gap_free_numbers(session, engine):
    errors: list[BaseException] = []

    def worker(tag: str) -> None:
        try:
            add_entries(engine, 24, per_transaction=3, tag=tag)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_gap_free_and_consistent(session, engine, 96)


_CHILD = """
import sys
from sqlalchemy.orm import Session
from schools import audit
from schools.db import make_engine
engine = make_engine(sys.argv[1])
for i in range(int(sys.argv[2])):
    with Session(engine) as session:
        audit.record(session, "test.process", object_type="thing", object_id=f"{sys.argv[3]}-{i}")
        audit.record(session, "test.process", object_type="thing", object_id=f"{sys.argv[3]}-{i}b")
        session.commit()
"""


def test_parallel_appends_from_processes_get_distinct_gap_free_numbers(session, engine):
    url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, "15", f"p{n}"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
    _assert_gap_free_and_consistent(session, engine, 120)


# --- O(log n) reads -----------------------------------------------------------------------


def test_proofs_cost_a_bounded_number_of_queries_however_large_the_log(session, engine):
    small, large = 1000, (1 << 16) + 1234
    counts = {}
    for size in (small, large):
        session.rollback()
        if size == large:
            tamper(engine, ("DELETE FROM audit_events", {}), ("DELETE FROM audit_subtrees", {}))
        store = build_large_log(engine, size)
        seq, old = size // 3, size // 2 + 1
        with counting_statements(engine) as statements:
            proof = proofs.inclusion(session, seq, size)
            consistency = proofs.consistency(session, old, size)
            root = tree.root_at(session, size)
        assert proof.root == root == store.root()
        merkle.verify_inclusion(store.get(0, seq), seq, size, proof.proof, root)
        merkle.verify_consistency(old, size, store.root(old), root, consistency.proof)
        counts[size] = len(statements)
    # Two queries for each proof (the log's size, then every subtree it needs at
    # once) and one for the root, plus SQLite's BEGIN IMMEDIATE: flat in n, far
    # under 2 log2(n) + c.
    assert counts[small] == counts[large] <= 6
    assert counts[large] <= 2 * large.bit_length() + 4


def test_check_checkpoint_refuses_another_logs_or_another_keys_checkpoint(session, engine):
    from crypto.checkpoint import Checkpoint, sign_checkpoint

    add_entries(engine, 3, per_transaction=3)
    good = checkpoints.sign_new_checkpoint(session, TEST_SIGNER)
    other_log = sign_checkpoint(Checkpoint("other.example/log", good.size, good.root), TEST_SIGNER)
    stranger = NoteSigner(TEST_SIGNER.name, Ed25519PrivateKey.from_private_bytes(bytes(32)))
    other_key = sign_checkpoint(Checkpoint(TEST_SIGNER.name, good.size, good.root), stranger)
    for note, reason in [(other_log, "checkpoint is for 'other.example/log'"), (other_key, "")]:
        row = AuditCheckpoint(
            id=good.id, size=good.size, root=good.root, note=note.decode(), signed_at=good.signed_at
        )
        problem = checkpoints.check_checkpoint(row, TEST_VERIFIER)
        assert problem is not None
        assert "does not verify as this log's checkpoint with the hub's key" in problem
        assert reason in problem
    moved = AuditCheckpoint(
        id=good.id, size=good.size + 1, root=good.root, note=good.note, signed_at=good.signed_at
    )
    assert "its stored size or root differs" in (
        checkpoints.check_checkpoint(moved, TEST_VERIFIER) or ""
    )
