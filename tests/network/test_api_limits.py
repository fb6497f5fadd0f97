"""Rate limits are on: the API per token, refused tokens and sign-in per
address, counted in memory or in Redis (RATELIMIT_STORAGE_URI)."""

from __future__ import annotations

import random
import sys

import pytest

from network.db import engine
from network.settings import Settings
from tests.conftest import World, csrf_token, settings_for_tests
from tests.network.alerts_helpers import make_head
from tests.network.api_helpers import Api, app_with, assert_problem, issue_token

REDIS = "redis://127.0.0.1:6379/0"


def _redis_or_skip() -> None:
    import os

    import redis

    try:
        redis.Redis.from_url(REDIS, socket_timeout=2).ping()
    except redis.exceptions.RedisError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:
    if request.param == "redis":
        _redis_or_skip()
        return REDIS
    return "memory://"


@pytest.fixture
def limited(storage, database_url, tmp_path):
    app = app_with(
        database_url,
        tmp_path,
        ratelimit_storage_uri=storage,
        ratelimit_api="3 per minute",
        ratelimit_sign_in="2 per minute",
    )
    yield app
    engine(app).dispose()


def _address() -> dict[str, str]:
    # A loopback address of this test's own, so counts kept in Redis by other
    # runs (or other workers) never mix with this one's.
    octets = (random.randint(1, 254), random.randint(0, 255), random.randint(1, 254))
    return {"REMOTE_ADDR": "127.{}.{}.{}".format(*octets)}


def test_the_api_limit_is_a_429_problem_with_retry_after(limited, storage):
    world = World(limited)
    head = make_head(limited, world, world.cluster("Riverside"), "Ash")
    client = limited.test_client()
    client.environ_base.update(_address())
    api = Api(client, issue_token(limited, head.person.email))
    for _ in range(3):
        assert api.get("/api/v1/me").status_code == 200
    response = api.get("/api/v1/alerts")
    assert_problem(response, 429, "Retry-After")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    # Counted per token: another token of the same member still has its share.
    other = Api(client, issue_token(limited, head.person.email))
    assert other.get("/api/v1/me").status_code == 200
    if storage.startswith("redis"):
        import redis

        token = api.token.partition(".")[0]
        keys = redis.Redis.from_url(REDIS).keys(f"*{token[:8]}*")
        assert keys, "the counts are kept in Redis"


def test_refused_tokens_are_limited_per_address_like_sign_in(limited):
    client = limited.test_client()
    client.environ_base.update(_address())
    bad = Api(client, "0" * 32 + "." + "A" * 43)
    assert bad.get("/api/v1/me").status_code == 401
    assert bad.get("/api/v1/me").status_code == 401
    assert_problem(bad.get("/api/v1/me"), 429)


def test_sign_in_is_limited_with_the_same_storage(limited):
    client = limited.test_client()
    client.environ_base.update(_address())
    for _ in range(2):
        token = csrf_token(client, "/sign-in")
        response = client.post(
            "/sign-in", data={"email": "nobody@example.org", "password": "x", "csrf_token": token}
        )
        assert response.status_code == 401
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in", data={"email": "nobody@example.org", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 429
    assert "text/html" in response.content_type
    assert "Retry-After" in response.headers


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RATELIMIT_STORAGE_URI", "mongodb://x"),
        ("ALERTNET_RATELIMIT_API", "lots"),
        ("ALERTNET_RATELIMIT_SIGN_IN", "10 per fortnight"),
    ],
)
def test_a_malformed_rate_limit_setting_stops_the_hub_at_startup(tmp_path, variable, value):
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({"ALERTNET_INSTANCE": str(tmp_path), "SECRET_KEY": "x", variable: value})


def test_redis_limits_without_the_redis_client_stop_the_hub_at_startup(tmp_path, monkeypatch):
    environ = {
        "ALERTNET_INSTANCE": str(tmp_path),
        "SECRET_KEY": "x",
        "RATELIMIT_STORAGE_URI": REDIS,
    }
    assert Settings.from_env(environ).ratelimit_storage_uri == REDIS
    monkeypatch.setitem(sys.modules, "redis", None)  # as without the `redis` extra
    with pytest.raises(ValueError, match=r"pip install 'alertnet\[redis\]'"):
        Settings.from_env(environ)
    memory = Settings.from_env({**environ, "RATELIMIT_STORAGE_URI": "memory://"})
    assert memory.ratelimit_storage_uri == "memory://"


def test_the_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {
            "ALERTNET_INSTANCE": str(tmp_path),
            "SECRET_KEY": "x",
            "RATELIMIT_STORAGE_URI": REDIS,
            "ALERTNET_RATELIMIT_API": "100 per minute",
            "ALERTNET_API_MAX_UPLOAD_BYTES": "1000",
        }
    )
    assert (settings.ratelimit_storage_uri, settings.ratelimit_api) == (REDIS, "100 per minute")
    assert settings.max_json_upload_bytes == 1000
    assert settings_for_tests(tmp_path, "sqlite://").ratelimit_api == "300 per minute"


def test_counting_in_memory_starts_no_thread_per_request_and_still_expires(monkeypatch):
    import threading

    from network.extensions import SweptMemoryStorage, rate_limit_storage_uri

    assert rate_limit_storage_uri("memory://") == "alertnet-memory://"
    assert rate_limit_storage_uri(REDIS) == REDIS
    storage = SweptMemoryStorage()
    now = [1000.0]
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: now[0])
    monkeypatch.setattr("network.extensions.time.monotonic", lambda: now[0])
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    for _ in range(5):
        assert storage.incr("token:a", 60) <= 5
        now[0] += 0.05  # further apart than limits' 10 ms timer
    assert storage.get("token:a") == 5
    assert started == []
    # The window ends: the count is gone when read, and the key from memory at
    # the next sweep (a second after the last).
    storage.incr("token:c", 60)
    now[0] += 61
    assert storage.get("token:c") == 0
    assert "token:a" in storage.expirations  # not read since
    storage.incr("token:b", 60)
    assert "token:a" not in storage.expirations
    assert storage.get("token:b") == 1
    assert started == []
