"""Signing in and out, sessions, CSRF, headers and cookies."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import LoginSession, Role
from tests.conftest import PASSWORD, csrf_token, post_form, sign_in


def _admin(world):
    return world.person(Role.HUB_ADMIN, "admin@hub.example.org")


def test_head_signs_in_and_lands_on_what_needs_their_attention(world, client):
    cluster = world.cluster()
    school = world.school(cluster, "Oakfield Primary")
    world.person(Role.HEAD, "head@oakfield.example.org", school=school)
    response = sign_in(client, "head@oakfield.example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    page = client.get("/home").get_data(as_text=True)
    assert "Needs your attention" in page
    assert "Oakfield Primary" in page


def test_wrong_password_is_refused_with_a_clear_message_and_audited(world, client, app):
    _admin(world)
    response = sign_in(client, "admin@hub.example.org", "not the right password")
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    assert client.get("/admin/clusters").status_code == 302  # still signed out
    with own_transaction(app) as session:
        failed = session.scalar(
            select(func.count()).where(AuditEvent.action == "member.sign_in_failed")
        )
    assert failed == 1


def test_unknown_email_gets_the_same_message_as_a_wrong_password(world, client):
    response = sign_in(client, "nobody@example.org", PASSWORD)
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_empty_sign_in_form_names_both_fields(client):
    response = post_form(client, "/sign-in", {"email": "", "password": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your email address." in page
    assert "Enter your password." in page
    assert 'aria-invalid="true"' in page


def test_sign_out_ends_the_session_and_deletes_its_row(world, client, app):
    _admin(world)
    sign_in(client, "admin@hub.example.org")
    response = post_form(client, "/sign-out", {}, page="/admin/clusters")
    assert response.status_code == 302
    assert client.get("/admin/clusters").status_code == 302
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_sign_in_gives_a_fresh_session_cookie(world, client):
    _admin(world)
    client.get("/sign-in")
    before = client.get_cookie("alertnet_session").value
    sign_in(client, "admin@hub.example.org")
    after = client.get_cookie("alertnet_session").value
    assert before != after


def test_session_cookie_is_httponly_and_samesite(world, client):
    _admin(world)
    response = sign_in(client, "admin@hub.example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over plain http in tests


def test_cookie_is_secure_when_served_over_https(tmp_path, database_url):
    from network import create_app
    from tests.conftest import settings_for_tests

    app = create_app(
        settings_for_tests(tmp_path, database_url, public_url="https://hub.example.org")
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/sign-in")
    assert "Secure" in response.headers["Set-Cookie"]
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_forms_without_a_csrf_token_are_refused(world, client):
    _admin(world)
    response = client.post(
        "/sign-in", data={"email": "admin@hub.example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "expired or did not come from this hub" in response.get_data(as_text=True)
    sign_in(client, "admin@hub.example.org")
    response = client.post(
        "/admin/clusters", data={"name": "X", "coordinator_email": "c@x.example.org"}
    )
    assert response.status_code == 400


def test_every_page_sends_the_security_headers(client):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(world, client):
    _admin(world)
    sign_in(client, "admin@hub.example.org")
    for page in ("/sign-in", "/admin/clusters", "/account"):
        html = client.get(page).get_data(as_text=True)
        assert "<script>" not in html
        assert "style=" not in html
        assert "<style" not in html


def test_sign_in_redirects_only_to_local_next_urls(world, client):
    _admin(world)
    response = post_form(
        client,
        "/sign-in?next=https://evil.example.org/",
        {
            "email": "admin@hub.example.org",
            "password": PASSWORD,
            "next": "https://evil.example.org/",
        },
    )
    assert response.headers["Location"] == "/admin/clusters"
    post_form(client, "/sign-out", {}, page="/account")
    response = post_form(
        client,
        "/sign-in",
        {"email": "admin@hub.example.org", "password": PASSWORD, "next": "/account"},
    )
    assert response.headers["Location"] == "/account"


def test_repeated_sign_in_attempts_are_throttled_and_recorded(world, app, client):
    app.config["ALERTNET"] = replace(app.config["ALERTNET"], ratelimit_sign_in="3 per minute")
    statuses = [
        sign_in(client, "nobody@example.org", "wrong password!!").status_code for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    with own_transaction(app) as session:
        throttled = session.scalar(
            select(func.count()).where(AuditEvent.action == "member.sign_in_throttled")
        )
    assert throttled == 1


def test_repeated_recovery_attempts_are_throttled_and_recorded(world, app, client):
    app.config["ALERTNET"] = replace(app.config["ALERTNET"], ratelimit_sign_in="3 per minute")
    attempt = {
        "email": "nobody@example.org",
        "code": "not-a-code",
        "password": "a new long passphrase",
        "confirm": "a new long passphrase",
    }
    statuses = [post_form(client, "/recover", attempt).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    page = post_form(client, "/recover", attempt).get_data(as_text=True)
    assert "Too many attempts" in page
    with own_transaction(app) as session:
        throttled = session.scalar(
            select(func.count()).where(AuditEvent.action == "member.recovery_throttled")
        )
    assert throttled == 2


def test_change_password_keeps_access_and_old_password_stops_working(world, client):
    _admin(world)
    sign_in(client, "admin@hub.example.org")
    new = "another long passphrase here"
    response = post_form(client, "/account", {"current": PASSWORD, "password": new, "confirm": new})
    assert response.status_code == 302
    post_form(client, "/sign-out", {}, page="/account")
    assert sign_in(client, "admin@hub.example.org").status_code == 401
    assert sign_in(client, "admin@hub.example.org", new).status_code == 302


def test_change_password_with_wrong_current_password_says_so(world, client):
    _admin(world)
    sign_in(client, "admin@hub.example.org")
    response = post_form(
        client,
        "/account",
        {"current": "wrong wrong wrong", "password": "x" * 20, "confirm": "x" * 20},
    )
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)


def test_change_password_shows_every_problem_at_once(world, client):
    _admin(world)
    sign_in(client, "admin@hub.example.org")
    # A wrong current password and a new one that does not match its confirmation.
    wrong = post_form(
        client,
        "/account",
        {"current": "wrong wrong wrong", "password": "x" * 20, "confirm": "y" * 20},
    )
    assert wrong.status_code == 422
    page = wrong.get_data(as_text=True)
    assert "current password is not right" in page
    assert "The two passwords do not match." in page
    # No current password (the form's own check) and a mismatched new one.
    blank = post_form(client, "/account", {"current": "", "password": "x" * 20, "confirm": "z"})
    page = blank.get_data(as_text=True)
    assert "Enter your current password." in page
    assert "The two passwords do not match." in page


def test_sign_out_everywhere_ends_other_devices(world, app):
    _admin(world)
    phone, laptop = app.test_client(), app.test_client()
    sign_in(phone, "admin@hub.example.org")
    sign_in(laptop, "admin@hub.example.org")
    response = post_form(
        laptop, "/account/sign-out-everywhere", {"password": PASSWORD}, page="/account"
    )
    assert response.status_code == 302
    assert phone.get("/admin/clusters").status_code == 302
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert sign_in(phone, "admin@hub.example.org").status_code == 302


def test_sign_out_everywhere_asks_for_the_password_beside_its_field(world, client, app):
    _admin(world)
    sign_in(client, "admin@hub.example.org")
    for typed, message in [("", "Enter your password."), ("not it at all", "not right")]:
        response = post_form(
            client, "/account/sign-out-everywhere", {"password": typed}, page="/account"
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert client.get("/account").status_code == 200
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 1


def test_expired_sessions_are_refused(world, client, app):
    from datetime import timedelta

    from schools.models import utcnow

    _admin(world)
    sign_in(client, "admin@hub.example.org")
    with own_transaction(app) as session:
        for row in session.scalars(select(LoginSession)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/admin/clusters").status_code == 302
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_healthz_is_public(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_nul_characters_are_refused_with_a_clear_400(world, client):
    _admin(world)
    sign_in(client, "admin@hub.example.org")
    response = client.get("/audit?action=%00")
    assert response.status_code == 400
    assert "NUL characters" in response.get_data(as_text=True)
    response = client.get("/api/v1/audit/entries?action=%00")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_behind_a_proxy_each_client_has_its_own_limit_and_address(database_url, tmp_path):
    from tests.conftest import hub

    with hub(database_url, tmp_path, proxy_hops=1, ratelimit_sign_in="2 per minute") as app:
        one, two = app.test_client(), app.test_client()

        def attempt(client, address):
            return client.post(
                "/sign-in",
                data={
                    "email": "nobody@example.org",
                    "password": "wrong password!!",
                    "csrf_token": csrf_token(client, "/sign-in"),
                },
                headers={"X-Forwarded-For": address},
            ).status_code

        assert [attempt(one, "198.51.100.7") for _ in range(3)] == [401, 401, 429]
        assert attempt(two, "203.0.113.9") == 401  # another client, its own limit
        with own_transaction(app) as session:
            details = session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "member.sign_in_throttled")
            ).all()
        assert [detail["ip"] for detail in details] == ["198.51.100.7"]


def test_the_worker_deletes_expired_sessions_whose_cookie_never_returns(world, client, app):
    from datetime import timedelta

    from network.worker import Worker
    from schools.models import utcnow

    _admin(world)
    sign_in(client, "admin@hub.example.org")
    sign_in(app.test_client(), "admin@hub.example.org")  # a second, live session
    with own_transaction(app) as session:
        first = session.scalars(select(LoginSession)).first()
        assert first is not None
        first.expires_at = utcnow() - timedelta(seconds=1)
    assert Worker(app).periodic(maintenance=True)["sessions_purged"] == 1
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 1
