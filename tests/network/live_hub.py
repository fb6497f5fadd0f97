"""The hub as it runs in production: `alertnet serve` (gunicorn, gthread) on
127.0.0.1, and `alertnet worker` beside it, for tests of what only several
processes and threads show (and bench/load.py)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveHub:
    host: str
    port: int
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def form(
        self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )


@contextmanager
def live_hub(
    database_url: str,
    instance: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    environment: dict[str, str] | None = None,
) -> Iterator[LiveHub]:
    """Run `alertnet serve` on a free loopback port until the block ends.

    Production settings but for the test's database and instance folder; rate
    limits are shared in Redis when there is more than one worker. The client's
    address is read from X-Forwarded-For (one proxy hop), so a test can play
    people at different schools.
    """
    port = free_port()
    log = instance / f"gunicorn-{port}.log"
    env = _environment(
        database_url,
        instance,
        {"RATELIMIT_STORAGE_URI": REDIS_URL if workers > 1 else "memory://", **(environment or {})},
    )
    command = [
        sys.executable,
        "-m",
        "network",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    hub = LiveHub("127.0.0.1", port, log)
    try:
        _wait_until_serving(hub, process)
        yield hub
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _environment(database_url: str, instance: Path, extra: dict[str, str]) -> dict[str, str]:
    """What every process of one test hub shares: database, instance folder, secret."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(instance),
        "ALERTNET_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "live-hub-test-secret",
        "ALERTNET_PROXY_HOPS": "1",
        "ALERTNET_LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class LiveWorker:
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to finish what it holds."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start_worker(
    database_url: str, instance: Path, environment: dict[str, str] | None = None
) -> LiveWorker:
    """Start `alertnet worker` for the hub on ``database_url``; stop it with
    ``stop_worker`` (or ``kill``)."""
    log = instance / f"worker-{free_port()}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "network", "worker"],
            env=_environment(database_url, instance, environment or {}),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LiveWorker(process, log)


def stop_worker(worker: LiveWorker) -> None:
    if worker.process.poll() is not None:
        return
    os.killpg(worker.process.pid, signal.SIGTERM)
    try:
        worker.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()


@contextmanager
def live_workers(
    database_url: str, instance: Path, count: int, environment: dict[str, str] | None = None
) -> Iterator[list[LiveWorker]]:
    """Run ``count`` `alertnet worker` processes until the block ends."""
    workers = [start_worker(database_url, instance, environment) for _ in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            stop_worker(worker)


def _wait_until_serving(hub: LiveHub, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited: {hub.log.read_text()[-3000:]}")
        try:
            if hub.request("GET", "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the hub did not start: {hub.log.read_text()[-3000:]}")
