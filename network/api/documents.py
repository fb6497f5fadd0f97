"""What the API answers with: one model a shape, read from what the services
return and described by openapi.py from the same model.

A document reads the attributes of the hub's rows by its field names
(``Copy.model_validate(copy)``); where the API names a field otherwise, the
field says which attribute it reads (``validation_alias``). Times are RFC 3339
UTC with microseconds (``2026-11-26T12:08:07.257640Z``), ids are UUIDs, hashes
hex. Content (titles, bodies, notes, file names) appears only in what a reader
of the alert gets back: the inbox and one alert.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Self

from flask import url_for
from pydantic import Field

from network.alerts import inbox, indicators, platforms, posting, reading, steps, vocab
from network.api.fields import (
    DAY,
    TIME_OF_DAY,
    Base64Data,
    Choice,
    Document,
    Hex,
    Identifier,
    Moment,
)
from network.notifications.models import Channel, Timing
from network.notifications.models import Subscription as SubscriptionRow
from schools import roles
from schools.models import ApiToken, Member, Role, SchoolKeyGeneration, SchoolKind, SchoolStatus
from schools.models import School as SchoolRow
from schools.policy import Scope

Id = Annotated[uuid.UUID, Identifier()]
When = Annotated[datetime, Moment()]
Count = Annotated[int, Field(ge=0)]
Kind = Annotated[str, Choice.of(SchoolKind)]
Hash = Annotated[bytes, Hex()]


def _read(name: str) -> Any:
    """The row's attribute this field reads, where it is named otherwise."""
    return Field(validation_alias=name)


def _alert_url(alert_id: uuid.UUID) -> str:
    return url_for("api.read_alert", alert_id=alert_id)


class SchoolRef(Document):
    """A school (or a cluster's office), named."""

    id: Id
    name: str


class MemberRef(Document):
    """A member of a school, named."""

    id: Id
    name: str


# --- who am I -----------------------------------------------------------------------------


class Token(Document):
    """An API token: never its secret."""

    id: Id
    name: str
    scopes: Annotated[list[Annotated[str, Choice.of(Scope)]], _read("scope_list")]
    created_at: When
    expires_at: When
    last_used_at: When | None
    state: Annotated[str, Choice(("live", "expired", "revoked", "orphaned"))]


class MeMember(Document):
    """The member the token (or session) acts as."""

    id: Id
    name: str
    email: str
    role: Annotated[str, Choice.of(Role)]


class MeSchool(Document):
    """The member's school, or the office of their cluster."""

    id: Id
    name: str
    kind: Kind


class Me(Document):
    """The member, their school and the token."""

    member: MeMember
    school: MeSchool | None
    token: Token | None
    keys_unlocked: bool

    @classmethod
    def of(cls, member: Member, token: ApiToken | None, keys_unlocked: bool, now: datetime) -> Me:
        return cls(
            member=MeMember.model_validate(member),
            school=MeSchool.model_validate(member.school) if member.school is not None else None,
            token=Token.read(token, state=token.state(now)) if token is not None else None,
            keys_unlocked=keys_unlocked,
        )


# --- the school's members -----------------------------------------------------------------


class SchoolMember(Document):
    """A member of your school: their role, and whether they may post alerts now."""

    id: Id
    name: str
    email: str
    role: Annotated[str, Choice.of(Role)]
    may_post: Annotated[
        bool,
        Field(
            description="Heads always may; safeguarding leads unless their head withdrew it; "
            "staff once their head allows it."
        ),
    ]

    @classmethod
    def of(cls, member: Member) -> SchoolMember:
        return cls.read(member, may_post=roles.posts_alerts(member))


class MemberList(Document):
    """The members of your school."""

    members: list[SchoolMember]


# --- alerts -------------------------------------------------------------------------------


class AlertMetadata(Document):
    """What the hub knows of an alert without opening it."""

    id: Id
    created_at: When
    category: Annotated[str, Choice.of(vocab.CATEGORIES)]
    severity: Annotated[str, Choice.of(vocab.SEVERITIES)]
    platform: str
    tlp: Annotated[str, Choice.of(vocab.TLP)]
    status: Annotated[str, Choice(vocab.STATUSES)]
    sender: Annotated[SchoolRef, _read("sender_school")]
    recipient_count: Count
    attachment_count: Count


