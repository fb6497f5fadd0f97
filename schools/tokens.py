"""API tokens: credentials a member makes for a script or a school's own systems.

A token is ``id.secret`` (crypto.custody). The hub stores the token's id, a hash
of its secret and the public key of the credential derived from the secret; the
school's key bundle is HPKE-wrapped to that credential like to any other
(design.md, "Keys and custody"). So a token opens only its own wrap, and only
while it is presented: the hub stores nothing that opens it (a process
remembers what the wrap opened for a few minutes, found only with the secret
and the wrap as stored: schools/opened_wraps.py).

A token acts as the member who made it, within its scopes (schools.policy.Scope)
and until it expires or is revoked. Revoking deletes its wraps; expiry is
enforced at every use, and rotation wraps the new generation only to live tokens.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, Uuid, bindparam, func, select
from sqlalchemy.orm import Session, lazyload

from crypto import custody
from crypto.errors import CryptoError
from crypto.keys import SchoolKeys
from schools import (
    audit,
    held_keys,
    keyring,
    leadership,
    opened_wraps,
    personal,
    policy,
    token_wraps,
)
from schools.audit.leaf import timestamp
from schools.db import utcnow
from schools.errors import Conflict, DomainError, InvalidInput, KeysLocked, NotFound, Problems
from schools.models import ApiToken, CredentialKind, Member
from schools.policy import Permission, Scope

MAX_NAME = ApiToken.MAX_NAME
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 365
# Every live token costs one HPKE wrap at each key rotation; a school needs a handful.
MAX_LIVE_PER_SCHOOL = 50
# last_used_at is written at most this often, so a busy script does not write on every call.
_TOUCH_INTERVAL = timedelta(minutes=1)


class TokenRejected(DomainError):
    """The presented token is unknown, malformed, expired or revoked: 401."""

    status = 401

    def __init__(self, message: str, *, reason: str, token_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.token_id = token_id


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret_token: str = ""  # ``id.secret``: shown once, never stored

    def __repr__(self) -> str:
        return f"Issued(token={self.token.id})"


def token_id_text(token_id: uuid.UUID) -> str:
    """The ``id`` part of ``id.secret``: the row id as 32 hex digits."""
    return token_id.hex


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    scopes = []
    for value in values:
        try:
            scopes.append(Scope(value.strip()))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise InvalidInput(
                f"Unknown scope {value.strip()[:40]!r}; choose from {known}.", field="scopes"
            ) from None
    return tuple(sorted(set(scopes)))


def _check_name(name: str) -> str:
    if not name:
        raise InvalidInput("Name the token after what will use it, like 'MIS sync'.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"The name must be at most {MAX_NAME} characters.", field="name")
    return name


def _check_scopes(actor: Member, scopes: Iterable[str]) -> tuple[Scope, ...]:
    chosen = parse_scopes(scopes)
    if not chosen:
        raise InvalidInput("Choose at least one scope.", field="scopes")
    allowed = policy.grantable_scopes(actor)
    refused = [s.value for s in chosen if s not in allowed]
    if refused:
        raise InvalidInput(f"Your role cannot grant {', '.join(refused)}.", field="scopes")
    return chosen


def _check_lifetime(days: int) -> int:
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise InvalidInput(
            f"A token lasts from 1 to {MAX_LIFETIME_DAYS} days.", field="expires_days"
        )
    return days


def check_token_request(
    actor: Member, name: str, scopes: Iterable[str], lifetime_days: int
) -> tuple[str, tuple[Scope, ...]]:
    """The token's name and scopes, cleaned; every problem reported together."""
    problems = Problems()
    cleaned = problems.check("", lambda: _check_name(" ".join((name or "").split())))
    none: tuple[Scope, ...] = ()
    chosen = problems.check(none, lambda: _check_scopes(actor, scopes))
    problems.check(0, lambda: _check_lifetime(lifetime_days))
    problems.raise_any()
    return cleaned, chosen


def create_token(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    name: str,
    scopes: Iterable[str],
    lifetime_days: int = DEFAULT_LIFETIME_DAYS,
    now: datetime | None = None,
) -> Issued:
    """Make a token for the actor's key holder and wrap its keys to it.

    ``keys`` is the school's current bundle, unlocked by the actor (their
    session, or their password at the command line).
    """
    policy.require(actor, Permission.MANAGE_API_TOKENS)
    policy.check_school_may_act(actor, "make API tokens")
    school = actor.school
    if school is None:
        raise Conflict("Only members of a school or a cluster office can make API tokens.")
    if keys.generation != school.key_generation:
        raise Conflict("Your school's keys changed since you signed in. Sign in again.")
    name, chosen = check_token_request(actor, name, scopes, lifetime_days)
    now = now or utcnow()
    live = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.school_id == school.id, ApiToken.is_live(now))
    )
    if (live or 0) >= MAX_LIVE_PER_SCHOOL:
        raise Conflict(
            f"Your school already has {MAX_LIVE_PER_SCHOOL} live tokens; revoke unused ones first."
        )
    token_id = uuid.uuid4()
    presented = custody.new_api_token(token_id_text(token_id))
    _, secret = custody.parse_api_token(presented)
    credential = custody.token_credential(secret)
    token = ApiToken(
        id=token_id,
        school_id=school.id,
        member_id=actor.id,
        name=name,
        scopes=" ".join(s.value for s in chosen),
        secret_hash=custody.token_secret_hash(secret),
        credential_public=credential.public_bytes(),
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
    )
    session.add(token)
    session.flush()
    keyring.add_wrap(
        session, school.id, keys, CredentialKind.TOKEN, token.id, token.credential_public
    )
    # A leadership member's token acts as them: it gets the leadership keys too.
    leadership.wrap_to_token(session, actor, keys, token.id, token.credential_public)
    personal.wrap_to_token(session, actor, keys, token.id, token.credential_public)
    audit.record(
        session,
        "token.created",
        actor=actor,
        object_type="api_token",
        object_id=token.id,
        scopes=[s.value for s in chosen],
        expires_at=timestamp(token.expires_at),
        generation=keys.generation,
    )
    session.flush()
    return Issued(token, presented)


