"""The school-identity domain: clusters, schools, members, invitations, keys
and sessions. The audit trail's tables are in schools/audit/models.py.

Everything here is metadata the hub may see (design.md, "What the hub may
see"), plus key material that is only ever stored wrapped or public.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from schools.db import Base, UTCDateTime, new_id, utcnow


class Role(enum.StrEnum):
    HUB_ADMIN = "hub_admin"
    COORDINATOR = "coordinator"
    HEAD = "head"
    # The designated safeguarding lead and their deputy (Keeping Children Safe
    # in Education): staff who post by default.
    DSL = "dsl"
    DEPUTY_DSL = "deputy_dsl"
    STAFF = "staff"

    @property
    def label(self) -> str:
        return {
            Role.HUB_ADMIN: "Hub administrator",
            Role.COORDINATOR: "Cluster coordinator",
            Role.HEAD: "Head",
            Role.DSL: "Designated safeguarding lead",
            Role.DEPUTY_DSL: "Deputy designated safeguarding lead",
            Role.STAFF: "Staff",
        }[self]

    @property
    def is_school_role(self) -> bool:
        return self in (Role.HEAD, Role.DSL, Role.DEPUTY_DSL, Role.STAFF)

    @property
    def posts_by_default(self) -> bool:
        """Heads and safeguarding leads may post from the day they join; other
        staff when their head allows it (``Member.may_post``)."""
        return self in (Role.HEAD, Role.DSL, Role.DEPUTY_DSL)

    @property
    def leads_keyholder(self) -> bool:
        """Heads lead a school, coordinators their cluster's office: the first to
        join creates its keys and holds its recovery code."""
        return self in (Role.HEAD, Role.COORDINATOR)


class SchoolKind(enum.StrEnum):
    SCHOOL = "school"
    # The coordinators' office of a cluster holds a key bundle like a school,
    # so a sender can name the coordinator as a recipient of an alert.
    OFFICE = "office"


class SchoolStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class MemberStatus(enum.StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class CredentialKind(enum.StrEnum):
    MEMBER = "member"
    RECOVERY = "recovery"
    INVITATION = "invitation"
    TOKEN = "token"  # noqa: S105


class Nation(enum.StrEnum):
    """Which UK nation a school is in: its bank holidays differ (Scotland's and
    Northern Ireland's from England and Wales')."""

    ENGLAND_WALES = "england_wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern_ireland"

    @property
    def label(self) -> str:
        return {
            "england_wales": "England and Wales",
            "scotland": "Scotland",
            "northern_ireland": "Northern Ireland",
        }[self.value]


def _enum_check(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Cluster(Base):
    __tablename__ = "clusters"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Who must sign in with a second factor (README, "Second factors"): heads and
    # coordinators unless the coordinator turns it off; staff when turned on.
    second_factor_leaders: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    second_factor_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    schools: Mapped[list[School]] = relationship(
        back_populates="cluster", order_by="School.name", lazy="raise"
    )


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (
        CheckConstraint(_enum_check("status", SchoolStatus), name="status"),
        CheckConstraint(_enum_check("kind", SchoolKind), name="kind"),
        CheckConstraint("kind = 'office' OR urn IS NOT NULL", name="school_has_urn"),
        CheckConstraint(_enum_check("nation", Nation), name="nation"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=SchoolKind.SCHOOL)
    name: Mapped[str] = mapped_column(String(200))
    # DfE Unique Reference Number: six digits, unique across England. Offices have none.
    urn: Mapped[str | None] = mapped_column(String(6), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=SchoolStatus.ACTIVE)
    # 0 until the first head accepts and the school's keys are made.
    key_generation: Mapped[int] = mapped_column(Integer, default=0)
    # The leadership bundle's generation (schools/leadership.py); 0 until made.
    leadership_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Shown to the school's members, so they know why and whom to ask.
    suspension_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Whose bank holidays close it (acknowledgement deadlines in school days).
    nation: Mapped[str] = mapped_column(
        String(24), default=Nation.ENGLAND_WALES, server_default=Nation.ENGLAND_WALES.value
    )
    # Four-eyes review: alerts from staff wait for a head or DSL to approve them
    # (network/alerts/review.py); the head sets it on the school's page.
    reviews_staff_alerts: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cluster: Mapped[Cluster] = relationship(back_populates="schools", lazy="joined")

    @property
    def is_office(self) -> bool:
        return self.kind == SchoolKind.OFFICE

    @property
    def nation_label(self) -> str:
        return Nation(self.nation).label


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(_enum_check("role", Role), name="role"),
        CheckConstraint(_enum_check("status", MemberStatus), name="status"),
        # Everyone but the hub admin belongs to a key holder: a school, or for
        # coordinators their cluster's office.
        CheckConstraint("(role = 'hub_admin') = (school_id IS NULL)", name="keyholder"),
        CheckConstraint(
            "role <> 'coordinator' OR cluster_id IS NOT NULL", name="coordinator_has_cluster"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clusters.id"), index=True)
    school_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schools.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE)
    # Whether a member other than a head may post alerts: set when they join
    # (Role.posts_by_default), then granted or withdrawn by a head. Heads always may.
    may_post: Mapped[bool] = mapped_column(Boolean, default=False)
    # The member's credential: an X-Wing key pair whose seed is sealed under a
    # key derived from the password (crypto.custody). The blob doubles as the
    # password verifier, so there is no separate password hash.
    password_blob: Mapped[bytes] = mapped_column(LargeBinary)
    credential_public: Mapped[bytes] = mapped_column(LargeBinary)
    # True while the school's keys have not yet been wrapped for this member.
    keys_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Per-account throttling (schools/throttle.py): wrong passwords since the
    # last sign-in; no attempt is heard before sign_in_wait_until; a lock that
    # time or a head or coordinator lifts.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sign_in_wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    school: Mapped[School | None] = relationship(lazy="joined")
    cluster: Mapped[Cluster | None] = relationship(lazy="joined")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE

    @property
    def sign_in_locked(self) -> bool:
        return self.locked_until is not None and utcnow() < self.locked_until

    @property
    def effective_cluster_id(self) -> uuid.UUID | None:
        return self.school.cluster_id if self.school is not None else self.cluster_id


class Invitation(Base):
    """A single-use, expiring invitation. Only a hash of its token is stored."""

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint(_enum_check("role", Role), name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clusters.id"))
    school_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schools.id"), index=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The token is also a credential: when the inviter's keys were unlocked, the
    # school bundle is wrapped to the public key derived from the token, so the
    # new member can take it over on acceptance (see KeyWrap).
    credential_public: Mapped[bytes | None] = mapped_column(LargeBinary)

    school: Mapped[School | None] = relationship(lazy="joined")
    cluster: Mapped[Cluster | None] = relationship(lazy="joined")

    def _is_open(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at

    @classmethod
    def _is_open_clause(cls, now: datetime) -> ColumnElement[bool]:
        return and_(cls.accepted_at.is_(None), cls.revoked_at.is_(None), cls.expires_at > now)

    #: The one rule for an open invitation (not accepted, not withdrawn, not
    #: expired): ``invitation.is_open(now)`` in Python, ``Invitation.is_open(now)``
    #: as a SQL clause.
    is_open = hybrid_method(_is_open, _is_open_clause)


class SchoolKeyGeneration(Base):
    """A school's public keys for one generation; published for key transparency."""

    __tablename__ = "school_key_generations"
    __table_args__ = (UniqueConstraint("school_id", "generation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"))
    generation: Mapped[int] = mapped_column(Integer)
    public_keys: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(120))
    # AEAD(key_from(bundle_g), bundle_{g-1}): keeps history readable after rotation.
    previous_bundle: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when a coordinator compared the fingerprint with the head (e.g. by phone).
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    # When the next generation replaced this one: it signs nothing dated after
    # this (plus a clock-skew allowance). None while it is current.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KeyWrap(Base):
    """The school bundle of one generation, HPKE-wrapped to one credential."""

    __tablename__ = "key_wraps"
    __table_args__ = (
        CheckConstraint(_enum_check("credential_kind", CredentialKind), name="credential_kind"),
        Index("ix_key_wraps_credential", "credential_kind", "credential_id"),
        UniqueConstraint("school_id", "generation", "credential_kind", "credential_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    credential_kind: Mapped[str] = mapped_column(String(16))
    credential_id: Mapped[uuid.UUID] = mapped_column()
    wrap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LeadershipKeyGeneration(Base):
    """A school's leadership bundle (head and safeguarding leads) of one
    generation: its public keys, and the previous bundle chained under it."""

    __tablename__ = "leadership_key_generations"

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_keys: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(120))
    previous_bundle: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LeadershipWrap(Base):
    """The leadership bundle of one generation, HPKE-wrapped to one credential
    of a leadership member: their own ("member"), an API token they made
    ("token"), or the link inviting them into the leadership ("invitation").
    Nobody outside the school's leadership holds one."""

    __tablename__ = "leadership_wraps"
    __table_args__ = (
        CheckConstraint(
            "credential_kind IN ('member', 'token', 'invitation')", name="credential_kind"
        ),
    )

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    credential_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    wrap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecoveryCode(Base):
    """A head's recovery code: only an identifier and its credential's public key."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)
    code_id: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    credential_public: Mapped[bytes] = mapped_column(LargeBinary)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SessionState(enum.StrEnum):
    """How far a login session got: the password alone opens nothing."""

    # Password and (when the member has one) second factor both accepted.
    COMPLETE = "complete"
    # Password accepted; the member must now answer their second factor.
    FACTOR_PENDING = "factor_pending"
    # Password accepted; the member must set up a second factor first.
    ENROL_PENDING = "enrol_pending"


class LoginSession(Base):
    """One signed-in browser. The row holds only ciphertext of the school's
    bundle of one generation, with the member, school, generation and this row's
    id as associated data; the key to it lives in the browser's cookie. Deleting
    the row (sign-out, expiry, sign out everywhere, a key rotation) destroys the
    key material. The member's own credential is never kept here."""

    __tablename__ = "login_sessions"

    # SHA-256 of the session token in the cookie: a database thief cannot reuse it.
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The school whose bundle ``vault`` seals, and its generation (both None
    # when the session holds no keys: no school, or keys not yet confirmed).
    school_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schools.id"), index=True)
    generation: Mapped[int | None] = mapped_column(Integer)
    # Set when ``vault`` also seals the school's leadership bundle of this generation.
    leadership_generation: Mapped[int | None] = mapped_column(Integer)
    vault: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The cluster's correlation keys, sealed apart (schools/session_correlation.py).
    correlation_vault: Mapped[bytes | None] = mapped_column(LargeBinary)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(
        String(16), default=SessionState.COMPLETE, server_default=SessionState.COMPLETE.value
    )
    # The open WebAuthn challenge of this session (one ceremony at a time).
    challenge: Mapped[bytes | None] = mapped_column(LargeBinary)
    # When the member last gave their password (and factor): dangerous actions
    # need it within the last few minutes (schools/factors.py, STEP_UP).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Refused codes while waiting for the factor; too many end the session.
    factor_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    member: Mapped[Member] = relationship(lazy="joined")

    @property
    def state_enum(self) -> SessionState:
        return SessionState(self.state)


class FactorKind(enum.StrEnum):
    TOTP = "totp"
    PASSKEY = "passkey"


class SecondFactor(Base):
    """An authenticator app or a passkey of one member. An app's secret is
    stored sealed (crypto/factors.py); a passkey's public key in clear."""

    __tablename__ = "second_factors"
    __table_args__ = (CheckConstraint(_enum_check("kind", FactorKind), name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # None until the member proved the factor works (a code, or a ceremony).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # TOTP: the sealed secret, and the last time step accepted (no replays).
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Passkey: its credential id, COSE public key and signature counter.
    credential_id: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def kind_enum(self) -> FactorKind:
        return FactorKind(self.kind)


class BackupCode(Base):
    """A single-use code for when the phone or passkey is lost: only its hash."""

    __tablename__ = "backup_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A credential a member makes for a script or a school's own systems
    (schools/tokens.py issues and checks them)."""

    __tablename__ = "api_tokens"
    MAX_NAME: ClassVar[int] = 100

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The key holder whose bundle the token may open (a school, or a cluster's office).
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id"), index=True)
    # Who made it: everything the token does is attributed to this member.
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    # Space-separated schools.policy.Scope values.
    scopes: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    credential_public: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))

    member: Mapped[Member] = relationship(lazy="joined", foreign_keys=[member_id])
    school: Mapped[School] = relationship(lazy="joined")

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def scope_list(self) -> list[str]:
        return sorted(self.scope_set)

    def _is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.member.is_active and now < self.expires_at

    @classmethod
    def _is_live_clause(cls, now: datetime) -> ColumnElement[bool]:
        return and_(
            cls.revoked_at.is_(None),
            cls.expires_at > now,
            exists().where(Member.id == cls.member_id, Member.status == MemberStatus.ACTIVE),
        )

    #: The one rule for a token that may still be used (not revoked, not
    #: expired, its member still active): ``token.is_live(now)`` in Python,
    #: ``ApiToken.is_live(now)`` as a SQL clause.
    is_live = hybrid_method(_is_live, _is_live_clause)

    def state(self, now: datetime) -> str:
        """live, expired, revoked, or orphaned (its member was removed)."""
        if self.is_live(now):
            return "live"
        if self.revoked_at is not None:
            return "revoked"
        if not self.member.is_active:
            return "orphaned"
        return "expired"


class KnownDevice(Base):
    """A browser a member has signed in from: only a hash of its cookie."""

    __tablename__ = "known_devices"
    __table_args__ = (UniqueConstraint("member_id", "device_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    device_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class SignInGuess(Base):
    """Wrong passwords given for an address that is no member's, counted as a
    member's are (schools/throttle.py), so that the waits and the lock say
    nothing about whether an account exists. Only a hash of the address is
    kept, for a day after its last wrong password."""

    __tablename__ = "sign_in_guesses"

    address_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    sign_in_wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CorrelationGeneration(Base):
    """One generation of a cluster's correlation key (crypto/indicators.py).

    The key itself is never stored: only its wraps to member schools
    (``CorrelationKeyWrap``). A generation is retired when a school leaves the
    cluster (is suspended); the next poster then makes a new one, which the
    school that left never receives. Retired generations keep their wraps, so
    the remaining schools still match alerts sealed under them."""

    __tablename__ = "correlation_generations"

    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CorrelationKeyWrap(Base):
    """A cluster's correlation key of one generation, HPKE-wrapped to one school's
    public key of ``school_generation``."""

    __tablename__ = "correlation_key_wraps"
    __table_args__ = (
        ForeignKeyConstraint(
            ["cluster_id", "generation"],
            ["correlation_generations.cluster_id", "correlation_generations.generation"],
        ),
    )

    cluster_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id"), primary_key=True, index=True
    )
    school_generation: Mapped[int] = mapped_column(Integer)
    wrap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
