"""``alertnet worker``: sends what the outbox holds, and runs the daily digests,
the acknowledgement reminders and retention.

A delivery goes through three short transactions, none open during network I/O:

1. claim: due rows (``pending``, or ``sending`` whose lease ran out) are
   selected ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's ``BEGIN
   IMMEDIATE`` serialises claimers instead), marked ``sending`` with a fresh
   random claim token and a lease (``due_at = now + lease``), attempts + 1;
2. deliver: SMTP or HTTP, outside any transaction;
3. settle: only if the row still carries this claim token, it becomes ``sent``,
   or ``pending`` again with an exponential, jittered backoff, or ``dead``
   after the configured number of attempts.

A worker killed between 1 and 3 loses nothing: the lease runs out and another
worker claims the row again (same ``webhook-id``, same Message-ID), so a
receiver that already got it can drop the duplicate.
"""

from __future__ import annotations

import logging
import random
import secrets
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import Flask
from sqlalchemy import and_, delete, or_, select, text, update
from sqlalchemy.orm import Session, joinedload, lazyload

from network.alerts.models import Alert, AlertRecipient
from network.dashboard import snapshots
from network.db import own_transaction
from network.notifications import mail, operations, render, webhooks
from network.notifications.models import (
    AckChase,
    Channel,
    Notification,
    Status,
    Subscription,
)
from network.notifications.operations import CHASE_WINDOW, DELIVERY_LOG_DAYS
from network.operations import heartbeat

__all__ = ["CHASE_WINDOW", "Worker"]  # CHASE_WINDOW: the chase's, from operations
from network.settings import Settings
from schools import accounts, audit
from schools.db import utcnow
from schools.models import School

log = logging.getLogger("alertnet.worker")

