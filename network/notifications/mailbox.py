"""The demo's mailbox: which of the caught emails a member may read.

In demo mode without SMTP the worker writes every email into one folder
(mail.write_to_folder), whoever it is for and whichever cluster it comes from.
A member reads only what was sent to them or to their school's shared
addresses (the targets of its school email subscriptions); a coordinator or
hub administrator only what was sent to them.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.notifications import mail
from network.notifications.models import Channel, Subscription
from schools.errors import NotFound
from schools.models import Member


def addresses_of(session: Session, member: Member) -> frozenset[str]:
    """The addresses whose mail ``member`` may read, in lower case."""
    addresses = {member.email.lower()}
    if member.school_id is not None and member.role_enum.is_school_role:
        shared = session.scalars(
            select(Subscription.target).where(
                Subscription.school_id == member.school_id,
                Subscription.owner_id.is_(None),
                Subscription.channel == Channel.EMAIL,
            )
        )
        addresses |= {target.lower() for target in shared if target}
    return frozenset(addresses)


def caught_for(session: Session, member: Member, folder: Path) -> list[mail.CaughtMail]:
    """The caught mail ``member`` may read, newest first."""
    return mail.caught(folder, addresses_of(session, member))


def message_for(session: Session, member: Member, folder: Path, name: str) -> mail.CaughtMail:
    """One caught email, if ``member`` may read it; NotFound otherwise (as if
    there were no such email)."""
    try:
        message = mail.read_caught(folder, name)
    except FileNotFoundError:
        raise NotFound("There is no such email.") from None
    if not message.addressed_to(addresses_of(session, member)):
        raise NotFound("There is no such email.")
    return message
