"""School key custody wired into accounts (design.md, "Keys and custody")."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from crypto import custody
from crypto.custody import FAST_FOR_TESTS, Argon2Params
from crypto.errors import UnwrapError
from schools import accounts, directory, invitations, keyring, leadership, roles
from schools.audit.models import AuditEvent
from schools.errors import (
    Conflict,
    InvalidInput,
    InvitationUnusable,
    KeysLocked,
    NotFound,
    SignInFailed,
)
from schools.models import (
    CredentialKind,
    KeyWrap,
    Member,
    RecoveryCode,
    Role,
    SchoolKeyGeneration,
)
from tests.factories import PASSWORD
from tests.factories import join as _join


def test_first_head_creates_the_school_keys_and_gets_a_recovery_code(session, school, head):
    assert school.key_generation == 1
    assert head.recovery_code is not None
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    assert keys.generation == 1
    published = session.scalars(select(SchoolKeyGeneration)).one()
    assert published.public_keys == keys.public().to_bytes()
    assert published.fingerprint == keys.public().fingerprint()
    kinds = sorted(w.credential_kind for w in session.scalars(select(KeyWrap)))
    assert kinds == ["member", "recovery"]


def test_staff_invited_by_an_unlocked_head_receive_the_keys_on_joining(session, school, head):
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    invited = invitations.invite(
        session, head.member, Role.STAFF, "dsl@oak.example.org", school=school, actor_keys=keys
    )
    staff = _join(session, invited.token, "Grace")
    assert not staff.member.keys_pending
    assert keyring.unlock_for_member(session, staff.member, staff.credential) == keys
    # The invitation's own wrap is gone once used.
    assert not session.scalars(
        select(KeyWrap).where(KeyWrap.credential_kind == CredentialKind.INVITATION)
    ).all()


def test_members_invited_from_the_cli_wait_until_a_colleague_signs_in(session, school, head):
    invited = invitations.invite(session, None, Role.STAFF, "dsl@oak.example.org", school=school)
    staff = _join(session, invited.token, "Grace")
    assert staff.member.keys_pending
    with pytest.raises(KeysLocked, match="waiting for confirmation"):
        keyring.unlock_for_member(session, staff.member, staff.credential)
    # The pending member signing in themselves confirms nobody.
    assert accounts.start_session(session, staff.member, staff.credential).confirmed == []
    signed = accounts.start_session(session, head.member, head.credential)
    assert [m.id for m in signed.confirmed] == [staff.member.id]
    assert not staff.member.keys_pending
    assert keyring.unlock_for_member(session, staff.member, staff.credential).generation == 1


def test_removing_a_member_rotates_the_keys_and_keeps_history_readable(session, school, head):
    old = keyring.unlock_for_member(session, head.member, head.credential)
    invited = invitations.invite(
        session, head.member, Role.STAFF, "dsl@oak.example.org", school=school, actor_keys=old
    )
    staff = _join(session, invited.token, "Grace")
    stayer_invite = invitations.invite(
        session, head.member, Role.STAFF, "t@oak.example.org", school=school, actor_keys=old
    )
    stayer = _join(session, stayer_invite.token, "Tom")

    removed = roles.remove_member(session, head.member, staff.member.id, old)
    # Staff never make recovery codes: the head's code stays.
    assert not removed.recovery_code_withdrawn
    new = removed.keys
    assert new is not None
    assert new.generation == 2
    assert school.key_generation == 2
    # Everyone who remains reaches the new generation without any password.
    assert keyring.unlock_for_member(session, head.member, head.credential) == new
    assert keyring.unlock_for_member(session, stayer.member, stayer.credential) == new
    # The removed member's credential opens nothing any more.
    for generation in (1, 2):
        assert (
            keyring.unwrap(
                session,
                school.id,
                generation,
                CredentialKind.MEMBER,
                staff.member.id,
                staff.credential,
            )
            is None
        )
    # History: generation 1 is still reachable from generation 2.
    assert keyring.keys_of_generation(session, new, school.id, 1) == old
    # The recovery code was carried over to the new generation.
    assert (
        keyring.unwrap(
            session,
            school.id,
            2,
            CredentialKind.RECOVERY,
            session.scalars(
                select(KeyWrap.credential_id).where(
                    KeyWrap.credential_kind == CredentialKind.RECOVERY
                )
            ).one(),
            custody.recovery_credential(head.recovery_code),
        )
        == new
    )


def test_removing_a_member_needs_unlocked_keys(session, school, head):
    invited = invitations.invite(session, None, Role.STAFF, "dsl@oak.example.org", school=school)
    staff = _join(session, invited.token, "Grace")
    with pytest.raises(KeysLocked):
        roles.remove_member(session, head.member, staff.member.id, None)


def test_a_head_cannot_remove_themselves(session, school, head):
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    invited = invitations.invite(
        session, head.member, Role.STAFF, "dsl@oak.example.org", school=school, actor_keys=keys
    )
    _join(session, invited.token, "Grace")
    with pytest.raises(Exception, match="cannot remove yourself"):
        roles.remove_member(session, head.member, head.member.id, keys)


def test_password_change_gives_the_member_a_new_credential(session, school, head):
    wraps_before = {w.id: w.wrap for w in session.scalars(select(KeyWrap))}
    keys = accounts.change_password(
        session,
        head.member,
        PASSWORD,
        "a brand new passphrase",
        "a brand new passphrase",
        FAST_FOR_TESTS,
    )
    wraps_after = {w.id: w.wrap for w in session.scalars(select(KeyWrap))}
    # The recovery code's wrap stays; the member's is a new one, to a new key.
    assert len(wraps_after) == len(wraps_before)
    assert len(set(wraps_after.items()) & set(wraps_before.items())) == 1
    member, credential = accounts.authenticate(
        session, "head@oak.example.org", "a brand new passphrase", FAST_FOR_TESTS
    )
    assert credential != head.credential
    assert member.credential_public == credential.public_bytes()
    assert keyring.unlock_for_member(session, member, credential) == keys
    assert keys is not None
    assert keys.generation == 1


def test_recovery_code_restores_access_exactly_once(session, school, head):
    code = head.recovery_code
    recovered = accounts.recover_head(
        session,
        "head@oak.example.org",
        code,
        "recovered passphrase!",
        "recovered passphrase!",
        FAST_FOR_TESTS,
    )
    keys = keyring.unlock_for_member(session, recovered.member, recovered.credential)
    assert keys.generation == 1
    assert recovered.new_recovery_code != code
    with pytest.raises(InvalidInput, match="do not match"):
        accounts.recover_head(
            session,
            "head@oak.example.org",
            code,
            "another passphrase!!",
            "another passphrase!!",
            FAST_FOR_TESTS,
        )
    # The new code works (once) in its turn.
    again = accounts.recover_head(
        session,
        "head@oak.example.org",
        recovered.new_recovery_code,
        "third passphrase here",
        "third passphrase here",
        FAST_FOR_TESTS,
    )
    assert keyring.unlock_for_member(session, again.member, again.credential) == keys


def test_recovery_code_is_refused_for_staff_and_other_schools(session, school, head):
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    invited = invitations.invite(
        session, head.member, Role.STAFF, "dsl@oak.example.org", school=school, actor_keys=keys
    )
    _join(session, invited.token, "Grace")
    with pytest.raises(InvalidInput):
        accounts.recover_head(
            session,
            "dsl@oak.example.org",
            head.recovery_code,
            "x long passphrase",
            "x long passphrase",
            FAST_FOR_TESTS,
        )
    with pytest.raises(InvalidInput):
        accounts.recover_head(
            session,
            "head@oak.example.org",
            "not a code",
            "x long passphrase",
            "x long passphrase",
            FAST_FOR_TESTS,
        )


def test_a_database_copy_and_the_server_secret_do_not_yield_a_school_key(
    session, school, head, tmp_path
):
    """Everything the hub stores, dumped: no school seed and no credential seed
    appears in it, so a stolen database or backup opens nothing without a
    member's password, a recovery code or a token."""
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    accounts.start_session(session, head.member, head.credential)
    session.commit()
    dump = b""
    for table in (
        "members",
        "key_wraps",
        "school_key_generations",
        "recovery_codes",
        "login_sessions",
        "invitations",
        "audit_events",
    ):
        from sqlalchemy import text

        for row in session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
            for value in row:
                dump += value if isinstance(value, bytes | memoryview) else str(value).encode()
    secret_key = b"test-secret-key"
    for secret in (
        keys.kem_seed,
        keys.ed25519_seed,
        keys.mldsa_seed,
        head.credential.seed,
        keys.to_bytes(),
        head.recovery_code.encode(),
    ):
        assert bytes(secret) not in dump
    # And the wraps do not open with anything derived from the server's secret.
    import hashlib

    from crypto.keys import CredentialKey

    guess = CredentialKey(hashlib.sha256(secret_key).digest())
    assert (
        keyring.unwrap(session, school.id, 1, CredentialKind.MEMBER, head.member.id, guess) is None
    )