class InboxRow(AlertMetadata):
    """An alert in the inbox or Sent box, its title decrypted."""

    title: Annotated[str | None, Field(description="Decrypted; null if not shown.")]
    problem: Annotated[str | None, Field(description="Why the title is not shown.")]
    read_at: Annotated[
        When | None, Field(description="When someone at your school first opened it.")
    ]
    acknowledged_at: When | None
    unread: Annotated[
        bool,
        Field(
            description="Unread by you: you have not opened it (nor acknowledged it), or you "
            "marked it unread. What `status=unread` lists. Always false in the Sent box."
        ),
    ]
    url: str

    @classmethod
    def of(cls, row: inbox.InboxRow, unread: bool) -> InboxRow:
        return cls.read(
            row.alert,
            title=row.title or None,
            problem=row.problem or None,
            read_at=row.copy.first_read_at,
            acknowledged_at=row.copy.acknowledged_at,
            unread=unread,
            url=_alert_url(row.alert.id),
        )


class InboxPage(Document):
    """One page of alerts, newest first; follow ``next`` (or pass ``next_cursor``)."""

    alerts: list[InboxRow]
    next_cursor: str | None
    next: str | None

    @classmethod
    def of(cls, page: inbox.InboxPage, next_url: str | None, sent: bool) -> InboxPage:
        # Unread for the reader, from the page's own query; a sent box has none.
        rows = [InboxRow.of(row, row.unread and not sent) for row in page.rows]
        return cls(alerts=rows, next_cursor=page.next_cursor, next=next_url)


class Posted(AlertMetadata):
    """The alert posted (or forwarded): metadata only, never content."""

    envelope_hash: Hash
    forwarded_from: Annotated[Id | None, _read("forwarded_from_id")]
    recipients: list[SchoolRef]
    url: str

    @classmethod
    def of(cls, posted: posting.Posted) -> Posted:
        alert = posted.alert
        return cls.read(alert, recipients=list(posted.recipients), url=_alert_url(alert.id))


class Copy(Document):
    """A school's copy of an alert: read and acknowledged, when and by whom."""

    school: SchoolRef
    is_sender: bool
    read_at: Annotated[When | None, _read("first_read_at")]
    read_by: Annotated[MemberRef | None, _read("first_read_by")]
    acknowledged_at: When | None
    acknowledged_by: MemberRef | None
    closed_at: Annotated[
        When | None,
        Field(description="When this school closed the alert on its side (None: open for it)."),
    ]
    closed_by: MemberRef | None


class Acknowledged(Copy):
    """The school's copy, acknowledged."""

    alert_id: Id


class CopyStatus(Copy):
    """The school's copy, closed or reopened on its side."""

    alert_id: Id


class ThreadItem(Document):
    """A reply, an acknowledgement, an action, an evidence file, the sender's
    correction or withdrawal, or a school closing the alert on its side: who
    added it, when (its content is sealed)."""

    id: Id
    alert_id: Id
    kind: Annotated[str, Choice.of(vocab.ItemKind)]
    created_at: When
    author_school: SchoolRef
    author: Annotated[MemberRef | None, _read("author_member")]
    action_type: Annotated[str, Choice.of(vocab.ACTIONS)] | None


class EvidenceFile(Document):
    """An evidence file of the thread: download it from ``url``."""

    filename: str
    content_type: str
    size: int
    url: str


