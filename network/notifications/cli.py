"""`alertnet worker`: deliver notifications, run digests, reminders and retention."""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver everything due now, then exit.")
@click.option(
    "--max-seconds", type=float, default=None, help="Stop after this many seconds (tests, cron)."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Deliveries sent in parallel by this worker.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 500),
    default=20,
    show_default=True,
    help="Notifications claimed at a time.",
)
@click.option(
    "--poll-interval",
    type=float,
    default=None,
    help="Seconds between looks at the outbox when idle [default: ALERTNET_WORKER_POLL or 1].",
)
@click.option(
    "--periodic-interval",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds between runs of digests and acknowledgement reminders.",
)
@with_appcontext
def worker_cli(
    once: bool,
    max_seconds: float | None,
    concurrency: int,
    batch: int,
    poll_interval: float | None,
    periodic_interval: float,
) -> None:
    """Deliver notifications from the outbox: email, webhooks, digests.

    Runs until stopped (SIGTERM or Ctrl-C finish the current batch first).
    Several workers may run at once, on one machine or many: each claims
    different notifications (FOR UPDATE SKIP LOCKED on PostgreSQL), and a
    worker that dies mid-delivery loses nothing: after its lease
    (ALERTNET_NOTIFY_LEASE seconds) another delivers again. The worker also
    sends daily digests at their chosen times, reminds schools of overdue
    acknowledgements (then tells the coordinator), and once a day shreds
    alerts past their retention period.
    """
    from network.notifications.worker import Worker

    if not logging.getLogger().handlers:
        logging.basicConfig(
            stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
        )
    worker = Worker(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        concurrency=concurrency,
        batch=batch,
        periodic_seconds=periodic_interval,
    )
    worker.stop_on_signals()
    worker.run(once=once, max_seconds=max_seconds, poll_seconds=poll_interval)
    click.echo(f"Delivered {worker.delivered}, failed {worker.failed}.")
