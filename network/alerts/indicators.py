"""What only a network can see: alerts from different schools that name the
same link, account or group.

A poster's school hashes the alert's indicators under the cluster's
correlation key (schools/correlation.py, crypto/indicators.py); the hashes go
into the signed header and into ``alert_indicators``. A reader's school
hashes the indicators of the alert it opened under every generation of the key
it holds and asks, in one indexed query, which other alerts carry one of those
hashes. The hub answers equality questions and never learns an indicator.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    CompoundSelect,
    DateTime,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from crypto.header import TIER_ALL, TIER_LEADERSHIP
from crypto.indicators import (
    Indicator,
    indicator_hashes,
    normalise_account,
    normalise_group,
    normalise_link,
)
from crypto.keys import SchoolKeys
from crypto.session_correlation import Stamp
from network.alerts.access import tiers_of
from network.alerts.content import AlertContent
from network.alerts.models import Alert, AlertIndicator, AlertRecipient, ThreadExclusion
from network.alerts.vocab import AlertStatus
from network.driver_sql import DriverStatement
from schools import correlation
from schools.models import Member, School
from schools.session_correlation import SessionCorrelation

#: Schools that must have named an indicator for the dashboard to list it.
WIDELY_SEEN = 3


def indicators_of(content: AlertContent, platform: str) -> list[Indicator]:
    """The alert's indicators, each once: its links, and its accounts and
    groups on the alert's platform."""
    found: set[Indicator] = set()
    for link in content.links:
        if (indicator := normalise_link(link.url)) is not None:
            found.add(indicator)
    for handle in content.accounts:
        if (indicator := normalise_account(handle, platform)) is not None:
            found.add(indicator)
    for name in content.groups:
        if (indicator := normalise_group(name, platform)) is not None:
            found.add(indicator)
    # Sorted as the dataclass orders them, by a key of plain fields: its
    # generated ``__lt__`` is Python code called per comparison.
    return sorted(found, key=_ORDER)


_ORDER = attrgetter("kind", "platform", "value")


@dataclass(frozen=True)
class Hashed:
    """An alert's indicator hashes under one generation of the correlation key."""

    generation: int
    hashes: tuple[bytes, ...]


def hash_for_posting(
    session: Session, actor: Member, keys: SchoolKeys, content: AlertContent, platform: str
) -> Hashed | None:
    """The hashes a new alert carries (None when it names no indicator, or its
    school holds no correlation key: a coordinators' office)."""
    found = indicators_of(content, platform)
    school = actor.school
    assert school is not None
    if not found:
        return None
    held = correlation.key_for_posting(session, school, keys, actor)
    if held is None:
        return None
    generation, key = held
    return Hashed(generation, tuple(sorted(set(indicator_hashes(key, found)))))


def store(
    session: Session, alert_id: uuid.UUID, hashed: Hashed | None, signed: tuple[bytes, ...]
) -> None:
    """Keep the hashes the alert's signed header carries (``signed``): only
    those, so that the hub's rows and the header agree."""
    if hashed is None:
        return
    kept = [h for h in hashed.hashes if h in set(signed)]
    if kept:
        session.execute(
            insert(AlertIndicator),
            [{"alert_id": alert_id, "hash": h, "generation": hashed.generation} for h in kept],
        )


def stored_hashes(session: Session, alert_id: uuid.UUID) -> list[bytes]:
    """The hub's record of an alert's hashes, checked against its signed header."""
    return list(
        session.scalars(select(AlertIndicator.hash).where(AlertIndicator.alert_id == alert_id))
    )


class Match(NamedTuple):
    """Another alert naming the indicator: its sender and date (metadata), and
    whether the reader's school may open it. A named tuple: one is made per
    matching row on every view, and a frozen dataclass cost three times as
    much to make (bench/indicators.py)."""

    alert_id: uuid.UUID
    school: str
    sent_at: datetime
    openable: bool


