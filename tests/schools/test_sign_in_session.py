"""The password step of a sign-in (schools/accounts.py ``start_session``, with
schools/held_keys.py): the member's three wraps read in one statement, each
still opened and checked against its own published keys, and the new session
row written by one INSERT yet held by the ORM session as every column says."""

from __future__ import annotations

from sqlalchemy import inspect, select, update

from crypto import custody
from crypto.keys import SchoolKeys
from schools import accounts, leadership, personal
from schools.audit.models import AuditEvent
from schools.models import LeadershipWrap, LoginSession, Member, SessionState
from schools.personal_models import PersonalKeyGeneration, PersonalWrap
from tests.schools.test_audit import counting_statements


def _actions(session, action: str) -> list[AuditEvent]:
    session.commit()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_started_session_is_the_row_it_wrote(session, school, head):
    signed = accounts.start_session(
        session, head.member, head.credential, "Firefox", state=SessionState.FACTOR_PENDING
    )
    login = signed.login
    state = inspect(login)
    assert state.persistent
    assert not state.unloaded
    assert not state.modified
    assert login.member is head.member
    row = session.execute(
        select(LoginSession.__table__).where(LoginSession.id_hash == login.id_hash)
    ).one()
    for name, value in row._mapping.items():
        assert getattr(login, name) == value, name
    assert login.state_enum is SessionState.FACTOR_PENDING
    assert login.confirmed_at is None
    assert login.factor_failures == 0
    # The member's last sign-in is written and held as written.
    assert not inspect(head.member).modified
    assert head.member.last_sign_in_at == login.created_at
    assert (
        session.scalar(select(Member.last_sign_in_at).where(Member.id == head.member.id))
        == login.created_at
    )
    # The row is the session's own: a change to it is written as any other.
    login.challenge = b"challenge"
    session.flush()
    assert (
        session.scalar(select(LoginSession.challenge).where(LoginSession.id_hash == login.id_hash))
        == b"challenge"
    )
    held = accounts.session_keys(login, signed.vault_key)
    assert held is not None
    assert leadership.leadership_of(held) is not None
    assert personal.personal_of(held) is not None


def test_the_password_step_reads_the_three_wraps_with_one_statement(session, school, head):
    accounts.start_session(session, head.member, head.credential)  # made her personal bundle
    session.commit()
    with counting_statements(session.get_bind()) as seen:
        signed = accounts.start_session(
            session, head.member, head.credential, state=SessionState.FACTOR_PENDING
        )
    held = accounts.session_keys(signed.login, signed.vault_key)
    assert held is not None
    assert leadership.leadership_of(held) is not None
    assert personal.personal_of(held) is not None
    # One read of the wraps, the session row, the member's last sign-in.
    assert [s.split()[0] for s in seen if not s.startswith("BEGIN")] == [
        "SELECT",
        "INSERT",
        "UPDATE",
    ]


def test_a_leadership_bundle_never_published_is_refused_at_sign_in(session, school, head):
    planted = SchoolKeys.generate(1)
    session.execute(
        update(LeadershipWrap)
        .where(LeadershipWrap.credential_id == head.member.id)
        .values(
            wrap=custody.wrap_to_credential(
                planted.to_bytes(),
                head.member.credential_public,
                leadership.wrap_context(school.id, 1, leadership.MEMBER, head.member.id),
            )
        )
    )
    signed = accounts.start_session(session, head.member, head.credential)
    held = accounts.session_keys(signed.login, signed.vault_key)
    assert held is not None
    assert held.generation == 1
    assert leadership.leadership_of(held) is None
    assert signed.login.leadership_generation is None
    [entry] = _actions(session, "school.leadership_keys_mismatch")
    assert entry.object_id == str(head.member.id)


def test_a_personal_bundle_never_published_is_refused_not_replaced(session, school, head):
    accounts.start_session(session, head.member, head.credential)  # made her personal bundle
    planted = SchoolKeys.generate(1)
    session.execute(
        update(PersonalWrap)
        .where(PersonalWrap.member_id == head.member.id)
        .values(
            wrap=custody.wrap_to_credential(
                planted.to_bytes(),
                head.member.credential_public,
                personal.wrap_context(head.member.id, 1, personal.MEMBER, head.member.id),
            )
        )
    )
    signed = accounts.start_session(session, head.member, head.credential)
    held = accounts.session_keys(signed.login, signed.vault_key)
    assert held is not None
    assert personal.personal_of(held) is None
    [entry] = _actions(session, "member.personal_keys_mismatch")
    assert entry.object_id == str(head.member.id)
    # A wrap that does not open is not a missing bundle: none is made in its place.
    generations = session.scalars(
        select(PersonalKeyGeneration.generation).where(
            PersonalKeyGeneration.member_id == head.member.id
        )
    ).all()
    assert generations == [1]


def test_a_member_without_a_personal_bundle_gets_one_at_the_password_step(session, school, head):
    signed = accounts.start_session(
        session, head.member, head.credential, state=SessionState.FACTOR_PENDING
    )
    held = accounts.session_keys(signed.login, signed.vault_key)
    own = personal.personal_of(held)
    assert own is not None
    assert own[0] == head.member.id
    assert [e.object_id for e in _actions(session, "member.personal_keys_created")] == [
        str(head.member.id)
    ]


def test_a_member_waiting_for_confirmation_holds_nothing(session, school, head, staff):
    staff.member.keys_pending = True
    signed = accounts.start_session(session, staff.member, staff.credential)
    assert signed.vault_key == b""
    assert signed.login.vault is None
    assert signed.login.generation is None
