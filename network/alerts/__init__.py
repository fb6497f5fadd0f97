"""Alerts: posting, inboxes, threads, evidence and retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    # Imported here rather than above: this module runs first whenever any of
    # the package is imported, and `alertnet client` imports network.alerts.vocab
    # without Flask or SQLAlchemy.
    from network.alerts import (  # noqa: F401  (tier_views: routes on views.bp)
        draft_views,
        export_views,
        guidance_views,
        home_views,
        inbox_page,
        inbox_views,
        out_of_hours_views,
        referral_views,
        tier_views,
        views,
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(views.platforms_bp)
    app.register_blueprint(guidance_views.bp)
    app.register_blueprint(out_of_hours_views.bp)
    app.register_blueprint(referral_views.bp)
    app.register_blueprint(export_views.bp)
    app.register_blueprint(inbox_views.bp)
    app.register_blueprint(home_views.bp)
    app.register_blueprint(draft_views.bp)
    for name in ("severity_badge", "tlp_badge", "category_label", "row_name"):
        app.add_template_global(getattr(inbox_page, name), name)
    # The count beside Inbox (what the "Unread" filter lists for the member) is
    # given to every page with the notifications' count, in one query:
    # network/notifications/views.py, page_context.
