"""Which schools an alert can go to: the audience a sender chooses, the schools
a form offers, and those already holding an alert (so a forward never
duplicates it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from network.alerts.models import Alert, AlertRecipient
from network.alerts.sealing import Audience
from network.alerts.vocab import SendTo
from schools.errors import InvalidInput
from schools.models import Member, School, SchoolKind, SchoolStatus


def _receiving(school: School) -> str | None:
    """Why a school cannot receive alerts now, or None if it can."""
    if school.status != SchoolStatus.ACTIVE:
        return f"{school.name} is suspended from the network."
    if school.key_generation == 0:
        return f"{school.name} cannot receive alerts yet: its head has not joined."
    return None


def resolve_audience(
    session: Session,
    actor: Member,
    audience: str,
    school_ids: Sequence[uuid.UUID],
    include_coordinator: bool,
) -> Audience:
    """The sender's own school first (for its Sent box), then every recipient."""
    own = actor.school
    assert own is not None
    chosen: list[School] = []
    if audience == SendTo.SCHOOLS:
        if not school_ids:
            raise InvalidInput(
                "Choose at least one school, or send to the whole cluster.", field="schools"
            )
        found = {
            s.id: s
            for s in session.scalars(
                select(School).where(
                    School.id.in_(list(school_ids)), School.kind == SchoolKind.SCHOOL
                )
            )
        }
        for school_id in school_ids:
            school = found.get(school_id)
            if school is None or school.cluster_id != own.cluster_id:
                raise InvalidInput(
                    "One of the chosen schools is not in your cluster.", field="schools"
                )
            reason = _receiving(school)
            if reason:
                raise InvalidInput(reason, field="schools")
            chosen.append(school)
    else:
        query = select(School).where(
            School.kind == SchoolKind.SCHOOL,
            School.status == SchoolStatus.ACTIVE,
            School.key_generation > 0,
        )
        if audience == SendTo.CLUSTER:
            query = query.where(School.cluster_id == own.cluster_id)
        chosen = list(session.scalars(query.order_by(School.name)))
    if include_coordinator:
        office = session.scalars(
            select(School).where(
                School.cluster_id == own.cluster_id, School.kind == SchoolKind.OFFICE
            )
        ).one()
        if office.key_generation == 0:
            raise InvalidInput(
                "Your cluster's coordinator has not joined yet, so cannot receive alerts.",
                field="include_coordinator",
            )
        chosen.append(office)
    others = [s for s in dict.fromkeys(chosen) if s.id != own.id]
    if not others:
        raise InvalidInput("There is no other school to send this to.", field="schools")
    return Audience((own, *others))


def schools_to_choose(session: Session, actor: Member) -> list[School]:
    """Schools of the member's cluster that can receive alerts now."""
    own = actor.school
    if own is None:
        return []
    return [
        s
        for s in session.scalars(
            select(School)
            .where(
                School.cluster_id == own.cluster_id,
                School.kind == SchoolKind.SCHOOL,
                School.id != own.id,
            )
            .order_by(School.name)
        )
        if _receiving(s) is None
    ]


def schools_holding(
    session: Session, original: Alert, school_ids: Sequence[uuid.UUID]
) -> list[School]:
    """Those of the schools holding a copy of the alert or of a forward of it.
    Forwards come after the alert, so each school's inbox is range-scanned from
    the alert's time only."""
    if not school_ids:
        return []
    return list(
        session.scalars(
            select(School)
            .join(AlertRecipient, AlertRecipient.school_id == School.id)
            .join(Alert, Alert.id == AlertRecipient.alert_id)
            .where(
                AlertRecipient.school_id.in_(list(school_ids)),
                AlertRecipient.created_at >= original.created_at,
                or_(Alert.id == original.id, Alert.forwarded_from_id == original.id),
            )
            .distinct()
        )
    )


def forward_choices(session: Session, actor: Member, original: Alert) -> list[School]:
    """Schools the alert may be forwarded to: those of the member's cluster that
    can receive alerts and have neither it nor a forward of it."""
    candidates = schools_to_choose(session, actor)
    holding = {s.id for s in schools_holding(session, original, [s.id for s in candidates])}
    return [s for s in candidates if s.id not in holding]
