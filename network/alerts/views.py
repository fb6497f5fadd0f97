"""Alert pages: the inbox, the Sent box, posting, reading and the thread."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice

from network import auth, security
from network.alerts import evidence as evidence_files
from network.alerts import operations as ops
from network.alerts import vocab
from network.alerts.content import (
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_TITLE,
    AlertContent,
    clean_text,
    parse_links,
)
from network.alerts.forms import (
    AcknowledgeForm,
    ActionForm,
    ForwardForm,
    InboxFilterForm,
    MinimumAgeForm,
    PostAlertForm,
    ReplyForm,
)
from network.alerts.keychain import unlocked
from network.audit.receipts import receipt_for
from network.db import db
from network.errors import FormRejected, form_errors
from schools import policy
from schools.errors import DomainError, InvalidInput
from schools.policy import Permission

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


def _parse_uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("Choose from the list.", field=field) from None


# --- inbox ------------------------------------------------------------------------------


def _box(sent: bool) -> Any:
    actor = auth.actor()
    school = policy.check_reads_alerts(actor)
    form = InboxFilterForm(request.args)
    form.platform.choices = [
        SelectChoice("", "All"),
        *[SelectChoice(p.code, p.name) for p in ops.platforms(db())],
    ]
    senders = ops.possible_senders(db(), school)
    form.sender.choices = [
        SelectChoice("", "Any school"),
        *[SelectChoice(str(s.id), s.name) for s in senders],
    ]
    status = 200
    page = ops.InboxPage([], None)
    try:
        with form_errors(form):
            sender = _parse_uuid(form.sender.data, "sender") if form.sender.data else None
            filters = ops.InboxFilters(
                form.status.data or "",
                form.category.data or "",
                form.severity.data or "",
                form.platform.data or "",
                sender,
            )
            page = ops.inbox_for(
                db(), actor, auth.school_keys(), filters, request.args.get("cursor"), sent=sent
            )
    except FormRejected:
        status = 400
    args = {k: v for k, v in request.args.items() if k != "cursor" and v}
    next_url = (
        url_for(request.endpoint or "alerts.inbox", cursor=page.next_cursor, **args)
        if page.next_cursor
        else None
    )
    return render_template(
        "alerts/inbox.html",
        form=form,
        page=page,
        sent=sent,
        school=school,
        next_url=next_url,
        filtered=bool(args),
        vocab=vocab,
        may_post=_may_post(),
    ), status


def _may_post() -> bool:
    try:
        policy.check_may_post(auth.actor())
    except DomainError:
        return False
    return True


@bp.route("", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def inbox() -> Any:
    return _box(sent=False)


@bp.route("/sent", methods=["GET"])
@auth.requires(Permission.POST_ALERTS)
def sent() -> Any:
    return _box(sent=True)


# --- posting ----------------------------------------------------------------------------


def _post_form(form: PostAlertForm | None = None) -> PostAlertForm:
    form = form or PostAlertForm()
    form.platform.choices = [
        SelectChoice("", "Choose the platform"),
        *[
            SelectChoice(
                p.code, p.name if not p.minimum_age else f"{p.name} (minimum age {p.minimum_age})"
            )
            for p in ops.platforms(db())
        ],
    ]
    form.schools.choices = [
        SelectChoice(str(s.id), s.name) for s in ops.schools_to_choose(db(), auth.actor())
    ]
    return form


def _evidence(files: list[FileStorage]) -> tuple[Any, ...]:
    files = [f for f in files if f and f.filename]
    if len(files) > evidence_files.MAX_FILES:
        raise InvalidInput(f"Attach at most {evidence_files.MAX_FILES} files.", field="evidence")
    prepared = []
    for upload in files:
        data = upload.read(evidence_files.MAX_FILE_BYTES + 1)
        prepared.append(evidence_files.prepare(upload.filename or "", upload.mimetype, data))
    return tuple(prepared)


def _draft(form: PostAlertForm) -> ops.AlertDraft:
    content = AlertContent(
        title=clean_text(form.title.data, "title", "title", MAX_TITLE, required=True),
        description=clean_text(
            form.description.data, "description", "description", MAX_DESCRIPTION
        ),
        links=parse_links(form.links.data, date.today()),
        recommended_action=clean_text(
            form.recommended_action.data, "recommended_action", "recommended action", MAX_NOTE
        ),
    )
    return ops.AlertDraft(
        category=form.category.data or "",
        severity=form.severity.data or "",
        platform=form.platform.data or "",
        tlp=form.tlp.data or "",
        content=content,
        audience=form.audience.data or "",
        school_ids=tuple(_parse_uuid(v, "schools") for v in form.schools.data or []),
        include_coordinator=bool(form.include_coordinator.data),
        evidence=_evidence(form.evidence.data or []),
    )


@bp.route("/new", methods=["GET", "POST"])
@auth.requires(Permission.POST_ALERTS)
def new() -> Any:
    policy.check_may_post(auth.actor())
    form = _post_form()
    if form.validate_on_submit():
        try:
            with form_errors(form):
                keys = unlocked(auth.school_keys())
                alert = ops.post_alert(db(), auth.actor(), keys, _draft(form)).alert
        except FormRejected:
            return render_template("alerts/new.html", form=form, vocab=vocab), 422
        flash(
            f"Alert sent to {alert.recipient_count} "
            f"{'school' if alert.recipient_count == 1 else 'schools'}.",
            "success",
        )
        return redirect(url_for("alerts.show", alert_id=alert.id), 303)
    return render_template("alerts/new.html", form=form, vocab=vocab), 422 if form.errors else 200


# --- reading and the thread ------------------------------------------------------------------


def _show(alert_id: uuid.UUID, status: int = 200, **forms: Any) -> Any:
    opened = ops.open_alert(db(), auth.actor(), auth.school_keys(), alert_id)
    forward = forms.get("forward") or ForwardForm(formdata=None)
    # Forwarding to a school that already has the alert would only duplicate it.
    forward.schools.choices = [
        SelectChoice(str(s.id), s.name)
        for s in ops.forward_choices(db(), auth.actor(), opened.view.alert)
    ]
    return render_template(
        "alerts/show.html",
        opened=opened,
        alert=opened.view.alert,
        vocab=vocab,
        ack=forms.get("ack") or AcknowledgeForm(formdata=None),
        reply=forms.get("reply") or ReplyForm(formdata=None),
        action=forms.get("action") or ActionForm(formdata=None),
        forward=forward,
        may_post=_may_post(),
    ), status


@bp.route("/<uuid:alert_id>", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def show(alert_id: uuid.UUID) -> Any:
    return _show(alert_id)


def _thread_action(alert_id: uuid.UUID, name: str, form: Any, action: Any, done: str) -> Any:
    """Validate a thread form, run the operation, and come back to the alert."""
    if not form.validate_on_submit():
        return _show(alert_id, 422, **{name: form})
    try:
        with form_errors(form):
            action()
    except FormRejected as rejected:
        return _show(alert_id, rejected.status, **{name: form})
    flash(done, "success")
    return redirect(url_for("alerts.show", alert_id=alert_id, _anchor="thread"), 303)


@bp.route("/<uuid:alert_id>/acknowledge", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def acknowledge(alert_id: uuid.UUID) -> Any:
    form = AcknowledgeForm()
    return _thread_action(
        alert_id,
        "ack",
        form,
        lambda: ops.acknowledge(
            db(), auth.actor(), auth.school_keys(), alert_id, form.comment.data or ""
        ),
        "Acknowledged. The sender can see that your school has it in hand.",
    )


@bp.route("/<uuid:alert_id>/reply", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def reply(alert_id: uuid.UUID) -> Any:
    form = ReplyForm()
    return _thread_action(
        alert_id,
        "reply",
        form,
        lambda: ops.reply(
            db(), auth.actor(), unlocked(auth.school_keys()), alert_id, form.text.data or ""
        ),
        "Reply sent to every school that received the alert.",
    )


@bp.route("/<uuid:alert_id>/actions", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def record_action(alert_id: uuid.UUID) -> Any:
    form = ActionForm()
    return _thread_action(
        alert_id,
        "action",
        form,
        lambda: ops.record_action(
            db(),
            auth.actor(),
            unlocked(auth.school_keys()),
            alert_id,
            form.action_type.data or "",
            form.note.data or "",
        ),
        "Action recorded.",
    )


@bp.route("/<uuid:alert_id>/resolve", methods=["POST"])
@auth.requires(Permission.POST_ALERTS)
def resolve(alert_id: uuid.UUID) -> Any:
    form = AcknowledgeForm()  # any bare form: it carries the CSRF token
    return _thread_action(
        alert_id,
        "ack",
        form,
        lambda: ops.resolve(db(), auth.actor(), alert_id),
        "Marked as resolved. Recipients can no longer reply.",
    )


@bp.route("/<uuid:alert_id>/forward", methods=["POST"])
@auth.requires(Permission.POST_ALERTS)
def forward(alert_id: uuid.UUID) -> Any:
    form = ForwardForm()
    form.schools.choices = [
        SelectChoice(str(s.id), s.name) for s in ops.schools_to_choose(db(), auth.actor())
    ]
    if not form.validate_on_submit():
        abort(400)
    try:
        with form_errors(form):
            forwarded = ops.forward(
                db(),
                auth.actor(),
                unlocked(auth.school_keys()),
                alert_id,
                [_parse_uuid(v, "schools") for v in form.schools.data or []],
                form.note.data or "",
            )
    except FormRejected as rejected:
        return _show(alert_id, rejected.status, forward=form)
    flash("Forwarded as a new alert from your school.", "success")
    return redirect(url_for("alerts.show", alert_id=forwarded.alert.id), 303)


@bp.route("/<uuid:alert_id>/receipt.json", methods=["GET"])
@auth.requires(Permission.POST_ALERTS)
def receipt(alert_id: uuid.UUID) -> Any:
    """The sender's receipt: the signed checkpoint and the inclusion proof of
    the alert's "posted" entry, checkable with `alertnet audit verify`."""
    document = receipt_for(db(), ops.posted_entry(db(), auth.actor(), alert_id))
    response = jsonify(document)
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"alertnet-receipt-{alert_id}.json"
    )
    return response


