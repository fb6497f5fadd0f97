"""The databases and the hub. Every app test runs on SQLite and, when
ALERTNET_TEST_DATABASE_URL is set, on PostgreSQL too (mandatory in CI).

Each fixture has one home (tests/test_layout.py checks it): the database and
the hub here; clusters, schools, people and signed-in clients in the
factories plugin, tests/factories.py; the network tests' shared cast and test
servers in tests/network/conftest.py."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import Engine, delete, literal, make_url, select, text
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Mapper
from sqlalchemy.util import LRUCache
from werkzeug.routing.rules import Rule

from crypto.custody import FAST_FOR_TESTS
from network import create_app
from network.db import engine
from network.migrate import upgrade
from network.settings import Settings
from schools import db as schools_db

# Kept importable from here, where tests have always found them.
from tests.factories import (  # noqa: F401
    CSRF,
    PASSWORD,
    Person,
    World,
    csrf_token,
    post_form,
    sign_in,
)

pytest_plugins = ["tests.factories"]

PG_URL = os.environ.get("ALERTNET_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError(
            "CI=true but ALERTNET_TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI"
        )
    # Tests marked slow first, the longest cases (of a test with the fewest
    # cases) foremost: xdist hands out tests in this order (after the browser
    # tests' group), so a minutes-long test no longer starts last while the
    # other worker, its queue empty, waits for it.
    cases = Counter(item.nodeid.split("[")[0] for item in items)
    items.sort(
        key=lambda item: (
            (0, cases[item.nodeid.split("[")[0]]) if item.get_closest_marker("slow") else (1, 0)
        )
    )


def settings_for_tests(instance: Path, database_url: str, **overrides: Any) -> Settings:
    # Dashboard figures are recomputed on every view unless a test asks otherwise.
    overrides.setdefault("dashboard_max_age_seconds", 0)
    overrides.setdefault("password_params", FAST_FOR_TESTS)
    return Settings(
        instance_path=instance,
        database_url=database_url,
        secret_key="test-secret-key",
        testing=True,
        **overrides,
    ).resolved()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (much faster than migrating)."""
    folder = tmp_path_factory.mktemp("template")
    _migrate(folder, f"sqlite:///{folder / 'template.db'}")
    return folder / "template.db"


def _migrate(folder: Path, url: str) -> None:
    app = create_app(settings_for_tests(folder, url))
    upgrade(app)
    engine(app).dispose()


