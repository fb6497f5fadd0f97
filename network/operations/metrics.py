"""``/metrics`` in the Prometheus text format.

Two kinds of figure, chosen so that any process may answer a scrape:

- Figures about the hub as a whole (the outbox, dead letters, the audit log,
  the last full verification, the workers' heartbeat) are read from the
  database when scraped, by ``HubCollector``: every gunicorn worker on every
  host gives the same answer, and no process keeps state.
- Request counts and latencies belong to the process that served them. With
  several gunicorn workers, ``alertnet serve`` runs prometheus-client's
  multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by
  network/operations/gunicorn_config.py): every worker writes its figures to a
  file there and a scrape adds them up. Without that directory (tests, the
  development server) they are this process's own.

Requests are labelled by route rule (``/alerts/<uuid:alert_id>``), never by
path: a path can carry an invitation token, and ids would make a series each.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from network.settings import Settings
from schools.audit import checkpoints, integrity, tree
from schools.db import utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Created once per process: create_app runs many times in the tests.
_PROCESS = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "alertnet_http_requests",
    "HTTP requests answered, by method, route rule and status.",
    ["method", "route", "status"],
    registry=_PROCESS,
)
LATENCY = Histogram(
    "alertnet_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route rule.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=_PROCESS,
)
_STARTED = "alertnet.metrics.started"


def route_label() -> str:
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def init_app(app: Flask) -> None:
    def _start_clock() -> None:
        g.setdefault(_STARTED, time.perf_counter())

    # First: a gate that answers early (a redirect to sign in) skips the rest.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_clock)

    @app.after_request
    def _count(response: Any) -> Any:
        started = g.get(_STARTED)
        if started is not None:
            route = route_label()
            REQUESTS.labels(request.method, route, str(response.status_code)).inc()
            LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response


# --- who may read /metrics ---------------------------------------------------------------


def may_scrape(settings: Settings, authorization: str | None, address: str | None) -> bool:
    """A bearer token equal to ALERTNET_METRICS_TOKEN, or an address inside
    ALERTNET_METRICS_ALLOW. Neither configured: nobody (deny by default)."""
    if settings.metrics_token and authorization:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), settings.metrics_token.encode()
        ):
            return True
    if settings.metrics_allow and address:
        try:
            caller = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(
            caller in ipaddress.ip_network(allowed, strict=False)
            for allowed in settings.metrics_allow
        )
    return False


# --- figures read from the database when scraped ------------------------------------------


class HubCollector(Collector):
    """The hub's figures, read from the database at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from network.db import own_transaction
        from network.notifications.models import Notification, Status
        from network.operations.heartbeat import latest_beat

        now = utcnow()
        with self.app.app_context(), own_transaction(self.app) as session:
            by_status = dict(
                session.execute(
                    select(Notification.status, func.count()).group_by(Notification.status)
                ).all()
            )
            oldest = session.scalar(
                select(func.min(Notification.created_at)).where(
                    Notification.status.in_([Status.PENDING, Status.SENDING])
                )
            )
            size = tree.tree_size(session)
            checkpoint = checkpoints.latest_checkpoint(session)
            verified = integrity.last_verification(session)
            beat = latest_beat(session)
        outbox = GaugeMetricFamily(
            "alertnet_outbox_notifications",
            "Notifications in the outbox, by state (pending and sending are still to go).",
            labels=["status"],
        )
        for status in Status:
            outbox.add_metric([status.value], by_status.get(status, 0))
        yield outbox
        yield GaugeMetricFamily(
            "alertnet_outbox_depth",
            "Notifications waiting to be delivered (pending or being sent).",
            value=by_status.get(Status.PENDING, 0) + by_status.get(Status.SENDING, 0),
        )
        yield GaugeMetricFamily(
            "alertnet_outbox_oldest_pending_age_seconds",
            "Age of the oldest notification still waiting to be delivered (0 when none).",
            value=_age(now, oldest),
        )
        yield GaugeMetricFamily(
            "alertnet_notifications_dead",
            "Notifications given up after every attempt failed (dead letters).",
            value=by_status.get(Status.DEAD, 0),
        )
        yield GaugeMetricFamily(
            "alertnet_audit_log_entries", "Entries in the audit log.", value=size
        )
        yield GaugeMetricFamily(
            "alertnet_audit_checkpoint_size",
            "Entries covered by the latest signed checkpoint (0 when none).",
            value=checkpoint.size if checkpoint is not None else 0,
        )
        yield GaugeMetricFamily(
            "alertnet_audit_verification_ok",
            "1 if the last full 'alertnet audit verify' passed, 0 if it failed, "
            "-1 if it has never run.",
            value=-1 if verified is None else int(verified.ok),
        )
        yield GaugeMetricFamily(
            "alertnet_audit_verification_timestamp_seconds",
            "When the last full verification finished (Unix time; 0 if never).",
            value=verified.finished_at.timestamp() if verified is not None else 0,
        )
        yield GaugeMetricFamily(
            "alertnet_worker_heartbeat_age_seconds",
            "Seconds since any notification worker last went round its loop "
            "(-1 if no worker has run).",
            value=_age(now, beat) if beat is not None else -1,
        )


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def exposition(app: Flask) -> bytes:
    """Everything ``/metrics`` shows, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(app))
    text = generate_latest(registry)
    return text + generate_latest(_request_registry())


def _request_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined
    return _PROCESS
