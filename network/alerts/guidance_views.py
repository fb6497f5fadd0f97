"""The coordinator's pages for the cluster's guidance: every category's text
shown on the post form, a page to write a new version of one (with what
changed and why), and older versions to read (network/alerts/guidance.py)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from network import auth
from network.alerts import guidance as guidance_ops
from network.alerts.forms import GuidanceForm
from network.db import db
from network.errors import FormRejected, also_checked, form_errors
from schools.models import Cluster
from schools.policy import Permission

bp = Blueprint("guidance", __name__, url_prefix="/cluster/guidance")


def _cluster() -> Cluster:
    cluster = auth.actor().cluster
    if cluster is None:
        abort(404)
    return cluster


@bp.route("", methods=["GET"])
@auth.requires(Permission.EDIT_GUIDANCE)
def index() -> ResponseReturnValue:
    cluster = _cluster()
    return render_template(
        "cluster/guidance.html",
        cluster=cluster,
        guidance=guidance_ops.current_guidance(db(), cluster.id),
    )


@bp.route("/<category>", methods=["GET", "POST"])
@auth.requires(Permission.EDIT_GUIDANCE)
def edit(category: str) -> ResponseReturnValue:
    cluster = _cluster()
    versions = guidance_ops.versions_of(db(), auth.actor(), cluster, category)
    current = guidance_ops.current_guidance(db(), cluster.id)[category]
    form = GuidanceForm(data={"text": current.text})
    status = 200
    if form.validate_on_submit():
        try:
            with form_errors(form):
                saved = guidance_ops.edit_guidance(
                    db(),
                    auth.actor(),
                    cluster,
                    category,
                    form.text.data or "",
                    form.summary.data or "",
                )
        except FormRejected as rejected:
            status = rejected.status
        else:
            flash(f"Saved as version {saved.version} of the guidance on {saved.label}.", "success")
            return redirect(url_for("guidance.index"), 303)
    elif form.errors:
        status = 422
        also_checked(
            form,
            lambda: guidance_ops.check_guidance(
                db(), cluster, category, form.text.data or "", form.summary.data or ""
            ),
        )
    return render_template(
        "cluster/guidance_edit.html",
        cluster=cluster,
        current=current,
        versions=versions,
        form=form,
    ), status


@bp.route("/<category>/versions/<int:version>", methods=["GET"])
@auth.requires(Permission.EDIT_GUIDANCE)
def version(category: str, version: int) -> ResponseReturnValue:
    cluster = _cluster()
    shown = guidance_ops.version_of(db(), auth.actor(), cluster, category, version)
    return render_template("cluster/guidance_version.html", cluster=cluster, shown=shown)
