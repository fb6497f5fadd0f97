"""Posting an alert: check the draft, seal it to its audience and file it in
every recipient's inbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict

from sqlalchemy import insert
from sqlalchemy.orm import Session

from crypto.envelope import Origin, new_alert_id
from crypto.keys import SchoolKeys
from network.alerts import daily_figures, indicators, named, signals, vocab
from network.alerts.access import check_may_post
from network.alerts.audience import resolve_audience, schools_to_choose
from network.alerts.auditing import record_for_alert
from network.alerts.content import AlertContent, Evidence
from network.alerts.models import Alert, AlertRecipient, Platform
from network.alerts.named_models import TIER_NAMED
from network.alerts.platforms import offered, platforms
from network.alerts.retention import expiry
from network.alerts.sealing import seal_and_store
from network.alerts.thread import add_item
from network.alerts.tiers import assign_tiers
from network.alerts.vocab import ALERT_KIND, AUDIENCES, ItemKind, SendTo
from schools import policy
from schools.db import table_of, utcnow
from schools.errors import Conflict, Forbidden, InvalidInput, InvalidInputs
from schools.models import Member, School


class Filing(TypedDict):
    """What an alert is filed under: signed in its header, kept in clear on the
    hub and in its audit entry."""

    category: str
    severity: str
    platform: str
    tlp: str


@dataclass(frozen=True)
class AlertDraft:
    category: str
    severity: str
    platform: str
    tlp: str
    content: AlertContent
    audience: str = SendTo.SCHOOLS
    school_ids: tuple[uuid.UUID, ...] = ()
    include_coordinator: bool = False
    evidence: tuple[Evidence, ...] = ()
    # "all", "leadership", or "" for the default (network/alerts/tiers.py).
    tier: str = ""
    # A recipient school one of whose members the alert is about: it receives
    # the alert at its leadership tier.
    subject_school_id: uuid.UUID | None = None
    # Tier "named": the members named, by id or email (network/alerts/named.py).
    named: tuple[str, ...] = ()

    @property
    def filing(self) -> Filing:
        return Filing(
            category=self.category, severity=self.severity, platform=self.platform, tlp=self.tlp
        )


@dataclass(frozen=True)
class Posted:
    """A posted (or forwarded) alert and the schools it went to, the sender's
    own school left out."""

    alert: Alert
    recipients: tuple[School, ...]


@dataclass(frozen=True)
class PostingChoices:
    """What the form for a new alert offers."""

    platforms: list[Platform]
    schools: list[School]


def posting_choices(session: Session, actor: Member) -> PostingChoices:
    """The platforms and schools to choose from, for a member who may post."""
    check_may_post(actor)
    return PostingChoices(platforms(session), schools_to_choose(session, actor))


# TLP 2.0: RED is "for the eyes and ears of individual recipients only".
NAMED_RECIPIENTS_ONLY = frozenset({"RED"})


def term_problems(session: Session, draft: AlertDraft) -> list[InvalidInput]:
    """Every filing choice the draft gets wrong, each beside its field."""
    found: list[InvalidInput] = []
    if draft.category not in vocab.codes(vocab.CATEGORIES):
        found.append(InvalidInput("Choose what kind of alert this is.", field="category"))
    if draft.severity not in vocab.codes(vocab.SEVERITIES):
        found.append(InvalidInput("Choose how serious it is.", field="severity"))
    if draft.tlp not in vocab.codes(vocab.TLP):
        found.append(InvalidInput("Choose a handling label.", field="tlp"))
    if offered(session, draft.platform) is None:  # unknown, or retired
        found.append(InvalidInput("Choose the platform.", field="platform"))
    if draft.audience not in AUDIENCES:
        found.append(InvalidInput("Choose who receives the alert.", field="audience"))
    elif draft.tlp in NAMED_RECIPIENTS_ONLY and draft.audience != SendTo.SCHOOLS:
        found.append(
            InvalidInput(
                f"A TLP:{draft.tlp} alert is for named recipients only, so it cannot go to "
                f"every school of the {'hub' if draft.audience == SendTo.HUB else 'cluster'}. "
                "Choose the schools it goes to.",
                field="audience",
            )
        )
    return found


def _check_terms(session: Session, draft: AlertDraft) -> None:
    found = term_problems(session, draft)
    if len(found) == 1:
        raise found[0]
    if found:
        raise InvalidInputs(found)


def post_alert(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    draft: AlertDraft,
    now: datetime | None = None,
    forwarded_from: Alert | None = None,
    approved_by: Member | None = None,
) -> Posted:
    """Seal an alert to its audience and file it in every recipient's inbox;
    hands back the alert and whom it went to. When the actor's school reviews
    their alerts (policy.needs_review), only a reviewer's approval
    (network/alerts/review.py, ``approved_by``) sends it."""
    check_may_post(actor)
    if approved_by is None and policy.needs_review(actor):
        raise Forbidden(policy.REVIEW_FIRST)
    _check_terms(session, draft)
    if not draft.content.title:
        raise InvalidInput("Enter a title.", field="title")
    school = actor.school
    assert school is not None
    if keys.generation != school.key_generation:
        raise Conflict("Your school's keys changed since you signed in. Sign in again.")
    audience = assign_tiers(
        # An approved alert goes out with its reviewer's keys: the reviewer's
        # place in the leadership decides whether it may go at that tier.
        approved_by or actor,
        resolve_audience(
            session, actor, draft.audience, draft.school_ids, draft.include_coordinator
        ),
        draft.tier,
        draft.category,
        draft.tlp,
        draft.subject_school_id,
    )
    if draft.tier == TIER_NAMED:
        audience = named.assign_named(session, actor, audience, draft.named)
    now = now or utcnow()
    alert_id = uuid.UUID(bytes=new_alert_id())
    hashed = indicators.hash_for_posting(session, actor, keys, draft.content, draft.platform)
    sealed_envelope, sealed = seal_and_store(
        session,
        alert_id=alert_id,
        kind=ALERT_KIND,
        parent=None,
        sender=actor,
        sender_keys=keys,
        audience=audience,
        created_at=now,
        **draft.filing,
        forwarded_from=(
            Origin(
                forwarded_from.id.bytes,
                str(forwarded_from.sender_school_id),
                forwarded_from.envelope_hash,
            )
            if forwarded_from
            else None
        ),
        indicators=hashed.hashes if hashed else (),
        plaintext=replace(draft.content, attachments=len(draft.evidence)).to_bytes(),
        summary=draft.content.summary(),
    )
    alert = Alert(
        id=alert_id,
        cluster_id=school.cluster_id,
        sender_school_id=school.id,
        sender_member_id=actor.id,
        sender_generation=keys.generation,
        **draft.filing,
        created_at=now,
        expires_at=expiry(session, school.cluster_id, draft.category, now),
        forwarded_from_id=forwarded_from.id if forwarded_from else None,
        recipient_count=len(audience.schools) - 1,
        attachment_count=len(draft.evidence),
        size=len(sealed_envelope.ciphertext),
        envelope_hash=sealed_envelope.envelope_hash(),
        sealed_id=sealed.id,
    )
    session.add(alert)
    session.flush()
    indicators.store(session, alert.id, hashed, sealed_envelope.unverified_header().indicators)
    # Into the table itself, every row naming every column: one statement,
    # no per-row ORM bookkeeping.
    session.execute(
        insert(table_of(AlertRecipient)),
        [
            {
                "alert_id": alert.id,
                "school_id": s.id,
                "is_sender": s.id == school.id,
                "tier": audience.tier_of(s),
                "created_at": now,
                "cluster_id": school.cluster_id,
                "severity": draft.severity,
                "first_read_at": now if s.id == school.id else None,
                "first_read_by_id": actor.id if s.id == school.id else None,
            }
            for s in audience.schools
        ],
    )
    named.file(session, alert, audience)
    record_for_alert(
        session,
        "alert.posted",
        actor,
        alert,
        alert.envelope_hash,
        **draft.filing,
        recipients=[str(s.id) for s in audience.schools[1:]],
        tiers={str(s.id): audience.tier_of(s) for s in audience.schools},
        forwarded_from=str(forwarded_from.id) if forwarded_from else None,
    )
    for position, evidence in enumerate(draft.evidence):
        add_item(
            session,
            actor,
            keys,
            alert,
            ItemKind.ATTACHMENT,
            evidence.to_bytes(),
            audience,
            created_at=now,
            announce=False,
            position=position,
        )
    session.flush()
    daily_figures.count_posted(session, alert, [s.id for s in audience.schools])
    signals.alert_posted.send(None, session=session, alert=alert, actor=actor)
    return Posted(alert, audience.schools[1:])
