"""API tokens in the school domain: one rule for a live token, and what happens
to the wraps of tokens that can no longer be used."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from schools import credentials, invitations, leadership, roles, tokens
from schools.audit.models import AuditEvent
from schools.db import utcnow
from schools.errors import Conflict
from schools.models import ApiToken, CredentialKind, KeyWrap, Role
from tests.factories import join as _join


@pytest.fixture
def two_heads(session, school):
    a = _join(
        session,
        invitations.invite(session, None, Role.HEAD, "a@oak.example.org", school=school).token,
        "Amara",
    )
    keys = leadership.unlock_for_member(session, a.member, a.credential)
    b = _join(
        session,
        invitations.invite(
            session, a.member, Role.HEAD, "b@oak.example.org", school=school, actor_keys=keys
        ).token,
        "Bola",
    )
    return a, b, keys


def _states(session, now):
    """Every token's state by the Python rule, and the ids the SQL rule calls live."""
    python = {t.id: t.state(now) for t in session.scalars(select(ApiToken))}
    sql = set(session.scalars(select(ApiToken.id).where(ApiToken.is_live(now))))
    return python, sql


def test_the_python_and_sql_rules_for_a_live_token_agree(session, school, two_heads):
    a, b, keys = two_heads
    now = utcnow()
    live = tokens.create_token(session, b.member, keys, "live", ["inbox:read"], now=now)
    revoked = tokens.create_token(session, b.member, keys, "revoked", ["inbox:read"], now=now)
    tokens.revoke_token(session, b.member, revoked.token.id, now=now)
    short = tokens.create_token(session, b.member, keys, "short", ["inbox:read"], 1, now=now)
    orphan = tokens.create_token(session, a.member, keys, "orphan", ["inbox:read"], now=now)
    keys = roles.remove_member(session, b.member, a.member.id, keys).keys
    later = now + timedelta(days=2)
    python, sql = _states(session, later)
    assert python == {
        live.token.id: "live",
        revoked.token.id: "revoked",
        short.token.id: "expired",
        orphan.token.id: "orphaned",
    }
    assert sql == {i for i, state in python.items() if state == "live"}
    assert [i for i, _ in credentials.live_tokens(session, school.id, later)] == [live.token.id]


def test_the_live_token_limit_does_not_count_a_removed_members_tokens(
    session, school, two_heads, monkeypatch
):
    monkeypatch.setattr(tokens, "MAX_LIVE_PER_SCHOOL", 1)
    a, b, keys = two_heads
    tokens.create_token(session, a.member, keys, "A's script", ["inbox:read"])
    with pytest.raises(Conflict, match="already has 1 live tokens"):
        tokens.create_token(session, b.member, keys, "B's script", ["inbox:read"])
    keys = roles.remove_member(session, b.member, a.member.id, keys).keys
    # A's token is orphaned: rotation did not wrap to it, and it is not counted.
    assert credentials.live_tokens(session, school.id, utcnow()) == []
    tokens.create_token(session, b.member, keys, "B's script", ["inbox:read"])


def test_forgetting_an_unusable_tokens_wraps_is_audited_once(session, school, two_heads):
    _, b, keys = two_heads
    now = utcnow()
    issued = tokens.create_token(session, b.member, keys, "short", ["inbox:read"], 1, now=now)
    token_id = issued.token.id
    assert not tokens.forget_expired(session, token_id, now)  # still live
    later = now + timedelta(days=2)
    assert tokens.forget_expired(session, token_id, later)
    assert not session.scalars(
        select(KeyWrap).where(
            KeyWrap.credential_kind == CredentialKind.TOKEN, KeyWrap.credential_id == token_id
        )
    ).all()
    assert not tokens.forget_expired(session, token_id, later)  # nothing left to forget
    session.commit()
    forgotten = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "token.wraps_forgotten")
    ).all()
    assert [(e.object_id, e.detail) for e in forgotten] == [
        (str(token_id), {"state": "expired", "wraps": 1})
    ]
    assert forgotten[0].school_id == school.id
