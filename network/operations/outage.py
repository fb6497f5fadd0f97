"""When the database does not answer (a restart, a failover, a dropped
connection mid-request), the hub says so with 503 and ``Retry-After`` instead
of a bare 500: browsers show a page that says to try again, scripts and load
balancers know to retry. Nothing was decided, so retrying is safe (API posts
carry an Idempotency-Key anyway).

Pooled connections that died are replaced at the next checkout
(``pool_pre_ping``, network/db.py), so the first request after the database
is back succeeds.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, request
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("alertnet")

RETRY_AFTER_SECONDS = 5
MESSAGE = "The hub cannot reach its database just now. Nothing was changed: try again in a moment."


def _unreachable(error: DBAPIError) -> Any:
    from network.errors import render_error
    from network.problems import problem, wants_problem

    session = g.pop("db", None)
    if session is not None:
        try:
            session.rollback()
            session.close()
        except DBAPIError:
            session.invalidate()
    # The class, not the message: it may carry the database's address or a statement.
    log.warning(
        "database unavailable (%s) on %s %s",
        type(error.orig).__name__ if error.orig is not None else type(error).__name__,
        request.method,
        request.url_rule.rule if request.url_rule else "(no route)",
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_problem():
        return problem(503, MESSAGE, headers=headers)
    return (*render_error(503, MESSAGE), headers)


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, _unreachable)
