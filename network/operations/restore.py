"""``alertnet restore``: put a backup back, into an empty database only.

Two passes over the file. The first opens and checks everything without
touching the database: the key, every chunk, the payload's checksums and
signature, that the backup is of this hub (its audit log's origin) and of this
schema revision, that the database is empty, that the secrets can be put in
place, and that no checkpoint the operator gives (``--checkpoint``) is newer
than the backup. Only then does the second pass load every row in one
transaction, which also records the restore in the audit log and shreds alerts
past their retention period again. A refusal changes nothing.

A checkpoint newer than the backup means schools may hold checkpoints of
entries the restored log will not have: their consistency checks will report
rewritten history. That is refused unless the operator says why
(``--accept-rollback REASON``); the restore entry then records the size the log
was restored to and the reason, and every audit page shows it
(network/operations/restoration.py).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask
from sqlalchemy import Table, func, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from crypto import merkle
from crypto.backup import BackupFileError, BackupIdentity, DamagedBackup, WrongKey, open_stream
from crypto.checkpoint import NoteError, NoteSigner, NoteVerifier, open_checkpoint
from network import db
from network.operations import archive
from network.operations.backup import SEEDED, BackupRefused, backed_up_tables
from network.operations.restoration import RESTORED
from network.settings import Settings, log_key_seed
from schools import audit
from schools.audit import tree

_BATCH = 500


@dataclass(frozen=True)
class SavedCheckpoint:
    path: Path
    size: int
    root: bytes


@dataclass
class Checked:
    """What the first pass learned."""

    manifest: dict[str, Any]
    secrets: dict[str, str]
    log_size: int
    log_root: bytes
    newest: SavedCheckpoint | None = None
    rolled_back: int = 0  # entries in the newest checkpoint beyond the backup
    empty_schema: bool = False
    secret_files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Restored:
    log_size: int
    rows: int
    rolled_back: int
    shredded: int
    secret_files: list[str]


def _opened(path: Path, identity: BackupIdentity) -> Iterator[bytes]:
    with path.open("rb") as source:
        yield from open_stream(source, identity)


@contextmanager
def _reading(path: Path, identity: BackupIdentity) -> Iterator[archive.PayloadReader]:
    """The payload, with every failure of the file or its contents as a refusal."""
    try:
        yield archive.PayloadReader(_opened(path, identity))
    except WrongKey as error:
        raise BackupRefused(f"The identity does not open this backup: {error}.") from None
    except DamagedBackup:
        raise BackupRefused(
            "The backup is damaged or cut short (a check of its contents failed): "
            "nothing was restored. Use another copy."
        ) from None
    except BackupFileError as error:
        raise BackupRefused(f"{path} cannot be read as a backup: {error}.") from None
    except archive.ArchiveError as error:
        raise BackupRefused(f"The backup's contents are not valid ({error}).") from None


def check(
    app: Flask,
    path: Path,
    identity: BackupIdentity,
    checkpoint_files: list[Path],
    reason: str | None,
) -> Checked:
    """The first pass: everything that can refuse, with nothing changed."""
    settings: Settings = app.config["ALERTNET"]
    with _reading(path, identity) as payload:
        manifest, secrets_ = payload.manifest, payload.secrets
        _check_origin(settings, manifest)
        _check_revision(app, manifest)
        size, root = _log_of(manifest)
        signer = _signer(secrets_, str(manifest["hub_origin"]))
        verifier = NoteVerifier.from_vkey(signer.verifier_key())
        saved = [_read_checkpoint(p, verifier) for p in checkpoint_files]
        # Subtree hashes the saved checkpoints' roots need, caught as the rows pass.
        wanted = {pos for cp in saved if 0 < cp.size <= size for pos in _positions(cp.size)}
        wanted |= set(_positions(size)) if size > 0 else set()
        found: dict[tuple[int, int], bytes] = {}
        names = {t.name for t in backed_up_tables()}
        for table in payload.tables():
            if table.name not in names:
                raise BackupRefused(
                    f"The backup holds a table this hub does not know: {table.name}."
                )
            if table.name == "audit_subtrees" and wanted:
                index = {c: i for i, c in enumerate(table.columns)}
                for row in table.rows:
                    position = (row[index["level"]], row[index["start"]])
                    if position in wanted:
                        found[position] = row[index["hash"]]
        assert payload.end is not None
        _check_signature(signer, payload)
    if _root(size, found) != root:
        raise BackupRefused("The backup's audit log does not match its own manifest.")
    for cp in saved:
        if cp.size <= size and _root(cp.size, found) != cp.root:
            raise BackupRefused(
                f"The checkpoint in {cp.path} (size {cp.size:,}) signs a history that differs "
                "from this backup's audit log: it is not a backup of the log that checkpoint "
                "was taken from."
            )
    newest = max(saved, key=lambda cp: cp.size, default=None)
    checked = Checked(manifest, secrets_, size, root, newest)
    if newest is not None and newest.size > size:
        checked.rolled_back = newest.size - size
        if not reason:
            raise BackupRefused(
                f"This backup's audit log has {size:,} entries, but the checkpoint in "
                f"{newest.path} signs {newest.size:,}: restoring it would remove "
                f"{checked.rolled_back:,} entries that schools may have checkpoints of, and "
                "their checks would report rewritten history. Use a newer backup, or if "
                'there is none, run again with --accept-rollback "REASON" (the reason is '
                "recorded in the audit log and shown on every audit page)."
            )
    checked.empty_schema = _check_empty(app)
    checked.secret_files = _secret_files(settings, secrets_)
    return checked


def _log_of(manifest: dict[str, Any]) -> tuple[int, bytes]:
    """The audit log's size and root as the manifest states them."""
    try:
        log = manifest["audit_log"]
        size, root = int(log["size"]), bytes.fromhex(log["root"])
        datetime.fromisoformat(manifest["created_at"])
    except (KeyError, TypeError, ValueError):
        raise BackupRefused("The backup's manifest is not complete.") from None
    if size < 0 or len(root) != merkle.HASH_SIZE:
        raise BackupRefused("The backup's manifest is not complete.")
    return size, root