class OpenedItem(ThreadItem):
    """An item of the thread, opened: its text, or its file."""

    text: str | None
    attachment: EvidenceFile | None
    problem: str | None
    seen_on: Annotated[
        Annotated[date, DAY] | None, Field(description="A sighting's day seen, if given.")
    ] = None
    where: Annotated[str | None, Field(description="A sighting's place, if given.")] = None

    @classmethod
    def of(cls, alert_id: uuid.UUID, entry: reading.OpenedItem) -> OpenedItem:
        evidence, item = entry.evidence, entry.item
        attachment = None
        if evidence is not None:
            url = url_for("api.download_attachment", alert_id=alert_id, item_id=item.id)
            attachment = EvidenceFile(
                filename=evidence.filename,
                content_type=evidence.content_type,
                size=item.size,
                url=url,
            )
        return cls.read(
            item,
            text=entry.text if evidence is None and not entry.problem else None,
            attachment=attachment,
            problem=entry.problem or None,
            seen_on=entry.sighting.seen_on if entry.sighting else None,
            where=entry.sighting.where if entry.sighting else None,
        )


class SeenLink(Document):
    """A web address where it was seen, and the day it was seen."""

    url: str
    seen_on: Annotated[date, DAY] | None


class Done(Document):
    """What the sender had done when posting, as the guidance asks."""

    referred_to: Annotated[list[str], Field(description="Agency codes.")]
    references: str
    referred_on: Annotated[date, DAY] | None
    dsl_name: str

    @classmethod
    def of(cls, taken: steps.StepsTaken) -> Done:
        return cls(
            referred_to=list(taken.agencies),
            references=taken.references,
            referred_on=taken.referred_on,
            dsl_name=taken.dsl,
        )


class Content(Document):
    """What the sender sealed."""

    title: str
    description: str
    links: list[SeenLink]
    recommended_action: str
    forwarded_note: str
    accounts: list[str]
    groups: list[str]
    year_group: Annotated[
        str, Field(description='Under-age use: "R" or "1" to "13"; "" when not given.')
    ]
    under_age_warning: Annotated[
        str,
        Field(
            description="Said when pupils of the year group are under the platform's "
            'minimum age; "" otherwise.'
        ),
    ]
    done: Done | None


class CorrelatedAlert(Document):
    """Another alert naming the indicator: its sender and day, and its ``url``
    when your school may open it (null when it was not sent to your school)."""

    id: Id
    school: str
    sent_at: When
    url: str | None


class Correlation(Document):
    """Other alerts naming one of this alert's indicators, as your school's
    copy of the cluster's correlation key matched them."""

    kind: Annotated[str, Choice(("link", "account", "group"))]
    indicator: Annotated[str, Field(description="The indicator as normalised (yours).")]
    summary: Annotated[str, Field(description='Like "2 other alerts from 2 schools ..."')]
    alerts: Count
    schools: Count
    matches: list[CorrelatedAlert]

    @classmethod
    def of(cls, found: indicators.Correlation) -> Correlation:
        return cls(
            kind=str(found.indicator.kind),
            indicator=found.indicator.label(),
            summary=found.sentence(),
            alerts=len(found.matches),
            schools=found.schools,
            matches=[
                CorrelatedAlert(
                    id=m.alert_id,
                    school=m.school,
                    sent_at=m.sent_at,
                    url=_alert_url(m.alert_id) if m.openable else None,
                )
                for m in found.matches
            ],
        )


