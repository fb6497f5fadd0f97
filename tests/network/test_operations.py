"""/readyz, /metrics and JSON logs with request ids: what an operator's load
balancer and monitoring see."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from network import create_app
from network.db import engine, own_transaction
from network.operations import heartbeat, logs
from network.operations.heartbeat import WorkerHeartbeat
from network.worker import Worker
from schools.db import utcnow
from tests.conftest import hub, settings_for_tests
from tests.network.alerts_helpers import make_head

TOKEN = "a-long-random-metrics-token"


def _run_worker_once(app: Flask) -> None:
    worker = Worker(app)
    worker.run(once=True)


# --- /readyz --------------------------------------------------------------------------------


def test_readyz_waits_for_a_worker_then_says_ready(client, app):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "not ready",
        "reasons": ["no notification worker has ever run: start 'alertnet worker'"],
    }
    _run_worker_once(app)
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready"}


def test_readyz_says_when_the_worker_stopped_checking_in(client, app):
    _run_worker_once(app)
    with own_transaction(app) as session:
        session.execute(update(WorkerHeartbeat).values(beat_at=utcnow() - timedelta(seconds=95)))
    response = client.get("/readyz")
    assert response.status_code == 503
    [reason] = response.get_json()["reasons"]
    assert "no notification worker has checked in for 9" in reason


def test_a_worker_writes_one_heartbeat_row_and_refreshes_it(app):
    worker = Worker(app)
    heartbeat.beat(worker)
    heartbeat.beat(worker)  # within BEAT_SECONDS: not written again
    with own_transaction(app) as session:
        rows = session.query(WorkerHeartbeat).all()
        assert len(rows) == 1
        assert utcnow() - rows[0].beat_at < timedelta(seconds=5)


def test_readyz_says_when_the_schema_needs_an_upgrade(tmp_path: Path):
    app = create_app(settings_for_tests(tmp_path, f"sqlite:///{tmp_path / 'new.db'}"))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        [reason] = response.get_json()["reasons"]
        assert "schema is at revision (none)" in reason
        assert "alertnet db upgrade" in reason
    finally:
        engine(app).dispose()


def test_readyz_says_when_the_database_does_not_answer(tmp_path: Path):
    # Nothing listens on port 9 of loopback: the connection is refused at once.
    app = create_app(settings_for_tests(tmp_path, "postgresql://nobody@127.0.0.1:9/none"))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        [reason] = response.get_json()["reasons"]
        assert reason.startswith("the database does not answer")
        assert "127.0.0.1" not in reason
    finally:
        engine(app).dispose()


# --- /metrics ---------------------------------------------------------------------------------


@pytest.fixture
def metered(database_url: str, tmp_path: Path):
    with hub(database_url, tmp_path, metrics_token=TOKEN, metrics_allow=("192.0.2.0/24",)) as app:
        yield app


def test_metrics_are_refused_without_the_token_or_an_allowed_address(metered):
    client = metered.test_client()
    assert client.get("/metrics").status_code == 403
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403
    assert "ALERTNET_METRICS_TOKEN" in wrong.get_data(as_text=True)


def test_metrics_are_refused_to_everyone_when_neither_is_configured(client):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_metrics_open_to_an_allowed_address_without_a_token(metered):
    response = metered.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 200


def test_metrics_show_the_outbox_the_audit_log_and_requests_by_route(metered, world):
    cluster = world.cluster("Riverside")
    ash = make_head(metered, world, cluster, "Ash")
    beech = make_head(metered, world, cluster, "Beech")
    alert_id = ash.post_alert([beech.school]).headers["Location"].rsplit("/", 1)[1]
    assert beech.client.get(f"/alerts/{alert_id}").status_code == 200
    response = metered.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    figures = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert figures["alertnet_outbox_depth"] > 0  # the post's notifications, no worker yet
    assert figures["alertnet_outbox_oldest_pending_age_seconds"] >= 0
    assert figures["alertnet_notifications_dead"] == 0
    assert figures["alertnet_audit_log_entries"] > 0
    assert figures["alertnet_audit_verification_ok"] == -1  # never run
    assert figures["alertnet_worker_heartbeat_age_seconds"] == -1  # no worker yet
    # Requests by route rule: one series for every alert, never the alert's id.
    assert 'route="/alerts/<uuid:alert_id>"' in text
    assert alert_id not in text
    assert "alertnet_http_request_duration_seconds_bucket" in text


def test_metrics_after_a_verification_and_a_worker(metered, runner):
    from network.cli import main

    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    _run_worker_once(metered)
    text = (
        metered.test_client()
        .get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        .get_data(as_text=True)
    )
    assert "alertnet_audit_verification_ok 1.0" in text
    age = next(
        line for line in text.splitlines() if line.startswith("alertnet_worker_heartbeat_age")
    )
    assert 0 <= float(age.split(" ")[1]) < 60


# --- request ids and JSON logs ---------------------------------------------------------------


def test_every_response_carries_a_request_id_and_a_given_one_is_kept(client):
    made = client.get("/sign-in").headers["X-Request-Id"]
    assert len(made) == 32
    assert client.get("/sign-in").headers["X-Request-Id"] != made
    kept = client.get("/sign-in", headers={"X-Request-Id": "lb-7f3a.1"})
    assert kept.headers["X-Request-Id"] == "lb-7f3a.1"
    # Something that is not a plain token is replaced, not echoed into logs.
    odd = client.get("/sign-in", headers={"X-Request-Id": 'x" injected'})
    assert odd.headers["X-Request-Id"] != 'x" injected'
    # Also on a redirect to sign in, which answers before any view.
    assert "X-Request-Id" in client.get("/alerts").headers


def test_json_log_lines_carry_the_request_id_and_route_not_the_path(app):
    formatter = logs.JsonFormatter()
    with app.test_request_context(
        "/invitations/secret-token-123", headers={"X-Request-Id": "req-1"}
    ):
        app.preprocess_request()
        record = logging.LogRecord(
            "alertnet", logging.WARNING, __file__, 1, "hello %s", ("x",), None
        )
        line = json.loads(formatter.format(record))
    assert line["message"] == "hello x"
    assert line["request_id"] == "req-1"
    assert line["level"] == "WARNING"
    assert "secret-token-123" not in json.dumps(line)


def test_json_access_lines_keep_the_request_id_and_hide_invitation_tokens():
    formatter = logs.JsonFormatter()
    atoms = {
        "h": "10.0.0.5",
        "m": "GET",
        "U": "/invitations/secret-token-123",
        "s": "200",
        "B": "512",
        "L": "0.012",
        "{x-request-id}o": "req-2",
    }
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (), None)
    record.args = atoms
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "req-2"
    assert line["status"] == 200
    assert line["path"] == "/invitations/…"


def test_with_json_logs_a_request_logs_json_and_no_alert_content(database_url, tmp_path, capfd):
    canary = "CANARY-Mr-Jones-defamed"
    with hub(database_url, tmp_path, log_format="json", log_level="DEBUG") as app:
        from tests.conftest import World

        world = World(app)
        cluster = world.cluster("Riverside")
        ash = make_head(app, world, cluster, "Ash")
        beech = make_head(app, world, cluster, "Beech")
        ash.post_alert([beech.school], title=canary, description=canary)
        logging.getLogger("alertnet").info("a line from the hub")
    logged = capfd.readouterr().err
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert any(line["message"] == "a line from the hub" for line in lines)
    assert canary not in logged
    logs.configure_json("INFO")  # leave no DEBUG level behind
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "_alertnet", False):
            logging.getLogger().removeHandler(handler)


# --- rotating the audit log key ------------------------------------------------------------


def test_after_rotating_the_log_key_old_checkpoints_verify_with_the_retired_key(
    database_url, tmp_path
):
    import base64
    import os

    from network.cli import main
    from tests.conftest import World

    with hub(database_url, tmp_path) as app:
        World(app).cluster("Riverside")
        runner = app.test_cli_runner()
        assert runner.invoke(main, ["audit", "checkpoint"]).exit_code == 0
        old_vkey = runner.invoke(main, ["audit", "key"]).output.strip()
        new_key = base64.b64encode(os.urandom(32)).decode()

        def verify(**overrides):
            rotated = create_app(settings_for_tests(tmp_path, database_url, **overrides))
            try:
                rotated_runner = rotated.test_cli_runner()
                World(rotated).cluster(f"After {len(overrides)}")  # a new entry...
                signed = rotated_runner.invoke(main, ["audit", "checkpoint"])
                assert signed.exit_code == 0  # ...and a checkpoint with the new key
                return rotated_runner.invoke(main, ["audit", "verify"])
            finally:
                engine(rotated).dispose()

        # A new key alone: the checkpoints the old key signed no longer verify.
        refused = verify(log_key=new_key)
        assert refused.exit_code == 1
        assert "does not verify" in refused.output
        # Listed as retired, they do, beside the new key's.
        passed = verify(log_key=new_key, log_retired_keys=(old_vkey,))
        assert passed.exit_code == 0, passed.output


def test_a_retired_key_of_another_log_is_refused_at_startup(tmp_path):
    from network.settings import Settings

    with pytest.raises(ValueError, match="ALERTNET_LOG_RETIRED_KEYS"):
        Settings.from_env(
            {"ALERTNET_INSTANCE": str(tmp_path), "SECRET_KEY": "x"},
            log_retired_keys=("elsewhere.example/audit+01234567+AQ==",),
        )


# --- under alertnet serve ----------------------------------------------------------------------


@pytest.mark.slow
def test_under_serve_metrics_add_up_every_worker_and_access_lines_are_json(app, tmp_path):
    from tests.network.live_hub import live_hub

    environment = {"ALERTNET_METRICS_TOKEN": TOKEN, "ALERTNET_LOG_FORMAT": "json"}
    with live_hub(
        app.config["ALERTNET"].database_url, tmp_path, workers=2, threads=2, environment=environment
    ) as live:
        for n in range(20):
            status, headers, _ = live.request("GET", "/sign-in", headers={"X-Request-Id": f"r{n}"})
            assert (status, headers["X-Request-Id"]) == (200, f"r{n}")
        counted = set()
        for _ in range(6):  # whichever gunicorn worker answers, the count is the total
            status, _, body = live.request(
                "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert status == 200
            line = next(
                line
                for line in body.decode().splitlines()
                if line.startswith("alertnet_http_requests_total")
                and 'route="/sign-in"' in line
                and 'status="200"' in line
            )
            counted.add(float(line.rsplit(" ", 1)[1]))
        assert counted == {20.0}
        log = live.log.read_text()
    access = [json.loads(line) for line in log.splitlines() if '"gunicorn.access"' in line]
    assert {"request_id": "r7", "path": "/sign-in", "status": 200}.items() <= next(
        a for a in access if a.get("request_id") == "r7"
    ).items()


def test_the_hub_answers_again_at_once_after_the_database_dropped_its_connections(
    postgres_migrated, tmp_path
):
    """As after a PostgreSQL restart: pooled connections are dead, and the next
    request gets a fresh one (pool_pre_ping) instead of an error."""
    import psycopg
    from sqlalchemy import make_url

    with hub(postgres_migrated, tmp_path) as app:
        _run_worker_once(app)
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        dsn = make_url(postgres_migrated).render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as admin:
            dropped = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert dropped is not None
        assert dropped[0] >= 1
        assert client.get("/readyz").status_code == 200
        _run_worker_once(app)  # the worker's own connections recover too


# --- when the database does not answer ---------------------------------------------------------


@pytest.fixture
def cut_off(tmp_path):
    # Nothing listens on port 9 of loopback: every connection is refused at once.
    app = create_app(settings_for_tests(tmp_path, "postgresql://nobody@127.0.0.1:9/none"))
    yield app
    engine(app).dispose()


def test_without_its_database_the_api_asks_to_retry_with_503(cut_off):
    response = cut_off.test_client().get(
        "/api/v1/alerts",
        headers={"Authorization": "Bearer 0123456789abcdef0123456789abcdef.secret"},
    )
    assert response.status_code == 503
    # At least our 5 seconds; Flask-Limiter may raise it to its window's reset.
    assert int(response.headers["Retry-After"]) >= 5
    assert response.mimetype == "application/problem+json"
    assert "cannot reach its database" in response.get_json()["detail"]


def test_without_its_database_a_page_says_to_try_again(cut_off):
    response = cut_off.test_client().get("/invitations/a-token-that-is-never-logged")
    assert response.status_code == 503
    assert "try again in a moment" in response.get_data(as_text=True)


def test_json_lines_cut_invitation_tokens_out_of_any_message(app):
    record = logging.LogRecord(
        "network", logging.ERROR, __file__, 1, "Exception on %s [GET]", ("/invitations/tok",), None
    )
    assert json.loads(logs.JsonFormatter().format(record))["message"] == (
        "Exception on /invitations/… [GET]"
    )
