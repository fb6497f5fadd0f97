"""`alertnet retention`: crypto-shred alerts past their retention period."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from network.alerts.retention import shred_expired
from network.db import own_transaction


@click.group("retention")
def retention_cli() -> None:
    """Keep alerts only as long as each cluster's retention period."""


@retention_cli.command("run")
@with_appcontext
def run() -> None:
    """Shred every alert past its cluster's retention period.

    The ciphertext and every wrap of the alert and its thread are deleted, so
    nobody can read it again; the alert's metadata (a tombstone) and its audit
    entries stay. Safe to run as often as you like, e.g. nightly from cron.
    """
    with own_transaction() as session:
        shredded = shred_expired(session)
    click.echo(f"Shredded {len(shredded)} alert{'s' if len(shredded) != 1 else ''}.")
