"""``alertnet audit``: checkpoints, full verification and saved-checkpoint checks."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from crypto import merkle
from crypto.checkpoint import Checkpoint, NoteSigner, open_checkpoint, sign_checkpoint
from network.audit.signer import signer, verifier
from network.cli import main
from network.db import engine, own_transaction
from network.settings import current as settings
from schools import audit
from schools.audit import integrity, models, tree
from schools.audit import queue as audit_queue
from schools.audit.models import AuditVerification
from tests.schools.test_audit import stored_leaves, tamper


def run(runner, *args: str):
    return runner.invoke(main, args=["audit", *args])


def size_of(app) -> int:
    with own_transaction(app) as session:
        return tree.tree_size(session)


def add(app, count: int) -> None:
    with own_transaction(app) as session:
        for n in range(count):
            audit.record(session, "test.later", n=n)


@pytest.mark.parametrize("command", [[], ["verify"], ["checkpoint"], ["key"]], ids=str)
def test_every_audit_command_explains_itself(runner, command):
    result = run(runner, *command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_verify_passes_on_an_untouched_log_and_is_remembered(app, runner, riverside):
    assert run(runner, "checkpoint").exit_code == 0
    add(app, 5)
    assert run(runner, "checkpoint").exit_code == 0
    result = run(runner, "verify")
    assert result.exit_code == 0, result.output
    size = size_of(app)
    assert f"verified {size:,} entries and 2 checkpoints; latest checkpoint size {size:,}" in (
        result.output
    )
    with own_transaction(app) as session:
        last = integrity.last_verification(session)
        assert last is not None
        assert (last.ok, last.entries) == (True, size)


def test_verify_says_which_reads_are_still_queued_and_not_covered(app, runner, riverside):
    with own_transaction(app) as session:
        audit.record_read(session, "alert.opened", object_type="alert", object_id="a1")
        audit.record_read(session, "alert.opened", object_type="alert", object_id="a2")
    result = run(runner, "verify")
    assert result.exit_code == 0, result.output
    assert "read events queued and not yet in the log: 2" in result.output
    assert "this check does not cover them" in result.output
    with own_transaction(app) as session:
        assert audit_queue.integrate_all(session) == 2
    assert "queued" not in run(runner, "verify").output


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (
            [("UPDATE audit_events SET object_id = 'elsewhere' WHERE seq = 4", {})],
            "at entry 4: entry 4 does not match its stored leaf hash",
        ),
        ([("DELETE FROM audit_events WHERE seq = 6", {})], "at entry 6: entry 6 is missing"),
        (
            [
                (
                    "UPDATE audit_subtrees SET hash = :h WHERE level = 1 AND start = 2",
                    {"h": b"\0" * 32},
                )
            ],
            "at entry 2: the stored subtree of entries 2..3 (level 1) was changed",
        ),
        (
            [("UPDATE audit_checkpoints SET root = :h", {"h": b"\0" * 32})],
            "its stored size or root differs from what the note signs",
        ),
    ],
    ids=["changed entry", "deleted entry", "changed subtree", "changed checkpoint"],
)
def test_verify_names_the_first_divergence_and_exits_1(app, runner, riverside, statements, message):
    assert run(runner, "checkpoint").exit_code == 0
    tamper(engine(app), *statements)
    result = run(runner, "verify")
    assert result.exit_code == 1
    assert "FAILED: audit log verification failed" in result.output
    assert message in result.output
    with own_transaction(app) as session:
        last = integrity.last_verification(session)
        assert last is not None
        assert not last.ok


def test_a_saved_checkpoint_stays_consistent_as_the_log_grows(app, runner, riverside, tmp_path):
    saved = tmp_path / "checkpoint.txt"
    note = run(runner, "checkpoint").output
    saved.write_text(note)
    with app.app_context():
        opened = open_checkpoint(note.encode(), verifier(), settings().log_origin)
    add(app, 11)
    result = run(runner, "verify", "--from-checkpoint", str(saved))
    assert result.exit_code == 0, result.output
    assert f"Recomputed {opened.size} entries (0 to {opened.size - 1}) from their fields" in (
        result.output
    )
    assert f"Consistency proof {opened.size} → {opened.size + 11} verified" in result.output


def test_a_forged_checkpoint_fails(app, runner, riverside, tmp_path):
    note = run(runner, "checkpoint").output
    body, _, signature = note.rpartition("\n\n")
    flipped = signature[:-6] + ("A" if signature[-6] != "A" else "B") + signature[-5:]
    forged = tmp_path / "forged.txt"
    forged.write_text(body + "\n\n" + flipped)
    result = run(runner, "verify", "--from-checkpoint", str(forged))
    assert result.exit_code == 1
    assert "was not signed by this hub's log key" in result.output
    # A checkpoint signed by some other key for this log's name fails the same way.
    with app.app_context():
        origin = settings().log_origin
    other = NoteSigner(origin, Ed25519PrivateKey.generate())
    stranger = tmp_path / "stranger.txt"
    stranger.write_bytes(sign_checkpoint(Checkpoint(origin, 3, b"\1" * 32), other))
    assert run(runner, "verify", "--from-checkpoint", str(stranger)).exit_code == 1


def test_a_rewritten_history_fails_the_saved_checkpoint_even_when_the_log_looks_whole(
    app, runner, riverside, tmp_path
):
    """An attacker with the database rewrites an entry, recomputes every subtree
    and deletes the signed checkpoints: the hub's own full check then passes, but
    the checkpoint a school saved earlier does not."""
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(run(runner, "checkpoint").output)
    add(app, 3)
    tamper(engine(app), ("UPDATE audit_events SET action = 'test.innocent' WHERE seq = 1", {}))
    with own_transaction(app) as session:
        rows = merkle.MemoryStore.from_entries(stored_leaves(session)).rows()
    tamper(
        engine(app),
        ("DELETE FROM audit_subtrees", {}),
        ("DELETE FROM audit_checkpoints", {}),
        *(
            (
                "INSERT INTO audit_subtrees (level, start, hash) VALUES (:l, :s, :h)",
                {"l": level, "s": start, "h": digest},
            )
            for (level, start), digest in rows.items()
        ),
    )
    assert run(runner, "verify").exit_code == 0  # why schools keep checkpoints
    result = run(runner, "verify", "--from-checkpoint", str(saved))
    assert result.exit_code == 1
    assert "history was rewritten" in result.output


def test_a_saved_checkpoint_larger_than_the_log_means_entries_were_deleted(
    app, runner, riverside, tmp_path
):
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(run(runner, "checkpoint").output)
    size = size_of(app)
    tamper(engine(app), ("DELETE FROM audit_events WHERE seq >= :n", {"n": size - 2}))
    result = run(runner, "verify", "--from-checkpoint", str(saved))
    assert result.exit_code == 1
    assert f"at entry {size - 2}: entry {size - 2} is missing" in result.output
    assert f"signs {size:,} entries but the log has only {size - 2:,}" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a signed checkpoint"),
        (b"hello\n", "not a signed checkpoint"),
        (b"origin\n01\nAAAA\n\n\xe2\x80\x94 origin AAAA\n", "not a signed checkpoint"),
        (b"\xff\xfe", "not a signed checkpoint"),
    ],
)
def test_a_malformed_checkpoint_file_exits_2(runner, riverside, tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    result = run(runner, "verify", "--from-checkpoint", str(path))
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_checkpoint_file_exits_2(runner, tmp_path):
    result = run(runner, "verify", "--from-checkpoint", str(tmp_path / "nope.txt"))
    assert result.exit_code == 2
    assert "Cannot read" in result.output


def test_checkpoint_prints_a_note_that_opens_with_the_published_key(app, runner, riverside):
    note = run(runner, "checkpoint").output
    vkey = run(runner, "key").output.strip()
    with app.app_context():
        assert vkey == signer().verifier_key()
        origin = settings().log_origin
    from crypto.checkpoint import NoteVerifier

    signed = open_checkpoint(note.encode(), NoteVerifier.from_vkey(vkey), origin)
    assert signed.size == size_of(app)
    # Asking again without new entries prints the same checkpoint, not a new one.
    assert run(runner, "checkpoint").output == note
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(models.AuditCheckpoint)) == 1
        assert session.scalar(select(func.count()).select_from(AuditVerification)) == 0
