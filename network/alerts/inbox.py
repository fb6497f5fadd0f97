"""A school's inbox and Sent box: its copies of alerts, newest first, with the
titles decrypted for one page at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased, joinedload, raiseload

from crypto.keys import SchoolKeys
from network.alerts import vocab
from network.alerts.access import may_post, visible_to_school
from network.alerts.content import AlertContent
from network.alerts.integrity import check_alert
from network.alerts.keychain import Keychain, parse_public_keys
from network.alerts.models import Alert, AlertRecipient, Platform, Sealed, SealedWrap
from network.alerts.paging import after_cursor, encode_cursor
from network.alerts.platforms import platforms
from network.alerts.sealing import IntegrityFailure, Stored, open_stored
from network.alerts.vocab import FILTER_STATUSES, PAGE_SIZE, InboxStatus
from schools import audit, policy
from schools.errors import InvalidInput
from schools.models import Member, School, SchoolKeyGeneration, SchoolKind

# A row of the inbox's query: the copy, its alert, the envelope's shared part,
# this school's wrap and its generation, and the sender's public keys (the last
# four None when the alert was shredded or the keys are missing).
InboxQuery = Select[AlertRecipient, Alert, bytes | None, bytes | None, int | None, bytes | None]


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    category: str = ""
    severity: str = ""
    platform: str = ""
    sender: uuid.UUID | None = None

    def validate(self, session: Session) -> None:
        if self.status and self.status not in FILTER_STATUSES:
            raise InvalidInput("Unknown status filter.", field="status")
        if self.category and self.category not in vocab.codes(vocab.CATEGORIES):
            raise InvalidInput("Unknown category.", field="category")
        if self.severity and self.severity not in vocab.codes(vocab.SEVERITIES):
            raise InvalidInput("Unknown severity.", field="severity")
        if self.platform and session.get(Platform, self.platform) is None:
            raise InvalidInput("Unknown platform.", field="platform")


@dataclass
class InboxRow:
    copy: AlertRecipient
    alert: Alert
    title: str = ""
    problem: str = ""


@dataclass
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


@dataclass(frozen=True)
class InboxChoices:
    """What the inbox's page offers around the list: the school whose box it
    is, the filters' platforms and senders, and whether the member may post."""

    school: School
    platforms: list[Platform]
    senders: list[School]
    may_post: bool


def inbox_choices(session: Session, actor: Member) -> InboxChoices:
    school = policy.check_reads_alerts(actor)
    return InboxChoices(
        school,
        platforms(session, include_retired=True),
        possible_senders(session, school),
        may_post(actor),
    )


def possible_senders(session: Session, school: School) -> list[School]:
    """Schools an inbox filter can name: the cluster's (a small table, so the
    filter costs nothing however large the inbox grows)."""
    return list(
        session.scalars(
            select(School)
            .where(School.cluster_id == school.cluster_id, School.kind == SchoolKind.SCHOOL)
            .order_by(School.name)
        )
    )


def inbox_query(
    school_id: uuid.UUID,
    filters: InboxFilters,
    cursor: str | None = None,
    sent: bool = False,
    limit: int = PAGE_SIZE,
) -> InboxQuery:
    """The inbox's one query: a range scan of ix_alert_recipients_inbox for the
    school, joined by primary key to the alert, its sealed envelope, this
    school's wrap and the sender's public keys."""
    sender_keys = aliased(SchoolKeyGeneration)
    query: InboxQuery = (
        select(
            AlertRecipient,
            Alert,
            Sealed.body,
            SealedWrap.wrap,
            SealedWrap.generation,
            sender_keys.public_keys,
        )
        .join(Alert, visible_to_school(school_id, Alert.id))
        .outerjoin(Sealed, Sealed.id == Alert.sealed_id)
        .outerjoin(
            SealedWrap,
            and_(
                SealedWrap.sealed_id == Alert.sealed_id,
                SealedWrap.school_id == AlertRecipient.school_id,
            ),
        )
        .outerjoin(
            sender_keys,
            and_(
                sender_keys.school_id == Alert.sender_school_id,
                sender_keys.generation == Alert.sender_generation,
            ),
        )
        .where(AlertRecipient.is_sender.is_(sent))
    )
    query = _apply_filters(query, filters)
    if cursor:
        query = query.where(
            after_cursor(cursor, AlertRecipient.created_at, AlertRecipient.alert_id)
        )
    return (
        query.order_by(AlertRecipient.created_at.desc(), AlertRecipient.alert_id.desc())
        .limit(limit + 1)
        # Only the sender school's name is shown; nothing else is loaded eagerly
        # (members' rows carry key material the inbox has no use for).
        .options(raiseload("*"), joinedload(Alert.sender_school).raiseload("*"))
    )


