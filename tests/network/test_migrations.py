"""Schema changes go through Alembic, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from network import create_app
from network.db import engine
from network.migrate import current_revision, latest_revision, upgrade
from schools.db import Base
from tests.conftest import settings_for_tests


def test_upgrade_on_an_empty_sqlite_database_then_again(tmp_path):
    app = create_app(settings_for_tests(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}"))
    assert current_revision(app) is None
    upgrade(app)
    assert current_revision(app) == latest_revision(app)
    upgrade(app)  # up to date: a no-op, not an error
    assert current_revision(app) == latest_revision(app)
    with engine(app).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine(app).dispose()


def test_upgrade_on_an_empty_postgresql_database_then_again(tmp_path, postgres_migrated):
    from tests.conftest import _worker_database

    url = _worker_database("migrations")
    app = create_app(settings_for_tests(tmp_path, url))
    assert current_revision(app) is None
    upgrade(app)
    upgrade(app)
    assert current_revision(app) == latest_revision(app)
    assert "members" in inspect(engine(app)).get_table_names()
    engine(app).dispose()


def test_models_and_migrations_agree(app):
    """A model change without its migration fails here, on both databases."""
    with engine(app).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
