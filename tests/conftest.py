"""Shared fixtures. Every app test runs on SQLite and, when
ALERTNET_TEST_DATABASE_URL is set, on PostgreSQL too (mandatory in CI)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, make_url, text

from crypto.custody import FAST_FOR_TESTS
from network import create_app
from network.db import engine, own_transaction
from network.migrate import upgrade
from network.settings import Settings
from schools import directory, invitations
from schools.models import Cluster, Member, Role, School

PG_URL = os.environ.get("ALERTNET_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "a long enough test passphrase"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError(
            "CI=true but ALERTNET_TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI"
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
    with engine.begin() as connection:
        tables = [
            r[0]
            for r in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            if r[0] not in REFERENCE_TABLES
        ]
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "alertnet.db")
        return f"sqlite:///{tmp_path / 'alertnet.db'}"
    url: str = request.getfixturevalue("postgres_migrated")
    return url


@contextmanager
def hub(database_url: str, instance: Path, **overrides: Any) -> Iterator[Flask]:
    """A hub on the test's database (emptied on PostgreSQL), disposed after."""
    app = create_app(settings_for_tests(instance, database_url, **overrides))
    if database_url.startswith("postgresql"):
        truncate_postgres(engine(app))
    try:
        yield app
    finally:
        engine(app).dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    with hub(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# --- factories ------------------------------------------------------------------


@dataclass
class Person:
    member: Member
    email: str
    password: str = PASSWORD


class World:
    """Builds clusters, schools and people through the real service functions."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._urn = 100000

    def _settings(self) -> Settings:
        settings: Settings = self.app.config["ALERTNET"]
        return settings

    def cluster(self, name: str = "North Cluster", *, second_factors: bool = False) -> Cluster:
        """A cluster; by default its heads and coordinators sign in with a
        password alone, as most tests need. The hub's default (a second factor
        for them) is tested with ``second_factors=True``
        (tests/network/test_second_factors.py)."""
        with own_transaction(self.app) as session:
            cluster = directory.create_cluster(session, None, name)
            # Set directly, not through factors.set_cluster_rule: its audit entry
            # would shift the counts other tests make of the log.
            cluster.second_factor_leaders = second_factors
            session.flush()
            return cluster

    def school(self, cluster: Cluster, name: str | None = None) -> School:
        self._urn += 1
        with own_transaction(self.app) as session:
            return directory.admit_school(
                session,
                None,
                cluster,
                name or f"School {self._urn}",
                str(self._urn),
                "1 High Street",
            )

    def invite(
        self,
        role: Role,
        email: str,
        *,
        school: School | None = None,
        cluster: Cluster | None = None,
    ) -> str:
        with own_transaction(self.app) as session:
            if school is not None:
                school = session.get(School, school.id)
            if cluster is not None:
                cluster = session.get(Cluster, cluster.id)
            return invitations.invite(
                session, None, role, email, "", school=school, cluster=cluster
            ).token

    def person(
        self,
        role: Role,
        email: str,
        *,
        school: School | None = None,
        cluster: Cluster | None = None,
        name: str = "Test Person",
    ) -> Person:
        token = self.invite(role, email, school=school, cluster=cluster)
        with own_transaction(self.app) as session:
            accepted = invitations.accept_invitation(
                session, token, name, PASSWORD, PASSWORD, self._settings().password_params
            )
            return Person(accepted.member, email)


@pytest.fixture
def world(app: Flask) -> World:
    return World(app)


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, page: str) -> str:
    html = client.get(page).get_data(as_text=True)
    match = CSRF.search(html)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post_form(
    client: FlaskClient, url: str, data: dict[str, str], page: str | None = None, **kwargs: Any
) -> Any:
    """Post a form the way a browser would: with the CSRF token of its page."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page or url)}, **kwargs)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return post_form(client, "/sign-in", {"email": email, "password": password})
