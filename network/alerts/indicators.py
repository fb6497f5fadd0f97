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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from crypto.header import TIER_ALL, TIER_LEADERSHIP
from crypto.indicators import (
    Indicator,
    indicator_hash,
    normalise_account,
    normalise_group,
    normalise_link,
)
from crypto.keys import SchoolKeys
from network.alerts.access import tiers_of
from network.alerts.content import AlertContent
from network.alerts.models import Alert, AlertIndicator, AlertRecipient, ThreadExclusion
from network.alerts.vocab import AlertStatus
from schools import correlation
from schools.models import Member, School

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
    return sorted(found)


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
    return Hashed(generation, tuple(sorted({indicator_hash(key, i) for i in found})))


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


@dataclass(frozen=True)
class Match:
    """Another alert naming the indicator: its sender and date (metadata), and
    whether the reader's school may open it."""

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
) -> list[Correlation]:
    """For a reader's school: which other alerts name one of this alert's
    indicators, under any generation of the correlation key the school holds.
    One query on ``ix_alert_indicators_hash``; shredded alerts are left out."""
    found = indicators_of(content, alert.platform)
    if not found or not correlation.holds_correlation_key(school):
        return []
    keys = correlation.keys_held(session, school.id, school.cluster_id, bundle_of)
    by_hash = {indicator_hash(key, i): i for key in keys.values() for i in found}
    if not by_hash:
        return []
    rows = matching_alerts(
        session, school.id, alert.id, by_hash, alert.forwarded_from_id, reader=reader
    )
    grouped: dict[Indicator, Correlation] = {}
    seen: set[tuple[Indicator, uuid.UUID]] = set()
    for digest, alert_id, school_name, sent_at, openable in rows:
        indicator = by_hash[digest]
        if (indicator, alert_id) in seen:
            continue
        seen.add((indicator, alert_id))
        grouped.setdefault(indicator, Correlation(indicator)).matches.append(
            Match(alert_id, school_name, sent_at, openable)
        )
    return [grouped[i] for i in found if i in grouped]


_indicators = AlertIndicator.__table__.c
_alerts = Alert.__table__.c
_schools = School.__table__.c
_copies = AlertRecipient.__table__.c
_exclusions = ThreadExclusion.__table__.c


# Built once: building an ORM select on every view cost more than the
# database did (bench/indicators.py). The outer join is ``visible_to_school``
# (access.py) on the table's columns: the school holds a copy.
def _matching(tiers: tuple[str, ...], reader: bool) -> Select[Any]:
    """The matching query for a reader in ``tiers`` (``reader``: and not
    withdrawn from the alert's thread, ``bindparam("reader")``): a copy the
    reader may not open counts as not received (``copy_visible_to``)."""
    held = and_(
        _copies.alert_id == _alerts.id,
        _copies.school_id == bindparam("school"),
        _copies.tier.in_(tiers),
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
            _alerts.created_at,
            _copies.alert_id.is_not(None),
        )
        .select_from(
            AlertIndicator.__table__.join(Alert.__table__, _alerts.id == _indicators.alert_id)
            .join(School.__table__, _schools.id == _alerts.sender_school_id)
            .outerjoin(AlertRecipient.__table__, held)
        )
        .where(
            _indicators.hash.in_(bindparam("hashes", expanding=True)),
            _indicators.alert_id.not_in(bindparam("same_report", expanding=True)),
            or_(
                _alerts.forwarded_from_id.is_(None),
                _alerts.forwarded_from_id != bindparam("alert"),
            ),
            _alerts.status != AlertStatus.SHREDDED.value,
        )
        .order_by(_alerts.created_at.desc())
    )


_MATCHING: dict[tuple[tuple[str, ...], bool], Select[Any]] = {
    (tiers, reader): _matching(tiers, reader)
    for tiers in ((TIER_ALL,), (TIER_ALL, TIER_LEADERSHIP))
    for reader in (False, True)
}


def matching_alerts(
    session: Session,
    school_id: uuid.UUID,
    alert_id: uuid.UUID,
    hashes: Iterable[bytes],
    forwarded_from: uuid.UUID | None = None,
    reader: Member | None = None,
) -> list[tuple[bytes, uuid.UUID, str, datetime, bool]]:
    """(hash, alert, sending school's name, sent at, may the school open it)
    for every other unshredded alert carrying one of ``hashes``, newest first.
    Given a ``reader``, a copy at a tier they are not in (or withdrawn from
    them) counts as not received: they see of it what any school sees.
    The alert's own forwards, and the alert it forwards, are the same report
    passed on, not another school's: they are left out."""
    same_report = [alert_id] if forwarded_from is None else [alert_id, forwarded_from]
    parameters: dict[str, Any] = {
        "school": school_id,
        "hashes": list(hashes),
        "same_report": same_report,
        "alert": alert_id,
    }
    if reader is not None:
        parameters["reader"] = reader.id
    statement = _MATCHING[(tiers_of(reader), reader is not None)]
    rows = session.execute(statement, parameters).all()
    return [
        (digest, other, name, sent_at, bool(openable))
        for digest, other, name, sent_at, openable in rows
    ]


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
