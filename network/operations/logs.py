"""Log lines with request ids, as text or one JSON object per line.

Every request gets an id: the caller's ``X-Request-Id`` when it is a plain token
(letters, digits, ``.``, ``_``, ``-``; a load balancer's id carries through), or
a new random one; it is echoed in the response and written on every log line
made while the request runs. With ``ALERTNET_LOG_FORMAT=json`` each line is one
JSON object: ``time``, ``level``, ``logger``, ``message``, ``request_id`` and,
in a request, ``method`` and ``route`` (the route rule, never the path: a path
can carry an invitation token). gunicorn's access lines become JSON objects too
(network/operations/gunicorn_config.py).

What the hub logs never includes alert content: the envelope is ciphertext to
the hub, and log calls name ids and kinds only (design.md, "What the hub may see").
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request

HEADER = "X-Request-Id"
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,128}", re.ASCII)
_KEY = "alertnet.request_id"
_SECRET_IN_PATH = re.compile(r"(/invitations/)[^/?#\s\"]+")
# gunicorn's access-log atoms worth keeping, under plain names.
_ACCESS_ATOMS = {
    "h": "remote",
    "m": "method",
    "U": "path",
    "s": "status",
    "B": "bytes",
    "L": "duration_seconds",
    "{x-request-id}o": "request_id",
}


def request_id() -> str | None:
    if not has_request_context():
        return None
    found: str | None = g.get(_KEY)
    return found


def _incoming_id() -> str:
    given = request.headers.get(HEADER, "")
    return given if _GIVEN_ID.fullmatch(given) else secrets.token_hex(16)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            line["message"] = "request"
            for atom, name in _ACCESS_ATOMS.items():
                value = record.args.get(atom)
                if value not in (None, "-"):
                    line[name] = _number(value) if name in ("status", "bytes") else value
            if "path" in line:
                line["path"] = _SECRET_IN_PATH.sub(r"\1…", str(line["path"]))
        else:
            # Flask's own error lines quote the path, which can hold an invitation token.
            line["message"] = _SECRET_IN_PATH.sub(r"\1…", record.getMessage())
            if has_request_context():
                line["request_id"] = request_id()
                line["method"] = request.method
                line["route"] = request.url_rule.rule if request.url_rule else None
        if record.exc_info and record.exc_info[0] is not None:
            # The frames, not the message: a message may quote data the hub must not log.
            line["exception"] = record.exc_info[0].__name__
            line["traceback"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(line, ensure_ascii=False, default=str)


def _number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def configure_json(level: str) -> None:
    """Write every log line of this process to standard error as JSON. Calling
    it again (create_app runs once per test) replaces the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_alertnet", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._alertnet = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    logging.getLogger("alertnet").setLevel(level)


def init_app(app: Flask, log_format: str, level: str) -> None:
    """Request ids on every request; JSON lines when ``log_format`` is "json"
    (otherwise the hub's plain lines stay as they were)."""
    if log_format == "json":
        configure_json(level)

    def _request_id() -> None:
        g.setdefault(_KEY, _incoming_id())

    # First of all: a gate that answers early (a redirect to sign in) skips the rest.
    app.before_request_funcs.setdefault(None, []).insert(0, _request_id)

    @app.after_request
    def _echo(response: Any) -> Any:
        response.headers[HEADER] = g.setdefault(_KEY, _incoming_id())
        return response
