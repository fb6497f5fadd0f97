"""What notifications do when something happens elsewhere: an alert is
posted, followed up, acknowledged, resolved or withdrawn, or waits for or gets
a review (network/alerts/signals.py), or a member signs in. Each receiver
writes rows in the transaction of what it hears of, and sends nothing.

init_app connects them, so every process that builds the app (the hub, the
CLI, the worker) writes the outbox rows; connecting again changes nothing.
"""

from __future__ import annotations

from flask import Flask
from flask_login import user_logged_in
from sqlalchemy.orm import Session

from network.alerts import signals
from network.alerts.held_models import HeldAlert
from network.alerts.models import Alert, AlertRecipient, ThreadItem
from network.auth import SignedInMember
from network.db import db, settings_of
from network.notifications import fanout, review_notices
from network.notifications.subscriptions import ensure_defaults
from schools.models import Member


def _on_alert_posted(_sender: None, /, *, session: Session, alert: Alert, actor: Member) -> None:
    fanout.alert_posted(session, alert, actor, settings_of(session))


def _on_thread_item(
    _sender: None, /, *, session: Session, alert: Alert, actor: Member, item: ThreadItem
) -> None:
    fanout.thread_item_added(session, alert, actor, item, settings_of(session))


def _on_withdrawn(
    _sender: None, /, *, session: Session, alert: Alert, actor: Member, item: ThreadItem
) -> None:
    fanout.alert_withdrawn(session, alert, actor, item, settings_of(session))


def _on_acknowledged(
    _sender: None, /, *, session: Session, alert: Alert, actor: Member, copy: AlertRecipient
) -> None:
    fanout.alert_acknowledged(session, alert, actor, copy)


def _on_resolved(_sender: None, /, *, session: Session, alert: Alert, actor: Member) -> None:
    fanout.alert_resolved(session, alert, actor)


def _on_forwarded(
    _sender: None, /, *, session: Session, alert: Alert, actor: Member, forward: Alert
) -> None:
    fanout.alert_forwarded(session, alert, actor, forward)


def _on_review_decided(
    _sender: None, /, *, session: Session, author: Member, event: str, path: str, key: str
) -> None:
    review_notices.tell_author(session, author, event, path, key)


def _on_review_requested(_sender: None, /, *, session: Session, held: HeldAlert, key: str) -> None:
    review_notices.tell_reviewers(session, held, key)


def _on_signed_in(_app: Flask, *, user: SignedInMember, **_: object) -> None:
    """flask-login's user_logged_in: a member's default subscriptions, at first sign-in."""
    ensure_defaults(db(), user.member)


def connect() -> None:
    """Idempotent: blinker keeps one connection per receiver, however many
    apps are created in the process (the tests create one per test)."""
    signals.alert_posted.connect(_on_alert_posted)
    signals.thread_item_added.connect(_on_thread_item)
    signals.alert_acknowledged.connect(_on_acknowledged)
    signals.alert_resolved.connect(_on_resolved)
    signals.alert_withdrawn.connect(_on_withdrawn)
    signals.alert_forwarded.connect(_on_forwarded)
    signals.review_decided.connect(_on_review_decided)
    signals.review_requested.connect(_on_review_requested)
    user_logged_in.connect(_on_signed_in, weak=False)


def disconnect() -> None:
    """The opposite of connect(): no outbox rows are written after it."""
    signals.alert_posted.disconnect(_on_alert_posted)
    signals.thread_item_added.disconnect(_on_thread_item)
    signals.alert_acknowledged.disconnect(_on_acknowledged)
    signals.alert_resolved.disconnect(_on_resolved)
    signals.alert_withdrawn.disconnect(_on_withdrawn)
    signals.review_decided.disconnect(_on_review_decided)
    signals.review_requested.disconnect(_on_review_requested)
    signals.alert_forwarded.disconnect(_on_forwarded)
    user_logged_in.disconnect(_on_signed_in)
