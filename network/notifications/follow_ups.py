"""Reminders of overdue follow-ups (network/alerts/referrals.py): once a
referral's follow-up date has passed with no outcome recorded, the school's
heads and the member who recorded it are told, in the hub and by email,
once per follow-up date. The worker runs chase_follow_ups with the
acknowledgement chase (network/worker.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload

from network.alerts import vocab
from network.alerts.models import Alert, Referral
from network.alerts.referrals import day_of, overdue_clause
from network.notifications.chase import Chase
from network.notifications.outbox import Outbox
from network.notifications.payloads import alert_ref, platform_names, school_ref
from network.settings import Settings
from schools import audit
from schools.models import Member, MemberStatus, School, SchoolStatus

EVENT = "referral.follow_up_due"


def chase_follow_ups(session: Session, settings: Settings, now: datetime) -> int:
    """Remind each school of its follow-ups overdue and not reminded yet; returns how many."""
    rows = session.execute(
        select(Referral, Alert, School)
        .join(Alert, Alert.id == Referral.alert_id)
        .join(School, School.id == Referral.school_id)
        .where(
            *overdue_clause(day_of(session, now)),
            Referral.reminded_at.is_(None),
            School.status == SchoolStatus.ACTIVE,
        )
        .order_by(Referral.due_on, Referral.created_at)
        .options(lazyload("*"), joinedload(Alert.sender_school).lazyload("*"))
    ).all()
    if not rows:
        return 0
    chase = Chase.of(session, settings, [school.id for _, _, school in rows])
    recorders = _recorders(session, {referral.created_by_id for referral, _, _ in rows})
    platforms = platform_names(session, {alert.platform for _, alert, _ in rows})
    for referral, alert, school in rows:
        assert referral.due_on is not None
        people = {m.id: m for m in chase.heads.get(school.id, [])}
        recorder = recorders.get(referral.created_by_id)
        if recorder is not None and recorder.school_id == school.id:
            people.setdefault(recorder.id, recorder)
        ref = alert_ref(session, alert, platforms)
        due = datetime.combine(referral.due_on, time.min).isoformat()
        outbox = Outbox(now)
        for person in people.values():
            outbox.add_for_member(
                person,
                event=EVENT,
                alert=alert,
                payload={
                    "type": EVENT,
                    "alert": ref,
                    "school": school_ref(school),
                    "deadline": due,
                    "item": {
                        "kind": "action",
                        "at": referral.created_at.isoformat(),
                        "action_type": referral.agency,
                        "action_label": vocab.label(vocab.ACTIONS, referral.agency),
                    },
                    "path": f"/school/referrals/{referral.id}/outcome",
                },
                key=f"{EVENT}:{referral.id}:{referral.due_on.isoformat()}",
                by_email=True,
            )
        chase.rows.extend(outbox.rows)
        audit.record(
            session,
            "referral.follow_up_reminded",
            school_id=school.id,
            object_type="alert",
            object_id=alert.id,
            referral=str(referral.id),
            agency=referral.agency,
            due_on=referral.due_on.isoformat(),
            notifications=len(outbox.rows),
        )
        referral.reminded_at = now
    chase.write(now)
    session.flush()
    return len(rows)


def _recorders(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Member]:
    return {
        m.id: m
        for m in session.scalars(
            select(Member)
            .where(Member.id.in_(ids), Member.status == MemberStatus.ACTIVE)
            .options(lazyload("*"))
        )
    }
