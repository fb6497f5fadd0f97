"""The coordinator's pages: the cluster's schools and their heads."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from network import auth
from network.alerts import vocab
from network.alerts.cluster_list import cluster_alerts
from network.db import db
from network.errors import FormRejected, form_errors
from network.forms import AdmitSchoolForm, RetentionForm, SuspendForm
from network.views import submit
from schools import directory, invitations, policy
from schools.models import Cluster, Role, School
from schools.policy import Permission

bp = Blueprint("cluster", __name__, url_prefix="/cluster")


def _cluster() -> Cluster:
    member = auth.actor()
    cluster = member.cluster
    if cluster is None:
        abort(404)
    return cluster


@bp.route("/schools", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def schools() -> Any:
    cluster = _cluster()

    def admit() -> invitations.Invited:
        school = directory.admit_school(
            db(),
            auth.actor(),
            cluster,
            form.name.data or "",
            form.urn.data or "",
            form.address.data or "",
        )
        return invitations.invite(
            db(),
            auth.actor(),
            Role.HEAD,
            form.head_email.data or "",
            form.head_name.data or "",
            school=school,
        )

    form = AdmitSchoolForm()
    form, invited, status = submit(form, admit, lambda: AdmitSchoolForm(formdata=None))
    return render_template(
        "cluster/schools.html",
        cluster=cluster,
        form=form,
        invited=invited,
        schools=directory.schools_of(db(), cluster),
    ), status


def _school(school_id: uuid.UUID) -> School:
    school = db().get(School, school_id)
    if school is None:
        abort(404)
    policy.check_school_admin(auth.actor(), school)
    return school


def _school_page(school: School, status: int = 200, suspend: SuspendForm | None = None) -> Any:
    return render_template(
        "cluster/school.html",
        school=school,
        members=directory.members_of(db(), school),
        invitations=invitations.open_invitations(db(), school=school),
        suspend=suspend or SuspendForm(formdata=None),
        keys=directory.key_generations(db(), school),
        last_activity=directory.last_activity(db(), [school.id]).get(school.id),
    ), status


@bp.route("/schools/<uuid:school_id>", methods=["GET"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def school(school_id: uuid.UUID) -> Any:
    return _school_page(_school(school_id))


@bp.route("/schools/<uuid:school_id>/suspend", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
@auth.recently_confirmed
def suspend(school_id: uuid.UUID) -> Any:
    school = _school(school_id)
    form = SuspendForm()
    try:
        with form_errors(form):
            if not form.validate_on_submit():
                return _school_page(school, 422, form)
            directory.suspend_school(db(), auth.actor(), school, form.reason.data or "")
    except FormRejected as rejected:
        return _school_page(school, rejected.status, form)
    flash(f"{school.name} is suspended: it can neither post nor receive alerts.", "info")
    return redirect(url_for("cluster.school", school_id=school.id), 303)


@bp.route("/schools/<uuid:school_id>/reinstate", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def reinstate(school_id: uuid.UUID) -> Any:
    school = _school(school_id)
    directory.reinstate_school(db(), auth.actor(), school)
    flash(f"{school.name} is reinstated.", "info")
    return redirect(url_for("cluster.school", school_id=school.id), 303)


@bp.route("/schools/<uuid:school_id>/verify/<int:generation>", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def verify(school_id: uuid.UUID, generation: int) -> Any:
    school = _school(school_id)
    directory.verify_fingerprint(db(), auth.actor(), school, generation)
    flash("Fingerprint marked as verified with the head.", "info")
    return redirect(url_for("cluster.school", school_id=school.id), 303)


@bp.route("/settings", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def settings() -> Any:
    cluster = _cluster()
    form = RetentionForm(retention_days=cluster.retention_days)
    status = 200
    if form.validate_on_submit():
        try:
            with form_errors(form):
                directory.set_retention(db(), auth.actor(), cluster, form.retention_days.data or 0)
        except FormRejected as rejected:
            status = rejected.status
        else:
            flash("Retention period saved.", "info")
            return redirect(url_for("cluster.settings"), 303)
    elif form.errors:
        status = 422
    return render_template("cluster/settings.html", cluster=cluster, form=form), status


@bp.route("/alerts", methods=["GET"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def alerts() -> Any:
    rows, next_cursor = cluster_alerts(db(), auth.actor(), request.args.get("cursor"))
    return render_template(
        "cluster/alerts.html",
        rows=rows,
        cluster=_cluster(),
        vocab=vocab,
        next_url=url_for("cluster.alerts", cursor=next_cursor) if next_cursor else None,
    )


@bp.route("/invitations/<uuid:invitation_id>/withdraw", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def withdraw(invitation_id: uuid.UUID) -> Any:
    invitations.withdraw_invitation(db(), auth.actor(), invitation_id)
    flash("The invitation was withdrawn; its link no longer works.", "info")
    return redirect(url_for("cluster.schools"))
