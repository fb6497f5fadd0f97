"""One database session per request, committed once at the end (STYLE.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from network.settings import Settings
from schools import audit
from schools.db import make_engine
from schools.models import Member

_KEY = "alertnet.db"
_STANDS = "alertnet.db.stands_after_refusal"


def init_app(app: Flask, database_url: str) -> None:
    engine = make_engine(database_url, pool_pre_ping=True)
    # Each session knows its hub, so services called with only a session (signal
    # receivers, the worker, CLI commands) read the same settings as requests.
    app.extensions[_KEY] = sessionmaker(bind=engine, expire_on_commit=False, info={"app": app})

    @app.after_request
    def _commit(response: Any) -> Any:
        # Commit before the response leaves: a failed commit becomes a 500
        # instead of a page that claims success.
        session = g.pop("db", None)
        stands = g.pop(_STANDS, False)
        if session is not None:
            try:
                if response.status_code < 400 or (stands and response.status_code < 500):
                    session.commit()
                    audit.take_lasting(session)
                else:
                    _roll_back(session)
            finally:
                session.close()
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            _roll_back(session)
            session.close()


def _roll_back(session: Session) -> None:
    """Abandon the session's work, keeping the entries that must stand
    (``audit.record_lasting``) in a transaction of their own."""
    session.rollback()
    lasting = audit.take_lasting(session)
    if lasting:
        with own_transaction(session.info["app"]) as own:
            for action, fields in lasting:
                audit.record(own, action, **fields)


def stands_after_refusal() -> None:
    """The request is refused (a 4xx answer, whose transaction is rolled back),
    but what it writes after the refusal's own rollback must stand: it is
    committed with the answer, still once, at the end of the request. Used where
    the refusal itself is kept for the person (a refused post keeps its accepted
    files in a draft). A 5xx still rolls everything back."""
    g.setdefault(_STANDS, True)


def settings_of(session: Session) -> Settings:
    """The settings of the hub whose database this session talks to."""
    configured: Settings = session.info["app"].config["ALERTNET"]
    return configured


def engine(app: Flask | None = None) -> Engine:
    factory = (app or current_app).extensions[_KEY]
    bound = factory.kw["bind"]
    assert isinstance(bound, Engine)
    return bound


def db() -> Session:
    """The request's session; created on first use."""
    if "db" not in g:
        g.db = current_app.extensions[_KEY]()
    session: Session = g.db
    return session


@contextmanager
def own_transaction(app: Flask | None = None) -> Iterator[Session]:
    """A separate transaction committed on its own, for security events that a
    rollback of the request must not erase, and for CLI commands."""
    session: Session = (app or current_app).extensions[_KEY]()
    try:
        yield session
        session.commit()
        audit.take_lasting(session)
    except BaseException:
        _roll_back(session)
        raise
    finally:
        session.close()


def record_security_event(action: str, **fields: Any) -> None:
    """Commit a security event on its own. The request's transaction is ended
    first: its work is abandoned anyway, and on SQLite it would hold the lock.
    An ``actor`` is read again in the event's own session (touching the
    request's, once rolled back, would begin a transaction there)."""
    actor = fields.pop("actor", None)
    actor_id = actor.id if actor is not None else None
    request_session = g.get("db")
    if request_session is not None:
        request_session.rollback()
    with own_transaction() as session:
        who = session.get(Member, actor_id) if actor_id is not None else None
        audit.record(session, action, actor=who, **fields)
