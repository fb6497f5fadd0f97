"""A password change, sign-out-everywhere and a recovery each give the member a
new credential key pair: copies of the old password blob (with the old
password) or of an old session row (with its cookie's key) open nothing the
school holds afterwards (design.md, "Sessions and credentials")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crypto import custody
from crypto.custody import FAST_FOR_TESTS
from crypto.errors import CryptoError
from crypto.keys import CredentialKey
from schools import accounts, invitations, keyring, roles
from schools.audit.models import AuditEvent
from schools.errors import InvalidInput
from schools.models import KeyWrap, LoginSession, Role, SchoolKeyGeneration
from tests.conftest import PASSWORD as HEAD_PASSWORD
from tests.schools.conftest import STAFF_PASSWORD

PASSWORD = STAFF_PASSWORD  # the staff fixture's, and the invitees' made here
NEW = "a brand new passphrase"


def _leaver(session, school, head):
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    invited = invitations.invite(
        session, head.member, Role.STAFF, "leaver@oak.example.org", school=school, actor_keys=keys
    )
    return invitations.accept_invitation(
        session, invited.token, "Lee", PASSWORD, PASSWORD, FAST_FOR_TESTS
    )


def _opens_nothing(session, credential: CredentialKey) -> None:
    """Every stored wrap, of every credential and generation, tried with the
    credential under its own row's context and under every other row's."""
    wraps = session.scalars(select(KeyWrap)).all()
    assert wraps
    contexts = [
        custody.keywrap_context(w.school_id, w.generation, w.credential_kind, w.credential_id)
        for w in wraps
    ]
    for wrap in wraps:
        for context in contexts:
            with pytest.raises(CryptoError):
                custody.unwrap_with_credential(wrap.wrap, credential, context)


def _rotate(session, school, head, staff):
    """Someone leaves: generation 2, made by the head after the change."""
    leaver = _leaver(session, school, head)
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    return roles.remove_member(session, head.member, leaver.member.id, keys).keys


def _old_things(session, member, credential):
    """What a thief copies before the change: the password blob (they also
    learnt the password) and a session row with its cookie's key."""
    signed = accounts.start_session(session, member, credential)
    session.expunge(signed.login)
    return member.password_blob, signed.login, signed.vault_key


def _what_an_old_blob_and_row_open(session, member, blob, row, cookie_key):
    # The thief learnt the member's password: the head's, or a member of staff's.
    password = HEAD_PASSWORD if member.role == Role.HEAD else PASSWORD
    old_seed = custody.unwrap_seed_with_password(
        blob, password, custody.password_owner(member.id, member.school_id)
    )
    return CredentialKey(old_seed), accounts.session_keys(row, cookie_key)


def _new_generation_is_out_of_reach(session, school, old_bundle, new_keys):
    assert old_bundle is not None
    assert old_bundle.generation == 1
    assert new_keys.generation == 2
    chained = session.scalars(
        select(SchoolKeyGeneration.previous_bundle).where(
            SchoolKeyGeneration.school_id == school.id, SchoolKeyGeneration.generation == 2
        )
    ).one()
    # The history chain opens backwards only: generation 1 cannot reach 2.
    with pytest.raises(CryptoError):
        custody.open_previous(old_bundle, chained)
    assert old_bundle.kem_seed != new_keys.kem_seed


def test_old_blob_and_old_row_open_nothing_after_a_password_change(session, school, head, staff):
    blob, row, cookie_key = _old_things(session, staff.member, staff.credential)
    keys = accounts.change_password(session, staff.member, PASSWORD, NEW, NEW, FAST_FOR_TESTS)
    assert keys is not None
    # At once, before any rotation: the old credential opens no wrap at all.
    old_credential, _ = _what_an_old_blob_and_row_open(session, staff.member, blob, row, cookie_key)
    assert old_credential == staff.credential  # the copy still opens: it is a copy
    _opens_nothing(session, old_credential)
    assert session.get(LoginSession, row.id_hash) is None
    new_keys = _rotate(session, school, head, staff)
    old_credential, old_bundle = _what_an_old_blob_and_row_open(
        session, staff.member, blob, row, cookie_key
    )
    _opens_nothing(session, old_credential)
    _new_generation_is_out_of_reach(session, school, old_bundle, new_keys)
    # The member, with the new password, reaches generation 2.
    member, credential = accounts.authenticate(session, "dsl@oak.example.org", NEW, FAST_FOR_TESTS)
    assert keyring.unlock_for_member(session, member, credential) == new_keys


