"""Passkeys: registering one, signing in with it, and refusing a cloned
authenticator and a passkey asked by another origin. A software authenticator
(tests/network/factor_helpers.py) answers the ceremonies; the browser test
(tests/browser/test_second_factors.py) uses Chromium's virtual one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import LoginSession, Role, SecondFactor
from tests.conftest import PASSWORD, csrf_token, post_form, sign_in
from tests.network.factor_helpers import BACKUP, SoftPasskey

HEAD = "head@oakfield.example.org"


def _passkey(app) -> SoftPasskey:
    settings = app.config["ALERTNET"]
    return SoftPasskey(settings.passkey_rp_id, settings.passkey_origin)


def _post_json(client, url, body, page):
    return client.post(url, json=body, headers={"X-CSRFToken": csrf_token(client, page)})


def _register(client, passkey, origin=None):
    page = "/account/second-factors"
    options = _post_json(client, "/account/second-factors/passkey/options", {}, page).get_json()
    answer = passkey.create(options, origin=origin)
    return _post_json(client, "/account/second-factors/passkey", {"credential": answer}, page)


def _authenticate(client, passkey, **kwargs):
    page = "/sign-in/second-factor"
    options = _post_json(client, "/sign-in/second-factor/passkey/options", {}, page).get_json()
    answer = passkey.get(options, **kwargs)
    return _post_json(client, "/sign-in/second-factor/passkey", {"credential": answer}, page)


def _head_with_passkey(world, client, app):
    cluster = world.cluster(second_factors=True)
    school = world.school(cluster, "Oakfield Primary")
    world.person(Role.HEAD, HEAD, school=school)
    sign_in(client, HEAD)
    passkey = _passkey(app)
    registered = _register(client, passkey)
    assert registered.status_code == 200, registered.get_data(as_text=True)
    assert registered.get_json()["redirect"] == "/account/second-factors/new-backup-codes"
    page = registered.get_json()["redirect"]
    offer = client.get(page).get_data(as_text=True)
    assert "Make my backup codes" in offer
    assert not BACKUP.findall(offer)
    cookie = client.get_cookie("session")
    assert cookie is None or not BACKUP.findall(cookie.value)
    codes = BACKUP.findall(
        post_form(client, "/account/second-factors/backup-codes", {}, page=page).get_data(
            as_text=True
        )
    )
    assert len(codes) == 8
    post_form(client, "/sign-out", {}, page="/account")
    return passkey


def _refusals(app):
    with own_transaction(app) as session:
        return [
            e.detail["reason"]
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "member.second_factor_refused")
                .order_by(AuditEvent.seq)
            )
        ]


def test_a_registered_passkey_finishes_the_sign_in(world, client, app):
    passkey = _head_with_passkey(world, client, app)
    sign_in(client, HEAD)
    assert client.get("/school").status_code == 302
    done = _authenticate(client, passkey)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["redirect"] == "/home"
    assert client.get("/school").status_code == 200
    with own_transaction(app) as session:
        factor = session.scalars(select(SecondFactor)).one()
        assert factor.kind == "passkey"
        assert factor.sign_count == 1
        assert session.scalars(select(LoginSession)).one().challenge is None


def test_a_cloned_authenticator_is_refused_with_a_clear_message_and_audited(world, client, app):
    passkey = _head_with_passkey(world, client, app)
    sign_in(client, HEAD)
    assert _authenticate(client, passkey).status_code == 200  # counter now 1
    post_form(client, "/sign-out", {}, page="/account")
    sign_in(client, HEAD)
    copy = _authenticate(client, passkey, counter=1)  # a copy replays the old counter
    assert copy.status_code == 401
    assert "looks copied" in copy.get_json()["error"]
    assert client.get("/school").status_code == 302
    assert _refusals(app) == ["cloned"]


def test_a_passkey_answering_for_another_origin_is_refused(world, client, app):
    passkey = _head_with_passkey(world, client, app)
    sign_in(client, HEAD)
    other = _authenticate(client, passkey, origin="https://hub.evil.example")
    assert other.status_code == 401
    assert "another website" in other.get_json()["error"]
    assert client.get("/school").status_code == 302
    assert _refusals(app) == ["wrong_origin"]


def test_a_passkey_from_another_origin_cannot_be_registered(world, client, app):
    cluster = world.cluster(second_factors=True)
    school = world.school(cluster, "Oakfield Primary")
    world.person(Role.HEAD, HEAD, school=school)
    sign_in(client, HEAD)
    refused = _register(client, _passkey(app), origin="https://hub.evil.example")
    assert refused.status_code == 422
    assert "another website" in refused.get_json()["error"]
    with own_transaction(app) as session:
        assert session.scalars(select(SecondFactor)).all() == []
    assert _refusals(app) == ["wrong_origin"]


def test_a_challenge_is_used_once(world, client, app):
    passkey = _head_with_passkey(world, client, app)
    sign_in(client, HEAD)
    page = "/sign-in/second-factor"
    options = _post_json(client, "/sign-in/second-factor/passkey/options", {}, page).get_json()
    answer = passkey.get(options)
    first = _post_json(client, "/sign-in/second-factor/passkey", {"credential": answer}, page)
    assert first.status_code == 200
    post_form(client, "/sign-out", {}, page="/account")
    sign_in(client, HEAD)
    replay = _post_json(client, "/sign-in/second-factor/passkey", {"credential": answer}, page)
    assert replay.status_code == 401
    assert "expired" in replay.get_json()["error"]


def test_a_passkey_and_the_password_confirm_it_is_you_before_a_dangerous_action(world, client, app):
    passkey = _head_with_passkey(world, client, app)
    sign_in(client, HEAD)
    _authenticate(client, passkey)
    with own_transaction(app) as session:
        login = session.scalars(select(LoginSession)).one()
        login.confirmed_at = login.confirmed_at - timedelta(minutes=6)
    stale = post_form(
        client, "/account/second-factors/backup-codes", {"confirm": "yes"}, page="/account"
    )
    assert stale.headers["Location"].startswith("/account/confirm")
    page = "/account/confirm"
    assert "Confirm with your passkey" in client.get(page).get_data(as_text=True)
    options = _post_json(client, "/account/confirm/passkey/options", {}, page).get_json()
    wrong = _post_json(
        client,
        "/account/confirm/passkey",
        {"credential": passkey.get(options), "password": "not my password at all"},
        page,
    )
    assert wrong.status_code == 422
    assert "password is not right" in wrong.get_json()["error"]
    options = _post_json(client, "/account/confirm/passkey/options", {}, page).get_json()
    confirmed = _post_json(
        client,
        "/account/confirm/passkey?next=/account",
        {"credential": passkey.get(options), "password": PASSWORD},
        page,
    )
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    assert confirmed.get_json()["redirect"] == "/account"
    made = post_form(
        client, "/account/second-factors/backup-codes", {"confirm": "yes"}, page="/account"
    )
    assert made.status_code == 200
    assert "Your new backup codes" in made.get_data(as_text=True)
