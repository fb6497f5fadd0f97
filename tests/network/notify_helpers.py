"""A real SMTP server and a real webhook receiver on 127.0.0.1, and subscribing
through the pages, for the notification tests. The fixtures (``smtp``,
``receiver``, ``cluster``, ``pair``) live in tests/network/conftest.py and
``app`` in tests/conftest.py; they are imported here too, so modules that
import them from here keep working."""

from __future__ import annotations

import email
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select
from standardwebhooks import Webhook

import tests.conftest as _root
import tests.network.conftest as _shared
from network.db import own_transaction
from network.notifications.models import Notification, Status, Subscription
from network.worker import Worker
from schools.audit.models import AuditEvent
from tests.conftest import app_with, mail_settings, settings_for_tests
from tests.network.alerts_helpers import Head, integrate_queued_reads
from tests.network.live_hub import free_port

SECRET_ON_PAGE = re.compile(r"<code>(whsec_[A-Za-z0-9+/=]+)</code>")


# --- SMTP ------------------------------------------------------------------------------


@dataclass
class Mail:
    to: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.server.lock:
            self.server.attempts += 1
            if self.server.refuse > 0:
                self.server.refuse -= 1
                return "451 4.3.0 Try again later"
            raw = bytes(envelope.original_content or envelope.content)
            parsed = email.message_from_bytes(raw, policy=default_policy)
            assert isinstance(parsed, EmailMessage)
            self.server.mails.append(Mail(list(envelope.rcpt_tos), parsed, raw))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    refuse: int = 0
    attempts: int = 0
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.to]

    def recipients(self) -> list[str]:
        return sorted(r for m in self.mails for r in m.to)


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 that keeps what it is sent (the ``smtp`` fixture)."""
    server = SmtpServer(free_port())
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# --- webhooks ------------------------------------------------------------------------------


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> Any:
        """As a receiver would: standardwebhooks checks signature and timestamp."""
        return Webhook(secret).verify(self.body, self.headers)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int
    deliveries: list[Delivery] = field(default_factory=list)
    # Statuses to answer with, in order; 200 once they run out.
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    # While set, requests are recorded and then held until it is cleared.
    hold: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ids(self) -> list[str]:
        return [d.id for d in self.deliveries]

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while len(self.deliveries) < count:
            assert time.monotonic() < end, f"only {len(self.deliveries)} of {count} deliveries"
            time.sleep(0.02)


def _make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.deliveries.append(
                    Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            if receiver.hold.is_set():
                receiver.released.wait(30)
            if receiver.delay:
                time.sleep(receiver.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the worker was killed while we held its request

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (the ``receiver`` fixture)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(Receiver(0)))
    hook = Receiver(int(server.server_address[1]))
    server.RequestHandlerClass = _make_handler(hook)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- the app -------------------------------------------------------------------------------


def notify_settings(tmp_path: Path, database_url: str, smtp_url: str, **overrides: Any) -> Any:
    values = {**mail_settings(smtp_url), **overrides}
    return settings_for_tests(tmp_path, database_url, **values)


def make_notify_app(tmp_path: Path, database_url: str, smtp_url: str, **overrides: Any) -> Flask:
    """A hub like the ``app`` fixture's with a mail server, plus overrides."""
    return app_with(database_url, tmp_path, **{**mail_settings(smtp_url), **overrides})


def deliver_all(app: Flask, *, now: Any = None, timeout: float = 20.0) -> Worker:
    """Run a worker until nothing is pending or being sent (retries included)."""
    worker = Worker(app, concurrency=2)
    end = time.monotonic() + timeout
    try:
        while True:
            worker.drain(now)
            with own_transaction(app) as session:
                waiting = session.scalars(
                    select(Notification.id).where(
                        Notification.status.in_([Status.PENDING, Status.SENDING])
                    )
                ).all()
            if not waiting:
                return worker
            assert time.monotonic() < end, f"{len(waiting)} notifications still waiting"
            time.sleep(0.02)
    finally:
        worker.close()


def notifications(app: Flask, *where: Any) -> list[Notification]:
    with own_transaction(app) as session:
        return list(
            session.scalars(select(Notification).where(*where).order_by(Notification.created_at))
        )


def actions(app: Flask) -> list[str]:
    """The audit log's actions, oldest first (queued reads integrated first)."""
    integrate_queued_reads(app)
    with own_transaction(app) as session:
        return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


# --- subscribing through the pages ------------------------------------------------------------


def subscriptions_of(
    app: Flask, member_id: uuid.UUID | None = None, school_id: uuid.UUID | None = None
) -> list[Subscription]:
    with own_transaction(app) as session:
        query = select(Subscription).order_by(Subscription.created_at)
        if member_id is not None:
            query = query.where(Subscription.owner_id == member_id)
        if school_id is not None:
            query = query.where(
                Subscription.school_id == school_id, Subscription.owner_id.is_(None)
            )
        return list(session.scalars(query))


def subscribe(head: Head, *, school: bool = False, **fields: Any) -> Any:
    data = {
        "name": "",
        "channel": "email",
        "min_severity": "info",
        "timing": "immediate",
        "digest_time": "07:30",
    }
    data.update(fields)
    url = "/notifications/subscriptions/new" + ("?for=school" if school else "")
    return head.post(url, data)


def webhook(head: Head, receiver: Receiver, **fields: Any) -> str:
    response = subscribe(head, school=True, channel="webhook", target_url=receiver.url(), **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(response.get_data(as_text=True))
    assert secret, "the secret is shown once"
    return secret.group(1)


# The fixtures, still importable from here (see the module's docstring).
app = _root.app
cluster, pair, receiver, smtp = _shared.cluster, _shared.pair, _shared.receiver, _shared.smtp
