"""The coordinator's dashboard and governors' report, and a head's own figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from network import auth
from network.alerts import vocab
from network.dashboard import report
from network.dashboard.figures import Period
from network.db import db
from schools.errors import InvalidInput
from schools.policy import Permission

bp = Blueprint("dashboard", __name__)


def _period(default_weeks: int = 8) -> tuple[Period | None, str | None]:
    try:
        return Period.parse(
            request.args.get("start"), request.args.get("end"), date.today(), default_weeks
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
    data = report.cluster_figures(db(), auth.actor(), cluster, period)
    return render_template(
        template, data=data, problem=None, cluster=cluster, args=request.args, vocab=vocab
    )


@bp.route("/cluster/dashboard", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def cluster_dashboard() -> Any:
    return _cluster_page("dashboard/cluster.html", 8)


@bp.route("/cluster/report", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def governors_report() -> Any:
    return _cluster_page("dashboard/report.html", 13)


@bp.route("/cluster/report.csv", methods=["GET"])
@auth.requires(Permission.VIEW_CLUSTER_DASHBOARD)
def governors_report_csv() -> Any:
    cluster = auth.actor().cluster
    if cluster is None:
        abort(404)
    period, problem = _period(13)
    if period is None:
        return Response(f"{problem}\n", status=400, mimetype="text/plain")
    data = report.cluster_figures(db(), auth.actor(), cluster, period)
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
    data = report.school_figures(db(), auth.actor(), period)
    return render_template("dashboard/school.html", data=data, problem=None, args=request.args)
