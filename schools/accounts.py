"""Signing in and out, login sessions that hold key material only in split
form, password changes, recovery, and removing members."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from crypto import custody
from crypto.custody import Argon2Params
from crypto.errors import CryptoError
from crypto.keys import CredentialKey, SchoolKeys
from schools import audit, directory, held_keys, keyring, leadership, personal
from schools.db import table_of, utcnow
from schools.errors import (
    InvalidInput,
    KeysLocked,
    Problems,
    SignInFailed,
)
from schools.models import (
    CredentialKind,
    LoginSession,
    Member,
    RecoveryCode,
    School,
    SchoolStatus,
    SessionState,
)
from schools.passwords import check_new_password

SESSION_LIFETIME = timedelta(hours=12)
# last_seen_at is refreshed at most this often, so reading pages does not write.
_TOUCH_INTERVAL = timedelta(minutes=5)
SIGN_IN_FAILED = "That email address and password do not match an account."


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(b"alertnet/v1/session\0" + token.encode()).digest()


_NOBODY = uuid.UUID(int=0)


@lru_cache(maxsize=4)
def _decoy_blob(params: Argon2Params) -> bytes:
    return custody.wrap_seed_with_password(
        bytes(32), secrets.token_hex(16), params, custody.password_owner(_NOBODY, None)
    )


def _owner(member: Member) -> bytes:
    """What a member's password blob is bound to: their id and their school's."""
    return custody.password_owner(member.id, member.school_id)


def authenticate(
    session: Session,
    email: str,
    password: str,
    params: Argon2Params,
    *,
    member: Member | None = None,
) -> tuple[Member, CredentialKey]:
    """The member and their unlocked credential, or SignInFailed (one message for
    an unknown address and a wrong password, and the same work for both).

    ``params`` are the hub's current Argon2id parameters (settings): an unknown
    address costs the same as a real one, and a password blob made with other
    parameters (or before blobs named their owner) is re-wrapped once the
    password has opened it. ``member``: the member with that address, already
    read in this transaction (``throttle.check``); used only if its address is
    the one given.
    """
    try:
        email = directory.normalise_email(email)
    except InvalidInput:
        raise SignInFailed(SIGN_IN_FAILED, field="email") from None
    if member is None or member.email != email:
        member = session.scalars(select(Member).where(Member.email == email)).one_or_none()
    if member is None or not member.is_active:
        decoy = params if member is None else custody.password_params_of(member.password_blob)
        with contextlib.suppress(CryptoError):
            custody.unwrap_seed_with_password(
                _decoy_blob(decoy), password, custody.password_owner(_NOBODY, None)
            )
        raise SignInFailed(SIGN_IN_FAILED, field="email")
    try:
        seed = custody.unwrap_seed_with_password(member.password_blob, password, _owner(member))
    except CryptoError:
        raise SignInFailed(SIGN_IN_FAILED, field="email") from None
    if not custody.password_blob_is_current(member.password_blob, params):
        stored = custody.password_params_of(member.password_blob)
        member.password_blob = custody.wrap_seed_with_password(
            seed, password, params, _owner(member)
        )
        audit.record(
            session,
            "member.password_rewrapped",
            actor=member,
            object_type="member",
            object_id=member.id,
            before=_params_text(stored),
            after=_params_text(params),
        )
    return member, CredentialKey(seed)


def _params_text(params: Argon2Params) -> str:
    return f"t={params.time_cost} m={params.memory_kib}KiB p={params.lanes}"


@dataclass(frozen=True)
class SignedIn:
    login: LoginSession
    token: str  # goes in the cookie; only its hash is stored
    vault_key: bytes  # goes in the cookie; never stored (empty: the session holds no keys)
    confirmed: list[Member]


def start_session(
    session: Session,
    member: Member,
    credential: CredentialKey,
    user_agent: str = "",
    lifetime: timedelta = SESSION_LIFETIME,
    state: SessionState = SessionState.COMPLETE,
) -> SignedIn:
    """Open a login session. The credential opens the school's current bundle
    here, once; the row keeps only that bundle sealed under a fresh key that
    only the browser keeps. The credential itself is not kept.

    A session that still waits for a second factor (``state``) opens nothing:
    the gate refuses it all but the factor's pages, and schools.factors finishes
    it from the bundle it holds, without hashing the password again."""
    complete = state is SessionState.COMPLETE
    keys = held_keys.at_sign_in(session, member, credential, complete)
    signed = _open_session(session, member, keys, user_agent, lifetime, state)
    # One UPDATE statement of the one column, rather than a flush of the row.
    at = signed.login.created_at
    session.execute(_SIGNED_IN_AT, {"member": member.id, "at": at})
    set_committed_value(member, "last_sign_in_at", at)
    confirmed = confirm_colleagues(session, member, keys) if complete else []
    audit.record(
        session,
        "member.signed_in" if complete else "member.password_accepted",
        actor=member,
        object_type="member",
        object_id=member.id,
    )
    session.flush()
    return SignedIn(signed.login, signed.token, signed.vault_key, confirmed)


_MEMBERS = table_of(Member)
_SIGNED_IN_AT = (
    update(_MEMBERS)
    .where(_MEMBERS.c.id == bindparam("member"))
    .values(last_sign_in_at=bindparam("at"))
)


def confirm_colleagues(
    session: Session,
    member: Member,
    keys: SchoolKeys | Callable[[], SchoolKeys | None] | None,
) -> list[Member]:
    """A member who holds the keys (``keys``, as their session does) confirms
    colleagues who joined while nobody's keys were unlocked (invitations made
    from the CLI). ``keys`` may be a function opening them: it is called only
    when someone waits."""
    school = member.school
    if school is None or keys is None or not keyring.has_pending_members(session, school):
        return []
    opened = keys() if callable(keys) else keys
    if opened is None:
        return []
    return keyring.confirm_pending_members(session, school, opened, member)


def renew_session(
    session: Session,
    member: Member,
    keys: SchoolKeys | None,
    user_agent: str = "",
    lifetime: timedelta = SESSION_LIFETIME,
) -> SignedIn:
    """A new session for a member whose sessions were just ended by their own
    action (a key rotation, a password change), holding ``keys``: the bundle
    that action left them with."""
    signed = _open_session(session, member, keys, user_agent, lifetime)
    audit.record(
        session,
        "member.session_renewed",
        actor=member,
        object_type="member",
        object_id=member.id,
        generation=keys.generation if keys is not None else None,
    )
    session.flush()
    return signed


def _unlock(session: Session, member: Member, credential: CredentialKey) -> SchoolKeys | None:
    school = member.school
    if school is None or not school.key_generation or member.keys_pending:
        return None
    try:
        return keyring.unlock_for_member(session, member, credential)
    except KeysLocked:
        return None


def _open_session(
    session: Session,
    member: Member,
    keys: SchoolKeys | None,
    user_agent: str,
    lifetime: timedelta,
    state: SessionState = SessionState.COMPLETE,
) -> SignedIn:
    token = secrets.token_urlsafe(32)
    id_hash = _token_hash(token)
    vault_key, vault, leadership_generation = b"", None, None
    if keys is not None:
        assert member.school_id is not None
        # A leadership member's row seals the leadership bundle beside the school's.
        plain, leadership_generation = leadership.vault_plaintext(keys)
        vault_key, vault = custody.seal_for_session(
            plain,
            leadership.vault_context(
                custody.session_context(member.id, member.school_id, keys.generation, id_hash),
                leadership_generation,
            ),
        )
    now = utcnow()
    row = {
        "id_hash": id_hash,
        "member_id": member.id,
        "school_id": member.school_id,
        "generation": keys.generation if keys is not None else None,
        "leadership_generation": leadership_generation,
        "created_at": now,
        "last_seen_at": now,
        "expires_at": now + lifetime,
        "vault": vault,
        "correlation_vault": None,
        "user_agent": user_agent[:200],
        "state": state.value,
        "challenge": None,
        "confirmed_at": now if state is SessionState.COMPLETE else None,
        "factor_failures": 0,
    }
    # One INSERT statement, then the row as the session's own (persistent, every
    # column as written): an ORM flush of the new row cost more than the rest
    # of starting the session, at every sign-in.
    session.execute(_INSERT_SESSION, row)
    login = LoginSession(**row, member=member)
    make_transient_to_detached(login)
    session.add(login)
    return SignedIn(login, token, vault_key, [])


_INSERT_SESSION = insert(table_of(LoginSession))


def resume_session(session: Session, token: str) -> LoginSession | None:
    """The live session a cookie token names. Expired ones, and ones holding a
    generation of the keys that is no longer the school's, are deleted on sight."""
    login = session.scalars(_BY_HASH, {"id_hash": _token_hash(token)}).one_or_none()
    if login is None:
        return None
    now = utcnow()
    if now >= login.expires_at or not login.member.is_active or _stale(login):
        session.delete(login)
        session.flush()
        return None
    if now - login.last_seen_at > _TOUCH_INTERVAL:
        login.last_seen_at = now
    return login


