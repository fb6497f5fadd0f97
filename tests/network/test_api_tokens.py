"""API tokens: made in the hub or at the command line, scoped, expiring,
revocable; each opens only its own wrap of the school's keys; the gate in front
of the API (401 problems, scopes, CSRF for sessions only)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crypto import custody
from crypto.keys import SchoolKeys
from network.alerts.models import Alert
from network.cli import main
from network.db import own_transaction
from schools.db import utcnow
from schools.models import (
    ApiToken,
    CredentialKind,
    KeyWrap,
    Member,
    MemberStatus,
    Role,
    SchoolKeyGeneration,
)
from schools.tokens import NOT_VALID
from tests.conftest import PASSWORD, csrf_token, sign_in
from tests.network.alerts_helpers import audit_entries
from tests.network.api_helpers import (
    Api,
    alert_body,
    api_for,
    assert_problem,
    issue_token,
    token_id,
)

TOKEN_ON_PAGE = re.compile(r"<code>([0-9a-f]{32}\.[A-Za-z0-9_-]{43})</code>")


def _token_row(app, token: str) -> ApiToken:
    with own_transaction(app) as session:
        return session.get(ApiToken, uuid.UUID(token_id(token)))


def _wraps(app, token: str) -> list[int]:
    with own_transaction(app) as session:
        return list(
            session.scalars(
                select(KeyWrap.generation).where(
                    KeyWrap.credential_kind == CredentialKind.TOKEN,
                    KeyWrap.credential_id == uuid.UUID(token_id(token)),
                )
            )
        )


def _make_on_page(head, **fields) -> tuple[object, str | None]:
    data = {"name": "MIS sync", "scopes": ["inbox:read", "alerts:write"], "expires_days": "30"}
    data.update(fields)
    response = head.post("/account/tokens", data)
    found = TOKEN_ON_PAGE.search(response.get_data(as_text=True))
    return response, found.group(1) if found else None


# --- making tokens ---------------------------------------------------------------------------


def test_a_head_makes_a_token_in_the_hub_shown_once_with_its_last_use(app, ash, beech):
    response, token = _make_on_page(ash)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert token is not None
    page = ash.client.get("/account/tokens").get_data(as_text=True)
    assert token not in page  # shown once
    assert token.partition(".")[2] not in page
    assert "MIS sync" in page
    assert "Never" in page
    row = _token_row(app, token)
    assert row.secret_hash == custody.token_secret_hash(token.partition(".")[2])
    assert row.scope_list == ["alerts:write", "inbox:read"]
    assert _wraps(app, token) == [1]  # the school's keys, wrapped to the token alone
    [created] = audit_entries(app, "token.created")
    assert created.actor_id == ash.person.member.id
    assert created.detail["scopes"] == ["alerts:write", "inbox:read"]

    api = Api(app.test_client(), token)
    assert api.post("/api/v1/alerts", alert_body([beech.school])).status_code == 201
    page = ash.client.get("/account/tokens").get_data(as_text=True)
    assert "Never" not in page
    assert _token_row(app, token).last_used_at is not None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Name the token"),
        ({"scopes": []}, "Choose at least one scope"),
        ({"scopes": ["root"]}, "Unknown scope"),
        ({"expires_days": "400"}, "From 1 to 365"),
    ],
)
def test_bad_token_requests_are_refused_on_the_page(app, ash, fields, message):
    response, token = _make_on_page(ash, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert token is None
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_the_error_summary_links_to_the_scopes_fieldset(ash):
    response, _ = _make_on_page(ash, scopes=[])
    page = response.get_data(as_text=True)
    assert '<a href="#scopes">' in page
    assert 'id="scopes"' in page  # the fieldset the link lands on


def test_a_token_without_a_scope_is_refused_what_needs_it(app, ash, beech):
    reader = api_for(app, ash.person.email, scopes=("inbox:read",))
    response = reader.post("/api/v1/alerts", alert_body([beech.school]))
    assert_problem(response, 403, "'alerts:write' scope")
    assert_problem(reader.get("/api/v1/audit/checkpoint"), 403, "audit:read")
    assert_problem(reader.get("/api/v1/schools"), 403, "directory:read")
    assert reader.get("/api/v1/alerts").status_code == 200
    assert reader.get("/api/v1/me").status_code == 200
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_audit_proofs_accept_a_token_with_audit_read(app, ash):
    auditor = api_for(app, ash.person.email, scopes=("audit:read",))
    checkpoint = auditor.get("/api/v1/audit/checkpoint")
    assert checkpoint.status_code == 200
    size = checkpoint.get_json()["size"]
    assert auditor.get(f"/api/v1/audit/proofs/consistency?from={size}").status_code == 200
    entries = auditor.get("/api/v1/audit/entries").get_json()["entries"]
    assert entries
    assert all(e["school"] in (str(ash.school.id), None) for e in entries)
    # PostgreSQL refuses NUL in text: a 400 problem naming the parameter, not a 500.
    assert_problem(auditor.get("/api/v1/audit/entries?action=%00"), 400, "'action'")


# --- refusing tokens -------------------------------------------------------------------------


def test_unknown_malformed_and_wrong_tokens_get_a_401_problem(app, ash):
    good = issue_token(app, ash.person.email)
    wrong_secret = good.partition(".")[0] + "." + custody.new_api_token("x").partition(".")[2]
    for presented in (None, "garbage", f"{uuid.uuid4().hex}.{'A' * 43}", wrong_secret):
        response = Api(app.test_client(), presented).get("/api/v1/alerts")
        body = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Location" not in response.headers  # never a redirect to the sign-in page
        if presented:
            assert body["detail"] == NOT_VALID
    response = app.test_client().get("/api/v1/alerts", headers={"Authorization": "Basic eDp5"})
    assert_problem(response, 401, "Bearer")
    rejected = audit_entries(app, "token.rejected")
    assert {e.detail["reason"] for e in rejected} == {"malformed", "unknown", "wrong_secret"}


def test_every_refused_token_gets_the_same_answer_without_its_dates(app, ash):
    """Unknown, wrong secret, expired, revoked or its member gone: the same
    401 and the same words, so a refusal says neither that the id exists nor
    when it expired or was revoked (the reason is in the audit log)."""
    presented = {
        "unknown": custody.new_api_token(uuid.uuid4().hex),
        "wrong_secret": issue_token(app, ash.person.email).partition(".")[0]
        + "."
        + custody.new_api_token("x").partition(".")[2],
    }
    for state in ("expired", "revoked", "orphaned"):
        presented[state] = issue_token(app, ash.person.email)
    with own_transaction(app) as session:
        expired = session.get(ApiToken, uuid.UUID(token_id(presented["expired"])))
        expired.expires_at = utcnow() - timedelta(days=3)
        revoked = session.get(ApiToken, uuid.UUID(token_id(presented["revoked"])))
        revoked.revoked_at = utcnow() - timedelta(days=3)
    answers = {}
    for reason, token in presented.items():
        if reason == "orphaned":
            with own_transaction(app) as session:
                member = session.get(Member, ash.person.member.id)
                member.status = MemberStatus.REMOVED
        response = Api(app.test_client(), token).get("/api/v1/alerts")
        assert response.status_code == 401, reason
        answers[reason] = (response.get_data(as_text=True), response.headers["WWW-Authenticate"])
    assert len(set(answers.values())) == 1, answers
    body = assert_problem(response, 401)
    assert body == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Invalid or expired token. Check you copied all of it, or make a new one.",
    }
    reasons = [e.detail["reason"] for e in audit_entries(app, "token.rejected")]
    assert reasons == ["unknown", "wrong_secret", "expired", "revoked", "orphaned"]


def test_a_revoked_token_stops_at_once_and_loses_its_keys(app, ash):
    token = issue_token(app, ash.person.email)
    api = Api(app.test_client(), token)
    assert api.get("/api/v1/alerts").status_code == 200
    page = "/account/tokens"
    response = ash.post(f"/account/tokens/{token_id(token)}/revoke", {"confirm": "yes"}, page=page)
    assert response.status_code == 303
    assert_problem(api.get("/api/v1/alerts"), 401, NOT_VALID)
    assert _wraps(app, token) == []
    [revoked] = audit_entries(app, "token.revoked")
    assert revoked.actor_id == ash.person.member.id
    assert "Revoked" in ash.client.get(page).get_data(as_text=True)


def test_an_expired_token_is_refused_and_its_keys_are_forgotten(app, ash):
    token = issue_token(app, ash.person.email, days=1)
    api = Api(app.test_client(), token)
    assert api.get("/api/v1/me").status_code == 200
    with own_transaction(app) as session:
        session.get(ApiToken, uuid.UUID(token_id(token))).expires_at = utcnow() - timedelta(
            seconds=1
        )
    assert_problem(api.get("/api/v1/me"), 401, "expired")
    assert _wraps(app, token) == []
    assert "Expired" in ash.client.get("/account/tokens").get_data(as_text=True)


def test_another_school_cannot_revoke_a_token(app, ash, beech):
    token = issue_token(app, ash.person.email)
    response = beech.post(
        f"/account/tokens/{token_id(token)}/revoke", {"confirm": "yes"}, page="/account/tokens"
    )
    assert response.status_code == 404
    assert Api(app.test_client(), token).get("/api/v1/me").status_code == 200


# --- custody across key changes --------------------------------------------------------------


def test_rotation_wraps_the_new_keys_to_live_tokens_only(app, world, ash, beech):
    live = issue_token(app, ash.person.email)
    revoked = issue_token(app, ash.person.email)
    expired = issue_token(app, ash.person.email)
    ash.post(
        f"/account/tokens/{token_id(revoked)}/revoke", {"confirm": "yes"}, page="/account/tokens"
    )
    with own_transaction(app) as session:
        session.get(ApiToken, uuid.UUID(token_id(expired))).expires_at = utcnow()
    old = api_for(app, beech.person.email).post("/api/v1/alerts", alert_body([ash.school]))
    staff = world.person(Role.STAFF, "staff@ash.example.org", school=ash.school)
    response = ash.post(
        f"/school/members/{staff.member.id}/remove", {}, page="/school", follow_redirects=True
    )
    assert "generation 2" in response.get_data(as_text=True)
    assert _wraps(app, live) == [2]
    assert _wraps(app, revoked) == []
    assert _wraps(app, expired) == []
    # Beech seals to Ash's new keys; the live token opens them, and the old alert too.
    new = api_for(app, beech.person.email).post("/api/v1/alerts", alert_body([ash.school]))
    api = Api(app.test_client(), live)
    for posted in (new, old):
        opened = api.get(posted.get_json()["url"]).get_json()
        assert opened["verified"] is True, opened


def test_a_token_stops_when_its_member_leaves_the_school(app, world, ash):
    token = issue_token(app, ash.person.email)
    world.person(Role.HEAD, "second@ash.example.org", school=ash.school, name="Second Head")
    sign_in(app.test_client(), ash.person.email)  # confirms the new head's keys
    second = app.test_client()
    sign_in(second, "second@ash.example.org")
    response = second.post(
        f"/school/members/{ash.person.member.id}/remove",
        data={"csrf_token": csrf_token(second, "/school")},
    )
    assert response.status_code == 302
    assert_problem(Api(app.test_client(), token).get("/api/v1/me"), 401, NOT_VALID)
    assert _wraps(app, token) == []


# --- attribution -----------------------------------------------------------------------------


def test_what_a_token_does_is_attributed_to_its_member_with_the_token_id(app, ash, beech):
    token = issue_token(app, ash.person.email)
    posted = Api(app.test_client(), token).post("/api/v1/alerts", alert_body([beech.school]))
    assert posted.status_code == 201
    [entry] = audit_entries(app, "alert.posted")
    assert entry.actor_id == ash.person.member.id
    assert entry.actor_role == "head"
    assert entry.detail["token"] == token_id(token)
    # The page's own actions name no token.
    ash.client.get(posted.get_json()["url"].replace("/api/v1", ""))
    [opened] = audit_entries(app, "alert.opened")
    assert "token" not in opened.detail


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_makes_lists_and_revokes_tokens(app, runner, ash):
    result = runner.invoke(
        main,
        [
            "token",
            "create",
            "--email",
            ash.person.email,
            "--scope",
            "inbox:read,audit:read",
            "--name",
            "nightly",
            "--expires-days",
            "7",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert custody.parse_api_token(token)
    api = Api(app.test_client(), token)
    me = api.get("/api/v1/me").get_json()
    assert me["token"]["scopes"] == ["audit:read", "inbox:read"]
    assert me["keys_unlocked"] is True
    listed = runner.invoke(main, ["token", "list"])
    assert "nightly" in listed.output
    assert "live" in listed.output
    revoked = runner.invoke(main, ["token", "revoke", token_id(token)])
    assert revoked.exit_code == 0, revoked.output
    assert_problem(api.get("/api/v1/me"), 401, NOT_VALID)
    [entry] = audit_entries(app, "token.revoked")
    assert entry.actor_id is None  # the operator


@pytest.mark.parametrize(
    ("arguments", "password", "message"),
    [
        (["--scope", "inbox:read"], "not the password", "do not match"),
        (["--scope", "root"], PASSWORD, "Unknown scope"),
        (["--scope", "inbox:read", "--expires-days", "0"], PASSWORD, "from 1 to 365"),
    ],
)
def test_the_command_line_refuses_with_exit_2_and_writes_nothing(
    app, runner, ash, arguments, password, message
):
    result = runner.invoke(
        main,
        ["token", "create", "--email", ash.person.email, *arguments, "--password-stdin"],
        input=password + "\n",
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_staff_cannot_make_a_token_at_the_command_line(app, runner, world, ash):
    world.person(Role.STAFF, "staff@ash.example.org", school=ash.school)
    sign_in(app.test_client(), ash.person.email)  # confirms the staff member's keys
    result = runner.invoke(
        main,
        [
            "token",
            "create",
            "--email",
            "staff@ash.example.org",
            "--scope",
            "inbox:read",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 2
    assert "do not have access" in result.output


# --- the gate: sessions and CSRF -------------------------------------------------------------


def test_a_signed_in_browser_uses_the_api_but_needs_its_csrf_token_to_change_things(
    app, ash, beech
):
    body = alert_body([beech.school])
    assert ash.client.get("/api/v1/alerts").status_code == 200
    assert_problem(ash.client.post("/api/v1/alerts", json=body), 400, "CSRF")
    token = csrf_token(ash.client, "/alerts")
    response = ash.client.post("/api/v1/alerts", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_data(as_text=True)
    # A bearer request needs none, even with a session cookie beside it, and acts
    # as the token's member, not the cookie's.
    beech_token = issue_token(app, beech.person.email)
    response = ash.client.get("/api/v1/me", headers={"Authorization": f"Bearer {beech_token}"})
    assert response.get_json()["member"]["email"] == beech.person.email
    response = ash.client.post(
        "/api/v1/alerts",
        json=alert_body([ash.school]),
        headers={"Authorization": f"Bearer {beech_token}"},
    )
    assert response.status_code == 201
    assert response.get_json()["sender"]["name"] == "Beech"


def test_csrf_still_protects_the_pages(app, ash):
    response = ash.client.post(
        "/account/tokens", data={"name": "x", "scopes": ["inbox:read"], "expires_days": "3"}
    )
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert ash.client.post("/alerts/new", data={"title": "x"}).status_code == 400
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_the_api_never_answers_with_a_page(app, ash):
    token = issue_token(app, ash.person.email)
    api = Api(app.test_client(), token)
    assert_problem(api.get("/api/v1/nowhere"), 404, "no API endpoint")
    assert_problem(api.get(f"/api/v1/alerts/{uuid.uuid4()}"), 404)
    assert_problem(api.get("/api/v1/alerts/not-an-id"), 404)
    response = api.delete("/api/v1/alerts")
    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, HEAD, POST"
    response = api.post("/api/v1/me")
    assert_problem(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"
    assert_problem(app.test_client().get("/api/v1/nowhere"), 401)
    assert_problem(app.test_client().get("/api/v2/alerts"), 404)


def test_a_member_with_a_token_is_who_the_pages_say(app, ash):
    token = issue_token(app, ash.person.email)
    with own_transaction(app) as session:
        member = session.get(Member, ash.person.member.id)
        assert member.role == "head"
    me = Api(app.test_client(), token).get("/api/v1/me").get_json()
    assert me["member"]["id"] == str(ash.person.member.id)
    assert me["school"]["name"] == "Ash"


def test_a_token_is_authenticated_once_per_request(app, ash, monkeypatch):
    """The rate limiter and the gate both ask who the caller is: one lookup
    and one secret check serve both."""
    from network.api import gate

    api = api_for(app, ash.person.email)
    calls = []
    authenticate = gate.tokens.authenticate

    def counted(*args, **kwargs):
        calls.append(1)
        return authenticate(*args, **kwargs)

    monkeypatch.setattr(gate.tokens, "authenticate", counted)
    assert api.get("/api/v1/alerts").status_code == 200
    assert len(calls) == 1
    assert api.get("/api/v1/alerts?limit=1").status_code == 200
    assert len(calls) == 2


def test_keys_that_do_not_match_the_published_ones_are_audited_though_the_request_fails(
    app, ash, beech
):
    """The refusal is written even though the request answers 4xx and its
    transaction rolls back (audit.record_lasting)."""
    api = api_for(app, ash.person.email)
    with own_transaction(app) as session:
        session.execute(
            update(SchoolKeyGeneration)
            .where(SchoolKeyGeneration.school_id == ash.school.id)
            .values(public_keys=SchoolKeys.generate(1).public().to_bytes())
        )
    refused = api.post("/api/v1/alerts", alert_body([beech.school]))
    assert 400 <= refused.status_code < 500, refused.get_data(as_text=True)
    [mismatch] = audit_entries(app, "school.keys_mismatch")
    assert mismatch.detail["credential_kind"] == "token"
    assert mismatch.school_id == ash.school.id
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_every_problem_of_a_token_request_is_shown_at_once(app, ash):
    response, token = _make_on_page(ash, name="", scopes=[], expires_days="400")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Name the token" in page
    assert "Choose at least one scope" in page
    assert "From 1 to 365" in page
    assert token is None
