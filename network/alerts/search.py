"""Inbox search: each school's keyed word index of its own copies of alerts.

The words of a copy's title (when the inbox lists it) and description (when a
member of the school opens it) are stored only as tokens under a key derived
from the school's bundle (crypto/search.py), one row per (school, token,
alert). A query is normalised the same way and its tokens computed in the
request with the session's keys; an alert matches when it holds a token of
every word. The hub stores no word, and one school's tokens match nothing of
another's.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, false, select, update
from sqlalchemy.orm import Session

from crypto.errors import CryptoError
from crypto.header import TIER_ALL
from crypto.records import open_read_record, read_key
from crypto.search import search_key, text_tokens, word_token, words
from network.alerts.content import AlertContent
from network.alerts.keychain import Keychain
from network.alerts.models import Alert, AlertRecipient, ReadRecord, SearchEntry, SearchToken
from network.alerts.vocab import AlertStatus
from schools.db import insert_new, utcnow
from schools.errors import InvalidInput, KeysLocked

MAX_QUERY = 200
MAX_QUERY_WORDS = 8
# Copies not in the index yet, indexed by each search before it looks: those
# listed before the index existed, from their read records (one AES-GCM opening
# and an HMAC per word each), and those nobody has listed, by listing them
# (a first listing's full verification each).
CATCH_UP = 200
_BATCH = 1_000


class SearchScope(enum.StrEnum):
    TITLE = "title"  # listed in the inbox: the title only
    FULL = "full"  # opened: the title and the description


def query_words(query: str) -> list[str]:
    """The words to look for, or InvalidInput beside the search box."""
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"Search for at most {MAX_QUERY} characters.", field="q")
    found = words(query)
    if not found:
        raise InvalidInput("Type at least one word of two or more letters or digits.", field="q")
    if len(found) > MAX_QUERY_WORDS:
        raise InvalidInput(f"Search for at most {MAX_QUERY_WORDS} words.", field="q")
    return found


# A copy to index: (alert, generation and tier of the school's copy, texts).
Copy = tuple[uuid.UUID, int, str, Sequence[str]]


class SchoolIndex:
    """One school's search keys (one HKDF per generation and tier, derived on
    first use) and the two things done with them: index a copy, and match a
    query. A copy sealed to the school's leadership is indexed under the
    leadership bundle's key, so only a reader holding it can match its words."""

    def __init__(self, session: Session, keychain: Keychain) -> None:
        self.session = session
        self.keychain = keychain
        self._keys: dict[tuple[int, str], bytes] = {}

    @property
    def school_id(self) -> uuid.UUID:
        return self.keychain.school_id

    def key(self, generation: int, tier: str = TIER_ALL) -> bytes:
        if (generation, tier) not in self._keys:
            keys = self.keychain.for_recipient(generation, tier)
            self._keys[(generation, tier)] = search_key(keys, tier)
        return self._keys[(generation, tier)]

    def indexed(self, alert_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Which of these alerts the school has indexed, and how much of each."""
        ids = list(alert_ids)
        if not ids:
            return {}
        rows = self.session.execute(
            select(SearchEntry.alert_id, SearchEntry.scope).where(
                SearchEntry.school_id == self.school_id,
                SearchEntry.alert_id.in_(ids),
                SearchEntry.tier.in_(self.keychain.tiers),
            )
        ).all()
        return dict(rows)

    def index(self, copies: Sequence[Copy], scope: SearchScope) -> None:
        """Index copies given as (alert, generation, tier of the school's copy, texts).
        Two members doing it at once write each row once; indexing the title of
        an alert already indexed in full changes nothing."""
        if not copies:
            return
        now = utcnow()
        tokens = [
            {
                "school_id": self.school_id,
                "token": token,
                "alert_id": alert,
                "generation": g,
                "tier": tier,
            }
            for alert, g, tier, texts in copies
            for token in text_tokens(self.key(g, tier), *texts)
        ]
        # In batches: SQLite binds at most 32,766 parameters per statement.
        for start in range(0, len(tokens), _BATCH):
            insert_new(
                self.session,
                SearchToken,
                tokens[start : start + _BATCH],
                key=["school_id", "token", "alert_id"],
                returning=SearchToken.alert_id,
            )
        entries = [
            {
                "school_id": self.school_id,
                "alert_id": alert,
                "generation": g,
                "tier": tier,
                "scope": scope.value,
                "created_at": now,
            }
            for alert, g, tier, _texts in copies
        ]
        insert_new(
            self.session,
            SearchEntry,
            entries,
            key=["school_id", "alert_id", "tier"],
            returning=SearchEntry.alert_id,
        )
        if scope == SearchScope.FULL:
            self.session.execute(
                update(SearchEntry)
                .where(
                    SearchEntry.school_id == self.school_id,
                    SearchEntry.alert_id.in_([copy[0] for copy in copies]),
                    SearchEntry.tier.in_({copy[2] for copy in copies}),
                )
                .values(scope=SearchScope.FULL.value)
                .execution_options(synchronize_session=False)
            )

    def _unindexed(self, *columns: Any, read: bool) -> Select[Any]:
        """The school's copies that have no entry in its index at a tier the
        reader holds, with the school's read record of their envelope at such
        a tier: only those that have one (``read``), or only those that have
        none. (A record or entry at another tier, another named person's, is
        not this reader's.)"""
        record = and_(
            ReadRecord.sealed_id == Alert.sealed_id,
            ReadRecord.school_id == AlertRecipient.school_id,
            ReadRecord.tier.in_(self.keychain.tiers),
        )
        query = (
            select(*columns)
            .select_from(AlertRecipient)
            .join(Alert, Alert.id == AlertRecipient.alert_id)
            .outerjoin(
                SearchEntry,
                and_(
                    SearchEntry.alert_id == AlertRecipient.alert_id,
                    SearchEntry.school_id == AlertRecipient.school_id,
                    SearchEntry.tier.in_(self.keychain.tiers),
                ),
            )
            .where(AlertRecipient.school_id == self.school_id, SearchEntry.alert_id.is_(None))
        )
        if read:
            return query.join(ReadRecord, record)
        return query.outerjoin(ReadRecord, record).where(ReadRecord.sealed_id.is_(None))

    def catch_up(self, limit: int = CATCH_UP) -> int:
        """Index the titles of copies the school listed before it had an index
        (they have a read record and no entry), up to ``limit`` per call. A
        record that does not open is left out: the inbox shows it as failing."""
        rows = self.session.execute(
            self._unindexed(
                Alert.id,
                Alert.envelope_hash,
                ReadRecord.generation,
                ReadRecord.tier,
                ReadRecord.record,
                read=True,
            ).limit(limit)
        ).all()
        keys: dict[tuple[int, str], bytes] = {}
        titles: list[Copy] = []
        for alert_id, envelope_hash, generation, tier, record in rows:
            try:
                if (generation, tier) not in keys:
                    bundle = self.keychain.for_recipient(generation, tier)
                    keys[(generation, tier)] = read_key(bundle, tier)
                opened = open_read_record(keys[(generation, tier)], envelope_hash, record)
                titles.append((alert_id, generation, tier, [AlertContent.title_of(opened[1])]))
            except (CryptoError, ValueError, KeyError, KeysLocked):
                continue
        self.index(titles, SearchScope.TITLE)
        return len(titles)

    def never_listed(
        self, visible: ColumnElement[bool], sent: bool, limit: int = CATCH_UP
    ) -> list[uuid.UUID]:
        """Copies (newest first, up to ``limit``) that nobody at the school has
        listed or opened yet, so neither their title nor a read record is in
        the school's hands: a search lists them first (verifying each envelope
        in full, as a first listing does), so that it can find them too.
        ``visible``: the inbox's condition for the reader's copies."""
        return list(
            self.session.scalars(
                self._unindexed(AlertRecipient.alert_id, read=False)
                .where(
                    AlertRecipient.is_sender.is_(sent),
                    AlertRecipient.tier.in_(self.keychain.tiers),
                    Alert.sealed_id.is_not(None),
                    Alert.status.not_in((AlertStatus.SHREDDED, AlertStatus.WITHDRAWN)),
                    visible,
                )
                .order_by(AlertRecipient.created_at.desc(), AlertRecipient.alert_id.desc())
                .limit(limit)
            )
        )

    def matching(self, query_words: Sequence[str]) -> ColumnElement[bool]:
        """A condition on the inbox's copies: the alert holds, in this school's
        index, a token of every word (under any generation, of a tier the reader
        holds, that the school indexed with; one query for those, then one
        indexed lookup per word)."""
        generations = list(
            self.session.execute(
                select(SearchEntry.generation, SearchEntry.tier)
                .where(
                    SearchEntry.school_id == self.school_id,
                    SearchEntry.tier.in_(self.keychain.tiers),
                )
                .distinct()
            ).all()
        )
        if not generations:
            return false()
        return and_(
            *(
                AlertRecipient.alert_id.in_(
                    select(SearchToken.alert_id).where(
                        SearchToken.school_id == self.school_id,
                        SearchToken.token.in_(
                            [word_token(self.key(g, tier), w) for g, tier in generations]
                        ),
                    )
                )
                for w in query_words
            )
        )


def index_opened(
    session: Session,
    keychain: Keychain,
    alert_id: uuid.UUID,
    generation: int,
    tier: str,
    texts: Sequence[str],
) -> None:
    """Index the title and description of a copy the school has just opened,
    unless it already is in full (one indexed lookup)."""
    index = SchoolIndex(session, keychain)
    if index.indexed([alert_id]).get(alert_id) != SearchScope.FULL:
        index.index([(alert_id, generation, tier, texts)], SearchScope.FULL)


def forget(session: Session, alert_ids: Sequence[uuid.UUID]) -> None:
    """Every school's index of these alerts (shredded: they match nothing)."""
    for held in (SearchToken, SearchEntry):
        session.execute(
            delete(held)
            .where(held.alert_id.in_(list(alert_ids)))
            .execution_options(synchronize_session=False)
        )
