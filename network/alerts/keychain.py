"""A school's keys across generations, unlocked once per request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from crypto.header import TIER_ALL, TIER_LEADERSHIP, TIER_PERSON_PREFIX, person_tier
from crypto.keys import SchoolKeys, SchoolPublicKeys
from schools import keyring, leadership, personal
from schools.errors import KeysLocked
from schools.models import LeadershipKeyGeneration, SchoolKeyGeneration
from schools.personal_models import PersonalKeyGeneration

LOCKED = (
    "This request cannot open your school's keys, so it cannot seal, sign or read "
    "alerts. Sign out and in again (with an API token: make a new one); if you "
    "joined recently, a colleague must first confirm you."
)


def unlocked(keys: SchoolKeys | None) -> SchoolKeys:
    """The school's keys, for pages, API and CLI alike; KeysLocked when the
    session (or token) could not open them."""
    if keys is None:
        raise KeysLocked(LOCKED)
    return keys


class Keychain:
    """The current bundle of one school, and older generations on demand
    through the history chain (design.md: rotation keeps history readable);
    likewise the school's leadership bundle, when the request holds it (a
    leadership member's session: schools/leadership.py)."""

    def __init__(self, session: Session, school_id: uuid.UUID, current: SchoolKeys | None) -> None:
        self.session = session
        self.school_id = school_id
        self._by_generation: dict[int, SchoolKeys] = {}
        if current is not None:
            self._by_generation[current.generation] = current
        self.current = current
        self.leadership = leadership.leadership_of(current)
        self._leadership: dict[int, SchoolKeys] = {}
        if self.leadership is not None:
            self._leadership[self.leadership.generation] = self.leadership
        # The member's own bundle (schools/personal.py): wraps sealed to them by name.
        held = personal.personal_of(current)
        self.person_tier = person_tier(held[0]) if held is not None else None
        self.person = held[0] if held is not None else None
        self.personal = held[1] if held is not None else None
        self._personal = {held[1].generation: held[1]} if held is not None else {}

    @property
    def tiers(self) -> tuple[str, ...]:
        """The audience tiers whose wraps this keychain opens."""
        tiers = (TIER_ALL, TIER_LEADERSHIP) if self.leadership is not None else (TIER_ALL,)
        return (*tiers, self.person_tier) if self.person_tier is not None else tiers

    def for_recipient(self, generation: int, tier: str) -> SchoolKeys:
        """The bundle that opens a wrap of ``tier`` and ``generation``;
        KeysLocked for a tier this request holds no keys of."""
        if tier == TIER_ALL:
            return self.for_generation(generation)
        if tier.startswith(TIER_PERSON_PREFIX):
            if tier != self.person_tier or self.personal is None or self.person is None:
                raise KeysLocked("This was sealed to someone else by name.")
            if generation not in self._personal:
                self._personal[generation] = personal.keys_back_to(
                    self.session, self.person, self.personal, generation
                )
            return self._personal[generation]
        if tier != TIER_LEADERSHIP or self.leadership is None:
            raise KeysLocked("This is for your school's leadership only.")
        return self._walk(self._leadership, self.leadership, generation, leadership.keys_back_to)

    def require_current(self) -> SchoolKeys:
        return unlocked(self.current)

    def for_generation(self, generation: int) -> SchoolKeys:
        """The bundle of one generation. Every bundle opened on the way back is
        kept, and a walk starts from the oldest known generation above the one
        asked for, so reading k generations costs k openings, not k**2."""
        return self._walk(
            self._by_generation, self.require_current(), generation, keyring.keys_back_to
        )

    def _walk(
        self,
        known: dict[int, SchoolKeys],
        newest: SchoolKeys,
        generation: int,
        back_to: Callable[[Session, uuid.UUID, SchoolKeys, int], dict[int, SchoolKeys]],
    ) -> SchoolKeys:
        """One chain of bundles (the school's or its leadership's), walked back
        from the oldest known generation above the one asked for."""
        if generation not in known:
            above = [g for g in known if g > generation]
            start = known[min(above)] if above else newest
            known.update(back_to(self.session, self.school_id, start, generation))
        return known[generation]


def _public_keys_of(
    session: Session,
    table: type[SchoolKeyGeneration] | type[LeadershipKeyGeneration],
    pairs: set[tuple[uuid.UUID, int]],
) -> dict[tuple[uuid.UUID, int], SchoolPublicKeys]:
    if not pairs:
        return {}
    rows = session.execute(
        select(table.school_id, table.generation, table.public_keys).where(
            tuple_(table.school_id, table.generation).in_(list(pairs))
        )
    ).all()
    return {(school, gen): parse_public_keys(blob) for school, gen, blob in rows}


def public_keys_of(
    session: Session, pairs: set[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], SchoolPublicKeys]:
    """Public keys for several (school, generation) pairs in one query."""
    return _public_keys_of(session, SchoolKeyGeneration, pairs)


def personal_public_keys_of(
    session: Session, pairs: set[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], SchoolPublicKeys]:
    """Members' personal public keys for several (member, generation) pairs, one query."""
    if not pairs:
        return {}
    table = PersonalKeyGeneration
    rows = session.execute(
        select(table.member_id, table.generation, table.public_keys).where(
            tuple_(table.member_id, table.generation).in_(list(pairs))
        )
    ).all()
    return {(member, gen): parse_public_keys(blob) for member, gen, blob in rows}


def leadership_public_keys_of(
    session: Session, pairs: set[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], SchoolPublicKeys]:
    """Leadership public keys for several (school, generation) pairs, one query."""
    return _public_keys_of(session, LeadershipKeyGeneration, pairs)


@dataclass(frozen=True)
class Signer:
    """A school's public keys of one generation, and when that generation was
    retired (None while current): it signs nothing dated after that."""

    public: SchoolPublicKeys
    retired_at: datetime | None


def signers_of(
    session: Session, pairs: set[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], Signer]:
    """Public keys and retirement of several (school, generation) pairs, one query."""
    if not pairs:
        return {}
    rows = session.execute(
        select(
            SchoolKeyGeneration.school_id,
            SchoolKeyGeneration.generation,
            SchoolKeyGeneration.public_keys,
            SchoolKeyGeneration.retired_at,
        ).where(
            tuple_(SchoolKeyGeneration.school_id, SchoolKeyGeneration.generation).in_(list(pairs))
        )
    ).all()
    return {
        (school, gen): Signer(parse_public_keys(blob), retired_at)
        for school, gen, blob, retired_at in rows
    }


@lru_cache(maxsize=4096)
def parse_public_keys(blob: bytes) -> SchoolPublicKeys:
    """Parsing checks and loads three public keys (~35 us); the bytes of a
    generation never change, so the parsed value is kept, keyed by the bytes."""
    return SchoolPublicKeys.from_bytes(blob)
