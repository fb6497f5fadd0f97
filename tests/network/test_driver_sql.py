"""A Core statement run as the driver's own SQL (network/driver_sql.py)
returns what SQLAlchemy's execution of it returns, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import bindparam, event, literal, select

from network.db import engine, own_transaction
from network.driver_sql import DriverStatement
from schools.models import School

pytestmark = pytest.mark.heads("Ash", "Beech", "Cedar")


def _statement():
    """Schools by id from a list, with a UUID parameter and a literal the
    statement binds itself (as the indicators' query binds the status)."""
    schools = School.__table__.c
    return (
        select(schools.id, schools.name, literal("fixed").label("word"))
        .where(
            schools.id.in_(bindparam("ids", expanding=True)),
            schools.id != bindparam("other", type_=schools.id.type),
            schools.name != "never a school's name",
        )
        .order_by(schools.name)
    )


def test_rows_match_sqlalchemys_for_every_length_of_the_list(app, heads):
    statement = _statement()
    driven = DriverStatement(statement, "ids")
    issued: list[str] = []

    def count(_conn, _cursor, sql, *_args):
        issued.append(sql)

    with own_transaction(app) as session:
        ids = list(session.scalars(select(School.id).order_by(School.name)))
        assert len(ids) >= 3
        event.listen(engine(app), "before_cursor_execute", count)
        try:
            # The first length again: its kept rendering; 0: an empty list
            # (a session that holds no key yet matches no hash).
            for length in (1, 2, len(ids), 0, 1):
                values = {"ids": ids[:length], "other": uuid.uuid4()}
                expected = session.execute(statement, values).all()
                got = driven.rows(session.connection(), values)
                assert len(got) == len(expected) == length
                # The driver's values: on SQLite a UUID is its hex text.
                assert [(uuid.UUID(str(i)), n, w) for i, n, w in got] == [
                    tuple(row) for row in expected
                ]
        finally:
            event.remove(engine(app), "before_cursor_execute", count)
        # Through the connection: its events see each statement.
        assert len(issued) == 10
        values = {"ids": ids, "other": ids[0]}
        assert [uuid.UUID(str(row[0])) for row in driven.rows(session.connection(), values)] == [
            row[0] for row in session.execute(statement, values)
        ]
