"""Migration 0012: a cluster's one retention period becomes its period for
every category; the platform seed is brought up to date; schools default to
England and Wales. Downgrading undoes it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from network import create_app
from network.db import engine
from network.migrate import config, upgrade
from tests.conftest import settings_for_tests

NOW = datetime(2026, 12, 1, tzinfo=UTC)
SCHOOLS = sa.table(
    "schools",
    sa.column("id", sa.Uuid()),
    sa.column("cluster_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("name", sa.String()),
    sa.column("urn", sa.String()),
    sa.column("address", sa.Text()),
    sa.column("status", sa.String()),
    sa.column("key_generation", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
CLUSTERS = sa.table(
    "clusters",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("retention_days", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def test_a_chosen_period_is_kept_for_every_category_and_the_seed_is_current(
    tmp_path, empty_database
):
    app = create_app(settings_for_tests(tmp_path, empty_database))
    upgrade(app, "0008")
    chose, default = uuid.uuid4(), uuid.uuid4()
    with engine(app).begin() as connection:
        connection.execute(
            sa.insert(CLUSTERS),
            [
                {"id": chose, "name": "Chose", "retention_days": 730, "created_at": NOW},
                {"id": default, "name": "Default", "retention_days": 365, "created_at": NOW},
            ],
        )
        # A school refers to the cluster: the upgrade must not rebuild either table.
        school = {"id": uuid.uuid4(), "cluster_id": chose, "kind": "school", "name": "Ash"}
        school |= {"urn": "100001", "address": "", "status": "active", "key_generation": 0}
        connection.execute(sa.insert(SCHOOLS), [{**school, "created_at": NOW}])
    upgrade(app, "0012")
    with engine(app).connect() as connection:
        assert connection.execute(sa.text("SELECT nation FROM schools")).scalar() == "england_wales"
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.text("UPDATE schools SET nation = 'wales'"))
        connection.rollback()
    with engine(app).connect() as connection:
        periods = connection.execute(
            sa.text("SELECT cluster_id, category, days FROM retention_periods")
        ).all()
        ages = dict(connection.execute(sa.text("SELECT code, minimum_age FROM platforms")).all())
        columns = {c["name"] for c in sa.inspect(connection).get_columns("clusters")}
    assert {(uuid.UUID(str(c)), d) for c, _, d in periods} == {(chose, 730)}
    assert len(periods) == 7  # one per category; the default cluster keeps the defaults
    assert ages["whatsapp"] == 13
    assert {ages[c] for c in ("roblox", "discord", "telegram", "threads")} == {0, 13, 16}
    assert "retention_days" not in columns
    command.downgrade(config(app), "0008")
    with engine(app).connect() as connection:
        ages = dict(connection.execute(sa.text("SELECT code, minimum_age FROM platforms")).all())
        assert "roblox" not in ages
        assert "retention_periods" not in sa.inspect(connection).get_table_names()
        assert connection.execute(sa.text("SELECT name FROM schools")).scalar() == "Ash"
    engine(app).dispose()
