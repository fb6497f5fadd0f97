"""Notification delivery against its unavoidable part, measured in one run.

A real SMTP server (aiosmtpd) and a real webhook receiver run on 127.0.0.1;
real ``alertnet worker`` processes deliver from the outbox. The script prints

- the baseline: one bare ``smtplib`` send and one bare ``http.client`` POST on
  loopback (a fresh connection each, as the worker does);
- latency from the commit of an outbox row to its receipt (median, p95),
  rows committed one at a time while the workers idle;
- deliveries per second when a burst of rows is committed at once, with one
  and with two workers;

and the ratios between them. Half the deliveries are emails, half signed
webhooks. On SQLite an idle worker looks at the outbox every poll interval
(ALERTNET_WORKER_POLL; the bench uses --poll), which bounds the latency; on
PostgreSQL the committing transaction wakes it at once (LISTEN/NOTIFY).

Run: ``python bench/notify.py [--burst 400] [--latency 40] [--poll 0.2]
[--database-url postgresql://...]`` (default: SQLite in a temporary folder;
a PostgreSQL URL names a database the bench drops and re-creates).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import insert, make_url  # noqa: E402

from network import create_app  # noqa: E402
from network.db import own_transaction  # noqa: E402
from network.migrate import upgrade  # noqa: E402
from network.notifications import outbox, webhooks  # noqa: E402
from network.notifications.models import Notification, Subscription  # noqa: E402
from network.settings import Settings  # noqa: E402
from schools.db import utcnow  # noqa: E402
from schools.models import Cluster, School  # noqa: E402

SECRET_KEY = "bench-secret-key"


class Receipts:
    """Arrival time of every delivery, by notification id."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    def record(self, notification_id: str) -> None:
        now = time.time()
        with self.arrived:
            self.at.setdefault(notification_id, now)
            self.arrived.notify_all()

    def wait(self, ids: set[str], timeout: float) -> None:
        end = time.monotonic() + timeout
        with self.arrived:
            while not ids <= self.at.keys():
                left = end - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"only {len(ids & self.at.keys())} of {len(ids)} arrived")
                self.arrived.wait(left)


class _Smtp:
    def __init__(self, receipts: Receipts) -> None:
        self.receipts = receipts

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        for line in bytes(envelope.content).split(b"\r\n"):
            if line.startswith(b"X-Alertnet-Notification: "):
                self.receipts.record(line.split(b": ", 1)[1].decode())
                break
        else:
            self.receipts.record("bare-" + uuid.uuid4().hex)
        return "250 OK"


def _http_handler(receipts: Receipts) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            msg_id = self.headers.get("webhook-id", "bare-" + uuid.uuid4().hex)
            receipts.record(msg_id.removeprefix("msg_"))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_database(url: str | None) -> str:
    if not url:
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix='alertnet-bench-')) / 'bench.db'}"
    import psycopg

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    return parsed.render_as_string(hide_password=False)


# --- the baseline ----------------------------------------------------------------------


def timings(action: Callable[[], object], repetitions: int) -> list[float]:
    for _ in range(3):
        action()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def bare_smtp(port: int) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@hub.test", "b@school.test", "x"
    message.set_content("bare send")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def bare_post(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST", "/hook", body=b'{"bare":true}', headers={"Content-Type": "application/json"}
        )
        connection.getresponse().read()
    finally:
        connection.close()


# --- the hub's side ----------------------------------------------------------------------


def prepare(database_url: str, instance: Path, smtp_port: int, http_port: int) -> Any:
    settings = Settings(
        instance_path=instance,
        database_url=database_url,
        secret_key=SECRET_KEY,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        webhook_allow_networks=("127.0.0.1/32",),
    ).resolved()
    app = create_app(settings)
    upgrade(app)
    with own_transaction(app) as session:
        cluster = Cluster(name="Bench cluster")
        session.add(cluster)
        session.flush()
        school = School(cluster_id=cluster.id, name="Bench School", urn="999999")
        session.add(school)
        session.flush()
        hook = Subscription(
            id=uuid.uuid4(),
            school_id=school.id,
            channel="webhook",
            target=f"http://127.0.0.1:{http_port}/hook",
            categories=[],
            sender_school_ids=[],
        )
        hook.secret = webhooks.seal_secret(SECRET_KEY, webhooks.new_secret(), str(hook.id))
        mail = Subscription(
            id=uuid.uuid4(),
            school_id=school.id,
            channel="email",
            target="dsl@school.test",
            categories=[],
            sender_school_ids=[],
        )
        session.add_all([hook, mail])
        session.flush()
        ids = {"school": school.id, "hook": hook.id, "mail": mail.id, "name": school.name}
    return app, ids


def _payload(ids: dict[str, Any]) -> dict[str, Any]:
    alert = str(uuid.uuid4())
    return {
        "type": "alert.received",
        "alert": {
            "id": alert,
            "category": "staff_named",
            "category_label": "Staff named or discussed",
            "severity": "high",
            "severity_label": "High",
            "platform": "facebook",
            "platform_label": "Facebook",
            "sender_school": {"id": str(uuid.uuid4()), "name": "Oakfield Primary School"},
            "created_at": utcnow().isoformat(),
            "path": f"/alerts/{alert}",
        },
        "school": {"id": str(ids["school"]), "name": ids["name"]},
        "subscription": {"id": str(ids["hook"]), "name": ""},
        "path": f"/alerts/{alert}",
    }


