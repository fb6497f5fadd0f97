"""The head's page naming the school's out-of-hours contact for urgent
alerts due outside school days (network/alerts/out_of_hours.py)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from network import auth
from network.alerts import out_of_hours
from network.alerts.forms import OutOfHoursForm
from network.db import db
from network.errors import FormRejected, also_checked, form_errors
from schools.models import School
from schools.policy import Permission

bp = Blueprint("out_of_hours", __name__, url_prefix="/school/out-of-hours")


def _school() -> School:
    school = auth.actor().school
    if school is None:
        abort(404)
    return school


def _page(form: OutOfHoursForm, status: int = 200) -> ResponseReturnValue:
    school = _school()
    return render_template(
        "school/out_of_hours.html",
        school=school,
        form=form,
        contact=out_of_hours.contact_of(db(), school.id),
    ), status


@bp.route("", methods=["GET", "POST"])
@auth.requires(Permission.SET_OUT_OF_HOURS_CONTACT)
def contact() -> ResponseReturnValue:
    current = out_of_hours.contact_of(db(), _school().id)
    form = OutOfHoursForm(obj=current)
    details = out_of_hours.ContactDetails(
        form.name.data or "", form.email.data or "", form.phone.data or ""
    )
    if not form.validate_on_submit():
        if form.errors:
            also_checked(form, lambda: out_of_hours.check_details(details))
        return _page(form, 422 if form.errors else 200)
    try:
        with form_errors(form):
            out_of_hours.set_contact(db(), auth.actor(), _school(), details)
    except FormRejected as rejected:
        return _page(form, rejected.status)
    flash("Saved: urgent alerts due outside school days are emailed to this contact.", "success")
    return redirect(url_for("out_of_hours.contact"), 303)


@bp.route("/remove", methods=["POST"])
@auth.requires(Permission.SET_OUT_OF_HOURS_CONTACT)
def remove() -> ResponseReturnValue:
    form = OutOfHoursForm()
    if not form.validate_on_submit():
        abort(400)
    out_of_hours.set_contact(db(), auth.actor(), _school(), None)
    flash("The school no longer has an out-of-hours contact.", "info")
    return redirect(url_for("out_of_hours.contact"), 303)