def _wrap_of(session, kind, credential_id, generation):
    return session.scalars(
        select(KeyWrap).where(
            KeyWrap.credential_kind == kind,
            KeyWrap.credential_id == credential_id,
            KeyWrap.generation == generation,
        )
    ).one_or_none()


def test_a_removed_head_keeps_nothing_that_opens_the_new_generation(session, school, head):
    """Head B removes the first head A. A printed the school's recovery code and
    kept an invitation link A made: neither opens generation 2, and the link no
    longer makes a member who would be confirmed at B's next sign-in."""
    a = head
    a_keys = leadership.unlock_for_member(session, a.member, a.credential)
    b_invite = invitations.invite(
        session, a.member, Role.HEAD, "b@oak.example.org", school=school, actor_keys=a_keys
    )
    b = _join(session, b_invite.token, "Bola")
    kept = invitations.invite(
        session, a.member, Role.STAFF, "friend@oak.example.org", school=school, actor_keys=a_keys
    )
    kept_locked = invitations.invite(  # made without keys: would join keys_pending
        session, a.member, Role.STAFF, "other@oak.example.org", school=school
    )
    b_own = invitations.invite(
        session, b.member, Role.STAFF, "new@oak.example.org", school=school, actor_keys=a_keys
    )
    a_code_row = session.scalars(
        select(RecoveryCode).where(RecoveryCode.school_id == school.id)
    ).one()
    assert a_code_row.created_by_id == a.member.id

    b_keys = leadership.unlock_for_member(session, b.member, b.credential)
    removed = roles.remove_member(session, b.member, a.member.id, b_keys)
    assert removed.keys is not None
    assert removed.keys.generation == school.key_generation == 2

    # A's recovery code: spent, and no wrap of any generation opens with it.
    a_code = custody.recovery_credential(a.recovery_code)
    assert a_code_row.used_at is not None
    for generation in (1, 2):
        assert _wrap_of(session, CredentialKind.RECOVERY, a_code_row.id, generation) is None
        assert (
            keyring.unwrap(
                session, school.id, generation, CredentialKind.RECOVERY, a_code_row.id, a_code
            )
            is None
        )
    with pytest.raises(InvalidInput, match="do not match"):
        accounts.recover_head(
            session, "b@oak.example.org", a.recovery_code, PASSWORD, PASSWORD, FAST_FOR_TESTS
        )

    # A's kept invitation links: withdrawn, wrapless, unusable.
    for invitation in (kept, kept_locked):
        inv = invitation.invitation
        assert inv.revoked_at is not None
        for generation in (1, 2):
            assert _wrap_of(session, CredentialKind.INVITATION, inv.id, generation) is None
            assert (
                keyring.unwrap(
                    session,
                    school.id,
                    generation,
                    CredentialKind.INVITATION,
                    inv.id,
                    custody.token_credential(invitation.token),
                )
                is None
            )
        with pytest.raises(InvitationUnusable, match="withdrawn"):
            _join(session, invitation.token, "Mallory")
    assert session.scalar(select(Member.id).where(Member.keys_pending.is_(True))) is None
    assert accounts.start_session(session, b.member, b.credential).confirmed == []

    # B's own invitation is untouched and carries generation 2 to its invitee.
    assert b_own.invitation.revoked_at is None
    newcomer = _join(session, b_own.token, "Nia")
    assert keyring.unlock_for_member(session, newcomer.member, newcomer.credential) == removed.keys

    # A's code was withdrawn: none is left until B makes one, which opens generation 2.
    assert removed.recovery_code_withdrawn
    assert (
        session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.school_id == school.id, RecoveryCode.used_at.is_(None)
            )
        ).first()
        is None
    )
    assert removed.keys is not None
    replacement = directory.issue_recovery_code(session, school, removed.keys, b.member)
    fresh = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.school_id == school.id, RecoveryCode.used_at.is_(None)
        )
    ).one()
    assert fresh.created_by_id == b.member.id
    assert (
        keyring.unwrap(
            session,
            school.id,
            2,
            CredentialKind.RECOVERY,
            fresh.id,
            custody.recovery_credential(replacement),
        )
        == removed.keys
    )

    session.commit()
    withdrawn = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "invitation.withdrawn")
    ).all()
    assert sorted(e.object_id for e in withdrawn) == sorted(
        str(i.invitation.id) for i in (kept, kept_locked)
    )
    assert all(e.detail == {"reason": "inviter removed"} for e in withdrawn)
    assert all(e.actor_id == b.member.id for e in withdrawn)