def _check_origin(settings: Settings, manifest: dict[str, Any]) -> None:
    origin = manifest.get("hub_origin")
    if origin != settings.log_origin:
        raise BackupRefused(
            f"This backup is of the hub whose audit log is {origin!r}; this hub's is "
            f"{settings.log_origin!r}. Restore it on a hub with the same ALERTNET_LOG_ORIGIN "
            "(or ALERTNET_PUBLIC_URL)."
        )


def _check_revision(app: Flask, manifest: dict[str, Any]) -> None:
    from network.migrate import latest_revision

    expected = latest_revision(app)
    if manifest.get("schema_revision") != expected:
        raise BackupRefused(
            f"This backup was made at schema revision {manifest.get('schema_revision')}; this "
            f"version of alertnet is at {expected}. Restore it with the version that made it "
            f"({manifest.get('alertnet_version', 'see the manifest')}), then upgrade."
        )


def _signer(secrets_: dict[str, Any], origin: str) -> NoteSigner:
    try:
        seed = log_key_seed(str(secrets_.get("log_key", "")))
    except ValueError:
        raise BackupRefused("The backup's audit log key is not valid.") from None
    return NoteSigner(origin, Ed25519PrivateKey.from_private_bytes(seed))


def _check_signature(signer: NoteSigner, payload: archive.PayloadReader) -> None:
    assert payload.end is not None
    try:
        signature = base64.b64decode(str(payload.end.get("signature", "")), validate=True)
        public = Ed25519PublicKey.from_public_bytes(signer.public_key)
        public.verify(signature, archive.SIGNATURE_LABEL + payload.digest)
    except (InvalidSignature, ValueError):
        raise BackupRefused(
            "The backup's signature does not verify with its audit log key."
        ) from None


def _read_checkpoint(path: Path, verifier: NoteVerifier) -> SavedCheckpoint:
    try:
        note = path.read_bytes()
    except OSError as error:
        raise BackupRefused(f"Cannot read {path}: {error.strerror or error}.") from None
    try:
        signed = open_checkpoint(note, verifier, verifier.name)
    except NoteError as error:
        raise BackupRefused(
            f"{path} is not a checkpoint of this backup's audit log (origin "
            f"{verifier.name!r}, key {verifier.verifier_key()}): {error}."
        ) from None
    return SavedCheckpoint(path, signed.size, signed.root)


def _positions(size: int) -> list[tuple[int, int]]:
    wanted: list[tuple[int, int]] = []

    def note(level: int, start: int) -> bytes:
        wanted.append((level, start))
        return bytes(merkle.HASH_SIZE)

    merkle.root_from(size, note)
    return wanted


def _root(size: int, found: dict[tuple[int, int], bytes]) -> bytes | None:
    if size == 0:
        return merkle.EMPTY_ROOT
    try:
        return merkle.root_from(size, lambda level, start: found[level, start])
    except KeyError:
        return None


def _check_empty(app: Flask) -> bool:
    """True when the database has no tables at all (the restore creates them);
    refuses one that holds anything but what ``alertnet db upgrade`` seeds."""
    from network.migrate import current_revision, latest_revision

    engine = db.engine(app)
    present = set(inspect(engine).get_table_names())
    if not present:
        return True
    expected = latest_revision(app)
    at = current_revision(app)
    if at != expected:
        raise BackupRefused(
            f"The database is at schema revision {at or '(none)'}, not {expected}: restore "
            "into a database with no tables, or one made by 'alertnet db upgrade'."
        )
    with engine.connect() as connection:
        busy = {
            t.name: n
            for t in backed_up_tables()
            if t.name not in SEEDED
            and (n := int(connection.scalar(select(func.count()).select_from(t)) or 0))
        }
        connection.rollback()
    if busy:
        listed = ", ".join(f"{n:,} in {name}" for name, n in sorted(busy.items())[:4])
        raise BackupRefused(
            f"The database is not empty ({listed}): a backup is only restored into an empty "
            "database, so nothing is overwritten. Create a new database, run "
            "'alertnet db upgrade' (or leave it without tables), and restore into that."
        )
    return False


