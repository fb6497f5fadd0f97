"""``Idempotency-Key``: a client that retries after a timeout gets the first
answer again instead of posting a second alert.

The key, a keyed hash of the request and the response are stored in the
request's own transaction: if the request fails, nothing is kept and a retry
runs afresh. A key reused with a different request is a 422 problem. Two
requests racing with one key: the second waits for the first's transaction
(the primary key), then replays its answer. Keys are kept for 24 hours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from network.api.models import IdempotentRequest
from network.problems import FieldError, ValidationFailed
from schools.db import utcnow
from schools.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as the IETF draft's examples


def key_of_request() -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip().strip('"')
    if not _KEY.fullmatch(key):
        raise ValidationFailed(
            [FieldError(HEADER, "Use 1 to 255 visible ASCII characters, e.g. a UUID.")],
            status=400,
        )
    return key


def _request_hash() -> bytes:
    secret = hashlib.sha256(
        b"alertnet/v1/api/idempotency\0" + current_app.config["SECRET_KEY"].encode()
    ).digest()
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in (request.method.encode(), request.path.encode(), request.get_data(cache=True)):
        mac.update(len(part).to_bytes(8, "big") + part)
    return mac.digest()


def _replay(row: IdempotentRequest) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if row.location:
        headers["Location"] = row.location
    return Response(
        json.dumps(row.response), status=row.status, mimetype="application/json", headers=headers
    )


def _existing(session: Session, principal_id: uuid.UUID, key: str) -> IdempotentRequest | None:
    return session.scalars(
        select(IdempotentRequest).where(
            IdempotentRequest.principal_id == principal_id,
            IdempotentRequest.key == key,
            IdempotentRequest.created_at > utcnow() - KEPT_FOR,
        )
    ).one_or_none()


def _answer_of(row: IdempotentRequest, digest: bytes) -> Response:
    if not hmac.compare_digest(row.request_hash, digest):
        raise InvalidInput(
            f"This {HEADER} was already used for a different request. Use a new key "
            "for a new alert; reuse a key only to retry exactly the same request.",
            field=HEADER,
        )
    return _replay(row)


def once(
    session: Session,
    principal_id: uuid.UUID,
    key: str | None,
    handler: Callable[[], tuple[dict[str, Any], int, str | None]],
) -> Response:
    """Run ``handler`` (returning body, status, Location) at most once per key
    (``key_of_request``; None: no key, so every time)."""
    if key is None:
        body, status, location = handler()
        return _response(body, status, location)
    digest = _request_hash()
    row = _existing(session, principal_id, key)
    if row is not None:
        return _answer_of(row, digest)
    session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.principal_id == principal_id,
            IdempotentRequest.created_at <= utcnow() - KEPT_FOR,
        )
    )
    row = IdempotentRequest(
        principal_id=principal_id,
        key=key,
        request_hash=digest,
        status=0,
        response={},
        created_at=utcnow(),
    )
    session.add(row)
    try:
        # Claims the key first: a concurrent request with it waits here for our
        # commit (PostgreSQL) and then finds our answer.
        session.flush()
    except IntegrityError:
        session.rollback()
        earlier = _existing(session, principal_id, key)
        if earlier is None or earlier.status == 0:
            raise Conflict(
                f"A request with this {HEADER} is still being processed; retry shortly.",
                field=HEADER,
            ) from None
        return _answer_of(earlier, digest)
    body, status, location = handler()
    row.status, row.response, row.location = status, body, location
    session.flush()
    return _response(body, status, location)


def _response(body: dict[str, Any], status: int, location: str | None) -> Response:
    headers = {"Location": location} if location else None
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)