def commit_rows(app: Any, ids: dict[str, Any], count: int) -> tuple[set[str], float]:
    """Commit ``count`` outbox rows (alternately email and webhook) in one transaction."""
    now = utcnow()
    rows = []
    for i in range(count):
        webhook = i % 2 == 0
        rows.append(
            {
                "id": uuid.uuid4(),
                "event": "alert.received",
                "channel": "webhook" if webhook else "email",
                "status": "pending",
                "priority": 3,
                "school_id": ids["school"],
                "subscription_id": ids["hook"] if webhook else ids["mail"],
                "target": f"http://127.0.0.1:{app.config['BENCH_HTTP']}/hook"
                if webhook
                else "dsl@school.test",
                "payload": _payload(ids),
                "created_at": now,
                "due_at": now,
                "attempts": 0,
            }
        )
    with own_transaction(app) as session:
        session.execute(insert(Notification), rows)
        outbox.wake_workers(session)  # as the hub's fan-out does
    committed = time.time()
    return {r["id"].hex if r["channel"] == "webhook" else str(r["id"]) for r in rows}, committed


def start_workers(app: Any, count: int, poll: float, smtp_port: int) -> list[Any]:
    settings = app.config["ALERTNET"]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": SECRET_KEY,
        "ALERTNET_INSTANCE": str(settings.instance_path),
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "ALERTNET_WEBHOOK_ALLOW": "127.0.0.1/32",
        "ALERTNET_WORKER_POLL": str(poll),
        "ALERTNET_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "network", "worker", "--concurrency", "4", "--batch", "20"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop_workers(workers: list[Any]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=400, help="rows committed at once")
    parser.add_argument("--latency", type=int, default=40, help="rows committed one by one")
    parser.add_argument("--poll", type=float, default=0.2, help="workers' idle poll (s)")
    parser.add_argument("--database-url", default=os.environ.get("ALERTNET_BENCH_DATABASE_URL"))
    args = parser.parse_args()

    receipts = Receipts()
    smtp_port = _free_port()
    smtp = Controller(_Smtp(receipts), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _http_handler(receipts))
    http.daemon_threads = True
    http_port = int(http.server_address[1])
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        database_url = fresh_database(args.database_url)
        instance = Path(tempfile.mkdtemp(prefix="alertnet-bench-instance-"))
        app, ids = prepare(database_url, instance, smtp_port, http_port)
        app.config["BENCH_HTTP"] = http_port
        database = make_url(database_url).get_backend_name()

        smtp_cost = statistics.median(timings(lambda: bare_smtp(smtp_port), 200))
        post_cost = statistics.median(timings(lambda: bare_post(http_port), 200))
        bare = (smtp_cost + post_cost) / 2

        print(
            f"alertnet notification delivery on {database}, worker poll {args.poll * 1000:.0f} ms"
        )
        print(f"  bare SMTP send (loopback, new connection)   {smtp_cost * 1000:8.2f} ms")
        print(f"  bare HTTP POST (loopback, new connection)   {post_cost * 1000:8.2f} ms")
        print(f"  mean of the two (the unavoidable part)      {bare * 1000:8.2f} ms")

        for workers_count in (1, 2):
            workers = start_workers(app, workers_count, args.poll, smtp_port)
            try:
                time.sleep(3.0)  # start-up: imports, first poll, periodic tasks
                latencies = []
                for _ in range(args.latency):
                    sent, committed = commit_rows(app, ids, 1)
                    receipts.wait(sent, 60)
                    latencies.append(receipts.at[next(iter(sent))] - committed)
                    time.sleep(random.uniform(0, args.poll))  # anywhere in the poll cycle
                sent, committed = commit_rows(app, ids, args.burst)
                receipts.wait(sent, 600)
                elapsed = max(receipts.at[i] for i in sent) - committed
            finally:
                stop_workers(workers)
            median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
            rate = args.burst / elapsed
            per_delivery = elapsed / args.burst
            print(
                f"\n  {workers_count} worker{'s' if workers_count > 1 else ''} "
                "(each --concurrency 4 --batch 20)"
            )
            print(
                f"    commit -> receipt, median   {median * 1000:8.1f} ms   "
                f"({median / bare:6.1f}x a bare send)"
            )
            print(
                f"    commit -> receipt, p95      {p95 * 1000:8.1f} ms   "
                f"({p95 / bare:6.1f}x a bare send)"
            )
            print(
                f"    burst of {args.burst}: {rate:8.1f} deliveries/s, "
                f"{per_delivery * 1000:.2f} ms each ({per_delivery / bare:.2f}x a bare send; "
                f"bare sends one after another: {1 / bare:.0f}/s)"
            )
        app.extensions["alertnet.db"].kw["bind"].dispose()
    finally:
        http.shutdown()
        http.server_close()
        smtp.stop()


if __name__ == "__main__":
    main()
