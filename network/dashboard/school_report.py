"""A head's report for governors: the cluster report's figures for their own
school, content-blind, as a printable page and CSV. Its alerts sent and
received by category, its response times beside the cluster's, and its
referrals, outcomes and overdue follow-ups."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.alerts import vocab
from network.alerts.models import Alert, AlertRecipient
from network.dashboard.figures import Period
from network.dashboard.referral_figures import ReferralFigures, referral_figures
from network.dashboard.report import (
    HEADER,
    WIDTH,
    PaddedWriter,
    SchoolFigures,
    number,
    referral_rows,
)
from network.dashboard.report import school_figures as response_figures
from network.settings import Settings
from schools.models import Member, School


@dataclass
class SchoolReport:
    school: School
    period: Period
    sent: list[tuple[str, int]]
    received: list[tuple[str, int]]
    responses: SchoolFigures
    referrals: ReferralFigures

    @property
    def total_sent(self) -> int:
        return sum(n for _, n in self.sent)

    @property
    def total_received(self) -> int:
        return sum(n for _, n in self.received)


def school_report(
    session: Session, actor: Member, period: Period, *, settings: Settings, now: datetime
) -> SchoolReport:
    """Refused (403) to anyone but a school's head, as the school dashboard is."""
    responses = response_figures(session, actor, period, settings=settings, now=now)
    school = responses.school
    sent = dict(
        session.execute(
            select(Alert.category, func.count())
            .where(
                Alert.sender_school_id == school.id,
                Alert.created_at >= period.since,
                Alert.created_at < period.until,
            )
            .group_by(Alert.category)
        ).all()
    )
    received = dict(
        session.execute(
            select(Alert.category, func.count())
            .select_from(AlertRecipient)
            .join(Alert, Alert.id == AlertRecipient.alert_id)
            .where(
                AlertRecipient.school_id == school.id,
                AlertRecipient.is_sender.is_(False),
                AlertRecipient.created_at >= period.since,
                AlertRecipient.created_at < period.until,
            )
            .group_by(Alert.category)
        ).all()
    )
    return SchoolReport(
        school=school,
        period=period,
        sent=[(t.label, sent.get(t.code, 0)) for t in vocab.CATEGORIES],
        received=[(t.label, received.get(t.code, 0)) for t in vocab.CATEGORIES],
        responses=responses,
        referrals=referral_figures(session, school.cluster_id, period, now, school.id),
    )


def school_report_csv(data: SchoolReport) -> str:
    """The same columns as the cluster's CSV (docs/dashboard.md)."""
    out = io.StringIO()
    writer = PaddedWriter(out, WIDTH)
    writer.writerow(list(HEADER))
    writer.writerow(["period", f"{data.period.start} to {data.period.end}", data.total_sent])
    for label, n in data.sent:
        writer.writerow(["sent_by_category", label, n])
    for label, n in data.received:
        writer.writerow(["received_by_category", label, n])
    for r in data.responses.rows():
        writer.writerow(
            [
                "response",
                r.key,
                "",
                r.received,
                r.acknowledged,
                number(r.median_hours),
                number(r.p90_hours),
            ]
        )
    referral_rows(writer, data.referrals)
    return out.getvalue()
