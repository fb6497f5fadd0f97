"""Alembic, driven from the app's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from network import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine(app)
    return cfg


def upgrade(app: Flask, revision: str = "heads") -> None:
    command.upgrade(config(app), revision)


def current_revision(app: Flask) -> str | None:
    """The revision(s) the database is at, comma-separated; None when empty."""
    with db.engine(app).connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(sorted(heads)) or None


def latest_revision(app: Flask) -> str:
    """What `alertnet db upgrade` brings a database to."""
    return ", ".join(sorted(ScriptDirectory.from_config(config(app)).get_heads()))
