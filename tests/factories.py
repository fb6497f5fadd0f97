"""Factories: the one home of every helper that makes clusters, schools, people
and signed-in clients. Loaded as a plugin by tests/conftest.py
(``pytest_plugins``), so its fixtures reach every test without an import; its
helpers are imported by name (tests.conftest re-exports the older ones)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from crypto.custody import FAST_FOR_TESTS
from network.db import own_transaction
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

    def cluster(self, name: str = "North Cluster") -> Cluster:
        with own_transaction(self.app) as session:
            return directory.create_cluster(session, None, name)

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
