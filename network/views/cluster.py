"""The coordinator's pages: the cluster's schools and their heads."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from network import auth
from network.alerts import retention, school_calendar, vocab
from network.alerts.cluster_list import cluster_alerts
from network.alerts.forms import RetentionForm
from network.db import db
from network.errors import FormRejected, also_checked, form_errors, show_error
from network.forms import AdmitSchoolForm, InsetForm, SuspendForm, TermForm
from network.views import submit
from schools import directory, invitations, onboarding, policy
from schools.db import utcnow
from schools.models import Cluster, Nation, School
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

    def fields() -> tuple[str, str, str, str, str]:
        return (
            form.name.data or "",
            form.urn.data or "",
            form.address.data or "",
            form.head_email.data or "",
            form.head_name.data or "",
        )

    form, invited, status = submit(
        form,
        lambda: onboarding.admit_school_with_head(db(), auth.actor(), cluster, *fields()),
        lambda: AdmitSchoolForm(formdata=None),
        check=lambda: onboarding.check_new_school(db(), auth.actor(), *fields()),
    )
    return render_template(
        "cluster/schools.html",
        cluster=cluster,
        form=form,
        invited=invited,
        schools=directory.schools_of(db(), cluster),
    ), status


def _school(school_id: uuid.UUID) -> School:
    school = db().get(School, school_id)
    if school is None:
        abort(404)
    policy.check_school_admin(auth.actor(), school)
    return school


def _school_page(
    school: School,
    status: int = 200,
    suspend: SuspendForm | None = None,
    invited: invitations.Invited | None = None,
) -> Any:
    return render_template(
        "cluster/school.html",
        school=school,
        invited=invited,
        resent=invited is not None,
        members=directory.members_of(db(), school),
        invitations=invitations.open_invitations(db(), school=school),
        suspend=suspend or SuspendForm(formdata=None),
        keys=directory.key_generations(db(), school),
        last_activity=directory.last_activity(db(), [school.id]).get(school.id),
    ), status


@bp.route("/schools/<uuid:school_id>", methods=["GET"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def school(school_id: uuid.UUID) -> Any:
    return _school_page(_school(school_id))


@bp.route("/schools/<uuid:school_id>/suspend", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
@auth.recently_confirmed
def suspend(school_id: uuid.UUID) -> Any:
    school = _school(school_id)
    form = SuspendForm()
    try:
        with form_errors(form):
            if not form.validate_on_submit():
                return _school_page(school, 422, form)
            directory.suspend_school(db(), auth.actor(), school, form.reason.data or "")
    except FormRejected as rejected:
        return _school_page(school, rejected.status, form)
    flash(f"{school.name} is suspended: it can neither post nor receive alerts.", "info")
    return redirect(url_for("cluster.school", school_id=school.id), 303)


@bp.route("/schools/<uuid:school_id>/reinstate", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def reinstate(school_id: uuid.UUID) -> Any:
    school = _school(school_id)
    directory.reinstate_school(db(), auth.actor(), school)
    flash(f"{school.name} is reinstated.", "info")
    return redirect(url_for("cluster.school", school_id=school.id), 303)


@bp.route("/schools/<uuid:school_id>/verify/<int:generation>", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def verify(school_id: uuid.UUID, generation: int) -> Any:
    school = _school(school_id)
    directory.verify_fingerprint(db(), auth.actor(), school, generation)
    flash("Fingerprint marked as verified with the head.", "info")
    return redirect(url_for("cluster.school", school_id=school.id), 303)


def _typed_periods(form: RetentionForm) -> dict[str, int]:
    """The periods the form's own validators accepted."""
    periods = {}
    for term in vocab.CATEGORIES:
        field = form[f"days_{term.code}"]
        if not field.errors and isinstance(field.data, int):
            periods[term.code] = field.data
    return periods


def _held_problems(form: RetentionForm, cluster: Cluster) -> None:
    """Every period an alert under a legal hold is older than, beside its
    field, with whatever else the form refused: every problem at once."""
    for name, message in retention.held_too_long(db(), cluster, _typed_periods(form)):
        show_error(form, name, message)


