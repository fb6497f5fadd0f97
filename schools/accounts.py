"""Signing in and out, login sessions that hold key material only in split
form, password changes, recovery, and removing members."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crypto import custody
from crypto.custody import Argon2Params
from crypto.errors import CryptoError
from crypto.keys import CredentialKey, SchoolKeys
from schools import audit, directory, invitations, keyring, policy
from schools.db import utcnow
from schools.errors import Conflict, InvalidInput, KeysLocked, NotFound, SignInFailed
from schools.models import (
    CredentialKind,
    Invitation,
    LoginSession,
    Member,
    MemberStatus,
    RecoveryCode,
    Role,
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


@lru_cache(maxsize=4)
def _decoy_blob(params: Argon2Params) -> bytes:
    return custody.wrap_seed_with_password(bytes(32), secrets.token_hex(16), params)


def authenticate(
    session: Session, email: str, password: str, params: Argon2Params
) -> tuple[Member, CredentialKey]:
    """The member and their unlocked credential, or SignInFailed (one message for
    an unknown address and a wrong password, and the same work for both).

    ``params`` are the hub's current Argon2id parameters (settings): an unknown
    address costs the same as a real one, and a password blob made with other
    parameters is re-wrapped with them once the password has opened it.
    """
    try:
        email = directory.normalise_email(email)
    except InvalidInput:
        raise SignInFailed(SIGN_IN_FAILED, field="email") from None
    member = session.scalars(select(Member).where(Member.email == email)).one_or_none()
    if member is None or not member.is_active:
        decoy = params if member is None else custody.password_params_of(member.password_blob)
        with contextlib.suppress(CryptoError):
            custody.unwrap_seed_with_password(_decoy_blob(decoy), password)
        raise SignInFailed(SIGN_IN_FAILED, field="email")
    try:
        seed = custody.unwrap_seed_with_password(member.password_blob, password)
    except CryptoError:
        raise SignInFailed(SIGN_IN_FAILED, field="email") from None
    stored = custody.password_params_of(member.password_blob)
    if stored != params:
        member.password_blob = custody.wrap_seed_with_password(seed, password, params)
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
    vault_key: bytes  # goes in the cookie; never stored
    confirmed: list[Member]


def start_session(
    session: Session,
    member: Member,
    credential: CredentialKey,
    user_agent: str = "",
    lifetime: timedelta = SESSION_LIFETIME,
    state: SessionState = SessionState.COMPLETE,
) -> SignedIn:
    """Open a login session. The credential seed is sealed under a fresh key that
    only the browser keeps; the row holds the ciphertext alone.

    A session that still waits for a second factor (``state``) opens nothing:
    schools.factors finishes it without hashing the password again."""
    token = secrets.token_urlsafe(32)
    vault_key, vault = custody.seal_for_session(credential.seed)
    now = utcnow()
    complete = state is SessionState.COMPLETE
    login = LoginSession(
        id_hash=_token_hash(token),
        member_id=member.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        vault=vault,
        user_agent=user_agent[:200],
        state=state,
        confirmed_at=now if complete else None,
    )
    session.add(login)
    member.last_sign_in_at = now
    confirmed = confirm_colleagues(session, member, credential) if complete else []
    audit.record(
        session,
        "member.signed_in" if complete else "member.password_accepted",
        actor=member,
        object_type="member",
        object_id=member.id,
    )
    session.flush()
    return SignedIn(login, token, vault_key, confirmed)


def confirm_colleagues(session: Session, member: Member, credential: CredentialKey) -> list[Member]:
    """A member who can open the keys confirms colleagues who joined while
    nobody's keys were unlocked (invitations made from the CLI)."""
    school = member.school
    if (
        school is None
        or not school.key_generation
        or member.keys_pending
        or not keyring.has_pending_members(session, school)
    ):
        return []
    try:
        keys = keyring.unlock_for_member(session, member, credential)
    except KeysLocked:
        return []
    return keyring.confirm_pending_members(session, school, keys, member)


def resume_session(session: Session, token: str) -> LoginSession | None:
    """The live session a cookie token names; expired ones are deleted on sight."""
    login = session.get(LoginSession, _token_hash(token))
    if login is None:
        return None
    now = utcnow()
    if now >= login.expires_at or not login.member.is_active:
        session.delete(login)
        session.flush()
        return None
    if now - login.last_seen_at > _TOUCH_INTERVAL:
        login.last_seen_at = now
    return login


def session_credential(login: LoginSession, vault_key: bytes) -> CredentialKey | None:
    if login.vault is None:
        return None
    try:
        return CredentialKey(custody.open_for_session(vault_key, login.vault))
    except CryptoError:
        return None


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


def end_all_sessions(session: Session, member: Member, actor: Member | None = None) -> int:
    count = session.execute(
        delete(LoginSession).where(LoginSession.member_id == member.id)
    ).rowcount  # type: ignore[attr-defined]
    audit.record(
        session,
        "member.signed_out_everywhere",
        actor=actor or member,
        school_id=member.school_id,
        object_type="member",
        object_id=member.id,
        sessions=count,
    )
    return int(count)


