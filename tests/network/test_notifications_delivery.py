"""The outbox and its worker: retries, dead letters, crashes, several workers,
signed webhooks, email format and the delivery log."""

# The SMTP server, webhook receiver, app, cluster and pair fixtures are imported from
# notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from network.db import engine, own_transaction
from network.notifications import mail, webhooks
from network.notifications.delivery import backoff, claim_due
from network.notifications.models import Notification, Subscription
from network.notifications.subscriptions import send_test
from network.settings import Settings
from schools.db import utcnow
from tests.network.notify_helpers import (  # noqa: F401  (fixtures)
    actions,
    app,
    cluster,
    deliver_all,
    notifications,
    pair,
    receiver,
    smtp,
    subscriptions_of,
    webhook,
)

ROOT = Path(__file__).resolve().parents[2]


def _settings(app, **changes):
    app.config["ALERTNET"] = dataclasses.replace(app.config["ALERTNET"], **changes)


# --- retries and dead letters ------------------------------------------------------------


def test_a_refusing_smtp_server_is_retried_and_the_mail_arrives_once(app, pair, smtp):
    ash, beech = pair
    smtp.refuse = 2
    ash.post_alert([beech.school], severity="urgent", tier="all")
    deliver_all(app)
    assert smtp.attempts == 3
    [delivered] = smtp.mails
    assert delivered.to == [beech.person.email]
    [row] = notifications(app, Notification.channel == "email")
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert delivered.message["Message-ID"] == f"<{row.id}@hub.test>"


def test_a_webhook_failing_three_times_is_delivered_with_one_stable_id(app, pair, receiver):
    ash, beech = pair
    secret = webhook(beech, receiver)
    receiver.statuses = [500, 500, 500]
    ash.post_alert([beech.school], tier="all")
    deliver_all(app)
    assert len(receiver.deliveries) == 4
    assert len(set(receiver.ids())) == 1
    for delivery in receiver.deliveries:
        assert delivery.verify(secret)["type"] == "alert.received"
        assert delivery.headers["content-type"] == "application/json"
    assert len({d.body for d in receiver.deliveries}) == 1  # the same bytes every time
    [row] = notifications(app, Notification.channel == "webhook")
    assert (row.status, row.attempts) == ("sent", 4)
    assert receiver.ids()[0] == f"msg_{row.id.hex}"


def test_after_the_last_attempt_a_delivery_is_dead_lettered_and_shown(app, pair, receiver):
    ash, beech = pair
    _settings(app, notify_max_attempts=3)
    webhook(beech, receiver)
    receiver.statuses = [500] * 10
    ash.post_alert([beech.school], tier="all")
    deliver_all(app)
    assert len(receiver.deliveries) == 3
    [row] = notifications(app, Notification.channel == "webhook")
    assert (row.status, row.attempts) == ("dead", 3)
    assert row.last_error == "HTTP 500 Internal Server Error"
    assert "notification.dead_lettered" in actions(app)
    log = beech.client.get("/notifications/deliveries").get_data(as_text=True)
    assert "Dead" in log
    assert "HTTP 500 Internal Server Error" in log


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    settings = Settings(notify_backoff_seconds=30, notify_backoff_max_seconds=3600)
    for attempt, base in [(1, 30), (2, 60), (3, 120), (8, 3600), (20, 3600)]:
        for _ in range(20):
            delay = backoff(attempt, settings).total_seconds()
            assert base / 2 <= delay <= base


# --- crashes and several workers ----------------------------------------------------------------


