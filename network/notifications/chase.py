"""The chase: a school whose acknowledgement is overdue is reminded; one
deadline-length later the cluster's coordinators are told. Which copies are
overdue, and when each fell due, is network/alerts/deadlines.py's Deadlines,
the one the dashboard shows;
the worker runs chase_acknowledgements (network/worker.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload, lazyload

from network.alerts import deadlines
from network.alerts.models import Alert, AlertRecipient
from network.notifications.models import AckChase, AlertRef, Subscription
from network.notifications.outbox import Outbox, OutboxRow, write_rows
from network.notifications.payloads import (
    alert_ref,
    platform_names,
    school_ref,
)
from network.notifications.routing import add_for_subscriptions, live_subscriptions, matches
from network.settings import Settings
from schools import audit
from schools.db import utcnow
from schools.models import Member, MemberStatus, Role, School, SchoolKind


def coordinators_of(session: Session, cluster_id: uuid.UUID) -> list[Member]:
    return list(
        session.scalars(
            select(Member)
            .join(School, School.id == Member.school_id)
            .where(
                School.cluster_id == cluster_id,
                School.kind == SchoolKind.OFFICE,
                Member.role == Role.COORDINATOR,
                Member.status == MemberStatus.ACTIVE,
            )
            .options(lazyload("*"))
        )
    )


@dataclass
class Chase:
    """Who the deadline notices of one run of the chase reach, each loaded
    once for all the schools due: their live subscriptions, their heads (who
    lead the key holder: heads of a school, coordinators of an office) and,
    per cluster when first needed, the coordinators."""

    session: Session
    settings: Settings
    subscriptions: dict[uuid.UUID, list[Subscription]]
    heads: dict[uuid.UUID, list[Member]]
    coordinators: dict[uuid.UUID, list[Member]] = field(default_factory=dict)
    # Every notice of the run, written together by write().
    rows: list[OutboxRow] = field(default_factory=list)

    @classmethod
    def of(cls, session: Session, settings: Settings, school_ids: Iterable[uuid.UUID]) -> Chase:
        ids = list(set(school_ids))
        subscriptions: dict[uuid.UUID, list[Subscription]] = {}
        for subscription in live_subscriptions(session, ids):
            subscriptions.setdefault(subscription.school_id, []).append(subscription)
        heads: dict[uuid.UUID, list[Member]] = {}
        if ids:
            for member in session.scalars(
                select(Member)
                .where(
                    Member.school_id.in_(ids),
                    Member.role.in_([Role.HEAD, Role.COORDINATOR]),
                    Member.status == MemberStatus.ACTIVE,
                )
                .options(lazyload("*"))
            ):
                assert member.school_id is not None
                heads.setdefault(member.school_id, []).append(member)
        return cls(session, settings, subscriptions, heads)

    def coordinators_of(self, cluster_id: uuid.UUID) -> list[Member]:
        if cluster_id not in self.coordinators:
            self.coordinators[cluster_id] = coordinators_of(self.session, cluster_id)
        return self.coordinators[cluster_id]

    def notices(
        self, outbox: Outbox, action: str, alert: Alert, school: School, deadline: datetime
    ) -> int:
        """Keep one school's notices for write(), and audit them."""
        self.rows.extend(outbox.rows)
        audit.record(
            self.session,
            action,
            school_id=school.id,
            object_type="alert",
            object_id=alert.id,
            deadline=deadline.isoformat(),
            notifications=len(outbox.rows),
        )
        return len(outbox.rows)

    def write(self, now: datetime) -> int:
        """All the run's notices in one INSERT; wakes the workers once."""
        return write_rows(self.session, self.rows, now)


def remind_school(
    chase: Chase, alert: Alert, ref: AlertRef, school: School, deadline: datetime
) -> int:
    """The school's own channels, digest or not: a deadline does not wait.
    ``ref``: alert_ref(alert), made once per alert."""
    outbox = Outbox(utcnow())
    matching = [s for s in chase.subscriptions.get(school.id, []) if matches(s, alert)]
    add_for_subscriptions(
        outbox,
        matching,
        event="alert.acknowledgement_due",
        alert=alert,
        ref=ref,
        schools={school.id: school},
        key=f"alert.acknowledgement_due:{alert.id}:{school.id}",
        honour_digest=False,
        tz=deadlines.local_zone(chase.settings),
        extra={"deadline": deadline.isoformat()},
    )
    if not outbox.rows:
        # No subscription asks for this alert: a deadline still reaches the heads.
        _notify_people(
            outbox,
            chase.heads.get(school.id, []),
            "alert.acknowledgement_due",
            alert,
            ref,
            school,
            deadline,
        )
    return chase.notices(outbox, "alert.ack_reminder_sent", alert, school, deadline)


