"""Each member's personal key bundle: the keys of the *named people* audience
tier (design.md, "Audience tiers"; network/alerts/named.py).

An alert sealed to named people is wrapped to each one's own bundle, not to
their credential: credentials are replaced (a password change, "sign out
everywhere", recovery) and a wrap to the old one would open nothing after. The
bundle is like a school's leadership bundle with a membership of one: made at
the member's first sign-in once this exists, HPKE-wrapped only to the
member's own credentials (their password's and API tokens they make),
re-wrapped to the new credential when it is replaced, its public keys
published so that senders seal to it, and checked against the published keys
whenever it is opened. A login session holds it beside the school (and
leadership) bundle, sealed under the cookie's key (``HeldKeys``).

A new credential (password change, sign out everywhere) moves the bundle to
the next generation with the previous one chained under it, so what was
sealed before still opens and the old credential opens nothing sealed after.
A head's recovery (the forgotten password sealed the only credential the
bundle was wrapped to) retires it unchained; their next sign-in
makes the next generation.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, delete, func, select, update
from sqlalchemy.orm import Session

from crypto import custody
from crypto.keys import CredentialKey, SchoolKeys
from schools import audit, leadership
from schools.bundles import Bundles, Found
from schools.db import table_of, utcnow
from schools.errors import KeysLocked
from schools.leadership import HeldKeys
from schools.models import ApiToken, Member
from schools.personal_models import PersonalKeyGeneration, PersonalWrap

MEMBER = "member"
TOKEN = "token"  # noqa: S105  (a credential kind, not a secret)


def personal_of(keys: SchoolKeys | None) -> tuple[uuid.UUID, SchoolKeys] | None:
    """Whose personal bundle ``keys`` carry, and the bundle (None if none)."""
    if isinstance(keys, HeldKeys) and keys.personal is not None and keys.person is not None:
        return keys.person, keys.personal
    return None


def carrying(keys: SchoolKeys, member_id: uuid.UUID, personal: SchoolKeys | None) -> SchoolKeys:
    """``keys`` (with whatever leadership bundle they carry) carrying the
    member's personal bundle."""
    if personal is None:
        return keys
    if isinstance(keys, HeldKeys):
        # Whatever else they carry (a subclass's too) stays with them.
        return replace(keys, personal=personal, person=member_id)
    return HeldKeys(
        keys.generation,
        keys.kem_seed,
        keys.ed25519_seed,
        keys.mldsa_seed,
        None,
        personal,
        member_id,
    )


def wrap_context(
    member_id: uuid.UUID, generation: int, kind: str, credential_id: uuid.UUID
) -> bytes:
    """Bound into each wrap: the member (in the school's place), the
    generation, "personal_" and the credential's kind, and its id. No school
    or leadership wrap's kind is spelt so, so none opens as another."""
    return custody.keywrap_context(member_id, generation, f"personal_{kind}", credential_id)


# The table's columns: the conditions below serve ORM queries and the plain
# statements read at every sign-in and token request alike.
_GENERATIONS = table_of(PersonalKeyGeneration).c


def _unretired(member_id: Any) -> tuple[ColumnElement[bool], ...]:
    return (_GENERATIONS.member_id == member_id, _GENERATIONS.retired_at.is_(None))


def current(session: Session, member_id: uuid.UUID) -> PersonalKeyGeneration | None:
    """The member's current (unretired, newest) published personal keys."""
    return session.scalars(
        select(PersonalKeyGeneration)
        .where(*_unretired(member_id))
        .order_by(PersonalKeyGeneration.generation.desc())
        .limit(1)
    ).first()


def current_generation(member_id: Any) -> ScalarSelect[Any]:
    """``current``'s generation as a subquery, for a member given as a value
    or a bound parameter."""
    return select(func.max(_GENERATIONS.generation)).where(*_unretired(member_id)).scalar_subquery()


def current_of(
    session: Session, member_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PersonalKeyGeneration]:
    """Current published personal keys of several members, one query."""
    if not member_ids:
        return {}
    rows = session.scalars(
        select(PersonalKeyGeneration)
        .where(
            PersonalKeyGeneration.member_id.in_(list(member_ids)),
            PersonalKeyGeneration.retired_at.is_(None),
        )
        .order_by(PersonalKeyGeneration.generation)
    )
    return {row.member_id: row for row in rows}


