"""Every stored blob names its owner in its associated data: a password blob
its member and school, a wrap its school, generation and credential (member,
recovery code, invitation or token). Moved to another row, it does not open."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from sqlalchemy import select

from crypto import custody
from crypto.custody import FAST_FOR_TESTS
from schools import accounts, keyring, tokens
from schools.audit.models import AuditEvent
from schools.errors import KeysLocked, SignInFailed
from schools.models import CredentialKind, KeyWrap
from tests.schools.conftest import STAFF_PASSWORD

PASSWORD = "a long enough test passphrase"


def _wrap(session, kind, credential_id):
    return session.scalars(
        select(KeyWrap).where(
            KeyWrap.credential_kind == kind, KeyWrap.credential_id == credential_id
        )
    ).one()


def test_a_password_blob_moved_to_another_member_does_not_sign_in(session, head, staff):
    """The head's blob copied onto the staff row: the head's password no longer
    signs anyone in as the staff member, and the staff password neither."""
    staff.member.password_blob = head.member.password_blob
    session.flush()
    for password in (PASSWORD, STAFF_PASSWORD):
        with pytest.raises(SignInFailed):
            accounts.authenticate(session, "dsl@oak.example.org", password, FAST_FOR_TESTS)


def test_a_member_wrap_moved_to_another_members_row_does_not_open(session, school, head, staff):
    head_wrap = _wrap(session, CredentialKind.MEMBER, head.member.id)
    staff_wrap = _wrap(session, CredentialKind.MEMBER, staff.member.id)
    staff_wrap.wrap = head_wrap.wrap
    session.flush()
    # Neither the head's credential (whose key it was made to) nor the staff
    # member's opens it under the staff row.
    for credential in (head.credential, staff.credential):
        assert (
            keyring.unwrap(
                session, school.id, 1, CredentialKind.MEMBER, staff.member.id, credential
            )
            is None
        )
    with pytest.raises(KeysLocked):
        keyring.unlock_for_member(session, staff.member, head.credential)


def test_a_token_wrap_moved_to_another_token_or_kind_does_not_open(session, school, head):
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    first = tokens.create_token(session, head.member, keys, "MIS sync", ["inbox:read"])
    second = tokens.create_token(session, head.member, keys, "Other", ["inbox:read"])
    _, secret = custody.parse_api_token(first.secret_token)
    assert tokens.unlock(session, first.token, secret) == keys
    _wrap(session, CredentialKind.TOKEN, second.token.id).wrap = _wrap(
        session, CredentialKind.TOKEN, first.token.id
    ).wrap
    session.flush()
    assert (
        keyring.unwrap(
            session,
            school.id,
            1,
            CredentialKind.TOKEN,
            second.token.id,
            custody.token_credential(secret),
        )
        is None
    )
    # Relabelled as a member's wrap with the token's own id: still refused.
    row = _wrap(session, CredentialKind.TOKEN, first.token.id)
    row.credential_kind = CredentialKind.MEMBER
    session.flush()
    assert (
        keyring.unwrap(
            session,
            school.id,
            1,
            CredentialKind.MEMBER,
            first.token.id,
            custody.token_credential(secret),
        )
        is None
    )


def test_a_blob_made_before_blobs_named_their_owner_signs_in_once_and_is_rebound(session, head):
    """Version 1 blobs (label-only associated data) still open, and the first
    sign-in re-wraps them bound to their owner (audited)."""
    seed = custody.unwrap_seed_with_password(
        head.member.password_blob,
        PASSWORD,
        custody.password_owner(head.member.id, head.member.school_id),
    )
    salt, nonce = os.urandom(16), os.urandom(12)
    header = b"PW\x01" + (1).to_bytes(4, "big") + (8).to_bytes(4, "big")
    header += (1).to_bytes(4, "big") + salt
    key = Argon2id(salt=salt, length=32, iterations=1, lanes=1, memory_cost=8).derive(
        PASSWORD.encode()
    )
    aad = b"alertnet/v1/password\0" + header
    head.member.password_blob = header + nonce + AESGCM(key).encrypt(nonce, seed, aad)
    session.flush()
    member, credential = accounts.authenticate(
        session, "head@oak.example.org", PASSWORD, FAST_FOR_TESTS
    )
    assert credential == head.credential
    assert member.password_blob[:3] == b"PW\x02"
    assert custody.password_blob_is_current(member.password_blob, FAST_FOR_TESTS)
    session.commit()
    assert session.scalars(
        select(AuditEvent).where(AuditEvent.action == "member.password_rewrapped")
    ).one()
