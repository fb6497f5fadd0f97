"""What the API answers about four-eyes review (docs/alerts.md, "Four-eyes
review"): the queue of alerts from staff waiting for a head or DSL, the answer
to a member of staff whose alert waits, and a reviewer's decision. Read from
what the services return, as every document is (network/api/documents.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from network.alerts.held_models import HeldAlert, HeldState
from network.api.documents import Id, When, _read
from network.api.fields import Choice, Document


class WaitingForReview(Document):
    """An alert from staff waiting for a head or DSL (docs/alerts.md, "Four-eyes
    review"): sealed to your school until approved."""

    id: Id
    author: Annotated[str, Field(description="The member who wrote it.")]
    submitted_at: When
    title: str


class InReview(Document):
    """Your alert waits for review: not sent until a head or safeguarding lead
    of your school approves it (docs/alerts.md, "Four-eyes review")."""

    id: Annotated[Id, Field(description="The alert waiting, in the review queue.")]
    state: Annotated[str, Choice.of(HeldState)]
    submitted_at: Annotated[When, _read("updated_at")]

    @classmethod
    def of(cls, held: HeldAlert) -> InReview:
        return cls.read(held)


class ReviewQueue(Document):
    """Your school's alerts waiting for review, oldest first."""

    alerts: list[WaitingForReview]


class ReviewDecision(Document):
    """What the reviewer decided: ``approved`` (then ``alert_id`` is the alert
    sent), ``changes_requested`` or ``rejected``."""

    id: Id
    decision: Annotated[str, Field(description="approved, changes_requested or rejected")]
    alert_id: Id | None = None
