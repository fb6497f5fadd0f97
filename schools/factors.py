"""Second factors: who needs one, authenticator apps (TOTP) and backup codes,
finishing a sign-in that waits for its factor, removing and resetting factors,
and confirming one's identity again before a dangerous action.

The password is checked once, with Argon2id, in schools.accounts; a session
then starts in a waiting state (``SessionState``) and this module finishes it.
Nothing here hashes a password again except ``confirm_identity``, which is the
step-up a member asks for. Passkeys are in schools/passkeys.py.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from crypto import custody, factors
from crypto.errors import CryptoError
from crypto.keys import SchoolKeys
from schools import audit, leadership, policy, throttle
from schools.db import table_of, utcnow
from schools.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from schools.models import (
    BackupCode,
    Cluster,
    FactorKind,
    LoginSession,
    Member,
    Role,
    SecondFactor,
    SessionState,
)

BACKUP_CODES = 8
# Dangerous actions need the password (and factor) within this long.
STEP_UP = timedelta(minutes=5)
# Codes this many steps old (5 minutes) are called expired rather than wrong.
_EXPIRED_STEPS = 10
# Wrong codes a waiting session may send before it is ended (password again).
MAX_FACTOR_FAILURES = 5
ISSUER = "alertnet"


class FactorRefused(DomainError):
    """A code or passkey was not accepted; the message says why."""

    status = 401

    def __init__(self, message: str, *, reason: str, field: str | None = "code") -> None:
        super().__init__(message, field=field)
        self.reason = reason


@dataclass(frozen=True)
class Enrolment:
    factor: SecondFactor
    secret: bytes
    uri: str


# --- who needs a factor -----------------------------------------------------------


def cluster_of(member: Member) -> Cluster | None:
    if member.school is not None:
        return member.school.cluster
    return member.cluster


def must_have_factor(member: Member) -> bool:
    """The member's cluster requires a second factor of their role."""
    cluster = cluster_of(member)
    if cluster is None or member.role_enum is Role.HUB_ADMIN:
        return False
    if member.role_enum is Role.STAFF:
        return cluster.second_factor_staff
    return cluster.second_factor_leaders


def factors_of(session: Session, member: Member) -> list[SecondFactor]:
    """The member's working factors (confirmed), oldest first."""
    return list(session.scalars(_WORKING_FACTORS, {"member_id": member.id}))


# The sign-in's statements below are built once, with the member bound at each
# run, on the table's columns: plain rows, no ORM work at each run.
_FACTORS = table_of(SecondFactor)
_COLUMNS = _FACTORS.c
_WORKING = (_COLUMNS.member_id == bindparam("member_id"), _COLUMNS.confirmed_at.is_not(None))
_WORKING_FACTORS = select(SecondFactor).where(*_WORKING).order_by(SecondFactor.created_at)
# Read at every code given at sign-in: the working apps' ids and sealed secrets.
_WORKING_APPS = (
    select(_COLUMNS.id, _COLUMNS.member_id, _COLUMNS.secret_sealed)
    .where(*_WORKING, _COLUMNS.kind == FactorKind.TOTP.value)
    .order_by(_COLUMNS.created_at)
)


def has_factor(session: Session, member: Member) -> bool:
    """The member has a working factor (one indexed probe: nothing is loaded)."""
    return session.scalar(_ANY_FACTOR, {"member_id": member.id}) is not None


# Asked at every sign-in.
_ANY_FACTOR = select(_COLUMNS.id).where(*_WORKING).limit(1)


def state_after_password(session: Session, member: Member) -> SessionState:
    if has_factor(session, member):
        return SessionState.FACTOR_PENDING
    if must_have_factor(member):
        return SessionState.ENROL_PENDING
    return SessionState.COMPLETE


def set_cluster_rule(
    session: Session, actor: Member | None, cluster: Cluster, *, leaders: bool, staff: bool
) -> None:
    """The coordinator decides who in the cluster must use a second factor."""
    policy.check_cluster(actor, cluster)
    if (cluster.second_factor_leaders, cluster.second_factor_staff) == (leaders, staff):
        return
    before = _rule_text(cluster.second_factor_leaders, cluster.second_factor_staff)
    cluster.second_factor_leaders = leaders
    cluster.second_factor_staff = staff
    audit.record(
        session,
        "cluster.second_factor_rule_changed",
        actor=actor,
        cluster_id=cluster.id,
        object_type="cluster",
        object_id=cluster.id,
        before=before,
        after=_rule_text(leaders, staff),
    )
    session.flush()


def _rule_text(leaders: bool, staff: bool) -> str:
    return f"heads and coordinators: {'required' if leaders else 'optional'}; " + (
        f"staff: {'required' if staff else 'optional'}"
    )


# --- authenticator apps -------------------------------------------------------------


