"""`alertnet retention`: crypto-shred alerts past their retention period;
`alertnet platform`: keep the platforms current."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from network.alerts.platforms import (
    PlatformDetails,
    add_platform,
    edit_platform,
    platform_named,
    retire_platform,
)
from network.alerts.retention import shred_expired
from network.commands import transaction
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


# --- platforms ------------------------------------------------------------------------


@click.group("platform")
def platform_cli() -> None:
    """Add, edit and retire the platforms alerts are filed under (the hub
    admin's platforms page does the same)."""


_age = click.option("--minimum-age", type=int, help="As the platform's UK terms state it; 0: none.")
_reporting = click.option("--reporting-url", help="Where to report a post.")
_underage = click.option("--under-age-reporting-url", help="Where to report an under-age user.")


@platform_cli.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The name people know it by.")
@click.option("--minimum-age", type=int, required=True, help="0 if the platform sets none.")
@_reporting
@_underage
@with_appcontext
def add(
    code: str,
    name: str,
    minimum_age: int,
    reporting_url: str | None,
    under_age_reporting_url: str | None,
) -> None:
    """Add platform CODE (lower-case letters, digits and underscores)."""
    details = PlatformDetails(name, minimum_age, reporting_url or "", under_age_reporting_url or "")
    with transaction() as session:
        added = add_platform(session, None, code, details)
        click.echo(f"Added {added.name} ({added.code}).")


@platform_cli.command("edit")
@click.argument("code")
@click.option("--name", help="The name people know it by.")
@_age
@_reporting
@_underage
@with_appcontext
def edit(
    code: str,
    name: str | None,
    minimum_age: int | None,
    reporting_url: str | None,
    under_age_reporting_url: str | None,
) -> None:
    """Change what is given of platform CODE; the rest stays. An empty URL removes it."""
    with transaction() as session:
        platform = platform_named(session, code)
        details = PlatformDetails(
            platform.name if name is None else name,
            platform.minimum_age if minimum_age is None else minimum_age,
            platform.reporting_url if reporting_url is None else reporting_url,
            (
                platform.underage_reporting_url
                if under_age_reporting_url is None
                else under_age_reporting_url
            ),
        )
        edited = edit_platform(session, None, code, details)
        click.echo(f"Saved {edited.name} ({edited.code}).")


@platform_cli.command("retire")
@click.argument("code")
@with_appcontext
def retire(code: str) -> None:
    """Stop offering platform CODE for new alerts; alerts filed under it keep it."""
    with transaction() as session:
        retired = retire_platform(session, None, code)
        click.echo(f"Retired {retired.name} ({retired.code}).")
