"""A school's leadership bundle: the keys of its *leadership* audience tier
(design.md, "Audience tiers").

Beside the school bundle every member holds, each school has a second bundle
for its head and safeguarding leads (DSL, deputy DSL), with generations of its
own. It is made when a head first signs in (or when the first head joins), and
HPKE-wrapped only to leadership members' credentials: nobody else holds a
wrap of it. When someone leaves the leadership (their role changes, or they
are removed) it moves to a new generation wrapped to those who remain, with
the previous bundle chained under the new one so history stays readable, and
every session holding it ends. Someone who joins the leadership gets a wrap
from a leadership colleague: at once when a head promotes them or invited
them (each new generation is wrapped to open invitations into the leadership
whose links carry keys), otherwise at the next sign-in of a leadership member.

A login session holds the leadership bundle beside the school bundle, sealed
together under the cookie's key (``HeldKeys``), so services that take a
school bundle carry it along without a parameter of their own.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, exists, select
from sqlalchemy.orm import Session

from crypto import custody
from crypto.errors import MalformedKey
from crypto.keys import CredentialKey, SchoolKeys
from schools import audit, keyring
from schools.bundles import Bundles, Found
from schools.db import table_of, utcnow
from schools.errors import Conflict, KeysLocked, NotFound
from schools.models import (
    ApiToken,
    Invitation,
    LeadershipKeyGeneration,
    LeadershipWrap,
    LoginSession,
    Member,
    MemberStatus,
    Role,
    School,
)

LEADERSHIP_ROLES = frozenset({Role.HEAD, Role.DSL, Role.DEPUTY_DSL})
# The kind bound into a leadership wrap's context (crypto.custody.keywrap_context)
# is "leadership_" and the credential's kind: no credential kind is spelt so, so
# a school-bundle wrap never opens as a leadership wrap, nor the reverse.
MEMBER = "member"
TOKEN = "token"  # noqa: S105  (a credential kind, not a secret)
INVITATION = "invitation"
_BUNDLE_LEN = 103  # SchoolKeys.to_bytes(): "KB" 01, u32 generation, three 32-byte seeds
_VAULT_LABEL = b"\0leadership"


def in_leadership(member: Member) -> bool:
    """The member is in their school's leadership now (active, head or DSL)."""
    return (
        member.school_id is not None
        and member.status == MemberStatus.ACTIVE
        and member.role_enum in LEADERSHIP_ROLES
    )


@dataclass(frozen=True, eq=False)
class HeldKeys(SchoolKeys):
    """The school bundle a session or request holds, with the school's
    leadership bundle when the member is in its leadership. Equal to the plain
    school bundle it carries."""

    leadership: SchoolKeys | None = field(default=None, repr=False)
    # The member's own bundle (schools/personal.py) and whose it is.
    personal: SchoolKeys | None = field(default=None, repr=False)
    person: uuid.UUID | None = field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SchoolKeys) and other.to_bytes() == self.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())


def leadership_of(keys: SchoolKeys | None) -> SchoolKeys | None:
    return keys.leadership if isinstance(keys, HeldKeys) else None


def holding(keys: SchoolKeys, leadership: SchoolKeys | None) -> SchoolKeys:
    """``keys`` carrying ``leadership`` (or plain, when there is none), and
    the personal bundle ``keys`` carries, if any."""
    if isinstance(keys, HeldKeys):
        # Whatever else they carry (a subclass's too) stays with them.
        return replace(keys, leadership=leadership)
    return _held(keys, leadership, None, None)


def _held(
    keys: SchoolKeys,
    leadership: SchoolKeys | None,
    personal: SchoolKeys | None,
    person: uuid.UUID | None,
) -> SchoolKeys:
    seeds = (keys.generation, keys.kem_seed, keys.ed25519_seed, keys.mldsa_seed)
    if leadership is None and personal is None:
        return SchoolKeys(*seeds)
    return HeldKeys(*seeds, leadership, personal, person if personal is not None else None)


# --- the session's vault ---------------------------------------------------------


