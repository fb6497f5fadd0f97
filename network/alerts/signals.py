"""What happened to an alert, for other features to act on in the same
transaction (notifications write their outbox rows from these).

Each signal has one signature, which mypy checks at both ends: a sender calls
``alert_posted.send(None, session=..., alert=..., actor=...)`` and a receiver
is a function of exactly that shape. Receivers are called synchronously with
the request's transaction (``session``); they must only add rows and flush,
never commit or do network I/O. Features connect theirs in their init_app, so
every process that builds the app (the hub, the CLI, the worker) has them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, cast

from blinker import Namespace
from sqlalchemy.orm import Session

from network.alerts.held_models import HeldAlert
from network.alerts.models import Alert, AlertRecipient, ThreadItem
from schools.models import Member

P = ParamSpec("P")

_signals = Namespace()


class Signal(Generic[P]):
    """A blinker signal whose senders and receivers take the parameters of
    ``signature``: the first, positional, is blinker's sender (None here)."""

    def __init__(self, name: str, signature: Callable[P, None]) -> None:
        self.name = name
        self._signal = _signals.signal(name, doc=signature.__doc__)

    def connect(self, receiver: Callable[P, None]) -> None:
        """Held strongly. Connecting a receiver again leaves it connected once
        (blinker keys receivers by identity), so create_app may run many times
        in one process, as in the tests."""
        self._signal.connect(receiver, weak=False)

    def disconnect(self, receiver: Callable[P, None]) -> None:
        self._signal.disconnect(receiver)

    def send(self, *args: P.args, **kwargs: P.kwargs) -> None:
        # The arguments were checked against the signature; blinker takes any.
        self._signal.send(*args, **cast("dict[str, Any]", kwargs))


def _posted(sender: None, /, *, session: Session, alert: Alert, actor: Member) -> None:
    """``actor`` posted ``alert``."""


def _acknowledged(
    sender: None, /, *, session: Session, alert: Alert, actor: Member, copy: AlertRecipient
) -> None:
    """``actor`` acknowledged ``copy``, their school's copy of ``alert``."""


def _thread_item(
    sender: None, /, *, session: Session, alert: Alert, actor: Member, item: ThreadItem
) -> None:
    """``actor`` added ``item`` to the thread of ``alert``: a reply, action,
    comment or attachment."""


def _resolved(sender: None, /, *, session: Session, alert: Alert, actor: Member) -> None:
    """``actor`` resolved ``alert``."""


def _withdrawn(
    sender: None, /, *, session: Session, alert: Alert, actor: Member, item: ThreadItem
) -> None:
    """``actor`` withdrew ``alert``: its content is shredded; ``item`` is the
    signed withdrawal (its reason sealed)."""


def _forwarded(
    sender: None, /, *, session: Session, alert: Alert, actor: Member, forward: Alert
) -> None:
    """``actor`` forwarded ``alert`` to other schools as ``forward``."""


def _review_decided(
    sender: None, /, *, session: Session, author: Member, event: str, path: str, key: str
) -> None:
    """A reviewer decided on ``author``'s alert held for review: ``event`` is
    review.approved, review.changes_requested or review.rejected; ``path`` the
    page to open; ``key`` unique to the decision."""


def _review_requested(sender: None, /, *, session: Session, held: HeldAlert, key: str) -> None:
    """``held`` (an alert from staff) entered its school's review queue, first
    or again after changes; ``key`` unique to this submission."""


alert_posted = Signal("alert-posted", _posted)
review_requested = Signal("review-requested", _review_requested)
review_decided = Signal("review-decided", _review_decided)
alert_forwarded = Signal("alert-forwarded", _forwarded)
alert_acknowledged = Signal("alert-acknowledged", _acknowledged)
thread_item_added = Signal("thread-item-added", _thread_item)
alert_resolved = Signal("alert-resolved", _resolved)
alert_withdrawn = Signal("alert-withdrawn", _withdrawn)
