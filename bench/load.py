"""Load with faults: 50 clients against the hub while PostgreSQL restarts and a
notification worker is killed.

What runs, all on 127.0.0.1: `alertnet serve` (gunicorn, 2 processes of 8
threads, rate limits in Redis), two `alertnet worker` processes, a PostgreSQL
database the bench creates, an SMTP server and a webhook receiver that count
what they get. Ten schools; five API clients per school (50 in all), each with
a token of its own, post alerts, read the inbox, open alerts, acknowledge them
and reply, with a short random pause between requests. Each head has signed in
once before (their default subscriptions exist).

Half way through, one worker is killed with SIGKILL (a replacement starts) and
PostgreSQL is restarted (``pg_ctlcluster ... restart``). The bench prints the
requests made, the errors (5xx or no answer) before, during and after the
outage, and how long the hub took to answer again; then it checks that
nothing was lost:

- every post answered 2xx is in the database and has its ``alert.posted``
  entry in the audit log;
- every notification was delivered (each webhook and email at least once; a
  repeat of the same ``webhook-id`` or Message-ID, which a receiver drops, is
  counted: it can follow the SIGKILL);
- ``alertnet audit verify`` passes.

The clients' API limit is raised for the bench (each token makes a few
requests a second); every other limit is the hub's own.

Run: ``python bench/load.py [--seconds 60] [--clients 50]
[--database-url postgresql://postgres@127.0.0.1:5432/alertnet_bench_load]``.
It restarts the machine's PostgreSQL cluster: other databases on it see their
connections dropped for a second or two.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _support import fresh_database, make_app  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from crypto.custody import FAST_FOR_TESTS  # noqa: E402
from network.alerts.models import Alert  # noqa: E402
from network.db import own_transaction  # noqa: E402
from network.notifications import operations as notify  # noqa: E402
from network.notifications.models import Channel, Notification, Status  # noqa: E402
from schools import accounts, directory, keyring, tokens  # noqa: E402
from schools.audit.models import AuditEvent  # noqa: E402
from schools.models import Role  # noqa: E402
from tests.network.live_hub import (  # noqa: E402
    REDIS_URL,
    LiveHub,
    free_port,
    live_hub,
    start_worker,
    stop_worker,
)

SECRET_KEY = "bench-load-secret-key"
PASSWORD = "a long enough bench passphrase"
SCHOOLS = 10


# --- what receives the notifications ------------------------------------------------------


@dataclass
class Received:
    webhooks: Counter[str] = field(default_factory=Counter)
    mails: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def webhook_receiver(received: Received) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with received.lock:
                received.webhooks[self.headers.get("webhook-id", "")] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class MailCounter:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        import email

        message = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.received.lock:
            self.received.mails[str(message["Message-ID"])] += 1
        await asyncio.sleep(0)
        return "250 OK"


# --- the schools and their tokens -----------------------------------------------------------


def set_up(app: Any, clients: int, hook_url: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Ten schools with a head each, a webhook per school, and one API token per
    client; returns (token, school id) per client and every school id."""
    settings = app.config["ALERTNET"]
    schools: list[tuple[Any, str]] = []
    with own_transaction(app) as session:
        cluster = directory.create_cluster(session, None, "Load Test Partnership")
        for n in range(SCHOOLS):
            school = directory.admit_school(
                session, None, cluster, f"School {n}", str(200000 + n), "1 High Street"
            )
            email = f"head{n}@school{n}.example.org"
            token = directory.invite(session, None, Role.HEAD, email, "", school=school).token
            directory.accept_invitation(
                session, token, f"Head {n}", PASSWORD, PASSWORD, FAST_FOR_TESTS
            )
            schools.append((school, email))
    made: list[tuple[str, str]] = []
    with own_transaction(app) as session:
        for school, email in schools:
            member, credential = accounts.authenticate(session, email, PASSWORD, FAST_FOR_TESTS)
            keys = keyring.unlock_for_member(session, member, credential)
            # As after the head's first sign-in. (Without it, two alerts reaching a
            # school at once both make its head's defaults, and one gets a 500.)
            notify.ensure_defaults(session, member)
            notify.create_subscription(
                session,
                member,
                notify.SubscriptionDraft(channel="webhook", name="MIS", target=hook_url),
                personal=False,
                settings=settings,
            )
            for c in range(clients // SCHOOLS):
                scopes = ("inbox:read", "alerts:write")
                issued = tokens.create_token(session, member, keys, f"client {c}", scopes, 7)
                made.append((issued.secret_token, str(school.id)))
    return made, [str(school.id) for school, _ in schools]


# --- the clients ---------------------------------------------------------------------------------


@dataclass
class Call:
    action: str
    started: float
    ended: float
    status: int  # 0: no answer
    alert_id: str | None = None


class Client(threading.Thread):
    def __init__(
        self, hub: LiveHub, token: str, school: str, schools: list[str], stop: threading.Event
    ):
        super().__init__(daemon=True)
        self.hub, self.token, self.school, self.stop = hub, token, school, stop
        self.others = [s for s in schools if s != school]
        self.calls: list[Call] = []
        self.seen: list[str] = []
        self.random = random.Random()

    def request(self, action: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        status, answer = 0, None
        try:
            status, _, raw = self.hub.request(method, path, data, headers, timeout=30)
            answer = json.loads(raw) if raw and status < 500 else None
        except (OSError, http.client.HTTPException, ValueError):
            status = 0
        self.calls.append(Call(action, started, time.monotonic(), status))
        return status, answer

    def run(self) -> None:
        while not self.stop.is_set():
            choice = self.random.random()
            if choice < 0.25:
                self.post()
            elif choice < 0.55 or not self.seen:
                self.inbox()
            elif choice < 0.80:
                self.request("read", "GET", f"/api/v1/alerts/{self.random.choice(self.seen)}")
            elif choice < 0.90:
                alert = self.random.choice(self.seen)
                self.request("acknowledge", "POST", f"/api/v1/alerts/{alert}/acknowledge", {})
            else:
                alert = self.random.choice(self.seen)
                self.request(
                    "reply", "POST", f"/api/v1/alerts/{alert}/replies", {"text": "Seen here too."}
                )
            self.stop.wait(self.random.uniform(0.1, 0.5))

    def post(self) -> None:
        body = {
            "category": "staff_named",
            "severity": "high",
            "platform": "facebook",
            "tlp": "AMBER",
            "title": "A page naming two teachers",
            "description": "Posted this morning; screenshots kept.",
            "audience": "schools",
            "schools": self.random.sample(self.others, 3),
        }
        status, answer = self.request("post", "POST", "/api/v1/alerts", body)
        if 200 <= status < 300 and answer:
            self.calls[-1].alert_id = answer["id"]

    def inbox(self) -> None:
        status, answer = self.request("inbox", "GET", "/api/v1/alerts")
        if status == 200 and answer:
            self.seen = [a["id"] for a in answer["alerts"]][:20] or self.seen


# --- the faults ----------------------------------------------------------------------------------


def restart_postgresql() -> float:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True
    )
    return time.monotonic() - started


# --- the run -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/alertnet_bench_load"
    )
    parser.add_argument(
        "--no-faults", action="store_true", help="Neither restart PostgreSQL nor kill a worker."
    )
    args = parser.parse_args()

    url = fresh_database(args.database_url)
    instance = Path(tempfile.mkdtemp(prefix="alertnet-load-"))
    received = Received()
    hooks = webhook_receiver(received)
    smtp_port = free_port()
    smtp = Controller(MailCounter(received), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    smtp_url = f"smtp://127.0.0.1:{smtp_port}"
    hook_url = f"http://127.0.0.1:{hooks.server_address[1]}/hook"
    app = make_app(url, instance, secret_key=SECRET_KEY, webhook_allow_networks=("127.0.0.1/32",))
    clients_tokens, schools = set_up(app, args.clients, hook_url)
    environment = {
        "SECRET_KEY": SECRET_KEY,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "ALERTNET_RATELIMIT_API": "100000 per minute",
        "SMTP_URL": smtp_url,
        "ALERTNET_WEBHOOK_ALLOW": "127.0.0.1/32",
        "ALERTNET_NOTIFY_LEASE": "20",
        "ALERTNET_NOTIFY_BACKOFF": "1",
        "ALERTNET_NOTIFY_BACKOFF_MAX": "5",
        "ALERTNET_LOG_LEVEL": "WARNING",
    }
    print(
        f"{args.clients} clients, {SCHOOLS} schools, {args.seconds:.0f} s; hub: gunicorn "
        "2 processes x 8 threads; 2 workers; PostgreSQL and Redis on 127.0.0.1"
    )
    with live_hub(url, instance, workers=2, threads=8, environment=environment) as live:
        workers = [start_worker(url, instance, environment) for _ in range(2)]
        stop = threading.Event()
        clients = [Client(live, token, school, schools, stop) for token, school in clients_tokens]
        began = time.monotonic()
        for client in clients:
            client.start()
        time.sleep(args.seconds / 2)
        outage_start = time.monotonic()
        restart_seconds = 0.0
        if not args.no_faults:
            workers[0].kill()
            workers.append(start_worker(url, instance, environment))
            restart_seconds = restart_postgresql()
        back = time.monotonic()
        time.sleep(max(0.0, began + args.seconds - time.monotonic()))
        stop.set()
        for client in clients:
            client.join(60)
        drained = wait_for_outbox(app, timeout=180)
        for worker in workers:
            stop_worker(worker)
        hub_log = live.log.read_text()
    smtp.stop()
    hooks.shutdown()

    calls = [call for client in clients for call in client.calls]
    report(calls, began, outage_start, back, restart_seconds)
    ok = check(app, calls, received, drained, url, instance, environment)
    tracebacks = hub_log.count("Traceback")
    print(
        f"hub log: {tracebacks} tracebacks (during the outage, each a request it could not serve)"
    )
    return 0 if ok else 1


def wait_for_outbox(app: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with own_transaction(app) as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.status.in_([Status.PENDING, Status.SENDING]))
            )
        if not waiting:
            return True
        time.sleep(1)
    return False


