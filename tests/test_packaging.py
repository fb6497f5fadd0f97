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


def test_dockerfile_runs_as_a_non_root_user_with_the_factory_call():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2
    assert "USER alertnet" in dockerfile
    assert "gunicorn 'network:create_app()'" in dockerfile
