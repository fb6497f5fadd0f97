"""Alembic environment: the engine comes from the hub (network/migrate.py) or,
for `alembic` run by hand, from DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

# Every module that defines tables, so autogenerate sees them all.
import schools.audit.models
import schools.models  # noqa: F401
from schools.db import Base, UTCDateTime, make_engine

target_metadata = Base.metadata


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Migrations must not import application types: render ours as plain SQLAlchemy.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine") or make_engine(os.environ["DATABASE_URL"])
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
