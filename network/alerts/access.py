"""May this member see this alert? Decided here, for pages, API and CLI alike.

A member of a recipient school (or of the sender's school) sees content. A
coordinator sees the metadata of every alert in their cluster, and content only
when their office is a recipient. Everyone else is told the alert does not
exist: a 404, whether they guessed the URL or followed a link.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from network.alerts.models import Alert, AlertRecipient
from schools import policy
from schools.errors import NotFound
from schools.models import Member

NOT_FOUND = "No such alert, or it was not sent to your school."


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    # The member's school's copy, when it is a recipient (or the sender).
    copy: AlertRecipient | None

    @property
    def may_read_content(self) -> bool:
        return self.copy is not None


def alert_for(session: Session, actor: Member, alert_id: uuid.UUID) -> AlertView:
    alert = session.get(Alert, alert_id)
    if alert is None or not actor.is_active:
        raise NotFound(NOT_FOUND)
    copy = None
    if actor.school_id is not None:
        copy = session.get(AlertRecipient, (alert.id, actor.school_id))
    if copy is not None:
        return AlertView(alert, copy)
    if policy.sees_cluster_metadata(actor, alert.cluster_id):
        return AlertView(alert, None)
    raise NotFound(NOT_FOUND)


def content_for(session: Session, actor: Member, alert_id: uuid.UUID) -> AlertView:
    """Like alert_for, but only for members whose school holds a copy."""
    view = alert_for(session, actor, alert_id)
    if not view.may_read_content:
        raise NotFound(NOT_FOUND)
    return view


def copies_of(session: Session, alert: Alert) -> list[AlertRecipient]:
    """Every school's copy, the sender's first, with what the alert page shows
    of each: the school and who read and acknowledged it."""
    return list(
        session.scalars(
            select(AlertRecipient)
            .where(AlertRecipient.alert_id == alert.id)
            .order_by(AlertRecipient.is_sender.desc())
            .options(
                joinedload(AlertRecipient.school),
                selectinload(AlertRecipient.first_read_by),
                selectinload(AlertRecipient.acknowledged_by),
            )
        )
    )
