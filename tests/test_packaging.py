"""The README's two commands and the Dockerfile stay true."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make demo" in head
    assert "make test" in head


def test_make_demo_upgrades_loads_the_demo_and_serves_on_port_5000():
    steps = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "alertnet db upgrade" in steps
    assert "alertnet demo" in steps
    assert "alertnet serve --bind 127.0.0.1:5000" in steps


def test_make_test_installs_the_browser_and_runs_lint_types_and_pytest():
    steps = subprocess.run(
        ["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "requirements-dev.lock" in steps
    assert "chromium" in steps
    assert "ruff check" in steps
    assert "lint-imports" in steps
    assert "mypy" in steps
    assert "pytest" in steps


def test_ci_runs_make_test_against_postgresql():
    script = (ROOT / ".ci" / "run").read_text()
    assert "make test" in script
    assert "ALERTNET_TEST_DATABASE_URL" in script


@pytest.mark.slow
def test_dockerfile_steps_install_and_start_the_hub(tmp_path):
    """Runs the Dockerfile's RUN, COPY and CMD lines outside Docker."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docker-steps.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "serves /healthz" in result.stdout
    assert "'alertnet worker' ran and /readyz says ready" in result.stdout


def test_dockerfile_runs_as_a_non_root_user_through_alertnet_serve():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2
    assert "USER alertnet" in dockerfile
    # `alertnet serve` calls the factory and picks the workers the rate limits allow.
    assert "exec alertnet serve" in dockerfile
    cli = (ROOT / "network" / "cli.py").read_text()
    assert '"network:create_app()"' in cli


def test_every_setting_read_from_the_environment_is_documented_in_the_readme():
    from network.settings import ENVIRONMENT

    readme = (ROOT / "README.md").read_text()
    assert [v for v in ENVIRONMENT.values() if f"`{v}`" not in readme] == []


def test_an_unset_variable_leaves_the_default_and_a_set_one_is_read_as_its_type(tmp_path):
    from network.settings import Settings

    base = {"ALERTNET_INSTANCE": str(tmp_path), "SECRET_KEY": "x"}
    default = Settings.from_env(base)
    assert (default.session_hours, default.demo, default.webhook_allow_networks) == (12, False, ())
    read = Settings.from_env(
        {
            **base,
            "ALERTNET_SESSION_HOURS": "8",
            "ALERTNET_DEMO": "1",
            "ALERTNET_WEBHOOK_TIMEOUT": "2.5",
            "ALERTNET_WEBHOOK_ALLOW": "10.0.0.0/8, 192.168.0.0/16",
            "ALERTNET_PUBLIC_URL": "https://hub.example.org/",
        }
    )
    assert read.session_hours == 8
    assert read.demo is True
    assert read.webhook_timeout_seconds == 2.5
    assert read.webhook_allow_networks == ("10.0.0.0/8", "192.168.0.0/16")
    assert read.public_url == "https://hub.example.org"
