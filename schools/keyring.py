"""School key custody in the database (design.md, "Keys and custody").

A school's key bundle is never stored in clear: each generation is HPKE-wrapped
to the public key of every credential that may act for the school (members,
the head's recovery code, open invitations, live API tokens). Rotation makes a new
generation wrapped to every remaining credential and keeps the previous bundle
readable through a chain encrypted under the new one.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import and_, bindparam, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crypto import custody
from crypto.keys import CredentialKey, SchoolKeys
from schools import audit, credentials
from schools.bundles import Bundles, Found
from schools.db import table_of, utcnow
from schools.errors import KeysLocked, NotFound
from schools.models import (
    CredentialKind,
    KeyWrap,
    LoginSession,
    Member,
    MemberStatus,
    School,
    SchoolKeyGeneration,
)

SCHOOL_BUNDLES = Bundles(
    "school", SchoolKeyGeneration, KeyWrap, "school_id", custody.keywrap_context
)


def add_wrap(
    session: Session,
    school_id: uuid.UUID,
    keys: SchoolKeys,
    kind: CredentialKind,
    credential_id: uuid.UUID,
    credential_public: bytes,
) -> KeyWrap:
    wrap: KeyWrap = SCHOOL_BUNDLES.wrap(
        session, school_id, keys, kind, credential_id, credential_public
    )
    return wrap


def unwrap(
    session: Session,
    school_id: uuid.UUID,
    generation: int,
    kind: CredentialKind,
    credential_id: uuid.UUID,
    credential: CredentialKey,
) -> SchoolKeys | None:
    """The bundle this credential holds for the generation, or None if it holds none."""
    return SCHOOL_BUNDLES.unwrap(
        session,
        school_id,
        generation,
        kind,
        credential_id,
        credential,
        lambda generation: _mismatch(session, school_id, generation, kind, credential_id),
    )


def open_found(
    session: Session,
    school_id: uuid.UUID,
    kind: CredentialKind,
    credential_id: uuid.UUID,
    credential: CredentialKey,
    found: Found | None,
) -> SchoolKeys | None:
    """``unwrap`` of a wrap already read, with the public keys published for
    its generation (``found``; None: the credential holds none)."""
    return SCHOOL_BUNDLES.open_found(
        school_id,
        kind,
        credential_id,
        credential,
        found,
        lambda generation: _mismatch(session, school_id, generation, kind, credential_id),
    )


def _mismatch(
    session: Session,
    school_id: uuid.UUID,
    generation: int,
    kind: CredentialKind,
    credential_id: uuid.UUID,
) -> None:
    # Someone wrapped keys the school never published (or altered the
    # published ones): using them would seal and sign with keys nobody
    # can check against the fingerprint. Refuse, and say so in the log,
    # even when the request then fails and rolls back.
    audit.record_lasting(
        session,
        "school.keys_mismatch",
        school_id=school_id,
        object_type="school",
        object_id=school_id,
        generation=generation,
        credential_kind=str(kind),
        credential_id=str(credential_id),
    )


def publish_generation(
    session: Session,
    school: School,
    keys: SchoolKeys,
    previous: SchoolKeys | None,
    actor: Member | None,
    reason: str,
) -> SchoolKeyGeneration:
    # The previous generation stops signing now; readers refuse anything it
    # signs dated after this (network/alerts/integrity.py).
    now = utcnow()
    row: SchoolKeyGeneration
    row, _public = SCHOOL_BUNDLES.publish(session, school.id, keys, previous, now)
    school.key_generation = keys.generation
    # Key transparency: the public keys themselves go into the audit trail.
    audit.record(
        session,
        "school.keys_created" if previous is None else "school.keys_rotated",
        actor=actor,
        school_id=school.id,
        cluster_id=school.cluster_id,
        object_type="school",
        object_id=school.id,
        generation=keys.generation,
        fingerprint=row.fingerprint,
        public_keys_sha256=_sha256_hex(row.public_keys),
        reason=reason,
        retired_generation=previous.generation if previous else None,
        retired_at=now.isoformat() if previous else None,
    )
    session.flush()
    return row


def create_school_keys(session: Session, school: School, first_head: Member) -> SchoolKeys:
    """Made when the school's first head accepts the invitation."""
    keys = SchoolKeys.generate(1)
    publish_generation(session, school, keys, None, first_head, "first head joined")
    return keys


def keys_of_generation(
    session: Session, current: SchoolKeys, school_id: uuid.UUID, generation: int
) -> SchoolKeys:
    """Walk the history chain back from the current bundle to an older generation."""
    return keys_back_to(session, school_id, current, generation)[generation]


