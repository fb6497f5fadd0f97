"""At unlock, the bundle a wrap yields must be the one whose public keys the
school published for that generation (what heads compare fingerprints of): a
mismatch refuses the unlock and is written to the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from crypto import custody
from crypto.keys import SchoolKeys
from schools import accounts, keyring, tokens
from schools.audit.models import AuditEvent
from schools.errors import KeysLocked
from schools.models import CredentialKind, KeyWrap, SchoolKeyGeneration

PASSWORD = "a long enough test passphrase"


def _mismatches(session):
    session.commit()
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == "school.keys_mismatch")
    ).all()


def test_a_bundle_the_school_never_published_is_refused_at_unlock(session, school, head):
    """Someone with write access wraps a bundle they know to the head's
    credential: the head's session must not start sealing with it."""
    planted = SchoolKeys.generate(1)
    session.execute(
        update(KeyWrap)
        .where(
            KeyWrap.credential_kind == CredentialKind.MEMBER,
            KeyWrap.credential_id == head.member.id,
        )
        .values(
            wrap=custody.wrap_to_credential(
                planted.to_bytes(),
                head.member.credential_public,
                custody.keywrap_context(school.id, 1, CredentialKind.MEMBER, head.member.id),
            )
        )
    )
    with pytest.raises(KeysLocked):
        keyring.unlock_for_member(session, head.member, head.credential)
    signed = accounts.start_session(session, head.member, head.credential)
    assert signed.login.vault is None
    entries = _mismatches(session)
    assert len(entries) == 2
    assert entries[0].detail == {
        "generation": 1,
        "credential_kind": "member",
        "credential_id": str(head.member.id),
    }
    assert entries[0].school_id == school.id


def test_published_public_keys_changed_on_the_hub_refuse_every_unlock(session, school, head):
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    issued = tokens.create_token(session, head.member, keys, "MIS sync", ["inbox:read"])
    _, secret = custody.parse_api_token(issued.secret_token)
    session.execute(
        update(SchoolKeyGeneration)
        .where(SchoolKeyGeneration.school_id == school.id)
        .values(public_keys=SchoolKeys.generate(1).public().to_bytes())
    )
    with pytest.raises(KeysLocked):
        keyring.unlock_for_member(session, head.member, head.credential)
    with pytest.raises(KeysLocked):
        tokens.unlock(session, issued.token, secret)
    assert [e.detail["credential_kind"] for e in _mismatches(session)] == ["member", "token"]


def test_the_published_bundle_unlocks_and_writes_no_mismatch(session, school, head):
    assert keyring.unlock_for_member(session, head.member, head.credential).generation == 1
    assert _mismatches(session) == []


def test_a_token_checks_its_bundle_against_the_published_keys_once(
    session, school, head, monkeypatch
):
    """The match is remembered as a digest of the bundle and the published keys:
    the next unlock derives no public key, and altering the published keys
    (above) or the bundle (first test) is a different digest, checked in full."""
    from schools import published

    published.forget()
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    issued = tokens.create_token(session, head.member, keys, "MIS sync", ["inbox:read"])
    _, secret = custody.parse_api_token(issued.secret_token)
    assert tokens.unlock(session, issued.token, secret).generation == 1
    derived = []
    original = SchoolKeys.public
    monkeypatch.setattr(SchoolKeys, "public", lambda self: derived.append(1) or original(self))
    assert tokens.unlock(session, issued.token, secret).generation == 1
    assert derived == []
    published.forget()
    assert tokens.unlock(session, issued.token, secret).generation == 1
    assert derived == [1]
    assert _mismatches(session) == []