PERSONAL_BUNDLES = Bundles(
    "personal", PersonalKeyGeneration, PersonalWrap, "member_id", wrap_context
)


def _wrap_to(
    session: Session,
    member_id: uuid.UUID,
    keys: SchoolKeys,
    kind: str,
    cid: uuid.UUID,
    public: bytes,
) -> None:
    PERSONAL_BUNDLES.wrap(session, member_id, keys, kind, cid, public)


def create(session: Session, member: Member) -> SchoolKeys:
    """A new personal bundle for the member (generation 1, or one after their
    last), published and wrapped to their password's credential."""
    last = session.scalar(
        select(func.max(PersonalKeyGeneration.generation)).where(
            PersonalKeyGeneration.member_id == member.id
        )
    )
    keys = SchoolKeys.generate((last or 0) + 1)
    _publish(session, member, keys, None, "member.personal_keys_created")
    _wrap_to(session, member.id, keys, MEMBER, member.id, member.credential_public)
    session.flush()
    return keys


def _publish(
    session: Session, member: Member, keys: SchoolKeys, previous: SchoolKeys | None, action: str
) -> None:
    """Publish ``keys``' public keys (chaining ``previous`` under them and
    retiring it) and audit it."""
    _row, public = PERSONAL_BUNDLES.publish(session, member.id, keys, previous, utcnow())
    audit.record(
        session,
        action,
        actor=member,
        school_id=member.school_id,
        object_type="member",
        object_id=member.id,
        generation=keys.generation,
        fingerprint=public.fingerprint(),
        public_keys_sha256=hashlib.sha256(public.to_bytes()).hexdigest(),
    )


def unwrap_for(
    session: Session, member: Member, kind: str, credential_id: uuid.UUID, credential: CredentialKey
) -> SchoolKeys | None:
    """The member's current personal bundle through one of their credentials;
    None when it holds no wrap of it, or the bundle does not match the
    published public keys (audited)."""
    published = current(session, member.id)
    if published is None:
        return None
    generation = published.generation
    return PERSONAL_BUNDLES.unwrap(
        session,
        member.id,
        generation,
        kind,
        credential_id,
        credential,
        lambda generation: _mismatch(session, member, generation, kind),
    )


def open_found(
    session: Session,
    member: Member,
    kind: str,
    credential_id: uuid.UUID,
    credential: CredentialKey,
    found: Found | None,
) -> SchoolKeys | None:
    """``unwrap_for`` of a wrap of the member's current generation already
    read, with its published public keys (``found``; None: none)."""
    return PERSONAL_BUNDLES.open_found(
        member.id,
        kind,
        credential_id,
        credential,
        found,
        lambda generation: _mismatch(session, member, generation, kind),
    )


def _mismatch(session: Session, member: Member, generation: int, kind: str) -> None:
    # Lasting, as the school bundle's (keyring._mismatch).
    audit.record_lasting(
        session,
        "member.personal_keys_mismatch",
        school_id=member.school_id,
        object_type="member",
        object_id=member.id,
        generation=generation,
        credential_kind=kind,
    )


def on_sign_in(
    session: Session,
    member: Member,
    credential: CredentialKey,
    keys: SchoolKeys | None,
    found: Found | None,
) -> SchoolKeys | None:
    """What a new session holds: ``keys`` carrying the member's personal
    bundle. ``found``: the member's wrap of their current personal generation,
    already read (token_wraps.credential_wraps), or None. The password's
    sign-in of a member with the school's keys and no personal bundle yet
    makes it, also when a second factor is still to come: the bundle is
    wrapped only to the credential the password has just opened, so making it
    then gives nobody anything the password did not, and a member who always
    signs in with a factor (every head, by default) would otherwise never have
    one, so could never be named."""
    if keys is None or member.school_id is None:
        return keys
    personal = open_found(session, member, MEMBER, member.id, credential, found)
    # No wrap of a current generation: whether there is one at all (asked
    # only then; a wrap that does not open is not a missing bundle).
    if found is None and current(session, member.id) is None:
        personal = create(session, member)
    return carrying(keys, member.id, personal)


