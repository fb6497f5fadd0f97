"""Migration 0002: entries written before it join the Merkle log unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, select

from crypto import merkle
from network import create_app
from network.audit.signer import verifier
from network.db import engine, own_transaction
from network.migrate import config, current_revision, upgrade
from schools.audit import tree, verify
from schools.audit.models import AuditEvent
from schools.db import utcnow
from tests.conftest import settings_for_tests
from tests.schools.test_audit import stored_leaves

OLD_EVENTS = sa.table(
    "audit_events",
    sa.column("seq", sa.BigInteger()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("action", sa.String()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("school_id", sa.Uuid()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("envelope_hash", sa.LargeBinary()),
    sa.column("detail", sa.JSON()),
)


def test_old_entries_are_renumbered_from_zero_and_hashed_into_the_tree(tmp_path, empty_database):
    app = create_app(settings_for_tests(tmp_path, empty_database))
    upgrade(app, "0001")
    school = uuid.uuid4()
    with engine(app).begin() as connection:
        connection.execute(
            sa.insert(OLD_EVENTS),
            [
                {
                    "seq": seq,
                    "at": datetime(2026, 3, day, 9, 30, 0, 123456, tzinfo=UTC),
                    "action": action,
                    "actor_id": uuid.uuid4(),
                    "school_id": school,
                    "object_type": "school",
                    "object_id": str(school),
                    "envelope_hash": b"\x07" * 32 if seq == 2 else None,
                    "detail": {"urn": "123456", "n": seq},
                }
                for seq, day, action in [
                    (1, 1, "school.admitted"),
                    (2, 2, "member.signed_in"),
                    (5, 3, "member.signed_out"),
                ]
            ],
        )
    upgrade(app, "0002")
    with own_transaction(app) as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        assert [(e.seq, e.action) for e in events] == [
            (0, "school.admitted"),
            (1, "member.signed_in"),
            (2, "member.signed_out"),
        ]
        assert tree.root_at(session, 3) == merkle.reference_root(stored_leaves(session))
        # Appended as the code of revision 0002 did (today's record() also
        # integrates the read queue, a table of a later revision).
        tree.append(session, [AuditEvent(at=utcnow(), action="test.after_migration", detail={})])
    with app.app_context():
        report = verify.verify_log(lambda: own_transaction(app), verifier())
    assert report.ok, report.problem
    assert report.entries == 4

    command.downgrade(config(app), "0001")
    assert current_revision(app) == "0001"
    assert "audit_subtrees" not in inspect(engine(app)).get_table_names()
    with engine(app).begin() as connection:
        connection.execute(sa.delete(OLD_EVENTS).where(OLD_EVENTS.c.seq == 3))  # no triggers now
    engine(app).dispose()
