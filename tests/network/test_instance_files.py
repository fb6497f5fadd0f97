"""What the hub creates in its instance folder is private to the service user:
the folder 0700; the SQLite database with its WAL and SHM files, the secret
key, the audit log key and caught mail 0600, whatever the umask allows."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import text

from crypto.custody import FAST_FOR_TESTS
from network.db import engine
from network.factory import create_app
from network.migrate import upgrade
from network.notifications import mail
from network.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common default: without care, new files would be world-readable."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def test_a_new_instance_folder_and_its_files_are_private(tmp_path, permissive_umask):
    instance = tmp_path / "instance"
    settings = Settings(
        instance_path=instance, testing=True, password_params=FAST_FOR_TESTS
    ).resolved()
    assert settings.database_url == f"sqlite:///{instance / 'alertnet.db'}"
    app = create_app(settings)
    upgrade(app)
    with engine(app).connect() as connection:
        # An open connection in WAL mode keeps the -wal and -shm files in place.
        connection.execute(text("SELECT count(*) FROM members")).scalar()
        made = {path.name: _mode(path) for path in instance.iterdir() if path.is_file()}
    engine(app).dispose()
    assert _mode(instance) == 0o700
    assert {"alertnet.db", "alertnet.db-wal", "alertnet.db-shm"} <= set(made)
    assert {"secret_key", "audit_log_key"} <= set(made)
    assert made == dict.fromkeys(made, 0o600)


def test_caught_mail_is_private(tmp_path, permissive_umask):
    message = EmailMessage()
    message["Subject"] = "Urgent alert"
    message["To"] = "head@oak.example.org"
    message.set_content("An alert for you.")
    written = mail.write_to_folder(tmp_path / "instance" / "mail", message)
    assert _mode(written.parent) == 0o700
    assert _mode(written) == 0o600
    assert written.read_bytes().startswith(b"Subject: Urgent alert")