def escalate_to_coordinators(
    chase: Chase, alert: Alert, ref: AlertRef, school: School, deadline: datetime
) -> int:
    outbox = Outbox(utcnow())
    _notify_people(
        outbox,
        chase.coordinators_of(alert.cluster_id),
        "alert.acknowledgement_overdue",
        alert,
        ref,
        school,
        deadline,
    )
    return chase.notices(outbox, "alert.ack_overdue_escalated", alert, school, deadline)


def _notify_people(
    outbox: Outbox,
    people: Iterable[Member],
    event: str,
    alert: Alert,
    ref: AlertRef,
    school: School,
    deadline: datetime,
) -> None:
    """In the hub and by email to each person, about a school's deadline."""
    for person in people:
        outbox.add_for_member(
            person,
            event=event,
            alert=alert,
            payload={
                "type": event,
                "alert": ref,
                "school": school_ref(school),
                "deadline": deadline.isoformat(),
                "path": ref["path"],
            },
            key=f"{event}:{alert.id}:{school.id}",
            by_email=True,
        )


def chase_acknowledgements(session: Session, settings: Settings, now: datetime) -> tuple[int, int]:
    """Remind a school whose acknowledgement is overdue; one deadline-length
    later, tell the cluster's coordinators. Only overdue copies are loaded
    (Deadlines.waiting_copies, over ix_alert_recipients_waiting), and what the
    notices need is loaded once for all of them: one alert_ref per alert, the
    subscriptions and heads of every school due a reminder, the coordinators
    per cluster."""
    book = deadlines.Deadlines.load(session, settings)
    waiting = book.waiting_copies(now)
    if waiting is None:
        return 0, 0
    # AckChase is None where the copy has not been chased before (the outer join).
    rows: Sequence[tuple[Alert, School, AckChase | None]] = session.execute(
        select(Alert, School, AckChase)
        .select_from(AlertRecipient)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .join(School, School.id == AlertRecipient.school_id)
        .outerjoin(
            AckChase,
            and_(
                AckChase.alert_id == AlertRecipient.alert_id,
                AckChase.school_id == AlertRecipient.school_id,
            ),
        )
        .where(*waiting, or_(AckChase.escalated_at.is_(None), AckChase.alert_id.is_(None)))
        .order_by(AlertRecipient.created_at, AlertRecipient.alert_id, School.name)
        .options(lazyload("*"), joinedload(Alert.sender_school).lazyload("*"))
    ).all()
    if not rows:
        return 0, 0
    by_alert: dict[uuid.UUID, tuple[Alert, list[tuple[School, AckChase | None]]]] = {}
    for alert, school, chased in rows:
        by_alert.setdefault(alert.id, (alert, []))[1].append((school, chased))
    platforms = platform_names(session, {alert.platform for alert, _, _ in rows})
    notices = Chase.of(
        session,
        settings,
        [school.id for _, school, chased in rows if chased is None or chased.reminded_at is None],
    )
    reminded = escalated = 0
    new: list[AckChase] = []
    for alert, copies in by_alert.values():
        ref = alert_ref(session, alert, platforms)
        for school, chased in copies:
            # waiting_copies matched it, so it has a rule: the cluster's or the
            # default; school days are the receiving school's.
            due = book.due(alert.cluster_id, school.nation, alert.severity, alert.created_at)
            escalation_due = now >= book.due(alert.cluster_id, school.nation, alert.severity, due)
            remind = chased is None or chased.reminded_at is None
            if remind:
                remind_school(notices, alert, ref, school, due)
                reminded += 1
            # An office: the coordinators were just reminded themselves.
            escalate = school.is_office or escalation_due
            if escalate and not school.is_office:
                escalate_to_coordinators(notices, alert, ref, school, due)
                escalated += 1
            if chased is None:
                new.append(
                    AckChase(
                        alert_id=alert.id,
                        school_id=school.id,
                        reminded_at=now,
                        escalated_at=now if escalate else None,
                    )
                )
            else:
                if remind:
                    chased.reminded_at = now
                if escalate:
                    chased.escalated_at = now
    notices.write(now)
    session.add_all(new)
    session.flush()
    return reminded, escalated
