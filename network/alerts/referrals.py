"""The referral tracker. Every action a school records on an alert is a
referral or a step (police, children's social care or MASH, the LADO, CEOP,
the IWF, the platform, Report Harmful Content, legal advice, a letter to
parents, a ban from the premises, a note on the child's file...).

What the hub keeps in clear, for content-blind counts and the follow-up, is a
``Referral`` row: the agency or step (the action's code), the date it was
made, the follow-up due date, the follow-up state and the latest outcome. The
reference number and every note are sealed in thread items, as a recorded
action's note always was: the action itself, and one item per outcome
recorded later. Recording an outcome updates the row and is audited in the
same transaction.

Days are UTC days, like the dashboard's: a follow-up is overdue once its due
date has passed, from the next day on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, contains_eager

from crypto.keys import SchoolKeys
from network.alerts import vocab
from network.alerts.access import writable
from network.alerts.auditing import record_for_alert
from network.alerts.content import MAX_NOTE, Note, clean_text
from network.alerts.models import Alert, Referral, ThreadItem
from network.alerts.thread import add_item
from network.alerts.vocab import AlertStatus, FollowUp, ItemKind
from network.db import settings_of
from schools import policy
from schools.db import utcnow
from schools.errors import InvalidInput, NotFound, Problems
from schools.models import Member, School

MAX_REFERENCE = 100


@dataclass(frozen=True)
class ReferralInput:
    """What a school says of a referral or step when it records it."""

    agency: str
    note: str = ""
    reference: str = ""
    referred_on: date | None = None
    due_on: date | None = None


def _sealed_text(reference: str, note: str) -> str:
    """The action's sealed note: the reference number first, when there is one."""
    if not reference:
        return note
    return f"Reference number: {reference}" + (f"\n\n{note}" if note else "")


def _check_due(due_on: date | None, today: date, field: str) -> None:
    if due_on is not None and due_on < today:
        raise InvalidInput(
            f"The follow-up date {due_on:%-d %b %Y} has passed: choose today or a later day.",
            field=field,
        )


def check_action(given: ReferralInput, today: date) -> tuple[str, str, date]:
    """The action's reference, note and referral day, every problem at once
    (InvalidInputs). Writes nothing, so a form its own validators refused runs it too."""
    problems = Problems()
    if given.agency not in vocab.codes(vocab.ACTIONS):
        problems.add(
            InvalidInput(
                "Choose the agency or step from the list: that one is not known.",
                field="action_type",
            )
        )
    reference = problems.check(
        "", lambda: clean_text(given.reference, "reference", "reference number", MAX_REFERENCE)
    )
    if "\n" in reference:
        problems.add(InvalidInput("Write the reference number on one line.", field="reference"))
    note = problems.check("", lambda: clean_text(given.note, "note", "note", MAX_NOTE))
    referred_on = given.referred_on or today
    if referred_on > today:
        problems.add(
            InvalidInput(
                "The date of the referral is in the future: give the day it was made.",
                field="referred_on",
            )
        )
    problems.check(None, lambda: _check_due(given.due_on, today, "due_on"))
    problems.raise_any()
    return reference, note, referred_on


def record_action(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    given: ReferralInput,
    now: datetime | None = None,
) -> ThreadItem:
    """Seal the action (reference number and note) into the alert's thread and
    keep its referral row. Nothing is written when any field is refused."""
    alert = writable(session, actor, alert_id, "record actions")
    now = now or utcnow()
    reference, note, referred_on = check_action(given, day_of(session, now))
    item = add_item(
        session,
        actor,
        keys,
        alert,
        ItemKind.ACTION,
        Note(_sealed_text(reference, note)).to_bytes(),
        action_type=given.agency,
        created_at=now,
    )
    school = actor.school
    assert school is not None
    assert school.cluster_id is not None
    session.add(
        Referral(
            id=uuid.uuid4(),
            alert_id=alert.id,
            school_id=school.id,
            cluster_id=school.cluster_id,
            item_id=item.id,
            agency=given.agency,
            referred_on=referred_on,
            due_on=given.due_on,
            follow_up=FollowUp.DUE if given.due_on else FollowUp.NONE,
            created_by_id=actor.id,
            created_at=now,
        )
    )
    session.flush()
    return item


def referral_of(
    session: Session, actor: Member, referral_id: uuid.UUID, doing: str | None = None
) -> Referral:
    """One of the actor's school's referrals; any other is not found. With
    ``doing`` (completing "it cannot ..."), first that the school may act."""
    if doing is not None:
        policy.check_school_may_act(actor, doing)
    referral = session.get(Referral, referral_id)
    if referral is None or referral.school_id != actor.school_id:
        raise NotFound("No such referral at your school.")
    return referral