@dataclass
class Correlation:
    """Other alerts that name one of this alert's indicators."""

    indicator: Indicator
    matches: list[Match] = field(default_factory=list)

    @property
    def schools(self) -> int:
        return len({m.school for m in self.matches})

    @property
    def openable(self) -> list[Match]:
        return [m for m in self.matches if m.openable]

    @property
    def closed(self) -> list[Match]:
        return [m for m in self.matches if not m.openable]

    def sentence(self) -> str:
        """ "2 other alerts from 2 schools mention the same account"."""
        n, s = len(self.matches), self.schools
        noun = {"link": "link", "account": "account", "group": "group or page"}[self.indicator.kind]
        return (
            f"{n} other {'alert' if n == 1 else 'alerts'} from {s} "
            f"{'school' if s == 1 else 'schools'} {'mentions' if n == 1 else 'mention'} "
            f"the same {noun}"
        )


def correlations(
    session: Session,
    school: School,
    bundle_of: Callable[[int], SchoolKeys],
    alert: Alert,
    content: AlertContent,
    reader: Member | None = None,
    kept: SessionCorrelation | None = None,
) -> list[Correlation]:
    """For a reader's school: which other alerts name one of this alert's
    indicators, under any generation of the correlation key the school holds.
    One query on ``ix_alert_indicators_hash``; shredded alerts are left out.

    With ``kept`` (a login session's sealed keys: schools/session_correlation.py)
    that is the only statement: the keys come from the session, and the
    statement also returns the stamp of the school's wraps, so a generation the
    school was given since is opened (then sealed into the session) and matched
    too. Without it, or when the session has none yet, the school's wraps are
    read and opened first."""
    found = indicators_of(content, alert.platform)
    if not found or not correlation.holds_correlation_key(school):
        return []
    sealed = kept.held(school.cluster_id) if kept is not None else None
    if sealed is not None:
        by_hash = _by_hash(sealed.keys, found)
        parameters = _parameters(school.id, alert.id, by_hash, alert.forwarded_from_id, reader)
        parameters["cluster"] = school.cluster_id
        rows = _STAMPED[(tiers_of(reader), reader is not None)].rows(
            session.connection(), parameters
        )
        grouped, stamp = _grouped(found, by_hash, rows, len(sealed.keys) > 1)
        if stamp == sealed.stamp:
            return grouped
    opened = correlation.open_held(
        session, school.id, school.cluster_id, bundle_of, sealed.keys if sealed else None
    )
    if kept is not None:
        kept.keep(school.cluster_id, opened)
    by_hash = _by_hash(opened.keys, found)
    if not by_hash:
        return []
    parameters = _parameters(school.id, alert.id, by_hash, alert.forwarded_from_id, reader)
    rows = _MATCHING[(tiers_of(reader), reader is not None)].rows(session.connection(), parameters)
    return _grouped(found, by_hash, rows, len(opened.keys) > 1)[0]


def _by_hash(keys: Mapping[int, bytes], found: list[Indicator]) -> dict[bytes, int]:
    """Each hash of the alert's indicators, to the indicator's place in ``found``."""
    by_hash: dict[bytes, int] = {}
    for key in keys.values():
        by_hash.update(zip(indicator_hashes(key, found), range(len(found)), strict=True))
    return by_hash


