"""Watching an alert: a member follows its replies, actions, acknowledgements
and resolution (fanout.alert_followed_up tells the watchers). Whoever posts
an alert watches it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.alerts.access import alert_for
from network.alerts.models import Alert
from network.notifications.models import Watch
from schools import audit, policy
from schools.errors import NotFound
from schools.models import Member


def watch(session: Session, actor: Member, alert_id: uuid.UUID, by_email: bool) -> Watch:
    policy.check_school_may_act(actor, "change its notifications")
    view = alert_for(session, actor, alert_id)
    existing = session.get(Watch, (actor.id, view.alert.id))
    if existing is None:
        existing = Watch(member_id=actor.id, alert_id=view.alert.id, by_email=by_email)
        session.add(existing)
    existing.by_email = by_email
    session.flush()
    audit.record(
        session,
        "alert.watched",
        actor=actor,
        object_type="alert",
        object_id=view.alert.id,
        by_email=by_email,
    )
    return existing


def unwatch(session: Session, actor: Member, alert_id: uuid.UUID) -> None:
    policy.check_school_may_act(actor, "change its notifications")
    existing = session.get(Watch, (actor.id, alert_id))
    if existing is None:
        raise NotFound("You are not watching that alert.")
    session.delete(existing)
    session.flush()
    audit.record(session, "alert.unwatched", actor=actor, object_type="alert", object_id=alert_id)


def watching(session: Session, actor: Member) -> list[tuple[Watch, Alert]]:
    return [
        (w, a)
        for w, a in session.execute(
            select(Watch, Alert)
            .join(Alert, Alert.id == Watch.alert_id)
            .where(Watch.member_id == actor.id)
            .order_by(Alert.created_at.desc())
        ).all()
    ]


def watch_of(session: Session, actor: Member, alert_id: uuid.UUID) -> Watch | None:
    return session.get(Watch, (actor.id, alert_id))
