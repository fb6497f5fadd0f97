"""Shown means signed: the hub's clear columns checked against the signed header.

The hub keeps in clear what it routes and audits with (design.md, "What the
hub may see"), and pages show those values: who sent an alert, when, to whom,
what action was recorded, which alert a forward came from. Each of them is
also in the sender's signed header, and a reader's school compares the two
every time it opens an envelope. A value that differs means the hub's record
was changed after signing: the item is shown as failing its integrity check,
never as verified.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from crypto.envelope import Header
from network.alerts.models import Alert, AlertRecipient, ThreadItem
from network.alerts.sealing import IntegrityFailure
from network.alerts.vocab import ALERT_KIND, ItemKind

#: Shown on an alert or item signed before version 2 of the envelope.
EARLIER_FORMAT = (
    "Signed under the earlier format: its sender, time, recipients and content are "
    "checked, but not which alert it was forwarded from."
)

_ALERT_FAILED = (
    "The hub's record of this alert does not match what the sender signed ({fields}). "
    "It is not shown; tell your coordinator."
)
_ITEM_FAILED = (
    "The hub's record of this item does not match what its author signed ({fields}). "
    "It is not shown; tell your coordinator."
)


#: How far a signer's clock may run ahead of the hub's: an item dated up to this
#: long after its generation's retirement is still accepted.
CLOCK_SKEW = timedelta(minutes=5)

_RETIRED = (
    "This {what} is dated {signed}, after its school's keys of generation {generation} "
    "were retired ({retired}): they sign nothing after that. It is not shown; tell your "
    "coordinator."
)


def check_signed_while_current(header: Header, retired_at: datetime | None, what: str) -> None:
    """A generation signs nothing dated after its retirement (plus CLOCK_SKEW):
    a member removed at the rotation still holds the old signing keys."""
    if retired_at is not None and header.created_at > retired_at + CLOCK_SKEW:
        raise IntegrityFailure(
            _RETIRED.format(
                what=what,
                signed=header.created_at.isoformat(timespec="seconds"),
                generation=header.sender_generation,
                retired=retired_at.isoformat(timespec="seconds"),
            )
        )


def _differing(pairs: Sequence[tuple[str, object, object]]) -> list[str]:
    return [name for name, signed, kept in pairs if signed != kept]


class SignedColumns(Protocol):
    """The hub's columns of an alert that its sender also signed: an ``Alert``,
    or the columns a list selects of it (``listing.ListedAlert``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def cluster_id(self) -> uuid.UUID: ...
    @property
    def sender_school_id(self) -> uuid.UUID: ...
    @property
    def sender_member_id(self) -> uuid.UUID: ...
    @property
    def sender_generation(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def category(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def tlp(self) -> str: ...
    @property
    def forwarded_from_id(self) -> uuid.UUID | None: ...


def check_alert(
    header: Header,
    alert: SignedColumns,
    copies: Sequence[AlertRecipient] | None = None,
    *,
    retired_at: datetime | None,
    indicators: Sequence[bytes] | None = None,
) -> None:
    """Every column of ``alert`` a page shows equals its signed value, and,
    given the alert's copies, the schools holding one are exactly the signed
    recipients (with the sender's copy the sender's school); given the hub's
    indicator hashes of the alert, they are exactly the signed ones (the hub
    cannot link the alert to others, or unlink it, unseen). ``retired_at`` is
    when the sender's generation was retired: nothing it signed after counts."""
    forwarded = header.forwarded_from.alert_id if header.forwarded_from else None
    pairs: list[tuple[str, object, object]] = [
        ("its id", header.alert_id, alert.id.bytes),
        ("its kind", header.kind, ALERT_KIND),
        ("its cluster", header.cluster, str(alert.cluster_id)),
        ("the sending school", header.sender_school, str(alert.sender_school_id)),
        ("the sender", header.sender_member, str(alert.sender_member_id)),
        ("the sending school's keys", header.sender_generation, alert.sender_generation),
        ("when it was sent", header.created_at, alert.created_at),
        ("its category", header.category, alert.category),
        ("its severity", header.severity, alert.severity),
        ("its platform", header.platform, alert.platform),
        ("its handling label", header.tlp, alert.tlp),
        ("its parent", header.parent, None),
    ]
    if header.version >= 2:
        pairs.append(
            (
                "the alert it was forwarded from",
                forwarded,
                alert.forwarded_from_id.bytes if alert.forwarded_from_id else None,
            )
        )
    if copies is not None:
        signed = sorted({r.school for r in header.recipients})
        pairs.append(("its recipients", signed, sorted({str(c.school_id) for c in copies})))
        senders = [str(c.school_id) for c in copies if c.is_sender]
        pairs.append(("the sender's copy", [header.sender_school], senders))
    if indicators is not None:
        pairs.append(("its indicators", sorted(header.indicators), sorted(indicators)))
    wrong = _differing(pairs)
    if wrong:
        raise IntegrityFailure(_ALERT_FAILED.format(fields=", ".join(wrong)))
    check_signed_while_current(header, retired_at, "alert")


#: Items only the sending school writes: a page shows them as the sender's.
_SENDERS_ONLY = frozenset({ItemKind.CORRECTION, ItemKind.WITHDRAWAL})


def check_item(
    header: Header, item: ThreadItem, alert: Alert, *, retired_at: datetime | None
) -> None:
    """Every column of a thread item a page shows equals its signed value; an
    attachment also names the item it is attached to (its place there is
    checked across the alert's attachments, by ``check_attachment_places``).
    ``retired_at`` is when its author's generation was retired."""
    # Version 1 carried an action's type in the category field.
    action_type = header.action_type if header.version >= 2 else header.category
    pairs: list[tuple[str, object, object]] = [
        ("its id", header.alert_id, item.id.bytes),
        ("its kind", header.kind, str(item.kind)),
        ("the alert it belongs to", header.parent, alert.id.bytes),
        ("its cluster", header.cluster, str(alert.cluster_id)),
        ("its school", header.sender_school, str(item.author_school_id)),
        ("its author", header.sender_member, str(item.author_member_id)),
        ("its school's keys", header.sender_generation, item.author_generation),
        ("when it was written", header.created_at, item.created_at),
        ("the action recorded", action_type, item.action_type or ""),
    ]
    if header.version >= 2 and item.kind == ItemKind.ATTACHMENT:
        pairs.append(("the item it is attached to", header.attached_to, alert.id.bytes))
    if item.kind in _SENDERS_ONLY:
        # Shown as the sender's word: signed by the school that sent the alert.
        pairs.append(
            ("the school that sent the alert", header.sender_school, str(alert.sender_school_id))
        )
    wrong = _differing(pairs)
    if wrong:
        raise IntegrityFailure(_ITEM_FAILED.format(fields=", ".join(wrong)))
    check_signed_while_current(header, retired_at, "item")


def check_attachment_places(headers: Sequence[Header], attached: int | None) -> None:
    """An alert's version 2 attachments are numbered 0, 1, 2... by the sender,
    each once, and as many as its sealed content says (``attached``): none
    added, removed, swapped or duplicated by the hub."""
    places = sorted(h.position for h in headers if h.version >= 2)
    if places != list(range(len(places))) or attached not in (None, len(headers)):
        raise IntegrityFailure(_ALERT_FAILED.format(fields="its attachments"))
