"""Notification pages: in-hub notices, subscriptions, the delivery log, watches,
acknowledgement deadlines, the live unread count and the demo's mail catcher."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
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
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from network import auth
from network.alerts import referrals, vocab
from network.alerts.deadlines import (
    Deadline,
    check_deadlines,
    deadlines_for,
    local_zone,
    set_deadlines,
)
from network.db import db
from network.errors import FormRejected, also_checked, form_errors
from network.notifications import delivery_log, feed, mailbox, render, subscriptions, watches
from network.notifications.digests import DEFAULT_DIGEST_TIME
from network.notifications.forms import CHANNEL_HINTS, DeadlinesForm, SubscriptionForm, WatchForm
from network.notifications.models import Channel, Subscription, Watch
from network.settings import current as _settings
from schools import policy
from schools.errors import InvalidInput
from schools.policy import Permission

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@dataclass(frozen=True)
class WatchPanel:
    """The alert page's watch panel (templates/notifications/_watch.html)."""

    form: WatchForm
    watching: Watch | None


def page_context() -> dict[str, object]:
    """For every page: the header's counts (alerts unread by the member, beside
    Inbox, and their unread notifications: one query), and the watch panel."""
    member = auth.current_member()

    def watch_form_for(alert_id: uuid.UUID) -> WatchPanel:
        existing = watches.watch_of(db(), member, alert_id) if member else None
        return WatchPanel(WatchForm(formdata=None), existing)

    alerts = unread = None
    if member is not None and member.school is not None:
        alerts, unread = feed.header_counts(db(), member, member.school.id)
    return {
        "unread_alerts": alerts,
        "unread_notifications": unread,
        "watch_form_for": watch_form_for,
    }


# --- in the hub ---------------------------------------------------------------------------


@bp.route("", methods=["GET"])
@auth.requires(Permission.MANAGE_OWN_NOTIFICATIONS)
def index() -> ResponseReturnValue:
    rows, unread = feed.in_app_for(db(), auth.actor())
    tz = local_zone(_settings())
    return render_template(
        "notifications/index.html",
        items=[(row, render.describe(row.payload, "", tz)) for row in rows],
        unread=unread,
        tz=tz,
        may_set_deadlines=policy.may(auth.actor(), Permission.SET_ACK_DEADLINES),
    )


