"""What the API's operations take: their JSON bodies and query strings.

A view names the model of its body (``body: NewAlert``) or query string
(``query: InboxQuery``); contract.py parses the request into it, refusing it
with every field at fault, and openapi.py describes it from the same model.
Nothing here decides what is allowed (the services do): a model checks shapes,
types and limits, then hands its service what it takes (``draft()``).
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from datetime import date, time
from typing import Annotated, Any, ClassVar

from pydantic import Field, PrivateAttr, model_validator

from network.alerts import content, inbox, platforms, posting, steps, vocab
from network.alerts import evidence as evidence_files
from network.alerts.compose import FormFields
from network.alerts.content import MAX_DESCRIPTION, MAX_LINKS, MAX_NOTE, MAX_TITLE, MAX_URL
from network.api.fields import (
    DAY,
    TIME_OF_DAY,
    Base64Data,
    Body,
    Choice,
    CleanText,
    Identifier,
    Query,
    Text,
    WholeNumber,
    refused,
)
from network.api.limits import DEFAULT_PAGE, MAX_RECIPIENTS, PAGE_LIMIT
from network.notifications import subscriptions as notify
from network.notifications.models import Channel, Subscription, Timing
from schools.errors import InvalidInput

# Base64 of the largest evidence file, and a little room for line breaks.
MAX_ATTACHMENT_CHARS = math.ceil(evidence_files.MAX_FILE_BYTES / 3) * 4 + 1024
EVIDENCE_TYPES = tuple(t for t in evidence_files.ACCEPT.split(",") if "/" in t)

Id = Annotated[uuid.UUID, Identifier()]
Note = Annotated[str, Text(MAX_NOTE)]
Category = Annotated[str, Choice.of(vocab.CATEGORIES)]
Severity = Annotated[str, Choice.of(vocab.SEVERITIES)]
Platform = Annotated[str, Choice(vocabulary="platforms")]


def _schools(description: str) -> Any:
    return Field(max_length=MAX_RECIPIENTS, description=description)


def _distinct(ids: list[uuid.UUID]) -> tuple[uuid.UUID, ...]:
    return tuple(dict.fromkeys(ids))


# --- the inbox ------------------------------------------------------------------------------


class InboxQuery(Query):
    """The inbox's (or Sent box's) filters and page."""

    status: Annotated[
        str, Choice(vocab.FILTER_STATUSES), Field(description="Filter by status.")
    ] = ""
    category: Annotated[Category, Field(description="Category.")] = ""
    severity: Annotated[Severity, Field(description="Severity.")] = ""
    platform: Annotated[Platform, Field(description="Platform.")] = ""
    sender: Annotated[Id | None, Field(description="Only alerts from this school.")] = None
    q: Annotated[
        str,
        Text(200),
        Field(
            description=(
                "Words that must all appear (whole words, any case, accents ignored) in the "
                "title, or the description of an alert your school has opened. Searched in "
                "your school's keyed index: only alerts your school has listed or opened."
            )
        ),
    ] = ""
    cursor: Annotated[str, Text(200), Field(description="next_cursor of the last page.")] = ""
    limit: Annotated[int, WholeNumber(1, PAGE_LIMIT), Field(description="Alerts per page.")] = (
        DEFAULT_PAGE
    )

    def filters(self) -> inbox.InboxFilters:
        return inbox.InboxFilters(**self.model_dump(exclude={"cursor", "limit"}))


# --- posting --------------------------------------------------------------------------------


class Link(Body):
    """A web address where it was seen and, optionally, the day it was seen."""

    url: Annotated[str, Text(MAX_URL)]
    seen_on: Annotated[date, DAY] | None = None

    @model_validator(mode="after")
    def _checked(self) -> Link:
        # As each line of the page's form is: the address, then the date.
        if self.url:
            try:
                content.parse_link(self.url, self.seen_on, date.today())
            except InvalidInput as error:
                raise refused(error, part=error.field) from None
        return self


class Attachment(Body):
    """An evidence file, as base64: a screenshot (PNG, JPEG, WebP) or a PDF."""

    filename: Annotated[str, Text(255), Field(description=".png, .jpg, .jpeg, .webp or .pdf")]
    content_type: Annotated[
        str, Text(100), Field(description="Optional; must agree with the file name.")
    ] = ""
    data: Annotated[
        bytes,
        Base64Data(MAX_ATTACHMENT_CHARS),
        Field(
            description="The file, base64; at most "
            f"{evidence_files.MAX_FILE_BYTES // (1024 * 1024)} MB decoded."
        ),
    ]
    _evidence: content.Evidence | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _prepared(self) -> Attachment:
        # Checked for what it really is, and images re-encoded without their metadata.
        if self.filename and self.data:
            try:
                self._evidence = evidence_files.prepare(self.filename, self.content_type, self.data)
            except InvalidInput as error:
                raise refused(error) from None
        return self

    @property
    def evidence(self) -> content.Evidence | None:
        return self._evidence


class StepsTaken(Body):
    """What was done before posting: referrals or reports, their reference
    numbers, when, and the designated safeguarding lead (all sealed)."""

    may_be_empty: ClassVar[bool] = True

    referred_to: Annotated[
        list[Annotated[str, Choice.of(steps.AGENCIES, only_codes=True)]],
        Field(
            max_length=len(steps.AGENCIES),
            description="Referrals and steps taken (the referral tracker's codes).",
        ),
    ] = []
    references: Annotated[
        str, Text(steps.MAX_REFERENCES), Field(description="Their reference numbers.")
    ] = ""
    referred_on: Annotated[date, DAY] | None = None
    dsl_name: Annotated[
        str, Text(steps.MAX_DSL), Field(description="The designated safeguarding lead named.")
    ] = ""

    def taken(self) -> steps.StepsTaken:
        return steps.check_steps(
            self.referred_to, self.references, self.referred_on, self.dsl_name, date.today()
        )


class NewAlert(Body):
    """An alert to post: the page's form, in JSON (docs/alerts.md)."""

    category: Category
    severity: Severity = "medium"
    platform: Platform
    tlp: Annotated[str, Choice.of(vocab.TLP)] = "AMBER"
    title: Annotated[str, CleanText(MAX_TITLE, "title", required=True)]
    description: Annotated[str, CleanText(MAX_DESCRIPTION, "description")] = ""
    links: Annotated[list[Link], Field(max_length=MAX_LINKS)] = []
    recommended_action: Annotated[str, CleanText(MAX_NOTE, "recommended action")] = ""
    audience: Annotated[str, Choice(vocab.AUDIENCES)] = "schools"
    schools: Annotated[
        list[Id], _schools("Recipient schools of your cluster (audience 'schools').")
    ] = []
    include_coordinator: bool = False
    tier: Annotated[
        str,
        Choice(("all", "leadership", "named")),
        Field(
            description="Who reads it at each school: 'all' staff, 'leadership' (head and "
            "safeguarding leads) or 'named' (only the members listed in 'named'). Empty: "
            "leadership for category staff_named and TLP:RED, otherwise all."
        ),
    ] = ""
    named: Annotated[
        list[Annotated[str, Text(320)]],
        Field(
            max_length=100,
            description="Tier 'named': the members it is sealed to, by member id or email "
            "address: at least one head or safeguarding lead of each recipient school.",
        ),
    ] = []
    subject_school: Annotated[
        Id | None,
        Field(
            description="A recipient school one of whose members the alert is about: it "
            "receives the alert at its leadership tier."
        ),
    ] = None
    attachments: Annotated[list[Attachment], Field(max_length=evidence_files.MAX_FILES)] = []
    accounts: Annotated[
        list[Annotated[str, Text(content.MAX_ACCOUNT)]],
        Field(
            max_length=content.MAX_ACCOUNTS,
            description="Accounts posting, on the alert's platform, like @name.",
        ),
    ] = []
    groups: Annotated[
        list[Annotated[str, Text(content.MAX_ACCOUNT)]],
        Field(max_length=content.MAX_ACCOUNTS, description="Groups or pages, by name."),
    ] = []
    year_group: Annotated[
        str,
        Text(100),
        Field(
            description="Under-age use only: the pupils' year group, never a name: "
            '"R" (Reception) or "1" to "13". Sealed with the alert.'
        ),
    ] = ""
    done: Annotated[
        StepsTaken | None,
        Field(description="What was done before posting, as the guidance asks (sealed)."),
    ] = None

    def draft(self) -> posting.AlertDraft:
        return posting.AlertDraft(
            category=self.category,
            severity=self.severity,
            platform=self.platform,
            tlp=self.tlp,
            content=content.AlertContent(
                title=self.title,
                description=self.description,
                links=tuple(
                    content.Link(link.url, link.seen_on) for link in self.links if link.url
                ),
                recommended_action=self.recommended_action,
                accounts=_names(self.accounts, "accounts", "account", self.platform),
                groups=_names(self.groups, "groups", "group or page", self.platform),
                year_group=platforms.check_year_group(self.year_group, self.category),
                steps=self.done.taken() if self.done is not None else steps.StepsTaken(),
            ),
            audience=self.audience,
            school_ids=_distinct(self.schools),
            include_coordinator=self.include_coordinator,
            tier=self.tier,
            subject_school_id=self.subject_school,
            named=tuple(self.named),
            evidence=tuple(a.evidence for a in self.attachments if a.evidence is not None),
        )

    def form(self) -> FormFields:
        """The post form as the page would hold this alert: what an alert
        waiting for review keeps (sealed), for its author to change and a
        reviewer to approve exactly as one written on the page."""
        done = self.done or StepsTaken()
        return FormFields(
            category=self.category,
            severity=self.severity,
            platform=self.platform,
            tlp=self.tlp,
            year_group=self.year_group,
            title=self.title,
            description=self.description,
            links="\n".join(
                f"{link.url} {link.seen_on.isoformat()}" if link.seen_on else link.url
                for link in self.links
                if link.url
            ),
            accounts="\n".join(self.accounts),
            groups="\n".join(self.groups),
            recommended_action=self.recommended_action,
            audience=self.audience,
            schools=tuple(str(s) for s in _distinct(self.schools)),
            include_coordinator=self.include_coordinator,
            referred_to=tuple(done.referred_to),
            references=done.references,
            referred_on=done.referred_on.isoformat() if done.referred_on else "",
            dsl_name=done.dsl_name,
            tier=self.tier,
            subject_school=str(self.subject_school) if self.subject_school else "",
            named=tuple(self.named),
        )