def is_error(call: Call) -> bool:
    return call.status == 0 or call.status >= 500


def report(calls: list[Call], began: float, outage: float, back: float, restart: float) -> None:
    errors = [c for c in calls if is_error(c)]
    # Recovered: from then on no request failed (the start of the last failing one
    # touching the outage, or the restart's end if none failed).
    touching = [c for c in errors if c.ended >= outage]
    recovered = max([back, *(c.started for c in touching)])
    before = [c for c in errors if c.ended < outage]
    during = [c for c in touching if c.started <= recovered]
    after = [c for c in errors if c.started > recovered]
    statuses = Counter(c.status for c in calls)
    by_action = Counter(c.action for c in calls)
    actions = ", ".join(f"{a} {n:,}" for a, n in sorted(by_action.items()))
    print(f"requests: {len(calls):,} ({actions})")
    print(f"  by status: {dict(sorted(statuses.items()))}")
    elapsed = max(c.ended for c in calls) - began
    took = sorted(c.ended - c.started for c in calls)
    median, p95 = statistics.median(took), took[int(0.95 * (len(took) - 1))]
    print(
        f"  throughput: {len(calls) / elapsed:.1f} requests/s; latency median "
        f"{median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    print(f"PostgreSQL restart took {restart:.2f} s, from {outage - began:.1f} s into the run")
    print(
        f"time to recover: {recovered - outage:.2f} s from the restart's start until no request "
        f"failed any more ({max(0.0, recovered - back):.2f} s after PostgreSQL was back)"
    )
    print(
        f"errors (5xx or no answer): before the outage {len(before)}, during {len(during)}, "
        f"after recovery {len(after)}"
    )
    for call in during[:10]:
        print(
            f"  during: {call.action} {call.status or 'no answer'} at {call.started - began:.1f} s"
        )
    for call in after[:10]:
        print(
            f"  after: {call.action} {call.status or 'no answer'} at {call.started - began:.1f} s"
        )


def check(
    app: Any,
    calls: list[Call],
    received: Received,
    drained: bool,
    url: str,
    instance: Path,
    environment: dict[str, str],
) -> bool:
    posted = {uuid.UUID(c.alert_id) for c in calls if c.action == "post" and c.alert_id}
    with own_transaction(app) as session:
        stored = set(session.scalars(select(Alert.id).where(Alert.id.in_(posted))))
        audited = set(
            session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "alert.posted"))
        )
        rows = session.execute(
            select(Notification.id, Notification.channel, Notification.status)
        ).all()
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    lost = posted - stored
    unaudited = {a for a in posted if str(a) not in audited}
    print(
        f"posts answered 2xx: {len(posted):,}; missing from the database: {len(lost)}; "
        f"without their audit entry: {len(unaudited)}"
    )
    statuses = Counter(status for _, _, status in rows)
    print(f"notifications: {dict(statuses)}; outbox drained: {drained}")
    webhooks = [row for row in rows if row.channel == Channel.WEBHOOK and row.status == Status.SENT]
    emails = [row for row in rows if row.channel == Channel.EMAIL and row.status == Status.SENT]
    missing_hooks = [r for r in webhooks if received.webhooks[f"msg_{r.id.hex}"] == 0]
    repeated_hooks = sum(n - 1 for n in received.webhooks.values() if n > 1)
    repeated_mails = sum(n - 1 for n in received.mails.values() if n > 1)
    mails_ok = len(received.mails) == len(emails)
    print(
        f"webhooks sent: {len(webhooks):,}, received {len(received.webhooks):,} distinct "
        f"(missing {len(missing_hooks)}, repeated {repeated_hooks}); emails sent "
        f"{len(emails):,}, received {len(received.mails):,} distinct (repeated {repeated_mails})"
    )
    verify = subprocess.run(
        [sys.executable, "-m", "network", "audit", "verify"],
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": url,
            "ALERTNET_INSTANCE": str(instance),
            "SECRET_KEY": environment["SECRET_KEY"],
            "HOME": str(instance),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    said = (verify.stdout + verify.stderr).strip()
    print(f"alertnet audit verify: exit {verify.returncode}: {said}")
    gap_free = seqs == list(range(len(seqs)))
    print(f"audit sequence numbers gap-free: {gap_free}")
    dead_or_waiting = (
        statuses.get(Status.DEAD, 0)
        + statuses.get(Status.PENDING, 0)
        + statuses.get(Status.SENDING, 0)
    )
    return (
        not lost
        and not unaudited
        and drained
        and not missing_hooks
        and mails_ok
        and dead_or_waiting == 0
        and verify.returncode == 0
        and gap_free
    )


if __name__ == "__main__":
    raise SystemExit(main())
