"""Two hub hosts and two workers on one PostgreSQL and one Redis behave as one
hub: `alertnet serve` twice (different ports) and `alertnet worker` twice, as
docs/operations.md ("Scaling") describes. Loopback only, bounded in time.

Rate limits are counted once across hosts, a sign-in made on one host works on
the other, every notification is delivered exactly once, and the audit log's
sequence numbers have no gap.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from network.cli import main
from network.db import own_transaction
from network.notifications.models import Notification, Status
from network.operations.heartbeat import WorkerHeartbeat
from schools.audit.models import AuditEvent
from tests.conftest import World, hub
from tests.network.alerts_helpers import make_head
from tests.network.api_helpers import alert_body, issue_token
from tests.network.live_hub import REDIS_URL, LiveHub, live_hub, live_workers
from tests.network.notify_helpers import receiver, smtp  # noqa: F401  (fixtures)
from tests.network.test_concurrency import Browser, _address
from tests.network.test_notifications import webhook

pytestmark = pytest.mark.slow

ALERTS = 24


def _post(live: LiveHub, token: str, body: dict[str, Any]) -> int:
    status, _, _ = live.request(
        "POST",
        "/api/v1/alerts",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return status


def _outbox_drained(app: Any, timeout: float) -> dict[str, int]:
    end = time.monotonic() + timeout
    while True:
        with own_transaction(app) as session:
            by_status = dict(
                session.execute(
                    select(Notification.status, func.count()).group_by(Notification.status)
                ).all()
            )
        waiting = by_status.get(Status.PENDING, 0) + by_status.get(Status.SENDING, 0)
        if not waiting:
            return by_status
        assert time.monotonic() < end, f"{waiting} notifications still waiting: {by_status}"
        time.sleep(0.2)


def test_two_hosts_and_two_workers_act_as_one_hub(postgres_migrated, tmp_path, smtp, receiver):  # noqa: F811
    shared = {
        # What every host of one hub shares (docs/operations.md): the secret, Redis, SMTP.
        "SECRET_KEY": "test-secret-key",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "SMTP_URL": smtp.url,
        "ALERTNET_WEBHOOK_ALLOW": "127.0.0.1/32",
        "ALERTNET_WORKER_POLL": "0.2",
        "ALERTNET_NOTIFY_BACKOFF": "0.05",
        "ALERTNET_NOTIFY_BACKOFF_MAX": "0.2",
    }
    with hub(
        postgres_migrated, tmp_path, smtp_url=smtp.url, webhook_allow_networks=("127.0.0.1/32",)
    ) as app:
        world = World(app)
        cluster = world.cluster("Riverside")
        ash, beech, cedar = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
        webhook(beech, receiver)
        webhook(cedar, receiver)
        token = issue_token(app, ash.person.email)
        with (
            live_hub(postgres_migrated, tmp_path, workers=1, environment=shared) as one,
            live_hub(postgres_migrated, tmp_path, workers=1, environment=shared) as two,
            live_workers(postgres_migrated, tmp_path, 2, shared),
        ):
            # A sign-in made on one host is a session on the other.
            browser = Browser(one, _address())
            assert browser.sign_in(beech.person.email, beech.person.password) == 302
            browser.hub = two
            status, headers, _ = two.request("GET", "/alerts", headers=browser.headers)
            assert status == 200, headers.get("Location")

            # The sign-in limit counts attempts on both hosts together (Redis).
            # To a different address with no account each time, which the
            # per-account throttle (counted in the database, so shared anyway)
            # counts once each.
            address = _address()
            statuses = [
                Browser(host, address).sign_in(f"nobody{n}@example.org", "not the password")
                for n, host in enumerate([one, two] * 6)
            ]
            assert statuses == [401] * 10 + [429] * 2

            # Alerts posted through both hosts at once.
            body = alert_body(
                [beech.school, cedar.school], tier="all"
            )  # webhooks hear all-staff alerts
            with ThreadPoolExecutor(8) as pool:
                posted = list(
                    pool.map(lambda n: _post((one, two)[n % 2], token, body), range(ALERTS))
                )
            assert posted == [201] * ALERTS

            by_status = _outbox_drained(app, timeout=90)
            for host in (one, two):
                assert host.request("GET", "/readyz")[0] == 200
            for log in (one.log, two.log):
                assert "Traceback" not in log.read_text(), log.read_text()[-3000:]

        # Each notification delivered exactly once, and both workers took part.
        assert by_status.get(Status.DEAD, 0) == 0
        with own_transaction(app) as session:
            sent = dict(
                session.execute(
                    select(Notification.channel, func.count())
                    .where(Notification.status == Status.SENT)
                    .group_by(Notification.channel)
                ).all()
            )
            beats = session.scalar(select(func.count()).select_from(WorkerHeartbeat))
            seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        webhooks = Counter(receiver.ids())
        assert len(webhooks) == sent["webhook"] == 2 * ALERTS
        assert set(webhooks.values()) == {1}
        message_ids = Counter(str(m.message["Message-ID"]) for m in smtp.mails)
        assert len(message_ids) == sent["email"] >= 2 * ALERTS
        assert set(message_ids.values()) == {1}
        assert beats == 2

        # The audit log: one gap-free sequence, and it verifies.
        assert seqs == list(range(len(seqs)))
        verify = app.test_cli_runner().invoke(main, ["audit", "verify"])
        assert verify.exit_code == 0, verify.output
