"""A school's own pages: its members, invitations and keys."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from network import auth
from network.alerts import out_of_hours
from network.alerts import review as alert_review
from network.alerts.forms import ReviewSettingForm
from network.db import db
from network.errors import FormRejected, form_errors
from network.forms import InviteForm, NationForm
from network.views import submit
from schools import directory, factors, invitations, roles
from schools.errors import InvalidInput, KeysLocked
from schools.models import Role, School
from schools.policy import Permission

bp = Blueprint("school", __name__, url_prefix="/school")


def _school() -> School:
    school = auth.actor().school
    if school is None:
        abort(404)
    return school


def _overview(
    form: InviteForm,
    status: int = 200,
    invited: Any = None,
    resent: bool = False,
    nation: NationForm | None = None,
    review: ReviewSettingForm | None = None,
) -> Any:
    school = _school()
    members = directory.members_of(db(), school)
    return render_template(
        "school/overview.html",
        school=school,
        members=members,
        form=form,
        invited=invited,
        resent=resent,
        invitations=invitations.open_invitations(db(), school=school),
        keys=directory.key_generations(db(), school),
        keys_unlocked=auth.school_keys() is not None,
        pending=[m for m in members if m.keys_pending],
        nation=nation or NationForm(formdata=None, nation=school.nation),
        out_of_hours=out_of_hours.contact_of(db(), school.id),
        review=review
        or ReviewSettingForm(
            formdata=None, reviews_staff_alerts="on" if school.reviews_staff_alerts else "off"
        ),
    ), status


@bp.route("", methods=["GET"])
@auth.requires(Permission.VIEW_SCHOOL)
def overview() -> Any:
    return _overview(InviteForm(formdata=None))


@bp.route("/invite", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
def invite() -> Any:
    form = InviteForm()

    def role() -> Role:
        # An unknown role: the form's own validator says so beside the field.
        return Role(form.role.data) if form.role.data in {r.value for r in Role} else Role.STAFF

    form, invited, status = submit(
        form,
        lambda: invitations.invite(
            db(),
            auth.actor(),
            Role(form.role.data),
            form.email.data or "",
            form.name.data or "",
            school=_school(),
            actor_keys=auth.school_keys(),
        ),
        lambda: InviteForm(formdata=None),
        check=lambda: invitations.check_invitation(
            db(), auth.actor(), role(), form.email.data or "", form.name.data or ""
        ),
    )
    return _overview(form, 201 if invited else status, invited)


@bp.route("/members/<uuid:member_id>/remove", methods=["GET"])
@auth.requires(Permission.MANAGE_MEMBERS)
def confirm_remove(member_id: uuid.UUID) -> Any:
    member = factors.member_to_manage(db(), auth.actor(), member_id)
    return render_template("school/confirm_remove.html", member=member)


@bp.route("/members/<uuid:member_id>/remove", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
@auth.recently_confirmed
def remove(member_id: uuid.UUID) -> Any:
    try:
        removed = roles.remove_member(db(), auth.actor(), member_id, auth.school_keys())
    except KeysLocked as locked:
        flash(locked.message, "error")
        return redirect(url_for("school.overview"))
    message = "The member was removed and their sessions ended."
    if removed.keys is not None:
        # The rotation ended every session of the school, this one included.
        auth.renew_session(removed.keys)
        message += (
            f" The school's keys moved to generation {removed.keys.generation}; "
            "everyone else at the school signs in again."
        )
    flash(message, "info")
    if removed.recovery_code_withdrawn:
        flash(
            "They made the school's recovery code, so it no longer works: "
            "make a new one below and keep it safe.",
            "error",
        )
    return redirect(url_for("school.overview"))


@bp.route("/members/<uuid:member_id>/may-post", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
def set_may_post(member_id: uuid.UUID) -> Any:
    choice = request.form.get("may_post", "")
    if choice not in ("yes", "no"):
        raise InvalidInput("Choose whether they may post alerts.", field="may_post")
    member = roles.set_may_post(db(), auth.actor(), member_id, choice == "yes")
    flash(
        f"{member.name} may now post alerts."
        if member.may_post
        else f"{member.name} may no longer post alerts.",
        "info",
    )
    return redirect(url_for("school.overview"), 303)


@bp.route("/members/<uuid:member_id>/role", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
def change_role(member_id: uuid.UUID) -> Any:
    changed = roles.change_role(
        db(), auth.actor(), member_id, request.form.get("role", ""), auth.school_keys()
    )
    message = f"{changed.member.name} is now {changed.member.role_enum.label.lower()}."
    if changed.rotated and changed.keys is not None:
        # The rotation ended every session holding the leadership keys, this one too.
        auth.renew_session(changed.keys)
        message += (
            " Your school's leadership keys moved on without them: what is sealed to your "
            "leadership from now on does not open with anything they hold."
        )
    flash(message, "info")
    return redirect(url_for("school.overview"), 303)


@bp.route("/invitations/<uuid:invitation_id>/withdraw", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
def withdraw(invitation_id: uuid.UUID) -> Any:
    invitations.withdraw_invitation(db(), auth.actor(), invitation_id)
    flash("The invitation was withdrawn; its link no longer works.", "info")
    return redirect(url_for("school.overview"))


@bp.route("/invitations/<uuid:invitation_id>/resend", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
def resend(invitation_id: uuid.UUID) -> Any:
    """A new link for an open invitation; the old one stops working."""
    invited = invitations.resend_invitation(
        db(), auth.actor(), invitation_id, actor_keys=auth.school_keys()
    )
    return _overview(InviteForm(formdata=None), 200, invited, resent=True)


@bp.route("/recovery-code", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
@auth.recently_confirmed
def recovery_code() -> Any:
    keys = auth.school_keys()
    if keys is None:
        raise KeysLocked("Your session does not hold the school's keys; sign in again.")
    code = directory.issue_recovery_code(db(), _school(), keys, auth.actor())
    return render_template("recovery_code.html", code=code, first=False, member=auth.actor())


@bp.route("/nation", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
def nation() -> Any:
    form = NationForm()
    try:
        with form_errors(form):
            if not form.validate_on_submit():
                return _overview(InviteForm(formdata=None), 422, nation=form)
            directory.set_nation(db(), auth.actor(), _school(), form.nation.data or "")
    except FormRejected as rejected:
        return _overview(InviteForm(formdata=None), rejected.status, nation=form)
    flash("Saved: the school's bank holidays are its nation's.", "success")
    return redirect(url_for("school.overview"), 303)


@bp.route("/review", methods=["POST"])
@auth.requires(Permission.MANAGE_MEMBERS)
def review() -> Any:
    """Four-eyes review of alerts from staff, on or off (network/alerts/review.py)."""
    form = ReviewSettingForm()
    try:
        with form_errors(form):
            choice = form.reviews_staff_alerts.data
            if choice not in ("on", "off"):
                raise InvalidInput("Choose on or off.", field="reviews_staff_alerts")
            alert_review.set_review(db(), auth.actor(), _school(), choice == "on")
    except FormRejected as rejected:
        return _overview(InviteForm(formdata=None), rejected.status, review=form)
    flash(
        "Alerts from staff now wait for a head or safeguarding lead to approve them."
        if choice == "on"
        else "Alerts from staff are now sent without review.",
        "success",
    )
    return redirect(url_for("school.overview"), 303)