# Read at every request of a signed-in browser: built once, bound at each run
# (``session.get`` built its query anew each time).
_BY_HASH = select(LoginSession).where(LoginSession.id_hash == bindparam("id_hash"))


def _stale(login: LoginSession) -> bool:
    if login.generation is None:
        return False
    school = login.member.school
    return (
        school is None
        or login.school_id != school.id
        or login.generation != school.key_generation
        or login.leadership_generation not in (None, school.leadership_generation)
    )


def session_keys(login: LoginSession, vault_key: bytes) -> SchoolKeys | None:
    """The bundle a session holds, opened with the key from its cookie; None if
    it holds none or the key, row or owner do not match."""
    if login.vault is None or login.school_id is None or login.generation is None:
        return None
    try:
        plain = custody.open_for_session(
            vault_key,
            login.vault,
            leadership.vault_context(
                custody.session_context(
                    login.member_id, login.school_id, login.generation, login.id_hash
                ),
                login.leadership_generation,
            ),
        )
        keys = leadership.from_vault(plain, login.leadership_generation, login.member_id)
    except CryptoError:
        return None
    return keys if keys.generation == login.generation else None


def keys_changed_since(session: Session, school_id: uuid.UUID, generation: int) -> bool:
    """Whether a school's keys moved on from the generation a browser's (ended)
    session held, so the page can say why it must sign in again."""
    current = session.scalar(select(School.key_generation).where(School.id == school_id))
    return current is not None and current != generation