def _worker_env(app, smtp_url, **extra):
    settings = app.config["ALERTNET"]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "ALERTNET_INSTANCE": str(settings.instance_path),
        "ALERTNET_PUBLIC_URL": settings.public_url,
        "ALERTNET_WEBHOOK_ALLOW": "127.0.0.1/32",
        "ALERTNET_NOTIFY_BACKOFF": "0.01",
        "ALERTNET_NOTIFY_BACKOFF_MAX": "0.05",
        "ALERTNET_WORKER_POLL": "0.05",
        "SMTP_URL": smtp_url,
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def _spawn_worker(app, smtp_url, *args, **env):
    return subprocess.Popen(
        [sys.executable, "-m", "network", "worker", *args],
        env=_worker_env(app, smtp_url, **env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_worker_killed_mid_delivery_loses_nothing(app, pair, receiver, smtp):
    ash, beech = pair
    secret = webhook(beech, receiver)
    ash.post_alert([beech.school], tier="all")
    receiver.hold.set()  # the receiver takes the request and does not answer
    worker = _spawn_worker(app, smtp.url, "--max-seconds", "60", ALERTNET_NOTIFY_LEASE="1")
    try:
        receiver.wait_for(1)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=10)
        worker.stdout.close()
        worker.stderr.close()
    receiver.hold.clear()
    receiver.released.set()
    [row] = notifications(app, Notification.channel == "webhook")
    assert (row.status, row.attempts) == ("sending", 1)  # claimed, never settled

    _settings(app, notify_lease_seconds=1.0)
    time.sleep(1.1)  # the lease runs out
    deliver_all(app)
    assert len(receiver.deliveries) == 2
    assert len(set(receiver.ids())) == 1  # a receiver drops the repeat by its webhook-id
    for delivery in receiver.deliveries:
        delivery.verify(secret)
    [row] = notifications(app, Notification.channel == "webhook")
    assert (row.status, row.attempts) == ("sent", 2)


def test_two_workers_at_once_send_everything_exactly_once(app, pair, receiver, smtp):
    _ash, beech = pair
    webhook(beech, receiver)
    subscription = subscriptions_of(app, school_id=beech.school.id)[0]
    with own_transaction(app) as session:
        member = session.get(type(beech.person.member), beech.person.member.id)
        for _ in range(60):
            send_test(session, member, subscription.id)
    receiver.delay = 0.02
    workers = [
        _spawn_worker(app, smtp.url, "--once", "--batch", "3", "--concurrency", "1")
        for _ in range(2)
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        outputs.append(out)
    counts = Counter(receiver.ids())
    assert len(counts) == 60
    assert set(counts.values()) == {1}
    assert {n.status for n in notifications(app, Notification.event == "test")} == {"sent"}
    delivered = [int(out.split("Delivered ")[1].split(",")[0]) for out in outputs]
    assert sum(delivered) == 60
    assert all(n > 0 for n in delivered), delivered  # both really worked


def test_concurrent_claims_are_disjoint(app, pair, receiver):
    """A claim in progress holds its rows: a second claimer skips them (PostgreSQL),
    or waits for it (SQLite); either way the two claims never overlap."""

    _ash, beech = pair
    webhook(beech, receiver)
    subscription = subscriptions_of(app, school_id=beech.school.id)[0]
    with own_transaction(app) as session:
        member = session.get(type(beech.person.member), beech.person.member.id)
        for _ in range(10):
            send_test(session, member, subscription.id)
    settings = app.config["ALERTNET"]
    sessions = app.extensions["alertnet.db"]
    with app.app_context():
        one = sessions()
        first = claim_due(one, settings, utcnow(), 6)
        if engine(app).dialect.name == "postgresql":
            with own_transaction(app) as two:  # the first is still open
                second = claim_due(two, settings, utcnow(), 10)
            one.commit()
        else:
            one.commit()
            with own_transaction(app) as two:
                second = claim_due(two, settings, utcnow(), 10)
        one.close()
    assert len(first) == 6
    assert len(second) == 4
    assert not {c.id for c in first} & {c.id for c in second}


# --- webhook security ---------------------------------------------------------------------------


def test_a_rotated_secret_signs_beside_the_old_one_during_the_overlap(app, pair, receiver):
    ash, beech = pair
    old = webhook(beech, receiver)
    subscription = subscriptions_of(app, school_id=beech.school.id)[0]
    page = f"/notifications/subscriptions/{subscription.id}"
    rotated = beech.post(f"{page}/rotate", {"confirm": "yes"}, page=page)
    new = rotated.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    assert new.startswith("whsec_")
    assert new != old
    ash.post_alert([beech.school], tier="all")
    deliver_all(app)
    [delivery] = receiver.deliveries
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    delivery.verify(old)
    delivery.verify(new)

    with own_transaction(app) as session:
        row = session.get(Subscription, subscription.id)
        row.previous_secret_until = row.previous_secret_until - timedelta(days=2)
    ash.post_alert([beech.school], tier="all")
    deliver_all(app)
    latest = receiver.deliveries[-1]
    latest.verify(new)
    with pytest.raises(WebhookVerificationError):
        latest.verify(old)
    assert Webhook(new).verify(latest.body, latest.headers)["data"]["alert"]["category"]


def test_the_target_is_resolved_and_checked_again_at_delivery(app, pair, receiver, monkeypatch):
    ash, beech = pair
    real = socket.getaddrinfo
    answer = {"address": "93.184.216.34"}

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.org":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    response = beech.post(
        "/notifications/subscriptions/new?for=school",
        {
            "channel": "webhook",
            "target_url": "https://hooks.example.org/alertnet",
            "min_severity": "info",
            "timing": "immediate",
            "digest_time": "07:30",
        },
    )
    assert response.status_code == 201
    answer["address"] = "10.20.30.40"  # DNS now points inside the network
    ash.post_alert([beech.school], severity="low", tier="all")  # no email: only the webhook
    connections = []
    monkeypatch.setattr(
        socket,
        "create_connection",
        lambda *a, **k: connections.append(a) or pytest.fail("connected"),
    )
    _settings(app, notify_max_attempts=1)
    deliver_all(app)
    assert connections == []
    [row] = notifications(app, Notification.channel == "webhook")
    assert row.status == "dead"
    assert "10.20.30.40" in row.last_error
    assert "not allowed" in row.last_error


def test_target_rules():
    allow = ("127.0.0.1/32",)
    assert webhooks.resolve_target("http://127.0.0.1:8080/x?y=1", allow).path == "/x?y=1"
    for url in [
        "http://127.0.0.2/",
        "https://[::1]/",
        "https://0.0.0.0/",
        "https://[::ffff:10.0.0.1]/",
        "https://100.64.0.1/",
        "https://224.0.0.1/",
    ]:
        with pytest.raises(webhooks.TargetRefused):
            webhooks.resolve_target(url, allow)
    with pytest.raises(webhooks.TargetRefused, match="plain http"):
        webhooks.resolve_target("http://93.184.216.34/", allow)


# --- email -------------------------------------------------------------------------------------


def test_an_email_has_text_and_html_and_an_unsubscribe_link(app, pair, smtp):
    ash, beech = pair
    ash.post_alert(
        [beech.school],
        severity="high",
        category="harassment",
        platform="tiktok",
        title="Do not send this title",
    )
    deliver_all(app)
    [delivered] = smtp.mails
    subscription = next(
        s for s in subscriptions_of(app, beech.person.member.id) if s.channel == "email"
    )
    message = delivered.message
    assert message["From"] == "alertnet <alerts@hub.test>"
    assert message["List-Unsubscribe"] == (
        f"<http://hub.test/notifications/subscriptions/{subscription.id}>"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = delivered.part("plain"), delivered.part("html")
    for part in (text, html):
        assert "Harassment or bullying" in part
        assert "TikTok" in part
        assert "Ash" in part
        assert "http://hub.test/alerts/" in part
        assert "Do not send this title" not in part


def test_smtp_urls(tmp_path):
    plain = mail.SmtpConfig.from_url("smtp://relay.internal")
    assert (plain.host, plain.port, plain.security) == ("relay.internal", 25, "plain")
    starttls = mail.SmtpConfig.from_url("smtp://me%40x.org:p%3Ass@mail.x.org:587?starttls=1")
    assert (starttls.port, starttls.security, starttls.username, starttls.password) == (
        587,
        "starttls",
        "me@x.org",
        "p:ss",
    )
    tls = mail.SmtpConfig.from_url("smtps://u:p@mail.x.org")
    assert (tls.port, tls.security) == (465, "tls")
    with pytest.raises(ValueError, match="SMTP_URL"):
        Settings.from_env({"SMTP_URL": "http://nope", "ALERTNET_INSTANCE": str(tmp_path)})
    with pytest.raises(ValueError, match="ALERTNET_WEBHOOK_ALLOW"):
        Settings.from_env(
            {"ALERTNET_WEBHOOK_ALLOW": "localhost", "ALERTNET_INSTANCE": str(tmp_path)}
        )
    good = Settings.from_env(
        {
            "ALERTNET_WEBHOOK_ALLOW": "127.0.0.1/32, 10.1.0.0/16",
            "SMTP_URL": "smtps://u:p@mail.x.org",
            "SECRET_KEY": "k",
            "ALERTNET_INSTANCE": str(tmp_path),
        }
    )
    assert good.webhook_allow_networks == ("127.0.0.1/32", "10.1.0.0/16")
    assert good.mail_from == "alertnet <alerts@127.0.0.1>"
    assert "u:p" not in repr(good)


# --- the delivery log and tests ----------------------------------------------------------------


def test_a_school_sees_its_delivery_log_and_can_send_a_test(app, pair, receiver, smtp):
    _ash, beech = pair
    secret = webhook(beech, receiver, name="MIS webhook")
    subscription = subscriptions_of(app, school_id=beech.school.id)[0]
    page = f"/notifications/subscriptions/{subscription.id}"
    assert beech.post(f"{page}/test", {}, page=page).status_code == 303
    deliver_all(app)
    [delivery] = receiver.deliveries
    assert delivery.verify(secret)["type"] == "test"
    log = beech.client.get("/notifications/deliveries").get_data(as_text=True)
    assert receiver.url() in log
    assert "MIS webhook" in log
    assert "Sent" in log
    email_sub = next(
        s for s in subscriptions_of(app, beech.person.member.id) if s.channel == "email"
    )
    epage = f"/notifications/subscriptions/{email_sub.id}"
    assert beech.post(f"{epage}/test", {}, page=epage).status_code == 303
    deliver_all(app)
    assert "Test notification" in smtp.to(beech.person.email)[0].subject
    assert beech.client.get("/notifications/deliveries?channel=sms").status_code == 422
