"""Notifications: subscriptions, the transactional outbox and its worker,
watches, acknowledgement deadlines, the delivery log (docs/notifications.md).

Outbox rows are written by receivers of the alert signals
(network/alerts/signals.py), inside the transaction of what they announce.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import user_logged_in

from network.alerts import signals


# Receivers are connected once, at import: create_app runs many times (tests).
def _on_alert_posted(_sender: Any, *, session: Any, alert: Any, actor: Any, **_: Any) -> None:
    from network.db import settings_of
    from network.notifications import operations

    operations.alert_posted(session, alert, actor, settings_of(session))


def _on_thread_item(
    _sender: Any, *, session: Any, alert: Any, actor: Any, item: Any, **_: Any
) -> None:
    from network.notifications import operations

    operations.thread_item_added(session, alert, actor, item)


def _on_acknowledged(
    _sender: Any, *, session: Any, alert: Any, actor: Any, copy: Any, **_: Any
) -> None:
    from network.notifications import operations

    operations.alert_acknowledged(session, alert, actor, copy)


def _on_resolved(_sender: Any, *, session: Any, alert: Any, actor: Any, **_: Any) -> None:
    from network.notifications import operations

    operations.alert_resolved(session, alert, actor)


def _on_signed_in(_app: Any, *, user: Any, **_: Any) -> None:
    from network.db import db
    from network.notifications import operations

    operations.ensure_defaults(db(), user.member)


signals.alert_posted.connect(_on_alert_posted, weak=False)
signals.thread_item_added.connect(_on_thread_item, weak=False)
signals.alert_acknowledged.connect(_on_acknowledged, weak=False)
signals.alert_resolved.connect(_on_resolved, weak=False)
user_logged_in.connect(_on_signed_in, weak=False)


def init_app(app: Flask) -> None:
    from network import auth
    from network.db import db
    from network.notifications import operations, views

    app.register_blueprint(views.bp)

    @app.context_processor
    def _unread_notifications() -> dict[str, object]:
        member = auth.current_member()
        if member is None or member.school is None:
            return {"unread_notifications": None}
        return {"unread_notifications": operations.unread_in_app(db(), member.id)}

    @app.context_processor
    def _watch_form() -> dict[str, object]:
        def watch_form_for(alert_id: Any) -> Any:
            from types import SimpleNamespace

            from network.notifications.forms import WatchForm

            member = auth.current_member()
            existing = operations.watch_of(db(), member, alert_id) if member else None
            return SimpleNamespace(form=WatchForm(formdata=None), watching=existing)

        return {"watch_form_for": watch_form_for}
