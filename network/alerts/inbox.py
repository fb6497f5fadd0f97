"""A school's inbox and Sent box: its copies of alerts, newest first, with the
titles decrypted for one page at a time."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from crypto.envelope import TIER_ALL
from crypto.errors import CryptoError
from crypto.header import person_tier
from crypto.keys import SchoolKeys
from crypto.records import open_read_record, read_key, seal_read_record
from network.alerts import vocab
from network.alerts.access import (
    copy_visible_at,
    copy_visible_to,
    named_in,
    tiers_of,
    visible_to_school,
)
from network.alerts.content import AlertContent
from network.alerts.home_models import MemberRead, UnreadMark
from network.alerts.integrity import check_alert
from network.alerts.keychain import Keychain, parse_public_keys
from network.alerts.listing import LISTED, ListedAlert, ListedCopy, listed
from network.alerts.models import (
    Alert,
    AlertRecipient,
    Platform,
    ReadRecord,
    SearchEntry,
    ThreadExclusion,
)
from network.alerts.named_models import TIER_NAMED, NamedReader
from network.alerts.paging import after_cursor, encode_cursor
from network.alerts.sealing import IntegrityFailure, Stored, load_for, open_summary
from network.alerts.search import Copy, SchoolIndex, SearchScope, query_words
from network.alerts.unread_marks import unread_for
from network.alerts.vocab import FILTER_STATUSES, PAGE_SIZE, AlertStatus, InboxStatus
from schools import audit, policy
from schools.db import insert_new, utcnow
from schools.errors import InvalidInput
from schools.models import Member, School, SchoolKeyGeneration

# A row of the inbox's query: the copy's and alert's columns a list shows
# (listing.LISTED), this school's read record of the envelope and the record's
# generation and tier (None until the school first listed it), the sender's
# public keys and when that generation was retired (None when missing, or still
# current), how much of the copy the school's search index holds (None:
# nothing yet), and whether the copy is unread for the reader.
InboxQuery = Select[Any]
_RECORD_COLUMNS = (
    ReadRecord.record,
    ReadRecord.generation,
    ReadRecord.tier,
    SchoolKeyGeneration.public_keys,
    SchoolKeyGeneration.retired_at,
    SearchEntry.scope,
)


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    category: str = ""
    severity: str = ""
    platform: str = ""
    sender: uuid.UUID | None = None
    # Words to find in the school's own index of titles and descriptions.
    q: str = ""

    def validate(self, session: Session) -> None:
        if self.q:
            query_words(self.q)
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
    copy: ListedCopy
    alert: ListedAlert
    title: str = ""
    problem: str = ""
    # Unread for the member listing it (not opened by them, or marked unread);
    # without a member, opened by nobody at the school.
    unread: bool = False

    @property
    def acknowledgeable(self) -> bool:
        """The school may still acknowledge this copy: received, not yet
        acknowledged, not shredded (a list offers it for acknowledging)."""
        return not self.copy.is_sender and not self.copy.acknowledged_at and not self.alert.shredded


@dataclass
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


def inbox_query(
    school_id: uuid.UUID,
    filters: InboxFilters,
    cursor: str | None = None,
    sent: bool = False,
    limit: int = PAGE_SIZE,
    matching: ColumnElement[bool] | None = None,
    alert_ids: Collection[uuid.UUID] | None = None,
    reader: Member | None = None,
) -> tuple[InboxQuery, dict[str, Any]]:
    """The inbox's one query, and its parameters: a range scan of
    ix_alert_recipients_inbox for the school, joined by primary key to the
    alert, its sender's name, this school's read record of its envelope, the
    sender's public keys and the school's search entry of the copy; only the
    columns a list uses.
    Envelopes themselves are loaded only for rows without a record yet
    (``inbox_for``). Only copies at a tier the ``reader`` is in, and not
    withdrawn from them, are listed (without a reader: the all-staff tier
    only).

    A page without filters, search, chosen alerts or cursor (what an API
    client polls) is the same statement object every time, its parameters
    given when it runs: SQLAlchemy then neither clones it to bind them nor
    matches a clone's columns against its cached compiled form (together more
    than the whole query costs to run)."""
    params = {
        "school_id": school_id,
        "reader_id": reader.id if reader is not None else None,
        "person_tier": person_tier(reader.id) if reader is not None else None,
    }
    tiers = tiers_of(reader)
    if filters == InboxFilters() and matching is None and alert_ids is None and not cursor:
        return _page(sent, tiers, reader is not None, limit), params
    query = _listing(sent, tiers, reader is not None)
    query = _apply_filters(query, filters, reader)
    if matching is not None:  # a search (network/alerts/search.py)
        query = query.where(matching)
    if alert_ids is not None:  # the home page's chosen alerts
        query = query.where(AlertRecipient.alert_id.in_(list(alert_ids)))
    if cursor:
        query = query.where(
            after_cursor(cursor, AlertRecipient.created_at, AlertRecipient.alert_id)
        )
    return query.limit(limit + 1), params


@functools.cache
def _page(sent: bool, tiers: tuple[str, ...], has_reader: bool, limit: int) -> InboxQuery:
    """A plain page of ``limit`` rows (and one more, to know there is a next)."""
    return _listing(sent, tiers, has_reader).limit(limit + 1)


@functools.cache
def _listing(sent: bool, tiers: tuple[str, ...], has_reader: bool) -> InboxQuery:
    """The statement of ``inbox_query`` before its filters, built once per
    process for each box and set of tiers (building it cost more than running
    it); the school and the reader are bound parameters."""
    reader_id: BindParameter[uuid.UUID] | None = (
        bindparam("reader_id", type_=Uuid()) if has_reader else None
    )
    # Unread for the reader, in the same query (the page marks unread rows).
    unread = (
        unread_for(reader_id, AlertRecipient.alert_id)
        if reader_id is not None
        else AlertRecipient.first_read_at.is_(None)
    )
    # The school keeps a read record and a search entry of a copy per tier
    # that opens it: the copy's own, or for a copy sealed to named people,
    # each named reader's (another's proves nothing to this reader).
    own_tiers = (AlertRecipient.tier, bindparam("person_tier", type_=String()))
    return (
        select(*LISTED, *_RECORD_COLUMNS, unread.label("unread"))
        .select_from(AlertRecipient)
        .join(Alert, visible_to_school(bindparam("school_id"), Alert.id))
        .join(School, School.id == Alert.sender_school_id)
        .outerjoin(
            ReadRecord,
            and_(
                ReadRecord.sealed_id == Alert.sealed_id,
                ReadRecord.school_id == AlertRecipient.school_id,
                ReadRecord.tier.in_(own_tiers),
            ),
        )
        .outerjoin(
            SchoolKeyGeneration,
            and_(
                SchoolKeyGeneration.school_id == Alert.sender_school_id,
                SchoolKeyGeneration.generation == Alert.sender_generation,
            ),
        )
        .outerjoin(
            SearchEntry,
            and_(
                SearchEntry.school_id == AlertRecipient.school_id,
                SearchEntry.alert_id == Alert.id,
                SearchEntry.tier.in_(own_tiers),
            ),
        )
        .where(AlertRecipient.is_sender.is_(sent), copy_visible_at(tiers, reader_id))
        .order_by(AlertRecipient.created_at.desc(), AlertRecipient.alert_id.desc())
    )


# An alert shredded or withdrawn is over for every school, whatever its copy says.
OPEN_ON_THE_SENDERS_SIDE = (AlertStatus.OPEN, AlertStatus.RESOLVED)


def _unread(reader: Member | None) -> ColumnElement[bool]:
    """Unread for the reader: not opened by them, or marked unread by them
    (network/alerts/unread_marks.py); without a reader, opened by nobody."""
    if reader is None:
        return AlertRecipient.first_read_at.is_(None)
    return unread_for(reader, AlertRecipient.alert_id)


def _apply_filters(
    query: InboxQuery, filters: InboxFilters, reader: Member | None = None
) -> InboxQuery:
    if filters.status == InboxStatus.UNREAD:
        query = query.where(_unread(reader))
    elif filters.status == InboxStatus.UNACKNOWLEDGED:
        query = query.where(AlertRecipient.acknowledged_at.is_(None))
    elif filters.status == InboxStatus.ACKNOWLEDGED:
        query = query.where(AlertRecipient.acknowledged_at.is_not(None))
    elif filters.status == InboxStatus.OPEN:
        query = query.where(
            AlertRecipient.closed_at.is_(None), Alert.status.in_(OPEN_ON_THE_SENDERS_SIDE)
        )
    elif filters.status == InboxStatus.CLOSED:
        query = query.where(AlertRecipient.closed_at.is_not(None))
    elif filters.status in (InboxStatus.RESOLVED, InboxStatus.WITHDRAWN):
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
    alert_ids: Collection[uuid.UUID] | None = None,
) -> InboxPage:
    """One page of the school's inbox (or Sent box), newest first.

    One indexed query fetches the page's rows with, for each, this school's
    read record and the sender's public keys. A title the school has listed
    before comes from its read record (one AES-GCM opening); the first time,
    the envelope is verified in full (both signatures, the key commitment, the
    header against the hub's columns), only its summary is decrypted, and a
    read record is written for next time. The titles shown are audited once.
    """
    school = policy.check_reads_alerts(actor)
    filters.validate(session)
    keychain = Keychain(session, school.id, keys)
    index = SchoolIndex(session, keychain)
    matching = None
    if filters.q:
        unlisted = (
            index.never_listed(copy_visible_to(actor), sent)
            if keys is not None and alert_ids is None
            else []
        )
        if unlisted:
            # Listed (and so indexed) before the search looks; audited as any listing.
            inbox_for(
                session,
                actor,
                keys,
                InboxFilters(),
                sent=sent,
                alert_ids=unlisted,
                limit=len(unlisted),
            )
        index.catch_up()
        matching = index.matching(query_words(filters.q))
    query, params = inbox_query(
        school.id, filters, cursor, sent, limit, matching, alert_ids, reader=actor
    )
    # Plain rows of columns: run on the session's connection, past the ORM's
    # handling of a statement that loads no objects (a seventh of its cost).
    session.flush()
    fetched = session.connection().execute(query, params).all()
    more = len(fetched) > limit
    records = _RecordKeys(keychain)
    # A record sealed under another tier's key (another named person's) proves
    # nothing to this reader: they verify the envelope as the first time.
    listed_rows = []
    for fetched_row in fetched[:limit]:
        copy, alert, record, generation, tier, *rest = (
            *listed(fetched_row, school.id),
            *fetched_row[len(LISTED) :],
        )
        if record is not None and (tier or TIER_ALL) not in keychain.tiers:
            record, generation, tier = None, None, None
        listed_rows.append((copy, alert, record, generation, tier, *rest))
    first_time = [
        alert.sealed_id
        for _copy, alert, record, *_rest in listed_rows
        if record is None and alert.sealed_id is not None and not alert.shredded
    ]
    stored = load_for(session, first_time, school.id, keychain.tiers) if keys is not None else {}
    page = []
    written: list[dict[str, object]] = []
    # Titles to add to the school's search index: (alert, generation, tier, [title]).
    titles: list[Copy] = []
    for (
        copy,
        alert,
        record,
        record_generation,
        record_tier,
        public,
        retired_at,
        indexed,
        unread,
    ) in listed_rows:
        row = InboxRow(copy, alert, unread=bool(unread))
        page.append(row)
        if alert.withdrawn:
            # The hub's column: the sender's signed withdrawal is on the alert's page.
            row.problem = (
                "Withdrawn, the hub reports: open it to see the sender's signed withdrawal."
            )
            continue
        if alert.shredded:
            row.problem = "Shredded after its retention period."
            continue
        if keys is None:
            row.problem = "Locked: your session cannot open the school's keys."
            continue
        if copy.tier == TIER_NAMED and keychain.person_tier is None:
            row.problem = "Sealed to you by name: this sign-in holds no personal keys."
            continue
        if copy.tier not in keychain.tiers and copy.tier != TIER_NAMED:
            row.problem = "For your school's leadership: this sign-in holds no leadership keys."
            continue
        try:
            if record is not None and record_generation is not None:
                row.title = records.title(
                    alert, record, record_generation, retired_at, record_tier or TIER_ALL
                )
                if indexed is None:
                    titles.append(
                        (alert.id, record_generation, record_tier or TIER_ALL, [row.title])
                    )
            elif alert.sealed_id is not None and alert.sealed_id in stored:
                first = stored[alert.sealed_id]
                row.title, new_record = records.first_listing(
                    alert, first, school.id, public, retired_at
                )
                if indexed is None:
                    titles.append((alert.id, first.generation, first.tier, [row.title]))
                written.append(
                    {
                        "sealed_id": alert.sealed_id,
                        "school_id": school.id,
                        "generation": first.generation,
                        "tier": first.tier,
                        "record": new_record,
                        "created_at": utcnow(),
                    }
                )
            else:
                row.problem = "Content unavailable."
        except IntegrityFailure:
            row.problem = "Failed its integrity check: not shown."
    # Two members listing at once both write a record: the second is skipped.
    insert_new(
        session,
        ReadRecord,
        written,
        key=["sealed_id", "school_id", "tier"],
        returning=ReadRecord.sealed_id,
    )
    # Titles the school has not indexed yet (the page's query joined its entries).
    index.index(titles, SearchScope.TITLE)
    opened = [str(r.alert.id) for r in page if r.title]
    if opened:
        audit.record_read(
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


class _RecordKeys:
    """Read records of one school: their keys (one HKDF per generation of the
    bundle, derived on first use) and the two ways a list gets a title."""

    def __init__(self, keychain: Keychain) -> None:
        self.keychain = keychain
        self._keys: dict[tuple[int, str], bytes] = {}

    def key(self, generation: int, tier: str = TIER_ALL) -> bytes:
        if (generation, tier) not in self._keys:
            self._keys[generation, tier] = read_key(
                self.keychain.for_recipient(generation, tier), tier
            )
        return self._keys[generation, tier]

    def title(
        self,
        alert: ListedAlert,
        record: bytes,
        generation: int,
        retired_at: datetime | None,
        tier: str = TIER_ALL,
    ) -> str:
        """The title from the school's record, which must open under its key
        for this alert's envelope hash and hold a header matching the alert."""
        try:
            header, summary = open_read_record(
                self.key(generation, tier), alert.envelope_hash, record
            )
            title = AlertContent.title_of(summary)
        except (CryptoError, ValueError, KeyError) as error:
            raise IntegrityFailure("The school's read record does not open.") from error
        check_alert(header, alert, retired_at=retired_at)
        return title

    def first_listing(
        self,
        alert: ListedAlert,
        stored: Stored,
        school_id: uuid.UUID,
        public: bytes | None,
        retired_at: datetime | None,
    ) -> tuple[str, bytes]:
        """Verify the envelope, decrypt its summary, and seal a record of both."""
        opened, envelope_hash = open_summary(
            stored, school_id, self.keychain, parse_public_keys(public) if public else None
        )
        check_alert(opened.header, alert, retired_at=retired_at)
        if envelope_hash != alert.envelope_hash:
            raise IntegrityFailure("The hub's envelope hash is not the envelope's.")
        summary = opened.summary
        if not summary:  # version 1: no summary part, the title is in the body
            assert opened.body is not None
            summary = AlertContent.from_bytes(opened.body).summary()
        try:
            title = AlertContent.title_of(summary)
        except (ValueError, KeyError) as error:
            raise IntegrityFailure("The envelope's summary cannot be read.") from error
        # A list never shows the recipients: the record keeps only this school's
        # own entry of them (parsing 31 recipients back costs more than the rest).
        listed = replace(
            opened.header,
            recipients=tuple(r for r in opened.header.recipients if r.school == str(school_id)),
        )
        record = seal_read_record(
            self.key(stored.generation, stored.tier), envelope_hash, listed, summary
        )
        return title, record


def unread_count(session: Session, school_id: uuid.UUID, reader: Member | None = None) -> int:
    """What the inbox's "Unread" filter lists for the ``reader``: the school's
    copies they would see listed that are unread for them (``unread_listed``
    counts the same by its definition; the tests compare the two).

    Every page shows it, so it is counted without visiting each of the
    school's copies (tens of thousands, each a heap fetch and four probes):
    the copies at the reader's tiers, counted from an index alone, plus those
    sealed to them by name, less those they were withdrawn from, less those
    they have read and not marked unread; the last three start from the
    reader's own rows (names, withdrawals, reads), one query in all."""
    if reader is None:
        return unread_listed(session, school_id, None)
    counted = select(unread_counted(tiers_of(reader)))
    return int(session.scalar(counted, {"school_id": school_id, "reader_id": reader.id}) or 0)


@functools.cache
def unread_counted(tiers: tuple[str, ...]) -> ColumnElement[int]:
    """``unread_count`` as an expression for readers in ``tiers``, built once
    per process (building it cost more than running it); the school and the
    reader are the bound parameters "school_id" and "reader_id" (a page's
    counts: network/notifications/feed.py, header_counts)."""
    copy = AlertRecipient
    school_id = bindparam("school_id", type_=Uuid())
    reader_id = bindparam("reader_id", type_=Uuid())
    received = (copy.school_id == school_id, copy.is_sender.is_(False))

    def mine(table: Any, *where: ColumnElement[bool]) -> Any:
        """How many of the school's copies join one of the reader's rows of ``table``."""
        joined = and_(copy.alert_id == table.alert_id, *received)
        return (
            select(func.count())
            .select_from(table)
            .join(copy, joined)
            .where(table.member_id == reader_id, *where)
            .scalar_subquery()
        )

    at_tiers = (
        select(func.count()).select_from(copy).where(*received, copy.tier.in_(tiers))
    ).scalar_subquery()
    named = mine(NamedReader, copy.tier == TIER_NAMED)
    tier_or_named = or_(
        copy.tier.in_(tiers), and_(copy.tier == TIER_NAMED, named_in(reader_id, copy.alert_id))
    )
    withdrawn = mine(ThreadExclusion, tier_or_named)
    marked = exists().where(UnreadMark.member_id == reader_id, UnreadMark.alert_id == copy.alert_id)
    read = mine(MemberRead, copy_visible_at(tiers, reader_id), ~marked)
    counted: ColumnElement[int] = at_tiers + named - withdrawn - read
    return counted


def unread_listed(session: Session, school_id: uuid.UUID, reader: Member | None = None) -> int:
    """``unread_count`` by its definition: every copy the school holds that
    the reader would see listed, unread for them (without a reader: opened
    by nobody at the school)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(AlertRecipient)
            .where(
                AlertRecipient.school_id == school_id,
                AlertRecipient.is_sender.is_(False),
                _unread(reader),
                copy_visible_to(reader),
            )
        )
        or 0
    )
