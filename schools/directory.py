"""Clusters and schools: admitting, finding, suspending and listing them; the
school's recovery code. Invitations, how people join them, are schools/invitations.py."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import custody
from crypto.keys import SchoolKeys
from schools import audit, correlation, keyring, policy
from schools.db import utcnow
from schools.errors import Conflict, InvalidInput, NotFound, Problems
from schools.models import (
    Cluster,
    CredentialKind,
    Invitation,
    Member,
    Nation,
    RecoveryCode,
    Role,
    School,
    SchoolKeyGeneration,
    SchoolKind,
    SchoolStatus,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URN = re.compile(r"^\d{6}$")


def normalise_email(email: str, field: str = "email") -> str:
    email = email.strip().lower()
    if not email:
        raise InvalidInput("Enter an email address.", field=field)
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("Enter an email address like name@school.org.uk.", field=field)
    return email


def clean_text(
    value: str, field: str, label: str, max_length: int = 200, required: bool = True
) -> str:
    """One line of text: runs of whitespace become one space, and its length is checked."""
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(f"Enter the {label}.", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"The {label} must be at most {max_length} characters.", field=field)
    return value


# --- clusters -----------------------------------------------------------------


def check_cluster_name(session: Session, name: str) -> str:
    """A new cluster's name as stored: required, and not another cluster's."""
    name = clean_text(name, "name", "cluster name")
    if session.scalar(select(Cluster.id).where(func.lower(Cluster.name) == name.lower())):
        raise InvalidInput(f"A cluster called {name!r} already exists.", field="name")
    return name


def create_cluster(session: Session, actor: Member | None, name: str) -> Cluster:
    name = check_cluster_name(session, name)
    cluster = Cluster(name=name)
    session.add(cluster)
    session.flush()
    session.add(
        School(cluster_id=cluster.id, kind=SchoolKind.OFFICE, name=f"Coordinators of {name}")
    )
    session.flush()
    audit.record(
        session,
        "cluster.created",
        actor=actor,
        cluster_id=cluster.id,
        object_type="cluster",
        object_id=cluster.id,
    )
    return cluster


def find_cluster(session: Session, name_or_id: str) -> Cluster:
    try:
        cluster = session.get(Cluster, uuid.UUID(name_or_id))
    except ValueError:
        cluster = session.scalars(
            select(Cluster).where(func.lower(Cluster.name) == name_or_id.strip().lower())
        ).one_or_none()
    if cluster is None:
        raise NotFound(f"No cluster called {name_or_id!r}.", field="cluster")
    return cluster


def office_of(session: Session, cluster: Cluster) -> School:
    return session.scalars(
        select(School).where(School.cluster_id == cluster.id, School.kind == SchoolKind.OFFICE)
    ).one()


def list_clusters(session: Session) -> list[tuple[Cluster, int]]:
    counts = (
        select(School.cluster_id, func.count(School.id).label("n"))
        .where(School.kind == SchoolKind.SCHOOL)
        .group_by(School.cluster_id)
        .subquery()
    )
    rows = session.execute(
        select(Cluster, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.cluster_id == Cluster.id)
        .order_by(Cluster.name)
    ).all()
    return [(cluster, int(n)) for cluster, n in rows]


# --- schools ------------------------------------------------------------------


def admit_school(
    session: Session, actor: Member | None, cluster: Cluster, name: str, urn: str, address: str
) -> School:
    policy.check_cluster(actor, cluster)
    name, urn, address = check_admission(session, name, urn, address)
    school = School(cluster_id=cluster.id, name=name, urn=urn, address=address)
    session.add(school)
    session.flush()
    audit.record(
        session,
        "school.admitted",
        actor=actor,
        school_id=school.id,
        cluster_id=cluster.id,
        object_type="school",
        object_id=school.id,
        urn=urn,
    )
    return school


def check_admission(session: Session, name: str, urn: str, address: str) -> tuple[str, str, str]:
    """A new school's name, URN and address as stored, every problem at once
    (InvalidInputs), a URN already registered among them. Writes nothing."""
    problems = Problems()
    name = problems.check("", lambda: clean_text(name, "name", "school name"))
    urn = urn.strip()
    if not _URN.match(urn):
        problems.add(
            InvalidInput("The URN is the six-digit DfE Unique Reference Number.", field="urn")
        )
    else:
        existing = session.scalars(select(School).where(School.urn == urn)).one_or_none()
        if existing is not None:
            problems.add(
                InvalidInput(f"URN {urn} is already registered ({existing.name}).", field="urn")
            )
    address = problems.check(
        "", lambda: clean_text(address, "address", "address", max_length=500, required=False)
    )
    problems.raise_any()
    return name, urn, address


def find_school(session: Session, urn_or_id: str) -> School:
    key = urn_or_id.strip()
    if _URN.match(key):
        school = session.scalars(select(School).where(School.urn == key)).one_or_none()
    else:
        try:
            school = session.get(School, uuid.UUID(key))
        except ValueError:
            school = None
    if school is None or school.is_office:
        raise NotFound(f"No school with URN or id {urn_or_id!r}.", field="school")
    return school


def schools_of(session: Session, cluster: Cluster) -> list[tuple[School, int, int]]:
    """Schools of a cluster with their member and open-invitation counts."""
    members = (
        select(Member.school_id, func.count(Member.id).label("n"))
        .where(Member.status == "active")
        .group_by(Member.school_id)
        .subquery()
    )
    invites = (
        select(Invitation.school_id, func.count(Invitation.id).label("n"))
        .where(Invitation.is_open(utcnow()))
        .group_by(Invitation.school_id)
        .subquery()
    )
    rows = session.execute(
        select(School, func.coalesce(members.c.n, 0), func.coalesce(invites.c.n, 0))
        .outerjoin(members, members.c.school_id == School.id)
        .outerjoin(invites, invites.c.school_id == School.id)
        .where(School.cluster_id == cluster.id, School.kind == SchoolKind.SCHOOL)
        .order_by(School.name)
    ).all()
    return [(s, int(m), int(i)) for s, m, i in rows]


def members_of(session: Session, school: School) -> list[Member]:
    return list(
        session.scalars(
            select(Member)
            .where(Member.school_id == school.id, Member.status == "active")
            .order_by(Member.role, Member.name)
        )
    )


def issue_recovery_code(
    session: Session, school: School, keys: SchoolKeys, actor: Member | None
) -> str:
    """A new recovery code for the school, replacing any unused one. Shown once."""
    spend_recovery_codes(session, school)
    code = custody.new_recovery_code()
    credential = custody.recovery_credential(code)
    row = RecoveryCode(
        school_id=school.id,
        code_id=custody.recovery_code_id(code),
        credential_public=credential.public_bytes(),
        created_by_id=actor.id if actor else None,
    )
    session.add(row)
    session.flush()
    keyring.add_wrap(
        session, school.id, keys, CredentialKind.RECOVERY, row.id, row.credential_public
    )
    audit.record(
        session,
        "school.recovery_code_issued",
        actor=actor,
        school_id=school.id,
        object_type="recovery_code",
        object_id=row.id,
    )
    return code


def spend_recovery_codes(session: Session, school: School, made_by: uuid.UUID | None = None) -> int:
    """Spend the school's unused recovery codes (only those ``made_by`` one
    member, when given) and delete their wraps, so they open nothing."""
    query = select(RecoveryCode).where(
        RecoveryCode.school_id == school.id, RecoveryCode.used_at.is_(None)
    )
    if made_by is not None:
        query = query.where(RecoveryCode.created_by_id == made_by)
    spent = 0
    for old in session.scalars(query):
        old.used_at = utcnow()
        keyring.delete_wraps_of(session, CredentialKind.RECOVERY, old.id)
        spent += 1
    return spent


def key_generations(session: Session, school: School) -> list[SchoolKeyGeneration]:
    return list(
        session.scalars(
            select(SchoolKeyGeneration)
            .where(SchoolKeyGeneration.school_id == school.id)
            .order_by(SchoolKeyGeneration.generation.desc())
        )
    )


# --- cluster administration --------------------------------------------------------------


def _school_event(
    session: Session, action: str, actor: Member | None, school: School, **detail: Any
) -> None:
    audit.record(
        session,
        action,
        actor=actor,
        school_id=school.id,
        cluster_id=school.cluster_id,
        object_type="school",
        object_id=school.id,
        **detail,
    )


def suspend_school(session: Session, actor: Member | None, school: School, reason: str) -> None:
    """A suspended school neither posts nor receives alerts; its members see why."""
    policy.check_school_admin(actor, school)
    reason = clean_text(reason, "reason", "reason for the suspension", max_length=500)
    if school.status == SchoolStatus.SUSPENDED:
        raise Conflict(f"{school.name} is already suspended.")
    school.status = SchoolStatus.SUSPENDED
    school.suspended_at = utcnow()
    school.suspension_reason = reason
    _school_event(session, "school.suspended", actor, school)
    # It has left the cluster: alerts from now on are matched under a key it never holds.
    correlation.retire_current(session, school, actor, "school suspended")
    session.flush()


def reinstate_school(session: Session, actor: Member | None, school: School) -> None:
    policy.check_school_admin(actor, school)
    if school.status != SchoolStatus.SUSPENDED:
        raise Conflict(f"{school.name} is not suspended.")
    school.status = SchoolStatus.ACTIVE
    school.suspended_at = None
    school.suspension_reason = ""
    _school_event(session, "school.reinstated", actor, school)
    session.flush()


def verify_fingerprint(
    session: Session, actor: Member | None, school: School, generation: int
) -> SchoolKeyGeneration:
    """Record that the coordinator compared this generation's fingerprint with
    the school's head (over the phone or in person)."""
    policy.check_school_admin(actor, school)
    row = session.scalars(
        select(SchoolKeyGeneration).where(
            SchoolKeyGeneration.school_id == school.id, SchoolKeyGeneration.generation == generation
        )
    ).one_or_none()
    if row is None:
        raise NotFound("That school has no keys of that generation.")
    if generation != school.key_generation:
        raise Conflict(
            "Only the school's current keys can be verified; the school has "
            "moved to a newer generation."
        )
    row.verified_at = utcnow()
    row.verified_by_id = actor.id if actor else None
    _school_event(
        session,
        "school.fingerprint_verified",
        actor,
        school,
        generation=generation,
        fingerprint=row.fingerprint,
    )
    session.flush()
    return row


def set_nation(session: Session, actor: Member | None, school: School, nation: str) -> None:
    """The school says which nation it is in: its bank holidays are that nation's.
    Its head, or its cluster's coordinator."""
    if not (
        actor is not None
        and actor.role_enum is Role.HEAD
        and actor.school_id == school.id
        and actor.is_active
    ):
        policy.check_school_admin(actor, school)
    policy.check_school_may_act(actor, "change its calendar", school=school)
    if nation not in {n.value for n in Nation}:
        raise InvalidInput(
            "Choose England and Wales, Scotland or Northern Ireland.", field="nation"
        )
    before = school.nation
    school.nation = nation
    _school_event(session, "school.nation_changed", actor, school, before=before, after=nation)
    session.flush()


def last_activity(session: Session, school_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Each school's most recent member sign-in, in one grouped query."""
    if not school_ids:
        return {}
    rows = session.execute(
        select(Member.school_id, func.max(Member.last_sign_in_at))
        .where(Member.school_id.in_(school_ids))
        .group_by(Member.school_id)
    ).all()
    return {school_id: moment for school_id, moment in rows if school_id is not None}