class Alert(AlertMetadata):
    """The alert, its thread and its recipients."""

    sender_member: MemberRef | None
    resolved_at: When | None
    shredded_at: When | None
    withdrawn_at: When | None
    forwarded_from: Annotated[Id | None, _read("forwarded_from_id")]
    envelope_hash: Hash
    sender_fingerprint: str
    content_visible: Annotated[
        bool, Field(description="False for a coordinator whose office is not a recipient.")
    ]
    verified: Annotated[
        bool,
        Field(
            description="Both signatures, the key commitment and the header checked: "
            "content is present only then."
        ),
    ]
    problem: str | None
    content: Content | None
    withdrawal: Annotated[
        OpenedItem | None,
        Field(description="The sender's signed withdrawal and its reason, once withdrawn."),
    ]
    corrections: Annotated[
        list[OpenedItem], Field(description="The sender's signed corrections, newest first.")
    ]
    thread: list[OpenedItem]
    recipients: list[Copy]
    correlations: list[Correlation]
    sighted_by: Annotated[
        list[SchoolRef], Field(description="Schools that said they have seen this too.")
    ]

    @classmethod
    def of(cls, opened: reading.OpenedAlert) -> Alert:
        alert, sealed = opened.view.alert, opened.content
        return cls.read(
            alert,
            sender_fingerprint=opened.sender_fingerprint,
            content_visible=opened.view.may_read_content,
            verified=sealed is not None,
            problem=opened.problem or None,
            content=Content.read(
                sealed,
                links=list(sealed.links),
                accounts=list(sealed.accounts),
                groups=list(sealed.groups),
                under_age_warning=platforms.under_age_warning(sealed.year_group, opened.platform),
                done=Done.of(sealed.steps) if sealed.steps else None,
            )
            if sealed is not None
            else None,
            withdrawal=(OpenedItem.of(alert.id, opened.withdrawal) if opened.withdrawal else None),
            corrections=[OpenedItem.of(alert.id, entry) for entry in opened.corrections],
            thread=[OpenedItem.of(alert.id, entry) for entry in opened.thread],
            recipients=opened.copies,
            correlations=[Correlation.of(c) for c in opened.correlations],
            sighted_by=opened.sighted_by,
        )


class Resolved(Document):
    """The alert, resolved."""

    id: Id
    status: Annotated[str, Choice(vocab.STATUSES)]
    resolved_at: When | None


class Withdrawn(Document):
    """The alert, withdrawn: its content shredded at every school."""

    id: Id
    status: Annotated[str, Choice(vocab.STATUSES)]
    withdrawn_at: When | None


# --- subscriptions ----------------------------------------------------------------------------


class Subscription(Document):
    """What a member (or their school) is told about, how and when."""

    id: Id
    name: str
    personal: Annotated[bool, _read("is_personal")]
    channel: Annotated[str, Choice.of(Channel)]
    target: str | None
    categories: list[str]
    min_severity: Annotated[str, Choice.of(vocab.SEVERITIES)]
    senders: Annotated[list[Id], _read("sender_school_ids")]
    timing: Annotated[str, Choice.of(Timing)]
    digest_time: Annotated[time, TIME_OF_DAY] | None
    created_at: When
    updated_at: When


class SubscriptionList(Document):
    """The member's subscriptions and, for a head, the school's."""

    subscriptions: list[Subscription]


class SubscriptionSaved(Document):
    """The subscription, saved; a new webhook's secret is shown this once."""

    subscription: Subscription
    secret: Annotated[str | None, Field(description="A new webhook's whsec_ secret: shown once.")]

    @classmethod
    def of(cls, row: SubscriptionRow, secret: str | None) -> SubscriptionSaved:
        return cls(subscription=Subscription.model_validate(row), secret=secret)


# --- the directory ----------------------------------------------------------------------------


class KeyGeneration(Document):
    """One generation of a school's public keys."""

    generation: Annotated[int, Field(ge=1)]
    fingerprint: Annotated[
        str, Field(description="60 digits in 12 groups of 5: read it aloud to compare.")
    ]
    public_keys: Annotated[
        bytes,
        Base64Data(),
        Field(description="SchoolPublicKeys.to_bytes() (docs/crypto.md), base64."),
    ]
    created_at: When
    verified_at: When | None


class School(Document):
    """A school of the cluster (or its office) with its current public keys."""

    id: Id
    name: str
    kind: Kind
    urn: str | None
    status: Annotated[str, Choice.of(SchoolStatus)]
    receives_alerts: bool
    key_generation: Count
    keys: KeyGeneration | None

    @classmethod
    def of(cls, row: SchoolRow, keys: SchoolKeyGeneration | None, **more: Any) -> Self:
        receives = row.status == SchoolStatus.ACTIVE and row.key_generation > 0
        return cls.read(row, receives_alerts=receives, keys=keys, **more)


class SchoolWithHistory(School):
    """A school of the cluster with every generation of its keys."""

    history: list[KeyGeneration]


class SchoolList(Document):
    """The cluster's schools and office, with their current public keys."""

    schools: list[School]
