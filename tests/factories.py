"""Factories: the one home of every helper that makes clusters, schools, people
and signed-in clients. Loaded as a plugin by tests/conftest.py
(``pytest_plugins``), so its fixtures reach every test without an import; its
helpers are imported by name (tests.conftest re-exports the older ones)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from crypto.custody import FAST_FOR_TESTS
from network.db import engine, own_transaction
from network.settings import Settings
from schools import directory, invitations
from schools.models import Cluster, Member, Role, School

PASSWORD = "a long enough test passphrase"


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


def join(session: Session, token: str, name: str = "Someone") -> Any:
    """Accept an invitation on a plain session (no app), as its invitee would."""
    return invitations.accept_invitation(session, token, name, PASSWORD, PASSWORD, FAST_FOR_TESTS)


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


def client_for(app: Flask, person: Person) -> FlaskClient:
    """A test client signed in as the person."""
    client = app.test_client()
    assert sign_in(client, person.email).status_code == 302
    return client


def build_riverside(world: World) -> SimpleNamespace:
    """Two schools in Riverside, one school in Hillside, and everyone who reads logs."""
    cluster = world.cluster("Riverside")
    oak = world.school(cluster, "Oakfield")
    elm = world.school(cluster, "Elmwood")
    other = world.cluster("Hillside")
    far = world.school(other, "Far Away")
    return SimpleNamespace(
        cluster=cluster,
        oak=oak,
        elm=elm,
        other=other,
        far=far,
        coordinator=world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster),
        head=world.person(Role.HEAD, "head@oak.example.org", school=oak),
        staff=world.person(Role.STAFF, "staff@oak.example.org", school=oak),
        elm_head=world.person(Role.HEAD, "head@elm.example.org", school=elm),
        far_coordinator=world.person(Role.COORDINATOR, "coord@hillside.example.org", cluster=other),
        far_head=world.person(Role.HEAD, "head@far.example.org", school=far),
        admin=world.person(Role.HUB_ADMIN, "admin@hub.example.org"),
    )


def database_bytes(app: Flask, database_url: str) -> bytes:
    """Every byte the hub's database holds: the SQLite file and its WAL, or a
    pg_dump (for tests that search it for what must never be stored in clear)."""
    engine(app).dispose()
    if database_url.startswith("sqlite"):
        path = Path(make_url(database_url).database or "")
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    url = make_url(database_url)
    return subprocess.run(
        [
            "pg_dump",
            "--no-owner",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
