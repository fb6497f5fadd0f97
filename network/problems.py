"""RFC 9457 problem documents: every refusal under /api/ is one, never a page.

Below both the error handlers and the API: ``network/errors.py`` renders every
error of a request under /api/ with ``domain_problem`` or ``http_problem``; the
API's own validation (network/api/) raises ``ValidationFailed`` to name each
field it refuses, in an ``errors`` member:
``{"errors": [{"field": "title", "message": "Enter the title."}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from schools.errors import DomainError, InvalidInputs

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"


@dataclass(frozen=True, config=ConfigDict(strict=True, extra="forbid"))
class FieldError:
    """One field at fault and what is wrong with it."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document; ``errors`` names each field at fault."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)
    verified: bool | None = Field(
        default=None,
        description="false when what was asked for failed its integrity check "
        "(a signature, the key commitment, or the hub's record against the signed header).",
    )


class ValidationFailed(DomainError):
    """Input that does not have the right shape; names every field at fault.

    400 for query parameters and headers (the request makes no sense), 422 for
    a body that parses but cannot be accepted.
    """

    def __init__(self, errors: Sequence[FieldError], status: int = 422) -> None:
        first = errors[0]
        summary = first.message if len(errors) == 1 else f"{len(errors)} fields need attention."
        super().__init__(summary, field=first.field)
        self.errors = list(errors)
        self.status = status


def wants_problem() -> bool:
    """Whether this request is the API's: its errors are problem documents."""
    return request.path.startswith(API_PREFIX)


def problem(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: Sequence[FieldError] = (),
    title: str | None = None,
    verified: bool | None = None,
) -> Response:
    body = Problem(
        type="about:blank",
        title=title or HTTP_STATUS_CODES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=list(errors),
        verified=verified,
    )
    return Response(
        json.dumps(body.model_dump(mode="json", exclude_defaults=True)),
        status=status,
        mimetype=MEDIA_TYPE,
        headers=headers,
    )


def domain_problem(error: DomainError, status: int | None = None) -> Response:
    status = status or error.status
    if isinstance(error, ValidationFailed):
        return problem(status, error.message, errors=error.errors)
    if isinstance(error, InvalidInputs):
        errors = [FieldError(p.field, p.message) for p in error.problems if p.field]
    else:
        errors = [FieldError(error.field, error.message)] if error.field else []
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    verified = error.problem_extensions.get("verified")
    return problem(
        status,
        error.message,
        errors=errors,
        headers=headers,
        verified=verified if isinstance(verified, bool) else None,
    )


# Werkzeug's stock descriptions talk about browsers and "the server"; these say
# what an API client should do.
_PLAIN = {
    400: "The request could not be understood.",
    401: "Send an API token (Authorization: Bearer <token>) or sign in first.",
    403: "You may not do this.",
    404: "There is nothing here. The API is described at /api/v1/openapi.json.",
    405: "This endpoint does not answer that method.",
    413: "The request body is too large.",
    415: "Send the body as application/json.",
    429: "Too many requests: slow down and try again after the Retry-After seconds.",
    500: "Something went wrong on the hub.",
}


_METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


def http_problem(error: HTTPException) -> Response:
    status = error.code or 500
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    detail = error.description or ""
    methods = sorted(getattr(error, "valid_methods", None) or (), key=_METHOD_ORDER.index)
    if status == 405 and methods:
        headers["Allow"] = ", ".join(methods)
        detail = f"This endpoint only answers {', '.join(methods)}."
    elif status == 429:
        detail = f"Too many requests (limit: {detail}). Try again after the Retry-After seconds."
    elif status == 413:
        limit = request.max_content_length
        detail = "The request body is too large" + (
            f": at most {limit:,} bytes here." if limit else "."
        )
    elif not detail or detail == type(error).description or status == 500:
        detail = _PLAIN.get(status, HTTP_STATUS_CODES.get(status, "Error"))
    return problem(status, detail, headers=headers)
