"""Queued reads: read events join the log without taking its lock, in the order
they were queued, all of them, even when a sequencer dies mid-batch."""

# The engine fixture is imported from test_audit.
# ruff: noqa: F811

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from schools import audit
from schools.audit import queue, tree
from schools.audit.models import AuditEvent, AuditQueued
from tests.schools.test_audit import _verify, engine, transactions  # noqa: F401  (fixture)


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _queued(engine: Engine) -> int:
    with Session(engine) as session:
        return queue.queued_count(session)


def _integrate(engine: Engine) -> int:
    with Session(engine) as session:
        moved = queue.integrate_all(session)
        session.commit()
        return moved


def _read(engine: Engine, n: int) -> None:
    with Session(engine) as session:
        audit.record_read(session, "alert.opened", object_type="alert", object_id=f"a-{n}", n=n)
        session.commit()


def _write(engine: Engine, n: int) -> None:
    with Session(engine) as session:
        audit.record(session, "alert.replied", object_type="alert", object_id=f"w-{n}", n=n)
        session.commit()


def _log(engine: Engine) -> list[tuple[int, str, int]]:
    with Session(engine) as session:
        return [
            (e.seq, e.action, e.detail["n"])
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]


def test_a_read_is_queued_and_joins_the_log_at_the_next_write_in_order(session, engine):
    _read(engine, 0)
    _read(engine, 1)
    assert _count(engine, AuditEvent) == 0
    assert _queued(engine) == 2
    _write(engine, 2)
    assert _log(engine) == [
        (0, "alert.opened", 0),
        (1, "alert.opened", 1),
        (2, "alert.replied", 2),
    ]
    assert _queued(engine) == 0
    _read(engine, 3)
    assert _integrate(engine) == 1
    assert _log(engine)[-1] == (3, "alert.opened", 3)
    assert _verify(engine).ok


def test_a_read_rolled_back_with_its_transaction_is_not_queued(engine):
    with Session(engine) as reader:
        audit.record_read(reader, "alert.opened", object_type="alert", object_id="x", n=0)
        reader.rollback()
    with Session(engine) as reader:
        audit.record_read(reader, "alert.opened", object_type="alert", object_id="y", n=1)
        savepoint = reader.begin_nested()
        audit.record_read(reader, "alert.opened", object_type="alert", object_id="z", n=2)
        reader.flush()
        savepoint.rollback()
        reader.commit()
    with Session(engine) as session:
        assert [row.object_id for row in session.scalars(select(AuditQueued))] == ["y"]


def test_a_sequencer_that_dies_mid_batch_leaves_everything_queued(session, engine):
    for n in range(5):
        _read(engine, n)
    with Session(engine) as dying:
        assert queue.integrate(dying, limit=3) == 3
        dying.flush()
        dying.rollback()  # the process died before its commit
    assert _queued(engine) == 5
    assert _count(engine, AuditEvent) == 0
    assert _integrate(engine) == 5
    assert [n for _, _, n in _log(engine)] == [0, 1, 2, 3, 4]
    assert _verify(engine).ok


def test_reads_and_writes_at_once_keep_the_log_gap_free_and_verifiable(session, engine):
    errors: list[BaseException] = []

    def run(kind: str, start: int) -> None:
        try:
            for n in range(start, start + 15):
                (_read if kind == "read" else _write)(engine, n)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(kind, 100 * i))
        for i, kind in enumerate(("read", "read", "write", "write"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    _integrate(engine)
    log = _log(engine)
    assert [seq for seq, _, _ in log] == list(range(60))
    assert sorted(n for _, _, n in log) == sorted(
        n for i in range(4) for n in range(100 * i, 100 * i + 15)
    )
    # Each reader's events are in the log in the order it queued them.
    for start in (0, 100):
        mine = [n for _, action, n in log if action == "alert.opened" and start <= n < start + 15]
        assert mine == list(range(start, start + 15))
    assert _verify(engine).ok


def test_on_postgresql_a_read_does_not_wait_for_the_logs_lock(session, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time whatever the log does")
    holding = Session(engine)
    tree.lock_log(holding)  # a writer appending, not yet committed
    done = threading.Event()

    def read() -> None:
        _read(engine, 7)
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert done.wait(timeout=10), "the read waited for the log's lock"
    finally:
        holding.rollback()
        holding.close()
        reader.join(timeout=30)
    assert _queued(engine) == 1
