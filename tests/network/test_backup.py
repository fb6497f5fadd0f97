"""`alertnet backup` and `alertnet restore`: a backup restores into an empty
database as a working hub, and every bad input is refused with nothing changed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, select

from network import create_app
from network.alerts.models import Alert
from network.alerts.retention import shred_expired
from network.cli import main
from network.db import engine, own_transaction
from schools.audit import tree
from schools.db import utcnow
from tests.conftest import World, settings_for_tests, sign_in
from tests.network.alerts_helpers import Head, make_head


@dataclass
class Made:
    """A hub with two schools, an alert, a shredded alert and a backup of it."""

    ash: Head
    beech: Head
    kept: str
    shredded: str
    backup: Path
    identity: Path
    public_key: str
    checkpoint: Path
    log_size: int


def _alert_id(response: Any) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return str(response.headers["Location"].rsplit("/", 1)[1])


def _shred(app: Flask, alert_id: str) -> None:
    with own_transaction(app) as session:
        alert = session.scalars(select(Alert).where(Alert.id == _uuid(alert_id))).one()
        alert.expires_at = utcnow() - timedelta(seconds=1)
        session.flush()
        assert shred_expired(session) == [alert.id]


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)


def _invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(main, list(args))


def _checkpoint(app: Flask, path: Path) -> Path:
    result = _invoke(app, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    path.write_text(result.output)
    return path


def _log_size(app: Flask) -> int:
    with own_transaction(app) as session:
        return tree.tree_size(session)


@pytest.fixture
def made(app: Flask, world: World, tmp_path: Path) -> Made:
    cluster = world.cluster("Riverside")
    ash = make_head(app, world, cluster, "Ash")
    beech = make_head(app, world, cluster, "Beech")
    shredded = _alert_id(ash.post_alert([beech.school], title="Shredded before the backup"))
    _shred(app, shredded)
    kept = _alert_id(ash.post_alert([beech.school], title="Fake page naming Mr Jones"))
    keygen = _invoke(app, "backup", "keygen", "--out", str(tmp_path / "identity.txt"))
    assert keygen.exit_code == 0, keygen.output
    public_key = keygen.stdout.strip().splitlines()[-1]
    checkpoint = _checkpoint(app, tmp_path / "at-backup.txt")
    result = _invoke(app, "backup", "--to", str(tmp_path / "hub.backup"), "--recipient", public_key)
    assert result.exit_code == 0, result.output
    assert "sealed to key" in result.output
    return Made(
        ash,
        beech,
        kept,
        shredded,
        tmp_path / "hub.backup",
        tmp_path / "identity.txt",
        public_key,
        checkpoint,
        _log_size(app),
    )


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path, worker_id: str) -> str:
    """A second database with no tables at all."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    from tests.conftest import _worker_database

    return _worker_database(f"{worker_id}_restored")


