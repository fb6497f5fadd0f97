"""Alert pages: the inbox, the Sent box, posting, reading and the thread."""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from network import auth, security
from network.alerts import (
    closing,
    draft_views,
    exclusion,
    forwarding,
    receipts,
    referrals,
    retention,
    thread,
    vocab,
    withdrawal,
)
from network.alerts import platforms as platform_ops
from network.alerts.audience import schools_to_choose
from network.alerts.forms import (
    AcknowledgeForm,
    ActionForm,
    CloseForm,
    CorrectionForm,
    ForwardForm,
    HoldForm,
    InboxFilterForm,
    PlatformForm,
    ReplyForm,
    ResolveForm,
    SightingForm,
    WithdrawForm,
)
from network.alerts.inbox import InboxFilters, InboxPage, inbox_for
from network.alerts.inbox_choices import inbox_choices
from network.alerts.inbox_page import AlertUrl, filter_options
from network.alerts.keychain import unlocked
from network.alerts.reading import alert_page, download
from network.db import db
from network.errors import FormRejected, also_checked, form_errors
from schools.db import utcnow
from schools.errors import InvalidInput
from schools.policy import Permission

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


def _parse_uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("Choose from the list.", field=field) from None


# --- inbox ------------------------------------------------------------------------------


def _box(sent: bool) -> ResponseReturnValue:
    actor = auth.actor()
    choices = inbox_choices(db(), actor)
    form = InboxFilterForm(request.args)
    status = 200
    page = InboxPage([], None)
    try:
        with form_errors(form):
            sender = _parse_uuid(form.sender.data, "sender") if form.sender.data else None
            filters = InboxFilters(
                form.status.data or "",
                form.category.data or "",
                form.severity.data or "",
                form.platform.data or "",
                sender,
                q=form.q.data or "",
            )
            page = inbox_for(
                db(), actor, auth.school_keys(), filters, request.args.get("cursor"), sent=sent
            )
    except FormRejected:
        status = 400
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor" and v}
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
        school=choices.school,
        next_url=next_url,
        filtered=bool(args),
        searched=bool(args.get("q")),
        narrowed=any(k != "q" for k in args),
        vocab=vocab,
        may_post=choices.may_post,
        filter_options=filter_options(form, choices),
        show_url=AlertUrl("alerts.show"),
        unread_url=AlertUrl("inbox_actions.mark_unread"),
    ), status


