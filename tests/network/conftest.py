"""The network tests' shared cast and test servers, each defined once here:
a cluster (Riverside), its schools' signed-in heads, the audit tests' Riverside,
a real SMTP server and a real webhook receiver on 127.0.0.1.

A test that asks for ``smtp`` gets a hub (``app``) that mails it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask.testing import FlaskClient

from schools.models import Cluster, Role
from tests.conftest import _worker_database
from tests.factories import World, build_riverside, sign_in
from tests.network.alerts_helpers import Head, make_head

if TYPE_CHECKING:
    from tests.network.notify_helpers import Receiver, SmtpServer

HEADS = ("Ash", "Beech", "Cedar")


@pytest.fixture
def cluster(world: World) -> Cluster:
    return world.cluster("Riverside")


@pytest.fixture
def heads(
    request: pytest.FixtureRequest, app: Flask, world: World, cluster: Cluster
) -> dict[str, Head]:
    """Signed-in heads of schools in the cluster, by school: Ash, Beech and
    Cedar, or those a ``@pytest.mark.heads("Ash", ...)`` names. A test uses
    either these or ``ash``/``beech``/``pair``: each makes its own Ash."""
    marker = request.node.get_closest_marker("heads")
    names = marker.args if marker else HEADS
    return {name: make_head(app, world, cluster, name) for name in names}


@pytest.fixture
def ash(app: Flask, world: World, cluster: Cluster) -> Head:
    return make_head(app, world, cluster, "Ash")


@pytest.fixture
def beech(app: Flask, world: World, cluster: Cluster) -> Head:
    return make_head(app, world, cluster, "Beech")


@pytest.fixture
def pair(app: Flask, world: World, cluster: Cluster) -> tuple[Head, Head]:
    return make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")


@pytest.fixture
def riverside(world: World) -> SimpleNamespace:
    """Riverside's and Hillside's schools and everyone who reads the audit log."""
    return build_riverside(world)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    from tests.network.notify_helpers import running_smtp

    with running_smtp() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    from tests.network.notify_helpers import running_receiver

    with running_receiver() as hook:
        yield hook


@pytest.fixture
def coordinator(app: Flask, world: World, cluster: Cluster) -> FlaskClient:
    """The cluster's coordinator, signed in."""
    person = world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    client = app.test_client()
    assert sign_in(client, person.email).status_code == 302
    return client


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables, for a migration test to upgrade step by step:
    a file on SQLite, or a PostgreSQL database of the test module's own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    request.getfixturevalue("postgres_migrated")  # skips without PostgreSQL
    return _worker_database(request.module.__name__.rsplit(".", 1)[-1])
