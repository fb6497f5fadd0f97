"""Per-account sign-in throttling, beside the per-address rate limit: wrong
passwords for one account make it wait longer and longer, then lock it for an
hour; a head (their school's members) or a coordinator (their cluster's) can
lift the lock sooner. And the browsers a member has signed in from, so a
sign-in from a new one can be told to them.

A waiting or locked account is refused before any password hashing, so
guessing at it costs the hub nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schools import audit, directory, policy
from schools.db import table_of
from schools.errors import DomainError, InvalidInput, NotFound
from schools.models import KnownDevice, Member, Role, SignInGuess

# Wrong passwords allowed before the first wait; the wait then doubles from
# two seconds up to MAX_WAIT; at LOCK_AFTER the account locks for LOCK_FOR.
FREE_FAILURES = 3
MAX_WAIT = timedelta(minutes=1)
LOCK_AFTER = 10
LOCK_FOR = timedelta(hours=1)


class SignInThrottled(DomainError):
    status = 429


# How long the count of wrong passwords for an address that is no member's is kept.
GUESSES_KEPT = timedelta(days=1)


class Counted(Protocol):
    """What is counted for a member, and for an address that is no member's."""

    failed_sign_ins: int
    sign_in_wait_until: datetime | None
    locked_until: datetime | None


def _address(email: str) -> str | None:
    try:
        return directory.normalise_email(email)
    except InvalidInput:
        return None


def _member(session: Session, email: str) -> Member | None:
    address = _address(email)
    if address is None:
        return None
    return session.scalars(_BY_ADDRESS, {"address": address}).one_or_none()


# Read at every sign-in: built once, with the address bound at each run.
_BY_ADDRESS = select(Member).where(Member.email == bindparam("address"))


def _address_hash(address: str) -> bytes:
    return hashlib.sha256(b"alertnet/v1/sign-in-guess\0" + address.encode()).digest()


def _counted(session: Session, email: str) -> Counted | None:
    """The member with that address, or the count kept for an address that is none."""
    member = _member(session, email)
    if member is not None:
        return member
    address = _address(email)
    return None if address is None else session.get(SignInGuess, _address_hash(address))


def check(session: Session, email: str, now: datetime) -> Member | None:
    """Refuse at once (no password hashing) an account that must wait or is
    locked; an address that is no member's is refused in the same words after
    the same wrong passwords, so the answer never says whether it exists.
    Returns the member with the address, if any, so that signing in does not
    read it again (``accounts.authenticate(..., member=)``)."""
    member = _counted(session, email)
    if member is None:
        return None
    if member.locked_until is not None and now < member.locked_until:
        raise SignInThrottled(
            "Signing in with this address is locked for an hour after too many wrong "
            "passwords. If it is a member's address, they have been emailed, and a head of "
            "their school or the cluster's coordinator can unlock it sooner.",
            field="email",
        )
    if member.sign_in_wait_until is not None and now < member.sign_in_wait_until:
        seconds = max(1, int((member.sign_in_wait_until - now).total_seconds() + 0.999))
        raise SignInThrottled(
            f"Too many wrong passwords for this address. Wait {seconds} second(s) and try again.",
            field="email",
        )
    return member if isinstance(member, Member) else None


def wait_after(failures: int) -> timedelta:
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_FAILURES + 1)), MAX_WAIT)


@dataclass(frozen=True)
class Failure:
    member: Member
    locked: bool


def note_failure(session: Session, email: str, now: datetime) -> Failure | None:
    """Count a wrong password against the account (None: no such account, whose
    address is counted all the same). Call it in a transaction of its own: the
    request's rolls back."""
    member = _member(session, email)
    if member is not None:
        return count_failure(session, member, now)
    address = _address(email)
    if address is not None:
        _count_guess(session, _address_hash(address), now)
    return None