def keys_back_to(
    session: Session, school_id: uuid.UUID, current: SchoolKeys, target: int
) -> dict[int, SchoolKeys]:
    """Every bundle on the history chain from ``current`` back to ``target``, by generation.

    One query fetches the chained bundles of generations in (target, current];
    each is then opened in turn with the bundle above it (a tampered or moved
    link raises), so a caller may keep every bundle opened on the way.
    NotFound if the chain does not reach ``target``.
    """
    opened = SCHOOL_BUNDLES.chain(session, school_id, current, target)
    if target not in opened:
        raise NotFound("That key generation is not in this school's history.")
    return opened


def unlock_for_member(session: Session, member: Member, credential: CredentialKey) -> SchoolKeys:
    """The school's current bundle through the member's own wrap."""
    school = member.school
    if school is None or school.key_generation == 0:
        raise KeysLocked("This school has no keys yet.")
    keys = unwrap(
        session, school.id, school.key_generation, CredentialKind.MEMBER, member.id, credential
    )
    if keys is None:
        raise KeysLocked(
            "Your access to the school's keys is waiting for confirmation by a colleague."
        )
    return keys


def _pending(school_id: Any) -> ColumnElement[bool]:
    """Members of the school (an id, or a bound parameter) waiting for a
    colleague to wrap the keys to them."""
    # On the table's columns: the probe below runs as a plain statement.
    members = table_of(Member).c
    return and_(
        members.school_id == school_id,
        members.keys_pending.is_(True),
        members.status == MemberStatus.ACTIVE.value,
    )


def has_pending_members(session: Session, school: School) -> bool:
    """Whether anyone waits for a colleague to wrap the keys to them (one indexed
    query, so sign-in unwraps the keys only when there is someone to confirm)."""
    return session.scalar(_ANY_PENDING, {"school_id": school.id}) is not None


# ``_pending`` as one prepared query, asked at every sign-in: built once, with
# the school bound at each run.
_ANY_PENDING = select(table_of(Member).c.id).where(_pending(bindparam("school_id"))).limit(1)


def confirm_pending_members(
    session: Session, school: School, keys: SchoolKeys, actor: Member | None
) -> list[Member]:
    """Wrap the bundle for members who joined while nobody's keys were unlocked."""
    pending = session.scalars(select(Member).where(_pending(school.id))).all()
    for member in pending:
        add_wrap(
            session, school.id, keys, CredentialKind.MEMBER, member.id, member.credential_public
        )
        member.keys_pending = False
        audit.record(
            session,
            "member.keys_confirmed",
            actor=actor,
            school_id=school.id,
            object_type="member",
            object_id=member.id,
            generation=keys.generation,
        )
    session.flush()
    return list(pending)


def rotate(
    session: Session, school: School, current: SchoolKeys, actor: Member | None, reason: str
) -> SchoolKeys:
    """Move the school to generation g+1, wrapped to every remaining credential.

    Needs no password: wraps are made to public keys. Wraps of the old
    generation are deleted, so a removed credential keeps nothing it could use
    for new alerts; history stays readable through the chain. Every login
    session of the school ends (each sealed generation g); the caller renews
    the acting member's own with the new bundle.
    """
    new = SchoolKeys.generate(current.generation + 1)
    publish_generation(session, school, new, current, actor, reason)
    for credential in credentials.live_credentials(session, school.id, utcnow()):
        add_wrap(session, school.id, new, credential.kind, credential.id, credential.public)
    session.execute(
        delete(KeyWrap).where(
            KeyWrap.school_id == school.id, KeyWrap.generation <= current.generation
        )
    )
    end_sessions(session, school, actor, "keys rotated")
    session.flush()
    return new


def end_sessions(
    session: Session,
    school: School,
    actor: Member | None,
    reason: str,
    *only: ColumnElement[bool],
) -> int:
    """End the school's login sessions (``only`` those matching), audited with
    the reason: the sessions whose sealed keys a rotation made stale."""
    ended = session.execute(delete(LoginSession).where(LoginSession.school_id == school.id, *only))
    count = int(ended.rowcount)  # type: ignore[attr-defined]
    audit.record(
        session,
        "school.sessions_ended",
        actor=actor,
        school_id=school.id,
        cluster_id=school.cluster_id,
        object_type="school",
        object_id=school.id,
        sessions=count,
        reason=reason,
    )
    return count


def delete_wraps_of(session: Session, kind: CredentialKind, credential_id: uuid.UUID) -> int:
    """Delete every wrap of one credential, all generations; how many there were."""
    result = session.execute(
        delete(KeyWrap).where(
            KeyWrap.credential_kind == kind, KeyWrap.credential_id == credential_id
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
