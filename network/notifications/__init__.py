"""Notifications: who hears of what happened to an alert, by which channel
and when (docs/notifications.md).

    subscriptions  a school's and a member's choices, and their defaults
    routing        which subscriptions an alert reaches: now, or in a digest
    fanout         a new alert to its schools; follow-ups to the watchers
    watches        following one alert
    chase          reminders and escalations of overdue acknowledgements
    receivers      the alert signals and sign-in, connected by init_app
    outbox         rows written in the transaction of what they announce
    payloads       what a notification says: metadata, never content
    delivery       the worker's claim, send and settle; dead letters
    digests        what was held, sent once a day
    feed           the in-hub notices; delivery_log: what was sent where
    render         what an email or a webhook body says; mail, webhooks: sending
    views, forms   the pages; mailbox: the demo's caught mail
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Imported here, not at the top: a module of the package (models for the
    # migrations, subscriptions for the API) must not bring in the pages.
    from network.notifications import receivers, views

    receivers.connect()
    app.register_blueprint(views.bp)
    app.context_processor(views.page_context)
