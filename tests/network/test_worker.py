"""`alertnet worker`: its command."""

# The SMTP server, app, cluster and pair fixtures are imported from notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

from network.cli import main
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
