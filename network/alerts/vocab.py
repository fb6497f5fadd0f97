"""The words alerts are filed under, and the states and kinds they pass
through. Codes are stored; labels are shown."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    hint: str = ""


CATEGORIES = (
    Term(
        "defamation",
        "A school defamed online",
        "Posts that make false or damaging claims about the school.",
    ),
    Term(
        "staff_named",
        "Staff named or discussed",
        "Posts naming, picturing or discussing members of staff.",
    ),
    Term(
        "harassment",
        "Harassment or bullying",
        "May need the police if it involves threats or hate.",
    ),
    Term(
        "safeguarding",
        "Safeguarding: pupils identifiable",
        "Pupils identifiable from comments, images or films. Social services and police.",
    ),
    Term(
        "under_age", "Under-age use of a platform", "Pupils using a platform below its minimum age."
    ),
    Term(
        "staff_conduct",
        "Staff conduct on social networking",
        "Concerns about how staff present themselves online.",
    ),
    Term("other", "Other"),
)

SEVERITIES = (
    Term("info", "Info", "For awareness; no action expected."),
    Term("low", "Low"),
    Term("medium", "Medium"),
    Term("high", "High", "Act today."),
    Term("urgent", "Urgent", "Act now: risk to a child or serious harm."),
)

# FIRST Traffic Light Protocol 2.0.
TLP = (
    Term("CLEAR", "TLP:CLEAR", "May be shared freely."),
    Term("GREEN", "TLP:GREEN", "May be shared within the wider community, not publicly."),
    Term(
        "AMBER",
        "TLP:AMBER",
        "Recipients' own schools only, on a need-to-know basis. Not to be forwarded to "
        "other schools.",
    ),
    Term("AMBER+STRICT", "TLP:AMBER+STRICT", "Recipients' own school only. Not to be forwarded."),
    Term(
        "RED",
        "TLP:RED",
        "For the named recipients only: choose the schools, not every school of the cluster "
        "or hub. Not to be forwarded.",
    ),
)
# TLP 2.0: CLEAR and GREEN may be passed on within the community (the
# cluster); AMBER only within the recipient's own organisation, so never to
# another school; AMBER+STRICT and RED never.
NOT_FORWARDABLE = frozenset({"AMBER", "AMBER+STRICT", "RED"})

# Every action a school records is a referral or a step (network/alerts/referrals.py):
# its code (the agency or step) is kept in clear, with its dates, follow-up and
# outcome; its reference number and note are sealed.
ACTIONS = (
    Term("police", "Police referral"),
    Term("social_services", "Children's social care or MASH referral"),
    Term("lado", "Referral to the LADO (allegation about staff)"),
    Term("ceop", "Report to CEOP"),
    Term("iwf", "Report to the Internet Watch Foundation (IWF)"),
    Term("reported_platform", "Reported to the platform"),
    Term("reported_rhc", "Reported to Report Harmful Content"),
    Term("reported_posh", "Reported to the Professionals Online Safety Helpline (POSH)"),
    Term("legal_advice", "Legal advice taken"),
    Term("parents_letter", "Letter to parents"),
    Term("premises_ban", "Ban from the school premises"),
    Term("child_file_note", "Note on the child's file"),
    Term("parent_spoken", "Parent or carer spoken to"),
    Term("other", "Other"),
)

# What came of a referral or step, recorded later (clear, for content-blind counts).
OUTCOMES = (
    Term("content_removed", "Content removed"),
    Term("account_removed", "Account suspended or removed"),
    Term("content_not_removed", "Content not removed"),
    Term("investigating", "Being investigated"),
    Term("advice_given", "Advice given"),
    Term("referred_on", "Referred on to another agency"),
    Term("no_further_action", "No further action"),
    Term("other", "Other"),
)


class FollowUp(enum.StrEnum):
    """Where a referral's follow-up stands (its due date decides "overdue")."""

    NONE = "none"  # no follow-up date was set
    DUE = "due"  # a follow-up date is set and no outcome closed it
    DONE = "done"  # an outcome was recorded with no further follow-up


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    # Past its retention period: content destroyed, metadata kept as a tombstone.
    SHREDDED = "shredded"
    # Withdrawn by its sender: content destroyed at every school as a shredding
    # does, the signed withdrawal (with its reason) kept so recipients see why.
    WITHDRAWN = "withdrawn"


class ItemKind(enum.StrEnum):
    """What a thread item is, stored and signed as its envelope's kind."""

    REPLY = "reply"
    ACKNOWLEDGEMENT = "acknowledgement"
    ACTION = "action"
    ATTACHMENT = "attachment"
    # "We've seen this too": a school that received the alert saw it as well.
    SIGHTING = "sighting"
    # The sender's signed correction, shown above the original.
    CORRECTION = "correction"
    # The sender's signed withdrawal and its reason: all that is left of a withdrawn alert.
    WITHDRAWAL = "withdrawal"
    # A school closing the alert on its side, with its note (the sender's: resolving it).
    CLOSURE = "closure"


# The envelope kind of an alert itself; its thread items carry an ItemKind.
ALERT_KIND = "alert"


class SendTo(enum.StrEnum):
    """Who an alert goes to: chosen schools of the sender's cluster, the whole
    cluster, or every school on the hub."""

    SCHOOLS = "schools"
    CLUSTER = "cluster"
    HUB = "hub"


class InboxStatus(enum.StrEnum):
    """The inbox's status filters: a copy's own state, or its alert's."""

    UNREAD = "unread"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    # Open or closed on the school's own side (its copy), whatever other schools did.
    OPEN = AlertStatus.OPEN.value
    CLOSED = "closed"
    # Resolved by its sender; withdrawn by its sender.
    RESOLVED = AlertStatus.RESOLVED.value
    WITHDRAWN = AlertStatus.WITHDRAWN.value


# Plain strings for documents and command-line choices.
STATUSES = tuple(s.value for s in AlertStatus)


def codes(terms: tuple[Term, ...]) -> frozenset[str]:
    return frozenset(t.code for t in terms)


def label(terms: tuple[Term, ...], code: str) -> str:
    for term in terms:
        if term.code == code:
            return term.label
    return code


SEVERITY_RANK = {t.code: i for i, t in enumerate(SEVERITIES)}

# Who an alert goes to, the inbox's status filters and its page size: shared by
# the hub, the API's documents and `alertnet client` (which imports only this).
AUDIENCES = tuple(s.value for s in SendTo)
FILTER_STATUSES = tuple(s.value for s in InboxStatus)
PAGE_SIZE = 25
