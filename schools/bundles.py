"""What the three kinds of key bundle share: a school's (schools/keyring.py),
its leadership's (schools/leadership.py) and a member's personal bundle
(schools/personal.py).

Each has generations: the public keys of each are published (a row per
generation, its fingerprint in the audit trail), the previous bundle is
chained under the next (sealed with it, ``custody.chain_previous``) and
retired when the next is published. Each generation is HPKE-wrapped to
credentials (a member's, an API token's, an invitation's), each wrap bound to
its owner, generation, credential kind and credential id
(``custody.keywrap_context``), so a wrap moved to another row does not open.
What differs between the three is who they are wrapped to and when they move
on, which stays in their own modules; this module keeps the one way to wrap,
publish, unwrap and walk the chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.orm import Session

from crypto import custody
from crypto.errors import CryptoError
from crypto.keys import CredentialKey, SchoolKeys, SchoolPublicKeys
from schools import opened_wraps
from schools import published as published_keys
from schools.db import table_of

TOKEN = "token"  # noqa: S105  (the credential kind of an API token, not a secret)


@dataclass(frozen=True)
class Found:
    """A credential's wrap of one generation, read with the public keys
    published for that generation (None: none published)."""

    generation: int
    wrap: bytes
    published: bytes | None


# Told, with the generation, when a credential opened a bundle whose public keys are not the ones
# published for its generation: someone wrapped keys the owner never published
# (or altered the published ones). The bundle is refused; the caller audits.
Mismatch = Callable[[int], object]


@dataclass(frozen=True)
class Bundles:
    """One kind of bundle: its generations' and wraps' tables (both keyed by
    the owner's column ``owner``, then the generation) and the context bound
    into its wraps."""

    kind: str  # "school", "leadership" or "personal"
    generations: Any  # the ORM model of published generations
    wraps: Any  # the ORM model of wraps to credentials
    owner: str  # the owner's column in both: "school_id" or "member_id"
    context: Callable[[uuid.UUID, int, str, uuid.UUID], bytes]

    def _of(self, model: Any, owner_id: uuid.UUID) -> Any:
        return getattr(model, self.owner) == owner_id

    def wrap(
        self,
        session: Session,
        owner_id: uuid.UUID,
        keys: SchoolKeys,
        kind: str,
        credential_id: uuid.UUID,
        credential_public: bytes,
    ) -> Any:
        """Wrap ``keys`` to one credential (added to the session)."""
        row = self.wraps(
            **{self.owner: owner_id},
            generation=keys.generation,
            credential_kind=kind,
            credential_id=credential_id,
            wrap=custody.wrap_to_credential(
                keys.to_bytes(),
                credential_public,
                self.context(owner_id, keys.generation, kind, credential_id),
            ),
        )
        session.add(row)
        return row

    def publish(
        self,
        session: Session,
        owner_id: uuid.UUID,
        keys: SchoolKeys,
        previous: SchoolKeys | None,
        now: datetime,
    ) -> tuple[Any, SchoolPublicKeys]:
        """Publish ``keys``' public keys, chaining ``previous`` under them and
        retiring it at ``now``: the new generation's row (added to the
        session) and its public keys. Auditing is the caller's."""
        if previous is not None:
            session.execute(
                update(self.generations)
                .where(
                    self._of(self.generations, owner_id),
                    self.generations.generation == previous.generation,
                )
                .values(retired_at=now)
            )
        public = keys.public()
        row = self.generations(
            **{self.owner: owner_id},
            generation=keys.generation,
            public_keys=public.to_bytes(),
            fingerprint=public.fingerprint(),
            previous_bundle=custody.chain_previous(keys, previous) if previous else None,
            created_at=now,
        )
        session.add(row)
        return row, public

    def unwrap(
        self,
        session: Session,
        owner_id: uuid.UUID,
        generation: int,
        kind: str,
        credential_id: uuid.UUID,
        credential: CredentialKey,
        mismatch: Mismatch,
    ) -> SchoolKeys | None:
        """The bundle of ``generation`` through one credential's wrap (the wrap
        and the published keys in one query); None when the credential holds
        no wrap of it, the wrap does not open, or it opens keys other than
        those published for the generation (then ``mismatch(generation)`` is called)."""
        found = session.execute(
            self._wrap_and_published,
            {
                "owner_id": owner_id,
                "generation": generation,
                "kind": kind,
                "credential_id": credential_id,
            },
        ).one_or_none()
        return self.open_found(
            owner_id, kind, credential_id, credential, Found(*found) if found else None, mismatch
        )

    @cached_property
    def _wrap_and_published(self) -> Select[Any]:
        """``unwrap``'s one query, asked at every sign-in: built once per kind,
        bound at each run."""
        return self.wrap_and_published(
            bindparam("owner_id"),
            bindparam("generation"),
            bindparam("kind"),
            bindparam("credential_id"),
        )

    def wrap_and_published(
        self, owner_id: Any, generation: Any, kind: Any, credential_id: Any
    ) -> Select[Any]:
        """One credential's wrap of one generation (values or bound
        parameters) with the public keys published for that generation:
        (generation, wrap, public keys or None)."""
        # On the tables' columns: read at every sign-in and token request as
        # plain rows, with no ORM work at each run.
        wraps, generations = (
            table_of(self.wraps),
            table_of(self.generations),
        )
        return (
            select(wraps.c.generation, wraps.c.wrap, generations.c.public_keys)
            .select_from(
                wraps.outerjoin(
                    generations,
                    and_(
                        generations.c[self.owner] == wraps.c[self.owner],
                        generations.c.generation == wraps.c.generation,
                    ),
                )
            )
            .where(
                wraps.c[self.owner] == owner_id,
                wraps.c.generation == generation,
                wraps.c.credential_kind == kind,
                wraps.c.credential_id == credential_id,
            )
        )

    def open_found(
        self,
        owner_id: uuid.UUID,
        kind: str,
        credential_id: uuid.UUID,
        credential: CredentialKey,
        found: Found | None,
        mismatch: Mismatch,
    ) -> SchoolKeys | None:
        """``unwrap`` of a wrap already read with the public keys published for
        its generation (``found``; None: the credential holds none). An API
        token's wrap is opened through the process's memory of what it opened
        (schools/opened_wraps.py)."""
        if found is None:
            return None
        generation = found.generation
        context = self.context(owner_id, generation, kind, credential_id)
        try:
            keys = SchoolKeys.from_bytes(
                opened_wraps.unwrap(credential_id, found.wrap, credential, context)
                if kind == TOKEN
                else custody.unwrap_with_credential(found.wrap, credential, context)
            )
        except CryptoError:
            return None
        if not published_keys.matches(self.kind, found.published, generation, keys):
            mismatch(generation)
            return None
        return keys

    def chain(
        self, session: Session, owner_id: uuid.UUID, current: SchoolKeys, target: int
    ) -> dict[int, SchoolKeys]:
        """Every bundle on the history chain from ``current`` back towards
        ``target``, by generation: one query for the chained bundles of
        generations in (target, current], each opened in turn with the bundle
        above it (a tampered or moved link raises). The walk stops where the
        chain does (a generation that chains nothing, as after a recovery, or
        has no row): the caller says what it means when ``target`` is not in
        the result."""
        chained: dict[int, bytes | None] = {}
        if current.generation > target:
            chained = dict(
                session.execute(
                    select(self.generations.generation, self.generations.previous_bundle).where(
                        self._of(self.generations, owner_id),
                        self.generations.generation > target,
                        self.generations.generation <= current.generation,
                    )
                ).all()
            )
        keys, opened = current, {current.generation: current}
        while keys.generation > target:
            blob = chained.get(keys.generation)
            if blob is None:
                break
            keys = custody.open_previous(keys, blob)
            opened[keys.generation] = keys
        return opened
