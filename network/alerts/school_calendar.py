"""School days: which days count towards an acknowledgement deadline.

A school day is a weekday that is not a bank holiday of the school's nation
(from the ``holidays`` package), not one of its cluster's INSET days and, when
the cluster has recorded its terms, inside one of them. Before the first
recorded term and after the last, every weekday that is not a bank holiday or
an INSET day counts, so a deadline never waits on terms nobody has entered.
The coordinator keeps the cluster's terms and INSET days (the calendar page).
"""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import holidays
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.text import unstorable
from schools import audit, policy
from schools.db import Base
from schools.errors import Conflict, InvalidInput, NotFound, Problems
from schools.models import Cluster, Member, Nation

# The holidays package's subdivision for each nation's bank holidays.
_SUBDIVISION = {
    Nation.ENGLAND_WALES: "ENG",
    Nation.SCOTLAND: "SCT",
    Nation.NORTHERN_IRELAND: "NIR",
}
MAX_TERM_NAME = 100


class EntryKind(enum.StrEnum):
    TERM = "term"
    INSET = "inset"


class CalendarEntry(Base):
    """A term (from its first day to its last) or an INSET day (one day) of a cluster."""

    __tablename__ = "calendar_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('term', 'inset')", name="kind"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        Index("ix_calendar_entries_cluster", "cluster_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(MAX_TERM_NAME), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


@functools.lru_cache(maxsize=64)
def named_holidays(nation: str, year: int) -> tuple[tuple[date, str], ...]:
    """A nation's bank holidays in a year, with their names, in date order."""
    found = holidays.country_holidays("GB", subdiv=_SUBDIVISION[Nation(nation)], years=year)
    return tuple(sorted((day, str(name)) for day, name in found.items()))


@functools.lru_cache(maxsize=64)
def bank_holidays(nation: str, year: int) -> frozenset[date]:
    return frozenset(day for day, _ in named_holidays(nation, year))


@dataclass(frozen=True)
class SchoolCalendar:
    """The days a school in ``nation`` of a cluster with these terms and INSET
    days is open. Hashable, so deadlines computed on it can be shared."""

    nation: str
    terms: tuple[tuple[date, date], ...] = ()  # sorted, not overlapping
    inset: frozenset[date] = field(default_factory=frozenset)

    def is_school_day(self, day: date) -> bool:
        if day.weekday() >= 5 or day in self.inset:
            return False
        if day in bank_holidays(self.nation, day.year):
            return False
        if self.terms and self.terms[0][0] <= day <= self.terms[-1][1]:
            return any(first <= day <= last for first, last in self.terms)
        return True


@dataclass(frozen=True)
class ClusterCalendar:
    """A cluster's recorded terms and INSET days; ``for_nation`` gives the
    calendar of its schools in one nation."""

    terms: tuple[tuple[date, date], ...] = ()
    inset: frozenset[date] = field(default_factory=frozenset)

    def for_nation(self, nation: str) -> SchoolCalendar:
        return SchoolCalendar(nation, self.terms, self.inset)


def cluster_calendars(
    session: Session, cluster_id: uuid.UUID | None = None
) -> dict[uuid.UUID, ClusterCalendar]:
    """Every cluster's calendar (or one's) that has entries, in one query."""
    query = select(CalendarEntry).order_by(CalendarEntry.starts_on)
    if cluster_id is not None:
        query = query.where(CalendarEntry.cluster_id == cluster_id)
    terms: dict[uuid.UUID, list[tuple[date, date]]] = {}
    inset: dict[uuid.UUID, set[date]] = {}
    for entry in session.scalars(query):
        if entry.kind == EntryKind.TERM:
            terms.setdefault(entry.cluster_id, []).append((entry.starts_on, entry.ends_on))
        else:
            inset.setdefault(entry.cluster_id, set()).add(entry.starts_on)
    return {
        cluster: ClusterCalendar(tuple(terms.get(cluster, ())), frozenset(inset.get(cluster, ())))
        for cluster in terms.keys() | inset.keys()
    }


# --- the coordinator keeps the calendar ---------------------------------------------------


def entries_of(session: Session, cluster: Cluster) -> list[CalendarEntry]:
    return list(
        session.scalars(
            select(CalendarEntry)
            .where(CalendarEntry.cluster_id == cluster.id)
            .order_by(CalendarEntry.starts_on, CalendarEntry.kind)
        )
    )


def parse_day(value: str | None, field_name: str, label: str) -> date:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"Enter the {label}, like 2027-01-05.", field=field_name)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"Enter the {label} as a date, like 2027-01-05.", field=field_name
        ) from None


