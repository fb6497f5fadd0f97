"""Invitations: how people come to be on the hub. An invitation is a
single-use link; it may carry the school's keys, wrapped to a credential derived
from its token, so the new member receives them on accepting."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto import custody
from crypto.custody import Argon2Params
from crypto.keys import CredentialKey, SchoolKeys
from schools import audit, directory, keyring, leadership, policy
from schools.db import new_id, utcnow
from schools.errors import Conflict, InvalidInput, InvitationUnusable, NotFound, Problems
from schools.models import Cluster, CredentialKind, Invitation, Member, Role, School
from schools.passwords import check_new_password

INVITATION_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Invited:
    invitation: Invitation
    token: str  # shown once; only its hash is stored


def invite(
    session: Session,
    actor: Member | None,
    role: Role,
    email: str,
    name: str = "",
    *,
    school: School | None = None,
    cluster: Cluster | None = None,
    actor_keys: SchoolKeys | None = None,
    lifetime: timedelta = INVITATION_LIFETIME,
) -> Invited:
    """Invite someone into a role. ``actor_keys`` is the school's bundle when
    the inviter's session holds it: it is then wrapped to a credential derived
    from the invitation token, so the new member receives the keys on accepting."""
    email, name = check_invitation(session, actor, role, email, name)
    if role.is_school_role:
        if school is None or school.is_office:
            raise InvalidInput("Choose the school.", field="school")
        policy.check_invites_to_school(actor, school)
        policy.check_school_may_act(actor, "take new members", school=school)
        cluster = None
    elif role is Role.COORDINATOR:
        if cluster is None:
            raise InvalidInput("Choose the cluster.", field="cluster")
        policy.check_cluster(actor, cluster)
        # Coordinators hold the keys of their cluster's office.
        school = directory.office_of(session, cluster)
    else:
        school = cluster = None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = Invitation(
        token_hash=custody.token_secret_hash(token),
        email=email,
        name=name,
        role=role,
        school_id=school.id if school else None,
        cluster_id=cluster.id if cluster else None,
        invited_by_id=actor.id if actor else None,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(invitation)
    session.flush()
    _wrap_keys_to_token(session, invitation, token, school, actor, actor_keys)
    audit.record(
        session,
        "invitation.created",
        actor=actor,
        school_id=school.id if school else None,
        cluster_id=cluster.id if cluster else school.cluster_id if school else None,
        object_type="invitation",
        object_id=invitation.id,
        role=role.value,
    )
    session.flush()
    return Invited(invitation, token)


def check_invitation(
    session: Session, actor: Member | None, role: Role, email: str, name: str = ""
) -> tuple[str, str]:
    """The invitation's fields checked together, every problem at once
    (InvalidInputs): the role, the address (and that nobody on the hub has it
    yet) and the name. Returns the address and name as stored. Writes nothing,
    so a form whose own validators refused it runs this too. A suspended
    school's member is refused first: nobody joins it, and whether an address
    has an account is nothing it may ask."""
    policy.check_school_may_act(actor, "invite people")
    problems = Problems()
    if role not in policy.invitable_roles(actor):
        problems.add(InvalidInput("You cannot invite someone into that role.", field="role"))
    email = problems.check("", lambda: directory.normalise_email(email))
    name = problems.check("", lambda: directory.clean_text(name, "name", "name", required=False))
    if email and session.scalar(select(Member.id).where(Member.email == email)):
        problems.add(InvalidInput(f"{email} already has an account on this hub.", field="email"))
    problems.raise_any()
    return email, name


def _wrap_keys_to_token(
    session: Session,
    invitation: Invitation,
    token: str,
    school: School | None,
    actor: Member | None,
    actor_keys: SchoolKeys | None,
) -> None:
    """Wrap the school's keys to a credential derived from the token, when the
    inviter's session holds them: the new member then receives them on accepting."""
    if (
        school is not None
        and actor_keys is not None
        # The actor's keys are their own school's: never wrap them into another.
        and actor is not None
        and actor.school_id == school.id
        and actor_keys.generation == school.key_generation
    ):
        credential = custody.token_credential(token)
        invitation.credential_public = credential.public_bytes()
        keyring.add_wrap(
            session,
            school.id,
            actor_keys,
            CredentialKind.INVITATION,
            invitation.id,
            invitation.credential_public,
        )
        leadership.wrap_to_invitation(
            session, actor, actor_keys, invitation.id, invitation.role, invitation.credential_public
        )


