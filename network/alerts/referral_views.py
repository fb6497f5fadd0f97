"""A school's referrals and steps, and recording what came of one
(network/alerts/referrals.py). Recording the referral itself is the alert
page's "Record an action"."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from network import auth
from network.alerts import referrals, vocab
from network.alerts.forms import OutcomeForm
from network.alerts.keychain import unlocked
from network.db import db
from network.errors import FormRejected, also_checked, form_errors
from schools.policy import Permission

bp = Blueprint("referrals", __name__, url_prefix="/school/referrals")


@bp.route("", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def index() -> ResponseReturnValue:
    school = auth.actor().school
    if school is None:
        abort(404)
    now = referrals.clock()
    return render_template(
        "alerts/referrals.html",
        rows=referrals.school_referrals(db(), school),
        overdue=referrals.overdue_follow_ups(db(), school, now),
        today=referrals.day_of(db(), now),
        vocab=vocab,
    )


@bp.route("/<uuid:referral_id>/outcome", methods=["GET", "POST"])
@auth.requires(Permission.READ_ALERTS)
def outcome(referral_id: uuid.UUID) -> ResponseReturnValue:
    form = OutcomeForm()
    doing = "record outcomes" if form.is_submitted() else None
    referral = referrals.referral_of(db(), auth.actor(), referral_id, doing)
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                with form_errors(form):
                    referrals.record_outcome(
                        db(),
                        auth.actor(),
                        unlocked(auth.school_keys()),
                        referral_id,
                        form.outcome.data or "",
                        form.note.data or "",
                        form.next_due_on.data,
                        now=referrals.clock(),
                    )
                flash("Outcome recorded in the alert's thread.", "success")
                return redirect(url_for("referrals.index"), 303)
            except FormRejected as rejected:
                status = rejected.status
        else:
            also_checked(
                form,
                lambda: referrals.check_outcome(
                    form.outcome.data or "",
                    form.note.data or "",
                    form.next_due_on.data,
                    referrals.day_of(db(), referrals.clock()),
                ),
            )
    return render_template("alerts/outcome.html", referral=referral, form=form, vocab=vocab), status
