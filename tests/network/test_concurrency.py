"""Under concurrency, as `alertnet serve` runs in production: several gunicorn
workers with threads, real password hashing, rate limits shared in Redis.

Bounded and on loopback: each test starts its own hub on a free 127.0.0.1 port
and stops it at the end.
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crypto.custody import RFC9106
from network.cli import main
from schools.models import Role
from tests.conftest import PASSWORD, World, hub
from tests.network.live_hub import LiveHub, live_hub

CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')
COOKIE = re.compile(r"(alertnet_session=[^;]+)")

pytestmark = pytest.mark.slow


class Browser:
    """One person's cookies, from their own address."""

    def __init__(self, hub: LiveHub, address: str) -> None:
        self.hub = hub
        self.headers = {"X-Forwarded-For": address}

    def _keep_cookie(self, headers: dict[str, str]) -> None:
        found = COOKIE.search(headers.get("Set-Cookie", ""))
        if found:
            self.headers["Cookie"] = found.group(1)

    def sign_in(self, email: str, password: str) -> int:
        status, headers, page = self.hub.request("GET", "/sign-in", headers=self.headers)
        assert status == 200, page[:500]
        self._keep_cookie(headers)
        token = CSRF.search(page)
        assert token, page[:500]
        status, headers, _ = self.hub.form(
            "/sign-in",
            {"email": email, "password": password, "csrf_token": token.group(1).decode()},
            self.headers,
        )
        self._keep_cookie(headers)
        return status


def _address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _heads(app: Any, count: int) -> list[str]:
    world = World(app)
    cluster = world.cluster()
    emails = []
    for n in range(count):
        school = world.school(cluster, f"School {n}")
        email = f"head{n}@school{n}.example.org"
        world.person(Role.HEAD, email, school=school)
        emails.append(email)
    return emails


def _no_crash(hub: LiveHub) -> None:
    log = hub.log.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert "MemoryError" not in log, log[-3000:]


def test_sixteen_simultaneous_sign_ins_on_two_workers_all_get_their_answer(
    database_url: str, tmp_path: Path
) -> None:
    # The recommended Argon2id cost (64 MiB, 4 lanes), as in production.
    with hub(database_url, tmp_path, password_params=RFC9106) as app:
        emails = _heads(app, 8)
    attempts = [(email, PASSWORD, 302) for email in emails] + [
        (f"nobody{n}@unknown.example.org", PASSWORD, 401) for n in range(8)
    ]
    random.shuffle(attempts)
    start = threading.Barrier(len(attempts))

    def attempt(case: tuple[str, str, int]) -> tuple[int, int]:
        email, password, expected = case
        browser = Browser(live, _address())
        start.wait(30)
        return browser.sign_in(email, password), expected

    with live_hub(database_url, tmp_path, workers=2, threads=4) as live:
        with ThreadPoolExecutor(len(attempts)) as pool:
            results = list(pool.map(attempt, attempts, timeout=120))
        assert [got for got, _ in results] == [expected for _, expected in results]
        # And the hub is still up for the next person.
        assert Browser(live, _address()).sign_in(emails[0], PASSWORD) == 302
        _no_crash(live)


def test_the_sign_in_limit_is_exact_across_two_workers_with_redis(
    database_url: str, tmp_path: Path
) -> None:
    with hub(database_url, tmp_path) as app:
        _heads(app, 1)
    address = _address()
    # A different address with no account each time: the per-account throttle
    # (schools/throttle.py) counts each once, so this counts the per-IP limit alone.
    with live_hub(database_url, tmp_path, workers=2, threads=2) as live:
        statuses = [
            Browser(live, address).sign_in(f"nobody{n}@example.org", "not the password")
            for n in range(12)
        ]
        assert statuses == [401] * 10 + [429] * 2
        # Refused API tokens count per address too, whichever worker answers.
        token_address = _address()
        refused = [
            live.request(
                "GET",
                "/api/v1/alerts",
                headers={
                    "Authorization": "Bearer 0123456789abcdef0123456789abcdef.nope",
                    "X-Forwarded-For": token_address,
                },
            )[0]
            for _ in range(12)
        ]
        assert refused == [401] * 10 + [429] * 2
        _no_crash(live)


