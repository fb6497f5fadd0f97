"""The coordinator's figures for a period, assembled for the page, the
governors' report and its CSV. Metadata only: no pupil or staff is named."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.orm import Session

from network.alerts import vocab
from network.alerts.indicators import WidelySeen, seen_widely
from network.alerts.platforms import platforms
from network.dashboard import charts, figures, health, snapshots
from network.dashboard.figures import Activity, Period, ResponseTimes
from network.dashboard.referral_figures import ReferralFigures, referral_figures
from network.settings import Settings
from network.spreadsheet import cell
from schools import policy
from schools.db import utcnow
from schools.errors import Forbidden
from schools.models import Cluster, Member, School
from schools.policy import Permission


@dataclass
class ClusterFigures:
    cluster: Cluster
    period: Period
    computed_at: datetime  # when the database computed the period's figures
    weekly: dict[date, dict[str, int]]
    by_severity: list[tuple[str, int]]
    by_platform: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    response_schools: list[ResponseTimes]
    response_severity: list[ResponseTimes]
    overall: ResponseTimes
    activity: Activity
    # Live health (network/dashboard/health.py): overdue is as of now, whatever
    # the period; delivery counts the period's notifications.
    overdue: health.Overdue
    delivery: health.Delivery
    # Live too: referrals and outcomes of the period, follow-ups overdue now
    # (counts only), and the indicators named by alerts of three or more schools.
    referrals: ReferralFigures
    indicators: list[WidelySeen]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.by_category)

    def weekly_chart(self) -> charts.StackedColumns:
        weeks = sorted(self.weekly)
        return charts.stacked_columns(
            [w.strftime("%-d %b") for w in weeks],
            [
                (t.label, [float(self.weekly[w].get(t.code, 0)) for w in weeks])
                for t in vocab.CATEGORIES
            ],
        )

    def count_chart(self, items: list[tuple[str, int]], colour: int) -> charts.HorizontalBars:
        return charts.count_bars(items, colour=charts.PALETTE[colour])

    def response_chart(self) -> charts.HorizontalBars:
        return charts.horizontal_bars(
            [
                (r.key, r.median_hours, charts.format_hours(r.median_hours))
                for r in self.response_schools
                if r.median_hours is not None
            ],
            colour=charts.PALETTE[2],
            marker=self.overall.median_hours,
            marker_label=f"cluster median, {charts.format_hours(self.overall.median_hours)}",
        )


def cluster_figures(
    session: Session,
    actor: Member | None,
    cluster: Cluster,
    period: Period,
    *,
    settings: Settings,
    now: datetime | None = None,
) -> ClusterFigures:
    """The period's figures from store while younger than the settings'
    dashboard_max_age (network/dashboard/snapshots.py), the overdue list and
    delivery health live; ``settings`` also gives the time zone school-day
    deadlines count in."""
    policy.check_cluster(actor, cluster)
    now = now or utcnow()
    computed = snapshots.current(session, cluster.id, period, now, settings.dashboard_max_age)
    names = {p.code: p.name for p in platforms(session, include_retired=True)}
    responses = computed.responses
    return ClusterFigures(
        cluster=cluster,
        period=period,
        computed_at=computed.computed_at,
        weekly=computed.weekly,
        by_severity=[(t.label, computed.by_severity.get(t.code, 0)) for t in vocab.SEVERITIES],
        by_platform=sorted(
            ((names.get(code, code), n) for code, n in computed.by_platform.items()),
            key=lambda item: -item[1],
        ),
        by_category=[(t.label, computed.by_category.get(t.code, 0)) for t in vocab.CATEGORIES],
        response_schools=responses.by_school,
        response_severity=sorted(
            responses.by_severity, key=lambda r: vocab.SEVERITY_RANK.get(r.key, 0), reverse=True
        ),
        overall=responses.overall,
        activity=computed.activity,
        overdue=health.overdue(session, cluster.id, settings, now),
        delivery=health.delivery(session, cluster.id, period, now=now),
        referrals=referral_figures(session, cluster.id, period, now),
        indicators=seen_widely(session, cluster.id, period.since, period.until),
    )


@dataclass
class SchoolFigures:
    school: School
    period: Period
    mine: ResponseTimes
    cluster: ResponseTimes
    computed_at: datetime  # of the cluster's figures

    def rows(self) -> list[ResponseTimes]:
        return [
            replace(self.mine, key=self.school.name),
            replace(self.cluster, key="Whole cluster"),
        ]

    def chart(self) -> charts.HorizontalBars:
        items = [
            (self.school.name, self.mine.median_hours),
            ("Cluster median", self.cluster.median_hours),
        ]
        return charts.horizontal_bars(
            [(k, v, charts.format_hours(v)) for k, v in items if v is not None]
        )


def school_figures(
    session: Session, actor: Member, period: Period, *, settings: Settings, now: datetime
) -> SchoolFigures:
    """A head's view: their own school's response times (live, from its inbox
    index) against the cluster's (from store, like the coordinator's)."""
    policy.require(actor, Permission.VIEW_SCHOOL_DASHBOARD)
    school = actor.school
    if school is None or school.is_office:  # a grant to a role without a school
        raise Forbidden("Only a school's head has a school dashboard.")
    cluster = snapshots.current(session, school.cluster_id, period, now, settings.dashboard_max_age)
    return SchoolFigures(
        school,
        period,
        figures.response_of_school(session, school.cluster_id, period, school.id),
        cluster.responses.overall,
        cluster.computed_at,
    )


# Trailing columns, used only by the overdue and delivery sections (every other
# row leaves them empty): docs/dashboard.md.
HEALTH_COLUMNS = ("overdue_since", "sent", "waiting", "retrying", "dead_lettered")
# After them: the referral sections' counts, and the indicators' schools and dates.
REFERRAL_COLUMNS = ("count",)
INDICATOR_COLUMNS = ("schools", "first", "latest")
HEADER = (
    "section",
    "item",
    "alerts",
    "received",
    "acknowledged",
    "median_hours_to_acknowledge",
    "p90_hours_to_acknowledge",
    *HEALTH_COLUMNS,
    *REFERRAL_COLUMNS,
    *INDICATOR_COLUMNS,
)
WIDTH = len(HEADER)


class PaddedWriter:
    """A csv writer that pads every row to the header's width; names people
    typed (schools, platforms) are written so a spreadsheet shows, not runs, them."""

    def __init__(self, out: io.StringIO, width: int) -> None:
        self._writer = csv.writer(out)
        self._width = width

    def writerow(self, row: list[object]) -> None:
        cells = [cell(value) for value in row]
        self._writer.writerow([*cells, *[""] * (self._width - len(cells))])


def recompute(
    session: Session, actor: Member, cluster: Cluster, period: Period, now: datetime
) -> None:
    """ "Recompute now": the period's figures from the database at once."""
    policy.check_cluster(actor, cluster)
    snapshots.recompute(session, cluster.id, period, now)


