"""The coordinator's content-blind dashboard and the governors' report."""

from __future__ import annotations

from flask import Flask

from network.dashboard import charts, rendered, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.add_template_global(charts.format_hours, "format_hours")
    for name in ("bar_elements", "response_rows", "overdue_school_rows"):
        app.add_template_global(getattr(rendered, name), name)
