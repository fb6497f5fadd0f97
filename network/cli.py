"""The ``alertnet`` command: operate the hub from a shell or a script.

Bad input exits with status 2 and a one-line message; nothing is written.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from network import create_app, operations
from network.alerts.cli import platform_cli, retention_cli
from network.alerts.guidance_cli import guidance_cli
from network.api.cli import token_cli
from network.audit.cli import audit_cli
from network.client.commands import client_cli
from network.commands import BadInput, transaction
from network.dashboard.cli import dashboard_cli
from network.demo import DEMO_PASSWORD, load_demo
from network.migrate import current_revision, upgrade
from network.settings import Settings
from network.settings import current as _settings
from network.worker import worker_cli
from schools import accounts, directory, factors, invitations, leadership, roles, throttle
from schools.errors import KeysLocked, SignInFailed
from schools.models import Role


def _echo_invitation(invited: invitations.Invited) -> None:
    link = _settings().invitation_link(invited.token)
    click.echo(f"Invitation for {invited.invitation.email}: {link}")


def _make_app(*_args: Any, **_kwargs: Any) -> Flask:
    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_make_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """alertnet: the shared alert network for schools; alert content is stored
    encrypted to the recipient schools' keys.

    Configuration comes from the environment: DATABASE_URL (default: SQLite in
    ./instance), SECRET_KEY (default: generated into ./instance/secret_key),
    ALERTNET_PUBLIC_URL (the address people use; https in production).
    """


# --- database -----------------------------------------------------------------


@main.group()
def db() -> None:
    """Create and upgrade the database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply every migration up to REVISION (safe to run on an up-to-date database)."""
    upgrade(current_app, revision)
    click.echo(f"Database is at revision {current_revision(current_app)}.")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the revision the database is at."""
    click.echo(current_revision(current_app) or "(empty: run 'alertnet db upgrade')")


# --- clusters, schools, members -------------------------------------------------


@main.group()
def cluster() -> None:
    """Clusters of neighbouring schools."""


@cluster.command("create")
@click.argument("name")
@click.option("--coordinator-email", help="Invite this person as the cluster's coordinator.")
@click.option("--coordinator-name", default="", help="The coordinator's name.")
@with_appcontext
def cluster_create(name: str, coordinator_email: str | None, coordinator_name: str) -> None:
    """Create the cluster NAME and, optionally, invite its coordinator."""
    with transaction() as session:
        created = directory.create_cluster(session, None, name)
        invited = None
        if coordinator_email:
            invited = invitations.invite(
                session,
                None,
                Role.COORDINATOR,
                coordinator_email,
                coordinator_name,
                cluster=created,
            )
    click.echo(f"Created cluster {created.name!r} ({created.id}).")
    if invited:
        _echo_invitation(invited)


@cluster.command("list")
@with_appcontext
def cluster_list() -> None:
    """List clusters and how many schools each has."""
    with transaction() as session:
        for row, schools in directory.list_clusters(session):
            click.echo(f"{row.id}  {row.name}  ({schools} schools)")


@main.group()
def school() -> None:
    """Schools in a cluster."""


@school.command("create")
@click.option("--cluster", "cluster_name", required=True, help="Cluster name or id.")
@click.option("--name", required=True, help="The school's name.")
@click.option("--urn", required=True, help="The six-digit DfE URN.")
@click.option("--address", default="", help="Postal address.")
@click.option("--head-email", help="Invite this person as the school's head.")
@click.option("--head-name", default="", help="The head's name.")
@with_appcontext
def school_create(
    cluster_name: str, name: str, urn: str, address: str, head_email: str | None, head_name: str
) -> None:
    """Admit a school to a cluster and, optionally, invite its head."""
    with transaction() as session:
        found = directory.find_cluster(session, cluster_name)
        created = directory.admit_school(session, None, found, name, urn, address)
        invited = None
        if head_email:
            invited = invitations.invite(
                session, None, Role.HEAD, head_email, head_name, school=created
            )
    click.echo(f"Admitted {created.name} (URN {created.urn}) to {found.name}.")
    if invited:
        _echo_invitation(invited)


@main.group()
def member() -> None:
    """People who use the hub."""


@member.command("invite")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--school", "school_key", help="URN or id of the school (head, staff).")
@click.option("--cluster", "cluster_key", help="Name or id of the cluster (coordinator).")
@with_appcontext
def member_invite(
    email: str, name: str, role: str, school_key: str | None, cluster_key: str | None
) -> None:
    """Invite someone and print their single-use invitation link.

    Invitations made here cannot carry the school's keys (no one's keys are
    unlocked in a shell): the new member is confirmed automatically the next
    time a colleague signs in.
    """
    with transaction() as session:
        target_school = directory.find_school(session, school_key) if school_key else None
        target_cluster = directory.find_cluster(session, cluster_key) if cluster_key else None
        invited = invitations.invite(
            session, None, Role(role), email, name, school=target_school, cluster=target_cluster
        )
    _echo_invitation(invited)


SCHOOL_ROLES = [r.value for r in Role if r.is_school_role]
# The operator holds nobody's keys; demoting someone from the leadership moves
# the leadership keys on, which needs a head's (schools/leadership.py).
NEEDS_A_HEADS_KEYS = (
    "{name} would leave {school}'s leadership, so its leadership keys must move on "
    "without them, and no keys are unlocked in a shell. Add --as with the email of a "
    "head of the school (their password unlocks the keys), or change the role on the "
    "school's Members page."
)
HEAD_WITHOUT_KEYS = (
    "{head} does not hold {school}'s current leadership keys yet: they sign in on the "
    "hub once, then try again."
)


