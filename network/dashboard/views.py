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
from network.alerts import vocab
from network.dashboard import report, snapshots
from network.dashboard.figures import Period
from network.db import db
from network.extensions import limiter
from network.forms import ConfirmForm
from network.settings import current as _settings
from schools.db import utcnow
from schools.errors import InvalidInput
from schools.policy import Permission

bp = Blueprint("dashboard", __name__)

# A recomputation can cost the database seconds at a large cluster's volumes.
RECOMPUTE_LIMIT = "10 per minute"
# The pages "Recompute now" may return to, and the period each opens on.
PAGES = {
    "dashboard": ("dashboard.cluster_dashboard", 8),
    "report": ("dashboard.governors_report", 13),
}


def _period(
    default_weeks: int, source: Mapping[str, str] | None = None
) -> tuple[Period | None, str | None]:
    """The chosen period; dates are UTC days, like every figure."""
    values = request.args if source is None else source
    try:
        return Period.parse(
            values.get("start"), values.get("end"), utcnow().date(), default_weeks
        ), None
    except InvalidInput as error:
        return None, error.message


def _cluster_page(template: str, default_weeks: int) -> Any:
    cluster = auth.actor().cluster
    if cluster is None:
        abort(404)
    period, problem = _period(default_weeks)
    if period is None:
        return render_template(
            template, data=None, problem=problem, cluster=cluster, args=request.args, vocab=vocab
        ), 400
    data = report.cluster_figures(db(), auth.actor(), cluster, period, settings=_settings())
    return render_template(
        template,
        data=data,
        problem=None,
        cluster=cluster,
        args=request.args,
        vocab=vocab,
        recompute=ConfirmForm(),
    )


@bp.route("/cluster/dashboard", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def cluster_dashboard() -> Any:
    return _cluster_page("dashboard/cluster.html", PAGES["dashboard"][1])


@bp.route("/cluster/report", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def governors_report() -> Any:
    return _cluster_page("dashboard/report.html", PAGES["report"][1])


@bp.route("/cluster/dashboard/recompute", methods=["POST"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
@limiter.limit(RECOMPUTE_LIMIT, key_func=lambda: str(auth.actor().id))
def recompute() -> Any:
    """ "Recompute now": the period's figures from the database at once, rather
    than from store (docs/dashboard.md, "Freshness")."""
    cluster = auth.actor().cluster
    if cluster is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    endpoint, default_weeks = PAGES.get(request.form.get("page", ""), PAGES["dashboard"])
    period, problem = _period(default_weeks, request.form)
    if period is None:
        return render_template(
            "dashboard/cluster.html",
            data=None,
            problem=problem,
            cluster=cluster,
            args=request.form,
            vocab=vocab,
        ), 400
    snapshots.recompute(db(), cluster.id, period, utcnow())
    return redirect(url_for(endpoint, start=period.start, end=period.end), 303)


@bp.route("/cluster/report.csv", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def governors_report_csv() -> Any:
    cluster = auth.actor().cluster
    if cluster is None:
        abort(404)
    period, problem = _period(PAGES["report"][1])
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
    return render_template("dashboard/school.html", data=data, problem=None, args=request.args)