def test_removing_the_last_head_is_refused_even_with_removed_heads_around(session, school, head):
    keys = leadership.unlock_for_member(session, head.member, head.credential)
    other = _join(
        session,
        invitations.invite(
            session, head.member, Role.HEAD, "b@oak.example.org", school=school, actor_keys=keys
        ).token,
        "Bola",
    )
    keys = roles.remove_member(session, other.member, head.member.id, keys).keys
    staff = _join(
        session,
        invitations.invite(
            session, other.member, Role.STAFF, "s@oak.example.org", school=school, actor_keys=keys
        ).token,
        "Sam",
    )
    staff.member.role = Role.HEAD  # a second head appears, then goes
    roles.remove_member(session, other.member, staff.member.id, keys)
    coordinator_view = None  # the operator at the command line may remove members
    with pytest.raises(Conflict, match="at least one head"):
        roles.remove_member(session, coordinator_view, other.member.id, keys)


def test_sign_in_rewraps_a_password_blob_made_with_other_parameters(session, school, head):
    stronger = Argon2Params(time_cost=2, memory_kib=16, lanes=1)
    assert custody.password_params_of(head.member.password_blob) == FAST_FOR_TESTS
    member, credential = accounts.authenticate(session, "head@oak.example.org", PASSWORD, stronger)
    assert credential == head.credential
    assert custody.password_params_of(member.password_blob) == stronger
    blob = member.password_blob
    # Same parameters: nothing to do.
    accounts.authenticate(session, "head@oak.example.org", PASSWORD, stronger)
    assert member.password_blob == blob
    # A wrong password changes nothing.
    with pytest.raises(SignInFailed):
        accounts.authenticate(session, "head@oak.example.org", "wrong password!!", FAST_FOR_TESTS)
    assert member.password_blob == blob
    session.commit()
    rewrapped = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "member.password_rewrapped")
    ).one()
    assert rewrapped.actor_id == head.member.id
    assert rewrapped.detail == {"before": "t=1 m=8KiB p=1", "after": "t=2 m=16KiB p=1"}