def vault_plaintext(keys: SchoolKeys) -> tuple[bytes, int | None]:
    """What a session row seals: the school bundle, then the leadership bundle
    if held; and the leadership generation (bound into the row's context)."""
    leadership = leadership_of(keys)
    # The member's personal bundle, when held, comes last (schools/personal.py).
    personal = keys.personal.to_bytes() if isinstance(keys, HeldKeys) and keys.personal else b""
    if leadership is None:
        return keys.to_bytes() + personal, None
    return keys.to_bytes() + leadership.to_bytes() + personal, leadership.generation


def vault_context(context: bytes, leadership_generation: int | None) -> bytes:
    """A row holding the leadership bundle binds its generation too, so the
    hub cannot relabel a row as holding another (or none)."""
    if leadership_generation is None:
        return context
    return context + _VAULT_LABEL + leadership_generation.to_bytes(4, "big")


def from_vault(
    plain: bytes, leadership_generation: int | None, person: uuid.UUID | None = None
) -> SchoolKeys:
    """The bundles a session row held (MalformedKey if they do not parse); a
    personal bundle after them is ``person``'s."""
    keys, rest = SchoolKeys.from_bytes(plain[:_BUNDLE_LEN]), plain[_BUNDLE_LEN:]
    leadership = None
    if leadership_generation is not None:
        leadership, rest = SchoolKeys.from_bytes(rest[:_BUNDLE_LEN]), rest[_BUNDLE_LEN:]
        if leadership.generation != leadership_generation:
            raise MalformedKey("the session's leadership bundle is of another generation")
    if rest and person is None:
        raise MalformedKey("the session holds a personal bundle of nobody")
    return _held(keys, leadership, SchoolKeys.from_bytes(rest) if rest else None, person)


# --- wraps -------------------------------------------------------------------------


def wrap_context(
    school_id: uuid.UUID, generation: int, kind: str, credential_id: uuid.UUID
) -> bytes:
    return custody.keywrap_context(school_id, generation, f"leadership_{kind}", credential_id)


LEADERSHIP_BUNDLES = Bundles(
    "leadership", LeadershipKeyGeneration, LeadershipWrap, "school_id", wrap_context
)


def _wrap_to(
    session: Session,
    school_id: uuid.UUID,
    keys: SchoolKeys,
    kind: str,
    credential_id: uuid.UUID,
    public: bytes,
) -> None:
    LEADERSHIP_BUNDLES.wrap(session, school_id, keys, kind, credential_id, public)


def unwrap_for_member(
    session: Session, member: Member, credential: CredentialKey
) -> SchoolKeys | None:
    """The current leadership bundle through the member's own wrap; None for a
    member outside the leadership, or without a wrap of the current generation."""
    return unwrap_for(session, member, MEMBER, member.id, credential)


def unwrap_for(
    session: Session,
    member: Member,
    kind: str,
    credential_id: uuid.UUID,
    credential: CredentialKey,
) -> SchoolKeys | None:
    """The current leadership bundle through one credential of ``member`` (their
    own, or a token they made); None unless the member is in the leadership now
    and the credential holds a wrap of the current generation."""
    school = member.school
    if school is None or not school.leadership_generation or not in_leadership(member):
        return None
    generation = school.leadership_generation
    return LEADERSHIP_BUNDLES.unwrap(
        session,
        school.id,
        generation,
        kind,
        credential_id,
        credential,
        lambda generation: _mismatch(session, school.id, member, generation, kind),
    )


def open_found(
    session: Session,
    member: Member,
    kind: str,
    credential_id: uuid.UUID,
    credential: CredentialKey,
    found: Found | None,
) -> SchoolKeys | None:
    """``unwrap_for`` of a wrap already read, with its published public keys
    (``found``; None: the credential holds none). The caller has checked the
    member is in the leadership now."""
    school_id = member.school_id
    assert school_id is not None
    return LEADERSHIP_BUNDLES.open_found(
        school_id,
        kind,
        credential_id,
        credential,
        found,
        lambda generation: _mismatch(session, school_id, member, generation, kind),
    )


