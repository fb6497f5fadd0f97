"""Form shapes for subscriptions, watches and deadlines."""

from __future__ import annotations

from datetime import time

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TimeField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from network.alerts import vocab
from network.alerts.deadlines import Deadline
from network.forms import MultiCheckboxField

CHANNEL_HINTS = {
    "email": "Email to an address you choose",
    "webhook": "A signed POST to your school's own system",
    "in_app": "A notice in the hub, beside the inbox",
}


class SubscriptionForm(FlaskForm):
    name = StringField(
        "Name",
        description="So you can tell your subscriptions apart, e.g. “DSL mailbox”.",
        validators=[Length(max=100)],
    )
    channel = RadioField("How", default="email")
    target_email = EmailField(
        "Email address",
        description="A member's address or a shared one such as safeguarding@school.org.uk.",
        validators=[Optional(), Length(max=254)],
    )
    target_url = URLField(
        "Webhook address",
        description="Your receiver's https:// address. Deliveries are signed; verify them.",
        validators=[Optional(), Length(max=500)],
    )
    categories = MultiCheckboxField(
        "Categories",
        description="Leave all unticked for every category.",
        choices=[SelectChoice(t.code, t.label) for t in vocab.CATEGORIES],
    )
    min_severity = SelectField(
        "Minimum severity",
        choices=[SelectChoice(t.code, t.label) for t in vocab.SEVERITIES],
        default="info",
    )
    senders = MultiCheckboxField(
        "From these schools", description="Leave all unticked for every school."
    )
    timing = RadioField(
        "When",
        choices=[
            SelectChoice("immediate", "Straight away"),
            SelectChoice("digest", "In a daily digest (urgent alerts still come straight away)"),
        ],
        default="immediate",
    )
    digest_time = TimeField(
        "Digest time",
        description="The hub's local time.",
        default=time(7, 30),
        validators=[Optional()],
    )

    def set_channels(self, personal: bool) -> None:
        codes = ("email", "in_app") if personal else ("email", "webhook")
        labels = {"email": "By email", "webhook": "By webhook", "in_app": "In the hub"}
        if personal:
            labels["email"] = "By email to my own address"
        self.channel.choices = [SelectChoice(c, labels[c]) for c in codes]


class WatchForm(FlaskForm):
    by_email = BooleanField("Also tell me by email", default=True)


class DeadlinesForm(FlaskForm):
    """One amount and unit per severity, added in ``for_severities``."""

    @classmethod
    def for_severities(cls, current: dict[str, Deadline], **kwargs: object) -> DeadlinesForm:
        class Bound(cls):  # type: ignore[valid-type,misc]
            pass

        for term in vocab.SEVERITIES:
            rule = current[term.code]
            setattr(
                Bound,
                f"amount_{term.code}",
                IntegerField(
                    f"{term.label}: within",
                    default=rule.amount,
                    validators=[NumberRange(min=0, max=336, message="Enter 0 to 336.")],
                ),
            )
            setattr(
                Bound,
                f"unit_{term.code}",
                SelectField(
                    f"{term.label}: unit",
                    choices=[
                        SelectChoice("hours", "hours"),
                        SelectChoice("school_days", "school days"),
                    ],
                    default=rule.unit,
                ),
            )
        form: DeadlinesForm = Bound(**kwargs)
        return form