def end_session(session: Session, token: str) -> None:
    login = session.get(LoginSession, _token_hash(token))
    if login is not None:
        audit.record(
            session,
            "member.signed_out",
            actor=login.member,
            object_type="member",
            object_id=login.member_id,
        )
        session.delete(login)
        session.flush()


def _end_sessions_of(session: Session, member: Member) -> int:
    result = session.execute(delete(LoginSession).where(LoginSession.member_id == member.id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def end_all_sessions(session: Session, member: Member, password: str, params: Argon2Params) -> int:
    """Sign out everywhere: every session ends, and the member gets a new
    credential key pair (their password stays), so a copy of an old session
    row, cookie or password blob opens nothing the school holds afterwards."""
    old = _check_password(member, password, "password")
    _replace_credential(session, member, old, password, params)
    count = _end_sessions_of(session, member)
    audit.record(
        session,
        "member.signed_out_everywhere",
        actor=member,
        school_id=member.school_id,
        object_type="member",
        object_id=member.id,
        sessions=count,
    )
    session.flush()
    return count


def purge_expired_sessions(session: Session) -> int:
    result = session.execute(delete(LoginSession).where(LoginSession.expires_at <= utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def change_password(
    session: Session, member: Member, current: str, new: str, confirm: str, params: Argon2Params
) -> SchoolKeys | None:
    """A new password and a new credential key pair: the school's bundle is
    wrapped to the new credential and the old wraps deleted, and every session
    of the member ends. Returns the bundle for the member's renewed session."""
    # Both checked, so the form shows every problem at once.
    problems = Problems()
    old = problems.check(None, lambda: _check_password(member, current, "current"))
    password = problems.check("", lambda: check_new_password_of(member, new, confirm))
    problems.raise_any()
    assert old is not None
    keys = _replace_credential(session, member, old, password, params)
    _end_sessions_of(session, member)
    audit.record(
        session, "member.password_changed", actor=member, object_type="member", object_id=member.id
    )
    session.flush()
    return keys


def check_new_password_of(member: Member, new: str, confirm: str) -> str:
    """The member's new password, checked (length, match, not their name or address)."""
    return check_new_password(new, confirm, email=member.email, name=member.name)


def _check_password(member: Member, password: str, field: str) -> CredentialKey:
    try:
        return CredentialKey(
            custody.unwrap_seed_with_password(member.password_blob, password, _owner(member))
        )
    except CryptoError:
        raise InvalidInput("Your current password is not right.", field=field) from None


def _replace_credential(
    session: Session,
    member: Member,
    old: CredentialKey,
    password: str,
    params: Argon2Params,
) -> SchoolKeys | None:
    """Give the member a fresh credential key pair sealed under ``password``:
    the current bundle (opened with the old credential) is wrapped to it and
    every wrap to the old one is deleted. Returns that bundle, if any."""
    keys = _unlock(session, member, old)
    fresh = CredentialKey.generate()
    keyring.delete_wraps_of(session, CredentialKind.MEMBER, member.id)
    held = leadership.move_to_credential(session, member, old, fresh.public_bytes())
    own = personal.move_to_credential(session, member, old, fresh.public_bytes())
    member.password_blob = custody.wrap_seed_with_password(
        fresh.seed, password, params, _owner(member)
    )
    member.credential_public = fresh.public_bytes()
    school = member.school
    if keys is not None and school is not None:
        keyring.add_wrap(
            session, school.id, keys, CredentialKind.MEMBER, member.id, member.credential_public
        )
    elif school is not None and school.key_generation and not member.keys_pending:
        # The old credential opened nothing: a colleague confirms the new one.
        member.keys_pending = True
    audit.record(
        session,
        "member.credential_replaced",
        actor=member,
        object_type="member",
        object_id=member.id,
        generation=keys.generation if keys is not None else None,
    )
    if keys is None:
        return None
    return personal.carrying(leadership.holding(keys, held), member.id, own)


@dataclass(frozen=True)
class Recovered:
    member: Member
    credential: CredentialKey
    new_recovery_code: str


_NO_MATCH = "That email address and recovery code do not match."


def check_recovery_password(email: str, new: str, confirm: str) -> str:
    """The recovery form's new password by its rules alone (the code is not looked at)."""
    return check_new_password(new, confirm, email=email.strip().lower())


def _recovery_target(
    session: Session, email: str, code: str
) -> tuple[Member, RecoveryCode, SchoolKeys, School]:
    """The head, their school's unused recovery code, the keys it opens, the school;
    anything else is one answer that tells nothing of which part was wrong."""
    try:
        email = directory.normalise_email(email)
        credential = custody.recovery_credential(code)
        code_id = custody.recovery_code_id(code)
    except (InvalidInput, CryptoError):
        raise InvalidInput(_NO_MATCH, field="code") from None
    member = session.scalars(select(Member).where(Member.email == email)).one_or_none()
    row = session.scalars(select(RecoveryCode).where(RecoveryCode.code_id == code_id)).one_or_none()
    if (
        member is None
        or not member.is_active
        or not member.role_enum.leads_keyholder
        or row is None
        or row.used_at is not None
        or row.school_id != member.school_id
        or member.school is None
    ):
        raise InvalidInput(_NO_MATCH, field="code")
    school = member.school
    keys = keyring.unwrap(
        session, school.id, school.key_generation, CredentialKind.RECOVERY, row.id, credential
    )
    if keys is None:
        raise InvalidInput(_NO_MATCH, field="code")
    return member, row, keys, school


def recover_head(
    session: Session, email: str, code: str, new: str, confirm: str, params: Argon2Params
) -> Recovered:
    """A head who forgot the password regains the school's keys with the
    recovery code. The code is spent; a new one is issued and shown once."""
    # A refused code and the password's problems together (its name rule once the code opened).
    problems = Problems()
    found = problems.check(None, lambda: _recovery_target(session, email, code))
    new = problems.check(
        "",
        lambda: check_new_password(
            new,
            confirm,
            email=found[0].email if found else email.strip().lower(),
            name=found[0].name if found else "",
        ),
    )
    problems.raise_any()
    assert found is not None
    member, row, keys, school = found
    # Spend the code first, in one statement: of two recoveries with it at once,
    # only one finds it unused (on PostgreSQL the other waits for its commit) and
    # the other is answered as a later use of a spent code is.
    spent = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput(_NO_MATCH, field="code")
    session.refresh(row)
    # The forgotten password sealed the old credential: make a new one.
    fresh = CredentialKey.generate()
    member.password_blob = custody.wrap_seed_with_password(fresh.seed, new, params, _owner(member))
    member.credential_public = fresh.public_bytes()
    keyring.delete_wraps_of(session, CredentialKind.MEMBER, member.id)
    # The leadership bundle was wrapped to the forgotten credential only: a
    # leadership colleague's next sign-in wraps it to the new one.
    leadership.forget_wraps_of(session, member)
    personal.retire(session, member, "recovered with a recovery code")
    keyring.add_wrap(
        session, school.id, keys, CredentialKind.MEMBER, member.id, member.credential_public
    )
    member.keys_pending = False
    keyring.delete_wraps_of(session, CredentialKind.RECOVERY, row.id)
    session.execute(delete(LoginSession).where(LoginSession.member_id == member.id))
    audit.record(
        session,
        "member.recovered",
        actor=member,
        object_type="member",
        object_id=member.id,
        recovery_code=str(row.id),
    )
    replacement = directory.issue_recovery_code(session, school, keys, member)
    session.flush()
    return Recovered(member, fresh, replacement)


def suspended(school: School | None) -> bool:
    return school is not None and school.status == SchoolStatus.SUSPENDED
