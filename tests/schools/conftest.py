from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from crypto.custody import FAST_FOR_TESTS
from schools import directory, invitations, keyring
from schools.db import make_engine
from schools.models import Role, School
from tests.conftest import truncate_postgres
from tests.factories import join

#: The staff fixture's own password, so that tests can tell hers from the head's.
STAFF_PASSWORD = "another long passphrase"


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


@pytest.fixture
def head(session: Session, school: School) -> Any:
    """Amara, Oakfield's first head: her joining made the school's keys."""
    invited = invitations.invite(session, None, Role.HEAD, "head@oak.example.org", school=school)
    return join(session, invited.token, "Amara")


@pytest.fixture
def staff(session: Session, school: School, head: Any) -> Any:
    """Grace, a member of staff the head invited, with a password of her own."""
    keys = keyring.unlock_for_member(session, head.member, head.credential)
    invited = invitations.invite(
        session, head.member, Role.STAFF, "dsl@oak.example.org", school=school, actor_keys=keys
    )
    return invitations.accept_invitation(
        session, invited.token, "Grace", STAFF_PASSWORD, STAFF_PASSWORD, FAST_FOR_TESTS
    )
