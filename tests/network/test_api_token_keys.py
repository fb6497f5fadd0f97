"""What a token's wraps opened is remembered by the process (schools/opened_wraps.py),
and never outlives the token, its secret or its wraps: revocation, a rotation,
a wrap deleted or changed in the database, and the lifetime each end it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, update

from crypto import custody
from network.db import own_transaction
from schools import opened_wraps
from schools.models import CredentialKind, KeyWrap, Role
from schools.tokens import NOT_VALID
from tests.network.api_helpers import (
    Api,
    alert_body,
    api_for,
    assert_problem,
    issue_token,
    token_id,
)


@pytest.fixture
def decapsulations(monkeypatch):
    """How many credential wraps were opened in full (HPKE) so far."""
    opened_wraps.forget_all()
    calls: list[int] = []
    unwrap = custody.unwrap_with_credential

    def counted(*args, **kwargs):
        calls.append(1)
        return unwrap(*args, **kwargs)

    monkeypatch.setattr(custody, "unwrap_with_credential", counted)
    yield calls
    opened_wraps.forget_all()


def _id(token: str) -> uuid.UUID:
    return uuid.UUID(token_id(token))


def test_a_token_opens_its_wraps_once_and_reads_from_memory_after(app, ash, decapsulations):
    token = issue_token(app, ash.person.email)
    decapsulations.clear()  # the password's wraps, opened to make the token
    api = Api(app.test_client(), token)
    assert api.get("/api/v1/me").get_json()["keys_unlocked"] is True
    first = len(decapsulations)
    assert first >= 1
    assert opened_wraps.remembered(_id(token)) == first
    for _ in range(3):
        assert api.get("/api/v1/me").get_json()["keys_unlocked"] is True
    assert len(decapsulations) == first


def test_the_secret_is_still_checked_on_every_request(app, ash, decapsulations):
    token = issue_token(app, ash.person.email)
    assert Api(app.test_client(), token).get("/api/v1/alerts").status_code == 200
    id_text, _ = custody.parse_api_token(token)
    other = custody.new_api_token(id_text)  # the same id, another secret
    assert_problem(Api(app.test_client(), other).get("/api/v1/alerts"), 401, NOT_VALID)


def test_revoking_a_token_forgets_what_it_opened_and_refuses_it_at_once(app, ash, decapsulations):
    token = issue_token(app, ash.person.email)
    api = Api(app.test_client(), token)
    assert api.get("/api/v1/alerts").status_code == 200
    assert opened_wraps.remembered(_id(token)) > 0
    response = ash.post(
        f"/account/tokens/{token_id(token)}/revoke", {"confirm": "yes"}, page="/account/tokens"
    )
    assert response.status_code == 303
    assert opened_wraps.remembered(_id(token)) == 0
    assert_problem(api.get("/api/v1/alerts"), 401, NOT_VALID)


def test_a_wrap_deleted_or_changed_in_the_database_is_not_served_from_memory(
    app, ash, decapsulations
):
    """Another process revoking (its wraps deleted) or a wrap rewritten: this
    process reads the wraps on each request, so what it remembers is unreachable."""
    token = issue_token(app, ash.person.email)
    api = Api(app.test_client(), token)
    assert api.get("/api/v1/me").get_json()["keys_unlocked"] is True
    school_wrap = (KeyWrap.credential_kind == CredentialKind.TOKEN) & (
        KeyWrap.credential_id == _id(token)
    )
    with own_transaction(app) as session:
        session.execute(update(KeyWrap).where(school_wrap).values(wrap=b"CW\x01" + b"\0" * 1200))
    assert api.get("/api/v1/me").get_json()["keys_unlocked"] is False
    with own_transaction(app) as session:
        session.execute(delete(KeyWrap).where(school_wrap))
    assert api.get("/api/v1/me").get_json()["keys_unlocked"] is False


def test_after_a_rotation_the_token_opens_the_new_generation(
    app, world, ash, beech, decapsulations
):
    token = issue_token(app, ash.person.email)
    api = Api(app.test_client(), token)
    assert api.get("/api/v1/alerts").status_code == 200
    before = len(decapsulations)
    staff = world.person(Role.STAFF, "staff@ash.example.org", school=ash.school)
    response = ash.post(
        f"/school/members/{staff.member.id}/remove", {}, page="/school", follow_redirects=True
    )
    assert "generation 2" in response.get_data(as_text=True)
    posted = api_for(app, beech.person.email).post("/api/v1/alerts", alert_body([ash.school]))
    opened = api.get(posted.get_json()["url"]).get_json()
    assert opened["verified"] is True, opened
    assert len(decapsulations) > before  # the new generation's wrap, opened in full


def test_what_was_opened_lapses_with_its_lifetime(app, ash, decapsulations, monkeypatch):
    token = issue_token(app, ash.person.email)
    api = Api(app.test_client(), token)
    decapsulations.clear()
    assert api.get("/api/v1/me").status_code == 200
    first = len(decapsulations)
    monkeypatch.setattr(opened_wraps, "LIFETIME", 0.0)
    assert api.get("/api/v1/me").get_json()["keys_unlocked"] is True
    assert len(decapsulations) == 2 * first


def test_what_the_process_remembers_is_sealed_and_opens_nothing_without_the_secret(
    app, ash, monkeypatch
):
    """Each remembered bundle is kept sealed under a key derived from the
    token's credential: the bundles the token's wraps open appear nowhere in
    the process's memory of them."""
    opened_wraps.forget_all()
    plain: list[bytes] = []
    unwrap = custody.unwrap_with_credential

    def kept(*args, **kwargs):
        plain.append(unwrap(*args, **kwargs))
        return plain[-1]

    monkeypatch.setattr(custody, "unwrap_with_credential", kept)
    token = issue_token(app, ash.person.email)
    plain.clear()
    assert Api(app.test_client(), token).get("/api/v1/me").get_json()["keys_unlocked"] is True
    entries = [entry for _, owner, entry in opened_wraps._opened.values() if owner == _id(token)]
    assert plain
    assert len(entries) == len(plain)
    for bundle in plain:
        assert all(bundle not in entry for entry in entries)
    opened_wraps.forget_all()
