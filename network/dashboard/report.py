"""The coordinator's figures for a period, assembled for the page, the
governors' report and its CSV. Metadata only: no pupil or staff is named."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.orm import Session

from network.alerts import vocab
from network.alerts.models import Alert
from network.alerts.operations import platforms
from network.dashboard import charts, figures
from network.dashboard.figures import Activity, Period, ResponseTimes
from schools import policy
from schools.errors import Forbidden
from schools.models import Cluster, Member, School


@dataclass
class ClusterFigures:
    cluster: Cluster
    period: Period
    weekly: dict[date, dict[str, int]]
    by_severity: list[tuple[str, int]]
    by_platform: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    response_schools: list[ResponseTimes]
    response_severity: list[ResponseTimes]
    overall: ResponseTimes
    activity: Activity

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
        return charts.horizontal_bars(
            [(label, float(n), str(n)) for label, n in items], colour=charts.PALETTE[colour]
        )

    def response_chart(self) -> charts.HorizontalBars:
        items = [
            (r.key, r.median_hours, _hours(r.median_hours))
            for r in self.response_schools
            if r.median_hours is not None
        ]
        return charts.horizontal_bars(
            [(k, v, t) for k, v, t in items if v is not None],
            colour=charts.PALETTE[2],
            marker=self.overall.median_hours,
            marker_label=f"cluster median, {_hours(self.overall.median_hours)}",
        )


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def cluster_figures(
    session: Session, actor: Member | None, cluster: Cluster, period: Period
) -> ClusterFigures:
    policy.check_cluster(actor, cluster)
    severity = figures.counts_by(session, cluster.id, period, Alert.severity)
    platform = figures.counts_by(session, cluster.id, period, Alert.platform)
    category = figures.counts_by(session, cluster.id, period, Alert.category)
    names = {p.code: p.name for p in platforms(session)}
    responses = figures.responses(session, cluster.id, period)
    return ClusterFigures(
        cluster=cluster,
        period=period,
        weekly=figures.weekly_by_category(session, cluster.id, period),
        by_severity=[(t.label, severity.get(t.code, 0)) for t in vocab.SEVERITIES],
        by_platform=sorted(
            ((names.get(code, code), n) for code, n in platform.items()), key=lambda item: -item[1]
        ),
        by_category=[(t.label, category.get(t.code, 0)) for t in vocab.CATEGORIES],
        response_schools=responses.by_school,
        response_severity=sorted(
            responses.by_severity, key=lambda r: vocab.SEVERITY_RANK.get(r.key, 0), reverse=True
        ),
        overall=responses.overall,
        activity=figures.activity(session, cluster.id, period),
    )


@dataclass
class SchoolFigures:
    school: School
    period: Period
    mine: ResponseTimes
    cluster: ResponseTimes

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
        return charts.horizontal_bars([(k, v, _hours(v)) for k, v in items if v is not None])


def school_figures(session: Session, actor: Member, period: Period) -> SchoolFigures:
    """A head's view: their own school's response times against the cluster's."""
    school = actor.school
    if school is None or school.is_office:
        raise Forbidden("Only a school's head has a school dashboard.")
    return SchoolFigures(
        school,
        period,
        figures.response_overall(session, school.cluster_id, period, school.id),
        figures.response_overall(session, school.cluster_id, period),
    )


def report_csv(data: ClusterFigures) -> str:
    """The governors' report as CSV: one table with a section column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "section",
            "item",
            "alerts",
            "received",
            "acknowledged",
            "median_hours_to_acknowledge",
            "p90_hours_to_acknowledge",
        ]
    )
    writer.writerow(
        ["period", f"{data.period.start} to {data.period.end}", data.total, "", "", "", ""]
    )
    for label, n in data.by_category:
        writer.writerow(["category", label, n, "", "", "", ""])
    for label, n in data.by_severity:
        writer.writerow(["severity", label, n, "", "", "", ""])
    for label, n in data.by_platform:
        writer.writerow(["platform", label, n, "", "", "", ""])
    for week in sorted(data.weekly):
        writer.writerow(["week", week.isoformat(), sum(data.weekly[week].values()), "", "", "", ""])
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
                    _num(r.median_hours),
                    _num(r.p90_hours),
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
        writer.writerow(["activity", label, value, "", "", "", ""])
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
