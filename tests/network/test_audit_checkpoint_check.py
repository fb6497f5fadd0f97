"""A saved checkpoint is checked entry by entry: ``alertnet audit verify
--from-checkpoint FILE`` on the hub and ``alertnet client audit verify FILE``
at a school recompute every entry it covers, so one changed byte, a deleted
entry or two swapped entries fail both and are named."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crypto.checkpoint import open_checkpoint
from network import create_app
from network.audit import api as audit_api
from network.audit import restores
from network.audit.signer import verifier
from network.cli import main
from network.db import engine, own_transaction
from network.operations import restoration
from network.settings import current as settings
from schools import audit
from schools.audit import tree
from schools.audit.models import AuditEvent
from tests.conftest import World, settings_for_tests
from tests.network.alerts_helpers import make_head
from tests.network.api_helpers import issue_token
from tests.network.test_backup import empty_url  # noqa: F401 (fixture)
from tests.network.test_client import Terminal, _serve, live, terminal  # noqa: F401 (fixtures)
from tests.schools.test_audit import tamper

SAVED_SIZE = 201
LOG_SIZE = 260


@dataclass
class Log:
    """A log of 260 entries with a checkpoint of its first 201 saved by the
    operator (``alertnet audit checkpoint``) and by a head's client
    (``alertnet client audit checkpoint --out``), and every other entry in the
    head's school, so the client hashes some leaves itself."""

    hub_file: Path
    client_file: Path
    head: Terminal
    school_id: object


def _fill(app, upto: int, school_id) -> None:
    with own_transaction(app) as session:
        have = tree.tree_size(session)
        for n in range(have, upto):
            audit.record(session, "test.entry", school_id=school_id if n % 2 == 0 else None, n=n)


@pytest.fixture
def log(live, runner, terminal, tmp_path):  # noqa: F811
    world = World(live)
    ash = make_head(live, world, world.cluster("Riverside"), "Ash")
    head = terminal("ash")
    head.login(live, issue_token(live, ash.person.email))
    _fill(live, SAVED_SIZE, ash.school.id)
    hub_file, client_file = tmp_path / "hub-checkpoint.txt", tmp_path / "client-checkpoint.txt"
    note = runner.invoke(main, ["audit", "checkpoint"])
    assert note.exit_code == 0, note.output
    hub_file.write_text(note.output)
    head("audit", "checkpoint", "--out", str(client_file))
    with live.app_context():
        for saved in (hub_file, client_file):
            opened = open_checkpoint(saved.read_bytes(), verifier(), settings().log_origin)
            assert opened.size == SAVED_SIZE
    _fill(live, LOG_SIZE, ash.school.id)
    # The operator signs the grown log, so the school's proof leads to 260.
    assert runner.invoke(main, ["audit", "checkpoint"]).exit_code == 0
    return Log(hub_file, client_file, head, ash.school.id)


def _swap(first: int, second: int) -> list[tuple[str, dict[str, int]]]:
    move = "UPDATE audit_events SET seq = :to WHERE seq = :at"
    return [
        (move, {"at": first, "to": -1}),
        (move, {"at": second, "to": first}),
        (move, {"at": -1, "to": second}),
    ]


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (
            # "test.entry" -> "test.entrx": one byte of entry 150.
            [("UPDATE audit_events SET action = 'test.entrx' WHERE seq = 150", {})],
            "entry 150 is not the entry the checkpoint signed",
        ),
        (
            [("DELETE FROM audit_events WHERE seq = 150", {})],
            "entry 150 is missing: the checkpoint covers entries 0 to 200",
        ),
        (_swap(150, 151), "entry 150 is not the entry the checkpoint signed"),
    ],
    ids=["one byte changed", "entry deleted", "entries swapped"],
)
def test_both_checkpoint_checks_name_the_tampered_entry(app, runner, log, statements, named):
    tamper(engine(app), *statements)
    on_hub = runner.invoke(main, ["audit", "verify", "--from-checkpoint", str(log.hub_file)])
    assert on_hub.exit_code == 1, on_hub.output
    assert (
        "FAILED: the log's first 201 entries are not the ones the saved checkpoint signed at "
        f"entry 150: {named}"
    ) in on_hub.output
    at_school = log.head("audit", "verify", str(log.client_file), code=1)
    assert (
        "FAILED: the hub's first 201 entries are not the ones the checkpoint signed at "
        f"entry 150: {named}"
    ) in at_school.output
    assert "Recomputed" not in on_hub.output + at_school.output


