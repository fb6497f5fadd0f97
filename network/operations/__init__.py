"""Running the hub for real: backups and restores, readiness, metrics, logs
with request ids and the workers' heartbeat (docs/operations.md).

``init_app`` and ``register_commands`` are the two hooks the rest of the hub
calls; everything else stays inside this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from flask import Flask


def init_app(app: Flask) -> None:
    from network.operations import health, logs, metrics, outage, restoration
    from network.settings import Settings

    settings: Settings = app.config["ALERTNET"]
    logs.init_app(app, settings.log_format, settings.log_level)
    metrics.init_app(app)
    outage.init_app(app)
    app.register_blueprint(health.bp)
    app.add_template_global(restoration.for_banner, "hub_restorations")


def register_commands(main: click.Group) -> None:
    from network.operations.cli import backup_cli, restore_cli

    main.add_command(backup_cli)
    main.add_command(restore_cli)
