"""The school directory: the schools of a member's cluster with their public
keys and fingerprints, so an integration can check whom it is sending to (the
fingerprints are what heads read to each other over the phone)."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from schools import policy
from schools.directory import key_generations
from schools.errors import NotFound
from schools.models import Member, School, SchoolKeyGeneration


def cluster_schools(
    session: Session, actor: Member
) -> list[tuple[School, SchoolKeyGeneration | None]]:
    """Every school of the actor's cluster and its office, with current keys."""
    cluster_id = policy.check_has_directory(actor)
    rows = session.execute(
        select(School, SchoolKeyGeneration)
        .outerjoin(
            SchoolKeyGeneration,
            and_(
                SchoolKeyGeneration.school_id == School.id,
                SchoolKeyGeneration.generation == School.key_generation,
            ),
        )
        .where(School.cluster_id == cluster_id)
        .order_by(School.kind.desc(), School.name)
    ).all()
    return [(school, keys) for school, keys in rows]


def school_entry(
    session: Session, actor: Member, school_id: uuid.UUID
) -> tuple[School, SchoolKeyGeneration | None, list[SchoolKeyGeneration]]:
    """One school of the actor's cluster with every generation of its keys."""
    school = session.get(School, school_id)
    if school is None:
        raise NotFound("No such school.")
    policy.check_sees_school(actor, school)
    history = key_generations(session, school)
    current = next((h for h in history if h.generation == school.key_generation), None)
    return school, current, history
