"""Sending what the post form holds: straight to its audience, or, when the
author's school reviews their alerts, into the review queue (held sealed to
the school until a head or DSL approves it: network/alerts/review.py). The
page and the API (POST /api/v1/alerts) both send through ``submit``."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import held as held_alerts
from network.alerts import signals
from network.alerts.access import check_may_post
from network.alerts.compose import FormFields, compose
from network.alerts.content import Evidence
from network.alerts.held_models import HeldAlert, HeldState
from network.alerts.models import Alert
from network.alerts.posting import Posted, post_alert
from schools import audit, policy
from schools.errors import Problems
from schools.models import Member, School


@dataclass(frozen=True)
class Submitted:
    """Either the alert sent (and the schools it went to), or the held alert
    now waiting for review."""

    alert: Alert | None = None
    in_review: HeldAlert | None = None
    recipients: tuple[School, ...] = ()

    @property
    def posted(self) -> Posted:
        assert self.alert is not None
        return Posted(self.alert, self.recipients)


def submit(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    form: FormFields,
    new_files: Sequence[Evidence],
    today: date,
    *,
    held_id: uuid.UUID | None = None,
    remove: Collection[uuid.UUID] = (),
    problems: Problems | None = None,
) -> Submitted:
    """Check everything at once (InvalidInputs names every field at fault),
    then send, or hold for review. A draft it came from is shredded once sent."""
    check_may_post(actor)
    held = held_alerts.editable(session, actor, held_id) if held_id else None
    kept: list[Evidence] = []
    if held is not None:
        files = held_alerts.open_held(session, actor, keys, held.id).files
        everything = held_alerts.evidence_of(session, keys, held)
        kept = [e for f, e in zip(files, everything, strict=True) if f.id not in remove]
    draft = compose(session, form, [*kept, *new_files], today, problems, sender=actor)
    if policy.needs_review(actor):
        waiting = held_alerts.save(
            session,
            actor,
            keys,
            form,
            new_files,
            held_id=held_id,
            remove=remove,
            state=HeldState.IN_REVIEW,
        )
        audit.record(
            session,
            "alert.submitted_for_review",
            actor=actor,
            object_type="held_alert",
            object_id=waiting.id,
            **draft.filing,
        )
        # The school's reviewers are told (in the hub and by email): a link, never content.
        signals.review_requested.send(
            None,
            session=session,
            held=waiting,
            key=f"review.requested:{waiting.id}:{waiting.updated_at.isoformat()}",
        )
        return Submitted(in_review=waiting)
    posted = post_alert(session, actor, keys, draft)
    alert = posted.alert
    if held is not None:
        audit.record(
            session,
            "alert.draft_sent",
            actor=actor,
            object_type="held_alert",
            object_id=held.id,
            alert=str(alert.id),
        )
        held_alerts.forget(session, held)
    return Submitted(alert=alert, recipients=posted.recipients)