def _secret_files(settings: Settings, secrets_: dict[str, Any]) -> dict[str, str]:
    """The instance files to write so this hub runs with the backup's secrets;
    refuses when a different secret is set from the environment."""
    writes: dict[str, str] = {}
    for name, variable, configured in (
        ("secret_key", "SECRET_KEY", settings.secret_key),
        ("audit_log_key", "ALERTNET_LOG_KEY", settings.log_key),
        ("factor_key", "ALERTNET_FACTOR_KEY", settings.factor_key),
    ):
        wanted = str(secrets_.get({"audit_log_key": "log_key"}.get(name, name), ""))
        if not wanted and name == "factor_key":
            continue  # a backup made before second factors: nothing sealed with it
        if not wanted:
            raise BackupRefused("The backup holds no secrets.")
        if wanted == configured:
            continue
        path = settings.instance_path / name
        if path.exists() and path.read_text().strip() == configured:
            writes[str(path)] = wanted
            continue
        raise BackupRefused(
            f"{variable} is set to a different value than the backup's. Unset it for the "
            f"restore: the backup's value is then written to {path} and used from there (or "
            f"copy it from there into {variable} on every host afterwards)."
        )
    return writes


# --- the second pass ----------------------------------------------------------------------


def load(
    app: Flask,
    path: Path,
    identity: BackupIdentity,
    checked: Checked,
    reason: str | None,
    progress: Callable[[str, int], None] | None = None,
) -> Restored:
    """Create the schema if there is none, then load every row, record the
    restore and shred what is past retention, in one transaction."""
    from network.alerts.retention import shred_expired
    from network.migrate import upgrade

    if checked.empty_schema:
        upgrade(app)
    tables = {t.name: t for t in backed_up_tables()}
    rows = 0
    with db.own_transaction(app) as session, _reading(path, identity) as payload:
        if payload.manifest != checked.manifest:
            raise BackupRefused("The backup file changed while it was being restored.")
        for name in sorted(SEEDED):
            session.execute(tables[name].delete())
        for table in payload.tables():
            rows += _load_table(session, tables[table.name], table)
            if progress is not None:
                progress(table.name, table.count)
        assert payload.end is not None
        _reset_sequences(session, list(tables.values()))
        if tree.tree_size(session) != checked.log_size:
            raise BackupRefused("The restored audit log is not the size the manifest says.")
        audit.record(
            session,
            RESTORED,
            object_type="audit_log",
            restored_size=checked.log_size,
            backup_created_at=checked.manifest["created_at"],
            newest_checkpoint_size=checked.newest.size if checked.newest else None,
            entries_rolled_back=checked.rolled_back or None,
            reason=reason or None,
        )
        shredded = len(shred_expired(session))
    written = _write_secrets(checked.secret_files)
    return Restored(checked.log_size, rows, checked.rolled_back, shredded, written)


def _load_table(session: Session, target: Table, table: archive.Table) -> int:
    if table.columns != [c.name for c in target.columns]:
        raise BackupRefused(f"The backup's columns of {table.name} differ from this schema's.")
    # A row may point at a later row of its own table: such links are set after.
    own = [fk.parent.name for fk in target.foreign_keys if fk.column.table is target]
    key = [c.name for c in target.primary_key.columns]
    later: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    count = 0
    for values in table.rows:
        row = dict(zip(table.columns, values, strict=True))
        links = {name: row[name] for name in own if row[name] is not None}
        if links:
            later.append({**{k: row[k] for k in key}, **links})
            row.update(dict.fromkeys(links))
        batch.append(row)
        count += 1
        if len(batch) >= _BATCH:
            session.execute(insert(target), batch)
            batch = []
    if batch:
        session.execute(insert(target), batch)
    for link in later:
        where = [target.c[k] == link[k] for k in key]
        session.execute(
            update(target).where(*where).values({k: v for k, v in link.items() if k not in key})
        )
    return count


def _reset_sequences(session: Session, tables: list[Table]) -> None:
    """PostgreSQL's serial counters continue after the restored ids."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        columns = list(table.primary_key.columns)
        if len(columns) != 1 or columns[0].type.python_type is not int:
            continue
        column = columns[0].name
        sequence = session.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column},
        )
        if sequence:
            highest = select(func.max(table.c[column])).scalar_subquery()
            session.execute(select(func.setval(sequence, func.coalesce(highest, 0) + 1, False)))


def _write_secrets(files: dict[str, str]) -> list[str]:
    """Each secret to a private temporary file, then moved into place."""
    written = []
    for name, value in files.items():
        path = Path(name)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        os.replace(temporary, path)
        written.append(name)
    return written
