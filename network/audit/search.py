"""Finding entries of the audit log: the filters and pages the audit pages, the
JSON API and the exports share, always within the reader's scope
(schools.policy.audit_scope).

Every listing is by keyset on ``seq`` (never OFFSET), served by the
``(column, seq)`` indexes of ``audit_events`` at any size of the log.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from network.alerts.models import Alert, Platform
from schools.audit.models import AuditEvent
from schools.errors import NotFound
from schools.models import Cluster, Member, School
from schools.policy import AuditScope

_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)


@dataclass(frozen=True)
class EntryFilter:
    """What a reader narrows the log to; every part is optional."""

    school_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    # Exact, or a group when it ends with a dot ("member." is every member action).
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def _where(
    statement: Select[AuditEvent], scope: AuditScope, filters: EntryFilter
) -> Select[AuditEvent]:
    if scope.cluster_id is not None:
        statement = statement.where(AuditEvent.cluster_id == scope.cluster_id)
    if scope.school_id is not None:
        statement = statement.where(AuditEvent.school_id == scope.school_id)
    if filters.school_id is not None:
        statement = statement.where(AuditEvent.school_id == filters.school_id)
    if filters.actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == filters.actor_id)
    if filters.action:
        if filters.action.endswith("."):
            statement = statement.where(
                AuditEvent.action.startswith(filters.action, autoescape=True)
            )
        else:
            statement = statement.where(AuditEvent.action == filters.action)
    if filters.object_type:
        statement = statement.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        statement = statement.where(AuditEvent.object_id == filters.object_id)
    if filters.since is not None:
        statement = statement.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEvent.at < filters.until)
    return statement


@dataclass(frozen=True)
class Page:
    """Newest first. ``older``/``newer`` are the cursors for the next pages."""

    entries: list[AuditEvent]
    older: int | None
    newer: int | None


def entries_page(
    session: Session,
    scope: AuditScope,
    filters: EntryFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> Page:
    """One page of the scoped, filtered log, by keyset on ``seq`` (never OFFSET):
    entries older than ``before``, or newer than ``after``, or the newest."""
    base = _where(select(AuditEvent), scope, filters)
    if after is not None:
        rows = list(
            session.scalars(
                base.where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(limit + 1)
            )
        )
        more_newer = len(rows) > limit
        entries = rows[:limit][::-1]
        newer = entries[0].seq if more_newer else None
        older = (
            entries[-1].seq if entries and _exists(session, base, below=entries[-1].seq) else None
        )
        return Page(entries, older, newer)
    base_older = base.where(AuditEvent.seq < before) if before is not None else base
    rows = list(session.scalars(base_older.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    entries = rows[:limit]
    older = entries[-1].seq if len(rows) > limit else None
    newer = None
    if before is not None and entries and _exists(session, base, above=entries[0].seq):
        newer = entries[0].seq
    return Page(entries, older, newer)


def _exists(
    session: Session,
    base: Select[AuditEvent],
    *,
    below: int | None = None,
    above: int | None = None,
) -> bool:
    statement = base.with_only_columns(AuditEvent.seq)
    if below is not None:
        statement = statement.where(AuditEvent.seq < below)
    if above is not None:
        statement = statement.where(AuditEvent.seq > above)
    return session.scalar(statement.limit(1)) is not None


def entries_in_range(
    session: Session,
    scope: AuditScope,
    filters: EntryFilter,
    start: int,
    end: int,
    limit: int,
) -> tuple[list[AuditEvent], int | None]:
    """Scoped entries with ``start <= seq < end``, oldest first, at most ``limit``;
    and where the next page starts (None at the end)."""
    rows = list(
        session.scalars(
            _where(select(AuditEvent), scope, filters)
            .where(AuditEvent.seq >= start, AuditEvent.seq < end)
            .order_by(AuditEvent.seq)
            .limit(limit + 1)
        )
    )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq + 1
    return rows, None


def entry_in_scope(session: Session, scope: AuditScope, seq: int) -> AuditEvent:
    """One entry, if the reader may see it; otherwise NotFound, as if absent."""
    found = session.scalars(
        _where(select(AuditEvent), scope, EntryFilter()).where(AuditEvent.seq == seq)
    ).first()
    if found is None:
        raise NotFound(f"There is no entry {seq} that you can see.")
    return found


def schools_in_scope(session: Session, scope: AuditScope) -> list[School]:
    statement = select(School).order_by(School.name)
    if scope.school_id is not None:
        statement = statement.where(School.id == scope.school_id)
    elif scope.cluster_id is not None:
        statement = statement.where(School.cluster_id == scope.cluster_id)
    return list(session.scalars(statement))


def _members_of(statement: Select[Member], scope: AuditScope) -> Select[Member]:
    """Members the reader's scope covers: their school's, or their cluster's
    (its schools' members and its coordinators), or everyone."""
    if scope.school_id is not None:
        return statement.where(Member.school_id == scope.school_id)
    if scope.cluster_id is not None:
        in_school = select(School.id).where(School.cluster_id == scope.cluster_id)
        return statement.where(
            or_(Member.cluster_id == scope.cluster_id, Member.school_id.in_(in_school))
        )
    return statement


def member_in_scope(session: Session, scope: AuditScope, email: str) -> Member | None:
    """The member with this email address, if they belong to the reader's scope."""
    # Stored addresses are normalised (directory.normalise_email strips and
    # lower-cases them): normalise the query the same way and compare the column
    # as it is, so the unique index on members.email serves.
    statement = select(Member).where(Member.email == email.strip().lower())
    return session.scalars(_members_of(statement, scope)).first()


def member_by_id_in_scope(
    session: Session, scope: AuditScope, member_id: uuid.UUID
) -> Member | None:
    statement = select(Member).where(Member.id == member_id)
    return session.scalars(_members_of(statement, scope)).first()


def members_in_scope(session: Session, scope: AuditScope, limit: int) -> list[Member]:
    """The people a reader may pick in the filter, by name; at most ``limit``."""
    statement = select(Member).order_by(Member.name, Member.email).limit(limit)
    return list(session.scalars(_members_of(statement, scope)))


@dataclass(frozen=True)
class Names:
    """Readable names for the ids on a page of entries: the people and schools
    who acted, and the objects they acted on (an alert by its sender school,
    which is metadata every reader of the log may see; never its title)."""

    members: dict[uuid.UUID, Member]
    schools: dict[uuid.UUID, School]
    alert_senders: dict[uuid.UUID, School] = field(default_factory=dict)
    platforms: dict[str, str] = field(default_factory=dict)
    clusters: dict[uuid.UUID, str] = field(default_factory=dict)


def _ids(entries: Sequence[AuditEvent], object_type: str) -> set[uuid.UUID]:
    found = set()
    for e in entries:
        if e.object_type == object_type and e.object_id:
            try:
                found.add(uuid.UUID(e.object_id))
            except ValueError:
                continue
    return found


def names_for(session: Session, entries: Sequence[AuditEvent]) -> Names:
    """One query per kind of name, whatever the number of entries."""
    member_ids = {e.actor_id for e in entries if e.actor_id is not None} | _ids(entries, "member")
    school_ids = {e.school_id for e in entries if e.school_id is not None} | _ids(entries, "school")
    alert_ids = _ids(entries, "alert")
    cluster_ids = _ids(entries, "cluster")
    platform_codes = {e.object_id for e in entries if e.object_type == "platform" and e.object_id}
    senders: dict[uuid.UUID, uuid.UUID] = {}
    if alert_ids:
        rows = session.execute(
            select(Alert.id, Alert.sender_school_id).where(Alert.id.in_(alert_ids))
        )
        senders = {row[0]: row[1] for row in rows}
        school_ids |= set(senders.values())
    members = (
        {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))}
        if member_ids
        else {}
    )
    schools = (
        {s.id: s for s in session.scalars(select(School).where(School.id.in_(school_ids)))}
        if school_ids
        else {}
    )
    platforms = (
        {
            str(code): str(name)
            for code, name in session.execute(
                select(Platform.code, Platform.name).where(Platform.code.in_(platform_codes))
            ).all()
        }
        if platform_codes
        else {}
    )
    clusters = (
        {
            cid: str(name)
            for cid, name in session.execute(
                select(Cluster.id, Cluster.name).where(Cluster.id.in_(cluster_ids))
            ).all()
        }
        if cluster_ids
        else {}
    )
    return Names(
        members,
        schools,
        {a: schools[s] for a, s in senders.items() if s in schools},
        platforms,
        clusters,
    )


def valid_object_type(value: str) -> bool:
    return bool(_TYPE.fullmatch(value))