def test_serve_refuses_several_workers_when_limits_are_counted_in_memory(monkeypatch):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    result = CliRunner().invoke(main, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "RATELIMIT_STORAGE_URI=redis://" in result.output


@pytest.mark.parametrize(
    ("storage", "workers", "threads"),
    [("memory://", "1", "8"), ("redis://127.0.0.1:6379/0", "2", "4")],
)
def test_serve_runs_one_worker_unless_limits_are_shared(monkeypatch, storage, workers, threads):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", storage)
    started: list[list[str]] = []
    monkeypatch.setattr("os.execv", lambda _path, argv: started.append(argv))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 0, result.output
    (argv,) = started
    assert argv[argv.index("--workers") + 1] == workers
    assert argv[argv.index("--threads") + 1] == threads


def test_ten_simultaneous_acknowledgements_through_two_workers_make_one(
    database_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from network.alerts.models import AlertRecipient
    from network.db import own_transaction
    from schools.audit.models import AuditEvent
    from tests.network.api_helpers import issue_token

    with hub(database_url, tmp_path) as app:
        world = World(app)
        cluster = world.cluster()
        ash, beech = world.school(cluster, "Ash"), world.school(cluster, "Beech")
        world.person(Role.HEAD, "head@ash.example.org", school=ash)
        world.person(Role.HEAD, "head@beech.example.org", school=beech)
        sender = issue_token(app, "head@ash.example.org")
        reader = issue_token(app, "head@beech.example.org")
        with live_hub(database_url, tmp_path, workers=2, threads=4) as live:
            posted = _acknowledge_ten_times(live, sender, reader, beech)
        with own_transaction(app) as session:
            acknowledged = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "alert.acknowledged")
            )
            assert acknowledged == 1
            copy = session.get(AlertRecipient, (uuid.UUID(posted), beech.id))
            assert copy is not None
            assert copy.acknowledged_at is not None


def _acknowledge_ten_times(live: LiveHub, sender: str, reader: str, beech: Any) -> str:
    """Post as one school, then acknowledge ten times at once as the other."""
    import json

    from tests.network.api_helpers import alert_body

    def call(token: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, _, data = live.request(
            "POST",
            path,
            json.dumps(body).encode(),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        return status, json.loads(data)

    status, posted = call(sender, "/api/v1/alerts", alert_body([beech]))
    assert status == 201, posted
    start = threading.Barrier(10)

    def acknowledge(n: int) -> int:
        start.wait(30)
        path = f"/api/v1/alerts/{posted['id']}/acknowledge"
        return call(reader, path, {"comment": f"seen {n}"})[0]

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(acknowledge, range(10), timeout=120))
    assert statuses == [200] + [409] * 9
    _no_crash(live)
    return str(posted["id"])


def test_sign_in_beyond_the_hashing_budget_is_asked_to_retry_not_a_500(app, monkeypatch):
    from crypto import custody
    from crypto.custody import HashingBudget
    from tests.conftest import sign_in

    world = World(app)
    school = world.school(world.cluster())
    world.person(Role.HEAD, "head@busy.example.org", school=school)
    monkeypatch.setattr(custody, "_budget", HashingBudget(8, wait_seconds=0))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with custody._budget.hold(8):
            holding.set()
            release.wait(10)

    other = threading.Thread(target=hold)
    other.start()
    try:
        holding.wait(5)
        response = sign_in(app.test_client(), "head@busy.example.org")
    finally:
        release.set()
        other.join(5)
    assert response.status_code == 503
    # At least the hashing wait; Flask-Limiter raises it to the sign-in window's reset.
    assert int(response.headers["Retry-After"]) >= 1
    assert "Try again in a few seconds" in response.get_data(as_text=True)
    assert sign_in(app.test_client(), "head@busy.example.org").status_code == 302
