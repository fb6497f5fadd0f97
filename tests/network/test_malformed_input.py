"""Malformed input is refused with a message naming what is wrong, never a 500
(issue 12, item 6: each finding of the fuzzing run is a test here). The test
app re-raises any unhandled error, so a 500 fails these tests loudly."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from network.alerts.content import MAX_NOTE, clean_text
from network.alerts.models import Alert, ThreadItem
from network.db import own_transaction
from network.notifications.models import Subscription
from schools.errors import InvalidInput
from tests.conftest import csrf_token, post_form
from tests.network.api_helpers import alert_body, api_for, assert_problem

LONE_SURROGATE = "\ud800"
JSON = {"Content-Type": "application/json"}


def _rows(app):
    """How many alerts, thread items and subscriptions there are."""
    with own_transaction(app) as session:
        return [
            session.scalar(select(func.count()).select_from(model))
            for model in (Alert, ThreadItem, Subscription)
        ]


def _send(api, url, body):
    # json.dumps writes the surrogate as the escape "\ud800", as a client would.
    return api.post(url, data=json.dumps(body), headers=JSON)


# --- text that cannot be stored -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/alerts", {"title": f"Fake page {LONE_SURROGATE}"}, "title"),
        ("/api/v1/alerts", {"description": LONE_SURROGATE}, "description"),
        ("/api/v1/alerts", {"recommended_action": LONE_SURROGATE}, "recommended_action"),
        (
            "/api/v1/alerts",
            {"links": [{"url": f"https://x.example.org/{LONE_SURROGATE}"}]},
            "links[0].url",
        ),
        ("{alert}/replies", {"text": LONE_SURROGATE}, "text"),
        ("{alert}/actions", {"action_type": "police", "note": LONE_SURROGATE}, "note"),
        ("{alert}/acknowledge", {"comment": f"seen {LONE_SURROGATE}"}, "comment"),
        ("{alert}/forward", {"schools": [], "note": LONE_SURROGATE}, "note"),
        ("/api/v1/subscriptions", {"channel": "in_app", "name": LONE_SURROGATE}, "name"),
    ],
)
def test_a_lone_surrogate_in_any_json_text_field_is_a_422_naming_the_field(
    app, ash, beech, path, body, field
):
    posted = api_for(app, ash.person.email).post("/api/v1/alerts", alert_body([beech.school]))
    assert posted.status_code == 201
    if path == "/api/v1/alerts":
        body = alert_body([beech.school], **body)
    url = path.format(alert=posted.get_json()["url"])
    api = api_for(app, beech.person.email)
    before = _rows(app)
    problem = assert_problem(_send(api, url, body), 422, "surrogates", field=field)
    assert [e["field"] for e in problem["errors"]].count(field) == 1
    assert _rows(app) == before


def test_text_sealed_into_an_alert_refuses_a_lone_surrogate_whatever_its_source():
    # The service functions (and so the command line) clean text here too.
    with pytest.raises(InvalidInput, match="surrogates") as refused:
        clean_text(f"seen {LONE_SURROGATE}", "comment", "comment", MAX_NOTE)
    assert refused.value.field == "comment"


def test_a_web_form_cannot_carry_a_lone_surrogate(app, ash, beech):
    token = csrf_token(ash.client, "/alerts/new")
    before = _rows(app)
    fields = (
        f"csrf_token={token}&category=other&severity=high&platform=facebook&tlp=AMBER"
        f"&audience=schools&schools={beech.school.id}"
    ).encode()
    # A percent-escaped surrogate stays the literal text "%ED%A0%80"...
    escaped = ash.client.post(
        "/alerts/new",
        data=fields + b"&title=Fake%ED%A0%80page",
        content_type="application/x-www-form-urlencoded",
    )
    assert escaped.status_code == 303
    # ...and its raw bytes are not UTF-8, so the form does not parse: a 400.
    raw = ash.client.post(
        "/alerts/new",
        data=fields + b"&title=Fake\xed\xa0\x80page",
        content_type="application/x-www-form-urlencoded",
    )
    assert raw.status_code == 400
    assert _rows(app)[0] == before[0] + 1


# --- addresses that do not parse ------------------------------------------------------------

UNCLOSED_IPV6 = "http://[::1"


def test_a_link_that_does_not_parse_is_a_field_error_in_the_api_and_the_form(app, ash, beech):
    api = api_for(app, ash.person.email)
    before = _rows(app)
    body = alert_body([beech.school], links=[{"url": UNCLOSED_IPV6}])
    assert_problem(api.post("/api/v1/alerts", body), 422, "not valid", field="links[0].url")
    page = ash.post_alert([beech.school], links=f"{UNCLOSED_IPV6} 2026-11-20")
    assert page.status_code == 422
    assert "Line 1: that web address is not valid" in page.get_data(as_text=True)
    assert _rows(app) == before


@pytest.mark.parametrize("target", [UNCLOSED_IPV6, "https://[not-an-address]/hook"])
def test_a_webhook_address_that_does_not_parse_is_a_field_error_in_the_api_and_the_form(
    app, ash, target
):
    api = api_for(app, ash.person.email)
    before = _rows(app)
    body = {"personal": False, "channel": "webhook", "target": target}
    assert_problem(api.post("/api/v1/subscriptions", body), 422, "not valid", field="target")
    page = ash.post(
        "/notifications/subscriptions/new?for=school",
        {
            "name": "MIS",
            "channel": "webhook",
            "target_url": target,
            "min_severity": "info",
            "timing": "immediate",
            "digest_time": "07:30",
        },
    )
    assert page.status_code == 422
    assert "That address is not valid" in page.get_data(as_text=True)
    assert _rows(app) == before


# --- numbers past what the database holds ---------------------------------------------------

PAST_INT64 = "9999999999999999999"  # 19 digits, more than 2**63 - 1
TOO_LONG_TO_CONVERT = "9" * 5000  # Python converts at most 4,300 digits


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/audit/entries/{PAST_INT64}",
        f"/api/v1/audit/entries/{TOO_LONG_TO_CONVERT}",
        f"/api/v1/audit/entries?start={PAST_INT64}",
        f"/api/v1/audit/entries?end={PAST_INT64}",
        f"/api/v1/audit/entries?limit={TOO_LONG_TO_CONVERT}",
        f"/api/v1/audit/proofs/inclusion?seq={PAST_INT64}",
        f"/api/v1/audit/proofs/inclusion?seq=1&size={PAST_INT64}",
        f"/api/v1/audit/proofs/consistency?from=1&to={PAST_INT64}",
    ],
)
def test_a_number_past_the_audit_logs_range_is_a_400_in_the_api(app, ash, url):
    api = api_for(app, ash.person.email)
    assert_problem(api.get(url), 400, "must be a whole number at most 9223372036854775807")


@pytest.mark.parametrize("query", [f"before={PAST_INT64}", f"after={TOO_LONG_TO_CONVERT}"])
def test_a_page_link_past_the_audit_logs_range_is_a_400_on_the_audit_page(coordinator, query):
    response = coordinator.get(f"/audit?{query}")
    assert response.status_code == 400
    assert "The page link is not valid" in response.get_data(as_text=True)


def test_a_number_past_the_limit_of_an_inbox_page_is_a_400_naming_it(app, ash):
    response = api_for(app, ash.person.email).get(f"/api/v1/alerts?limit={TOO_LONG_TO_CONVERT}")
    assert_problem(response, 400, "whole number", field="limit")


@pytest.mark.parametrize(
    "generation",
    [
        "3000000000",  # past PostgreSQL's integer, within SQLite's
        "2147483648",  # 2**31
        "99999999999999999999",  # past any database's integer
        TOO_LONG_TO_CONVERT,
    ],
)
def test_a_key_generation_past_its_columns_range_names_nothing(app, ash, coordinator, generation):
    page = f"/cluster/schools/{ash.school.id}"
    response = post_form(coordinator, f"{page}/verify/{generation}", {}, page=page)
    assert response.status_code == 404
    # The largest generation the column holds is looked up, and is not there.
    largest = post_form(coordinator, f"{page}/verify/2147483647", {}, page=page)
    assert largest.status_code == 404
    assert "no keys of that generation" in largest.get_data(as_text=True)


# --- NUL, which PostgreSQL cannot store ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/audit/objects/alert/a%00b",
        "/admin/platforms/a%00b",
        "/notifications/mail/a%00b",
        "/api/v1/alerts/a%00b",
        "/api/v1/no%00where",
    ],
)
def test_nul_in_a_path_is_a_400_before_any_view_looks_it_up(app, ash, path):
    response = ash.client.get(path)
    assert response.status_code == 400
    assert "must not contain NUL characters" in response.get_data(as_text=True)
    if path.startswith("/api/"):
        assert_problem(response, 400, "The address must not contain NUL characters.")