def test_an_untouched_log_passes_both_checks_saying_exactly_what_was_checked(app, runner, log):
    with own_transaction(app) as session:
        root = base64.b64encode(tree.root_at(session, SAVED_SIZE)).decode()
        latest = base64.b64encode(tree.root_at(session, LOG_SIZE)).decode()
        in_scope = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.seq < SAVED_SIZE, AuditEvent.school_id == log.school_id)
        )
    on_hub = runner.invoke(main, ["audit", "verify", "--from-checkpoint", str(log.hub_file)])
    assert on_hub.exit_code == 0, on_hub.output
    assert on_hub.output == (
        f"Recomputed 201 entries (0 to 200) from their fields: they rebuild the checkpoint's "
        f"root {root}.\n"
        f"Consistency proof 201 → 260 verified: the stored tree of 260 entries (root {latest}) "
        "extends the checkpoint. Entries 201 to 259 were not recomputed by this check "
        "('alertnet audit verify' recomputes them all).\n"
    )
    at_school = log.head("audit", "verify", str(log.client_file))
    assert in_scope > 100  # every other filler entry, and the head's own
    assert at_school.output == (
        f"Recomputed 201 entries (0 to 200) against the checkpoint's root {root}: "
        f"{in_scope} hashed here from their leaf text, {201 - in_scope} from leaf hashes the "
        "hub recomputed (entries outside your scope); the tree they build has that root.\n"
        "Consistency proof 201 → 260 verified against the hub's latest checkpoint, signed "
        "with the pinned key. Entries after the saved checkpoint were not recomputed.\n"
    )


def test_leaves_are_paged_as_the_contract_says():
    from network.api import audit_contract

    assert (audit_api.MAX_LEAVES, audit_api.DEFAULT_LEAVES) == (
        audit_contract.MAX_LEAVES,
        audit_contract.DEFAULT_LEAVES,
    )


def test_the_restore_action_is_the_one_restore_records():
    assert restores.RESTORED == restoration.RESTORED


def test_after_a_restore_of_an_older_backup_both_checks_name_the_restore(
    live,  # noqa: F811
    runner,
    terminal,  # noqa: F811
    empty_url,  # noqa: F811
    tmp_path,
):
    """A checkpoint saved after the backup covers entries the restore lost: both
    checks fail, and say it was the restore (with the operator's reason)."""
    world = World(live)
    ash = make_head(live, world, world.cluster("Riverside"), "Ash")
    head = terminal("ash")
    head.login(live, issue_token(live, ash.person.email))
    keygen = runner.invoke(main, ["backup", "keygen", "--out", str(tmp_path / "identity.txt")])
    assert keygen.exit_code == 0, keygen.output
    backup = tmp_path / "hub.backup"
    made = runner.invoke(
        main, ["backup", "--to", str(backup), "--recipient", keygen.stdout.strip().split()[-1]]
    )
    assert made.exit_code == 0, made.output
    with own_transaction(live) as session:
        backed_up = tree.tree_size(session)
    _fill(live, backed_up + 30, ash.school.id)
    hub_file, client_file = tmp_path / "hub-checkpoint.txt", tmp_path / "client-checkpoint.txt"
    hub_file.write_text(runner.invoke(main, ["audit", "checkpoint"]).output)
    head("audit", "checkpoint", "--out", str(client_file))
    assert hub_file.read_text() == client_file.read_text()
    saved_size = backed_up + 30

    target = create_app(settings_for_tests(tmp_path / "restored", empty_url))
    reason = "The disk failed; this is the last backup."
    try:
        put_back = target.test_cli_runner().invoke(
            main,
            [
                "restore",
                str(backup),
                "--identity",
                str(tmp_path / "identity.txt"),
                "--checkpoint",
                str(hub_file),
                "--accept-rollback",
                reason,
            ],
        )
        assert put_back.exit_code == 0, put_back.output
    finally:
        engine(target).dispose()
    restored = create_app(settings_for_tests(tmp_path / "restored", empty_url))
    server, thread, url = _serve(restored)
    try:
        named = (
            f"to its first {backed_up:,} entries (entry {backed_up} records it; reason given: "
            f"{reason}). A checkpoint saved before that restore covers entries {backed_up} to "
            f"{saved_size - 1}, which the restored log lost, so it cannot match."
        )
        on_hub = restored.test_cli_runner().invoke(
            main, ["audit", "verify", "--from-checkpoint", str(hub_file)]
        )
        assert on_hub.exit_code == 1, on_hub.output
        assert named in on_hub.output
        config = json.loads(head.config.read_text())
        head.config.write_text(json.dumps({**config, "hub": url}))
        at_school = head("audit", "verify", str(client_file), code=1)
        assert named in at_school.output
        assert "FAILED: the hub's first" in at_school.output
    finally:
        server.shutdown()
        thread.join(timeout=5)
        engine(restored).dispose()
