"""The alert page's "withdraw a member from this thread" (network/alerts/exclusion.py),
on the alerts blueprint."""

from __future__ import annotations

import uuid

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from network import auth
from network.alerts import exclusion
from network.alerts.views import bp
from network.db import db
from schools.policy import Permission


@bp.route("/<uuid:alert_id>/withdraw-member", methods=["POST"])
@auth.requires(Permission.WITHDRAW_FROM_THREADS)
def withdraw_member(alert_id: uuid.UUID) -> ResponseReturnValue:
    member = exclusion.withdraw_member(
        db(), auth.actor(), alert_id, request.form.get(exclusion.FIELD, "")
    )
    flash(
        f"{member.name} no longer sees this alert. Items added from now on are sealed to "
        "your school's leadership only.",
        "info",
    )
    return redirect(url_for("alerts.show", alert_id=alert_id), 303)
