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
    from network.alerts import inbox, tier_views, views  # noqa: F401  (tier_views: routes on views.bp)
    from network.db import db

    app.register_blueprint(views.bp)
    app.register_blueprint(views.platforms_bp)

    @app.context_processor
    def _unread() -> dict[str, object]:
        member = auth.current_member()
        if member is None or member.school is None:
            return {"unread_alerts": None}
        return {"unread_alerts": inbox.unread_count(db(), member.school.id, member)}
