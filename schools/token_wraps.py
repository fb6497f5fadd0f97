"""An API token's wraps of its school's current bundle, its leadership's and its
member's personal bundle, read in one statement for each request.

The token opens the same wraps as before (schools/tokens.py ``unlock``), each
with the same checks (``keyring.open_found``, ``leadership.open_found``,
``personal.open_found``); only the reading is one round trip instead of up to
five: each part finds the wrap of the generation that is current now, and the
public keys published for it.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    String,
    Uuid,
    and_,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from schools.models import (
    CredentialKind,
    KeyWrap,
    LeadershipKeyGeneration,
    LeadershipWrap,
    SchoolKeyGeneration,
)
from schools.personal_models import PersonalKeyGeneration, PersonalWrap

SCHOOL = "school"
LEADERSHIP = "leadership"
PERSONAL = "personal"
_TOKEN = "token"  # noqa: S105  (a credential kind, not a secret)


@dataclass(frozen=True)
class Found:
    generation: int
    wrap: bytes
    published: bytes | None


def _part(part: str, wrap_table: Any, published_table: Any, owner: str, where: list[Any]) -> Any:
    wrap_owner = getattr(wrap_table, owner)
    return (
        select(
            literal(part, String()).label("part"),
            wrap_table.generation,
            wrap_table.wrap,
            published_table.public_keys,
        )
        .select_from(wrap_table)
        .outerjoin(
            published_table,
            and_(
                getattr(published_table, owner) == wrap_owner,
                published_table.generation == wrap_table.generation,
            ),
        )
        .where(wrap_table.credential_id == bindparam("token_id", type_=Uuid()), *where)
    )


@functools.cache
def _statement(with_leadership: bool) -> CompoundSelect[Any]:
    """Built once per process (twice: with and without the leadership part);
    the token, school, member and generations are bound parameters."""
    school_id = bindparam("school_id", type_=Uuid())
    parts = [
        _part(
            SCHOOL,
            KeyWrap,
            SchoolKeyGeneration,
            "school_id",
            [
                KeyWrap.school_id == school_id,
                KeyWrap.generation == bindparam("generation", type_=Integer()),
                KeyWrap.credential_kind == CredentialKind.TOKEN,
            ],
        )
    ]
    if with_leadership:
        parts.append(
            _part(
                LEADERSHIP,
                LeadershipWrap,
                LeadershipKeyGeneration,
                "school_id",
                [
                    LeadershipWrap.school_id == school_id,
                    LeadershipWrap.generation
                    == bindparam("leadership_generation", type_=Integer()),
                    LeadershipWrap.credential_kind == _TOKEN,
                ],
            )
        )
    member_id = bindparam("member_id", type_=Uuid())
    newest = (
        select(func.max(PersonalKeyGeneration.generation))
        .where(
            PersonalKeyGeneration.member_id == member_id,
            PersonalKeyGeneration.retired_at.is_(None),
        )
        .scalar_subquery()
    )
    parts.append(
        _part(
            PERSONAL,
            PersonalWrap,
            PersonalKeyGeneration,
            "member_id",
            [
                PersonalWrap.member_id == member_id,
                PersonalWrap.generation == newest,
                PersonalWrap.credential_kind == _TOKEN,
            ],
        )
    )
    return union_all(*parts)


def wraps_of(
    session: Session,
    token_id: uuid.UUID,
    school_id: uuid.UUID,
    generation: int,
    member_id: uuid.UUID,
    leadership_generation: int | None,
) -> dict[str, Found]:
    """The token's wrap of the school's ``generation``, of the leadership's
    ``leadership_generation`` (None: the member holds none now) and of the
    member's current personal generation, each that exists, by part."""
    params: dict[str, Any] = {
        "token_id": token_id,
        "school_id": school_id,
        "generation": generation,
        "member_id": member_id,
    }
    if leadership_generation is not None:
        params["leadership_generation"] = leadership_generation
    rows = session.execute(_statement(leadership_generation is not None), params)
    return {part: Found(gen, wrap, published) for part, gen, wrap, published in rows}