def _count_guess(session: Session, address_hash: bytes, now: datetime) -> None:
    session.execute(delete(SignInGuess).where(SignInGuess.last_at < now - GUESSES_KEPT))
    guess = session.get(SignInGuess, address_hash)
    if guess is None:
        try:
            with session.begin_nested():
                guess = SignInGuess(address_hash=address_hash, failed_sign_ins=0, last_at=now)
                session.add(guess)
        except IntegrityError:  # a simultaneous first guess: count on its row
            guess = session.get(SignInGuess, address_hash)
            assert guess is not None
    guess.last_at = now
    _advance(guess, now)
    session.flush()


def _advance(counted: Counted, now: datetime) -> bool:
    """One more wrong password: the next wait, or the lock (True)."""
    counted.failed_sign_ins += 1
    if counted.failed_sign_ins >= LOCK_AFTER:
        counted.locked_until = now + LOCK_FOR
        counted.sign_in_wait_until = None
        counted.failed_sign_ins = 0
        return True
    wait = wait_after(counted.failed_sign_ins)
    counted.sign_in_wait_until = now + wait if wait else None
    return False


def count_failure(session: Session, member: Member, now: datetime) -> Failure:
    """Count a wrong password or a refused second factor: a password-holder
    guessing codes is slowed and locked out like a password guesser."""
    locked = _advance(member, now)
    if locked:
        assert member.locked_until is not None
        audit.record(
            session,
            "member.sign_in_locked",
            actor=None,
            school_id=member.school_id,
            cluster_id=member.effective_cluster_id,
            object_type="member",
            object_id=member.id,
            until=member.locked_until.isoformat(),
        )
    session.flush()
    return Failure(member, locked)


def note_success(member: Member) -> None:
    # Only a count to clear is written: an untouched row costs no flush.
    if member.failed_sign_ins or member.sign_in_wait_until or member.locked_until:
        member.failed_sign_ins = 0
        member.sign_in_wait_until = None
        member.locked_until = None


def check_unlocks(actor: Member | None, member: Member) -> None:
    """Heads unlock their school's members; coordinators their cluster's; the CLI any."""
    if actor is None:
        return
    if actor.role_enum is Role.COORDINATOR and actor.cluster_id == member.effective_cluster_id:
        return
    if member.school is not None and member.school_id == actor.school_id:
        policy.check_manages_members(actor, member.school)
        return
    raise NotFound("No such member.")


def unlock(session: Session, actor: Member | None, member_id: uuid.UUID) -> Member:
    member = session.get(Member, member_id)
    if member is None or not member.is_active:
        raise NotFound("No such member.")
    check_unlocks(actor, member)
    note_success(member)
    audit.record(
        session,
        "member.sign_in_unlocked",
        actor=actor,
        school_id=member.school_id,
        cluster_id=member.effective_cluster_id,
        object_type="member",
        object_id=member.id,
    )
    session.flush()
    return member


# --- browsers -----------------------------------------------------------------------


def _device_hash(token: str) -> bytes:
    return hashlib.sha256(b"alertnet/v1/device\0" + token.encode()).digest()


def remember_browser(session: Session, member: Member, token: str, user_agent: str) -> bool:
    """Record the browser; True when it is new to a member who had signed in
    from another before (their very first browser is no news to them)."""
    digest = _device_hash(token)
    known = set(session.scalars(_DEVICES_OF, {"member_id": member.id}))
    if digest in known:
        return False
    session.add(KnownDevice(member_id=member.id, device_hash=digest, user_agent=user_agent[:200]))
    if known:
        # Audited (and emailed) only when it is news: a member's first browser
        # is simply where they signed in, which member.signed_in records.
        audit.record(
            session, "member.new_browser", actor=member, object_type="member", object_id=member.id
        )
    session.flush()
    return bool(known)


# Read at every completed sign-in: built once, with the member bound at each run.
# On the table's columns: plain rows, no ORM work at each run.
_DEVICES = table_of(KnownDevice).c
_DEVICES_OF = select(_DEVICES.device_hash).where(_DEVICES.member_id == bindparam("member_id"))