def _grouped(
    found: list[Indicator],
    by_hash: dict[bytes, int],
    rows: Iterable[Sequence[Any]],
    generations: bool,
) -> tuple[list[Correlation], Stamp | None]:
    """The rows of ``_MATCHING`` (or ``_STAMPED``), newest first, as one
    Correlation per indicator matched; and the stamp of the school's wraps
    when the rows carry it (the row whose hash is NULL).

    One pass over the rows as the driver returns them: each row is read once,
    into the Match the page shows. By place, not by Indicator: hashing a
    dataclass per row cost more than the rest of the grouping. An alert carries
    its hashes under one generation, so it can meet one place twice only when
    the school holds several (``generations``): only then are pairs counted."""
    grouped: dict[int, list[Match]] = {}
    seen: set[tuple[int, Any]] = set()
    stamp = None
    utc: Any = UTC
    for row in rows:
        digest = row[0]
        if digest is None:
            stamp = Stamp(int(row[5]), int(row[6]))
            continue
        place = by_hash[digest]
        other = row[1]
        if generations:
            if (place, other) in seen:
                continue
            seen.add((place, other))
        matches = grouped.get(place)
        if matches is None:
            matches = grouped[place] = []
        # The driver's values: PostgreSQL's are a UUID and an aware datetime
        # already; SQLite's are text, read as SQLAlchemy's Uuid and UTCDateTime would.
        if other.__class__ is str:
            other = uuid.UUID(other)
        sent_at = row[3]
        if sent_at.__class__ is str:
            sent_at = datetime.fromisoformat(sent_at + "+00:00")  # stored naive, in UTC
        elif sent_at.tzinfo is not utc:
            # psycopg's zone of the session: kept when it is UTC by another
            # name (ZoneInfo("Etc/UTC")), looked at once per call, not per row.
            if getattr(sent_at.tzinfo, "key", None) in _UTC_NAMES:
                utc = sent_at.tzinfo
            else:
                sent_at = sent_at.astimezone(UTC)
        # tuple.__new__ as Match's own __new__ would, without its Python frame.
        matches.append(_new_match(Match, (other, row[2], sent_at, bool(row[4]))))
    return [Correlation(found[n], grouped[n]) for n in sorted(grouped)], stamp


_indicators = AlertIndicator.__table__.c
_alerts = Alert.__table__.c
_schools = School.__table__.c
_copies = AlertRecipient.__table__.c
_exclusions = ThreadExclusion.__table__.c


# Built once, and run as the driver's SQL rendered once per database
# (network/driver_sql.py): building an ORM select on every view, and then
# SQLAlchemy's own work per execution, cost more than the database did
# (bench/indicators.py). The outer join is ``visible_to_school`` (access.py)
# on the table's columns: the school holds a copy.
def _matching(tiers: tuple[str, ...], reader: bool) -> Select[Any]:
    """The matching query for a reader in ``tiers`` (``reader``: and not
    withdrawn from the alert's thread, ``bindparam("reader")``): a copy the
    reader may not open counts as not received (``copy_visible_to``)."""
    if not set(tiers) <= {TIER_ALL, TIER_LEADERSHIP}:
        # Written into the SQL as literals: only the two audience tiers' names.
        raise ValueError(f"not an audience tier: {tiers!r}")
    held = and_(
        _copies.alert_id == _alerts.id,
        _copies.school_id == bindparam("school"),
        # The tiers as literals: the statement is built once per set of
        # tiers, and a list of values would be expanded again on every call.
        _copies.tier.in_([literal_column(f"'{tier}'", String) for tier in tiers]),
    )
    if reader:
        held = and_(
            held,
            ~exists().where(
                _exclusions.alert_id == _copies.alert_id,
                _exclusions.member_id == bindparam("reader"),
            ),
        )
    return (
        select(
            _indicators.hash,
            _alerts.id,
            _schools.name,
            # The column's own type without UTCDateTime's wrapper, whose two
            # Python calls per row cost more than the conversion: ``_grouped``
            # makes the value aware UTC as UTCDateTime would.
            type_coerce(_alerts.created_at, DateTime(timezone=True)).label("sent_at"),
            _copies.alert_id.is_not(None).label("openable"),
        )
        .select_from(
            AlertIndicator.__table__.join(Alert.__table__, _alerts.id == _indicators.alert_id)
            .join(School.__table__, _schools.id == _alerts.sender_school_id)
            .outerjoin(AlertRecipient.__table__, held)
        )
        .where(
            _indicators.hash.in_(bindparam("hashes", expanding=True)),
            _indicators.alert_id.not_in(
                [
                    bindparam("alert", type_=_alerts.id.type),
                    bindparam("forwarded_from", type_=_alerts.id.type),
                ]
            ),
            or_(
                _alerts.forwarded_from_id.is_(None),
                _alerts.forwarded_from_id != bindparam("alert"),
            ),
            _alerts.status != AlertStatus.SHREDDED.value,
        )
        .order_by(_alerts.created_at.desc())
    )