def _when(first: date, last: date) -> str:
    return f"{first:%-d %b %Y} to {last:%-d %b %Y}"


def _record(
    session: Session, action: str, actor: Member | None, cluster: Cluster, entry: CalendarEntry
) -> None:
    audit.record(
        session,
        action,
        actor=actor,
        cluster_id=cluster.id,
        object_type="cluster",
        object_id=cluster.id,
        kind=entry.kind,
        name=entry.name,
        starts_on=entry.starts_on.isoformat(),
        ends_on=entry.ends_on.isoformat(),
    )


def _term_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("Name the term, like Autumn 2027.", field="name")
    if (refused := unstorable(name)) is not None:
        raise InvalidInput(f"The name must not contain {refused}.", field="name")
    if len(name) > MAX_TERM_NAME:
        raise InvalidInput(f"The name must be at most {MAX_TERM_NAME} characters.", field="name")
    return name


def check_term(name: str, first_text: str | None, last_text: str | None) -> tuple[str, date, date]:
    """The term's name and days as typed, every problem at once (InvalidInputs)."""
    problems = Problems()
    name = problems.check("", lambda: _term_name(name))
    first = problems.check(None, lambda: parse_day(first_text, "starts_on", "first day"))
    last = problems.check(None, lambda: parse_day(last_text, "ends_on", "last day"))
    if first is not None and last is not None and last < first:
        problems.add(
            InvalidInput(
                f"The term ends ({last:%-d %b %Y}) before it starts ({first:%-d %b %Y}).",
                field="ends_on",
            )
        )
    problems.raise_any()
    assert first is not None
    assert last is not None
    return name, first, last


def add_term(
    session: Session, actor: Member | None, cluster: Cluster, name: str, first: date, last: date
) -> CalendarEntry:
    """A term from its first day to its last; overlapping another is refused."""
    policy.check_cluster(actor, cluster)
    name, first, last = check_term(name, first.isoformat(), last.isoformat())
    for other in entries_of(session, cluster):
        if other.kind == EntryKind.TERM and other.starts_on <= last and first <= other.ends_on:
            raise Conflict(
                f"This term overlaps {other.name} ({_when(other.starts_on, other.ends_on)}). "
                "Terms must not overlap: change the dates or remove that term first.",
                field="starts_on",
            )
    entry = CalendarEntry(
        cluster_id=cluster.id, kind=EntryKind.TERM, name=name, starts_on=first, ends_on=last
    )
    session.add(entry)
    session.flush()
    _record(session, "calendar.term_added", actor, cluster, entry)
    return entry


def add_inset_day(
    session: Session, actor: Member | None, cluster: Cluster, day: date
) -> CalendarEntry:
    """A training day: schools are closed to pupils, so it is not a school day."""
    policy.check_cluster(actor, cluster)
    if day.weekday() >= 5:
        raise InvalidInput(
            f"{day:%A %-d %b %Y} is a weekend: an INSET day is a weekday.", field="day"
        )
    for other in entries_of(session, cluster):
        if other.kind == EntryKind.INSET and other.starts_on == day:
            raise Conflict(f"{day:%-d %b %Y} is already an INSET day.", field="day")
    entry = CalendarEntry(
        cluster_id=cluster.id, kind=EntryKind.INSET, name="INSET day", starts_on=day, ends_on=day
    )
    session.add(entry)
    session.flush()
    _record(session, "calendar.inset_added", actor, cluster, entry)
    return entry


def remove_entry(
    session: Session, actor: Member | None, cluster: Cluster, entry_id: int
) -> CalendarEntry:
    policy.check_cluster(actor, cluster)
    entry = session.get(CalendarEntry, entry_id)
    if entry is None or entry.cluster_id != cluster.id:
        raise NotFound("That term or INSET day is not in your cluster's calendar.")
    _record(session, f"calendar.{entry.kind}_removed", actor, cluster, entry)
    session.delete(entry)
    session.flush()
    return entry


def holidays_between(
    nations: Iterable[str], first: date, last: date
) -> list[tuple[date, str, str]]:
    """Bank holidays from ``first`` to ``last`` in the nations given, as
    (day, the nation's label, the holiday's name)."""
    found = [
        (day, Nation(nation).label, name)
        for nation in set(nations)
        for year in range(first.year, last.year + 1)
        for day, name in named_holidays(nation, year)
        if first <= day <= last
    ]
    return sorted(found)
