"""Database plumbing shared by every model: the declarative base, UTC timestamps
and an engine factory that sets SQLite up the way the hub needs it."""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

# A stable naming convention keeps Alembic migrations identical on SQLite and
# PostgreSQL and lets constraints be dropped by name later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements over many rows (an ORM entity's bulk
    INSERT re-examines every row's values in Python)."""
    return model.__table__  # type: ignore[return-value]


def insert_new(
    session: Session,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    returning: InstrumentedAttribute[Any],
) -> set[Any]:
    """Insert the rows whose ``key`` is not taken yet, skipping the others even
    when another transaction wrote them a moment ago (INSERT ... ON CONFLICT DO
    NOTHING on both databases): check-then-insert without a race or an
    IntegrityError. Returns ``returning`` of the rows this call inserted."""
    if not rows:
        return set()
    statement = _insert_new(session.get_bind().dialect.name, model, tuple(key), returning.key)
    # One statement run for many rows (SQLAlchemy batches them into
    # multi-row VALUES itself), compiled once per process: a VALUES list built
    # from the rows was compiled again on every call, whatever it held.
    return set(session.scalars(statement, [dict(row) for row in rows]))


@functools.cache
def _insert_new(dialect: str, model: type[Base], key: tuple[str, ...], returning: str) -> Any:
    table = table_of(model)
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(table).on_conflict_do_nothing(index_elements=list(key)).returning(table.c[returning])
    )


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite stores no zone, so values come back naive; PostgreSQL returns aware
    values. Either way the application sees aware UTC and refuses naive input,
    which would otherwise silently be read as local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout, and
    a database file it creates is private to this user."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        _create_private(make_url(url).database)
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _create_private(database: str | None) -> None:
    """Create a missing SQLite file empty (SQLite takes an empty file as a new
    database) with mode 0600, in a 0700 folder if that is missing too. SQLite
    gives the -wal and -shm files the database file's mode, so they are private
    as well; left to SQLite, all three would follow the umask (often 0644)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(engine: Engine) -> None:
    # The pysqlite driver opens transactions lazily and on its own terms, which
    # breaks SAVEPOINT and makes concurrent writers fail late. SQLAlchemy's
    # documented recipe hands transaction control to SQLAlchemy; BEGIN IMMEDIATE
    # takes the write lock up front so two writers queue instead of deadlocking.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite has no percentile aggregate: register one, so dashboard figures are
    # still computed inside the database (PostgreSQL uses percentile_cont).
    @event.listens_for(engine, "connect")
    def _percentile(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_aggregate("percentile_cont", 2, _PercentileCont)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class _PercentileCont:
    """percentile_cont(value, fraction) for SQLite, interpolating like PostgreSQL's."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        if value is not None:
            self.values.append(float(value))
        self.fraction = float(fraction)

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        position = self.fraction * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