# --- one alert ------------------------------------------------------------------------------


class Acknowledgement(Body):
    """An acknowledgement's optional comment (sealed)."""

    may_be_empty: ClassVar[bool] = True

    comment: Note = ""


def _names(names: list[str], field: str, what: str, platform: str) -> tuple[str, ...]:
    """As the page's form checks them, one a line; a name is one line."""
    if any("\n" in name or "\r" in name for name in names):
        raise InvalidInput(f"Give each {what} as one line.", field=field)
    return content.parse_names("\n".join(names), field, what, platform)


class Sighting(Body):
    """ "We've seen this too": when and where your school saw it (both optional)."""

    seen_on: Annotated[date, DAY] | None = None
    where: Annotated[str, Text(500)] = ""


class Reply(Body):
    """A reply (sealed) to every school that received the alert."""

    text: Annotated[str, CleanText(MAX_NOTE, "reply", required=True)]


class Action(Body):
    """An action taken, a referral or step: its type (the agency), the day it was
    made (default today) and the follow-up due date in clear; its reference
    number and note sealed."""

    action_type: Annotated[str, Choice.of(vocab.ACTIONS)]
    note: Note = ""
    reference: Annotated[str, Text(100)] = ""
    referred_on: Annotated[date, DAY] | None = None
    due_on: Annotated[date, DAY] | None = None


