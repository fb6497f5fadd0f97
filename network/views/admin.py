"""The hub admin's pages: clusters and their coordinators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from network import auth
from network.db import db
from network.forms import ClusterForm
from network.views import submit
from schools import directory, invitations
from schools.models import Role
from schools.policy import Permission

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/clusters", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_CLUSTERS)
def clusters() -> Any:
    def create() -> invitations.Invited:
        cluster = directory.create_cluster(db(), auth.actor(), form.name.data or "")
        return invitations.invite(
            db(),
            auth.actor(),
            Role.COORDINATOR,
            form.coordinator_email.data or "",
            form.coordinator_name.data or "",
            cluster=cluster,
        )

    form = ClusterForm()
    form, invited, status = submit(form, create, lambda: ClusterForm(formdata=None))
    return render_template(
        "admin/clusters.html",
        form=form,
        clusters=directory.list_clusters(db()),
        invited=invited,
    ), status