@bp.route("/unread.json", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def unread() -> ResponseReturnValue:
    """Polled by static/notifications.js every 25 seconds while the tab is visible."""
    member = auth.actor()
    school = policy.check_reads_alerts(member)
    latest = feed.latest_in_inbox(db(), school.id, member)
    alerts, notifications = feed.header_counts(db(), member, school.id)
    return jsonify(
        unread=alerts,
        latest=latest.isoformat() if latest else None,
        notifications=notifications,
    )


# --- subscriptions ---------------------------------------------------------------------------


@bp.route("/subscriptions", methods=["GET"], endpoint="subscriptions")
@auth.requires(Permission.MANAGE_OWN_NOTIFICATIONS)
def subscription_list() -> ResponseReturnValue:
    listed = subscriptions.subscriptions_of(db(), auth.actor())
    names = {str(s.id): s.name for s in subscriptions.sender_choices(db(), auth.actor())}
    return render_template(
        "notifications/subscriptions.html",
        listed=listed,
        school_names=names,
        vocab=vocab,
        Channel=Channel,
    )


def _form(personal: bool, form: SubscriptionForm | None = None, **kwargs: Any) -> SubscriptionForm:
    form = form or SubscriptionForm(**kwargs)
    form.set_channels(personal)
    form.senders.choices = [
        SelectChoice(str(s.id), s.name) for s in subscriptions.sender_choices(db(), auth.actor())
    ]
    return form


def _draft(form: SubscriptionForm) -> subscriptions.SubscriptionDraft:
    senders = []
    for value in form.senders.data or []:
        try:
            senders.append(uuid.UUID(value))
        except ValueError:
            raise InvalidInput("Choose schools from the list.", field="senders") from None
    channel = form.channel.data or ""
    return subscriptions.SubscriptionDraft(
        channel=channel,
        name=form.name.data or "",
        target=(form.target_url.data if channel == "webhook" else form.target_email.data) or "",
        categories=tuple(form.categories.data or ()),
        min_severity=form.min_severity.data or "",
        sender_school_ids=tuple(senders),
        timing=form.timing.data or "",
        digest_time=form.digest_time.data,
    )


def _render_form(
    form: SubscriptionForm, personal: bool, subscription: Subscription | None, status: int
) -> ResponseReturnValue:
    return render_template(
        "notifications/subscription_form.html",
        form=form,
        personal=personal,
        subscription=subscription,
        hints=CHANNEL_HINTS,
        deliveries=None,
    ), status


def _secret_page(subscription: Subscription, secret: str, status: int) -> ResponseReturnValue:
    return render_template(
        "notifications/secret.html", subscription=subscription, secret=secret
    ), status


@bp.route("/subscriptions/new", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_OWN_NOTIFICATIONS)
def new_subscription() -> ResponseReturnValue:
    personal = request.args.get("for") != "school"
    if not personal and not policy.may(auth.actor(), Permission.MANAGE_SCHOOL_NOTIFICATIONS):
        abort(403)
    form = _form(personal, channel="in_app" if personal else "email")
    if form.validate_on_submit():
        try:
            with form_errors(form):
                subscription, secret = subscriptions.create_subscription(
                    db(), auth.actor(), _draft(form), personal=personal, settings=_settings()
                )
        except FormRejected as rejected:
            return _render_form(form, personal, None, rejected.status)
        if secret:
            return _secret_page(subscription, secret, 201)
        flash("Subscription saved.", "success")
        return redirect(url_for("notifications.subscriptions"), 303)
    if form.errors:
        _also_checked(form, personal)
    return _render_form(form, personal, None, 422 if form.errors else 200)


def _also_checked(form: SubscriptionForm, personal: bool) -> None:
    also_checked(
        form,
        lambda: subscriptions.check_subscription(
            db(), auth.actor(), _draft(form), personal, _settings()
        ),
    )


@bp.route("/subscriptions/<uuid:subscription_id>", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_OWN_NOTIFICATIONS)
def edit_subscription(subscription_id: uuid.UUID) -> ResponseReturnValue:
    subscription = subscriptions.subscription_for(db(), auth.actor(), subscription_id)
    personal = subscription.is_personal
    if request.method == "GET":
        form = _form(
            personal,
            formdata=None,
            name=subscription.name,
            channel=subscription.channel,
            target_email=subscription.target if subscription.channel == "email" else "",
            target_url=subscription.target if subscription.channel == "webhook" else "",
            categories=list(subscription.categories or []),
            min_severity=subscription.min_severity,
            senders=list(subscription.sender_school_ids or []),
            timing=subscription.timing,
            digest_time=subscription.digest_time or DEFAULT_DIGEST_TIME,
        )
        return _render_form(form, personal, subscription, 200)
    form = _form(personal)
    if not form.validate_on_submit():
        _also_checked(form, personal)
        return _render_form(form, personal, subscription, 422)
    try:
        with form_errors(form):
            subscription, secret = subscriptions.update_subscription(
                db(), auth.actor(), subscription_id, _draft(form), _settings()
            )
    except FormRejected as rejected:
        return _render_form(form, personal, subscription, rejected.status)
    if secret:
        return _secret_page(subscription, secret, 200)
    flash("Subscription saved.", "success")
    return redirect(url_for("notifications.subscriptions"), 303)


# The POST buttons below carry only a CSRF token (post_button), which
# CSRFProtect has checked before the view runs.


@bp.route("/subscriptions/<uuid:subscription_id>/delete", methods=["POST"])
@auth.requires(Permission.MANAGE_OWN_NOTIFICATIONS)
def delete_subscription(subscription_id: uuid.UUID) -> ResponseReturnValue:
    subscriptions.delete_subscription(db(), auth.actor(), subscription_id)
    flash("Subscription deleted. Nothing more will be sent for it.", "info")
    return redirect(url_for("notifications.subscriptions"), 303)


@bp.route("/subscriptions/<uuid:subscription_id>/test", methods=["POST"])
@auth.requires(Permission.MANAGE_OWN_NOTIFICATIONS)
def test_subscription(subscription_id: uuid.UUID) -> ResponseReturnValue:
    sent = subscriptions.send_test(db(), auth.actor(), subscription_id)
    if sent.channel == Channel.IN_APP:
        flash("Test notice added to your notifications.", "success")
    else:
        flash(
            "Test notification queued. It appears in the delivery log with its result "
            "within a minute.",
            "success",
        )
    return redirect(url_for("notifications.deliveries"), 303)


@bp.route("/subscriptions/<uuid:subscription_id>/rotate", methods=["POST"])
@auth.requires(Permission.MANAGE_SCHOOL_NOTIFICATIONS)
def rotate_secret(subscription_id: uuid.UUID) -> ResponseReturnValue:
    subscription, secret = subscriptions.rotate_secret(
        db(), auth.actor(), subscription_id, _settings()
    )
    return _secret_page(subscription, secret, 200)


# --- the delivery log -------------------------------------------------------------------------


@bp.route("/deliveries", methods=["GET"])
@auth.requires(Permission.MANAGE_OWN_NOTIFICATIONS)
def deliveries() -> ResponseReturnValue:
    channel = request.args.get("channel", "")
    log = delivery_log.delivery_log(db(), auth.actor(), channel)
    return render_template(
        "notifications/deliveries.html",
        log=log,
        channel=channel,
        tz=local_zone(_settings()),
    )


# --- watching ---------------------------------------------------------------------------------


def _back(alert_id: uuid.UUID) -> Response:
    target = auth.safe_next(request.form.get("next")) or url_for("alerts.show", alert_id=alert_id)
    return redirect(target, 303)


@bp.route("/watch/<uuid:alert_id>", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def watch(alert_id: uuid.UUID) -> ResponseReturnValue:
    form = WatchForm()  # its CSRF token was checked by CSRFProtect
    watches.watch(db(), auth.actor(), alert_id, bool(form.by_email.data))
    flash(
        "You are watching this alert: you will hear of replies, actions and its resolution.",
        "success",
    )
    return _back(alert_id)


@bp.route("/unwatch/<uuid:alert_id>", methods=["POST"])
@auth.requires(Permission.READ_ALERTS)
def unwatch(alert_id: uuid.UUID) -> ResponseReturnValue:
    watches.unwatch(db(), auth.actor(), alert_id)
    flash("You no longer watch this alert.", "info")
    return _back(alert_id)


@bp.route("/watching", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def watching() -> ResponseReturnValue:
    school = auth.actor().school
    now = referrals.clock()
    return render_template(
        "notifications/watching.html",
        rows=watches.watching(db(), auth.actor()),
        overdue=referrals.overdue_follow_ups(db(), school, now) if school is not None else [],
        today=referrals.day_of(db(), now),
        vocab=vocab,
    )


# --- acknowledgement deadlines (coordinators) ------------------------------------------------


@bp.route("/deadlines", methods=["GET", "POST"])
@auth.requires(Permission.SET_ACK_DEADLINES)
def deadlines() -> ResponseReturnValue:
    member = auth.actor()
    cluster_id = member.cluster_id
    if cluster_id is None:
        abort(404)
    current = deadlines_for(db(), cluster_id)
    form = DeadlinesForm.for_severities(current)
    status = 200
    if form.validate_on_submit():
        rules = _rules(form)
        try:
            with form_errors(form):
                set_deadlines(db(), member, cluster_id, rules)
        except FormRejected as rejected:
            status = rejected.status
        else:
            flash("Acknowledgement deadlines saved.", "success")
            return redirect(url_for("notifications.deadlines"), 303)
    elif form.errors:
        status = 422
        # The service's checks of the rules the form's own validators let through.
        also_checked(form, lambda: check_deadlines(_rules(form)))
    return render_template(
        "notifications/deadlines.html", form=form, current=current, vocab=vocab
    ), status


def _rules(form: DeadlinesForm) -> dict[str, Deadline]:
    """Each severity's rule as typed; one whose fields the form refused is left out."""
    rules = {}
    for term in vocab.SEVERITIES:
        amount, unit = form[f"amount_{term.code}"], form[f"unit_{term.code}"]
        if not amount.errors and not unit.errors:
            rules[term.code] = Deadline(int(amount.data or 0), unit.data or "")
    return rules


# --- the demo's mail catcher ------------------------------------------------------------------


def _mail_folder() -> Path:
    settings = _settings()
    if not settings.demo:
        abort(404)
    return settings.instance_path / "mail"


@bp.route("/mail", methods=["GET"])
@auth.requires(None)
def caught_mail() -> ResponseReturnValue:
    messages = mailbox.caught_for(db(), auth.actor(), _mail_folder())
    return render_template(
        "notifications/mail.html", messages=messages, smtp=bool(_settings().smtp_url)
    )


@bp.route("/mail/<name>", methods=["GET"])
@auth.requires(None)
def caught_message(name: str) -> ResponseReturnValue:
    message = mailbox.message_for(db(), auth.actor(), _mail_folder(), name)
    return render_template("notifications/mail_message.html", message=message)
