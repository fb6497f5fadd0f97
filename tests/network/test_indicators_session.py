"""A login session keeps the cluster correlation keys it opened, sealed under
its cookie's key (issue 21, speed: schools/session_correlation.py)."""

from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import event, select, text

from crypto import indicators as ind
from crypto import session_correlation as sealing
from crypto.custody import FAST_FOR_TESTS, session_context
from network.alerts import indicators
from network.alerts.content import AlertContent, Link
from network.alerts.keychain import Keychain
from network.alerts.models import Alert
from network.db import engine, own_transaction
from schools import accounts, directory, keyring
from schools.models import CorrelationKeyWrap, LoginSession, School
from schools.session_correlation import SessionCorrelation
from tests.conftest import PASSWORD
from tests.factories import sign_in
from tests.network.alerts_helpers import keys_of

LINK = "https://facebook.example.com/groups/riverside-parents/"

pytestmark = pytest.mark.heads("Ash", "Beech", "Cedar", "Damson")


def _posted_id(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def _row(app, member_id) -> LoginSession:
    with own_transaction(app) as session:
        (login,) = session.scalars(select(LoginSession).where(LoginSession.member_id == member_id))
        session.expunge(login)
        return login


def _sealed(app, head) -> sealing.SealedKeys:
    """What the head's browser session seals, opened with its cookie's key."""
    login = _row(app, head.person.member.id)
    with head.client.session_transaction() as cookie:
        vault_key = base64.urlsafe_b64decode(cookie["vk"])
    with own_transaction(app) as session:
        cluster_id = session.get(School, head.school.id).cluster_id
    assert login.correlation_vault is not None
    context = session_context(login.member_id, login.school_id, login.generation, login.id_hash)
    return sealing.open_(vault_key, login.correlation_vault, sealing.context(context, cluster_id))


@pytest.fixture
def unwraps(monkeypatch):
    """Counts the decapsulations of the school's wraps of the correlation key."""
    counted: list[int] = []
    real = ind.unwrap_correlation_key

    def counting(*args, **kwargs):
        counted.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(ind, "unwrap_correlation_key", counting)
    return counted


def test_a_session_opens_the_key_once_and_after_a_school_leaves_matches_with_the_new_one(
    app, heads, unwraps
):
    a, b, c, d = (heads[n] for n in ("Ash", "Beech", "Cedar", "Damson"))
    old = _posted_id(a.post_alert([b.school, c.school, d.school], links=LINK))
    unwraps.clear()
    page = c.client.get(f"/alerts/{old}").get_data(as_text=True)
    assert "mentions the same" not in page
    assert unwraps == [1]  # opened once, then kept in the session
    first = _sealed(app, c)
    assert set(first.keys) == {1}
    assert first.stamp == sealing.Stamp(1, 1)
    c.client.get(f"/alerts/{old}")
    assert unwraps == [1]  # the next request takes it from the session

    # Damson leaves: the next poster makes generation 2, wrapped to the others.
    with own_transaction(app) as session:
        directory.suspend_school(session, None, session.get(School, d.school.id), "left")
    new = _posted_id(b.post_alert([a.school, c.school], links=LINK + "?fbclid=xyz"))
    unwraps.clear()

    # Cedar's session, made before the rotation, sees the school was given
    # generation 2, opens only that one, and matches across both.
    page = c.client.get(f"/alerts/{new}").get_data(as_text=True)
    assert "1 other alert from 1 school mentions the same link" in page
    assert f'href="/alerts/{old}"' in page
    assert unwraps == [2]
    second = _sealed(app, c)
    assert set(second.keys) == {1, 2}
    assert second.keys[1] == first.keys[1]
    assert second.stamp == sealing.Stamp(2, 2)
    # And the old alert finds the new one through the key of generation 2.
    page = c.client.get(f"/alerts/{old}").get_data(as_text=True)
    assert "1 other alert from 1 school mentions the same link" in page
    assert f'href="/alerts/{new}"' in page
    assert unwraps == [2]


def test_a_tampered_sealed_key_is_refused_and_the_wraps_are_opened_again(app, heads, unwraps):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    first = _posted_id(a.post_alert([b.school, c.school], links=LINK))
    second = _posted_id(b.post_alert([a.school, c.school], links=LINK))
    c.client.get(f"/alerts/{first}")
    sealed = _sealed(app, c)
    login = _row(app, c.person.member.id)
    blob = login.correlation_vault
    assert blob is not None

    # The hub changes one byte of the sealed keys (here: inside the ciphertext).
    tampered = blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]
    with own_transaction(app) as session:
        session.get(LoginSession, login.id_hash).correlation_vault = tampered
    unwraps.clear()
    page = c.client.get(f"/alerts/{first}").get_data(as_text=True)
    assert unwraps == [1]  # refused: the school's wrap was opened instead
    assert f'href="/alerts/{second}"' in page
    assert _row(app, c.person.member.id).correlation_vault not in (tampered, blob)
    assert _sealed(app, c).keys == sealed.keys

    # Another session's sealed keys, put in this row, do not open here either.
    b.client.get(f"/alerts/{second}")
    other = _row(app, b.person.member.id)
    assert other.correlation_vault is not None
    with own_transaction(app) as session:
        session.get(LoginSession, login.id_hash).correlation_vault = other.correlation_vault
    unwraps.clear()
    c.client.get(f"/alerts/{first}")
    assert unwraps == [1]


