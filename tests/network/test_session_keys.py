"""Sessions hold the school's bundle, sealed under the cookie's key and bound to
their owner; credentials change on a password change, sign-out-everywhere and
a rotation, so copies of an old cookie, session row or password blob open
nothing made afterwards (design.md, "Sessions and credentials")."""

from __future__ import annotations

import base64
import uuid

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from crypto import envelope as env
from crypto.errors import CryptoError
from crypto.keys import SchoolKeys
from network.alerts.keychain import parse_public_keys
from network.alerts.models import Alert, Sealed, SealedWrap
from network.auth import KEYS_CHANGED
from network.db import own_transaction
from schools import accounts
from schools.models import LoginSession, Role, School, SchoolKeyGeneration
from tests.conftest import PASSWORD, sign_in
from tests.network.alerts_helpers import make_head


@pytest.fixture
def oak(app, world, cluster):
    return make_head(app, world, cluster, "Oakfield")


def _staff(app, world, head, email):
    """A staff member with the keys, signed in on a client of their own."""
    person = world.person(Role.STAFF, email, school=head.school)
    assert sign_in(head.client, head.person.email).status_code == 302  # confirms them
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return person, client


def _cookie(app, client):
    """The Flask session a browser holds (signed, not encrypted)."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    return serializer.loads(cookie.value)


def _stolen(app, client):
    """What a thief with this browser's cookie and a copy of the database holds:
    the cookie's key and the session row."""
    data = _cookie(app, client)
    with own_transaction(app) as session:
        row = session.get(LoginSession, accounts._token_hash(data["_user_id"]))
        assert row is not None
        session.expunge(row)
    return base64.urlsafe_b64decode(data["vk"]), row


def _open_stolen(cookie_key, row):
    return accounts.session_keys(row, cookie_key)


def _try_to_open(app, alert_id, school_id, bundle):
    """Open an alert's copy for a school with a bundle from an old session,
    relabelled as every generation the school has: CryptoError each time."""
    with own_transaction(app) as session:
        alert = session.get(Alert, uuid.UUID(alert_id))
        body = session.get(Sealed, alert.sealed_id).body
        wrap = session.scalars(
            select(SealedWrap).where(
                SealedWrap.sealed_id == alert.sealed_id, SealedWrap.school_id == school_id
            )
        ).one()
        sender = session.scalars(
            select(SchoolKeyGeneration.public_keys).where(
                SchoolKeyGeneration.school_id == alert.sender_school_id,
                SchoolKeyGeneration.generation == alert.sender_generation,
            )
        ).one()
    recipient = env.Recipient(str(school_id), wrap.generation)
    envelope = env.Envelope.from_bytes(body).with_wraps([(recipient, wrap.wrap)])
    relabelled = SchoolKeys(
        wrap.generation, bundle.kem_seed, bundle.ed25519_seed, bundle.mldsa_seed
    )
    with pytest.raises(CryptoError):
        env.open_envelope(envelope, recipient, relabelled, parse_public_keys(sender))


def test_the_session_row_holds_the_bundle_under_the_cookies_key_only(app, oak):
    cookie_key, row = _stolen(app, oak.client)
    with own_transaction(app) as session:
        school = session.get(School, oak.school.id)
        assert (row.school_id, row.generation) == (school.id, school.key_generation)
    keys = _open_stolen(cookie_key, row)
    assert keys is not None
    assert keys.generation == 1
    # The row alone, or with another browser's key, opens nothing.
    assert _open_stolen(bytes(32), row) is None


def test_a_session_row_moved_to_another_session_does_not_open(app, world, oak):
    _, staff_client = _staff(app, world, oak, "dsl@oakfield.example.org")
    head_key, head_row = _stolen(app, oak.client)
    staff_key, staff_row = _stolen(app, staff_client)
    assert _open_stolen(staff_key, staff_row) is not None
    # The head's sealed bundle put into the staff member's row (with the head's
    # key, which the thief also took): bound to the head's row, it fails.
    staff_row.vault = head_row.vault
    assert _open_stolen(head_key, staff_row) is None
    head_row.generation = 2  # the same row relabelled as another generation
    assert _open_stolen(head_key, head_row) is None


