"""The worker's heartbeat: each running ``alertnet worker`` writes the time it
last went round its loop, so ``/readyz`` and ``/metrics`` can tell whether
notifications are being sent at all.

One row per worker process (host, process id and a random suffix, so two
workers on two hosts, or one restarted with the same pid, never share a row).
A worker beats at most every ``BEAT_SECONDS``; rows of workers gone for a day
are removed by the next beat. Nothing here is audited: a heartbeat changes no
state a school or coordinator sees, it is operating data like a lease.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from schools.db import Base, UTCDateTime, utcnow

#: How often a worker writes its heartbeat; /readyz wants one newer than a minute.
BEAT_SECONDS = 15.0
#: A worker silent this long is forgotten.
FORGET_AFTER = timedelta(days=1)


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def worker_name() -> str:
    """``host:pid:random``: unique per worker process, readable in the table."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def record_beat(session: Session, worker: str, started_at: datetime, now: datetime) -> None:
    """Write ``worker``'s heartbeat (insert or update) and forget long-silent workers."""
    updated = session.execute(
        update(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker).values(beat_at=now)
    )
    if not getattr(updated, "rowcount", 0):
        session.add(WorkerHeartbeat(worker=worker, started_at=started_at, beat_at=now))
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER))
    session.flush()


def latest_beat(session: Session) -> datetime | None:
    """When any worker last beat; None if none ever did (or all were forgotten)."""
    latest: datetime | None = session.scalar(select(func.max(WorkerHeartbeat.beat_at)))
    if latest is not None and latest.tzinfo is None:  # in case max() loses the type
        latest = latest.replace(tzinfo=UTC)
    return latest


class _State:
    def __init__(self) -> None:
        self.name = worker_name()
        self.started_at = utcnow()
        self.last = -1e18


_STATES: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()


def beat(worker: Any) -> None:
    """Called on every turn of a worker's loop (``worker.app`` is its hub); writes
    at most every BEAT_SECONDS. A database error propagates to the loop, which
    already waits and retries."""
    from network.db import own_transaction

    state = _STATES.get(worker)
    if state is None:
        state = _STATES[worker] = _State()
    clock = time.monotonic()
    if clock - state.last < BEAT_SECONDS:
        return
    with worker.app.app_context(), own_transaction(worker.app) as session:
        record_beat(session, state.name, state.started_at, utcnow())
    state.last = clock
