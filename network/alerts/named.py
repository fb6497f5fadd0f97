"""The *named people* audience tier (design.md, "Audience tiers"; issue 16):
an alert sealed, at each recipient school, only to members the sender names.

Whom a sender may name: the leadership (head, safeguarding lead, deputy) of
each recipient school, the people a school already tells other schools it
acts through. Nobody else of another school is listed to a sender. Each
named member's copy is wrapped to their personal key bundle
(schools/personal.py), not to their school's keys nor to a credential, so it
still opens after they change their password; a member without a personal
bundle yet (they have not signed in since it began) cannot be named, and the
sender is told who and why. The sender's own copy (its Sent box) is sealed to
the sender alone, by name too.

The hub keeps in clear whom it routes the alert to (``alert_named_readers``),
as it keeps the recipient schools; the copy of a school is labelled "named"
and its wraps "person:<member>" in the signed header.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from crypto.header import TIER_ALL
from network.alerts.models import Alert, ThreadExclusion
from network.alerts.named_models import TIER_NAMED, NamedReader
from network.alerts.sealing import Audience
from schools import personal
from schools.errors import InvalidInput
from schools.leadership import LEADERSHIP_ROLES, in_leadership
from schools.models import Member, MemberStatus, School

FIELD = "named"


def pickable(member: Member, school_ids: Iterable[uuid.UUID]) -> bool:
    """A sender may name the member: active, in the leadership of one of ``school_ids``."""
    return in_leadership(member) and member.school_id in set(school_ids)


def directory(session: Session, schools: Sequence[School]) -> dict[uuid.UUID, list[Member]]:
    """Whom a sender may name at each of ``schools``: its leadership, by name."""
    if not schools:
        return {}
    found: dict[uuid.UUID, list[Member]] = {s.id: [] for s in schools}
    for member in session.scalars(
        select(Member)
        .where(
            Member.school_id.in_([s.id for s in schools]),
            Member.status == MemberStatus.ACTIVE,
            Member.role.in_([r.value for r in LEADERSHIP_ROLES]),
        )
        .order_by(Member.name)
    ):
        assert member.school_id is not None
        found[member.school_id].append(member)
    return found


def _members_named(session: Session, picks: Sequence[str]) -> list[Member]:
    """The members ``picks`` name, by id or email address, in order, once each;
    InvalidInput for a pick that names nobody."""
    ids: list[uuid.UUID] = []
    emails: list[str] = []
    for pick in picks:
        text = pick.strip()
        try:
            ids.append(uuid.UUID(text))
        except ValueError:
            emails.append(text.lower())
    rows = list(
        session.scalars(
            select(Member).where(Member.id.in_(ids) | func.lower(Member.email).in_(emails))
        )
    )
    by_key = {str(m.id): m for m in rows} | {m.email.lower(): m for m in rows}
    named: dict[uuid.UUID, Member] = {}
    for pick in picks:
        text = pick.strip()
        member = by_key.get(text.lower()) or by_key.get(text)
        if member is None:
            raise InvalidInput(f"{text[:100]!r} is nobody a sender may name.", field=FIELD)
        named[member.id] = member
    return list(named.values())


def assign_named(
    session: Session, actor: Member, audience: Audience, picks: Sequence[str]
) -> Audience:
    """The audience with every recipient school at the named tier, sealed to
    the members ``picks`` names and the sender's own copy to the sender;
    InvalidInput (field "named", nothing written) for a name the sender may
    not pick, a school with nobody named, or a named person (or the sender)
    without personal keys yet."""
    own, *others = audience.schools
    schools = [s for s in others if not s.is_office]
    if not picks:
        raise InvalidInput(
            "Name the people this is for: at least one at each school you send to.", field=FIELD
        )
    members = _members_named(session, picks)
    for member in members:
        if not pickable(member, (s.id for s in schools)):
            raise InvalidInput(
                f"{member.name} is not in the leadership of a school you send to: you can name "
                "a head or safeguarding lead of each school. Their head can add colleagues.",
                field=FIELD,
            )
    by_school: dict[uuid.UUID, list[Member]] = {}
    for member in members:
        assert member.school_id is not None
        by_school.setdefault(member.school_id, []).append(member)
    nobody = [s.name for s in schools if s.id not in by_school]
    if nobody:
        raise InvalidInput(
            f"Name at least one person at {', '.join(nobody)}, or leave "
            f"{'it' if len(nobody) == 1 else 'them'} out.",
            field=FIELD,
        )
    keys = personal.current_of(session, [m.id for m in members] + [actor.id])
    without = [m for m in members if m.id not in keys]
    if without:
        names = ", ".join(f"{m.name} ({m.school.name if m.school else ''})" for m in without)
        raise InvalidInput(
            f"{names} cannot receive an alert by name yet: "
            "they have no personal keys, which are made when they next sign in. Ask them "
            "to sign in once, or send to leadership.",
            field=FIELD,
        )
    if actor.id not in keys:
        raise InvalidInput(
            "You have no personal keys yet, so your school's copy cannot be sealed to you: "
            "sign out and in again, then send.",
            field=FIELD,
        )
    named: dict[uuid.UUID, tuple[tuple[uuid.UUID, int], ...]] = {
        school_id: tuple((m.id, keys[m.id].generation) for m in people)
        for school_id, people in by_school.items()
    }
    named[own.id] = ((actor.id, keys[actor.id].generation),)
    tiers = {s.id: TIER_ALL if s.is_office else TIER_NAMED for s in audience.schools}
    return Audience(audience.schools, tiers, named)


def file(session: Session, alert: Alert, audience: Audience) -> None:
    """Whom the alert was sealed to by name (what access.py asks)."""
    rows = [
        {"alert_id": alert.id, "member_id": member_id, "school_id": school_id, "generation": gen}
        for school_id, people in audience.named.items()
        for member_id, gen in people
    ]
    if rows:
        session.execute(insert(NamedReader), rows)


def thread_named(
    session: Session, alert_id: uuid.UUID
) -> Mapping[uuid.UUID, tuple[tuple[uuid.UUID, int], ...]]:
    """Whom a reply to the alert is sealed to by name: the alert's named
    people who are still active and not withdrawn from its thread, at their
    personal keys' current generation."""
    rows = session.execute(
        select(NamedReader.school_id, NamedReader.member_id)
        .join(Member, Member.id == NamedReader.member_id)
        .where(
            NamedReader.alert_id == alert_id,
            Member.status == MemberStatus.ACTIVE,
            ~exists().where(
                ThreadExclusion.alert_id == alert_id,
                ThreadExclusion.member_id == NamedReader.member_id,
            ),
        )
        .order_by(NamedReader.member_id)
    ).all()
    keys = personal.current_of(session, [member_id for _school, member_id in rows])
    named: dict[uuid.UUID, tuple[tuple[uuid.UUID, int], ...]] = {}
    for school_id, member_id in rows:
        if member_id in keys:
            named[school_id] = (*named.get(school_id, ()), (member_id, keys[member_id].generation))
    return named


def names_of(session: Session, alert_id: uuid.UUID, school_id: uuid.UUID) -> list[str]:
    """Names of the members of one school the alert was sealed to."""
    return list(
        session.scalars(
            select(Member.name)
            .join(NamedReader, NamedReader.member_id == Member.id)
            .where(NamedReader.alert_id == alert_id, NamedReader.school_id == school_id)
            .order_by(Member.name)
        )
    )


def choices(session: Session, schools: Sequence[School]) -> list[tuple[str, str]]:
    """The post form's list of whom a sender may name: (member id, "Name,
    role, school"), saying of anyone without personal keys yet that they
    cannot receive it."""
    people = directory(session, schools)
    keys = personal.current_of(session, [m.id for found in people.values() for m in found])
    listed: list[tuple[str, str]] = []
    for school in schools:
        for member in people.get(school.id, []):
            label = f"{member.name}, {member.role_enum.label}, {school.name}"
            if member.id not in keys:
                label += " (cannot receive it by name until they next sign in)"
            listed.append((str(member.id), label))
    return listed