@bp.route("/settings", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def settings() -> Any:
    cluster = _cluster()
    form = RetentionForm.for_periods(retention.periods_for(db(), cluster.id))
    status = 200
    if form.validate_on_submit():
        try:
            with form_errors(form):
                retention.set_retention(db(), auth.actor(), cluster, form.periods())
        except FormRejected as rejected:
            status = rejected.status
            _held_problems(form, cluster)
        else:
            flash("Retention periods saved.", "info")
            return redirect(url_for("cluster.settings"), 303)
    elif form.errors:
        status = 422
        also_checked(form, lambda: retention.check_periods(_typed_periods(form)))
        _held_problems(form, cluster)
    return render_template(
        "cluster/settings.html",
        cluster=cluster,
        form=form,
        vocab=vocab,
        defaults=retention.DEFAULT_RETENTION_DAYS,
        limits=(retention.MIN_RETENTION_DAYS, retention.MAX_RETENTION_DAYS),
    ), status


@bp.route("/alerts", methods=["GET"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def alerts() -> Any:
    rows, next_cursor = cluster_alerts(db(), auth.actor(), request.args.get("cursor"))
    return render_template(
        "cluster/alerts.html",
        rows=rows,
        cluster=_cluster(),
        vocab=vocab,
        next_url=url_for("cluster.alerts", cursor=next_cursor) if next_cursor else None,
    )


@bp.route("/invitations/<uuid:invitation_id>/resend", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def resend(invitation_id: uuid.UUID) -> Any:
    """A new link for a head's open invitation; the old one stops working."""
    invited = invitations.resend_invitation(db(), auth.actor(), invitation_id)
    school = invited.invitation.school
    if school is None:
        abort(404)
    return _school_page(school, 200, invited=invited)


@bp.route("/invitations/<uuid:invitation_id>/withdraw", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def withdraw(invitation_id: uuid.UUID) -> Any:
    invitations.withdraw_invitation(db(), auth.actor(), invitation_id)
    flash("The invitation was withdrawn; its link no longer works.", "info")
    return redirect(url_for("cluster.schools"))


# --- the cluster's calendar: terms and INSET days ----------------------------------------


def _calendar_page(
    term: TermForm | None = None, inset: InsetForm | None = None, status: int = 200
) -> Any:
    cluster = _cluster()
    today = utcnow().date()
    nations = {s.nation for s, _, _ in directory.schools_of(db(), cluster)} or {
        Nation.ENGLAND_WALES
    }
    return render_template(
        "cluster/calendar.html",
        cluster=cluster,
        entries=school_calendar.entries_of(db(), cluster),
        holidays=school_calendar.holidays_between(nations, today, today + timedelta(days=365)),
        term=term or TermForm(formdata=None),
        inset=inset or InsetForm(formdata=None),
    ), status


@bp.route("/calendar", methods=["GET"])
@auth.requires(Permission.SET_ACK_DEADLINES)
def calendar() -> Any:
    return _calendar_page()


@bp.route("/calendar/terms", methods=["POST"])
@auth.requires(Permission.SET_ACK_DEADLINES)
def add_term() -> Any:
    form = TermForm()
    try:
        with form_errors(form):
            if not form.validate_on_submit():
                also_checked(
                    form,
                    lambda: school_calendar.check_term(
                        form.name.data or "", form.starts_on.data, form.ends_on.data
                    ),
                )
                return _calendar_page(term=form, status=422)
            name, first, last = school_calendar.check_term(
                form.name.data or "", form.starts_on.data, form.ends_on.data
            )
            school_calendar.add_term(db(), auth.actor(), _cluster(), name, first, last)
    except FormRejected as rejected:
        return _calendar_page(term=form, status=rejected.status)
    flash("Term added.", "success")
    return redirect(url_for("cluster.calendar"), 303)


@bp.route("/calendar/inset", methods=["POST"])
@auth.requires(Permission.SET_ACK_DEADLINES)
def add_inset() -> Any:
    form = InsetForm()
    try:
        with form_errors(form):
            if not form.validate_on_submit():
                return _calendar_page(inset=form, status=422)
            school_calendar.add_inset_day(
                db(),
                auth.actor(),
                _cluster(),
                school_calendar.parse_day(form.day.data, "day", "INSET day"),
            )
    except FormRejected as rejected:
        return _calendar_page(inset=form, status=rejected.status)
    flash("INSET day added.", "success")
    return redirect(url_for("cluster.calendar"), 303)


@bp.route("/calendar/<int:entry_id>/remove", methods=["POST"])
@auth.requires(Permission.SET_ACK_DEADLINES)
def remove_calendar_entry(entry_id: int) -> Any:
    removed = school_calendar.remove_entry(db(), auth.actor(), _cluster(), entry_id)
    flash(f"{removed.name} removed from the calendar.", "info")
    return redirect(url_for("cluster.calendar"), 303)