def purge_expired_sessions(session: Session) -> int:
    result = session.execute(delete(LoginSession).where(LoginSession.expires_at <= utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def change_password(
    session: Session, member: Member, current: str, new: str, confirm: str, params: Argon2Params
) -> None:
    """Re-wraps only the member's own seed: the school's keys are untouched."""
    try:
        seed = custody.unwrap_seed_with_password(member.password_blob, current)
    except CryptoError:
        raise InvalidInput("Your current password is not right.", field="current") from None
    new = check_new_password(new, confirm, email=member.email, name=member.name)
    member.password_blob = custody.wrap_seed_with_password(seed, new, params)
    audit.record(
        session, "member.password_changed", actor=member, object_type="member", object_id=member.id
    )
    session.flush()


@dataclass(frozen=True)
class Recovered:
    member: Member
    credential: CredentialKey
    new_recovery_code: str


def recover_head(
    session: Session, email: str, code: str, new: str, confirm: str, params: Argon2Params
) -> Recovered:
    """A head who forgot the password regains the school's keys with the
    recovery code. The code is spent; a new one is issued and shown once."""
    generic = "That email address and recovery code do not match."
    try:
        email = directory.normalise_email(email)
        credential = custody.recovery_credential(code)
        code_id = custody.recovery_code_id(code)
    except (InvalidInput, CryptoError):
        raise InvalidInput(generic, field="code") from None
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
        raise InvalidInput(generic, field="code")
    school = member.school
    keys = keyring.unwrap(
        session, school.id, school.key_generation, CredentialKind.RECOVERY, row.id, credential
    )
    if keys is None:
        raise InvalidInput(generic, field="code")
    new = check_new_password(new, confirm, email=member.email, name=member.name)
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
        raise InvalidInput(generic, field="code")
    session.refresh(row)
    # The forgotten password sealed the old credential: make a new one.
    fresh = CredentialKey.generate()
    member.password_blob = custody.wrap_seed_with_password(fresh.seed, new, params)
    member.credential_public = fresh.public_bytes()
    keyring.delete_wraps_of(session, CredentialKind.MEMBER, member.id)
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


@dataclass(frozen=True)
class Removed:
    """What removing a member changed that the remover must see."""

    # The school's new key generation; None when the school had no keys yet.
    keys: SchoolKeys | None
    # The unused recovery code was made by the removed member (who may have kept
    # it): it was withdrawn, and a head should make a new one.
    recovery_code_withdrawn: bool = False


def remove_member(
    session: Session, actor: Member | None, member_id: uuid.UUID, actor_keys: SchoolKeys | None
) -> Removed:
    """Remove a member: their wraps, sessions and open invitations go, and the
    school moves to a new key generation so nothing they kept opens new alerts.
    A recovery code they made (and so may have kept) is withdrawn."""
    member = session.get(Member, member_id)
    if member is None or member.school is None or not member.is_active:
        raise NotFound("No such member.")
    school: School = member.school
    policy.check_manages_members(actor, school)
    if actor is not None and actor.id == member.id:
        raise Conflict("You cannot remove yourself; ask another head.")
    if member.role_enum is Role.HEAD and not _another_head(session, school, member):
        raise Conflict("A school needs at least one head; invite another head first.")
    if school.key_generation and actor_keys is None:
        raise KeysLocked("Removing a member changes the school's keys; sign in again to do it.")
    member.status = MemberStatus.REMOVED
    keyring.delete_wraps_of(session, CredentialKind.MEMBER, member.id)
    session.execute(delete(LoginSession).where(LoginSession.member_id == member.id))
    audit.record(
        session,
        "member.removed",
        actor=actor,
        school_id=school.id,
        object_type="member",
        object_id=member.id,
    )
    # The links they made are credentials they may have kept: withdraw them
    # before rotating, so the new generation is not wrapped to them.
    for invitation in session.scalars(
        select(Invitation).where(
            Invitation.invited_by_id == member.id, Invitation.is_open(utcnow())
        )
    ).all():
        invitations.withdraw(session, actor, invitation, reason="inviter removed")
    # Likewise the recovery code they made: spent before rotating.
    withdrawn = directory.spend_recovery_codes(session, school, made_by=member.id) > 0
    if withdrawn:
        audit.record(
            session,
            "school.recovery_code_withdrawn",
            actor=actor,
            school_id=school.id,
            object_type="member",
            object_id=member.id,
            reason="maker removed",
        )
    new_keys = None
    if actor_keys is not None and school.key_generation:
        new_keys = keyring.rotate(session, school, actor_keys, actor, reason="member removed")
    session.flush()
    return Removed(keys=new_keys, recovery_code_withdrawn=withdrawn)


def _another_head(session: Session, school: School, member: Member) -> bool:
    return (
        session.scalar(
            select(Member.id)
            .where(
                Member.school_id == school.id,
                Member.role == Role.HEAD,
                Member.status == MemberStatus.ACTIVE,
                Member.id != member.id,
            )
            .limit(1)
        )
        is not None
    )


def suspended(school: School | None) -> bool:
    return school is not None and school.status == SchoolStatus.SUSPENDED
