"""The hub admin's pages: clusters and their coordinators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for

from network import auth
from network.db import db
from network.errors import FormRejected, form_errors
from network.forms import ClusterForm
from schools import directory
from schools.models import Role
from schools.policy import Permission

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/clusters", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_CLUSTERS)
def clusters() -> Any:
    form = ClusterForm()
    invited = None
    status = 200
    if form.validate_on_submit():
        try:
            with form_errors(form):
                cluster = directory.create_cluster(db(), auth.actor(), form.name.data or "")
                invited = directory.invite(
                    db(),
                    auth.actor(),
                    Role.COORDINATOR,
                    form.coordinator_email.data or "",
                    form.coordinator_name.data or "",
                    cluster=cluster,
                )
                form = ClusterForm(formdata=None)
        except FormRejected:
            status = 422
    elif form.errors:
        status = 422
    link = url_for("auth.accept", token=invited.token, _external=True) if invited else None
    return render_template(
        "admin/clusters.html",
        form=form,
        clusters=directory.list_clusters(db()),
        invited=invited,
        link=link,
    ), status
