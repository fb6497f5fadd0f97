"""Forwarding: an alert sent on to other schools as a new alert from the
forwarding school, with its attachments, when its handling label allows.

A forward is its own envelope, signed by the forwarding school. Its header
names the original (alert, sending school, envelope hash) and its sealed
content carries the original's content key, so that its readers open the
original and check the original sender's signatures themselves: "forwarded by
X, originally from Y" is proved, not claimed (network/alerts/reading.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import signals
from network.alerts.access import forwardable
from network.alerts.audience import schools_holding
from network.alerts.auditing import record_for_alert
from network.alerts.content import MAX_NOTE, AlertContent, Evidence, clean_text
from network.alerts.models import Alert, AlertRecipient
from network.alerts.posting import AlertDraft, Posted, post_alert
from network.alerts.reading import open_alert, record_download
from network.alerts.vocab import SendTo
from schools.errors import Conflict, InvalidInput, InvalidInputs, Problems
from schools.models import Member, School


def check_forward(
    school_ids: Sequence[uuid.UUID], note: str, holding: Sequence[School] = ()
) -> str:
    """The schools chosen and the note, every problem at once (InvalidInputs);
    the note as sealed. ``holding``: the chosen schools already holding the
    alert, as read now; ``forward`` decides it again under the alert's lock."""
    problems = Problems()
    if not school_ids:
        # A forward goes to chosen schools only: there is no "whole cluster" option.
        problems.add(InvalidInput("Choose at least one school to forward it to.", field="schools"))
    elif holding:
        problems.add(InvalidInput(_already(holding), field="schools"))
    note = problems.check("", lambda: clean_text(note, "note", "note", MAX_NOTE))
    problems.raise_any()
    return note


def check_forward_of(
    session: Session,
    actor: Member,
    alert_id: uuid.UUID,
    school_ids: Sequence[uuid.UUID],
    note: str,
) -> str:
    """``check_forward`` for this alert, with the schools already holding it
    (checks only: nothing is written)."""
    original = forwardable(session, actor, alert_id)
    return check_forward(school_ids, note, schools_holding(session, original, school_ids))


def _already(holding: Sequence[School]) -> str:
    names = " and ".join(sorted(s.name for s in holding))
    return f"{names} already {'has' if len(holding) == 1 else 'have'} this alert."


def forward(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    alert_id: uuid.UUID,
    school_ids: Sequence[uuid.UUID],
    note: str = "",
) -> Posted:
    """Send an alert on to other schools as a new alert from this school,
    unless its handling label forbids it. Refusals come before anything is
    decrypted, audited or marked read."""
    original = forwardable(session, actor, alert_id)
    holding = schools_holding(session, original, school_ids)
    try:
        note = check_forward(school_ids, note, holding)
    except InvalidInputs as refused:
        if holding and len(refused.problems) == 1:
            # Nothing else is wrong: the forward conflicts with one made before.
            raise Conflict(_already(holding), field="schools") from None
        raise
    # Forwards of one alert are made one at a time (the alert's row is locked
    # until the commit; SQLite has one writer at a time anyway), so two at once
    # cannot both find that a school does not have it yet.
    session.refresh(original, ["status"], with_for_update=True)
    holding = schools_holding(session, original, school_ids)
    if holding:  # a forward made meanwhile, by a colleague
        raise Conflict(_already(holding), field="schools")
    # Each attachment is opened and verified once, with the alert.
    opened = open_alert(session, actor, keys, alert_id, forwarding=True)
    if opened.content is None:
        raise Conflict(opened.problem or "This alert's content is not available to forward.")
    evidence: list[Evidence] = []
    for item in opened.items:
        if item.evidence is not None:
            evidence.append(item.evidence)
            record_download(session, actor, original, item.item)
    content = AlertContent(
        opened.content.title,
        opened.content.description,
        opened.content.links,
        opened.content.recommended_action,
        forwarded_note=note,
        # Its readers open the original with it and check its sender's signatures.
        original_key=opened.content_key,
        year_group=opened.content.year_group,
        accounts=opened.content.accounts,
        groups=opened.content.groups,
    )
    draft = AlertDraft(
        original.category,
        original.severity,
        original.platform,
        original.tlp,
        content,
        SendTo.SCHOOLS,
        tuple(school_ids),
        False,
        tuple(evidence),
        # Forwarded at the tier the forwarding school holds it at.
        tier=_held_at(session, actor, original),
    )
    forwarded = post_alert(session, actor, keys, draft, forwarded_from=original)
    signals.alert_forwarded.send(
        None, session=session, alert=original, actor=actor, forward=forwarded.alert
    )
    record_for_alert(
        session,
        "alert.forwarded",
        actor,
        original,
        original.envelope_hash,
        new_alert=str(forwarded.alert.id),
        recipients=[str(s) for s in school_ids],
    )
    return forwarded


def _held_at(session: Session, actor: Member, original: Alert) -> str:
    """The tier of the forwarding school's copy of the original."""
    copy = session.get(AlertRecipient, (original.id, actor.school_id))
    return copy.tier if copy is not None else ""