def _context(member_id: uuid.UUID, factor_id: uuid.UUID) -> bytes:
    return b"totp\0" + member_id.bytes + factor_id.bytes


def _open(key: bytes, factor_id: uuid.UUID, member_id: uuid.UUID, sealed: bytes | None) -> bytes:
    assert sealed is not None
    return factors.open_secret(key, sealed, _context(member_id, factor_id))


def _secret(factor: SecondFactor, key: bytes) -> bytes:
    return _open(key, factor.id, factor.member_id, factor.secret_sealed)


def start_totp(session: Session, member: Member, key: bytes) -> Enrolment:
    """The app the member is setting up: the unconfirmed one they started, or a
    new one. Its secret is stored sealed until a code confirms it."""
    factor = session.scalars(
        select(SecondFactor).where(
            SecondFactor.member_id == member.id,
            SecondFactor.kind == FactorKind.TOTP,
            SecondFactor.confirmed_at.is_(None),
        )
    ).first()
    if factor is None:
        factor = SecondFactor(
            id=uuid.uuid4(), member_id=member.id, kind=FactorKind.TOTP, name="Authenticator app"
        )
        secret = factors.new_totp_secret()
        factor.secret_sealed = factors.seal_secret(key, secret, _context(member.id, factor.id))
        session.add(factor)
        session.flush()
        audit.record(
            session,
            "member.second_factor_started",
            actor=member,
            object_type="member",
            object_id=member.id,
            kind=FactorKind.TOTP.value,
        )
    else:
        secret = _secret(factor, key)
    return Enrolment(factor, secret, factors.totp_uri(secret, member.email, ISSUER))


def confirm_totp(
    session: Session, member: Member, key: bytes, code: str, now: datetime
) -> list[str]:
    """Confirm the app being set up with one code. Returns new backup codes when
    this is the member's first factor (shown once), else an empty list."""
    factor = session.scalars(
        select(SecondFactor).where(
            SecondFactor.member_id == member.id,
            SecondFactor.kind == FactorKind.TOTP,
            SecondFactor.confirmed_at.is_(None),
        )
    ).first()
    if factor is None:
        raise Conflict("Start setting up the app again: this set-up has already finished.")
    app = _App(factor.id, factor.member_id, factor.secret_sealed)
    step = _accept_totp(session, app, key, code, now)
    # What the statement wrote, without reading the row back.
    set_committed_value(factor, "last_step", step)
    set_committed_value(factor, "last_used_at", now)
    first = not has_factor(session, member)
    factor.confirmed_at = now
    audit.record(
        session,
        "member.second_factor_enrolled",
        actor=member,
        object_type="second_factor",
        object_id=factor.id,
        kind=factor.kind,
    )
    codes = issue_backup_codes(session, member) if first else []
    session.flush()
    return codes


class _App(NamedTuple):
    """What checking a code needs of an authenticator app (no row is loaded)."""

    id: uuid.UUID
    member_id: uuid.UUID
    secret_sealed: bytes | None


def _accept_totp(session: Session, app: _App, key: bytes, code: str, now: datetime) -> int:
    """Accept a code for the current step or either neighbour (clocks drift),
    once: the step is recorded, so a code seen over a shoulder cannot be
    reused. Returns the step accepted."""
    secret = _open(key, app.id, app.member_id, app.secret_sealed)
    current = factors.totp_step(now.timestamp())
    step = factors.totp_matching_step(secret, code, current - 1, current + 1)
    if step is None:
        if factors.totp_matching_step(secret, code, current - _EXPIRED_STEPS, current - 2):
            raise FactorRefused(
                "That code has expired. Enter the code your app shows now.", reason="expired"
            )
        raise FactorRefused(
            "That code is not right. Check the app shows alertnet and enter its current code.",
            reason="wrong",
        )
    # One statement: of two requests with the same code, one finds the step unused.
    taken = session.execute(_TAKE_STEP, {"factor_id": app.id, "step": step, "now": now})
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise FactorRefused(
            "That code has already been used. Wait for the app to show a new one.",
            reason="replayed",
        )
    return step


# Run at every code accepted: built once, bound at each run.
_TAKE_STEP = (
    update(_FACTORS)
    .where(_COLUMNS.id == bindparam("factor_id"), _COLUMNS.last_step < bindparam("step"))
    .values(last_step=bindparam("step"), last_used_at=bindparam("now"))
)


def check_totp(session: Session, member: Member, key: bytes, code: str, now: datetime) -> None:
    """A code from any of the member's apps."""
    apps = [_App(*row) for row in session.execute(_WORKING_APPS, {"member_id": member.id})]
    if not apps:
        raise FactorRefused("You have no authenticator app set up.", reason="no_app")
    refused: FactorRefused | None = None
    for app in apps:
        try:
            _accept_totp(session, app, key, code, now)
            return
        except FactorRefused as error:
            # Report "replayed"/"expired" over "wrong": it is the more useful truth.
            if refused is None or refused.reason == "wrong":
                refused = error
    assert refused is not None
    raise refused


