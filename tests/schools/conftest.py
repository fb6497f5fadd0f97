from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from schools import directory
from schools.db import make_engine
from schools.models import School
from tests.conftest import truncate_postgres


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A plain SQLAlchemy session on a migrated database: no Flask here."""
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        truncate_postgres(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def school(session: Session) -> School:
    """Oakfield, alone in its cluster."""
    cluster = directory.create_cluster(session, None, "Cluster")
    return directory.admit_school(session, None, cluster, "Oakfield", "123456", "")
