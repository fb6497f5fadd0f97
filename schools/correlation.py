"""The cluster correlation key in the database (crypto/indicators.py).

Each cluster has, per generation, a random 32-byte key that every member
school holds and the hub never does: the key is stored only HPKE-wrapped to
each school's public key. The first school to post an alert naming an
indicator makes it; every later poster wraps it to member schools that lack a
wrap (schools that joined since). When a school leaves the cluster (is
suspended) the generation is retired and the next poster makes a new one, so
the school that left cannot match alerts sent after it left. Retired
generations keep their wraps: readers hash under every generation they hold,
so alerts sealed under an older key still match.

Only schools hold the key, not a cluster's coordinators' office: the
coordinators see every alert's metadata, and the key would let them test
guesses against the hashes of alerts they may not read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from crypto import indicators
from crypto.errors import CryptoError
from crypto.keys import SchoolKeys, SchoolPublicKeys
from crypto.session_correlation import SealedKeys, Stamp
from schools import audit, keyring
from schools.db import utcnow
from schools.errors import DomainError
from schools.models import (
    Cluster,
    CorrelationGeneration,
    CorrelationKeyWrap,
    Member,
    School,
    SchoolKeyGeneration,
    SchoolKind,
    SchoolStatus,
)


def holds_correlation_key(school: School) -> bool:
    """Member schools hold the key; a cluster's office does not."""
    return school.kind == SchoolKind.SCHOOL


def _lacking(
    session: Session, cluster_id: uuid.UUID, generation: int
) -> dict[uuid.UUID, SchoolPublicKeys]:
    """The current public keys of each active member school without a wrap of
    the generation, one query (usually none: only schools admitted or given
    keys since the last poster's visit)."""
    rows = session.execute(
        select(School.id, SchoolKeyGeneration.public_keys)
        .join(
            SchoolKeyGeneration,
            (SchoolKeyGeneration.school_id == School.id)
            & (SchoolKeyGeneration.generation == School.key_generation),
        )
        .outerjoin(
            CorrelationKeyWrap,
            (CorrelationKeyWrap.cluster_id == cluster_id)
            & (CorrelationKeyWrap.generation == generation)
            & (CorrelationKeyWrap.school_id == School.id),
        )
        .where(
            School.cluster_id == cluster_id,
            School.status == SchoolStatus.ACTIVE,
            School.kind == SchoolKind.SCHOOL,
            CorrelationKeyWrap.school_id.is_(None),
        )
    ).all()
    return {school_id: SchoolPublicKeys.from_bytes(blob) for school_id, blob in rows}


def _latest(session: Session, cluster_id: uuid.UUID) -> CorrelationGeneration | None:
    return session.scalars(
        select(CorrelationGeneration)
        .where(CorrelationGeneration.cluster_id == cluster_id)
        .order_by(CorrelationGeneration.generation.desc())
        .limit(1)
    ).first()


def _open(session: Session, wrap: CorrelationKeyWrap, keys: SchoolKeys) -> bytes:
    bundle = (
        keys
        if wrap.school_generation == keys.generation
        else keyring.keys_of_generation(session, keys, wrap.school_id, wrap.school_generation)
    )
    return indicators.unwrap_correlation_key(
        wrap.wrap, wrap.cluster_id, wrap.generation, wrap.school_id, bundle
    )


def _held_current(session: Session, school: School, keys: SchoolKeys) -> tuple[int, bytes] | None:
    latest = _latest(session, school.cluster_id)
    if latest is None or latest.retired_at is not None:
        return None
    wrap = session.get(CorrelationKeyWrap, (school.cluster_id, latest.generation, school.id))
    if wrap is None:
        return None
    return latest.generation, _open(session, wrap, keys)


def key_for_posting(
    session: Session, school: School, keys: SchoolKeys, actor: Member | None
) -> tuple[int, bytes] | None:
    """The cluster's current correlation key and its generation, for a school
    posting an alert with indicators; None for a coordinators' office.

    Made here when the cluster has none (or its generation was retired, or
    this school was not given it); wrapped here to every member school still
    without a wrap of it."""
    if not holds_correlation_key(school):
        return None
    held = _held_current(session, school, keys)
    if held is None:
        # One maker at a time: the cluster's row is locked until the commit
        # (PostgreSQL; SQLite has one writer), and the check is made again.
        session.execute(select(Cluster.id).where(Cluster.id == school.cluster_id).with_for_update())
        held = _held_current(session, school, keys) or _new_generation(session, school, actor)
    generation, key = held
    _wrap_to_lacking(session, school.cluster_id, generation, key)
    return generation, key