def test_with_the_sessions_keys_the_lookup_is_one_statement(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    first = _posted_id(a.post_alert([b.school], links=LINK, accounts="@riverside_gossip"))
    second = _posted_id(b.post_alert([a.school], links=LINK))
    content = AlertContent("Gossip", links=(Link(LINK),), accounts=("@riverside_gossip",))
    issued: list[tuple[str, object]] = []

    def count(_conn, _cursor, statement, parameters, *_args):
        if not statement.startswith("BEGIN"):
            issued.append((statement, parameters))

    with own_transaction(app) as session:
        member, credential = accounts.authenticate(
            session, b.person.email, PASSWORD, FAST_FOR_TESTS
        )
        signed = accounts.start_session(session, member, credential)
        keys = accounts.session_keys(signed.login, signed.vault_key)
        assert keys is not None
        school = session.get(School, b.school.id)
        alert = session.get(Alert, uuid.UUID(first))
        kept = SessionCorrelation(signed.login, signed.vault_key)

        def lookup():
            return indicators.correlations(
                session,
                school,
                Keychain(session, school.id, keys).for_generation,
                alert,
                content,
                member,
                kept,
            )

        lookup()  # the first: opens the school's wraps, seals them in the session
        session.flush()
        event.listen(engine(app), "before_cursor_execute", count)
        try:
            found = lookup()
        finally:
            event.remove(engine(app), "before_cursor_execute", count)
        assert len(issued) == 1, issued
        (statement, parameters), connection = issued[0], session.connection()
        if connection.dialect.name == "postgresql":
            # A handful of rows would be scanned; the plan at scale is the index's.
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        else:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    assert "ix_alert_indicators_hash" in " ".join(str(row) for row in plan), plan
    assert [[str(m.alert_id) for m in c.matches] for c in found] == [[second]]


def test_after_the_schools_own_keys_rotate_a_new_session_opens_old_wraps_through_the_history(
    app, heads, unwraps
):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    old = _posted_id(a.post_alert([b.school, c.school], links=LINK))
    new = _posted_id(b.post_alert([a.school, c.school], links=LINK))
    with own_transaction(app) as session:
        member, keys = keys_of(session, c.person.email)
        keyring.rotate(session, session.get(School, c.school.id), keys, member, "test rotation")
        wrap = session.get(CorrelationKeyWrap, (c.school.cluster_id, 1, c.school.id))
        assert wrap.school_generation == 1  # wrapped to the bundle now retired
    assert c.client.get(f"/alerts/{new}").status_code == 302  # the rotation ended it

    client = app.test_client()
    assert sign_in(client, c.person.email).status_code == 302
    unwraps.clear()
    page = client.get(f"/alerts/{new}").get_data(as_text=True)
    assert "1 other alert from 1 school mentions the same link" in page
    assert f'href="/alerts/{old}"' in page
    assert unwraps == [1]  # through the school's generation history, once
    client.get(f"/alerts/{old}")
    assert unwraps == [1]
