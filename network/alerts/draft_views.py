"""The post form with drafts (issue 17) and the review queue (issue 16).

A submission is checked whole and every problem shown at once; files it
accepted are kept, sealed to the author's own school, in a draft the form
then continues, so a refused submission never loses its evidence."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice

from network import auth, security
from network.alerts import evidence as evidence_files
from network.alerts import guidance as guidance_ops
from network.alerts import held as held_alerts
from network.alerts import named, review, sending, vocab
from network.alerts import platforms as platform_ops
from network.alerts.audience import schools_to_choose
from network.alerts.compose import FormFields, accept_evidence
from network.alerts.content import Evidence
from network.alerts.forms import PostAlertForm, ReviewNoteForm
from network.alerts.held import OpenedHeld
from network.alerts.held_models import HeldState
from network.alerts.keychain import unlocked
from network.alerts.posting import posting_choices
from network.db import db, stands_after_refusal
from network.errors import FormRejected, form_errors, render_error
from schools import policy
from schools.errors import InvalidInput, Problems
from schools.models import Member
from schools.policy import Permission

bp = Blueprint("drafts", __name__, url_prefix="/alerts")


def _post_form(actor: Member) -> PostAlertForm:
    choices = posting_choices(db(), actor)
    form = PostAlertForm()
    form.platform.choices = [
        SelectChoice("", "Choose the platform"),
        *[
            SelectChoice(
                p.code, p.name if not p.minimum_age else f"{p.name} (minimum age {p.minimum_age})"
            )
            for p in choices.platforms
        ],
    ]
    form.schools.choices = [SelectChoice(str(s.id), s.name) for s in choices.schools]
    form.subject_school.choices = [
        SelectChoice("", "No: not a member of a recipient school"),
        *form.schools.choices,
    ]
    form.named.choices = [
        SelectChoice(v, label) for v, label in named.choices(db(), choices.schools)
    ]
    return form


def _fields(form: PostAlertForm) -> FormFields:
    return FormFields(
        **{
            name: str(getattr(form, name).data or "")
            for name in (
                "category",
                "severity",
                "platform",
                "tlp",
                "year_group",
                "title",
                "description",
                "links",
                "accounts",
                "groups",
                "recommended_action",
                "audience",
                "tier",
                "subject_school",
            )
        },
        schools=tuple(str(v) for v in form.schools.data or []),
        include_coordinator=bool(form.include_coordinator.data),
        referred_to=tuple(str(v) for v in form.referred_to.data or []),
        named=tuple(str(v) for v in form.named.data or []),
        references=str(form.references.data or ""),
        referred_on=form.referred_on.data.isoformat() if form.referred_on.data else "",
        dsl_name=str(form.dsl_name.data or ""),
    )


def _fill(form: PostAlertForm, fields: FormFields) -> None:
    for name, value in asdict(fields).items():
        if name in ("schools", "referred_to", "named"):
            getattr(form, name).data = list(value)
        elif name == "referred_on":
            form.referred_on.data = date.fromisoformat(value) if value else None
        else:
            getattr(form, name).data = value


def _uploads(files: list[FileStorage]) -> list[tuple[str, str, bytes]]:
    return [
        (f.filename or "", f.mimetype, f.read(evidence_files.MAX_FILE_BYTES + 1))
        for f in files
        if f and f.filename
    ]


def _removed() -> set[uuid.UUID]:
    removed = set()
    for value in request.form.getlist("remove_evidence"):
        try:
            removed.add(uuid.UUID(value))
        except ValueError:
            continue
    return removed


def _keep_after_refusal(
    actor: Member,
    form: FormFields,
    accepted: list[Evidence],
    held_id: uuid.UUID | None,
    remove: set[uuid.UUID],
) -> uuid.UUID:
    """The refusal rolled the request's transaction back; the draft that keeps
    the accepted files (and what was typed) is written after it, and stands
    with the 422 that follows (committed once, at the end of the request)."""
    kept = held_alerts.save(
        db(), actor, unlocked(auth.school_keys()), form, accepted, held_id=held_id, remove=remove
    )
    stands_after_refusal()
    return kept.id


def post_form(held_id: uuid.UUID | None) -> ResponseReturnValue:
    """GET: the form (a draft's, when resuming one). POST: send, or save a draft."""
    actor = auth.actor()
    form = _post_form(actor)
    opened = held_alerts.open_own(db(), actor, auth.school_keys(), held_id) if held_id else None
    if request.method != "POST":
        if opened is not None:
            _fill(form, opened.fields)
        return _page(form, 200, opened)
    form.validate()
    problems = Problems()
    for name, messages in form.errors.items():
        for message in messages if name else ():
            problems.add(InvalidInput(message, field=name))
    fields = _fields(form)
    remove = _removed()
    kept = len([f for f in opened.files if f.id not in remove]) if opened else 0
    accepted = accept_evidence(_uploads(form.evidence.data or []), kept, problems)
    saving = "save_draft" in request.form
    try:
        with form_errors(form):
            keys = unlocked(auth.school_keys())
            if saving:
                problems.raise_any()
                saved = held_alerts.save(
                    db(), actor, keys, fields, accepted, held_id=held_id, remove=remove
                )
            else:
                submitted = sending.submit(
                    db(),
                    actor,
                    keys,
                    fields,
                    accepted,
                    date.today(),
                    held_id=held_id,
                    remove=remove,
                    problems=problems,
                )
    except FormRejected as rejected:
        if rejected.status != 422 or not (accepted or held_id or saving):
            return _page(form, rejected.status, opened)
        held_id = _keep_after_refusal(actor, fields, accepted, held_id, remove)
        opened = held_alerts.open_own(db(), actor, auth.school_keys(), held_id)
        return _page(form, 422, opened)
    if saving:
        flash(
            "Draft saved, sealed to your school. It is shredded a day after you last save it.",
            "success",
        )
        return redirect(url_for("drafts.edit", held_id=saved.id), 303)
    if submitted.in_review is not None:
        flash(
            "Sent for review: a head or safeguarding lead of your school approves it before "
            "it goes to other schools.",
            "success",
        )
        return redirect(url_for("drafts.index"), 303)
    alert = submitted.alert
    assert alert is not None
    flash(
        f"Alert sent to {alert.recipient_count} "
        f"{'school' if alert.recipient_count == 1 else 'schools'}.",
        "success",
    )
    # The under-age warning names the year group, which is sealed: the alert
    # page shows it from the opened content, never a flash.
    return redirect(url_for("alerts.show", alert_id=alert.id), 303)


def _page(form: PostAlertForm, status: int, opened: OpenedHeld | None) -> ResponseReturnValue:
    """The post form, with every offered platform's reporting links beside it
    and the cluster's guidance for each category."""
    actor = auth.actor()
    return render_template(
        "alerts/new.html",
        form=form,
        vocab=vocab,
        platforms=platform_ops.platforms(db()),
        guidance=guidance_ops.guidance_for(db(), actor),
        opened=opened,
        action=url_for("drafts.edit", held_id=opened.held.id) if opened else "",
        reviewed=policy.needs_review(actor),
        states=HeldState,
    ), status


@bp.route("/drafts", methods=["GET"])
@auth.requires(Permission.POST_ALERTS)
def index() -> ResponseReturnValue:
    actor = auth.actor()
    held = held_alerts.drafts_of(db(), actor)
    titles = held_alerts.titles_of(db(), actor, auth.school_keys(), held)
    return render_template(
        "alerts/drafts.html",
        held=held,
        titles=titles,
        states=HeldState,
        after=held_alerts.ABANDONED_AFTER,
    )


@bp.route("/drafts/<uuid:held_id>", methods=["GET", "POST"])
@auth.requires(Permission.POST_ALERTS)
def edit(held_id: uuid.UUID) -> ResponseReturnValue:
    return post_form(held_id)


@bp.route("/drafts/<uuid:held_id>/files/<uuid:file_id>", methods=["GET"])
@auth.requires(Permission.POST_ALERTS)
def draft_file(held_id: uuid.UUID, file_id: uuid.UUID) -> ResponseReturnValue:
    """A file of the author's own draft."""
    evidence = held_alerts.held_file(db(), auth.actor(), auth.school_keys(), held_id, file_id)
    return security.evidence_download(evidence)


@bp.route("/reviews/<uuid:held_id>/files/<uuid:file_id>", methods=["GET"])
@auth.requires(Permission.REVIEW_ALERTS)
def review_file(held_id: uuid.UUID, file_id: uuid.UUID) -> ResponseReturnValue:
    """A file of an alert waiting for review, for the reviewer to check."""
    evidence = held_alerts.held_file(db(), auth.actor(), auth.school_keys(), held_id, file_id)
    return security.evidence_download(evidence)


@bp.route("/drafts/<uuid:held_id>/discard", methods=["POST"])
@auth.requires(Permission.POST_ALERTS)
def discard(held_id: uuid.UUID) -> ResponseReturnValue:
    held_alerts.discard(db(), auth.actor(), held_id)
    flash("Draft discarded: its content and files were shredded.", "info")
    return redirect(url_for("drafts.index"), 303)


# --- four-eyes review ---------------------------------------------------------------------


@bp.route("/reviews", methods=["GET"])
@auth.requires(Permission.REVIEW_ALERTS)
def queue() -> ResponseReturnValue:
    actor = auth.actor()
    waiting = review.queue_of(db(), actor)
    titles = held_alerts.titles_of(db(), actor, auth.school_keys(), waiting)
    return render_template("alerts/reviews.html", waiting=waiting, titles=titles)


def _review_page(
    held_id: uuid.UUID, status: int = 200, **forms: ReviewNoteForm
) -> ResponseReturnValue:
    actor = auth.actor()
    opened = held_alerts.open_held(db(), actor, auth.school_keys(), held_id)
    rejection = forms.get("rejection") or ReviewNoteForm(formdata=None, prefix="reject")
    rejection.text.label.text = "Reason, for the author"
    return render_template(
        "alerts/review.html",
        opened=opened,
        own=opened.held.author_id == actor.id,
        changes=forms.get("changes") or ReviewNoteForm(formdata=None, prefix="changes"),
        rejection=rejection,
        vocab=vocab,
        platform_names={p.code: p.name for p in platform_ops.platforms(db())},
        school_names={str(s.id): s.name for s in schools_to_choose(db(), actor)},
    ), status


@bp.route("/reviews/<uuid:held_id>", methods=["GET"])
@auth.requires(Permission.REVIEW_ALERTS)
def show_review(held_id: uuid.UUID) -> ResponseReturnValue:
    return _review_page(held_id)


@bp.route("/reviews/<uuid:held_id>/approve", methods=["POST"])
@auth.requires(Permission.REVIEW_ALERTS)
def approve(held_id: uuid.UUID) -> ResponseReturnValue:
    keys = unlocked(auth.school_keys())
    alert = review.approve(db(), auth.actor(), keys, held_id, date.today())
    flash("Approved: the alert was sealed to its schools and sent.", "success")
    return redirect(url_for("alerts.show", alert_id=alert.id), 303)


def _send_back(held_id: uuid.UUID, rejecting: bool) -> ResponseReturnValue:
    # Refusing the person (a suspended school) is a 403 page, not the form again.
    review.check_reviewer(auth.actor(), "reject alerts" if rejecting else "ask for changes")
    form = ReviewNoteForm(prefix="reject" if rejecting else "changes")
    try:
        with form_errors(form):
            if not form.validate_on_submit():
                raise FormRejected(422)
            keys = unlocked(auth.school_keys())
            decide = review.reject if rejecting else review.request_changes
            decide(db(), auth.actor(), keys, held_id, form.text.data)
    except FormRejected as rejected:
        if rejected.status != 422:  # decided already, or not theirs to decide
            return render_error(rejected.status, " ".join(form.form_errors) or None)
        page = {"rejection" if rejecting else "changes": form}
        return _review_page(held_id, rejected.status, **page)
    flash(
        "Rejected: the author is told, with your reason."
        if rejecting
        else "Sent back to the author with your note.",
        "info",
    )
    return redirect(url_for("drafts.queue"), 303)


@bp.route("/reviews/<uuid:held_id>/changes", methods=["POST"])
@auth.requires(Permission.REVIEW_ALERTS)
def request_changes(held_id: uuid.UUID) -> ResponseReturnValue:
    return _send_back(held_id, rejecting=False)


@bp.route("/reviews/<uuid:held_id>/reject", methods=["POST"])
@auth.requires(Permission.REVIEW_ALERTS)
def reject(held_id: uuid.UUID) -> ResponseReturnValue:
    return _send_back(held_id, rejecting=True)