def _head_password(head_email: str | None, password_stdin: bool) -> str | None:
    if head_email is None:
        if password_stdin:
            raise click.UsageError("--password-stdin reads the password of the head named by --as.")
        return None
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(f"Password for {head_email}", hide_input=True, err=True))


@member.command("set")
@click.option(
    "--may-post/--no-may-post",
    "may_post",
    default=None,
    help="Allow the member to post alerts, or withdraw it (heads always may).",
)
@click.option(
    "--role",
    type=click.Choice(SCHOOL_ROLES),
    help="Move the member to this role. Out of the leadership (head, dsl, deputy_dsl) "
    "moves the school's leadership keys on without them: add --as.",
)
@click.option(
    "--as",
    "head_email",
    help="Act as this head of the school: their password unlocks the leadership keys a "
    "role change out of the leadership moves on (and hands to someone joining it).",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the --as head's password from standard input."
)
@click.argument("email")
@with_appcontext
def member_set(
    email: str,
    may_post: bool | None,
    role: str | None,
    head_email: str | None,
    password_stdin: bool,
) -> None:
    """Change what a member of a school may do, or their role (audited)."""
    if may_post is None and role is None:
        raise click.UsageError("Say what to change: --role, --may-post or --no-may-post.")
    password = _head_password(head_email, password_stdin)
    said = []
    with transaction() as session:
        target = roles.member_by_email(session, email)
        name, school = target.name or target.email, target.school
        assert school is not None
        school_name = school.name
        actor, keys = None, None
        if head_email is not None and password is not None:
            try:
                actor, credential = accounts.authenticate(
                    session, head_email, password, _settings().password_params
                )
            except SignInFailed as failed:
                raise BadInput(failed.message) from None
            keys = leadership.unlock_for_member(session, actor, credential)
        if role is not None:
            try:
                changed = roles.change_role(session, actor, target.id, role, keys)
            except KeysLocked:
                wording = NEEDS_A_HEADS_KEYS if actor is None else HEAD_WITHOUT_KEYS
                raise BadInput(
                    wording.format(name=name, school=school_name, head=head_email)
                ) from None
            said.append(f"{name} ({school_name}) is now {changed.member.role_enum.label.lower()}.")
            if changed.rotated:
                said.append(
                    f"{school_name}'s leadership keys moved on without them; its leadership "
                    "signs in again."
                )
            elif leadership.in_leadership(target) and keys is None:
                said.append(
                    "They receive the leadership keys when a colleague in the leadership next "
                    "signs in."
                )
        if may_post is not None:
            roles.set_may_post(session, actor, target.id, may_post)
            verb = "may now post alerts" if may_post else "may no longer post alerts"
            said.append(f"{name} ({school_name}) {verb}.")
    for line in said:
        click.echo(line)


@member.command("unlock")
@click.argument("email")
@with_appcontext
def member_unlock(email: str) -> None:
    """Lift the lock on an account after too many wrong passwords (audited)."""
    with transaction() as session:
        unlocked = throttle.unlock(session, None, roles.member_by_email(session, email).id)
        name = unlocked.name or unlocked.email
    click.echo(f"{name} can sign in again.")


@member.command("reset-second-factor")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def member_reset_second_factor(email: str, yes: bool) -> None:
    """Remove a member's second factors and end their sessions, when they have
    lost their phone or passkey and their backup codes (audited). Make sure it
    really is them asking. They set one up again at their next sign-in."""
    if not yes:
        click.confirm(f"Remove every second factor of {email} and end their sessions?", abort=True)
    with transaction() as session:
        member = roles.member_by_email(session, email)
        ended = factors.reset_factors(session, None, member.id)
        name = member.name or member.email
    click.echo(
        f"{name}'s second factors were removed and {ended} session(s) ended; they set one "
        "up again when they next sign in."
    )


@main.command("demo")
@click.option("--password", default=None, help="Password for every demo account.")
@with_appcontext
def demo(password: str | None) -> None:
    """Load a demo cluster with schools and members, and print the logins."""
    with transaction() as session:
        logins = load_demo(session, _settings(), password or DEMO_PASSWORD)
    click.echo("Demo logins (password for all: %s):" % (password or DEMO_PASSWORD))
    for role, email, where in logins:
        click.echo(f"  {role:<20} {email:<38} {where}")


@main.command("serve")
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes. Default: 2 when rate limits are counted in Redis, "
    "otherwise 1 (limits counted in memory would be counted per process).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads per worker. Default: 4, or 8 with a single worker.",
)
def serve(bind: str, workers: int | None, threads: int | None) -> None:
    """Run the hub under gunicorn (production mode)."""
    shared = not Settings.from_env().ratelimit_storage_uri.startswith("memory:")
    if workers is None:
        workers = 2 if shared else 1
    elif workers > 1 and not shared:
        raise click.UsageError(
            "Rate limits are counted in memory (RATELIMIT_STORAGE_URI=memory://), so each "
            "worker process would count its own: sign-in would allow several times its "
            "limit. Set RATELIMIT_STORAGE_URI=redis://HOST:6379/0, or run one worker "
            "(more --threads)."
        )
    if threads is None:
        threads = 4 if workers > 1 else 8
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "network:create_app()",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-",
        "--logger-class",
        "network.access_log.RedactingLogger",
        "--config",  # metrics across workers, JSON access lines (network/operations)
        "python:network.operations.gunicorn_config",
        "--forwarded-allow-ips",
        os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ]
    os.execv(sys.executable, argv)  # noqa: S606  (replace this process with gunicorn)


main.add_command(retention_cli)
main.add_command(platform_cli)
main.add_command(guidance_cli)
main.add_command(audit_cli)
main.add_command(worker_cli)
main.add_command(dashboard_cli)
main.add_command(token_cli)
main.add_command(client_cli)
operations.register_commands(main)  # backup, restore (network/operations)
