"""The coordinator's content-blind dashboard and the governors' report."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from network.dashboard import charts, views

    app.register_blueprint(views.bp)
    app.add_template_global(charts.format_hours, "format_hours")
