"""What a notification says: the references its payload carries (models.Payload),
metadata only. An alert is named by its category, severity, platform, sender
school, time and link, never by its content; render.py turns a payload into
an email or a webhook body.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.alerts import vocab
from network.alerts.models import Alert, Platform
from network.notifications.models import AlertRef, SchoolRef, Subscription, SubscriptionRef
from schools.models import School


def school_ref(school: School) -> SchoolRef:
    return {"id": str(school.id), "name": school.name}


def subscription_ref(subscription: Subscription) -> SubscriptionRef:
    return {"id": str(subscription.id), "name": subscription.name}


def platform_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Platform names by code, in one query for any number of alerts."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.execute(select(Platform.code, Platform.name).where(Platform.code.in_(wanted)))
    return {str(code): str(name) for code, name in rows.all()}


def alert_ref(session: Session, alert: Alert, platforms: dict[str, str] | None = None) -> AlertRef:
    """The metadata a notification may carry about an alert: never content.
    ``platforms`` (platform_names) spares the query for the platform's name."""
    if platforms is None:
        platforms = platform_names(session, [alert.platform])
    return {
        "id": str(alert.id),
        "category": alert.category,
        "category_label": vocab.label(vocab.CATEGORIES, alert.category),
        "severity": alert.severity,
        "severity_label": vocab.label(vocab.SEVERITIES, alert.severity),
        "platform": alert.platform,
        "platform_label": platforms.get(alert.platform, alert.platform),
        "sender_school": school_ref(alert.sender_school),
        "created_at": alert.created_at.isoformat(),
        "path": f"/alerts/{alert.id}",
    }