def _worker_database(worker: str) -> str:
    """A database of this test worker's own, next to the one CI created, so
    parallel workers never truncate each other's tables."""
    import psycopg

    base = make_url(PG_URL)
    name = f"{base.database}_{worker}"
    with psycopg.connect(
        base.set(drivername="postgresql", database=base.database).render_as_string(
            hide_password=False
        ),
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_migrated(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    if not PG_URL:
        pytest.skip("ALERTNET_TEST_DATABASE_URL is not set")
    url = _worker_database(worker_id)
    _migrate(tmp_path_factory.mktemp("pg"), url)
    return url


# Data the migrations seed; tests read it and do not change it.
REFERENCE_TABLES = frozenset({"alembic_version", "platforms"})


def truncate_postgres(engine: Engine) -> None:
    """Empty every table but the reference ones and restart their sequences, as
    ``TRUNCATE ... RESTART IDENTITY CASCADE`` would.

    A TRUNCATE makes new files for each of the ~180 tables and indexes (1-2 s a
    test with fsync on); a test leaves a few small tables filled, so a superuser
    (as in CI) deletes the rows of just those, with triggers off for the
    transaction (the audit log's append-only ones and the foreign keys': every
    row goes, so none is left dangling), and restarts the sequences used."""
    with engine.begin() as connection:
        tables = [
            r[0]
            for r in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            if r[0] not in REFERENCE_TABLES
        ]
        if not tables:
            return
        filled = [
            table
            for table, has_rows in zip(
                tables,
                connection.execute(
                    select(*(select(literal(1)).select_from(sql_table(t)).exists() for t in tables))
                ).one(),
                strict=True,
            )
            if has_rows
        ]
        if connection.execute(text("SELECT current_setting('is_superuser')")).scalar() != "on":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for name in filled:
            connection.execute(delete(sql_table(name)))
        connection.execute(
            text(
                "SELECT setval(s.oid, used.start_value, false)"
                " FROM pg_sequences used"
                " JOIN pg_class s ON s.relname = used.sequencename AND s.relkind = 'S'"
                " JOIN pg_namespace n ON n.oid = s.relnamespace AND n.nspname = used.schemaname"
                " JOIN pg_depend owner ON owner.objid = s.oid AND owner.deptype IN ('a', 'i')"
                " JOIN pg_class t ON t.oid = owner.refobjid"
                " WHERE used.schemaname = 'public' AND used.last_value IS NOT NULL"
                " AND t.relname = ANY(:tables)"
            ),
            {"tables": tables},
        )


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "alertnet.db")
        return f"sqlite:///{tmp_path / 'alertnet.db'}"
    url: str = request.getfixturevalue("postgres_migrated")
    return url


class TemplateBytecode(BytecodeCache):
    """Compiled templates kept for every hub this test process makes: each hub
    has a Jinja environment of its own, which would otherwise parse and compile
    every template it renders again (~30 ms a page). A template whose source
    changed is compiled again (Jinja checks its checksum)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = TemplateBytecode()


class SharedStatements:
    """SQL compiled once for every hub this test process makes. A hub has an
    engine of its own, and SQLAlchemy keys its cache of compiled statements by
    the engine's dialect object, so every test compiled each statement it ran
    again (a fifth of a test's time). Here dialects of one class and server
    version share what they compiled; everything else in the key stays (the
    statement's structure, its columns, executemany). A process serving
    alertnet has one engine, whose cache this is only shared across tests."""

    def __init__(self, capacity: int) -> None:
        self._compiled: LRUCache[tuple[Any, ...], Any] = LRUCache(capacity)

    @staticmethod
    def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect = key[0]
        # What a dialect's compilation reads beyond its class: every hub the
        # tests make has the same, but one that differed would not share.
        settings = (
            dialect.server_version_info,
            dialect.paramstyle,
            dialect.label_length,
            dialect.max_identifier_length,
            dialect.use_insertmanyvalues,
        )
        return (type(dialect), settings, *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._compiled.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], compiled: Any) -> None:
        self._compiled[self._key(key)] = compiled


SHARED_STATEMENTS = SharedStatements(20_000)
_create_engine = schools_db.create_engine


def _engine_sharing_statements(*args: Any, **kwargs: Any) -> Engine:
    made = _create_engine(*args, **kwargs)
    made._compiled_cache = SHARED_STATEMENTS  # type: ignore[assignment]
    return made


schools_db.create_engine = _engine_sharing_statements  # type: ignore[assignment]
# The ORM's flushes compile their INSERTs and UPDATEs into a cache of each
# mapper's, keyed the same way: they share too.
Mapper._compiled_cache = property(lambda _mapper: SHARED_STATEMENTS)  # type: ignore[assignment,method-assign]


class SharedUrlBuilders:
    """Werkzeug writes and compiles Python for each URL rule of each new app
    (two functions a rule, about 340 an app: a seventh of a test's time). The
    code depends only on the rule, its defaults and which variant, so it is
    made once per process and bound to each rule as Werkzeug binds it."""

    def __init__(self) -> None:
        self._made: dict[tuple[Any, ...], Any] = {}
        self._compile = Rule._compile_builder

    def install(self) -> None:
        made, compile_builder = self._made, self._compile

        def shared(rule: Rule, append_unknown: bool = True) -> Any:
            key = (
                rule.rule,
                tuple(rule._trace),
                repr(sorted((rule.defaults or {}).items())),
                append_unknown,
            )
            if key not in made:
                made[key] = compile_builder(rule, append_unknown)
            return made[key]

        Rule._compile_builder = shared  # type: ignore[method-assign]


SharedUrlBuilders().install()


def app_with(database_url: str, folder: Path, **overrides: Any) -> Flask:
    """A hub with settings of its own (the ``app`` fixture's, plus overrides) on
    the test's database, emptied on PostgreSQL."""
    app = create_app(settings_for_tests(folder, database_url, **overrides))
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    if database_url.startswith("postgresql"):
        truncate_postgres(engine(app))
    return app


@contextmanager
def hub(database_url: str, instance: Path, **overrides: Any) -> Iterator[Flask]:
    """``app_with``, its engine disposed after."""
    app = app_with(database_url, instance, **overrides)
    try:
        yield app
    finally:
        engine(app).dispose()


def mail_settings(smtp_url: str) -> dict[str, Any]:
    """A hub that mails the test's SMTP server, may call webhooks on 127.0.0.1
    and retries within the test's patience."""
    return {
        "smtp_url": smtp_url,
        "webhook_allow_networks": ("127.0.0.1/32",),
        "webhook_timeout_seconds": 5.0,
        "notify_backoff_seconds": 0.01,
        "notify_backoff_max_seconds": 0.05,
        "notify_lease_seconds": 30.0,
        "mail_from": "alertnet <alerts@hub.test>",
        "public_url": "http://hub.test",
    }


@pytest.fixture
def app(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The hub on the test's database. A test with a mail server (it asks for
    ``smtp``, or its module imports that fixture, as the notification tests
    do) gets a hub that sends to it: ``mail_settings``."""
    overrides: dict[str, Any] = {}
    if "smtp" in request.fixturenames or "smtp" in vars(request.module):
        overrides = mail_settings(request.getfixturevalue("smtp").url)
    with hub(database_url, tmp_path, **overrides) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()
