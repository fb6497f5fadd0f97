"""What a list of alerts reads of each row: the columns it shows and checks,
as plain values, not ORM objects.

A page of the inbox is 25 rows; loading them as ``AlertRecipient`` and
``Alert`` objects (with the sender's school joined in) cost more than the
query and the 25 read records together: every column of three tables turned
into Python values, identity-mapped and instrumented. A list needs about
twenty columns, read once and never changed, so the inbox selects just those
(``LISTED``) and keeps them in frozen dataclasses that answer to the same
names as the models (templates, the API's documents and ``check_alert`` read
them alike).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from network.alerts.models import Alert, AlertRecipient
from network.alerts.vocab import AlertStatus
from schools.models import School


@dataclass(frozen=True, slots=True)
class ListedSchool:
    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class ListedAlert:
    """An alert's columns a list shows, or checks against its signed header."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    sender_school_id: uuid.UUID
    sender_member_id: uuid.UUID
    sender_generation: int
    category: str
    severity: str
    platform: str
    tlp: str
    status: str
    created_at: datetime
    forwarded_from_id: uuid.UUID | None
    recipient_count: int
    attachment_count: int
    envelope_hash: bytes
    sealed_id: int | None
    sender_school: ListedSchool

    @property
    def shredded(self) -> bool:
        """As ``Alert.shredded``: past its retention period, or withdrawn."""
        return self.status in (AlertStatus.SHREDDED, AlertStatus.WITHDRAWN)

    @property
    def withdrawn(self) -> bool:
        return self.status == AlertStatus.WITHDRAWN


@dataclass(frozen=True, slots=True)
class ListedCopy:
    """The school's copy of a listed alert."""

    alert_id: uuid.UUID
    school_id: uuid.UUID
    is_sender: bool
    tier: str
    created_at: datetime
    first_read_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None


# The columns of a listed row, in the order ``listed`` reads them.
_COPY = (
    AlertRecipient.is_sender,
    AlertRecipient.tier,
    AlertRecipient.created_at,
    AlertRecipient.first_read_at,
    AlertRecipient.acknowledged_at,
    AlertRecipient.closed_at,
)
_ALERT = (
    Alert.id,
    Alert.cluster_id,
    Alert.sender_school_id,
    Alert.sender_member_id,
    Alert.sender_generation,
    Alert.category,
    Alert.severity,
    Alert.platform,
    Alert.tlp,
    Alert.status,
    Alert.created_at,
    Alert.forwarded_from_id,
    Alert.recipient_count,
    Alert.attachment_count,
    Alert.envelope_hash,
    Alert.sealed_id,
    School.name,
)
LISTED: tuple[Any, ...] = _COPY + _ALERT
_COPY_END = len(_COPY)
_ALERT_END = len(LISTED)
assert len(_ALERT) == 17


def listed(row: Row[Any], school_id: uuid.UUID) -> tuple[ListedCopy, ListedAlert]:
    """The copy and alert of a row whose first columns are ``LISTED``, of the
    school ``school_id`` (whose copies the query lists)."""
    c = row[:_COPY_END]
    a = row[_COPY_END:_ALERT_END]
    copy = ListedCopy(a[0], school_id, c[0], c[1], c[2], c[3], c[4], c[5])
    sender = ListedSchool(a[2], a[16])
    alert = ListedAlert(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
        a[13], a[14], a[15], sender
    )  # fmt: skip
    return copy, alert