def test_old_blob_and_old_row_open_nothing_after_signing_out_everywhere(
    session, school, head, staff
):
    blob, row, cookie_key = _old_things(session, staff.member, staff.credential)
    accounts.end_all_sessions(session, staff.member, PASSWORD, FAST_FOR_TESTS)
    assert blob != staff.member.password_blob
    assert not session.scalars(
        select(LoginSession).where(LoginSession.member_id == staff.member.id)
    ).all()
    old_credential, _ = _what_an_old_blob_and_row_open(session, staff.member, blob, row, cookie_key)
    _opens_nothing(session, old_credential)
    new_keys = _rotate(session, school, head, staff)
    old_credential, old_bundle = _what_an_old_blob_and_row_open(
        session, staff.member, blob, row, cookie_key
    )
    _opens_nothing(session, old_credential)
    _new_generation_is_out_of_reach(session, school, old_bundle, new_keys)
    member, credential = accounts.authenticate(
        session, "dsl@oak.example.org", PASSWORD, FAST_FOR_TESTS
    )
    assert keyring.unlock_for_member(session, member, credential) == new_keys


def test_old_blob_and_old_row_open_nothing_after_a_recovery(session, school, head, staff):
    blob, row, cookie_key = _old_things(session, head.member, head.credential)
    recovered = accounts.recover_head(
        session, "head@oak.example.org", head.recovery_code, NEW, NEW, FAST_FOR_TESTS
    )
    old_credential, _ = _what_an_old_blob_and_row_open(session, head.member, blob, row, cookie_key)
    _opens_nothing(session, old_credential)
    keys = keyring.unlock_for_member(session, recovered.member, recovered.credential)
    leaver = _leaver(session, school, recovered)
    new_keys = roles.remove_member(session, recovered.member, leaver.member.id, keys).keys
    old_credential, old_bundle = _what_an_old_blob_and_row_open(
        session, head.member, blob, row, cookie_key
    )
    _opens_nothing(session, old_credential)
    _new_generation_is_out_of_reach(session, school, old_bundle, new_keys)


def test_a_wrong_password_changes_nothing(session, school, staff):
    blob, public = staff.member.password_blob, staff.member.credential_public
    with pytest.raises(InvalidInput, match="not right"):
        accounts.end_all_sessions(session, staff.member, "not the password", FAST_FOR_TESTS)
    assert (staff.member.password_blob, staff.member.credential_public) == (blob, public)


def test_replacing_the_credential_is_audited(session, school, staff):
    accounts.change_password(session, staff.member, PASSWORD, NEW, NEW, FAST_FOR_TESTS)
    accounts.end_all_sessions(session, staff.member, NEW, FAST_FOR_TESTS)
    session.commit()
    replaced = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "member.credential_replaced")
    ).all()
    assert [e.detail for e in replaced] == [{"generation": 1}, {"generation": 1}]
    assert {e.object_id for e in replaced} == {str(staff.member.id)}


def test_a_member_waiting_for_confirmation_is_confirmed_to_the_new_credential(
    session, school, head
):
    invited = invitations.invite(session, None, Role.STAFF, "new@oak.example.org", school=school)
    waiting = invitations.accept_invitation(
        session, invited.token, "Nia", PASSWORD, PASSWORD, FAST_FOR_TESTS
    )
    assert waiting.member.keys_pending
    assert (
        accounts.change_password(session, waiting.member, PASSWORD, NEW, NEW, FAST_FOR_TESTS)
        is None
    )
    assert waiting.member.keys_pending
    accounts.start_session(session, head.member, head.credential)  # confirms them
    member, credential = accounts.authenticate(session, "new@oak.example.org", NEW, FAST_FOR_TESTS)
    assert keyring.unlock_for_member(session, member, credential).generation == 1
    _opens_nothing(session, waiting.credential)


def test_a_session_holding_a_generation_no_longer_current_is_ended_on_sight(session, school, head):
    signed = accounts.start_session(session, head.member, head.credential)
    assert accounts.resume_session(session, signed.token) is not None
    school.key_generation = 2  # as after a rotation that left this row behind
    session.flush()
    assert accounts.resume_session(session, signed.token) is None
    assert session.get(LoginSession, signed.login.id_hash) is None