def test_an_unknown_address_costs_the_configured_parameters(session, monkeypatch):
    seen = []
    real = custody.unwrap_seed_with_password

    def spy(blob, password, owner):
        seen.append(custody.password_params_of(blob))
        return real(blob, password, owner)

    monkeypatch.setattr(custody, "unwrap_seed_with_password", spy)
    with pytest.raises(SignInFailed):
        accounts.authenticate(session, "nobody@oak.example.org", PASSWORD, FAST_FOR_TESTS)
    assert seen == [FAST_FOR_TESTS]


def test_a_session_holds_the_school_bundle_and_confirms_who_waits(session, school, head):
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    signed = accounts.start_session(session, head.member, head.credential)
    assert signed.confirmed == []
    assert (signed.login.school_id, signed.login.generation) == (school.id, 1)
    assert accounts.session_keys(signed.login, signed.vault_key) == keys
    # What the row seals is the bundle: the member's credential is not in it.
    # A head's row seals the leadership bundle after it, bound to its generation.
    opened = custody.open_for_session(
        signed.vault_key,
        signed.login.vault,
        leadership.vault_context(
            custody.session_context(head.member.id, school.id, 1, signed.login.id_hash),
            signed.login.leadership_generation,
        ),
    )
    assert opened[:103] == keys.to_bytes()
    invited = invitations.invite(session, None, Role.STAFF, "dsl@oak.example.org", school=school)
    staff = _join(session, invited.token, "Grace")
    pending = accounts.start_session(session, staff.member, staff.credential)
    assert pending.login.vault is None
    assert pending.vault_key == b""
    signed = accounts.start_session(session, head.member, head.credential)
    assert [m.id for m in signed.confirmed] == [staff.member.id]


