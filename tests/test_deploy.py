"""compose.yaml and the systemd units in deploy/ stay true: every command they
run is an `alertnet` command with options it has, every setting they pass is
one the hub reads, and they wire the hub, its workers, PostgreSQL and Redis as
docs/operations.md says. (There is no Docker engine here to run them.)"""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from network.cli import main
from network.settings import ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
# Read by the programs alertnet runs (gunicorn, prometheus-client), not by Settings.
OTHER_VARIABLES = {"ALERTNET_INSTANCE", "FORWARDED_ALLOW_IPS", "PROMETHEUS_MULTIPROC_DIR"}
KNOWN = set(ENVIRONMENT.values()) | OTHER_VARIABLES


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def alertnet_invocations(command: str) -> list[list[str]]:
    """Every `alertnet ...` in a shell command line, as its arguments."""
    words = shlex.split(command)
    if len(words) >= 3 and words[0].endswith("sh") and words[1] == "-c":
        return alertnet_invocations(words[2])
    command = re.sub(r"\$\([^)]*\)", "DATE", command)  # $(date ...) in a file name
    found = []
    for part in re.split(r"&&|;|\|", command):
        words = shlex.split(part.split(">")[0])
        for i, word in enumerate(words):
            if word == "alertnet" or word.endswith("/alertnet"):
                if word.endswith("bin/alertnet") or word == "alertnet":
                    found.append([w for w in words[i + 1 :] if w != "exec"])
                break
    return found


def check_invocation(args: list[str]) -> None:
    """The arguments name an existing (sub)command and only options it has."""
    command: click.Command = main
    rest = list(args)
    while rest and isinstance(command, click.Group) and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"alertnet has no command {name!r} ({args})"
        command = command.commands[name]
    options = {opt for param in command.params for opt in param.opts}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"{word} is not an option of {args}"
    context = command.make_context("alertnet", list(rest), resilient_parsing=True)
    assert context is not None


def _environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return environment


def test_compose_runs_the_hub_a_worker_postgresql_and_redis():
    services = _compose()["services"]
    assert set(services) == {"hub", "worker", "db", "redis"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    # The worker runs the image the hub builds.
    assert services["worker"]["image"] == services["hub"]["image"]
    assert "build" in services["hub"]


def test_compose_commands_are_alertnet_commands_with_their_options():
    services = _compose()["services"]
    hub = " ".join(services["hub"]["command"][2:])
    assert [args[0] for args in alertnet_invocations(hub)] == ["db", "serve"]
    assert services["worker"]["command"] == ["alertnet", "worker"]
    for name in ("hub", "worker"):
        command = services[name]["command"]
        line = command[-1] if command[:2] == ["sh", "-c"] else shlex.join(command)
        for args in alertnet_invocations(line):
            check_invocation(args)


def test_the_hub_in_compose_runs_the_images_own_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]$', dockerfile, re.M)
    assert cmd is not None
    assert _compose()["services"]["hub"]["command"] == ["sh", "-c", cmd.group(1)]


def test_compose_passes_only_settings_the_hub_reads_and_wires_its_services():
    services = _compose()["services"]
    for name in ("hub", "worker"):
        environment = _environment_of(services[name])
        assert set(environment) <= KNOWN, set(environment) - KNOWN
        assert "@db:5432/" in environment["DATABASE_URL"]
        assert environment["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
        # Several processes share these, so none may be left to be generated per host.
        for shared in ("SECRET_KEY", "ALERTNET_LOG_KEY", "ALERTNET_PUBLIC_URL"):
            assert ":?" in environment[shared], f"{shared} must be required"
    assert services["hub"]["ports"] == ["127.0.0.1:8000:8000"]


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    # systemd allows a key several times (ExecStart=): keep the last for parsing,
    # and read the repeated ones from the text below.
    parser.read_string((ROOT / "deploy" / name).read_text())
    return parser


def _exec_lines(name: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in (ROOT / "deploy" / name).read_text().splitlines()
        if line.startswith(("ExecStart=", "ExecStartPre="))
    ]


@pytest.mark.parametrize(
    ("unit", "commands"),
    [
        ("alertnet-hub.service", [["db", "upgrade"], ["serve", "--bind", "127.0.0.1:8000"]]),
        ("alertnet-worker@.service", [["worker"]]),
        ("alertnet-backup.service", [["backup", "--to"], ["audit", "checkpoint"]]),
    ],
)
def test_systemd_units_run_alertnet_commands_that_exist(unit, commands):
    found = [
        args for line in _exec_lines(unit) for args in alertnet_invocations(line.replace("%%", "%"))
    ]
    assert [args[: len(c)] for args, c in zip(found, commands, strict=True)] == commands
    for args in found:
        check_invocation(args)
    parsed = _unit(unit)
    assert parsed["Service"]["User"] == "alertnet"
    assert parsed["Service"]["EnvironmentFile"] == "/etc/alertnet/alertnet.env"


def test_the_backup_timer_starts_the_backup_nightly():
    timer = _unit("alertnet-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30:00"
    assert (ROOT / "deploy" / "alertnet-backup.service").exists()


def test_the_example_environment_names_only_settings_the_hub_reads():
    names = set()
    for line in (ROOT / "deploy" / "alertnet.env.example").read_text().splitlines():
        line = line.strip().lstrip("# ")
        match = re.fullmatch(r"([A-Z_]+)=.*", line)
        if match:
            names.add(match.group(1))
    # POSTGRES_PASSWORD is compose.yaml's own (its PostgreSQL's password).
    assert names - {"POSTGRES_PASSWORD"} <= KNOWN, names - KNOWN
    assert {"SECRET_KEY", "ALERTNET_LOG_KEY", "ALERTNET_PUBLIC_URL"} <= names


def test_the_operations_guide_covers_what_an_operator_does():
    guide = (ROOT / "docs" / "operations.md").read_text()
    for heading in (
        "## Install with Docker Compose",
        "## Install on a server with systemd",
        "## Upgrade",
        "## Backups",
        "## Restore",
        "## Rotate the audit log key",
        "## Health and metrics",
        "## Scaling",
    ):
        assert heading in guide, heading
    assert "docs/operations.md" in (ROOT / "README.md").read_text()
