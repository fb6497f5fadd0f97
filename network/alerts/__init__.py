"""Alerts: posting, inboxes, threads, evidence and retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    # Imported here rather than above: this module runs first whenever any of
    # the package is imported, and `alertnet client` imports network.alerts.vocab
    # without Flask or SQLAlchemy.
    from network import auth
    from network.alerts import (  # noqa: F401  (tier_views: routes on views.bp)
        draft_views,
        export_views,
        guidance_views,
        home_views,
        inbox,
        inbox_page,
        inbox_views,
        out_of_hours_views,
        referral_views,
        tier_views,
        views,
    )
    from network.db import db

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

    @app.context_processor
    def _unread() -> dict[str, object]:
        member = auth.current_member()
        if member is None or member.school is None:
            return {"unread_alerts": None}
        # What the inbox's "Unread" filter lists for this member (unread for them).
        return {"unread_alerts": inbox.unread_count(db(), member.school.id, member)}