def _apply_filters(query: InboxQuery, filters: InboxFilters) -> InboxQuery:
    if filters.status == InboxStatus.UNREAD:
        query = query.where(AlertRecipient.first_read_at.is_(None))
    elif filters.status == InboxStatus.UNACKNOWLEDGED:
        query = query.where(AlertRecipient.acknowledged_at.is_(None))
    elif filters.status == InboxStatus.ACKNOWLEDGED:
        query = query.where(AlertRecipient.acknowledged_at.is_not(None))
    elif filters.status in (InboxStatus.OPEN, InboxStatus.RESOLVED):
        query = query.where(Alert.status == filters.status)
    if filters.category:
        query = query.where(Alert.category == filters.category)
    if filters.severity:
        query = query.where(Alert.severity == filters.severity)
    if filters.platform:
        query = query.where(Alert.platform == filters.platform)
    if filters.sender:
        query = query.where(Alert.sender_school_id == filters.sender)
    return query


def inbox_for(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    filters: InboxFilters,
    cursor: str | None = None,
    sent: bool = False,
    limit: int = PAGE_SIZE,
) -> InboxPage:
    """One page of the school's inbox (or Sent box), newest first.

    One indexed query fetches the page's rows with, for each, the sealed
    envelope, this school's wrap and the sender's public keys; titles are then
    decrypted for this page only, and the decryption is audited once.
    """
    school = policy.check_reads_alerts(actor)
    filters.validate(session)
    query = inbox_query(school.id, filters, cursor, sent, limit)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    keychain = Keychain(session, school.id, keys)
    page = []
    for copy, alert, body, wrap, generation, public in rows:
        row = InboxRow(copy, alert)
        if alert.shredded:
            row.problem = "Shredded after its retention period."
        elif keys is None:
            row.problem = "Locked: your session cannot open the school's keys."
        elif body is None or wrap is None or generation is None:
            row.problem = "Content unavailable."
        else:
            try:
                sealed = open_stored(
                    Stored(body, wrap, generation),
                    school.id,
                    keychain,
                    parse_public_keys(public) if public else None,
                )
                check_alert(sealed.header, alert)
                assert sealed.body is not None
                row.title = AlertContent.from_bytes(sealed.body).title
            except IntegrityFailure:
                row.problem = "Failed its integrity check: not shown."
        page.append(row)
    opened = [str(r.alert.id) for r in page if r.title]
    if opened:
        audit.record(
            session,
            "inbox.titles_decrypted",
            actor=actor,
            school_id=school.id,
            object_type="school",
            object_id=school.id,
            alerts=opened,
            box="sent" if sent else "inbox",
        )
    next_cursor = (
        encode_cursor(page[-1].copy.created_at, page[-1].copy.alert_id) if more and page else None
    )
    return InboxPage(page, next_cursor)


def unread_count(session: Session, school_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AlertRecipient)
            .where(
                AlertRecipient.school_id == school_id,
                AlertRecipient.is_sender.is_(False),
                AlertRecipient.first_read_at.is_(None),
            )
        )
        or 0
    )
