"""``alertnet token``: API tokens from the command line.

Nobody's keys are unlocked in a shell, and a token needs the school's keys
wrapped to it, so ``token create`` asks for the member's own password (at a
prompt, or one line on standard input with ``--password-stdin``): it unlocks
their copy of the school's keys, exactly as signing in does.
"""

from __future__ import annotations

import sys
import uuid

import click
from flask.cli import with_appcontext

from network.commands import BadInput, transaction
from network.settings import current
from schools import accounts, directory, personal, tokens
from schools.audit.leaf import timestamp
from schools.db import utcnow
from schools.errors import SignInFailed
from schools.policy import Scope

_SCOPES = ", ".join(s.value for s in Scope)


@click.group("token")
def token_cli() -> None:
    """API tokens for scripts and schools' own systems (see docs/api.md)."""


@token_cli.command("create")
@click.option("--email", required=True, help="The member the token acts as (a head).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help=f"Repeat, or separate with commas: {_SCOPES}.",
)
@click.option("--name", default="command line", show_default=True, help="What will use it.")
@click.option(
    "--expires-days",
    type=int,
    default=tokens.DEFAULT_LIFETIME_DAYS,
    show_default=True,
    help=f"1 to {tokens.MAX_LIFETIME_DAYS}.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the member's password from standard input."
)
@with_appcontext
def token_create(
    email: str, scopes: tuple[str, ...], name: str, expires_days: int, password_stdin: bool
) -> None:
    """Make a token and print it once (only its hash is kept).

    The member's password unlocks their copy of the school's keys, which are
    then wrapped to the token. Prints the token alone on standard output, so
    TOKEN=$(alertnet token create ...) works; the rest goes to standard error.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {email}", hide_input=True, err=True)
    wanted = [s for value in scopes for s in value.split(",") if s.strip()]
    with transaction() as session:
        try:
            member, credential = accounts.authenticate(
                session, email, password, current().password_params
            )
        except SignInFailed as failed:
            raise BadInput(failed.message) from None
        keys = personal.unlock_for_member(session, member, credential)
        issued = tokens.create_token(session, member, keys, name, wanted, expires_days)
        described = (
            f"Token {issued.token.name!r} ({issued.token.id}) acts as {member.name} "
            f"<{member.email}>, scopes {' '.join(issued.token.scope_list)}, "
            f"expires {issued.token.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now:"
        )
    click.echo(described, err=True)
    click.echo(issued.secret_token)


@token_cli.command("list")
@click.option("--school", "school_key", help="Only this school's (URN or id).")
@with_appcontext
def token_list(school_key: str | None) -> None:
    """List tokens: id, state, school, member, scopes, expiry and last use."""
    now = utcnow()
    with transaction() as session:
        school = directory.find_school(session, school_key) if school_key else None
        rows = tokens.all_tokens(session, school.id if school else None)
        lines = [
            f"{t.id}  {t.state(now):<8} {t.school.name} / {t.member.email}  "
            f"{t.name!r}  [{' '.join(t.scope_list)}]  expires {timestamp(t.expires_at)}  "
            f"last used {timestamp(t.last_used_at) if t.last_used_at else 'never'}"
            for t in rows
        ]
    for line in lines or ["No API tokens."]:
        click.echo(line)


@token_cli.command("revoke")
@click.argument("token_id")
@with_appcontext
def token_revoke(token_id: str) -> None:
    """Revoke a token at once (as the operator): its copy of the keys is deleted."""
    try:
        parsed = uuid.UUID(token_id.partition(".")[0])
    except ValueError:
        raise BadInput(f"{token_id[:40]!r} is not a token id.") from None
    with transaction() as session:
        token = tokens.revoke_token(session, None, parsed)
        name = token.name
    click.echo(f"Revoked token {name!r} ({parsed}).")
