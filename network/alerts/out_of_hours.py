"""A school's out-of-hours contact: who is told of an urgent alert whose
acknowledgement deadline falls outside the school's school days (a weekend,
a bank holiday, a holiday between terms, an INSET day), since nobody may be
reading the inbox then. The head names the contact on the school page; the
notification (metadata only, like every other) is written by
network/notifications/out_of_hours.py.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.text import unstorable
from schools import audit, policy
from schools.db import Base, UTCDateTime, utcnow
from schools.errors import InvalidInput, Problems
from schools.models import Member, School

MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 40
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ()-]{6,}")


class OutOfHoursContact(Base):
    """The one contact a school names; no row: none named."""

    __tablename__ = "out_of_hours_contacts"

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    email: Mapped[str] = mapped_column(String(MAX_EMAIL))
    phone: Mapped[str] = mapped_column(String(MAX_PHONE), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class ContactDetails:
    name: str
    email: str
    phone: str = ""


def contact_of(session: Session, school_id: uuid.UUID) -> OutOfHoursContact | None:
    return session.get(OutOfHoursContact, school_id)


def _text(value: str, field: str, label: str, limit: int) -> str:
    text = " ".join(value.split())
    refused = unstorable(text)
    if refused is not None:
        raise InvalidInput(f"The {label} must not contain {refused}.", field=field)
    if len(text) > limit:
        raise InvalidInput(f"The {label} must be at most {limit} characters.", field=field)
    return text


def check_details(details: ContactDetails) -> ContactDetails:
    """The details, cleaned; a problem names its field. The email is needed:
    it is where the notification goes."""
    problems = Problems()  # every field's problem at once
    name = problems.check("", lambda: _text(details.name, "name", "name", MAX_NAME))
    email = problems.check("", lambda: _text(details.email, "email", "email address", MAX_EMAIL))
    phone = problems.check("", lambda: _text(details.phone, "phone", "phone number", MAX_PHONE))
    refused = problems.fields()
    if not name and "name" not in refused:
        problems.add(InvalidInput("Enter the contact's name.", field="name"))
    if not _EMAIL.fullmatch(email) and "email" not in refused:
        problems.add(
            InvalidInput(
                "Enter an email address like dsl.oncall@school.example.org: the "
                "notification goes there.",
                field="email",
            )
        )
    if phone and not _PHONE.fullmatch(phone):
        problems.add(
            InvalidInput("Enter a phone number of digits, like 01632 960 123.", field="phone")
        )
    problems.raise_any()
    return ContactDetails(name, email, phone)


def set_contact(
    session: Session, actor: Member | None, school: School, details: ContactDetails | None
) -> OutOfHoursContact | None:
    """Name the school's out-of-hours contact (None: name none). The head's, audited."""
    policy.check_manages_members(actor, school)
    policy.check_school_may_act(actor, "change its out-of-hours contact", school=school)
    row = contact_of(session, school.id)
    if details is None:
        if row is None:
            return None
        session.delete(row)
        session.flush()
        audit.record(
            session,
            "school.out_of_hours_contact_set",
            actor=actor,
            school_id=school.id,
            cluster_id=school.cluster_id,
            object_type="school",
            object_id=school.id,
            named=False,
        )
        return None
    details = check_details(details)
    if row is None:
        row = OutOfHoursContact(school_id=school.id)
        session.add(row)
    row.name, row.email, row.phone = details.name, details.email, details.phone
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        "school.out_of_hours_contact_set",
        actor=actor,
        school_id=school.id,
        cluster_id=school.cluster_id,
        object_type="school",
        object_id=school.id,
        named=True,
    )
    return row
