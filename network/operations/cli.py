"""``alertnet backup`` and ``alertnet restore`` (docs/operations.md).

Exit status: 0 done; 2 refused (bad input, the wrong key, a damaged file, a
backup of another hub, a database that is not empty, a rollback not
accepted), with a one-line reason and nothing changed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from crypto.backup import BackupFileError, BackupIdentity, BackupPublicKey
from schools.db import utcnow


class Refused(click.ClickException):
    exit_code = 2

    def format_message(self) -> str:
        return self.message


def _recipient(value: str) -> BackupPublicKey:
    text = value
    if not value.startswith("alertnet-backup-key-1:"):
        try:
            text = Path(value).read_text()
        except OSError:
            raise Refused(
                "--recipient takes a backup public key (alertnet-backup-key-1:...) or a file "
                "holding one; make a key pair with 'alertnet backup keygen'."
            ) from None
        text = next(
            (ln for ln in text.splitlines() if ln.strip().startswith("alertnet-backup-key-1:")),
            "",
        )
    try:
        return BackupPublicKey.from_text(text)
    except (BackupFileError, ValueError) as error:
        raise Refused(f"The backup public key is not valid: {error}.") from None


@click.group("backup", invoke_without_command=True)
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="The file to write ('-' for standard output).",
)
@click.option(
    "--recipient",
    help="The operator's backup public key (alertnet-backup-key-1:...), or a file holding it.",
)
@click.pass_context
def backup_cli(ctx: click.Context, target: Path | None, recipient: str | None) -> None:
    """Back up the database and the hub's secrets, encrypted to your public key.

    \b
    alertnet backup --to FILE --recipient KEY   makes a backup
    alertnet backup keygen --out KEY_FILE       makes the key pair (once)
    """
    if ctx.invoked_subcommand is not None:
        return
    if target is None or recipient is None:
        raise click.UsageError("alertnet backup needs --to FILE and --recipient PUBLIC_KEY.")
    key = _recipient(recipient)
    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        _write(target, key)


def _write(target: Path, key: BackupPublicKey) -> None:
    from network.operations.backup import BackupRefused, write_backup

    if str(target) == "-":
        try:
            summary = write_backup(current_app, sys.stdout.buffer, key)
        except BackupRefused as error:
            raise Refused(error.message) from None
        click.echo(f"Backed up {summary.log_size:,} audit log entries.", err=True)
        return
    if target.exists():
        raise Refused(f"{target} exists already: give a new file name.")
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            summary = write_backup(current_app, out, key)
            out.flush()
            os.fsync(out.fileno())
        # Only a complete backup gets the name asked for.
        os.link(partial, target)
    except BackupRefused as error:
        raise Refused(error.message) from None
    finally:
        partial.unlink(missing_ok=True)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    rows = sum(summary.rows.values())
    click.echo(
        f"Backed up {rows:,} rows ({summary.log_size:,} audit log entries, schema "
        f"{summary.revision}) to {target}, sealed to key {key.key_id}.\n"
        f"SHA-256 {digest}"
    )


@backup_cli.command("keygen")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the identity (the secret half); it must not exist yet.",
)
def keygen(out: Path) -> None:
    """Make the key pair backups are sealed to: write the secret identity to
    --out (readable only by you) and print the public key for --recipient.

    Keep the identity away from the hub (offline, in a safe or a password
    manager): anyone with it and a backup can read the backup."""
    identity = BackupIdentity.generate()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Refused(f"{out} exists already: keygen never overwrites an identity.") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(identity.to_text(utcnow().strftime("%Y-%m-%d %H:%M UTC")))
    public = identity.public_key()
    click.echo(f"Wrote the identity (secret) to {out}. Key id {public.key_id}.", err=True)
    click.echo(public.to_text())


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--identity",
    "identity_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The identity file made by 'alertnet backup keygen'.",
)
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A signed checkpoint saved earlier (by 'alertnet audit checkpoint' or a school); "
    "may be given several times. The newest must not be newer than the backup.",
)
@click.option(
    "--accept-rollback",
    "reason",
    metavar="REASON",
    help="Restore although a checkpoint is newer than the backup; REASON is recorded in "
    "the audit log and shown on every audit page.",
)
@with_appcontext
def restore_cli(
    file: Path, identity_file: Path, checkpoints: tuple[Path, ...], reason: str | None
) -> None:
    """Restore FILE, a backup made by 'alertnet backup', into an empty database.

    Everything is checked before anything is written: the key, the file's
    integrity, that it is a backup of this hub, that the database is empty, and
    that no checkpoint given with --checkpoint is newer than the backup.
    """
    from network.operations import restore
    from network.operations.backup import BackupRefused

    if reason is not None and not reason.strip():
        raise Refused('--accept-rollback needs a reason, e.g. "server lost; last backup".')
    try:
        identity = BackupIdentity.from_text(identity_file.read_text())
    except OSError as error:
        raise Refused(f"Cannot read {identity_file}: {error.strerror or error}.") from None
    except BackupFileError as error:
        raise Refused(f"{identity_file}: {error}.") from None
    if not file.is_file():
        raise Refused(f"There is no file {file}.")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        checked = restore.check(app, file, identity, list(checkpoints), reason)
    except BackupRefused as error:
        raise Refused(error.message) from None
    if not checkpoints:
        click.echo(
            "Note: no --checkpoint was given, so the restore cannot tell whether schools "
            "hold checkpoints newer than this backup.",
            err=True,
        )
    try:
        done = restore.load(app, file, identity, checked, reason)
    except BackupRefused as error:
        raise Refused(error.message) from None
    click.echo(
        f"Restored {done.rows:,} rows from the backup made {checked.manifest['created_at']}; "
        f"the audit log has {done.log_size:,} entries again, then the restore's own entry."
    )
    if done.rolled_back:
        click.echo(
            f"{done.rolled_back:,} entries recorded after the backup are lost; the audit pages "
            "say so, with your reason."
        )
    if done.shredded:
        click.echo(f"Shredded {done.shredded:,} alerts that passed their retention period.")
    for name in done.secret_files:
        click.echo(f"Wrote the backup's secret to {name}.")
    click.echo("Now run 'alertnet audit verify', then start the hub and its workers.")
