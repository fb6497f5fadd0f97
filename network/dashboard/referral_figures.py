"""Referral and outcome counts for the dashboard and the reports, content-blind:
from the referral rows' clear columns (agency, dates, outcome, follow-up
state), never a reference number or note (network/alerts/referrals.py).

Live, like the overdue acknowledgements: a handful of grouped queries over
ix_referrals_cluster_referred and ix_referrals_school_due, not stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.alerts import referrals, vocab
from network.alerts.models import Referral
from network.dashboard.figures import Period
from schools.models import School


@dataclass(frozen=True)
class ReferralFigures:
    # Referrals and steps made in the period, per agency or step (every one listed).
    by_agency: list[tuple[str, int]]
    # Outcomes recorded in the period (the latest of each referral), per outcome.
    by_outcome: list[tuple[str, int]]
    # Follow-ups overdue now, whatever the period: the total and per school.
    overdue: int
    overdue_by_school: list[tuple[str, int]]
    as_of: datetime

    @property
    def made(self) -> int:
        return sum(n for _, n in self.by_agency)

    @property
    def outcomes(self) -> int:
        return sum(n for _, n in self.by_outcome)


def referral_figures(
    session: Session,
    cluster_id: uuid.UUID,
    period: Period,
    now: datetime,
    school_id: uuid.UUID | None = None,
) -> ReferralFigures:
    """The cluster's figures, or one school's (``school_id``: a head's report)."""
    mine = [Referral.school_id == school_id] if school_id is not None else []
    made = dict(
        session.execute(
            select(Referral.agency, func.count())
            .where(
                Referral.cluster_id == cluster_id,
                Referral.referred_on >= period.start,
                Referral.referred_on <= period.end,
                *mine,
            )
            .group_by(Referral.agency)
        ).all()
    )
    outcomes = dict(
        session.execute(
            select(Referral.outcome, func.count())
            .where(
                Referral.cluster_id == cluster_id,
                Referral.outcome_on >= period.start,
                Referral.outcome_on <= period.end,
                *mine,
            )
            .group_by(Referral.outcome)
        ).all()
    )
    overdue = referrals.overdue_count(session, cluster_id, now, school_id)
    names = (
        dict(session.execute(select(School.id, School.name).where(School.id.in_(overdue))).all())
        if overdue
        else {}
    )
    return ReferralFigures(
        by_agency=[(t.label, made.get(t.code, 0)) for t in vocab.ACTIONS],
        by_outcome=[(t.label, outcomes.get(t.code, 0)) for t in vocab.OUTCOMES],
        overdue=sum(overdue.values()),
        overdue_by_school=sorted(
            ((names.get(s, str(s)), n) for s, n in overdue.items()), key=lambda r: (-r[1], r[0])
        ),
        as_of=now,
    )