class Forward(Body):
    """The schools to forward the alert to, and a note for them."""

    schools: Annotated[list[Id], _schools("Schools of your cluster.")] = []
    note: Note = ""

    @property
    def school_ids(self) -> tuple[uuid.UUID, ...]:
        return _distinct(self.schools)


class Closing(Body):
    """Your school's note on closing the alert on its side (sealed)."""

    note: Annotated[str, CleanText(MAX_NOTE, "note", required=True)]


class Resolution(Body):
    """How the sender resolved it (sealed), and the sender's confirmation."""

    note: Annotated[str, CleanText(MAX_NOTE, "note", required=True)]
    confirm: Annotated[
        bool,
        Field(description="true: the matter is dealt with for your school (required)."),
    ]


class Withdrawal(Body):
    """Why the alert is withdrawn (sealed to its recipients)."""

    reason: Annotated[str, CleanText(MAX_NOTE, "reason", required=True)]


class Correction(Body):
    """A correction (sealed and signed), shown above the alert."""

    text: Annotated[str, CleanText(MAX_NOTE, "correction", required=True)]


class ReviewNote(Body):
    """What the reviewer asks to change, or why the alert is rejected (sealed to your school)."""

    text: Annotated[str, CleanText(MAX_NOTE, "text", required=True)]


