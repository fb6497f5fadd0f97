"""Needs your attention: a head's and a safeguarding lead's home page.

Four lists, each from the school's own copies: acknowledgements past their
deadline (the rule of network/alerts/deadlines.py, as the worker's chase and
the coordinator's dashboard apply it), alerts not yet acknowledged, replies
from other schools since the member's last visit, and alerts the member
marked unread. Titles are decrypted as the inbox decrypts them (inbox_for:
read records, verified envelopes, one audited listing per list). Recorded
actions carry no due date, so no follow-up of an action falls due here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import referrals, unread_marks
from network.alerts.deadlines import Deadlines
from network.alerts.home_models import HomeVisit
from network.alerts.inbox import InboxFilters, InboxRow, inbox_for
from network.alerts.models import Alert, AlertRecipient, Referral, ThreadItem
from network.alerts.vocab import AlertStatus, InboxStatus, ItemKind
from network.db import settings_of
from schools import policy
from schools.db import utcnow
from schools.models import Member, School

# How many alerts each list shows; the inbox holds the rest.
HOME_LIMIT = 20
# A first visit shows the replies of this many days.
FIRST_VISIT = timedelta(days=14)
# Views of the page this close together are one visit: its replies stay listed.
VISIT_GAP = timedelta(minutes=30)


@dataclass
class Overdue:
    row: InboxRow
    due: datetime


@dataclass
class Replied:
    row: InboxRow
    replies: int
    latest: datetime
    schools: list[str]


@dataclass
class Attention:
    school: School
    since: datetime
    first_visit: bool
    overdue: list[Overdue] = field(default_factory=list)
    unacknowledged: list[InboxRow] = field(default_factory=list)
    replies: list[Replied] = field(default_factory=list)
    marked: list[InboxRow] = field(default_factory=list)
    # Referrals and steps whose follow-up date has passed (network/alerts/referrals.py).
    follow_ups: list[Referral] = field(default_factory=list)
    today: date | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.overdue or self.unacknowledged or self.replies or self.marked or self.follow_ups
        )


def visit(session: Session, actor: Member, now: datetime) -> tuple[datetime, bool]:
    """Record this view of the home page; return where "since your last
    visit" starts, and whether this is the member's first visit."""
    row = session.get(HomeVisit, actor.id)
    if row is None:
        row = HomeVisit(member_id=actor.id, since=now - FIRST_VISIT, seen_at=now)
        session.add(row)
        session.flush()
        return row.since, True
    if now - row.seen_at > VISIT_GAP:
        row.since = row.seen_at
    row.seen_at = now
    session.flush()
    return row.since, False


def needs_attention(
    session: Session, actor: Member, keys: SchoolKeys | None, now: datetime | None = None
) -> Attention:
    school = policy.check_reads_alerts(actor)
    now = now or utcnow()
    since, first = visit(session, actor, now)
    attention = Attention(school, since, first)
    due = _overdue(session, school, now)
    waiting = inbox_for(
        session, actor, keys, InboxFilters(status=InboxStatus.UNACKNOWLEDGED), limit=HOME_LIMIT
    ).rows
    replied = _replied(session, school, since)
    marked = unread_marks.marked(session, actor, HOME_LIMIT)
    # An alert in several lists is listed (its title opened, and audited) once:
    # the rows not already waiting, of every list, in one listing per box.
    rows = {row.alert.id: row for row in waiting}
    wanted = [a for a in dict.fromkeys([*due, *replied, *marked]) if a not in rows]
    if wanted:
        rows.update((row.alert.id, row) for row in _rows(session, actor, keys, wanted))
    attention.overdue = sorted(
        (Overdue(rows[alert_id], when) for alert_id, when in due.items() if alert_id in rows),
        key=lambda o: o.due,
    )
    attention.unacknowledged = [
        row
        for row in waiting
        if row.alert.id not in due
        and row.alert.status == AlertStatus.OPEN
        and row.copy.closed_at is None
    ]
    tracked = referrals.clock()  # the tracker's clock, as its own pages use
    attention.follow_ups = referrals.overdue_follow_ups(session, school, tracked)
    attention.today = referrals.day_of(session, tracked)
    attention.replies = [
        Replied(rows[alert_id], *found) for alert_id, found in replied.items() if alert_id in rows
    ]
    attention.marked = [rows[alert_id] for alert_id in marked if alert_id in rows]
    return attention


def _rows(
    session: Session, actor: Member, keys: SchoolKeys | None, alert_ids: list[uuid.UUID]
) -> list[InboxRow]:
    """The school's rows of these alerts, received or sent, titles decrypted."""
    rows: list[InboxRow] = []
    for sent in (False, True):
        rows += inbox_for(
            session,
            actor,
            keys,
            InboxFilters(),
            sent=sent,
            limit=len(alert_ids),
            alert_ids=alert_ids,
        ).rows
    return rows


def _overdue(session: Session, school: School, now: datetime) -> dict[uuid.UUID, datetime]:
    """The school's copies whose acknowledgement is past its deadline, with
    when each fell due: Deadlines.waiting_copies, the chase's own rule."""
    book = Deadlines.load(session, settings_of(session), school.cluster_id)
    conditions = book.waiting_copies(now, school.cluster_id)
    if conditions is None:
        return {}
    copies = session.execute(
        select(AlertRecipient.alert_id, AlertRecipient.severity, AlertRecipient.created_at)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .join(School, School.id == AlertRecipient.school_id)
        .where(
            *conditions, AlertRecipient.school_id == school.id, AlertRecipient.closed_at.is_(None)
        )
        .order_by(AlertRecipient.created_at)
        .limit(HOME_LIMIT)
    ).all()
    return {
        alert_id: book.due(school.cluster_id, school.nation, severity, created)
        for alert_id, severity, created in copies
    }


def _replied(
    session: Session, school: School, since: datetime
) -> dict[uuid.UUID, tuple[int, datetime, list[str]]]:
    """Alerts the school holds (sent or received) that other schools replied to
    since ``since``, latest reply first (up to HOME_LIMIT): how many replies,
    the latest, and the schools that wrote them."""
    found = session.execute(
        select(ThreadItem.alert_id, ThreadItem.created_at, School.name)
        .join(
            AlertRecipient,
            (AlertRecipient.alert_id == ThreadItem.alert_id)
            & (AlertRecipient.school_id == school.id),
        )
        .join(School, School.id == ThreadItem.author_school_id)
        .where(
            ThreadItem.kind == ItemKind.REPLY,
            ThreadItem.author_school_id != school.id,
            ThreadItem.created_at > since,
        )
        .order_by(ThreadItem.created_at.desc())
        .limit(HOME_LIMIT * 10)
    ).all()
    by_alert: dict[uuid.UUID, tuple[int, datetime, list[str]]] = {}
    for alert_id, created, name in found:
        count, latest, names = by_alert.get(alert_id, (0, created, []))
        by_alert[alert_id] = (count + 1, max(latest, created), names + [name] * (name not in names))
    return {alert_id: by_alert[alert_id] for alert_id in list(by_alert)[:HOME_LIMIT]}
