"""One credential's wraps of its school's current bundle, its leadership's and
its member's personal bundle, read in one statement: an API token's at each
request, a member's own at the password step of each sign-in.

The credential opens the same wraps as before (schools/tokens.py ``unlock``,
schools/accounts.py ``start_session``), each with the same checks
(``keyring.open_found``, ``leadership.open_found``, ``personal.open_found``);
only the reading is one round trip instead of up to five: each part finds the
wrap of the generation that is current now, and the public keys published for
it.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    String,
    Uuid,
    bindparam,
    literal,
    union_all,
)
from sqlalchemy.orm import Session

from schools import keyring, leadership, personal
from schools.bundles import Found
from schools.models import CredentialKind

SCHOOL = "school"
LEADERSHIP = "leadership"
PERSONAL = "personal"

__all__ = ["LEADERSHIP", "PERSONAL", "SCHOOL", "Found", "credential_wraps"]


@functools.cache
def _statement(with_leadership: bool) -> CompoundSelect[Any]:
    """Built once per process (twice: with and without the leadership part);
    the credential's kind and id, the school, member and generations are bound
    parameters. Each part is its bundle keeper's own wrap-and-published query
    (schools/bundles.py). The three kinds of wrap store a credential's kind
    alike ("member", "token"), so one ``kind`` serves every part."""
    kind = bindparam("kind", type_=String())
    credential_id = bindparam("credential_id", type_=Uuid())
    school_id = bindparam("school_id", type_=Uuid())
    member_id = bindparam("member_id", type_=Uuid())
    parts = [
        keyring.SCHOOL_BUNDLES.wrap_and_published(
            school_id, bindparam("generation", type_=Integer()), kind, credential_id
        ).add_columns(literal(SCHOOL, String()))
    ]
    if with_leadership:
        parts.append(
            leadership.LEADERSHIP_BUNDLES.wrap_and_published(
                school_id, bindparam("leadership_generation", type_=Integer()), kind, credential_id
            ).add_columns(literal(LEADERSHIP, String()))
        )
    parts.append(
        personal.PERSONAL_BUNDLES.wrap_and_published(
            member_id, personal.current_generation(member_id), kind, credential_id
        ).add_columns(literal(PERSONAL, String()))
    )
    return union_all(*parts)


def credential_wraps(
    session: Session,
    kind: CredentialKind,
    credential_id: uuid.UUID,
    school_id: uuid.UUID,
    generation: int,
    member_id: uuid.UUID,
    leadership_generation: int | None,
) -> dict[str, Found]:
    """The credential's wrap of the school's ``generation``, of the
    leadership's ``leadership_generation`` (None: the member holds none now)
    and of the member's current personal generation, each that exists, by
    part."""
    params: dict[str, Any] = {
        "kind": kind.value,
        "credential_id": credential_id,
        "school_id": school_id,
        "generation": generation,
        "member_id": member_id,
    }
    if leadership_generation is not None:
        params["leadership_generation"] = leadership_generation
    rows = session.execute(_statement(leadership_generation is not None), params)
    return {part: Found(gen, wrap, published) for gen, wrap, published, part in rows}