def _mismatch(
    session: Session, school_id: uuid.UUID, member: Member, generation: int, kind: str
) -> None:
    # Lasting, as the school bundle's (keyring._mismatch): the refusal stays in
    # the log even when the request then fails and rolls back.
    audit.record_lasting(
        session,
        "school.leadership_keys_mismatch",
        school_id=school_id,
        object_type="member",
        object_id=member.id,
        generation=generation,
        credential_kind=kind,
    )


def unlock_for_member(session: Session, member: Member, credential: CredentialKey) -> SchoolKeys:
    """The school's current bundle through the member's own wrap (KeysLocked
    as keyring's), carrying the leadership bundle for a leadership member: what
    the command line unlocks with a password."""
    keys = keyring.unlock_for_member(session, member, credential)
    return holding(keys, unwrap_for_member(session, member, credential))


_MEMBERS = table_of(Member).c
_WRAPS = table_of(LeadershipWrap).c


def _leading(school_id: Any) -> ColumnElement[bool]:
    """Members in the leadership of the school ``school_id`` (a value or a bind)."""
    return and_(
        _MEMBERS.school_id == school_id,
        _MEMBERS.status == MemberStatus.ACTIVE.value,
        _MEMBERS.role.in_(sorted(r.value for r in LEADERSHIP_ROLES)),
    )


def members_of_leadership(session: Session, school: School) -> list[Member]:
    return list(session.scalars(select(Member).where(_leading(school.id))))


# --- generations -------------------------------------------------------------------


def _publish(
    session: Session,
    school: School,
    keys: SchoolKeys,
    previous: SchoolKeys | None,
    actor: Member | None,
    reason: str,
) -> None:
    now = utcnow()
    _row, public = LEADERSHIP_BUNDLES.publish(session, school.id, keys, previous, now)
    school.leadership_generation = keys.generation
    holders = members_of_leadership(session, school)
    for member in holders:
        _wrap_to(session, school.id, keys, MEMBER, member.id, member.credential_public)
    # Live API tokens of the leadership (a token acts as the member who made it).
    for token_id, token_public in session.execute(
        select(ApiToken.id, ApiToken.credential_public).where(
            ApiToken.school_id == school.id,
            ApiToken.member_id.in_([m.id for m in holders]),
            ApiToken.is_live(now),
        )
    ).all():
        _wrap_to(session, school.id, keys, TOKEN, token_id, token_public)
    # Open invitations into the leadership whose links carry keys: the invitee
    # takes these over on joining, so nobody has to sign in again to confirm them.
    for invitation_id, invitation_public in session.execute(
        select(Invitation.id, Invitation.credential_public).where(
            Invitation.school_id == school.id,
            Invitation.role.in_([r.value for r in LEADERSHIP_ROLES]),
            Invitation.credential_public.is_not(None),
            Invitation.is_open(now),
        )
    ).all():
        assert invitation_public is not None  # the query asked for one
        _wrap_to(session, school.id, keys, INVITATION, invitation_id, invitation_public)
    audit.record(
        session,
        "school.leadership_keys_created" if previous is None else "school.leadership_keys_rotated",
        actor=actor,
        school_id=school.id,
        cluster_id=school.cluster_id,
        object_type="school",
        object_id=school.id,
        generation=keys.generation,
        fingerprint=public.fingerprint(),
        public_keys_sha256=hashlib.sha256(public.to_bytes()).hexdigest(),
        wrapped_to=sorted(str(m.id) for m in holders),
        reason=reason,
    )
    session.flush()


def create(session: Session, school: School, actor: Member | None) -> SchoolKeys:
    """The school's first leadership bundle, wrapped to every leadership member."""
    if school.leadership_generation:
        raise Conflict("This school already has leadership keys.")
    keys = SchoolKeys.generate(1)
    _publish(session, school, keys, None, actor, "first head signed in")
    return keys