# --- backup codes -------------------------------------------------------------------


def issue_backup_codes(session: Session, member: Member) -> list[str]:
    """Eight new single-use codes, replacing any old ones; only hashes are kept."""
    session.execute(delete(BackupCode).where(BackupCode.member_id == member.id))
    codes = [factors.new_backup_code() for _ in range(BACKUP_CODES)]
    for code in codes:
        session.add(BackupCode(member_id=member.id, code_hash=factors.backup_code_hash(code)))
    audit.record(
        session,
        "member.backup_codes_issued",
        actor=member,
        object_type="member",
        object_id=member.id,
        count=len(codes),
    )
    session.flush()
    return codes


def had_backup_codes(session: Session, member: Member) -> bool:
    """Whether the member was ever given backup codes (used ones count)."""
    return (
        session.scalar(select(BackupCode.id).where(BackupCode.member_id == member.id).limit(1))
        is not None
    )


def backup_codes_left(session: Session, member: Member) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                BackupCode.member_id == member.id, BackupCode.used_at.is_(None)
            )
        )
        or 0
    )


def use_backup_code(session: Session, member: Member, code: str, now: datetime) -> None:
    try:
        digest = factors.backup_code_hash(code)
    except CryptoError as error:
        raise FactorRefused(str(error), reason="malformed") from None
    spent = session.execute(
        update(BackupCode)
        .where(
            BackupCode.member_id == member.id,
            BackupCode.code_hash == digest,
            BackupCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise FactorRefused(
            "That backup code is not right or has already been used.", reason="backup_wrong"
        )
    audit.record(
        session,
        "member.backup_code_used",
        actor=member,
        object_type="member",
        object_id=member.id,
        left=backup_codes_left(session, member),
    )


# --- finishing a sign-in ------------------------------------------------------------


def complete_sign_in(
    session: Session, login: LoginSession, keys: Callable[[], SchoolKeys | None], how: str
) -> list[Member]:
    """The factor was accepted: the session may now do what the member may.
    ``keys`` opens the bundle the session has held since the password (only if
    a colleague waits to be confirmed with it); returns the colleagues it
    confirmed (see accounts.start_session)."""
    from schools.accounts import confirm_colleagues

    now = utcnow()
    # One statement, not a flush of the row: the session's only change here.
    session.execute(_COMPLETE, {"login": login.id_hash, "now": now})
    completed = {"state": SessionState.COMPLETE.value, "challenge": None, "confirmed_at": now}
    for name, value in completed.items():
        set_committed_value(login, name, value)
    member = login.member
    audit.record(
        session,
        "member.signed_in",
        actor=member,
        object_type="member",
        object_id=member.id,
        second_factor=how,
    )
    throttle.note_success(member)
    # Opened at most once, and only if a colleague waits for either bundle.
    opened = functools.cache(keys)
    confirmed = confirm_colleagues(session, member, opened)
    leadership.confirm_missing_at_factor(session, member, opened)
    session.flush()
    return confirmed


# Run at every sign-in with a factor: built once, bound at each run.
_SESSIONS = table_of(LoginSession)
_COMPLETE = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id_hash == bindparam("login"))
    .values(state=SessionState.COMPLETE.value, challenge=None, confirmed_at=bindparam("now"))
)


def count_refusal(session: Session, login_hash: bytes) -> bool:
    """Count a refused factor against the session (a waiting one is ended
    after too many: the member must give the password again; True then). Its
    passkey challenge is spent either way."""
    login = session.get(LoginSession, login_hash)
    if login is None:
        return True
    login.challenge = None
    if login.state_enum is not SessionState.FACTOR_PENDING:
        session.flush()
        return False
    login.factor_failures += 1
    if login.factor_failures >= MAX_FACTOR_FAILURES:
        session.delete(login)
        session.flush()
        audit.record(
            session,
            "member.session_ended",
            school_id=login.school_id,
            object_type="member",
            object_id=login.member_id,
            reason="too many refused second-factor attempts",
        )
        return True
    session.flush()
    return False


def end_waiting_sessions(session: Session, member: Member) -> None:
    """The account was locked: sessions still waiting for a factor end too."""
    session.execute(
        delete(LoginSession).where(
            LoginSession.member_id == member.id,
            LoginSession.state != SessionState.COMPLETE,
        )
    )


# --- removing and resetting ---------------------------------------------------------


