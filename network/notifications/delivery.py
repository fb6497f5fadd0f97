"""Delivering the outbox: email by SMTP, webhooks by signed HTTP POST, with
retries, exponential backoff and a dead-letter state. The worker
(network/worker.py) runs a Courier in its loop.

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

import dataclasses
import logging
import random
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from network.alerts.deadlines import local_zone
from network.notifications import mail, render, webhooks
from network.notifications.models import Channel, Notification, Status, Subscription
from network.notifications.subscriptions import subscriptions_of_notifications
from network.settings import Settings
from schools import audit
from schools.db import utcnow

log = logging.getLogger("alertnet.worker")

#: Opens one transaction: committed when the block ends, rolled back on an error.
Transaction = Callable[[], AbstractContextManager[Session]]


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
    subscriptions = subscriptions_of_notifications(session, rows)
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
        subscription = subscriptions.get(row.subscription_id) if row.subscription_id else None
        claimed.append(_prepare(row, subscription, settings, token, now))
    session.flush()
    return claimed


def _prepare(
    row: Notification,
    subscription: Subscription | None,
    settings: Settings,
    token: str,
    now: datetime,
) -> Claimed:
    """Render while the app context is at hand; the sending threads need none."""
    base = settings.public_url
    claimed = Claimed(row.id, token, row.channel, row.target, row.attempts)
    try:
        if row.channel == Channel.EMAIL:
            if not row.target:
                return dataclasses.replace(claimed, problem="no email address")
            message = render.email(
                notification_id=str(row.id),
                payload=row.payload,
                to=row.target,
                subscription_id=str(subscription.id) if subscription else None,
                subscription_name=subscription.name if subscription else "",
                base=base,
                mail_from=settings.mail_from,
                tz=local_zone(settings),
            )
            return dataclasses.replace(claimed, email=message)
        if row.channel == Channel.WEBHOOK:
            if subscription is None or subscription.secret is None or not row.target:
                return dataclasses.replace(claimed, problem="the webhook subscription was deleted")
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
            return dataclasses.replace(claimed, body=body, secrets=tuple(live))
    except webhooks.DeliveryError as error:
        return dataclasses.replace(claimed, problem=str(error))
    return dataclasses.replace(claimed, problem=f"cannot deliver by {row.channel}")


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


# --- batches ---------------------------------------------------------------------------


class Courier:
    """Delivers due notifications a batch at a time: claims them in one
    transaction, sends them in up to ``concurrency`` threads, settles them in
    another. Counts what it delivered and what failed."""

    def __init__(
        self, transaction: Transaction, settings: Settings, *, concurrency: int, batch: int
    ) -> None:
        self.transaction = transaction
        self.settings = settings
        self.concurrency = max(1, concurrency)
        self.batch = max(1, batch)
        self.delivered = 0
        self.failed = 0
        self._pool: ThreadPoolExecutor | None = None

    def deliver_batch(self, now: datetime | None = None) -> int:
        """Claim one batch, send it, settle it; the number claimed."""
        with self.transaction() as session:
            claimed = claim_due(session, self.settings, now or utcnow(), self.batch)
        if not claimed:
            return 0
        outcomes = self._send(claimed)
        with self.transaction() as session:
            settle(session, self.settings, outcomes, utcnow() if now is None else now)
        for outcome in outcomes:
            if outcome.error is None:
                self.delivered += 1
            else:
                self.failed += 1
                log.warning("delivery %s failed: %s", outcome.id, outcome.error)
        return len(claimed)

    def _send(self, claimed: list[Claimed]) -> list[Outcome]:
        if self.concurrency == 1 or len(claimed) == 1:
            return [deliver(c, self.settings) for c in claimed]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, "alertnet-delivery")
        return list(self._pool.map(lambda c: deliver(c, self.settings), claimed))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
