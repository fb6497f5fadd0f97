"""The hub admin's pages: clusters and their coordinators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from network import auth
from network.db import db
from network.forms import ClusterForm
from network.views import submit
from schools import directory, onboarding
from schools.policy import Permission

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/clusters", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_CLUSTERS)
def clusters() -> Any:
    form = ClusterForm()

    def fields() -> tuple[str, str, str]:
        return (
            form.name.data or "",
            form.coordinator_email.data or "",
            form.coordinator_name.data or "",
        )

    form, invited, status = submit(
        form,
        lambda: onboarding.create_cluster_with_coordinator(db(), auth.actor(), *fields()),
        lambda: ClusterForm(formdata=None),
        check=lambda: onboarding.check_new_cluster(db(), auth.actor(), *fields()),
    )
    return render_template(
        "admin/clusters.html",
        form=form,
        clusters=directory.list_clusters(db()),
        invited=invited,
    ), status