def resend_invitation(
    session: Session,
    actor: Member | None,
    invitation_id: uuid.UUID,
    *,
    actor_keys: SchoolKeys | None = None,
    lifetime: timedelta = INVITATION_LIFETIME,
) -> Invited:
    """A new link for an open invitation (lost, or about to expire): a new token,
    a new expiry, and the old link stops working at once. The keys the old token
    carried are unwrapped from it; the new one carries them only if the
    resender's session holds them (otherwise a colleague confirms the newcomer)."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at:
        raise NotFound("No such open invitation.")
    policy.check_manages_invitation(actor, invitation)
    policy.check_school_may_act(actor, "invite people")
    if invitation.school is not None:
        policy.check_school_may_act(actor, "take new members", school=invitation.school)
    token = secrets.token_urlsafe(32)
    # The old token is replaced in one statement that also checks the invitation
    # is still open, so a resend racing its acceptance or withdrawal cannot win.
    replaced = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.token_hash == invitation.token_hash,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(
            token_hash=custody.token_secret_hash(token),
            expires_at=utcnow() + lifetime,
            credential_public=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(invitation)
    if replaced.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This invitation was just used, withdrawn or sent again; reload the page.")
    keyring.delete_wraps_of(session, CredentialKind.INVITATION, invitation.id)
    leadership.forget_credential(session, leadership.INVITATION, invitation.id)
    _wrap_keys_to_token(session, invitation, token, invitation.school, actor, actor_keys)
    audit.record(
        session,
        "invitation.resent",
        actor=actor,
        school_id=invitation.school_id,
        cluster_id=invitation.cluster_id,
        object_type="invitation",
        object_id=invitation.id,
        role=invitation.role,
    )
    session.flush()
    return Invited(invitation, token)


def open_invitation(session: Session, token: str) -> Invitation:
    """The invitation a token names, or a plain reason why it cannot be used."""
    invitation = session.scalars(
        select(Invitation).where(Invitation.token_hash == custody.token_secret_hash(token))
    ).one_or_none()
    if invitation is None:
        raise InvitationUnusable("This invitation link is not valid. Check you copied all of it.")
    if invitation.accepted_at is not None:
        raise InvitationUnusable("This invitation has already been used. Sign in instead.")
    if invitation.revoked_at is not None:
        raise InvitationUnusable("This invitation was withdrawn. Ask for a new one.")
    if utcnow() >= invitation.expires_at:
        raise InvitationUnusable(
            "This invitation has expired. Ask whoever invited you for a new one."
        )
    return invitation


@dataclass(frozen=True)
class Accepted:
    member: Member
    credential: CredentialKey
    recovery_code: str | None  # for a school's first head: shown once


def check_acceptance(
    invitation: Invitation, name: str, password: str, confirm: str
) -> tuple[str, str]:
    """The newcomer's name and password, every problem at once (InvalidInputs)."""
    problems = Problems()
    name = problems.check("", lambda: directory.clean_text(name or invitation.name, "name", "name"))
    password = problems.check(
        "",
        lambda: check_new_password(
            password, confirm, email=invitation.email, name=name or invitation.name
        ),
    )
    problems.raise_any()
    return name, password


