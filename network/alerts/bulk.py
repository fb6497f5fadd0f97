"""Acknowledging several alerts at once, from the inbox: each acknowledgement
exactly as the single one (thread.acknowledge: its checks, its audit entry,
its signal), all in the request's one transaction. One refused refuses them
all: the caller rolls back, and nothing is acknowledged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import thread
from network.alerts.models import AlertRecipient
from network.alerts.vocab import PAGE_SIZE
from schools import policy
from schools.db import utcnow
from schools.errors import InvalidInput
from schools.models import Member

FIELD = "alert_ids"
# At most a page of the inbox at a time.
MAX_CHOSEN = PAGE_SIZE


def acknowledge_many(
    session: Session,
    actor: Member,
    keys: SchoolKeys | None,
    alert_ids: Sequence[uuid.UUID],
    now: datetime | None = None,
) -> list[AlertRecipient]:
    policy.check_school_may_act(actor, "acknowledge alerts")
    chosen = list(dict.fromkeys(alert_ids))
    if not chosen:
        raise InvalidInput("Choose at least one alert to acknowledge.", field=FIELD)
    if len(chosen) > MAX_CHOSEN:
        raise InvalidInput(f"Choose at most {MAX_CHOSEN} alerts at a time.", field=FIELD)
    now = now or utcnow()
    return [thread.acknowledge(session, actor, keys, alert_id, now=now) for alert_id in chosen]