@pytest.fixture
def target(empty_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A hub of its own (own instance folder, own generated log key) on the empty database."""
    app = create_app(settings_for_tests(tmp_path / "restored", empty_url))
    yield app
    engine(app).dispose()


def _tables(app: Flask) -> list[str]:
    return inspect(engine(app)).get_table_names()


def _restore(app: Flask, made: Made, *extra: str, identity: Path | None = None) -> Any:
    return _invoke(
        app, "restore", str(made.backup), "--identity", str(identity or made.identity), *extra
    )


def test_a_restored_hub_verifies_opens_alerts_and_keeps_shredded_ones_shredded(
    app, made, target, empty_url, tmp_path
):
    # After the backup: a new alert, and the kept alert shredded.
    after = _alert_id(made.ash.post_alert([made.beech.school], title="Posted after the backup"))
    _shred(app, made.kept)
    newer = _checkpoint(app, tmp_path / "newer.txt")

    refused = _restore(
        target, made, "--checkpoint", str(made.checkpoint), "--checkpoint", str(newer)
    )
    assert refused.exit_code == 2
    assert f"has {made.log_size:,} entries" in refused.output
    assert "--accept-rollback" in refused.output
    assert _tables(target) == []  # nothing changed

    result = _restore(
        target,
        made,
        "--checkpoint",
        str(newer),
        "--accept-rollback",
        "The server's disk failed; this is the last backup.",
    )
    assert result.exit_code == 0, result.output
    assert "Wrote the backup's secret" in result.output  # the backup's audit log key

    restored = create_app(settings_for_tests(tmp_path / "restored", empty_url))
    try:
        verify = _invoke(restored, "audit", "verify")
        assert verify.exit_code == 0, verify.output
        assert f"verified {made.log_size + 1:,} entries" in verify.output
        # The school keys open the alert: the bundle, its wraps and the envelope came back.
        client = restored.test_client()
        client.environ_base["REMOTE_ADDR"] = "127.{}.{}.{}".format(*os.urandom(3))
        assert sign_in(client, made.beech.person.email).status_code == 302
        page = client.get(f"/alerts/{made.kept}").get_data(as_text=True)
        assert "Fake page naming Mr Jones" in page  # shredded after the backup: back again
        assert "Shredded alert" in client.get(f"/alerts/{made.shredded}").get_data(as_text=True)
        assert client.get(f"/alerts/{after}").status_code == 404  # posted after: not there
        # The head sees, on the audit page, what happened to the log and why.
        head = restored.test_client()
        head.environ_base["REMOTE_ADDR"] = "127.{}.{}.{}".format(*os.urandom(3))
        assert sign_in(head, made.ash.person.email).status_code == 302
        audit_page = head.get("/audit").get_data(as_text=True)
        assert "Restored from a backup" in audit_page
        assert f"history was restored to size {made.log_size:,}" in audit_page
        assert "The server&#39;s disk failed; this is the last backup." in audit_page
        # A school's saved checkpoint check now fails, and the page said why.
        check = _invoke(restored, "audit", "verify", "--from-checkpoint", str(newer))
        assert check.exit_code == 1
        assert (
            f"to its first {made.log_size:,} entries (entry {made.log_size} records it; reason "
            "given: The server's disk failed; this is the last backup.). A checkpoint saved "
            f"before that restore covers entries {made.log_size} to"
        ) in check.output
        earlier = _invoke(restored, "audit", "verify", "--from-checkpoint", str(made.checkpoint))
        assert earlier.exit_code == 0, earlier.output
    finally:
        engine(restored).dispose()


def test_a_backup_no_older_than_every_checkpoint_restores_without_being_told(
    made, target, empty_url, tmp_path
):
    result = _restore(target, made, "--checkpoint", str(made.checkpoint))
    assert result.exit_code == 0, result.output
    restored = create_app(settings_for_tests(tmp_path / "restored", empty_url))
    try:
        saved = _invoke(restored, "audit", "verify", "--from-checkpoint", str(made.checkpoint))
        assert saved.exit_code == 0, saved.output
        size = made.log_size
        assert f"Recomputed {size:,} entries (0 to {size - 1}) from their fields" in saved.output
        assert f"Consistency proof {size:,} → {size + 1:,} verified" in saved.output
    finally:
        engine(restored).dispose()


def test_a_damaged_backup_is_refused_and_nothing_is_written(made, target):
    data = bytearray(made.backup.read_bytes())
    data[len(data) // 2] ^= 0x40
    made.backup.write_bytes(bytes(data))
    result = _restore(target, made)
    assert result.exit_code == 2
    assert "damaged or cut short" in result.output
    assert _tables(target) == []


def test_a_truncated_backup_is_refused_and_nothing_is_written(made, target):
    made.backup.write_bytes(made.backup.read_bytes()[:-100])
    result = _restore(target, made)
    assert result.exit_code == 2
    assert "damaged or cut short" in result.output
    assert _tables(target) == []


def test_the_wrong_identity_is_refused(made, target, tmp_path):
    other = tmp_path / "other-identity.txt"
    assert _invoke(target, "backup", "keygen", "--out", str(other)).exit_code == 0
    result = _restore(target, made, identity=other)
    assert result.exit_code == 2
    assert "does not open this backup" in result.output
    assert _tables(target) == []


def test_a_backup_of_another_hub_is_refused(made, empty_url, tmp_path):
    other = create_app(
        settings_for_tests(tmp_path / "other", empty_url, log_origin="other.example.org/audit")
    )
    try:
        result = _restore(other, made)
        assert result.exit_code == 2
        assert "127.0.0.1:5000/audit" in result.output
        assert "other.example.org/audit" in result.output
        assert _tables(other) == []
    finally:
        engine(other).dispose()


def test_restoring_onto_a_database_in_use_is_refused_and_changes_nothing(app, made):
    size = _log_size(app)
    result = _restore(app, made)
    assert result.exit_code == 2
    assert "is not empty" in result.output
    assert _log_size(app) == size


def test_a_checkpoint_of_another_log_is_refused(made, target, tmp_path):
    stranger = tmp_path / "stranger.txt"
    stranger.write_text(
        made.checkpoint.read_text().replace("127.0.0.1:5000/audit", "elsewhere.example/audit")
    )
    result = _restore(target, made, "--checkpoint", str(stranger))
    assert result.exit_code == 2
    assert "is not a checkpoint of this backup's audit log" in result.output
    assert _tables(target) == []


def test_a_backup_needs_a_valid_public_key_and_a_new_file(app, made, tmp_path):
    bad = _invoke(app, "backup", "--to", str(tmp_path / "x.backup"), "--recipient", "nonsense")
    assert bad.exit_code == 2
    assert "alertnet backup keygen" in bad.output
    again = _invoke(app, "backup", "--to", str(made.backup), "--recipient", made.public_key)
    assert again.exit_code == 2
    assert "exists already" in again.output
    assert not (tmp_path / "x.backup").exists()


def test_the_backup_file_holds_no_secret_or_name_in_clear(app, made):
    data = made.backup.read_bytes()
    settings = app.config["ALERTNET"]
    for clear in (b"Riverside", b"head@ash", settings.secret_key.encode(), b"127.0.0.1:5000"):
        assert clear not in data
    assert oct(made.backup.stat().st_mode & 0o777) == "0o600"