def accept_invitation(
    session: Session, token: str, name: str, password: str, confirm: str, params: Argon2Params
) -> Accepted:
    invitation = open_invitation(session, token)
    policy.check_school_may_act(None, "take new members", school=invitation.school)
    name, password = check_acceptance(invitation, name, password, confirm)
    if session.scalar(select(Member.id).where(Member.email == invitation.email)):
        raise Conflict(f"{invitation.email} already has an account on this hub.")
    # Single use even under a race: only one transaction can flip accepted_at,
    # and not once the invitation is withdrawn.
    now = utcnow()
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(invitation)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        if invitation.revoked_at is not None:
            raise InvitationUnusable("This invitation was withdrawn. Ask for a new one.")
        raise InvitationUnusable("This invitation has already been used. Sign in instead.")
    role = Role(invitation.role)
    credential = CredentialKey.generate()
    member_id = new_id()
    member = Member(
        id=member_id,
        email=invitation.email,
        name=name,
        role=role,
        school_id=invitation.school_id,
        cluster_id=invitation.cluster_id,
        may_post=role.posts_by_default,
        password_blob=custody.wrap_seed_with_password(
            credential.seed,
            password,
            params,
            custody.password_owner(member_id, invitation.school_id),
        ),
        credential_public=credential.public_bytes(),
    )
    session.add(member)
    session.flush()
    recovery_code = None
    school = invitation.school
    if school is not None:
        recovery_code = _hand_over_keys(session, invitation, token, school, member, credential)
    audit.record(
        session,
        "invitation.accepted",
        actor=member,
        object_type="invitation",
        object_id=invitation.id,
    )
    audit.record(
        session,
        "member.joined",
        actor=member,
        object_type="member",
        object_id=member.id,
        role=role.value,
        keys_pending=member.keys_pending or None,
    )
    session.flush()
    return Accepted(member, credential, recovery_code)


def _hand_over_keys(
    session: Session,
    invitation: Invitation,
    token: str,
    school: School,
    member: Member,
    credential: CredentialKey,
) -> str | None:
    if school.key_generation == 0:
        if not member.role_enum.leads_keyholder:
            member.keys_pending = True
            return None
        keys = keyring.create_school_keys(session, school, member)
        keyring.add_wrap(
            session, school.id, keys, CredentialKind.MEMBER, member.id, member.credential_public
        )
        if member.role_enum in leadership.LEADERSHIP_ROLES:
            leadership.create(session, school, member)
        return directory.issue_recovery_code(session, school, keys, member)
    handed = keyring.unwrap(
        session,
        school.id,
        school.key_generation,
        CredentialKind.INVITATION,
        invitation.id,
        custody.token_credential(token),
    )
    keyring.delete_wraps_of(session, CredentialKind.INVITATION, invitation.id)
    leadership.accept_from_invitation(
        session, member, invitation.id, custody.token_credential(token)
    )
    if handed is None:
        member.keys_pending = True
        return None
    keyring.add_wrap(
        session, school.id, handed, CredentialKind.MEMBER, member.id, member.credential_public
    )
    return None


def open_invitations(
    session: Session, school: School | None = None, cluster: Cluster | None = None
) -> list[Invitation]:
    query = select(Invitation).where(Invitation.is_open(utcnow()))
    if school is not None:
        query = query.where(Invitation.school_id == school.id)
    if cluster is not None:
        query = query.where(
            Invitation.cluster_id == cluster.id, Invitation.role == Role.COORDINATOR
        )
    return list(session.scalars(query.order_by(Invitation.created_at)))


def withdraw_invitation(session: Session, actor: Member | None, invitation_id: uuid.UUID) -> None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None:
        raise NotFound("No such open invitation.")
    policy.check_manages_invitation(actor, invitation)
    if not withdraw(session, actor, invitation):
        if invitation.accepted_at is not None:
            raise Conflict("This invitation has just been accepted; remove the member instead.")
        raise Conflict("This invitation was already withdrawn; its link no longer works.")
    session.flush()


def withdraw(
    session: Session, actor: Member | None, invitation: Invitation, reason: str | None = None
) -> bool:
    """Withdraw an invitation without a policy check (callers make theirs): its
    link stops working and its key wraps go, in the caller's transaction. False
    if it was no longer open to withdraw (already withdrawn or used)."""
    # Check and write in one statement, so two withdrawals at once (or one racing
    # the acceptance) cannot both go ahead.
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.revoked_at.is_(None),
            Invitation.accepted_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(invitation)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    keyring.delete_wraps_of(session, CredentialKind.INVITATION, invitation.id)
    leadership.forget_credential(session, leadership.INVITATION, invitation.id)
    audit.record(
        session,
        "invitation.withdrawn",
        actor=actor,
        school_id=invitation.school_id,
        cluster_id=invitation.cluster_id,
        object_type="invitation",
        object_id=invitation.id,
        reason=reason,
    )
    return True