def move_to_credential(
    session: Session, member: Member, old: CredentialKey, new_public: bytes
) -> SchoolKeys | None:
    """The member's credential is being replaced (password change, sign out
    everywhere): the personal bundle moves to the next generation, with the
    one the old credential opens chained under it, wrapped to ``new_public``
    and to the member's live API tokens. Every older wrap goes, so the old
    credential (or a copy of an old wrap in a backup) opens nothing sealed to
    the member from now on, and the new one still opens everything before.
    Returns the new bundle (None when the old credential opened none)."""
    previous = unwrap_for(session, member, MEMBER, member.id, old)
    if previous is None:
        session.execute(
            delete(PersonalWrap).where(
                PersonalWrap.member_id == member.id, PersonalWrap.credential_kind == MEMBER
            )
        )
        return None
    tokens = session.execute(
        select(ApiToken.id, ApiToken.credential_public)
        .join(PersonalWrap, PersonalWrap.credential_id == ApiToken.id)
        .where(
            PersonalWrap.member_id == member.id,
            PersonalWrap.credential_kind == TOKEN,
            PersonalWrap.generation == previous.generation,
            ApiToken.is_live(utcnow()),
        )
    ).all()
    session.execute(delete(PersonalWrap).where(PersonalWrap.member_id == member.id))
    keys = SchoolKeys.generate(previous.generation + 1)
    _publish(session, member, keys, previous, "member.personal_keys_rotated")
    _wrap_to(session, member.id, keys, MEMBER, member.id, new_public)
    for token_id, token_public in tokens:
        _wrap_to(session, member.id, keys, TOKEN, token_id, token_public)
    return keys


def keys_back_to(
    session: Session, member_id: uuid.UUID, current: SchoolKeys, target: int
) -> SchoolKeys:
    """The member's personal bundle of generation ``target``, walked back
    from ``current`` through the chain; KeysLocked where the chain does not
    reach it (a recovery starts a new chain)."""
    opened = PERSONAL_BUNDLES.chain(session, member_id, current, target)
    if target not in opened:
        raise KeysLocked(
            "This was sealed to personal keys of yours that were replaced after a recovery, "
            "so it no longer opens."
        )
    return opened[target]


def wrap_to_token(
    session: Session, member: Member, keys: SchoolKeys | None, token_id: uuid.UUID, public: bytes
) -> None:
    """A new API token of a member gets the personal bundle their session
    holds, so it reads what is sealed to them by name."""
    held = personal_of(keys)
    if held is not None and held[0] == member.id:
        _wrap_to(session, member.id, held[1], TOKEN, token_id, public)


def retire(session: Session, member: Member, reason: str) -> None:
    """The member's personal bundle can no longer be opened (their forgotten
    password sealed the only credential it was wrapped to): retire it and
    drop its wraps. Their next sign-in makes a new generation; what
    was sealed to the old one stays sealed (docs/crypto.md)."""
    session.execute(
        update(PersonalKeyGeneration)
        .where(
            PersonalKeyGeneration.member_id == member.id,
            PersonalKeyGeneration.retired_at.is_(None),
        )
        .values(retired_at=utcnow())
    )
    session.execute(delete(PersonalWrap).where(PersonalWrap.member_id == member.id))
    audit.record(
        session,
        "member.personal_keys_retired",
        actor=member,
        school_id=member.school_id,
        object_type="member",
        object_id=member.id,
        reason=reason,
    )


def forget_token(session: Session, token_id: uuid.UUID) -> None:
    session.execute(
        delete(PersonalWrap).where(
            PersonalWrap.credential_kind == TOKEN, PersonalWrap.credential_id == token_id
        )
    )


def unlock_for_member(session: Session, member: Member, credential: CredentialKey) -> SchoolKeys:
    """``leadership.unlock_for_member`` carrying the member's personal bundle
    too: what the command line unlocks with a password (and hands a token)."""
    keys = leadership.unlock_for_member(session, member, credential)
    return carrying(keys, member.id, unwrap_for(session, member, MEMBER, member.id, credential))