def check_outcome(outcome: str, note: str, next_due_on: date | None, today: date) -> str:
    """The outcome's note, every problem of the outcome form at once (InvalidInputs)."""
    problems = Problems()
    if outcome not in vocab.codes(vocab.OUTCOMES):
        problems.add(InvalidInput("Choose the outcome from the list.", field="outcome"))
    note = problems.check("", lambda: clean_text(note, "note", "note", MAX_NOTE))
    problems.check(None, lambda: _check_due(next_due_on, today, "next_due_on"))
    problems.raise_any()
    return note


def record_outcome(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    referral_id: uuid.UUID,
    outcome: str,
    note: str,
    next_due_on: date | None,
    now: datetime | None = None,
) -> Referral:
    """What came of a referral: a new sealed action item in the alert's thread
    (the outcome and the note), and the row's outcome and follow-up updated.
    With ``next_due_on`` the follow-up stays open until that day; without,
    it is done."""
    referral = referral_of(session, actor, referral_id, "record outcomes")
    alert = writable(session, actor, referral.alert_id, "record outcomes")
    now = now or utcnow()
    note = check_outcome(outcome, note, next_due_on, day_of(session, now))
    label = vocab.label(vocab.OUTCOMES, outcome)
    add_item(
        session,
        actor,
        keys,
        alert,
        ItemKind.ACTION,
        Note(f"Outcome: {label}" + (f"\n\n{note}" if note else "")).to_bytes(),
        action_type=referral.agency,
        created_at=now,
        audited_as="alert.referral_outcome",
    )
    referral.outcome, referral.outcome_on = outcome, day_of(session, now)
    referral.due_on = next_due_on or referral.due_on
    referral.follow_up = FollowUp.DUE if next_due_on else FollowUp.DONE
    referral.reminded_at = None
    session.flush()
    record_for_alert(
        session,
        "referral.updated",
        actor,
        alert,
        None,
        referral=str(referral.id),
        agency=referral.agency,
        outcome=outcome,
        follow_up=referral.follow_up,
        due_on=referral.due_on.isoformat() if referral.due_on else None,
    )
    return referral


# --- what is due ---------------------------------------------------------------------------


def day_of(session: Session, moment: datetime) -> date:
    """The day it is at ``moment`` in the hub's time zone (ALERTNET_TIME_ZONE):
    follow-up dates are days as the school lives them, not UTC days."""
    return moment.astimezone(ZoneInfo(settings_of(session).timezone)).date()


def clock() -> datetime:
    """The tracker's clock, which the pages and the reminders ask (tests move it)."""
    return utcnow()


def overdue_clause(today: date) -> tuple[ColumnElement[bool], ...]:
    """A follow-up is overdue from the day after its due date until an outcome
    closes it, while its alert's thread exists (a withdrawn or shredded alert
    takes no outcome, so its follow-ups are no longer chased). The query joins
    Alert."""
    return (
        Referral.follow_up == FollowUp.DUE,
        Referral.due_on < today,
        Alert.status.in_(_THREAD_EXISTS),
    )


_THREAD_EXISTS = (AlertStatus.OPEN, AlertStatus.RESOLVED)


def overdue_follow_ups(
    session: Session, school: School, now: datetime | None = None
) -> list[Referral]:
    """The school's follow-ups past their due date, the longest overdue first
    (with their alerts loaded): for the school's home page, its dashboard and
    the watch list."""
    today = day_of(session, now or utcnow())
    return list(
        session.scalars(
            select(Referral)
            .join(Alert, Alert.id == Referral.alert_id)
            .where(Referral.school_id == school.id, *overdue_clause(today))
            .order_by(Referral.due_on, Referral.created_at)
            .options(contains_eager(Referral.alert))
        )
    )


def school_referrals(session: Session, school: School) -> list[Referral]:
    """Every referral and step of the school, newest first, with their alerts."""
    return list(
        session.scalars(
            select(Referral)
            .join(Alert, Alert.id == Referral.alert_id)
            .where(Referral.school_id == school.id)
            .order_by(Referral.referred_on.desc(), Referral.created_at.desc())
            .options(contains_eager(Referral.alert))
        )
    )


def overdue_count(
    session: Session, cluster_id: uuid.UUID, now: datetime, school_id: uuid.UUID | None = None
) -> dict[uuid.UUID, int]:
    """Overdue follow-ups now, per school of the cluster (or of one school):
    counts only, for the coordinator and the reports."""
    where: list[ColumnElement[bool]] = [
        Referral.cluster_id == cluster_id,
        *overdue_clause(day_of(session, now)),
    ]
    if school_id is not None:
        where.append(Referral.school_id == school_id)
    rows = session.execute(
        select(Referral.school_id, func.count())
        .join(Alert, Alert.id == Referral.alert_id)
        .where(*where)
        .group_by(Referral.school_id)
    ).all()
    return dict(rows)