#: pg_try_advisory_xact_lock key: one worker at a time runs digests and reminders.
PERIODIC_LOCK_KEY = int.from_bytes(b"alertntf", "big") & 0x7FFFFFFFFFFFFFFF


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential with equal jitter: base * 2^(n-1), capped, then 50-100% of it."""
    delay = min(
        settings.notify_backoff_max_seconds, settings.notify_backoff_seconds * 2 ** (attempts - 1)
    )
    return timedelta(seconds=delay * (0.5 + random.random() / 2))


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    claim: str
    channel: str
    target: str | None
    attempts: int
    email: EmailMessage | None = None
    body: bytes | None = None
    secrets: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"


@dataclass(frozen=True)
class Outcome:
    id: uuid.UUID
    claim: str
    error: str | None


# --- 1. claim ------------------------------------------------------------------------


def claim_due(session: Session, settings: Settings, now: datetime, batch: int) -> list[Claimed]:
    rows = list(
        session.scalars(
            select(Notification)
            .where(
                Notification.status.in_([Status.PENDING, Status.SENDING]),
                Notification.due_at <= now,
            )
            .order_by(Notification.priority.desc(), Notification.due_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return []
    token = secrets.token_hex(16)
    lease = timedelta(seconds=settings.notify_lease_seconds)
    subscriptions = _subscriptions(session, rows)
    claimed: list[Claimed] = []
    for row in rows:
        if row.attempts >= settings.notify_max_attempts:
            # Its last attempt's worker stopped before settling: give up now.
            _dead(session, row, row.last_error or "the worker stopped during the last attempt")
            continue
        row.status = Status.SENDING
        row.claim = token
        row.attempts += 1
        row.last_attempt_at = now
        row.due_at = now + lease
        claimed.append(_prepare(row, subscriptions.get(row.subscription_id), settings, token, now))
    session.flush()
    return claimed


def _subscriptions(session: Session, rows: list[Notification]) -> dict[Any, Subscription]:
    ids = {r.subscription_id for r in rows if r.subscription_id}
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Subscription).where(Subscription.id.in_(ids)))}


def _prepare(
    row: Notification,
    subscription: Subscription | None,
    settings: Settings,
    token: str,
    now: datetime,
) -> Claimed:
    """Render while the app context is at hand; the sending threads need none."""
    base = settings.public_url
    common = {
        "id": row.id,
        "claim": token,
        "channel": row.channel,
        "target": row.target,
        "attempts": row.attempts,
    }
    try:
        if row.channel == Channel.EMAIL:
            if not row.target:
                return Claimed(**common, problem="no email address")
            message = render.email(
                notification_id=str(row.id),
                payload=row.payload,
                to=row.target,
                subscription_id=str(subscription.id) if subscription else None,
                subscription_name=subscription.name if subscription else "",
                base=base,
                mail_from=settings.mail_from,
                tz=operations.zone(settings),
            )
            return Claimed(**common, email=message)
        if row.channel == Channel.WEBHOOK:
            if subscription is None or subscription.secret is None or not row.target:
                return Claimed(**common, problem="the webhook subscription was deleted")
            live = [
                webhooks.open_secret(settings.secret_key, subscription.secret, str(subscription.id))
            ]
            if (
                subscription.previous_secret is not None
                and subscription.previous_secret_until is not None
                and subscription.previous_secret_until > now
            ):
                previous = webhooks.open_secret_or_none(
                    settings.secret_key, subscription.previous_secret, subscription.id
                )
                if previous:
                    live.append(previous)
            body = render.webhook_body(row.payload, row.created_at, base)
            return Claimed(**common, body=body, secrets=tuple(live))
    except webhooks.DeliveryError as error:
        return Claimed(**common, problem=str(error))
    return Claimed(**common, problem=f"cannot deliver by {row.channel}")


# --- 2. deliver ------------------------------------------------------------------------


def deliver(claimed: Claimed, settings: Settings) -> Outcome:
    """Send one notification; no database, no app context. Never raises."""
    error: str | None = None
    try:
        if claimed.problem:
            error = claimed.problem
        elif claimed.email is not None:
            if settings.smtp_url:
                mail.send_smtp(
                    mail.SmtpConfig.from_url(settings.smtp_url),
                    claimed.email,
                    settings.webhook_timeout_seconds,
                )
            elif settings.demo:
                mail.write_to_folder(settings.instance_path / "mail", claimed.email)
            else:
                error = "SMTP_URL is not set, so the hub cannot send email"
        elif claimed.body is not None and claimed.target:
            timestamp = int(time.time())
            webhooks.post(
                claimed.target,
                claimed.body,
                webhooks.headers_for(claimed.secrets, claimed.webhook_id, timestamp, claimed.body),
                settings.webhook_allow_networks,
                settings.webhook_timeout_seconds,
            )
    except (mail.MailError, webhooks.DeliveryError) as failure:
        error = str(failure) or type(failure).__name__
    except Exception as failure:  # a bug must not stop the worker; the row retries
        log.exception("delivery %s failed unexpectedly", claimed.id)
        error = f"internal error: {type(failure).__name__}"
    return Outcome(claimed.id, claimed.claim, error[:300] if error else None)


# --- 3. settle -------------------------------------------------------------------------


def settle(session: Session, settings: Settings, outcomes: list[Outcome], now: datetime) -> None:
    """Record what happened, for the rows this claim still holds (a row whose
    lease ran out may be another worker's by now: it is left alone)."""
    delivered: dict[str, list[uuid.UUID]] = {}
    for outcome in outcomes:
        if outcome.error is None:
            delivered.setdefault(outcome.claim, []).append(outcome.id)
    for claim, ids in delivered.items():
        session.execute(
            update(Notification)
            .where(
                Notification.id.in_(ids),
                Notification.claim == claim,
                Notification.status == Status.SENDING,
            )
            .values(status=Status.SENT, sent_at=now, due_at=None, last_error=None, claim=None)
            .execution_options(synchronize_session=False)
        )
    for outcome in outcomes:
        if outcome.error is None:
            continue
        row = session.scalars(
            select(Notification)
            .where(Notification.id == outcome.id, Notification.claim == outcome.claim)
            .with_for_update()
        ).one_or_none()
        if row is None or row.status != Status.SENDING:
            continue
        row.claim = None
        if row.attempts >= settings.notify_max_attempts:
            _dead(session, row, outcome.error)
        else:
            row.status = Status.PENDING
            row.last_error = outcome.error
            row.due_at = now + backoff(row.attempts, settings)
    session.flush()


def _dead(session: Session, row: Notification, error: str) -> None:
    row.status, row.last_error, row.due_at, row.claim = Status.DEAD, error[:300], None, None
    audit.record(
        session,
        "notification.dead_lettered",
        school_id=row.school_id,
        object_type="notification",
        object_id=row.id,
        channel=row.channel,
        event=row.event,
        attempts=row.attempts,
        subscription=str(row.subscription_id) if row.subscription_id else None,
    )


# --- digests, reminders, retention ----------------------------------------------------------


def _periodic_lock(session: Session) -> bool:
    """One worker at a time; SQLite's BEGIN IMMEDIATE already serialises."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PERIODIC_LOCK_KEY})
    )


def collect_digests(session: Session, settings: Settings, now: datetime) -> int:
    """One message per subscription per day, grouping what was held for it."""
    due = session.execute(
        select(Notification.subscription_id, Notification.due_at)
        .where(Notification.status == Status.HELD, Notification.due_at <= now)
        .distinct()
        .limit(500)
    ).all()
    if not due:
        return 0
    ids = {subscription_id for subscription_id, _ in due if subscription_id}
    subscriptions = {
        s.id: s
        for s in session.scalars(
            select(Subscription)
            .where(Subscription.id.in_(ids))
            .options(lazyload(Subscription.school))
        )
    }
    digests: list[dict[str, Any]] = []
    digested: list[tuple[list[Notification], uuid.UUID]] = []
    for subscription_id, due_at in due:
        items = list(
            session.scalars(
                select(Notification)
                .where(
                    Notification.subscription_id == subscription_id,
                    Notification.status == Status.HELD,
                    Notification.due_at == due_at,
                )
                .order_by(Notification.created_at)
                .with_for_update(skip_locked=True)
            )
        )
        if not items:
            continue
        subscription = subscriptions.get(subscription_id) if subscription_id else None
        if subscription is None:
            for item in items:
                item.status, item.due_at = Status.CANCELLED, None
            continue
        digest = operations.digest_for(subscription, items, due_at, now)
        digests.append(digest)
        digested.append((items, digest["id"]))
    # The digests first: the items point at them.
    operations.write_rows(session, digests, now)
    for items, digest_id in digested:
        for item in items:
            item.status, item.digest_id, item.due_at, item.sent_at = (
                Status.DIGESTED,
                digest_id,
                None,
                now,
            )
    session.flush()
    return len(digests)


def chase_acknowledgements(session: Session, settings: Settings, now: datetime) -> tuple[int, int]:
    """Remind a school whose acknowledgement is overdue; one deadline-length
    later, tell the cluster's coordinators. Only overdue copies are loaded
    (operations.waiting_copies, over ix_alert_recipients_waiting), and what the
    notices need is loaded once for all of them: one alert_ref per alert, the
    subscriptions and heads of every school due a reminder, the coordinators
    per cluster."""
    tz = operations.zone(settings)
    chosen = operations.rules(session)
    waiting = operations.waiting_copies(now, tz, chosen)
    if waiting is None:
        return 0, 0
    rows = session.execute(
        select(Alert, School, AckChase)
        .select_from(AlertRecipient)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .join(School, School.id == AlertRecipient.school_id)
        .outerjoin(
            AckChase,
            and_(
                AckChase.alert_id == AlertRecipient.alert_id,
                AckChase.school_id == AlertRecipient.school_id,
            ),
        )
        .where(*waiting, or_(AckChase.escalated_at.is_(None), AckChase.alert_id.is_(None)))
        .order_by(AlertRecipient.created_at, AlertRecipient.alert_id, School.name)
        .options(lazyload("*"), joinedload(Alert.sender_school).lazyload("*"))
    ).all()
    if not rows:
        return 0, 0
    by_alert: dict[uuid.UUID, tuple[Alert, list[tuple[School, AckChase | None]]]] = {}
    for alert, school, chased in rows:
        by_alert.setdefault(alert.id, (alert, []))[1].append((school, chased))
    platforms = operations.platform_names(session, {alert.platform for alert, _, _ in rows})
    notices = operations.Chase.of(
        session,
        settings,
        [school.id for _, school, chased in rows if chased is None or chased.reminded_at is None],
    )
    reminded = escalated = 0
    new: list[AckChase] = []
    for alert, copies in by_alert.values():
        # waiting_copies matched it, so it has a rule: the cluster's or the default.
        rule = operations.rule_for(chosen, alert.cluster_id, alert.severity)
        due = rule.due(alert.created_at, tz)
        escalation_due = now >= rule.due(due, tz)
        ref = operations.alert_ref(session, alert, platforms)
        for school, chased in copies:
            remind = chased is None or chased.reminded_at is None
            if remind:
                operations.remind_school(notices, alert, ref, school, due)
                reminded += 1
            # An office: the coordinators were just reminded themselves.
            escalate = school.is_office or escalation_due
            if escalate and not school.is_office:
                operations.escalate_to_coordinators(notices, alert, ref, school, due)
                escalated += 1
            if chased is None:
                new.append(
                    AckChase(
                        alert_id=alert.id,
                        school_id=school.id,
                        reminded_at=now,
                        escalated_at=now if escalate else None,
                    )
                )
            else:
                if remind:
                    chased.reminded_at = now
                if escalate:
                    chased.escalated_at = now
    notices.write(now)
    session.add_all(new)
    session.flush()
    return reminded, escalated


def prune(session: Session, now: datetime) -> int:
    """The delivery log and in-hub notices are kept for DELIVERY_LOG_DAYS."""
    cutoff = now - timedelta(days=DELIVERY_LOG_DAYS)
    result = session.execute(
        delete(Notification).where(
            Notification.created_at < cutoff,
            Notification.status.in_([Status.SENT, Status.DEAD, Status.CANCELLED, Status.DIGESTED]),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- the loop ---------------------------------------------------------------------------


class Worker:
    """Claims and delivers batches; every so often runs the periodic tasks."""

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
        self.concurrency = max(1, concurrency)
        self.batch = max(1, batch)
        self.periodic_seconds = periodic_seconds
        self.maintenance_seconds = maintenance_seconds
        self.stop = threading.Event()
        self.delivered = 0
        self.failed = 0
        self._pool: ThreadPoolExecutor | None = None
        self._listening: Any = None
        self._no_listen = False
        self._last_periodic = -1e18
        self._last_maintenance = -1e18

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self.app.app_context(), own_transaction(self.app) as session:
            yield session

    def deliver_batch(self, now: datetime | None = None) -> int:
        """Claim one batch, send it, settle it; the number claimed."""
        with self._transaction() as session:
            claimed = claim_due(session, self.settings, now or utcnow(), self.batch)
        if not claimed:
            return 0
        if self.concurrency == 1 or len(claimed) == 1:
            outcomes = [deliver(c, self.settings) for c in claimed]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, "alertnet-delivery")
            outcomes = list(self._pool.map(lambda c: deliver(c, self.settings), claimed))
        with self._transaction() as session:
            settle(session, self.settings, outcomes, utcnow() if now is None else now)
        for outcome in outcomes:
            if outcome.error is None:
                self.delivered += 1
            else:
                self.failed += 1
                log.warning("delivery %s failed: %s", outcome.id, outcome.error)
        return len(claimed)

    def drain(self, now: datetime | None = None) -> int:
        """Deliver batches until nothing is due."""
        total = 0
        while not self.stop.is_set():
            claimed = self.deliver_batch(now)
            if not claimed:
                break
            total += claimed
        return total

    def periodic(self, now: datetime | None = None, maintenance: bool = False) -> dict[str, int]:
        now = now or utcnow()
        done: dict[str, int] = {}
        with self._transaction() as session:
            if not _periodic_lock(session):
                return done
            done["digests"] = collect_digests(session, self.settings, now)
            done["reminded"], done["escalated"] = chase_acknowledgements(
                session, self.settings, now
            )
        with self._transaction() as session:
            if _periodic_lock(session):
                done["dashboards"] = snapshots.refresh_defaults(
                    session, now, self.settings.dashboard_max_age
                )
        if maintenance:
            from network.alerts.operations import shred_expired

            with self._transaction() as session:
                if _periodic_lock(session):
                    done["shredded"] = len(shred_expired(session, now))
                    done["pruned"] = prune(session, now)
                    # design.md: expiry deletes the session row, and its key with it.
                    done["sessions_purged"] = accounts.purge_expired_sessions(session)
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
                    heartbeat.beat(self)  # for /readyz and /metrics (network/operations)
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

    def _listener(self) -> Any:
        if self._listening is not None or self._no_listen:
            return self._listening
        url = self.settings.database_url
        if not url.startswith("postgresql"):
            self._no_listen = True
            return None
        try:
            import psycopg
            from sqlalchemy import make_url

            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            connection = psycopg.connect(dsn, autocommit=True)
            connection.execute(f"LISTEN {operations.WAKE_CHANNEL}")
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
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def stop_on_signals(self) -> None:
        def _stop(signum: int, _frame: Any) -> None:
            log.info("signal %s: finishing the current batch, then stopping", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