_MATCHING: dict[tuple[tuple[str, ...], bool], DriverStatement] = {
    (tiers, reader): DriverStatement(_matching(tiers, reader), "hashes")
    for tiers in ((TIER_ALL,), (TIER_ALL, TIER_LEADERSHIP))
    for reader in (False, True)
}


def _stamped(tiers: tuple[str, ...], reader: bool) -> CompoundSelect[Any]:
    """The matching query and, in the same statement, the stamp of the
    school's wraps of the correlation key (``correlation.WRAPS_STAMP``): one
    row whose hash is NULL, always there, even when nothing matches. A UNION
    ALL, so that the matching branch keeps its own plan; ordered as a whole,
    newest first, as the matching query is."""
    matches = _matching(tiers, reader).order_by(None)
    stamp = correlation.WRAPS_STAMP.subquery("stamp")
    both = union_all(
        matches.add_columns(null().label("wraps"), null().label("newest")),
        select(null(), null(), null(), null(), null(), stamp.c.wraps, stamp.c.newest).select_from(
            stamp
        ),
    )
    return both.order_by(both.selected_columns.sent_at.desc())


_STAMPED: dict[tuple[tuple[str, ...], bool], DriverStatement] = {
    (tiers, reader): DriverStatement(_stamped(tiers, reader), "hashes")
    for tiers in ((TIER_ALL,), (TIER_ALL, TIER_LEADERSHIP))
    for reader in (False, True)
}


_new_match = tuple.__new__
_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})


def _parameters(
    school_id: uuid.UUID,
    alert_id: uuid.UUID,
    hashes: Iterable[bytes],
    forwarded_from: uuid.UUID | None,
    reader: Member | None,
) -> dict[str, Any]:
    # The alert and the one it forwards are the same report (the alert twice
    # when it forwards none): two parameters, not a list to expand per call.
    parameters: dict[str, Any] = {
        "school": school_id,
        "hashes": list(hashes),
        "alert": alert_id,
        "forwarded_from": alert_id if forwarded_from is None else forwarded_from,
    }
    if reader is not None:
        parameters["reader"] = reader.id
    return parameters


@dataclass(frozen=True)
class WidelySeen:
    """An indicator (never shown) named by alerts of several schools."""

    schools: int
    alerts: int
    first: datetime
    last: datetime


def seen_widely(
    session: Session, cluster_id: uuid.UUID, since: datetime, until: datetime
) -> list[WidelySeen]:
    """For the coordinator: indicators named by alerts of at least
    ``WIDELY_SEEN`` schools of the cluster in the period, as counts and dates.
    Content-blind: the hub groups by hash and shows neither the hash nor what
    it stands for. Hashes under different generations of the key do not meet."""
    schools = func.count(func.distinct(Alert.sender_school_id))
    rows = session.execute(
        select(schools, func.count(), func.min(Alert.created_at), func.max(Alert.created_at))
        .select_from(AlertIndicator)
        .join(Alert, Alert.id == AlertIndicator.alert_id)
        .where(
            Alert.cluster_id == cluster_id,
            Alert.created_at >= since,
            Alert.created_at < until,
            Alert.status != AlertStatus.SHREDDED,
        )
        .group_by(AlertIndicator.hash)
        .having(schools >= WIDELY_SEEN)
        .order_by(schools.desc(), func.max(Alert.created_at).desc())
    ).all()
    return [WidelySeen(s, n, first, last) for s, n, first, last in rows]
