"""``alertnet worker``: delivers what the outbox holds and runs, every so
often, the jobs the features expose: queued reads into the audit log, digests,
the acknowledgement chase and dashboard refreshes every minute; retention, the
delivery log's pruning and session expiry once a day.

Delivery itself (claim, send, settle, dead letters) is the notifications'
(network/notifications/delivery.py). Several workers may run at once: they
claim different notifications, and the periodic jobs run in one worker at a
time (a PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE serialises).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType

import click
import psycopg
from flask import Flask, current_app
from flask.cli import with_appcontext
from psycopg.rows import TupleRow
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from network.alerts.held import shred_abandoned
from network.alerts.retention import shred_expired
from network.dashboard import snapshots
from network.db import own_transaction
from network.notifications import chase, delivery_log, digests, follow_ups
from network.notifications.delivery import Courier
from network.notifications.outbox import WAKE_CHANNEL
from network.operations import heartbeat
from network.settings import Settings
from schools import accounts
from schools.audit import queue as audit_queue
from schools.db import utcnow

log = logging.getLogger("alertnet.worker")

#: pg_try_advisory_xact_lock key: one worker at a time runs the periodic jobs.
PERIODIC_LOCK_KEY = int.from_bytes(b"alertntf", "big") & 0x7FFFFFFFFFFFFFFF

#: What a job did: counts by name, e.g. {"digests": 2}.
Counts = dict[str, int]
#: A feature's periodic work, run in a transaction of its own.
Job = Callable[[Session, Settings, datetime], Counts]


def send_digests(session: Session, settings: Settings, now: datetime) -> Counts:
    return {"digests": digests.collect_digests(session, now)}


def chase_acknowledgements(session: Session, settings: Settings, now: datetime) -> Counts:
    reminded, escalated = chase.chase_acknowledgements(session, settings, now)
    return {"reminded": reminded, "escalated": escalated}


def chase_follow_ups(session: Session, settings: Settings, now: datetime) -> Counts:
    return {"follow_ups_reminded": follow_ups.chase_follow_ups(session, settings, now)}


def refresh_dashboards(session: Session, settings: Settings, now: datetime) -> Counts:
    return {"dashboards": snapshots.refresh_defaults(session, now, settings.dashboard_max_age)}


def shred_expired_alerts(session: Session, settings: Settings, now: datetime) -> Counts:
    return {"shredded": len(shred_expired(session, now))}


def shred_abandoned_drafts(session: Session, settings: Settings, now: datetime) -> Counts:
    # Every interval, not daily: a draft left for a day is gone within minutes of it.
    return {"drafts_shredded": shred_abandoned(session, now)}


def prune_delivery_log(session: Session, settings: Settings, now: datetime) -> Counts:
    return {"pruned": delivery_log.prune(session, now)}


def integrate_queued_reads(session: Session, settings: Settings, now: datetime) -> Counts:
    # The sequencer of last resort: writers integrate queued reads as they go.
    return {"reads_integrated": audit_queue.integrate_all(session)}


def purge_expired_sessions(session: Session, settings: Settings, now: datetime) -> Counts:
    # design.md: expiry deletes the session row, and its key with it.
    return {"sessions_purged": accounts.purge_expired_sessions(session)}


#: Every periodic interval (a minute by default), in this order.
FREQUENT_JOBS: tuple[Job, ...] = (
    integrate_queued_reads,
    send_digests,
    chase_acknowledgements,
    chase_follow_ups,
    refresh_dashboards,
    shred_abandoned_drafts,
)
#: Once a maintenance interval (a day), after the frequent ones.
DAILY_JOBS: tuple[Job, ...] = (shred_expired_alerts, prune_delivery_log, purge_expired_sessions)


def _periodic_lock(session: Session) -> bool:
    """One worker at a time; SQLite's BEGIN IMMEDIATE already serialises."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PERIODIC_LOCK_KEY})
    )


