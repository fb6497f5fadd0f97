"""Sign-ins per second under concurrency, through `alertnet serve` (gunicorn,
2 workers x 4 threads, rate limits in Redis), with the recommended Argon2id
cost (t=3, 64 MiB, 4 lanes), beside the floor measured in the same run: raw
Argon2id derivations per second with the same number of threads in one process.

N clients sign in at once, over and over, for a fixed time: half with the right
password, half with an unknown address (the decoy does the same work). Every
answer is checked (302 or 401); anything else is counted as an error.

Run: ``python bench/sign_in.py [--database-url postgresql://...] [--clients 16] [--seconds 15]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import fresh_database, table

from crypto.custody import RFC9106, _password_key
from network import create_app
from network.db import engine
from network.migrate import upgrade
from tests.conftest import PASSWORD, settings_for_tests
from tests.network.live_hub import live_hub
from tests.network.test_concurrency import Browser, _address, _heads


def floor(clients: int, seconds: float) -> float:
    """Raw Argon2id derivations per second, `clients` threads in one process."""
    done = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def derive() -> None:
        nonlocal done
        salt = os.urandom(16)
        while time.monotonic() < stop:
            _password_key(PASSWORD, salt, RFC9106)
            with lock:
                done += 1

    threads = [threading.Thread(target=derive) for _ in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()

    url = fresh_database(args.database_url)
    instance = Path(tempfile.mkdtemp(prefix="alertnet-bench-sign-in-"))
    app = create_app(settings_for_tests(instance, url, password_params=RFC9106))
    upgrade(app)
    emails = _heads(app, args.clients)
    engine(app).dispose()

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    with live_hub(url, instance, workers=2, threads=4) as hub:
        stop = time.monotonic() + args.seconds

        def client(n: int) -> None:
            nonlocal errors
            while time.monotonic() < stop:
                known = n % 2 == 0
                email = emails[n] if known else f"nobody{n}@unknown.example.org"
                began = time.monotonic()
                try:
                    status = Browser(hub, _address()).sign_in(email, PASSWORD)
                except OSError:
                    status = 0
                with lock:
                    if status == (302 if known else 401):
                        latencies.append(time.monotonic() - began)
                    else:
                        errors += 1

        start = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(client, range(args.clients)))
        elapsed = time.monotonic() - start

    raw = floor(2, min(args.seconds, 10))
    rate = len(latencies) / elapsed
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    backend = url.split(":")[0]
    print(f"{args.clients} clients for {args.seconds:.0f} s, {backend}, 2 workers x 4 threads")
    print(
        table(
            ["measure", "per second", "median ms", "p95 ms", "errors", "floor / measure"],
            [
                [
                    "sign-in (GET form + POST)",
                    f"{rate:.1f}",
                    f"{statistics.median(latencies) * 1000:.0f}" if latencies else "-",
                    f"{p95 * 1000:.0f}",
                    errors,
                    f"{raw / rate:.2f}" if rate else "-",
                ],
                ["floor: raw Argon2id, 2 threads", f"{raw:.1f}", "", "", "", ""],
            ],
        )
    )


if __name__ == "__main__":
    main()