@bp.route("", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def inbox() -> ResponseReturnValue:
    return _box(sent=False)


@bp.route("/sent", methods=["GET"])
@auth.requires(Permission.POST_ALERTS)
def sent() -> ResponseReturnValue:
    return _box(sent=True)


# --- posting ----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@auth.requires(Permission.POST_ALERTS)
def new() -> ResponseReturnValue:
    # The form, its drafts and its checks: network/alerts/draft_views.py.
    return draft_views.post_form(held_id=None)


@bp.app_template_global()
def year_group_label(code: str) -> str:
    return platform_ops.year_group_label(code)


@bp.app_template_global()
def under_age_warning(year_group: str, platform: Any) -> str:
    return platform_ops.under_age_warning(year_group, platform)


# --- reading and the thread ------------------------------------------------------------------


def _show(alert_id: uuid.UUID, status: int = 200, **forms: Any) -> ResponseReturnValue:
    page = alert_page(db(), auth.actor(), auth.school_keys(), alert_id)
    alert = page.opened.view.alert
    forward = forms.get("forward") or ForwardForm(formdata=None)
    forward.schools.choices = [SelectChoice(str(s.id), s.name) for s in page.forward_to]
    return render_template(
        "alerts/show.html",
        opened=page.opened,
        alert=page.opened.view.alert,
        vocab=vocab,
        ack=forms.get("ack") or AcknowledgeForm(formdata=None),
        reply=forms.get("reply") or ReplyForm(formdata=None),
        action=forms.get("action") or ActionForm(formdata=None),
        sighting=forms.get("sighting") or SightingForm(formdata=None),
        forward=forward,
        withdraw=forms.get("withdraw") or WithdrawForm(formdata=None),
        correction=forms.get("correction") or CorrectionForm(formdata=None),
        close=forms.get("close") or CloseForm(formdata=None),
        resolve=forms.get("resolve") or ResolveForm(formdata=None),
        forwarding_allowed=page.forwarding_allowed,
        named_only=page.named_only,
        may_forward=page.may_forward,
        may_amend=page.may_amend,
        hold=retention.hold_state(db(), auth.actor(), alert),
        withdrawable=exclusion.withdrawable_members(db(), auth.actor(), page.opened.view),
    ), status


@bp.route("/<uuid:alert_id>", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def show(alert_id: uuid.UUID) -> ResponseReturnValue:
    return _show(alert_id)


def _thread_action(
    alert_id: uuid.UUID,
    name: str,
    form: Any,
    action: Callable[[], object],
    done: str,
    check: Callable[[], object] | None = None,
) -> ResponseReturnValue:
    """Validate a thread form, run the operation, and come back to the alert.
    When the form's own validators refuse it, ``check`` (the service's checks
    of the same fields, writing nothing) runs too: every problem at once."""
    if not form.validate_on_submit():
        if form.errors and check is not None:
            also_checked(form, check)
        return _show(alert_id, 422, **{name: form})
    try:
        with form_errors(form):
            action()
    except FormRejected as rejected:
        return _show(alert_id, rejected.status, **{name: form})
    flash(done, "success")
    return redirect(url_for("alerts.show", alert_id=alert_id, _anchor="thread"), 303)


@bp.route("/<uuid:alert_id>/hold", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def place_hold(alert_id: uuid.UUID) -> ResponseReturnValue:
    """The coordinator keeps the alert whatever its retention period."""
    if not HoldForm().validate_on_submit():
        abort(400)
    retention.place_hold(db(), auth.actor(), alert_id)
    flash("Legal hold placed: the alert will not be shredded until it is released.", "info")
    return redirect(url_for("alerts.show", alert_id=alert_id), 303)


@bp.route("/<uuid:alert_id>/release-hold", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
def release_hold(alert_id: uuid.UUID) -> ResponseReturnValue:
    if not HoldForm().validate_on_submit():
        abort(400)
    retention.release_hold(db(), auth.actor(), alert_id)
    flash("Legal hold released: the alert follows its retention period again.", "info")
    return redirect(url_for("alerts.show", alert_id=alert_id), 303)


@bp.route("/<uuid:alert_id>/acknowledge", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def acknowledge(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = AcknowledgeForm()
    return _thread_action(
        alert_id,
        "ack",
        form,
        lambda: thread.acknowledge(
            db(), auth.actor(), auth.school_keys(), alert_id, form.comment.data or ""
        ),
        "Acknowledged. The sender can see that your school has it in hand.",
    )


@bp.route("/<uuid:alert_id>/reply", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def reply(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = ReplyForm()
    return _thread_action(
        alert_id,
        "reply",
        form,
        lambda: thread.reply(
            db(), auth.actor(), unlocked(auth.school_keys()), alert_id, form.text.data or ""
        ),
        "Reply sent to every school that received the alert.",
    )


@bp.route("/<uuid:alert_id>/actions", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def record_action(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = ActionForm()
    given = referrals.ReferralInput(
        form.action_type.data or "",
        form.note.data or "",
        form.reference.data or "",
        form.referred_on.data,
        form.due_on.data,
    )
    return _thread_action(
        alert_id,
        "action",
        form,
        lambda: referrals.record_action(
            db(), auth.actor(), unlocked(auth.school_keys()), alert_id, given
        ),
        "Action recorded. Your school's referrals and follow-ups are under Referrals.",
        check=lambda: referrals.check_action(given, referrals.day_of(db(), referrals.clock())),
    )


@bp.route("/<uuid:alert_id>/sightings", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def record_sighting(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = SightingForm()
    return _thread_action(
        alert_id,
        "sighting",
        form,
        lambda: thread.record_sighting(
            db(),
            auth.actor(),
            unlocked(auth.school_keys()),
            alert_id,
            form.seen_on.data,
            form.where.data or "",
        ),
        "Recorded: the sender and the other schools can see your school has seen this too.",
        check=lambda: thread.check_sighting(
            form.seen_on.data, form.where.data or "", utcnow().date()
        ),
    )


@bp.route("/<uuid:alert_id>/resolve", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def resolve(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = ResolveForm()
    return _thread_action(
        alert_id,
        "resolve",
        form,
        lambda: closing.resolve(
            db(),
            auth.actor(),
            unlocked(auth.school_keys()),
            alert_id,
            form.resolve_note.data or "",
            bool(form.confirm.data),
        ),
        "Resolved for your school. Recipients can still acknowledge, reply and record actions.",
    )


@bp.route("/<uuid:alert_id>/close", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def close(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = CloseForm()
    return _thread_action(
        alert_id,
        "close",
        form,
        lambda: closing.close(
            db(), auth.actor(), unlocked(auth.school_keys()), alert_id, form.close_note.data or ""
        ),
        "Closed for your school. Other schools' status is unchanged; you can reopen it.",
    )


@bp.route("/<uuid:alert_id>/reopen", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def reopen(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = AcknowledgeForm()  # any bare form: it carries the CSRF token
    return _thread_action(
        alert_id,
        "ack",
        form,
        lambda: closing.reopen(db(), auth.actor(), alert_id),
        "Reopened for your school.",
    )


@bp.route("/<uuid:alert_id>/withdraw", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def withdraw(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = WithdrawForm()
    return _thread_action(
        alert_id,
        "withdraw",
        form,
        lambda: withdrawal.withdraw(
            db(), auth.actor(), unlocked(auth.school_keys()), alert_id, form.reason.data or ""
        ),
        "Withdrawn. Its content was destroyed at every school; they see your reason.",
    )


@bp.route("/<uuid:alert_id>/corrections", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def correct(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = CorrectionForm()
    return _thread_action(
        alert_id,
        "correction",
        form,
        lambda: withdrawal.correct(
            db(), auth.actor(), unlocked(auth.school_keys()), alert_id, form.correction.data or ""
        ),
        "Correction sent to every school that received the alert.",
    )


@bp.route("/<uuid:alert_id>/forward", methods=["POST"])
@auth.requires(Permission.POST_ALERTS)
def forward(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = ForwardForm()
    form.schools.choices = [
        SelectChoice(str(s.id), s.name) for s in schools_to_choose(db(), auth.actor())
    ]

    def chosen() -> list[uuid.UUID]:
        return [_parse_uuid(v, "schools") for v in form.schools.data or []]

    if not form.validate_on_submit():
        also_checked(
            form,
            lambda: forwarding.check_forward_of(
                db(), auth.actor(), alert_id, chosen(), form.note.data or ""
            ),
        )
        return _show(alert_id, 422, forward=form)
    try:
        with form_errors(form):
            forwarded = forwarding.forward(
                db(),
                auth.actor(),
                unlocked(auth.school_keys()),
                alert_id,
                chosen(),
                form.note.data or "",
            )
    except FormRejected as rejected:
        return _show(alert_id, rejected.status, forward=form)
    flash("Forwarded as a new alert from your school.", "success")
    return redirect(url_for("alerts.show", alert_id=forwarded.alert.id), 303)


@bp.route("/<uuid:alert_id>/receipt.json", methods=["GET"])
@auth.requires(Permission.POST_ALERTS)
def receipt(alert_id: uuid.UUID) -> ResponseReturnValue:
    """The sender's receipt, to download."""
    response = jsonify(receipts.receipt(db(), auth.actor(), alert_id))
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"alertnet-receipt-{alert_id}.json"
    )
    return response


@bp.route("/<uuid:alert_id>/attachments/<uuid:item_id>", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def attachment(alert_id: uuid.UUID, item_id: uuid.UUID) -> ResponseReturnValue:
    evidence = download(db(), auth.actor(), auth.school_keys(), alert_id, item_id)
    return security.evidence_download(evidence)


# --- platforms (hub admin) ---------------------------------------------------------------

platforms_bp = Blueprint("platforms", __name__, url_prefix="/admin/platforms")


def _details(form: PlatformForm) -> platform_ops.PlatformDetails:
    return platform_ops.PlatformDetails(
        name=form.name.data or "",
        minimum_age=form.minimum_age.data if form.minimum_age.data is not None else -1,
        reporting_url=form.reporting_url.data or "",
        underage_reporting_url=form.underage_reporting_url.data or "",
    )


def _platforms_page(form: PlatformForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "alerts/platforms.html",
        platforms=platform_ops.platforms(db(), include_retired=True),
        form=form,
    ), status


@platforms_bp.route("", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_PLATFORMS)
def platforms() -> ResponseReturnValue:
    form = PlatformForm()
    if not form.validate_on_submit():
        if form.is_submitted():
            also_checked(form, lambda: platform_ops.check_new(form.code.data or "", _details(form)))
        return _platforms_page(form, 422 if form.errors else 200)
    try:
        with form_errors(form):
            added = platform_ops.add_platform(
                db(), auth.actor(), form.code.data or "", _details(form)
            )
    except FormRejected as rejected:
        return _platforms_page(form, rejected.status)
    flash(f"{added.name} added.", "success")
    return redirect(url_for("platforms.platforms"), 303)


@platforms_bp.route("/<code>", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_PLATFORMS)
def edit(code: str) -> ResponseReturnValue:
    platform = platform_ops.platform_named(db(), code)
    form = PlatformForm(obj=platform)
    status = 200
    if form.validate_on_submit():
        try:
            with form_errors(form):
                platform_ops.edit_platform(db(), auth.actor(), code, _details(form))
        except FormRejected as rejected:
            status = rejected.status
        else:
            flash(f"{platform.name} saved.", "success")
            return redirect(url_for("platforms.platforms"), 303)
    elif form.errors:
        also_checked(form, lambda: platform_ops.check_details(_details(form)))
        status = 422
    return render_template("alerts/platform.html", platform=platform, form=form), status


@platforms_bp.route("/<code>/retire", methods=["POST"])
@auth.requires(Permission.MANAGE_PLATFORMS)
def retire(code: str) -> ResponseReturnValue:
    retired = platform_ops.retire_platform(db(), auth.actor(), code)
    flash(f"{retired.name} is retired: new alerts can no longer be filed under it.", "info")
    return redirect(url_for("platforms.platforms"), 303)
