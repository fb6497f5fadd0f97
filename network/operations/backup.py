"""``alertnet backup``: a consistent copy of the database and the instance
secrets, sealed to the operator's public key (docs/operations.md, "Backups").

How the copy is consistent:

- PostgreSQL: every table is read inside one ``REPEATABLE READ, READ ONLY``
  transaction, so all of them come from one snapshot of the database (the way
  ``pg_dump`` does it), while the hub keeps serving. Not ``pg_dump`` itself:
  it must match the server's major version, may not be installed beside the
  hub, and writes SQL for one backend, where this format restores into either
  database and is sealed as it is written, never on disk in clear.
- SQLite: the online backup API copies the database file page by page into a
  private temporary file (a consistent copy even while the hub writes), which
  is then read the same way and deleted.

Tables are read parents first (foreign keys), rows in primary key order. The
workers' heartbeats are not copied: they describe processes, not the hub.
"""

from __future__ import annotations

import importlib
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import Connection, Engine, Table, func, inspect, select
from sqlalchemy.orm import Session

from crypto.backup import BackupPublicKey, SealingWriter
from network import db
from network.operations import archive
from network.settings import Settings, log_key_seed
from schools.audit import checkpoints, tree
from schools.db import Base, make_engine, utcnow

#: Tables a backup leaves out (operating data of the processes, not the hub's).
NOT_BACKED_UP = frozenset({"worker_heartbeats"})
#: Tables that ``alertnet db upgrade`` fills: a restore replaces their rows.
SEEDED = frozenset({"platforms"})


class BackupRefused(Exception):
    """Why a backup or restore cannot go ahead; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


#: Every module that defines tables (as migrations/env.py imports them).
MODEL_MODULES = (
    "network.alerts.daily_figures",
    "network.alerts.home_models",
    "network.alerts.models",
    "network.alerts.named_models",
    "network.api.models",
    "network.dashboard.models",
    "network.notifications.models",
    "network.operations.heartbeat",
    "schools.audit",
    "schools.models",
    "schools.personal_models",
    "schools.tokens",
)


def _import_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)


def backed_up_tables() -> list[Table]:
    """The hub's tables, parents before children."""
    _import_models()
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_BACKED_UP]


@dataclass(frozen=True)
class BackupSummary:
    created_at: datetime
    revision: str
    log_size: int
    rows: dict[str, int]


def current_schema(app: Flask) -> str:
    """The revision the database is at, refusing one that is not at this code's head."""
    from network.migrate import current_revision, latest_revision

    at, expected = current_revision(app), latest_revision(app)
    if at != expected:
        raise BackupRefused(
            f"The database is at schema revision {at or '(none)'}, not {expected}: "
            "run 'alertnet db upgrade' first."
        )
    return expected


def write_backup(app: Flask, out: BinaryIO, recipient: BackupPublicKey) -> BackupSummary:
    """Seal a consistent copy of the database and the secrets to ``recipient``."""
    settings: Settings = app.config["ALERTNET"]
    revision = current_schema(app)
    tables = backed_up_tables()
    _refuse_unknown_tables(db.engine(app), tables)
    sealed = SealingWriter(out, recipient)
    payload = archive.PayloadWriter(sealed)
    with _snapshot(db.engine(app)) as (connection, method):
        counts = {
            t.name: int(connection.scalar(select(func.count()).select_from(t)) or 0) for t in tables
        }
        session = Session(bind=connection)
        size = tree.tree_size(session)
        root = tree.root_at(session, size)
        latest = checkpoints.latest_checkpoint(session)
        created = utcnow()
        payload.record(
            "manifest",
            format=archive.FORMAT,
            hub_origin=settings.log_origin,
            public_url=settings.public_url,
            schema_revision=revision,
            created_at=created.isoformat(),
            database=connection.dialect.name,
            snapshot=method,
            alertnet_version=_version(),
            audit_log={
                "size": size,
                "root": root.hex(),
                "latest_checkpoint_size": latest.size if latest is not None else None,
            },
            tables=counts,
        )
        session.close()
        payload.record(
            "secrets",
            secret_key=settings.secret_key,
            log_key=settings.log_key,
            factor_key=settings.factor_key,
        )
        for table in tables:
            payload.table(
                table.name,
                [c.name for c in table.columns],
                counts[table.name],
                _rows(connection, table),
            )
    key = Ed25519PrivateKey.from_private_bytes(log_key_seed(settings.log_key))
    payload.end(key.sign(archive.SIGNATURE_LABEL + payload.digest()))
    sealed.close()
    return BackupSummary(created, revision, size, counts)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alertnet")
    except PackageNotFoundError:
        return "unknown"


def _rows(connection: Connection, table: Table) -> Iterator[Any]:
    ordered = select(table).order_by(*table.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=500).execute(ordered)
    for row in result:
        yield tuple(row)


def _refuse_unknown_tables(engine: Engine, tables: list[Table]) -> None:
    known = {t.name for t in tables} | NOT_BACKED_UP | {"alembic_version"}
    unknown = sorted(set(inspect(engine).get_table_names()) - known)
    if unknown:
        raise BackupRefused(
            "The database has tables this version of alertnet does not know "
            f"({', '.join(unknown)}), so a backup could not restore them."
        )


@contextmanager
def _snapshot(engine: Engine) -> Iterator[tuple[Connection, str]]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with connection.begin():
                yield connection, "one REPEATABLE READ, READ ONLY transaction"
        return
    with tempfile.TemporaryDirectory(prefix="alertnet-backup-") as folder:
        copy = Path(folder) / "snapshot.db"
        _sqlite_online_backup(engine, copy)
        snapshot = make_engine(f"sqlite:///{copy}")
        try:
            with snapshot.connect() as connection, connection.begin():
                yield connection, "the SQLite online backup API"
        finally:
            snapshot.dispose()


def _sqlite_online_backup(engine: Engine, copy: Path) -> None:
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(copy)
        try:
            source.backup(target, pages=1024)
        finally:
            target.close()
    finally:
        raw.close()
