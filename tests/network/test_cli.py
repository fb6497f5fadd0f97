"""The `alertnet` command, as an operator or a script uses it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from network.cli import main
from network.db import own_transaction
from schools.models import Cluster, Invitation, Member, School

COMMANDS = [
    ["db", "upgrade"],
    ["db", "current"],
    ["cluster", "create"],
    ["cluster", "list"],
    ["school", "create"],
    ["member", "invite"],
    ["demo"],
    ["serve"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself(runner, command):
    result = runner.invoke(main, args=[*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_console_script_runs_outside_flask(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "network", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={"ALERTNET_INSTANCE": str(tmp_path), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    for group in ("db", "cluster", "school", "member", "demo", "serve"):
        assert group in result.stdout


def test_operator_builds_a_cluster_from_the_shell(runner, app):
    result = runner.invoke(
        main,
        args=[
            "cluster",
            "create",
            "Riverside",
            "--coordinator-email",
            "helen@riverside.example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    assert re.search(
        r"Invitation for helen@riverside.example.org: http://\S+/invitations/\S+", result.output
    )
    result = runner.invoke(
        main,
        args=[
            "school",
            "create",
            "--cluster",
            "riverside",
            "--name",
            "Oakfield",
            "--urn",
            "123456",
            "--head-email",
            "head@oak.example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Admitted Oakfield (URN 123456)" in result.output
    result = runner.invoke(
        main,
        args=[
            "member",
            "invite",
            "--school",
            "123456",
            "--role",
            "staff",
            "--email",
            "dsl@oak.example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, args=["cluster", "list"])
    assert "Riverside  (1 schools)" in result.output
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["school", "create", "--cluster", "Nowhere", "--name", "X", "--urn", "111111"],
            "No cluster called 'Nowhere'",
        ),
        (["school", "create", "--cluster", "Riverside", "--name", "X", "--urn", "12"], "six-digit"),
        (
            ["school", "create", "--cluster", "Riverside", "--name", "Dup", "--urn", "222222"],
            "already registered",
        ),
        (["cluster", "create", "riverside"], "already exists"),
        (
            [
                "member",
                "invite",
                "--school",
                "999999",
                "--role",
                "staff",
                "--email",
                "a@b.example.org",
            ],
            "No school with URN",
        ),
        (
            ["member", "invite", "--school", "222222", "--role", "staff", "--email", "nonsense"],
            "email address like",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(runner, app, args, message):
    assert runner.invoke(main, args=["cluster", "create", "Riverside"]).exit_code == 0
    assert (
        runner.invoke(
            main,
            args=[
                "school",
                "create",
                "--cluster",
                "Riverside",
                "--name",
                "First",
                "--urn",
                "222222",
            ],
        ).exit_code
        == 0
    )
    result = runner.invoke(main, args=args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Cluster)) == 1
        assert session.scalar(select(func.count()).where(School.kind == "school")) == 1
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_demo_loads_once_and_prints_the_logins(runner, app):
    first = runner.invoke(main, args=["demo"])
    assert first.exit_code == 0, first.output
    assert "head.oakfield@demo.alertnet.example" in first.output
    assert "coordinator@demo.alertnet.example" in first.output
    assert "admin@demo.alertnet.example" in first.output
    second = runner.invoke(main, args=["demo"])
    assert second.exit_code == 0
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 8
        heads = session.scalars(select(Member).where(Member.role == "head")).all()
        assert all(not m.keys_pending for m in heads)
        assert all(m.school.key_generation == 1 for m in heads)


def test_demo_logins_work_in_the_browser_flow(runner, app):
    from tests.conftest import sign_in

    runner.invoke(main, args=["demo", "--password", "demo password for tests"])
    client = app.test_client()
    response = sign_in(client, "dsl.oakfield@demo.alertnet.example", "demo password for tests")
    assert response.status_code == 302
    # A designated safeguarding lead is in the school's leadership: like its
    # head, they set up a second factor first (the hub's default rule).
    assert response.headers["Location"].startswith("/account/second-factors")
