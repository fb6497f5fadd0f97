"""Urgent alerts due outside school days reach the receiving school's
out-of-hours contact (network/alerts/out_of_hours.py): by email, at once,
with metadata only (like every notification), in the transaction that posts
the alert.

"Outside school days" is the school's own calendar (its nation's bank
holidays, its cluster's terms and INSET days, weekends) on the day the
copy's acknowledgement deadline falls, which for urgent alerts runs in hours
(network/alerts/deadlines.py).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from crypto.header import TIER_ALL
from network.alerts.deadlines import Deadlines
from network.alerts.models import Alert, AlertRecipient
from network.alerts.out_of_hours import OutOfHoursContact
from network.notifications.models import Channel, Payload
from network.notifications.outbox import Outbox, priority_of
from network.notifications.payloads import alert_ref, school_ref
from network.settings import Settings
from schools.db import utcnow
from schools.models import School, SchoolStatus

EVENT = "alert.out_of_hours"
URGENT = "urgent"


def notify_contacts(session: Session, alert: Alert, settings: Settings) -> int:
    """One email to each recipient school's out-of-hours contact whose copy of
    this urgent alert falls due on a day that is not one of its school days.
    The contact is told as a school's shared subscriptions are (fanout.py): of
    copies for all staff, not of one sealed to the school's leadership, which
    its leadership members' own subscriptions carry."""
    if alert.severity != URGENT:
        return 0
    rows = session.execute(
        select(School, OutOfHoursContact)
        .join(AlertRecipient, AlertRecipient.school_id == School.id)
        .join(OutOfHoursContact, OutOfHoursContact.school_id == School.id)
        .where(
            AlertRecipient.alert_id == alert.id,
            AlertRecipient.is_sender.is_(False),
            AlertRecipient.tier == TIER_ALL,
            School.status == SchoolStatus.ACTIVE,
        )
        .options(lazyload("*"))
    ).all()
    if not rows:
        return 0
    book = Deadlines.load(session, settings, alert.cluster_id)
    if not book.rule(alert.cluster_id, URGENT).is_set:
        return 0
    ref = alert_ref(session, alert)
    outbox = Outbox(utcnow())
    for school, contact in rows:
        due = book.due(alert.cluster_id, school.nation, URGENT, alert.created_at)
        calendar = book.calendar(alert.cluster_id, school.nation)
        if calendar.is_school_day(due.astimezone(book.tz).date()):
            continue
        payload: Payload = {
            "type": EVENT,
            "alert": ref,
            "school": school_ref(school),
            "deadline": due.isoformat(),
            "path": ref["path"],
        }
        outbox.add(
            event=EVENT,
            channel=Channel.EMAIL,
            school_id=school.id,
            alert_id=alert.id,
            target=contact.email,
            payload=payload,
            key=f"{EVENT}:{alert.id}:{school.id}",
            priority=priority_of(alert),
        )
    return outbox.write(session)
