"""The coordinator's dashboard and governors' report, and a head's own figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)

from network import auth
from network.alerts import referrals, vocab
from network.alerts.indicators import WIDELY_SEEN
from network.dashboard import report, school_report
from network.dashboard.figures import Period
from network.db import db
from network.extensions import limiter
from network.settings import current as _settings
from schools.db import utcnow
from schools.errors import InvalidInput
from schools.policy import Permission

bp = Blueprint("dashboard", __name__)

# A recomputation can cost the database seconds at a large cluster's volumes.
RECOMPUTE_LIMIT = "10 per minute"
# The coordinator's pages: the endpoint "Recompute now" returns to, the
# template, and the period each opens on.
PAGES = {
    "dashboard": ("dashboard.cluster_dashboard", "dashboard/cluster.html", 8),
    "report": ("dashboard.governors_report", "dashboard/report.html", 13),
}


def _period(
    default_weeks: int, source: Mapping[str, str] | None = None
) -> tuple[Period | None, InvalidInput | None]:
    """The chosen period, or why the dates given cannot be one (said beside
    the date it is about); dates are UTC days, like every figure."""
    values = request.args if source is None else source
    try:
        return Period.parse(
            values.get("start"), values.get("end"), utcnow().date(), default_weeks
        ), None
    except InvalidInput as error:
        return None, error


def _cluster_page(page: str, source: Mapping[str, str] | None = None) -> Any:
    """The dashboard or the report for the requested period; with ``source``
    (the recompute form) only a bad period renders: otherwise returns None."""
    cluster = auth.actor().cluster
    if cluster is None:
        abort(404)
    _, template, default_weeks = PAGES[page]
    args = request.args if source is None else source
    period, problem = _period(default_weeks, args)
    if period is None:
        return render_template(
            template, data=None, problem=problem, cluster=cluster, args=args, vocab=vocab
        ), 400
    if source is not None:
        report.recompute(db(), auth.actor(), cluster, period, utcnow())
        return redirect(url_for(PAGES[page][0], start=period.start, end=period.end), 303)
    data = report.cluster_figures(db(), auth.actor(), cluster, period, settings=_settings())
    return render_template(
        template,
        data=data,
        problem=None,
        cluster=cluster,
        args=args,
        vocab=vocab,
        widely_seen=WIDELY_SEEN,
    )


@bp.route("/cluster/dashboard", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def cluster_dashboard() -> Any:
    return _cluster_page("dashboard")


@bp.route("/cluster/report", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def governors_report() -> Any:
    return _cluster_page("report")


@bp.route("/cluster/dashboard/recompute", methods=["POST"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
@limiter.limit(RECOMPUTE_LIMIT, key_func=lambda: str(auth.actor().id))
def recompute() -> Any:
    """ "Recompute now": the period's figures from the database at once, rather
    than from store (docs/dashboard.md, "Freshness"); back to the page it came
    from. CSRFProtect has checked the form's token."""
    page = request.form.get("page", "")
    return _cluster_page(page if page in PAGES else "dashboard", request.form)


@bp.route("/cluster/report.csv", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def governors_report_csv() -> Any:
    cluster = auth.actor().cluster
    if cluster is None:
        abort(404)
    period, problem = _period(PAGES["report"][2])
    if period is None:
        return Response(f"{problem}\n", status=400, mimetype="text/plain")
    data = report.cluster_figures(db(), auth.actor(), cluster, period, settings=_settings())
    response = Response(report.report_csv(data), mimetype="text/csv")
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=f"alertnet-report-{period.start}-to-{period.end}.csv",
    )
    return response


@bp.route("/school/dashboard", methods=["GET"])
@auth.requires(Permission.VIEW_SCHOOL_DASHBOARD)
def school_dashboard() -> Any:
    period, problem = _period(13)
    if period is None:
        return render_template(
            "dashboard/school.html", data=None, problem=problem, args=request.args
        ), 400
    data = report.school_figures(db(), auth.actor(), period, settings=_settings(), now=utcnow())
    return render_template(
        "dashboard/school.html", data=data, problem=None, args=request.args, **_follow_ups()
    )


def _follow_ups() -> dict[str, Any]:
    """The school's overdue follow-ups, for its own pages (the referral tracker's clock)."""
    school = auth.actor().school
    now = referrals.clock()
    overdue = referrals.overdue_follow_ups(db(), school, now) if school is not None else []
    return {"overdue": overdue, "today": referrals.day_of(db(), now), "vocab": vocab}


@bp.route("/school/report", methods=["GET"])
@auth.requires(Permission.VIEW_SCHOOL_DASHBOARD)
def school_governors_report() -> Any:
    """A head's report for their governors: their own school's figures."""
    period, problem = _period(PAGES["report"][2])
    if period is None:
        return render_template(
            "dashboard/school_report.html", data=None, problem=problem, args=request.args
        ), 400
    data = school_report.school_report(
        db(), auth.actor(), period, settings=_settings(), now=referrals.clock()
    )
    return render_template(
        "dashboard/school_report.html", data=data, problem=None, args=request.args
    )


@bp.route("/school/report.csv", methods=["GET"])
@auth.requires(Permission.VIEW_SCHOOL_DASHBOARD)
def school_governors_report_csv() -> Any:
    period, problem = _period(PAGES["report"][2])
    if period is None:
        return Response(f"{problem}\n", status=400, mimetype="text/plain")
    data = school_report.school_report(
        db(), auth.actor(), period, settings=_settings(), now=referrals.clock()
    )
    response = Response(school_report.school_report_csv(data), mimetype="text/csv")
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=f"alertnet-school-report-{period.start}-to-{period.end}.csv",
    )
    return response
