"""The coordinator's pages: the cluster's schools and their heads."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from network import auth
from network.db import db
from network.errors import FormRejected, form_errors
from network.forms import AdmitSchoolForm, ConfirmForm
from schools import directory, policy
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
    form = AdmitSchoolForm()
    invited = None
    status = 200
    if form.validate_on_submit():
        try:
            with form_errors(form):
                school = directory.admit_school(
                    db(),
                    auth.actor(),
                    cluster,
                    form.name.data or "",
                    form.urn.data or "",
                    form.address.data or "",
                )
                invited = directory.invite(
                    db(),
                    auth.actor(),
                    Role.HEAD,
                    form.head_email.data or "",
                    form.head_name.data or "",
                    school=school,
                )
                form = AdmitSchoolForm(formdata=None)
        except FormRejected:
            status = 422
    elif form.errors:
        status = 422
    link = url_for("auth.accept", token=invited.token, _external=True) if invited else None
    return render_template(
        "cluster/schools.html",
        cluster=cluster,
        form=form,
        invited=invited,
        link=link,
        schools=directory.schools_of(db(), cluster),
    ), status


def _school(school_id: uuid.UUID) -> School:
    school = db().get(School, school_id)
    if school is None:
        abort(404)
    policy.check_school_admin(auth.actor(), school)
    return school


@bp.route("/schools/<uuid:school_id>", methods=["GET"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def school(school_id: uuid.UUID) -> Any:
    school = _school(school_id)
    return render_template(
        "cluster/school.html",
        school=school,
        members=directory.members_of(db(), school),
        invitations=directory.open_invitations(db(), school=school),
        confirm=ConfirmForm(),
        keys=directory.key_generations(db(), school),
    )


@bp.route("/invitations/<uuid:invitation_id>/withdraw", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def withdraw(invitation_id: uuid.UUID) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    directory.withdraw_invitation(db(), auth.actor(), invitation_id)
    flash("The invitation was withdrawn; its link no longer works.", "info")
    return redirect(url_for("cluster.schools"))
