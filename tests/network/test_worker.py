"""`alertnet worker`: its command, and the periodic jobs it runs."""

# The SMTP server, app, cluster and pair fixtures are imported from notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from sqlalchemy import text

from network.cli import main
from network.db import own_transaction
from network.worker import PERIODIC_LOCK_KEY, Worker
from tests.network.notify_helpers import (  # noqa: F401  (fixtures)
    app,
    cluster,
    pair,
    smtp,
)


def test_the_worker_command(app, runner, pair, smtp):
    result = runner.invoke(main, ["worker", "--help"])
    assert result.exit_code == 0
    assert "--once" in result.output
    assert "--concurrency" in result.output
    ash, beech = pair
    ash.post_alert([beech.school], severity="urgent")
    result = runner.invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Delivered 1, failed 0." in result.output
    assert len(smtp.mails) == 1


def test_the_daily_jobs_run_after_the_frequent_ones(app):
    assert list(Worker(app).periodic(maintenance=True)) == [
        "reads_integrated",
        "digests",
        "reminded",
        "escalated",
        "follow_ups_reminded",
        "dashboards",
        "drafts_shredded",
        "shredded",
        "pruned",
        "sessions_purged",
    ]


def test_a_second_worker_leaves_the_periodic_jobs_to_the_one_running_them(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite, BEGIN IMMEDIATE makes the second worker wait instead")
    with own_transaction(app) as running:
        running.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PERIODIC_LOCK_KEY})
        assert Worker(app).periodic(maintenance=True) == {}
    assert "digests" in Worker(app).periodic()