@bp.route("/<uuid:alert_id>/attachments/<uuid:item_id>", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def attachment(alert_id: uuid.UUID, item_id: uuid.UUID) -> Any:
    evidence = ops.download(db(), auth.actor(), auth.school_keys(), alert_id, item_id)
    return security.evidence_download(evidence)


# --- platforms (hub admin) ---------------------------------------------------------------

platforms_bp = Blueprint("platforms", __name__, url_prefix="/admin/platforms")


@platforms_bp.route("", methods=["GET"])
@auth.requires(Permission.MANAGE_PLATFORMS)
def platforms() -> Any:
    return render_template(
        "alerts/platforms.html",
        platforms=ops.platforms(db()),
        form=MinimumAgeForm(formdata=None),
        errors={},
    )


@platforms_bp.route("/<code>", methods=["POST"])
@auth.requires(Permission.MANAGE_PLATFORMS)
def set_minimum_age(code: str) -> Any:
    form = MinimumAgeForm()
    try:
        if not form.validate_on_submit():
            raise InvalidInput(" ".join(form.minimum_age.errors), field="minimum_age")
        ops.set_minimum_age(db(), auth.actor(), code, form.minimum_age.data or 0)
    except InvalidInput as error:
        return render_template(
            "alerts/platforms.html",
            platforms=ops.platforms(db()),
            form=MinimumAgeForm(formdata=None),
            errors={code: error.message},
        ), 422
    flash("Minimum age saved.", "success")
    return redirect(url_for("platforms.platforms"), 303)