def rotate(
    session: Session, school: School, current: SchoolKeys, actor: Member | None, reason: str
) -> SchoolKeys:
    """Move the leadership bundle to g+1, wrapped to the leadership as it is
    now; older wraps are deleted and every session holding the bundle ends
    (the actor carries on in a renewed one)."""
    new = SchoolKeys.generate(current.generation + 1)
    session.execute(
        delete(LeadershipWrap).where(
            LeadershipWrap.school_id == school.id,
            LeadershipWrap.generation <= current.generation,
        )
    )
    _publish(session, school, new, current, actor, reason)
    keyring.end_sessions(
        session,
        school,
        actor,
        "leadership keys rotated",
        LoginSession.leadership_generation.is_not(None),
    )
    session.flush()
    return new


def confirm_missing(
    session: Session, school: School, keys: SchoolKeys, actor: Member | None
) -> list[Member]:
    """Wrap the current leadership bundle to leadership members who hold no
    wrap of it yet (joined since, or got a new credential)."""
    held = set(
        session.scalars(
            select(LeadershipWrap.credential_id).where(
                LeadershipWrap.school_id == school.id,
                LeadershipWrap.generation == keys.generation,
                LeadershipWrap.credential_kind == MEMBER,
            )
        )
    )
    missing = [m for m in members_of_leadership(session, school) if m.id not in held]
    for member in missing:
        _wrap_to(session, school.id, keys, MEMBER, member.id, member.credential_public)
        audit.record(
            session,
            "member.leadership_keys_confirmed",
            actor=actor,
            school_id=school.id,
            object_type="member",
            object_id=member.id,
            generation=keys.generation,
        )
    session.flush()
    return missing


def confirm_missing_at_factor(
    session: Session, member: Member, keys: Callable[[], SchoolKeys | None]
) -> list[Member]:
    """``on_sign_in``'s wraps to colleagues, for a sign-in finished by a second
    factor: with the bundle its session holds (``keys`` opens it), opened only
    when one indexed query finds a leadership member without it."""
    school = member.school
    if school is None or not school.leadership_generation or not in_leadership(member):
        return []
    lacking = session.scalar(
        _ANY_MISSING, {"school_id": school.id, "generation": school.leadership_generation}
    )
    if lacking is None:
        return []
    current = leadership_of(keys())
    if current is None or current.generation != school.leadership_generation:
        return []
    return confirm_missing(session, school, current, member)


# ``confirm_missing``'s question, asked at every sign-in of a leadership member
# finished by a factor: built once, the school and generation bound at each run.
_ANY_MISSING = (
    select(_MEMBERS.id)
    .where(
        _leading(bindparam("school_id")),
        ~exists().where(
            _WRAPS.school_id == _MEMBERS.school_id,
            _WRAPS.generation == bindparam("generation"),
            _WRAPS.credential_kind == MEMBER,
            _WRAPS.credential_id == _MEMBERS.id,
        ),
    )
    .limit(1)
)


def keys_back_to(
    session: Session, school_id: uuid.UUID, current: SchoolKeys, target: int
) -> dict[int, SchoolKeys]:
    """Every leadership bundle from ``current`` back to ``target`` through the
    chain; NotFound when the chain does not reach it."""
    opened = LEADERSHIP_BUNDLES.chain(session, school_id, current, target)
    if target not in opened:
        raise NotFound("That leadership key generation is not in this school's history.")
    return opened


# --- sign-in and membership changes -------------------------------------------------


def on_sign_in(
    session: Session,
    member: Member,
    credential: CredentialKey,
    keys: SchoolKeys | None,
    complete: bool,
    found: Found | None,
) -> SchoolKeys | None:
    """What a new session holds: the school bundle, with the leadership bundle
    for a leadership member. ``found``: the member's wrap of the school's
    current leadership generation, already read (token_wraps.credential_wraps),
    or None. A head's sign-in makes the school's leadership bundle if it has
    none, at the password even when a factor follows (as the personal bundle:
    wrapped only to the credential the password has just opened, it gives
    nobody more than the password did). A leadership member's sign-in wraps
    it to colleagues without it: at the password, or when a factor follows,
    once it is accepted (``confirm_missing_at_factor``)."""
    school = member.school
    if keys is None or school is None or not in_leadership(member):
        return keys
    if not school.leadership_generation:
        if member.role_enum is not Role.HEAD:
            return keys
        return holding(keys, create(session, school, member))
    # ``found`` was read for the current generation (held_keys.open_school_bundle).
    leadership = open_found(session, member, MEMBER, member.id, credential, found)
    if leadership is not None and complete:
        confirm_missing(session, school, leadership, member)
    return holding(keys, leadership)


