"""``alertnet client`` (also installed as ``alertnet-client``): the hub's API
from a terminal or a script.

It talks HTTP (the standard library's urllib) to a hub with a saved API token.
It needs no database and no hub settings, and imports neither Flask nor
SQLAlchemy (tests/network/test_client.py checks), so it starts quickly.

Tables for people; ``--json`` for scripts. Exit status: 0 done, 1 the hub
refused (its problem document is printed) or a check failed, 2 bad usage, not
logged in, or the hub could not be reached.
"""

from __future__ import annotations

import sys

import click

from network.client import alerts, audit
from network.client.hub import ClientError, Hub, config_path, load_config, save_config
from network.client.output import emit_json, table, when


@click.group("client")
def client_cli() -> None:
    """Use a hub's API from a terminal or a script: post and read alerts,
    acknowledge and reply, and check the hub's audit log.

    Log in once with an API token (Account > API tokens on the hub, or
    'alertnet token create'). Add --json to any command for machine-readable output.
    """


@client_cli.command("login")
@click.option("--hub", "hub_url", help="The hub's address, like https://alerts.example.org.")
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def login(hub_url: str | None, token_stdin: bool, as_json: bool) -> None:
    """Check a token with the hub and save it (mode 0600).

    Also pins the hub's audit-log key, so 'alertnet client audit verify' can
    check checkpoints against it later: compare it with your onboarding pack.
    """
    saved = load_config()
    hub_url = hub_url or saved.get("hub") or click.prompt("Hub address")
    if not hub_url.startswith(("https://", "http://")):
        raise ClientError("The hub address starts with https:// (or http:// for a test hub).")
    if token_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = click.prompt("API token", hide_input=True, err=True).strip()
    hub = Hub(hub_url.rstrip("/"), token)
    me = hub.json("GET", "/me")
    if me.get("token") is None:
        raise ClientError("That is not an API token.")
    key = Hub(hub.url, None).json("GET", "/audit/key")
    path = save_config(
        {"hub": hub.url, "token": token, "vkey": key["vkey"], "origin": key["origin"]}
    )
    if as_json:
        emit_json({**me, "config": str(path), "vkey": key["vkey"]})
        return
    token_info = me["token"]
    school = me["school"]["name"] if me.get("school") else "no school"
    click.echo(f"Logged in to {hub.url} as {me['member']['name']} ({school}).")
    click.echo(
        f"Token {token_info['name']!r}: {' '.join(token_info['scopes'])}; expires "
        f"{when(token_info['expires_at'])} UTC."
    )
    click.echo(f"Audit log key pinned: {key['vkey']}")
    click.echo(f"Saved in {path}.")


@client_cli.command("logout")
def logout() -> None:
    """Forget the saved token (it stays valid on the hub until revoked)."""
    path = config_path()
    path.unlink(missing_ok=True)
    click.echo(f"Removed {path}. Revoke the token on the hub if it is no longer needed.")


@client_cli.command("whoami")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def whoami(as_json: bool) -> None:
    """Show whom the saved token acts as, its scopes and expiry."""
    me = Hub.configured().json("GET", "/me", retry=True)
    if as_json:
        emit_json(me)
        return
    token = me.get("token") or {}
    click.echo(f"{me['member']['name']} <{me['member']['email']}>, {me['member']['role']}")
    if me.get("school"):
        click.echo(f"School: {me['school']['name']}")
    click.echo(f"Scopes: {' '.join(token.get('scopes', []))}")
    click.echo(f"Expires: {when(token.get('expires_at'))} UTC")


@client_cli.command("schools")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def schools(as_json: bool) -> None:
    """Your cluster's schools, with their ids and key fingerprints."""
    listed = Hub.configured().json("GET", "/schools", retry=True)["schools"]
    if as_json:
        emit_json(listed)
        return
    table(
        ["School", "URN", "Receives", "Fingerprint", "Id"],
        [
            [
                s["name"],
                s["urn"] or "office",
                "yes" if s["receives_alerts"] else "no",
                s["keys"]["fingerprint"] if s["keys"] else "",
                s["id"],
            ]
            for s in listed
        ],
    )


for command in (
    alerts.post,
    alerts.inbox,
    alerts.read,
    alerts.ack,
    alerts.reply,
    audit.audit_group,
):
    client_cli.add_command(command)
