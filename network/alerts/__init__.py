"""Alerts: posting, inboxes, threads, evidence and retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from network import auth
    from network.alerts import operations, views
    from network.db import db

    app.register_blueprint(views.bp)
    app.register_blueprint(views.platforms_bp)

    @app.context_processor
    def _unread() -> dict[str, object]:
        member = auth.current_member()
        if member is None or member.school is None:
            return {"unread_alerts": None}
        return {"unread_alerts": operations.unread_count(db(), member.school.id)}
