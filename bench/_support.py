"""Shared pieces of the benchmarks: a hub on a chosen database, timing and tables.

Benchmarks are not tests: they print figures beside a baseline measured in the
same run, and the ratio between them, because these machines are noisy.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import make_url

from crypto.custody import FAST_FOR_TESTS
from network import create_app
from network.migrate import upgrade
from network.settings import Settings


def fresh_database(url: str | None) -> str:
    """A new empty database: SQLite in a temporary folder, or a freshly
    created PostgreSQL database beside the one the URL names."""
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="alertnet-bench-"))
        return f"sqlite:///{folder / 'bench.db'}"
    import psycopg

    parsed = make_url(url)
    name = parsed.database or "alertnet_bench"
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.render_as_string(hide_password=False)


def bench_settings(database_url: str, instance: Path | None = None, **overrides: Any) -> Settings:
    """The hub's settings for a benchmark: fast password hashing (sign-ins are
    not measured) and limits no benchmark reaches."""
    values: dict[str, Any] = {
        "instance_path": instance or Path(tempfile.mkdtemp(prefix="alertnet-bench-instance-")),
        "database_url": database_url,
        "secret_key": "bench",
        "testing": True,
        "password_params": FAST_FOR_TESTS,
        "ratelimit_sign_in": "1000000 per minute",
        "ratelimit_api": "1000000 per minute",
    }
    return Settings(**{**values, **overrides}).resolved()


def make_app(database_url: str, instance: Path | None = None, **overrides: Any) -> Any:
    """The real hub on a migrated database."""
    app = create_app(bench_settings(database_url, instance, **overrides))
    upgrade(app)
    return app


def timings(action: Callable[[], object], repetitions: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def median_ms(
    actions: dict[str, Callable[[], object]],
    repetitions: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median milliseconds of each action by ``clock`` (wall time, or
    ``time.thread_time`` for this thread's CPU), run round-robin so load drift
    hits all alike."""
    for action in actions.values():
        action()  # warm-up: lazy key expansion, allocator, caches
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repetitions):
        for name, action in actions.items():
            start = clock()
            action()
            samples[name].append(clock() - start)
    return {name: statistics.median(times) * 1000 for name, times in samples.items()}


def median_p95_ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.1f}"
    return str(value)
