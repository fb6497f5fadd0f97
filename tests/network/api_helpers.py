"""API tokens and a client that sends them, for the API tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from crypto.custody import FAST_FOR_TESTS
from network.db import own_transaction
from schools import accounts, personal, policy, tokens
from schools.models import Member
from schools.policy import Scope
from tests.conftest import PASSWORD
from tests.conftest import app_with as app_with  # kept importable from here

EVERY_SCOPE = tuple(s.value for s in Scope)
PROBLEM = "application/problem+json"


def issue_token(
    app: Flask,
    email: str,
    scopes: tuple[str, ...] | None = None,
    days: int = 30,
    name: str = "t",
) -> str:
    """Make a token as the member would at the command line: their password
    unlocks the school's keys, which are wrapped to the token. Without
    ``scopes``, every scope the member's role may grant."""
    with own_transaction(app) as session:
        member, credential = accounts.authenticate(session, email, PASSWORD, FAST_FOR_TESTS)
        keys = personal.unlock_for_member(session, member, credential)
        if scopes is None:
            scopes = tuple(s.value for s in Scope if s in policy.grantable_scopes(member))
        return tokens.create_token(session, member, keys, name, scopes, days).secret_token


def token_id(token: str) -> str:
    import uuid

    return str(uuid.UUID(hex=token.partition(".")[0]))


@dataclass
class Api:
    """A test client that sends one bearer token with every request (or, for a
    signed-in session, the headers given, such as its CSRF token)."""

    client: FlaskClient
    token: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**self.headers, **sent, **(headers or {})}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, body: Any = None, **kw: Any) -> Any:
        if body is not None:
            kw["json"] = body
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, body: Any = None, **kw: Any) -> Any:
        return self.client.patch(
            url, json=body, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def put(self, url: str, body: Any = None, **kw: Any) -> Any:
        return self.client.put(url, json=body, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


def api_for(app: Flask, email: str, scopes: tuple[str, ...] | None = None) -> Api:
    return Api(app.test_client(), issue_token(app, email, scopes))


def alert_body(recipients: list[Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "staff_named",
        "severity": "high",
        "platform": "facebook",
        "tlp": "AMBER",
        "title": "Fake account naming staff",
        "description": "A page names two teachers.",
        "links": [{"url": "https://facebook.example.com/p/1", "seen_on": "2026-11-20"}],
        "recommended_action": "Report the page.",
        "audience": "schools",
        "schools": [str(s.id) for s in recipients],
    }
    body.update(fields)
    return body


def attachment(filename: str, data: bytes, content_type: str | None = None) -> dict[str, Any]:
    item = {"filename": filename, "data": base64.b64encode(data).decode()}
    if content_type:
        item["content_type"] = content_type
    return item


def assert_problem(
    response: Any,
    status: int,
    fragment: str = "",
    field: str | None = None,
    keys: set[str] | None = None,
) -> Any:
    """A problem document (RFC 9457) of this status whose detail or errors say
    ``fragment``; with ``keys``, it has exactly those."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM, response.get_data(as_text=True)[:300]
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= set(body)
    if keys is not None:
        assert set(body) == keys, body
    assert body["status"] == status
    assert fragment in body["detail"] or any(
        fragment in e["message"] for e in body.get("errors", [])
    ), body
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


def member_named(app: Flask, email: str) -> Member:
    from sqlalchemy import select

    with own_transaction(app) as session:
        return session.scalars(select(Member).where(Member.email == email)).one()