def report_csv(data: ClusterFigures) -> str:
    """The governors' report as CSV: one table with a section column."""
    out = io.StringIO()
    writer = PaddedWriter(out, WIDTH)
    writer.writerow(list(HEADER))
    writer.writerow(["period", f"{data.period.start} to {data.period.end}", data.total])
    for label, n in data.by_category:
        writer.writerow(["category", label, n])
    for label, n in data.by_severity:
        writer.writerow(["severity", label, n])
    for label, n in data.by_platform:
        writer.writerow(["platform", label, n])
    for week in sorted(data.weekly):
        writer.writerow(["week", week.isoformat(), sum(data.weekly[week].values())])
    for rows, section in (
        (data.response_schools, "response_by_school"),
        (data.response_severity, "response_by_severity"),
        ([data.overall], "response_overall"),
    ):
        for r in rows:
            writer.writerow(
                [
                    section,
                    vocab.label(vocab.SEVERITIES, r.key)
                    if section == "response_by_severity"
                    else r.key,
                    "",
                    r.received,
                    r.acknowledged,
                    number(r.median_hours),
                    number(r.p90_hours),
                ]
            )
    a = data.activity
    for label, value in (
        ("schools", a.schools),
        ("active_schools", a.active_schools),
        ("suspended_schools", a.suspended_schools),
        ("schools_without_keys", a.schools_without_keys),
        ("members", a.members),
        ("schools_that_posted", a.posting_schools),
    ):
        writer.writerow(["activity", label, value])
    _health_rows(writer, data)
    referral_rows(writer, data.referrals)
    for n, seen in enumerate(data.indicators, start=1):
        writer.writerow(
            [
                "indicator",
                f"Indicator {n}",
                seen.alerts,
                *[""] * (4 + len(HEALTH_COLUMNS) + len(REFERRAL_COLUMNS)),
                seen.schools,
                seen.first.date().isoformat(),
                seen.last.date().isoformat(),
            ]
        )
    return out.getvalue()


def referral_rows(writer: PaddedWriter, data: ReferralFigures) -> None:
    """Referrals made and outcomes recorded in the period, and the follow-ups
    overdue as of the download, in the ``count`` column."""
    pad = [""] * (5 + len(HEALTH_COLUMNS))  # alerts .. the health columns
    for label, n in data.by_agency:
        writer.writerow(["referrals", label, *pad, n])
    for label, n in data.by_outcome:
        writer.writerow(["outcomes", label, *pad, n])
    as_of = f"as of {data.as_of.isoformat(timespec='minutes')}"
    writer.writerow(["follow_ups_overdue", as_of, *pad, data.overdue])
    for school, n in data.overdue_by_school:
        writer.writerow(["follow_ups_overdue_by_school", school, *pad, n])


def _health_rows(writer: PaddedWriter, data: ClusterFigures) -> None:
    """Overdue acknowledgements (as of the moment of download, whatever the
    period; ``alerts`` is the number of overdue copies) and the period's
    notification delivery per channel."""
    o = data.overdue
    blank = ["", "", "", ""]  # received .. p90
    writer.writerow(["overdue", f"as of {o.now.isoformat(timespec='minutes')}", o.total])
    for school in o.by_school:
        writer.writerow(
            [
                "overdue_by_school",
                school.school,
                school.count,
                *blank,
                school.since.isoformat(timespec="minutes"),
            ]
        )
    channels = data.delivery.channels
    for c in [*channels, data.delivery.total] if channels else []:
        writer.writerow(
            [
                "delivery",
                "All channels" if c.channel == "all" else c.label,
                "",
                *blank,
                "",
                c.sent,
                c.waiting,
                c.retrying,
                c.dead,
            ]
        )


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
