"""What the inbox does besides listing: acknowledging several alerts at once,
marking one unread for oneself, and showing image evidence in the alert's page."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from network import auth, security
from network.alerts import bulk, unread_marks
from network.alerts import evidence as evidence_files
from network.alerts.reading import download
from network.db import db
from network.errors import FormRejected, form_errors
from schools.errors import InvalidInput
from schools.policy import Permission

bp = Blueprint("inbox_actions", __name__, url_prefix="/alerts")


class CsrfForm(FlaskForm):
    """A button's form: its CSRF token, nothing else."""


def _inbox_back() -> str:
    """Back to the page the form was on (the inbox with its filters, or home)."""
    back = auth.safe_next(request.form.get("back"))
    if back and (back.startswith("/alerts") or back == url_for("home.attention")):
        return back
    return url_for("alerts.inbox")


@bp.route("/acknowledge", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def acknowledge_many() -> ResponseReturnValue:
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with form_errors(form):
            ids = [_parse(value) for value in request.form.getlist(bulk.FIELD)]
            done = bulk.acknowledge_many(db(), auth.actor(), auth.school_keys(), ids)
    except FormRejected as rejected:
        if rejected.status == 403:
            abort(403, form.form_errors[0] if form.form_errors else None)
        # Rolled back: nothing was acknowledged. The message names no content.
        flash(f"Nothing was acknowledged. {' '.join(_messages(form))}", "error")
        return redirect(_inbox_back(), 303)
    flash(
        f"Acknowledged {len(done)} {'alert' if len(done) == 1 else 'alerts'}. "
        "Each sender can see that your school has it in hand.",
        "success",
    )
    return redirect(_inbox_back(), 303)


def _parse(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("Choose alerts from the list.", field=bulk.FIELD) from None


def _messages(form: FlaskForm) -> list[str]:
    return [str(m) for m in form.form_errors]


@bp.route("/<uuid:alert_id>/unread", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def mark_unread(alert_id: uuid.UUID) -> ResponseReturnValue:
    if not CsrfForm().validate_on_submit():
        abort(400)
    unread_marks.mark_unread(db(), auth.actor(), alert_id)
    flash("Marked unread for you. Your colleagues' inboxes are unchanged.", "success")
    return redirect(_inbox_back(), 303)


@bp.route("/<uuid:alert_id>/attachments/<uuid:item_id>/preview", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def preview(alert_id: uuid.UUID, item_id: uuid.UUID) -> ResponseReturnValue:
    """An image of the evidence, decrypted for this member only: never cached,
    never a document of its own (the downloads' sandbox), and re-checked and
    re-encoded from its pixels as at upload. Other files: download them."""
    evidence = download(db(), auth.actor(), auth.school_keys(), alert_id, item_id, preview=True)
    image = evidence_files.preview_image(evidence)
    if image is None:
        abort(404, "Only PNG, JPEG and WebP images are shown here: download the file instead.")
    response = Response(image, mimetype=evidence.content_type)
    response.headers.set("Content-Disposition", "inline", filename=evidence.filename)
    response.headers["Content-Security-Policy"] = security.DOWNLOAD_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def previewable(content_type: str) -> bool:
    return content_type in evidence_files.IMAGE_TYPES
