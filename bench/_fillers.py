"""The metadata-only alerts the inbox and dashboard benches fill a cluster with.

One generator makes the rows, as Python values, for both writers: COPY on
PostgreSQL (bench/inbox.py) and bulk inserts on SQLite (bench/dashboard.py),
so the two databases hold alike alerts and copies. A filler has no envelope:
the inbox never opens one unless it is on the page shown.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

ALERT_COLUMNS = (
    "id, cluster_id, sender_school_id, sender_member_id, sender_generation, category, "
    "severity, platform, tlp, status, created_at, expires_at, recipient_count, "
    "attachment_count, size, envelope_hash"
)
COPY_COLUMNS = (
    "alert_id, school_id, is_sender, tier, created_at, first_read_at, acknowledged_at, "
    "cluster_id, severity"
)
SPACING = timedelta(seconds=30)


def filler_rows(
    rng: random.Random,
    count: int,
    start: datetime,
    cluster_id: uuid.UUID,
    member_id: uuid.UUID,
    school_ids: Sequence[uuid.UUID],
    measured_school: uuid.UUID | None = None,
) -> Iterator[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    """``count`` alerts, one every 30 seconds from ``start``, each with its three
    recipients' copies: an alert's row (ALERT_COLUMNS) and its copies' rows
    (COPY_COLUMNS). 80 % of copies are acknowledged, after minutes to a few
    days. When ``measured_school`` is given, it is among the recipients of
    every 83rd alert at least (the inbox bench's measured school)."""
    for number in range(count):
        alert_id = uuid.uuid4()
        severity = rng.choice(["info", "low", "medium", "high", "urgent"])
        created = start + number * SPACING
        alert = (
            alert_id,
            cluster_id,
            rng.choice(school_ids),
            member_id,
            1,
            rng.choice(["defamation", "staff_named", "harassment", "other"]),
            severity,
            rng.choice(["facebook", "tiktok", "instagram"]),
            "AMBER",
            "open",
            created,
            created + timedelta(days=3650),
            3,
            0,
            1000,
            b"\0" * 32,
        )
        chosen = rng.sample(list(school_ids), 3)
        if measured_school is not None and number % 83 == 0 and measured_school not in chosen:
            chosen[0] = measured_school
        copies: list[tuple[object, ...]] = []
        for school in chosen:
            acknowledged = (
                created + timedelta(minutes=rng.expovariate(1 / 600))
                if rng.random() < 0.8
                else None
            )
            copies.append(
                (
                    alert_id,
                    school,
                    False,
                    "all",
                    created,
                    created,
                    acknowledged,
                    cluster_id,
                    severity,
                )
            )
        yield alert, copies


def copy_text(row: tuple[object, ...]) -> str:
    """One row in PostgreSQL's COPY text format (no value here needs escaping)."""
    return (
        "\t".join(
            "\\N" if v is None else ("t" if v else "f") if isinstance(v, bool) else str(v)
            for v in row
        )
        + "\n"
    )


def sqlite_value(value: object) -> object:
    """A value as SQLAlchemy stores it on SQLite: UUIDs as 32 hex digits, times
    as naive UTC text."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(" ")
    return value