def test_an_invitation_into_another_school_never_carries_the_inviters_keys(session, school, head):
    """Keys are wrapped to a link only when they are the inviter's own school's
    (policy keeps a head out of other schools; an operator has no school)."""
    oak_keys = keyring.unlock_for_member(session, head.member, head.credential)
    elm = directory.admit_school(session, None, school.cluster, "Elm", "654321", "")
    elm_head = invitations.invite(session, None, Role.HEAD, "head@elm.example.org", school=elm)
    _join(session, elm_head.token, "Bo")
    assert elm.key_generation == oak_keys.generation  # the same number, another school
    invited = invitations.invite(
        session, None, Role.STAFF, "x@elm.example.org", school=elm, actor_keys=oak_keys
    )
    assert invited.invitation.credential_public is None
    wraps = session.scalars(select(KeyWrap).where(KeyWrap.credential_id == invited.invitation.id))
    assert wraps.all() == []


def _rotated(session, school, head, times):
    """The school's bundles by generation after ``times`` rotations."""
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    bundles = {keys.generation: keys}
    for _ in range(times):
        keys = keyring.rotate(session, school, keys, head.member, "test rotation")
        bundles[keys.generation] = keys
    return bundles


def _history_selects(session, action):
    """Run ``action``; its result and how many SELECTs read the key history."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        result = action()
    finally:
        event.remove(bind, "before_cursor_execute", count)
    selects = [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and "school_key_generations" in s
    ]
    return result, len(selects)


def test_walking_back_several_rotations_takes_one_query_and_keeps_every_bundle(
    session, school, head, monkeypatch
):
    bundles = _rotated(session, school, head, 4)
    current = bundles[5]
    opens = []
    real_open = custody.open_previous

    def counting_open(new, blob):
        opens.append(new.generation)
        return real_open(new, blob)

    monkeypatch.setattr(custody, "open_previous", counting_open)
    walked, queries = _history_selects(
        session, lambda: keyring.keys_back_to(session, school.id, current, 1)
    )
    # Before: one query per step back (4 here, k for k rotations); now one.
    assert queries == 1
    assert opens == [5, 4, 3, 2]
    assert walked == bundles
    # A walk from an intermediate bundle reads only the rows it needs.
    assert keyring.keys_back_to(session, school.id, bundles[3], 2) == {3: bundles[3], 2: bundles[2]}
    # The thin wrapper still answers one generation, and the current one without a query.
    assert keyring.keys_of_generation(session, current, school.id, 2) == bundles[2]
    same, queries = _history_selects(
        session, lambda: keyring.keys_of_generation(session, current, school.id, 5)
    )
    assert same == current
    assert queries == 0


def test_walking_back_fails_as_before_on_a_broken_or_short_chain(session, school, head):
    bundles = _rotated(session, school, head, 3)
    current = bundles[4]
    for beyond in (0, 5):
        with pytest.raises(NotFound):
            keyring.keys_back_to(session, school.id, current, beyond)
        with pytest.raises(NotFound):
            keyring.keys_of_generation(session, current, school.id, beyond)
    row = session.scalars(
        select(SchoolKeyGeneration).where(
            SchoolKeyGeneration.school_id == school.id, SchoolKeyGeneration.generation == 3
        )
    ).one()
    blob = row.previous_bundle
    row.previous_bundle = blob[:-1] + bytes([blob[-1] ^ 1])
    session.flush()
    # Generations above the tampered link still open; anything through it does not.
    assert keyring.keys_back_to(session, school.id, current, 3)[3] == bundles[3]
    for target in (2, 1):
        with pytest.raises(UnwrapError):
            keyring.keys_back_to(session, school.id, current, target)
    # A link copied from another generation is refused too.
    row.previous_bundle = session.scalars(
        select(SchoolKeyGeneration.previous_bundle).where(
            SchoolKeyGeneration.school_id == school.id, SchoolKeyGeneration.generation == 4
        )
    ).one()
    session.flush()
    with pytest.raises(UnwrapError, match="chained from generation 4, not 3"):
        keyring.keys_back_to(session, school.id, current, 2)
    # A missing row in the range ends the chain there: not in the history.
    session.delete(row)
    session.flush()
    with pytest.raises(NotFound):
        keyring.keys_back_to(session, school.id, current, 1)