class Worker:
    """Claims and delivers batches; every so often runs the periodic jobs."""

    def __init__(
        self,
        app: Flask,
        *,
        concurrency: int = 4,
        batch: int = 20,
        periodic_seconds: float = 60.0,
        maintenance_seconds: float = 24 * 3600.0,
    ) -> None:
        self.app = app
        self.settings: Settings = app.config["ALERTNET"]
        self.courier = Courier(
            self._transaction, self.settings, concurrency=concurrency, batch=batch
        )
        self.periodic_seconds = periodic_seconds
        self.maintenance_seconds = maintenance_seconds
        self.stop = threading.Event()
        self._listening: psycopg.Connection[TupleRow] | None = None
        self._no_listen = False
        self._last_periodic = -1e18
        self._last_maintenance = -1e18

    @property
    def delivered(self) -> int:
        return self.courier.delivered

    @property
    def failed(self) -> int:
        return self.courier.failed

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self.app.app_context(), own_transaction(self.app) as session:
            yield session

    def deliver_batch(self, now: datetime | None = None) -> int:
        """Claim one batch, send it, settle it; the number claimed."""
        return self.courier.deliver_batch(now)

    def drain(self, now: datetime | None = None) -> int:
        """Deliver batches until nothing is due."""
        total = 0
        while not self.stop.is_set():
            claimed = self.deliver_batch(now)
            if not claimed:
                break
            total += claimed
        return total

    def periodic(self, now: datetime | None = None, maintenance: bool = False) -> Counts:
        """Run the frequent jobs and, with ``maintenance``, the daily ones, each
        in its own transaction. Stops when another worker holds the lock: it
        is running them."""
        now = now or utcnow()
        done: Counts = {}
        for job in FREQUENT_JOBS + (DAILY_JOBS if maintenance else ()):
            with self._transaction() as session:
                if not _periodic_lock(session):
                    return done
                done.update(job(session, self.settings, now))
        return done

    def _tick(self) -> None:
        clock = time.monotonic()
        maintenance = clock - self._last_maintenance >= self.maintenance_seconds
        if maintenance or clock - self._last_periodic >= self.periodic_seconds:
            done = self.periodic(maintenance=maintenance)
            self._last_periodic = clock
            if maintenance:
                self._last_maintenance = clock
            if any(done.values()):
                log.info("periodic: %s", done)

    def run(
        self,
        *,
        once: bool = False,
        max_seconds: float | None = None,
        poll_seconds: float | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        poll = self.settings.worker_poll_seconds if poll_seconds is None else poll_seconds
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        try:
            while not self.stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                try:
                    heartbeat.beat(self)  # for /readyz and /metrics
                    self._tick()
                    claimed = self.deliver_batch()
                except Exception:  # the database went away: wait and try again
                    if once:
                        raise
                    log.exception("worker loop failed; retrying")
                    claimed = 0
                    self.stop.wait(min(30.0, max(poll, 1.0)))
                if claimed:
                    continue
                if once:
                    break
                if on_idle is not None:
                    on_idle()
                wait = (
                    poll if deadline is None else min(poll, max(0.0, deadline - time.monotonic()))
                )
                self._idle(wait)
        finally:
            self.close()

    def _idle(self, seconds: float) -> None:
        """Sleep until the poll interval passes or, on PostgreSQL, until a
        transaction with new deliveries commits (LISTEN/NOTIFY)."""
        listener = self._listener()
        if listener is None:
            self.stop.wait(seconds)
            return
        try:
            for _ in listener.notifies(timeout=seconds, stop_after=1):
                pass
        except Exception:  # the connection dropped: poll, and listen again later
            log.warning("lost the LISTEN connection; polling")
            self._close_listener()
            self.stop.wait(seconds)

    def _listener(self) -> psycopg.Connection[TupleRow] | None:
        if self._listening is not None or self._no_listen:
            return self._listening
        url = self.settings.database_url
        if not url.startswith("postgresql"):
            self._no_listen = True
            return None
        try:
            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            connection = psycopg.connect(dsn, autocommit=True)
            connection.execute(f"LISTEN {WAKE_CHANNEL}")
        except Exception:
            log.warning("cannot LISTEN for new deliveries; polling instead")
            self._no_listen = True
            return None
        self._listening = connection
        return connection

    def _close_listener(self) -> None:
        if self._listening is not None:
            try:
                self._listening.close()
            finally:
                self._listening = None

    def close(self) -> None:
        self._close_listener()
        self.courier.close()

    def stop_on_signals(self) -> None:
        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: finishing the current batch, then stopping", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)


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