def test_a_rotation_renews_the_removers_session_and_signs_colleagues_out(app, world, oak, ash):
    staff, staff_client = _staff(app, world, oak, "dsl@oakfield.example.org")
    leaver = world.person(Role.STAFF, "leaver@oakfield.example.org", school=oak.school)
    assert sign_in(oak.client, oak.person.email).status_code == 302
    response = oak.post(f"/school/members/{leaver.member.id}/remove", {}, page="/school")
    assert response.status_code == 302
    assert "everyone else at the school signs in again" in oak.client.get("/school").get_data(
        as_text=True
    )
    with own_transaction(app) as session:
        rows = session.scalars(
            select(LoginSession).where(LoginSession.school_id == oak.school.id)
        ).all()
        assert [(r.member_id, r.generation) for r in rows] == [(oak.person.member.id, 2)]
    # The remover carries on with generation 2: an alert seals and opens.
    posted = oak.post_alert([ash.school], title="Sealed after the rotation", tier="all")
    assert posted.status_code == 303
    assert "Sealed after the rotation" in oak.client.get(posted.headers["Location"]).get_data(
        as_text=True
    )
    # The colleague is sent to sign in, and told why.
    page = staff_client.get("/alerts", follow_redirects=True).get_data(as_text=True)
    assert KEYS_CHANGED.replace("'", "&#39;") in page
    assert sign_in(staff_client, staff.email).status_code == 302
    assert "Sealed after the rotation" in staff_client.get(posted.headers["Location"]).get_data(
        as_text=True
    )


def test_an_old_cookie_and_row_open_nothing_after_a_password_change_and_rotation(
    app, world, oak, ash
):
    staff, staff_client = _staff(app, world, oak, "dsl@oakfield.example.org")
    leaver = world.person(Role.STAFF, "leaver@oakfield.example.org", school=oak.school)
    assert sign_in(oak.client, oak.person.email).status_code == 302
    cookie_key, row = _stolen(app, staff_client)
    new = "a different long passphrase"
    response = staff_client.post(
        "/account",
        data={
            "current": PASSWORD,
            "password": new,
            "confirm": new,
            "csrf_token": _csrf(staff_client, "/account"),
        },
    )
    assert response.status_code == 302
    # The member carries on in a new session; the stolen row is gone from the hub.
    page = staff_client.get("/alerts")
    assert page.status_code == 200
    assert "your other devices are signed out" in page.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.get(LoginSession, row.id_hash) is None
    oak.post(f"/school/members/{leaver.member.id}/remove", {}, page="/school")
    alert_id = (
        oak.post_alert([ash.school], title="After", tier="all")
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    # The copy kept by the thief still opens what it held, generation 1 ...
    old = _open_stolen(cookie_key, row)
    assert old is not None
    assert old.generation == 1
    # ... and nothing sealed to generation 2.
    _try_to_open(app, alert_id, oak.school.id, old)
    assert sign_in(staff_client, staff.email, new).status_code == 302


def test_an_old_cookie_and_row_open_nothing_after_sign_out_everywhere_and_rotation(
    app, world, oak, ash
):
    staff, staff_client = _staff(app, world, oak, "dsl@oakfield.example.org")
    leaver = world.person(Role.STAFF, "leaver@oakfield.example.org", school=oak.school)
    assert sign_in(oak.client, oak.person.email).status_code == 302
    cookie_key, row = _stolen(app, staff_client)
    response = staff_client.post(
        "/account/sign-out-everywhere",
        data={"password": PASSWORD, "csrf_token": _csrf(staff_client, "/account")},
    )
    assert response.status_code == 302
    oak.post(f"/school/members/{leaver.member.id}/remove", {}, page="/school")
    alert_id = (
        oak.post_alert([ash.school], title="After", tier="all")
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    old = _open_stolen(cookie_key, row)
    assert old is not None
    _try_to_open(app, alert_id, oak.school.id, old)
    # The member signs in with the same password and reads it.
    assert sign_in(staff_client, staff.email).status_code == 302
    page = staff_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "After" in page


def _csrf(client, page):
    from tests.conftest import csrf_token

    return csrf_token(client, page)