def _new_generation(session: Session, school: School, actor: Member | None) -> tuple[int, bytes]:
    latest = (
        session.scalar(
            select(func.max(CorrelationGeneration.generation)).where(
                CorrelationGeneration.cluster_id == school.cluster_id
            )
        )
        or 0
    )
    now = utcnow()
    session.execute(
        update(CorrelationGeneration)
        .where(
            CorrelationGeneration.cluster_id == school.cluster_id,
            CorrelationGeneration.retired_at.is_(None),
        )
        .values(retired_at=now)
        .execution_options(synchronize_session=False)
    )
    generation = latest + 1
    session.add(
        CorrelationGeneration(cluster_id=school.cluster_id, generation=generation, created_at=now)
    )
    session.flush()
    audit.record(
        session,
        "cluster.correlation_key_created",
        actor=actor,
        school_id=school.id,
        cluster_id=school.cluster_id,
        object_type="cluster",
        object_id=school.cluster_id,
        generation=generation,
    )
    return generation, indicators.new_correlation_key()


def _wrap_to_lacking(session: Session, cluster_id: uuid.UUID, generation: int, key: bytes) -> None:
    """Hand the key to the cluster's schools that lack it: custody changes,
    so it is audited (which schools, which generation)."""
    lacking = _lacking(session, cluster_id, generation)
    if not lacking:
        return
    for school_id, public in lacking.items():
        session.add(
            CorrelationKeyWrap(
                cluster_id=cluster_id,
                generation=generation,
                school_id=school_id,
                school_generation=public.generation,
                wrap=indicators.wrap_correlation_key(
                    key, cluster_id, generation, school_id, public
                ),
            )
        )
    session.flush()
    audit.record(
        session,
        "cluster.correlation_key_wrapped",
        cluster_id=cluster_id,
        object_type="cluster",
        object_id=cluster_id,
        generation=generation,
        schools=sorted(str(school_id) for school_id in lacking),
    )


_wraps = CorrelationKeyWrap.__table__.c
_WRAPS_HELD = select(_wraps.generation, _wraps.school_generation, _wraps.wrap).where(
    _wraps.cluster_id == bindparam("cluster"), _wraps.school_id == bindparam("school")
)
#: The stamp of a school's wraps (how many, the newest generation): a session
#: that sealed the keys it opened compares it with its own to see whether the
#: school was given another generation since (schools/session_correlation.py).
#: A school is only ever given the cluster's current generation, so a new one
#: is newer than any it holds; the count catches whatever else changes.
WRAPS_STAMP = select(
    func.count().label("wraps"), func.coalesce(func.max(_wraps.generation), 0).label("newest")
).where(_wraps.cluster_id == bindparam("cluster"), _wraps.school_id == bindparam("school"))


def open_held(
    session: Session,
    school_id: uuid.UUID,
    cluster_id: uuid.UUID,
    bundle_of: Callable[[int], SchoolKeys],
    known: Mapping[int, bytes] | None = None,
) -> SealedKeys:
    """Every generation of the cluster's correlation key the school holds, by
    generation, with the stamp of the wraps it read. ``bundle_of`` gives the
    school's bundle of a key generation (a reader's keychain). A wrap that does
    not open is left out: the school then matches fewer alerts, never wrong
    ones. Generations in ``known`` (keys a session already holds) are taken
    from there, not unwrapped again; one the school no longer has a wrap of is
    dropped."""
    held: dict[int, bytes] = {}
    known = known or {}
    newest = count = 0
    # Three columns by a prebuilt statement, not ORM objects: this runs on
    # every view of an alert with indicators (bench/indicators.py).
    wraps = session.execute(_WRAPS_HELD, {"cluster": cluster_id, "school": school_id})
    for generation, school_generation, wrap in wraps:
        count, newest = count + 1, max(newest, generation)
        if generation in known:
            held[generation] = known[generation]
            continue
        try:
            bundle = bundle_of(school_generation)
            held[generation] = indicators.unwrap_correlation_key(
                wrap, cluster_id, generation, school_id, bundle
            )
        except (CryptoError, DomainError):  # a wrap or a history link that does not open
            continue
    return SealedKeys(held, Stamp(count, newest))


def retire_current(
    session: Session, school: School, actor: Member | None, reason: str
) -> int | None:
    """A school left the cluster: retire the current generation, so that the
    next poster makes a new key the school never receives. Returns the retired
    generation (None when there was none)."""
    current = _latest(session, school.cluster_id)
    if current is None or current.retired_at is not None:
        return None
    current.retired_at = utcnow()
    audit.record(
        session,
        "cluster.correlation_key_retired",
        actor=actor,
        school_id=school.id,
        cluster_id=school.cluster_id,
        object_type="cluster",
        object_id=school.cluster_id,
        generation=current.generation,
        reason=reason,
    )
    session.flush()
    return current.generation
