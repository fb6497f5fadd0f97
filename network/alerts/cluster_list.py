"""The coordinator's list: every alert of their cluster, newest first, with how
many recipients read and acknowledged each. Metadata only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, raiseload

from network.alerts.models import Alert, AlertRecipient
from network.alerts.paging import after_cursor, encode_cursor
from schools import policy
from schools.models import Member


@dataclass
class ClusterAlertRow:
    alert: Alert
    acknowledged: int
    read: int


def cluster_alerts(
    session: Session, actor: Member, cursor: str | None = None, limit: int = 50
) -> tuple[list[ClusterAlertRow], str | None]:
    """Every alert of the coordinator's cluster, newest first: metadata only."""
    cluster_id = policy.check_sees_cluster_alerts(actor)
    query = select(Alert).where(Alert.cluster_id == cluster_id)
    if cursor:
        query = query.where(after_cursor(cursor, Alert.created_at, Alert.id))
    alerts = list(
        session.scalars(
            query.order_by(Alert.created_at.desc(), Alert.id.desc())
            .limit(limit + 1)
            .options(raiseload("*"), joinedload(Alert.sender_school).raiseload("*"))
        )
    )
    more = len(alerts) > limit
    alerts = alerts[:limit]
    counts = {
        alert_id: (int(acks), int(reads))
        for alert_id, acks, reads in session.execute(
            select(
                AlertRecipient.alert_id,
                func.count(AlertRecipient.acknowledged_at),
                func.count(AlertRecipient.first_read_at),
            )
            .where(
                AlertRecipient.alert_id.in_([a.id for a in alerts]),
                AlertRecipient.is_sender.is_(False),
            )
            .group_by(AlertRecipient.alert_id)
        )
    }
    rows = [ClusterAlertRow(a, *counts.get(a.id, (0, 0))) for a in alerts]
    next_cursor = encode_cursor(alerts[-1].created_at, alerts[-1].id) if more and alerts else None
    return rows, next_cursor
