"""The social platforms alerts are filed under, and their minimum ages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.alerts.models import Platform
from schools import audit
from schools.errors import InvalidInput, NotFound
from schools.models import Member


def platforms(session: Session) -> list[Platform]:
    return list(session.scalars(select(Platform).order_by(Platform.position, Platform.name)))


def set_minimum_age(session: Session, actor: Member, code: str, age: int) -> Platform:
    """Platforms change their terms; the hub admin keeps the minimum ages current."""
    platform = session.get(Platform, code)
    if platform is None:
        raise NotFound("No such platform.")
    if not 0 <= age <= 21:
        raise InvalidInput(
            "Enter an age from 0 to 21 (0 if the platform sets none).", field="minimum_age"
        )
    before = platform.minimum_age
    platform.minimum_age = age
    audit.record(
        session,
        "platform.minimum_age_changed",
        actor=actor,
        object_type="platform",
        object_id=code,
        before=before,
        after=age,
    )
    session.flush()
    return platform
