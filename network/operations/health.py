"""``/readyz`` and ``/metrics``: what a load balancer and a monitoring system ask.

``/healthz`` (network/views/auth.py) says only that the process answers; a load
balancer should send people to a host only when ``/readyz`` says it is ready:
the database answers, its schema is at the revision this code expects (after an
upgrade, until ``alertnet db upgrade`` has run, it is not), and a notification
worker has gone round its loop within the last minute.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from network import auth
from network.db import own_transaction
from network.operations import metrics
from network.operations.heartbeat import latest_beat
from network.settings import current as current_settings
from schools.db import utcnow

#: A worker that has not beaten for this long is taken to be stopped.
HEARTBEAT_MAX_AGE = timedelta(minutes=1)

bp = Blueprint("operations", __name__)


@dataclass(frozen=True)
class Readiness:
    reasons: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.reasons


@functools.lru_cache(maxsize=1)
def _expected_revision(app: Flask) -> str:
    from network.migrate import latest_revision

    return latest_revision(app)


def readiness(app: Flask) -> Readiness:
    """Check the database, its schema revision and the workers' heartbeat."""
    from network.migrate import current_revision

    try:
        at = current_revision(app)
        with own_transaction(app) as session:
            beat = latest_beat(session) if at == _expected_revision(app) else None
    except SQLAlchemyError as error:
        # The error's class says enough (connection refused, timeout); its text may
        # carry the database's address, which the page need not show.
        return Readiness([f"the database does not answer ({type(error).__name__})"])
    expected = _expected_revision(app)
    if at != expected:
        return Readiness(
            [
                f"the database schema is at revision {at or '(none)'} but this hub needs "
                f"{expected}: run 'alertnet db upgrade'"
            ]
        )
    if beat is None:
        return Readiness(["no notification worker has ever run: start 'alertnet worker'"])
    age = utcnow() - beat
    if age > HEARTBEAT_MAX_AGE:
        return Readiness(
            [
                f"no notification worker has checked in for {int(age.total_seconds())} "
                "seconds: is 'alertnet worker' running?"
            ]
        )
    return Readiness()


@bp.route("/readyz", methods=["GET"])
@auth.public
def readyz() -> Any:
    found = readiness(current_app._get_current_object())  # type: ignore[attr-defined]
    if found.ready:
        return {"status": "ready"}
    return {"status": "not ready", "reasons": found.reasons}, 503


@bp.route("/metrics", methods=["GET"])
@auth.public  # its own check: a token or an allowed address, never a session
def metrics_page() -> Any:
    allowed = metrics.may_scrape(
        current_settings(), request.headers.get("Authorization"), request.remote_addr
    )
    if not allowed:
        return Response(
            "Metrics need the token in ALERTNET_METRICS_TOKEN (Authorization: Bearer ...) "
            "or an address listed in ALERTNET_METRICS_ALLOW.\n",
            403,
            mimetype="text/plain",
        )
    body = metrics.exposition(current_app._get_current_object())  # type: ignore[attr-defined]
    return Response(body, mimetype=None, content_type=metrics.CONTENT_TYPE)
