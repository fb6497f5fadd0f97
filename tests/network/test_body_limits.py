"""Request bodies at their real limits: 64 KiB everywhere, except evidence in
the JSON of POST /api/v1/alerts from a token that may post (70 MiB). A body
over its limit is a 413 before anything reads it (issue 12, item 8: a 60 MB
body to any JSON endpoint cost seconds of parsing)."""

from __future__ import annotations

import json
import uuid

import pytest

from network.settings import Settings
from tests.conftest import csrf_token
from tests.network.api_helpers import Api, alert_body, api_for, assert_problem, issue_token

SMALL = Settings.max_form_bytes
LARGE = Settings.max_json_upload_bytes
JSON = {"Content-Type": "application/json"}


def test_the_limits_are_the_documented_ones():
    assert SMALL == 64 * 1024
    assert LARGE == 70 * 1024 * 1024


def padded(body: dict, size: int) -> bytes:
    """``body`` as JSON, padded with trailing spaces to exactly ``size`` bytes."""
    data = json.dumps(body).encode()
    assert len(data) <= size
    return data + b" " * (size - len(data))


class Unread:
    """A request body that fails the test if anything reads it."""

    def read(self, *_args):
        raise AssertionError("the body was read")

    readline = readlines = read


def post_unread(client, url, size, headers):
    """POST a body that says it has ``size`` bytes, without ever sending them."""
    return client.post(
        url,
        headers={**JSON, **headers},
        environ_overrides={"wsgi.input": Unread(), "CONTENT_LENGTH": str(size)},
    )


def test_64_kib_of_json_is_read_and_one_byte_more_is_refused_unread(app, ash, beech):
    api = api_for(app, beech.person.email)
    alert = api_for(app, ash.person.email).post("/api/v1/alerts", alert_body([beech.school]))
    replies = f"{alert.get_json()['url']}/replies"
    at_limit = api.post(replies, data=padded({"text": "We saw it too."}, SMALL), headers=JSON)
    assert at_limit.status_code == 201, at_limit.get_data(as_text=True)
    bearer = {"Authorization": f"Bearer {api.token}"}
    over = post_unread(app.test_client(), replies, SMALL + 1, bearer)
    assert_problem(over, 413, "at most 65,536 bytes")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/subscriptions",
        "/api/v1/alerts/{alert}/acknowledge",
        "/api/v1/alerts/{alert}/forward",
        "/api/v1/me",
        "/api/v1/audit/checkpoint",
        "/api/v1/nowhere",
        "/api/v1/openapi.json",
    ],
)
def test_every_other_api_endpoint_refuses_a_body_over_64_kib_unread(app, ash, url):
    token = issue_token(app, ash.person.email)  # every scope
    url = url.format(alert=uuid.uuid4())
    response = post_unread(app.test_client(), url, SMALL + 1, {"Authorization": f"Bearer {token}"})
    assert_problem(response, 413, "at most 65,536 bytes")


def test_evidence_json_up_to_70_mib_is_taken_from_a_token_that_may_post(app, ash, beech):
    api = api_for(app, ash.person.email, scopes=("alerts:write",))
    at_limit = api.post(
        "/api/v1/alerts", data=padded(alert_body([beech.school]), LARGE), headers=JSON
    )
    assert at_limit.status_code == 201, at_limit.get_data(as_text=True)
    over = post_unread(
        app.test_client(), "/api/v1/alerts", LARGE + 1, {"Authorization": f"Bearer {api.token}"}
    )
    assert_problem(over, 413, "at most 73,400,320 bytes")


def test_a_caller_that_may_not_post_gets_a_413_for_evidence_json_over_64_kib(app, ash):
    reader = issue_token(app, ash.person.email, scopes=("inbox:read", "directory:read"))
    response = post_unread(
        app.test_client(), "/api/v1/alerts", SMALL + 1, {"Authorization": f"Bearer {reader}"}
    )
    assert_problem(response, 413, "at most 65,536 bytes")
    # A signed-in browser posts evidence through the page's form, not in JSON.
    session = {"X-CSRFToken": csrf_token(ash.client, "/alerts/new")}
    response = post_unread(ash.client, "/api/v1/alerts", SMALL + 1, session)
    assert_problem(response, 413, "at most 65,536 bytes")
    # Multipart is no way round it under the API.
    response = Api(app.test_client(), reader).post(
        "/api/v1/alerts",
        data=b"x" * (SMALL + 1),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert_problem(response, 413, "at most 65,536 bytes")


def test_a_refused_token_is_a_401_whatever_the_size_of_its_body(app, ash):
    # Refused tokens stay counted and audited: a 413 would answer for them.
    unknown = f"{uuid.uuid4().hex}.{'A' * 43}"
    response = post_unread(
        app.test_client(), "/api/v1/alerts", LARGE, {"Authorization": f"Bearer {unknown}"}
    )
    assert_problem(response, 401, "Invalid or expired token")


def test_the_pages_refuse_json_over_64_kib_unread(app, ash):
    response = post_unread(ash.client, "/alerts/new", SMALL + 1, {})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
