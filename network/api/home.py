"""The API for what the home page and the inbox's buttons do: "needs your
attention" (GET /home, the sections of /home), marking an alert unread for
oneself, and acknowledging several alerts at once. Each calls the service
its page calls (network/alerts/attention.py, unread_marks.py, bulk.py), so
the rules are the pages' rules; the request is one transaction, so a bulk
acknowledgement refused for one alert acknowledges none."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import Field

from network import auth
from network.alerts import attention, bulk, unread_marks, vocab
from network.alerts.inbox import InboxRow as InboxRowValue
from network.api.contract import follow, operation
from network.api.documents import Acknowledged, Count, Id, InboxRow, When
from network.api.fields import DAY, Body, Choice, Document, Identifier
from network.api.inputs import AlertId, Empty
from network.api.views import ON_AN_ALERT, bp
from network.db import db
from schools.policy import Permission, Scope

# --- what it answers ---------------------------------------------------------------------------


class Overdue(Document):
    """An alert whose acknowledgement is past its deadline."""

    alert: InboxRow
    due: Annotated[When, Field(description="When the acknowledgement fell due.")]


class Replied(Document):
    """An alert other schools replied to since your last visit."""

    alert: InboxRow
    replies: Count
    latest: When
    schools: Annotated[list[str], Field(description="The schools that replied, named.")]


class FollowUp(Document):
    """A referral or step whose follow-up date has passed without an outcome."""

    id: Id
    alert_id: Id
    agency: Annotated[str, Choice.of(vocab.ACTIONS)]
    referred_on: Annotated[date, DAY]
    due_on: Annotated[date, DAY] | None
    outcome: Annotated[str, Choice.of(vocab.OUTCOMES)] | None


class Home(Document):
    """What needs your attention, as the home page lists it (at most 20 of each;
    the inbox holds the rest). Reading it counts as a visit, as the page does:
    `since` is where "replies since your last visit" start."""

    since: When
    first_visit: bool
    follow_ups: list[FollowUp]
    overdue: list[Overdue]
    unacknowledged: Annotated[
        list[InboxRow], Field(description="Open alerts not acknowledged yet (and not overdue).")
    ]
    replies: list[Replied]
    marked_unread: Annotated[list[InboxRow], Field(description="Marked unread by you.")]

    @classmethod
    def of(cls, found: attention.Attention) -> Home:
        def row(value: InboxRowValue) -> InboxRow:
            # Unread for the member, from the listing's own query (as the inbox's).
            return InboxRow.of(value, value.unread and not value.copy.is_sender)

        return cls(
            since=found.since,
            first_visit=found.first_visit,
            follow_ups=[FollowUp.model_validate(r) for r in found.follow_ups],
            overdue=[Overdue(alert=row(o.row), due=o.due) for o in found.overdue],
            unacknowledged=[row(r) for r in found.unacknowledged],
            replies=[
                Replied(alert=row(r.row), replies=r.replies, latest=r.latest, schools=r.schools)
                for r in found.replies
            ],
            marked_unread=[row(r) for r in found.marked],
        )


class AcknowledgedMany(Document):
    """Your school's copies, each acknowledged."""

    acknowledged: list[Acknowledged]


# --- what it takes -----------------------------------------------------------------------------


class AlertChoice(Body):
    """The alerts to acknowledge, as the inbox's checkboxes choose them."""

    alert_ids: Annotated[
        list[Annotated[uuid.UUID, Identifier()]],
        Field(
            min_length=1,
            max_length=bulk.MAX_CHOSEN,
            description=f"1 to {bulk.MAX_CHOSEN} alerts your school received.",
        ),
    ]


# --- the operations ----------------------------------------------------------------------------


@bp.route("/home", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ)
def home() -> Home:
    """Needs your attention: follow-ups overdue, acknowledgements overdue, alerts
    not acknowledged, replies since your last visit and what you marked unread."""
    found = attention.needs_attention(db(), auth.actor(), auth.school_keys())
    return Home.of(found)


@bp.route("/alerts/<uuid:alert_id>/unread", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def mark_unread(alert_id: AlertId, body: Empty) -> None:
    """Mark an alert unread for you alone, until you open it again. Your
    colleagues' inboxes and the sender's receipts are unchanged."""
    unread_marks.mark_unread(db(), auth.actor(), alert_id)


@bp.route("/alerts/acknowledge", methods=["POST"])
@operation(
    Permission.READ_ALERTS,
    Scope.ALERTS_WRITE,
    also=(409,),
    links=follow("/acknowledged/0/alert_id", "alert_id", *ON_AN_ALERT),
)
def acknowledge_many(body: AlertChoice) -> AcknowledgedMany:
    """Acknowledge several alerts for your school at once, each as the single
    acknowledgement does. All or nothing: one refused (not received, already
    acknowledged) refuses them all, and none is acknowledged."""
    done = bulk.acknowledge_many(db(), auth.actor(), auth.school_keys(), body.alert_ids)
    return AcknowledgedMany(acknowledged=[Acknowledged.model_validate(c) for c in done])