def forget_wraps_of(session: Session, member: Member) -> None:
    forget_credential(session, MEMBER, member.id)


def forget_credential(session: Session, kind: str, credential_id: uuid.UUID) -> None:
    """Delete every leadership wrap of one credential (a revoked token, say)."""
    session.execute(
        delete(LeadershipWrap).where(
            LeadershipWrap.credential_kind == kind, LeadershipWrap.credential_id == credential_id
        )
    )


def wrap_to_invitation(
    session: Session,
    actor: Member | None,
    keys: SchoolKeys | None,
    invitation_id: uuid.UUID,
    role: str,
    public: bytes,
) -> None:
    """A head inviting someone into the leadership hands the leadership bundle
    their session holds to the invitation's credential, as the school bundle."""
    held = leadership_of(keys)
    if (
        held is not None
        and actor is not None
        and actor.school_id is not None
        and in_leadership(actor)
        and role in {r.value for r in LEADERSHIP_ROLES}
    ):
        _wrap_to(session, actor.school_id, held, INVITATION, invitation_id, public)


def accept_from_invitation(
    session: Session, member: Member, invitation_id: uuid.UUID, credential: CredentialKey
) -> None:
    """The invitee joined: the leadership bundle their link carried (if any,
    and still current) is wrapped to their own credential; the link's wrap goes."""
    held = unwrap_for(session, member, INVITATION, invitation_id, credential)
    forget_credential(session, INVITATION, invitation_id)
    if held is not None and member.school_id is not None:
        _wrap_to(session, member.school_id, held, MEMBER, member.id, member.credential_public)


def wrap_to_token(
    session: Session, member: Member, keys: SchoolKeys | None, token_id: uuid.UUID, public: bytes
) -> None:
    """A new API token of a leadership member gets the leadership bundle their
    session holds (none for anyone else)."""
    held = leadership_of(keys)
    if held is not None and member.school_id is not None and in_leadership(member):
        _wrap_to(session, member.school_id, held, TOKEN, token_id, public)


def move_to_credential(
    session: Session, member: Member, old: CredentialKey, new_public: bytes
) -> SchoolKeys | None:
    """A member's credential is being replaced: wrap the leadership bundle the
    old one opens to the new public key (``new_public``), and drop the old wrap.
    If the old one opens nothing, a colleague's sign-in confirms the new one."""
    keys = unwrap_for_member(session, member, old)
    forget_wraps_of(session, member)
    school = member.school
    if keys is not None and school is not None:
        _wrap_to(session, school.id, keys, MEMBER, member.id, new_public)
    return keys


def member_leaves(
    session: Session, member: Member, actor: Member | None, actor_keys: SchoolKeys | None
) -> SchoolKeys | None:
    """``member`` has just left the leadership (role changed or removed):
    rotate the leadership bundle so nothing sealed from now on opens with what
    they hold. Returns the new bundle (None when the school had none)."""
    school = member.school
    if school is None or not school.leadership_generation:
        return None
    check_may_rotate(school, actor_keys)
    current = leadership_of(actor_keys)
    assert current is not None
    return rotate(session, school, current, actor, reason="member left the leadership")


def check_may_rotate(school: School, actor_keys: SchoolKeys | None) -> None:
    """KeysLocked unless the acting head holds the school's current leadership
    bundle (a rotation chains it under the new one). Asked before writing."""
    current = leadership_of(actor_keys)
    if school.leadership_generation and (
        current is None or current.generation != school.leadership_generation
    ):
        raise KeysLocked(
            "This changes your school's leadership keys, and your session does not hold "
            "them: sign in again, as a head, to do it."
        )


def another_head(session: Session, school: School, member: Member) -> bool:
    """Whether the school has an active head besides ``member``."""
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
