"""What the inbox's page offers around its list: the filters' platforms and
senders, and whether the member may post (the list itself: inbox.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.alerts import platforms
from network.alerts.access import may_post
from schools import policy
from schools.models import Member, School, SchoolKind


@dataclass(frozen=True)
class InboxChoices:
    """What the inbox's page offers around the list: the school whose box it
    is, the filters' platforms and senders, and whether the member may post."""

    school: School
    platforms: tuple[tuple[str, str], ...]  # code and name, retired ones too
    senders: tuple[tuple[Any, str], ...]  # id (possible_senders) and name
    may_post: bool


def inbox_choices(session: Session, actor: Member) -> InboxChoices:
    school = policy.check_reads_alerts(actor)
    return InboxChoices(
        school,
        platforms.names(session),
        possible_senders(session, school),
        may_post(actor),
    )


def possible_senders(session: Session, school: School) -> tuple[tuple[Any, str], ...]:
    """Schools an inbox filter can name: the cluster's (a small table, so the
    filter costs nothing however large the inbox grows), by id and name only,
    as the driver returns them (a UUID, or SQLite's hex text): 500 schools'
    rows loaded as objects, or even as SQLAlchemy rows, cost more than the
    page's own rows."""
    result = session.connection().execute(
        select(School.id, School.name)
        .where(School.cluster_id == school.cluster_id, School.kind == SchoolKind.SCHOOL)
        .order_by(School.name)
    )
    try:
        return tuple(result.cursor.fetchall())
    finally:
        result.close()