def remove_factor(
    session: Session, member: Member, factor_id: uuid.UUID, keep: LoginSession | None
) -> int:
    """Remove one of the member's own factors. Every other session of theirs
    ends (one may be a thief's who added it). Returns how many ended."""
    factor = session.get(SecondFactor, factor_id)
    if factor is None or factor.member_id != member.id:
        raise NotFound("No such second factor.")
    session.delete(factor)
    session.flush()
    if not has_factor(session, member):
        session.execute(delete(BackupCode).where(BackupCode.member_id == member.id))
    ended = _end_other_sessions(session, member, keep)
    audit.record(
        session,
        "member.second_factor_removed",
        actor=member,
        object_type="second_factor",
        object_id=factor_id,
        kind=factor.kind,
        sessions_ended=ended,
    )
    session.flush()
    return ended


def member_to_manage(session: Session, actor: Member | None, member_id: uuid.UUID) -> Member:
    """A member of a school whose head the actor is (for the pages that ask
    before removing them or resetting their factors)."""
    member = session.get(Member, member_id)
    if member is None or member.school is None or not member.is_active:
        raise NotFound("No such member.")
    policy.check_manages_members(actor, member.school)
    return member


def member_to_reset(session: Session, actor: Member | None, member_id: uuid.UUID) -> Member:
    """A member whose second factors the actor may reset (policy.check_resets_factors);
    the CLI (no actor) may reset anyone's, a coordinator's too."""
    member = session.get(Member, member_id)
    if member is None or not member.is_active or (member.school is None and actor is not None):
        raise NotFound("No such member.")
    policy.check_resets_factors(actor, member)
    return member


def reset_factors(session: Session, actor: Member | None, member_id: uuid.UUID) -> int:
    """A head resets a member's second factors, or the coordinator a head's (a
    lost phone): all go, and every session of theirs ends; they set one up
    again at their next sign-in."""
    member = member_to_reset(session, actor, member_id)
    if actor is not None and actor.id == member.id:
        raise Forbidden("Remove your own second factors on your account page.")
    removed = session.execute(
        delete(SecondFactor).where(SecondFactor.member_id == member.id)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(delete(BackupCode).where(BackupCode.member_id == member.id))
    ended = _end_other_sessions(session, member, None)
    audit.record(
        session,
        "member.second_factors_reset",
        actor=actor,
        school_id=member.school_id,
        object_type="member",
        object_id=member.id,
        factors=int(removed),
        sessions_ended=ended,
    )
    session.flush()
    return ended


def clear_after_recovery(session: Session, member: Member) -> None:
    """A head who used the school's recovery code may have lost their phone
    with their password: the code proves enough, so their factors go and they
    set one up again (when required) right away."""
    removed = session.execute(
        delete(SecondFactor).where(SecondFactor.member_id == member.id)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(delete(BackupCode).where(BackupCode.member_id == member.id))
    if removed:
        audit.record(
            session,
            "member.second_factors_reset",
            actor=member,
            object_type="member",
            object_id=member.id,
            factors=int(removed),
            reason="recovery code",
        )
    session.flush()


def _end_other_sessions(session: Session, member: Member, keep: LoginSession | None) -> int:
    query = delete(LoginSession).where(LoginSession.member_id == member.id)
    if keep is not None:
        query = query.where(LoginSession.id_hash != keep.id_hash)
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]


# --- step-up ------------------------------------------------------------------------


def recently_confirmed(login: LoginSession | None, now: datetime) -> bool:
    return (
        login is not None and login.confirmed_at is not None and now - login.confirmed_at <= STEP_UP
    )


def check_password(member: Member, password: str) -> None:
    try:
        custody.unwrap_seed_with_password(
            member.password_blob, password, custody.password_owner(member.id, member.school_id)
        )
    except CryptoError:
        raise InvalidInput("That password is not right.", field="password") from None


def confirm_identity(
    session: Session,
    login: LoginSession,
    password: str,
    code: str,
    key: bytes,
    now: datetime,
) -> None:
    """Before a dangerous action: the password again, and a code from the app
    or a backup code when the member has a factor (with a passkey instead of a
    code: schools.passkeys.confirm_identity)."""
    member = login.member
    check_password(member, password)
    if has_factor(session, member):
        if not code.strip():
            raise InvalidInput("Enter a code from your authenticator app.", field="code")
        if "-" in code or len(code.strip()) > factors.TOTP_DIGITS:
            use_backup_code(session, member, code, now)
        else:
            check_totp(session, member, key, code, now)
    mark_confirmed(session, login, now, how="password")


def mark_confirmed(session: Session, login: LoginSession, now: datetime, how: str) -> None:
    login.confirmed_at = now
    audit.record(
        session,
        "member.identity_confirmed",
        actor=login.member,
        object_type="member",
        object_id=login.member_id,
        how=how,
    )
    session.flush()