class MayPost(Body):
    """Whether the member may post alerts (heads always may)."""

    may_post: bool


class Empty(Body):
    """Nothing: an empty object, or no body at all."""

    may_be_empty: ClassVar[bool] = True


# --- subscriptions ----------------------------------------------------------------------------


class _SubscriptionFields(Body):
    """A subscription's fields; a field not sent is left as it is (or, for a new
    one, takes its default)."""

    # Sent as null, these are emptied (every category, every school, no time
    # of day) rather than left as they are.
    _EMPTIED_BY_NULL: ClassVar[dict[str, Any]] = {
        "categories": [],
        "senders": [],
        "digest_time": "",
    }

    name: Annotated[str, Text(100)] | None = None
    channel: Annotated[str, Choice.of(Channel)] | None = None
    target: (
        Annotated[
            str,
            Text(500),
            Field(
                description="A webhook's https URL, or a shared email address (school "
                "subscriptions); leave out for a personal email (your own address)."
            ),
        ]
        | None
    ) = None
    categories: (
        Annotated[
            list[Annotated[str, Choice.of(vocab.CATEGORIES, only_codes=True)]],
            Field(max_length=len(vocab.CATEGORIES), description="Empty: every category."),
        ]
        | None
    ) = None
    min_severity: Severity | None = None
    senders: Annotated[list[Id], _schools("Empty: every school.")] | None = None
    timing: Annotated[str, Choice.of(Timing)] | None = None
    digest_time: Annotated[time, TIME_OF_DAY] | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_empties(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                name: cls._EMPTIED_BY_NULL.get(name) if value is None else value
                for name, value in data.items()
            }
        return data

    def changes(self) -> dict[str, Any]:
        """The fields sent, named as notify.SubscriptionDraft names them."""
        sent = {name: getattr(self, name) for name in self.model_fields_set - {"personal"}}
        if "categories" in sent:
            sent["categories"] = tuple(dict.fromkeys(sent["categories"]))
        if "senders" in sent:
            sent["sender_school_ids"] = _distinct(sent.pop("senders"))
        return sent


class NewSubscription(_SubscriptionFields):
    """A new subscription; the fields left out take their defaults."""

    personal: Annotated[bool, Field(description="False: the school's own (heads only).")] = True
    channel: Annotated[str, Choice.of(Channel)]

    def draft(self) -> notify.SubscriptionDraft:
        return notify.SubscriptionDraft(**self.changes())


class SubscriptionChange(_SubscriptionFields):
    """A change to a subscription: only the fields sent change."""

    def applied_to(self, current: Subscription) -> notify.SubscriptionDraft:
        return dataclasses.replace(
            notify.SubscriptionDraft(
                channel=current.channel,
                name=current.name,
                target=current.target or "",
                categories=tuple(current.categories or ()),
                min_severity=current.min_severity,
                sender_school_ids=tuple(uuid.UUID(s) for s in current.sender_school_ids or ()),
                timing=current.timing,
                digest_time=current.digest_time,
            ),
            **self.changes(),
        )


# --- what a path names ------------------------------------------------------------------------

AlertId = Annotated[uuid.UUID, Identifier(), Field(description="The alert's id.")]
ItemId = Annotated[uuid.UUID, Identifier(), Field(description="The attachment's id.")]
SubscriptionId = Annotated[uuid.UUID, Identifier(), Field(description="The subscription's id.")]
MemberId = Annotated[uuid.UUID, Identifier(), Field(description="The member's id.")]
HeldId = Annotated[
    uuid.UUID, Identifier(), Field(description="The id of the alert waiting for review.")
]
SchoolId = Annotated[uuid.UUID, Identifier(), Field(description="The school's id.")]
