"""The JSON API under load: posts per second to 30 schools and inbox reads per
second, through gunicorn, beside a bare Flask endpoint doing one indexed query
under the same gunicorn, in the same run.

The hub runs under gunicorn (gthread) on PostgreSQL (or SQLite), in a freshly created
database. Concurrent clients (threads of this process, each with its own
keep-alive connection) call, for a fixed time each:

- first views: each of 29 schools' tokens lists its whole inbox of 200 alerts
  for the first time, page after page (every title verified in full: a
  decapsulation and a hybrid signature check each, and a read record written);
- baseline: ``GET /bare/school?id=...``, a plain Flask app mounted beside the
  hub in the same gunicorn workers: one primary-key lookup, no hub middleware;
- inbox: ``GET /api/v1/alerts`` with a token, its 25 titles opened before
  (from the school's read records);
- a post's inserts: ``POST /bare/post``, the bare app storing what a post to 31
  schools cannot avoid storing, in one transaction (bench/_api_floors.py);
- post: ``POST /api/v1/alerts`` to the 30 other schools of the cluster (sealed
  to 31 recipients with the sender's own school, signed, audited, committed).

It prints requests per second, median and p95 latency, the ratio of the
baseline's throughput to each scenario's, and the server's CPU time per request
(gunicorn's processes, from /proc) beside the baseline's: on a machine shared
with other jobs the throughput moves with their load, the CPU time much less.
Then each API figure against its floor: the inbox against the baseline; first
views against 25 x (decapsulation + hybrid verify), timed in this process, plus
the baseline; the post against 31 wraps and a hybrid signature, timed in this
process, plus the bare inserts. Last, the inbox's readers against one worker
(a gunicorn of its own, same threads): the throughput two workers add.

Run: ``python bench/api.py --database-url postgresql://postgres@127.0.0.1:5432/alertnet_bench_api``
(the database is dropped and created afresh; ``--database-url sqlite`` for a new
SQLite file) ``[--clients 8] [--seconds 10] [--workers 2] [--threads 4]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import _api_floors
from _support import bench_settings, fresh_database, table

HERE = Path(__file__).resolve().parent
SCHOOLS = 30
INBOX_SIZE = 200
PASSWORD = "bench passphrase 1234"


# --- the app gunicorn serves (imported by each worker) ------------------------------------


def _settings() -> Any:
    return bench_settings(
        os.environ["BENCH_DATABASE_URL"], Path(os.environ["BENCH_INSTANCE"]), log_level="WARNING"
    )


def bench_app() -> Any:
    """The hub at /, and a bare Flask app at /bare: one indexed query, nothing else."""
    from flask import Flask, request
    from sqlalchemy import text
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from network import create_app
    from schools.db import make_engine

    hub = create_app(_settings())
    bare = Flask("bare")
    engine = make_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)

    sqlite = engine.dialect.name == "sqlite"

    @bare.get("/school")
    def school() -> Any:
        school_id = request.args["id"]
        with engine.connect() as connection:
            name = connection.execute(
                text("SELECT name FROM schools WHERE id = :id"),
                # SQLite keeps a UUID as its 32 hex digits.
                {"id": uuid.UUID(school_id).hex if sqlite else school_id},
            ).scalar_one()
        return {"name": name}

    @bare.post("/post")
    def bare_post() -> Any:
        with engine.begin() as connection:
            _api_floors.insert_post(connection, SCHOOLS + 1)
        return {"posted": True}, 201

    hub.wsgi_app = DispatcherMiddleware(hub.wsgi_app, {"/bare": bare})  # type: ignore[method-assign]
    return hub


# --- setting up -----------------------------------------------------------------------------


def build(app: Any) -> dict[str, Any]:
    """A cluster: the sender, a reader and 29 more schools, each with a head
    and a token; 200 alerts posted by the sender to all of them."""
    from network.alerts import posting
    from network.alerts.content import AlertContent
    from network.db import own_transaction
    from schools import accounts, directory, invitations, keyring, tokens
    from schools.models import Role

    params = app.config["ALERTNET"].password_params
    heads = {}
    with own_transaction(app) as session:
        cluster = directory.create_cluster(session, None, "Bench cluster")
        # Every school has a head (their acceptance makes its keys): each
        # recipient's token lists its inbox for the first time (first views).
        named = [("Sender", "800000"), ("Reader", "800001")] + [
            (f"School {number:03d}", f"{810000 + number}") for number in range(SCHOOLS - 1)
        ]
        for name, urn in named:
            school = directory.admit_school(session, None, cluster, name, urn, "")
            invited = invitations.invite(
                session, None, Role.HEAD, f"head@{urn}.example.org", school=school
            )
            heads[name] = invitations.accept_invitation(
                session, invited.token, f"{name} Head", PASSWORD, PASSWORD, params
            ).member.email
        baseline_school = str(school.id)

    def unlocked(session: Any, email: str) -> tuple[Any, Any]:
        member, credential = accounts.authenticate(session, email, PASSWORD, params)
        return member, keyring.unlock_for_member(session, member, credential)

    issued = {}
    for name, email in heads.items():
        with own_transaction(app) as session:
            member, keys = unlocked(session, email)
            issued[name] = tokens.create_token(
                session, member, keys, "bench", ["inbox:read", "alerts:write"], 30
            ).secret_token
    with own_transaction(app) as session:
        member, keys = unlocked(session, heads["Sender"])
        for number in range(INBOX_SIZE):
            posting.post_alert(
                session,
                member,
                keys,
                posting.AlertDraft(
                    "harassment",
                    "high",
                    "instagram",
                    "AMBER",
                    AlertContent(f"Seeded alert {number}", "x" * 500),
                    "cluster",
                ),
            )
    return {"tokens": issued, "baseline_school": baseline_school}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_gunicorn(url: str, instance: Path, workers: int, threads: int) -> tuple[Any, int]:
    port = _free_port()
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": url,
        "BENCH_INSTANCE": str(instance),
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "api:bench_app()",
            "--chdir",
            str(HERE),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


# --- load -------------------------------------------------------------------------------------


def server_cpu_seconds(master: int) -> float | None:
    """User and system CPU time of gunicorn's master and workers so far (Linux
    /proc; None elsewhere): what the server spent, whatever else loads the
    machine (the clients, the database, other jobs)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state, ppid, ..., utime (14th field) and stime (15th).
        if int(entry) == master or int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def drive(
    port: int,
    clients: int,
    seconds: float,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    expected: int,
) -> dict[str, Any]:
    """``clients`` threads, each on its own keep-alive connection, for ``seconds``."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        bad: list[int] = []
        start.wait()
        while time.monotonic() < stop_at[0]:
            began = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            if response.status != expected:
                bad.append(response.status)
        connection.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    return _summary(latencies, time.monotonic() - began, failures)


def _summary(latencies: list[float], elapsed: float, failures: list[int]) -> dict[str, Any]:
    """Requests, their rate, median and p95 latency (ms), and the failures."""
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "per_second": len(ordered) / elapsed,
        "median_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000
        if ordered
        else 0.0,
        "failures": failures,
    }


def walk_first_views(port: int, clients: int, tokens: list[str]) -> dict[str, Any]:
    """Each token's inbox listed for the first time, page after page (``next``):
    every title on a page verified in full and a read record written."""
    queue = list(tokens)
    latencies: list[float] = []
    titles: list[int] = []
    failures: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                token = queue.pop()
            path: str | None = "/api/v1/alerts"
            while path:
                began = time.perf_counter()
                connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                response = connection.getresponse()
                page = json.loads(response.read())
                with lock:
                    latencies.append(time.perf_counter() - began)
                    if response.status != 200:
                        failures.append(response.status)
                        break
                    titles.append(sum(1 for row in page["alerts"] if row["title"]))
                path = page["next"]
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        **_summary(latencies, time.monotonic() - began, failures),
        "titles": statistics.mean(titles) if titles else 0.0,
    }


def _measured(process: Any, run: Any) -> dict[str, Any]:
    """``run()``'s figures and the server's CPU time per request during it."""
    cpu_before = server_cpu_seconds(process.pid)
    measured: dict[str, Any] = run()
    cpu_after = server_cpu_seconds(process.pid)
    measured["cpu_ms"] = (
        (cpu_after - cpu_before) * 1000 / max(1, measured["requests"])
        if cpu_before is not None and cpu_after is not None
        else float("nan")
    )
    if measured["failures"]:
        raise SystemExit(f"unexpected statuses {set(measured['failures'])}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/alertnet_bench_api",
        help="A PostgreSQL URL (the database it names is dropped and created afresh), "
        "or 'sqlite' for a new SQLite file.",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if args.database_url != "sqlite" and not args.database_url.startswith("postgresql"):
        raise SystemExit("--database-url: postgresql://... or sqlite (a new file)")
    load_before = os.getloadavg()[0]

    from network import create_app
    from network.db import engine
    from network.migrate import upgrade

    url = fresh_database(None if args.database_url == "sqlite" else args.database_url)
    instance = Path(tempfile.mkdtemp(prefix="alertnet-bench-api-"))
    os.environ.update(BENCH_DATABASE_URL=url, BENCH_INSTANCE=str(instance))
    app = create_app(_settings())
    upgrade(app)
    print(f"Setting up: {SCHOOLS + 1} schools, {INBOX_SIZE} alerts in every inbox ...")
    built = build(app)
    _api_floors.metadata.create_all(engine(app))
    engine(app).dispose()
    print("Timing the raw crypto ...")
    crypto = _api_floors.crypto_ms(SCHOOLS + 1)

    sender = {
        "Authorization": f"Bearer {built['tokens']['Sender']}",
        "Content-Type": "application/json",
    }
    reader = {"Authorization": f"Bearer {built['tokens']['Reader']}"}
    post_body = json.dumps(
        {
            "category": "harassment",
            "severity": "high",
            "platform": "instagram",
            "title": "Bench alert",
            "description": "x" * 1000,
            "audience": "cluster",
        }
    ).encode()
    first_view_tokens = [
        token for name, token in built["tokens"].items() if name not in ("Sender", "Reader")
    ]
    get_label = "GET /api/v1/alerts (25 titles opened before)"
    scenarios: list[tuple[str, str, str, dict[str, str], bytes | None, int]] = [
        (
            "baseline: bare Flask, 1 indexed query",
            "GET",
            f"/bare/school?id={built['baseline_school']}",
            {},
            None,
            200,
        ),
        (get_label, "GET", "/api/v1/alerts", reader, None, 200),
        ("bare Flask: a post's inserts", "POST", "/bare/post", {}, b"", 201),
        (
            f"POST /api/v1/alerts ({SCHOOLS} schools)",
            "POST",
            "/api/v1/alerts",
            sender,
            post_body,
            201,
        ),
    ]

    def steady(
        port: int, method: str, path: str, headers: dict[str, str], body: Any, expected: int
    ) -> Any:
        drive(port, args.clients, 2.0, method, path, headers, body, expected)  # warm up
        return lambda: drive(
            port, args.clients, args.seconds, method, path, headers, body, expected
        )

    results: dict[str, dict[str, Any]] = {}
    process, port = start_gunicorn(url, instance, args.workers, args.threads)
    try:
        # First views before anything else lists those inboxes.
        results["GET /api/v1/alerts (first views)"] = _measured(
            process, lambda: walk_first_views(port, args.clients, first_view_tokens)
        )
        for label, method, path, headers, body, expected in scenarios:
            results[label] = _measured(process, steady(port, method, path, headers, body, expected))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    # The same readers against one worker: what a second worker adds.
    process, port = start_gunicorn(url, instance, 1, args.threads)
    try:
        one_worker = _measured(process, steady(port, "GET", "/api/v1/alerts", reader, None, 200))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    baseline = results["baseline: bare Flask, 1 indexed query"]
    database = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(
        f"\ngunicorn gthread, {args.workers} workers x {args.threads} threads; "
        f"{args.clients} clients for {args.seconds:.0f} s each; {database}; "
        f"{os.cpu_count()} CPUs shared by server and clients; load average before "
        f"{load_before:.1f}, after {os.getloadavg()[0]:.1f}\n"
    )
    print(
        table(
            [
                "scenario",
                "requests",
                "per second",
                "median ms",
                "p95 ms",
                "baseline/this",
                "server CPU ms/req",
                "CPU this/baseline",
            ],
            [
                [
                    label,
                    r["requests"],
                    r["per_second"],
                    r["median_ms"],
                    r["p95_ms"],
                    baseline["per_second"] / r["per_second"],
                    r["cpu_ms"],
                    r["cpu_ms"] / baseline["cpu_ms"],
                ]
                for label, r in results.items()
            ],
        )
    )
    first = results["GET /api/v1/alerts (first views)"]
    post = results[f"POST /api/v1/alerts ({SCHOOLS} schools)"]
    inserts = results["bare Flask: a post's inserts"]
    page = round(first["titles"])
    first_floor = page * (crypto["decapsulation"] + crypto["verify"]) + baseline["cpu_ms"]
    post_floor = crypto["wraps"] + crypto["sign"] + inserts["cpu_ms"]
    two = results[get_label]
    print(
        f"\nRaw crypto (CPU ms, medians in this process): decapsulation "
        f"{crypto['decapsulation']:.3f}, hybrid verify {crypto['verify']:.3f}, "
        f"{SCHOOLS + 1} wraps {crypto['wraps']:.3f}, hybrid signature {crypto['sign']:.3f}; "
        f"first views opened {first['titles']:.1f} titles a page.\n"
    )
    print(
        table(
            ["against its floor", "this (server CPU ms/req)", "floor", "this/floor", "target"],
            [
                [
                    get_label,
                    two["cpu_ms"],
                    baseline["cpu_ms"],
                    two["cpu_ms"] / baseline["cpu_ms"],
                    "<= 2",
                ],
                [
                    f"first views: vs {page} x (decapsulation + verify) + baseline",
                    first["cpu_ms"],
                    first_floor,
                    first["cpu_ms"] / first_floor,
                    "<= 1.2",
                ],
                [
                    f"POST: vs {SCHOOLS + 1} wraps + signature + bare inserts",
                    post["cpu_ms"],
                    post_floor,
                    post["cpu_ms"] / post_floor,
                    "<= 1.3",
                ],
            ],
        )
    )
    print(
        f"\n{args.clients} readers of GET /api/v1/alerts: "
        f"1 worker {one_worker['per_second']:.1f}/s "
        f"({one_worker['cpu_ms']:.2f} CPU ms/req), {args.workers} workers "
        f"{two['per_second']:.1f}/s: {two['per_second'] / one_worker['per_second']:.2f}x "
        f"(target >= 1.8; {os.cpu_count()} CPUs, shared with the clients and the database)"
    )


if __name__ == "__main__":
    main()