def revoke_token(
    session: Session, actor: Member | None, token_id: uuid.UUID, now: datetime | None = None
) -> ApiToken:
    """Revoke at once: its wraps are deleted, so the secret opens nothing any more.
    ``actor`` None is the operator at the command line."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such API token.")
    policy.check_manages_token(actor, token.school_id, token.member_id)
    if token.revoked_at is not None:
        return token
    token.revoked_at = now or utcnow()
    token.revoked_by_id = actor.id if actor is not None else None
    keyring.delete_wraps_of(session, CredentialKind.TOKEN, token.id)
    leadership.forget_credential(session, leadership.TOKEN, token.id)
    personal.forget_token(session, token.id)
    opened_wraps.forget(token.id)
    audit.record(
        session,
        "token.revoked",
        actor=actor,
        school_id=token.school_id,
        object_type="api_token",
        object_id=token.id,
        member=str(token.member_id),
    )
    session.flush()
    return token


def tokens_of(session: Session, actor: Member) -> list[ApiToken]:
    """The tokens an actor sees: a head or coordinator all of their key holder's,
    anyone else only their own. Newest first."""
    if actor.school_id is None or not actor.is_active:
        return []
    query = select(ApiToken).where(ApiToken.school_id == actor.school_id)
    if not policy.may(actor, Permission.MANAGE_API_TOKENS):
        query = query.where(ApiToken.member_id == actor.id)
    return list(session.scalars(query.order_by(ApiToken.created_at.desc())))


def all_tokens(session: Session, school_id: uuid.UUID | None = None) -> list[ApiToken]:
    """Every token (the operator's list), optionally of one school; newest first."""
    query = select(ApiToken)
    if school_id is not None:
        query = query.where(ApiToken.school_id == school_id)
    return list(session.scalars(query.order_by(ApiToken.created_at.desc())))


# Every refused token gets these words, whatever the reason: whoever presents
# it learns neither that the id exists nor its dates. The reason is audited.
NOT_VALID = "Invalid or expired token. Check you copied all of it, or make a new one."


def authenticate(
    session: Session, presented: str, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """The live token ``presented`` names, and its secret; TokenRejected otherwise,
    with the same message for every reason (unknown, wrong secret, expired,
    revoked, its member gone). The secret is compared in constant time against
    the stored hash.
    """
    try:
        id_text, secret = custody.parse_api_token(presented)
        token_id = uuid.UUID(hex=id_text)
    except (CryptoError, ValueError):
        raise TokenRejected(NOT_VALID, reason="malformed") from None
    token = session.scalars(_by_id(), {"token_id": token_id}).one_or_none()
    if token is None:
        raise TokenRejected(NOT_VALID, reason="unknown", token_id=token_id)
    if not custody.token_secret_matches(secret, token.secret_hash):
        raise TokenRejected(NOT_VALID, reason="wrong_secret", token_id=token_id)
    now = now or utcnow()
    state = token.state(now)
    if state != "live":  # revoked, expired, or orphaned (its member left)
        raise TokenRejected(NOT_VALID, reason=state, token_id=token_id)
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_INTERVAL:
        token.last_used_at = now
    return token, secret


@functools.cache
def _by_id() -> Select[ApiToken]:
    """A token with its member, the member's school and cluster: one statement
    (asked at every API request), built once per process. The token's own
    school is its member's school (``create_token``), so it is found in the
    session rather than joined a second time; it is loaded when first asked
    for otherwise (a cluster office's token)."""
    return (
        select(ApiToken)
        .options(lazyload(ApiToken.school))
        .where(ApiToken.id == bindparam("token_id", type_=Uuid()))
    )


def unlock(session: Session, token: ApiToken, secret: str) -> SchoolKeys:
    """The school's current bundle through the token's own wrap (and the
    leadership and personal bundles through its wraps of those). What each
    wrap opened is remembered for a few minutes (schools/opened_wraps.py), by
    the secret and the wrap as stored: the wraps are read every time."""
    school = token.school
    if school.key_generation == 0:
        raise KeysLocked("This school has no keys yet.")
    credential = custody.token_credential(secret)
    member = token.member
    keys, found = held_keys.open_school_bundle(
        session, member, school, CredentialKind.TOKEN, token.id, credential
    )
    if keys is None:
        raise KeysLocked("This token holds no copy of the school's current keys. Make a new token.")
    led = leadership.open_found(
        session, member, leadership.TOKEN, token.id, credential, found.get(token_wraps.LEADERSHIP)
    )
    own = personal.open_found(
        session, member, personal.TOKEN, token.id, credential, found.get(token_wraps.PERSONAL)
    )
    return personal.carrying(leadership.holding(keys, led), token.member_id, own)


def forget_expired(session: Session, token_id: uuid.UUID, now: datetime | None = None) -> bool:
    """Delete the wraps of a token that can no longer be used (expired, or its
    member left); True if there were any."""
    token = session.get(ApiToken, token_id)
    if token is None:
        return False
    state = token.state(now or utcnow())
    if state == "live":
        return False
    deleted = keyring.delete_wraps_of(session, CredentialKind.TOKEN, token.id)
    opened_wraps.forget(token.id)
    if deleted:
        audit.record(
            session,
            "token.wraps_forgotten",
            school_id=token.school_id,
            object_type="api_token",
            object_id=token.id,
            state=state,
            wraps=deleted,
        )
    return deleted > 0
