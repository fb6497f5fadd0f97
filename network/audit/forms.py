"""The audit log's filter form: a GET form, so no CSRF token (it changes nothing).

People pick a person, a school and an action by name; the action's code, an
email address and an object id can be given too (the technical view, and links
from an object's page). Dates are whole days in the hub's time zone.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import DateField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from network.audit import wording
from network.audit.search import EntryFilter, member_by_id_in_scope, member_in_scope
from schools.models import Member
from schools.policy import AuditScope


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    person = SelectField(
        "Person", choices=[SelectChoice("", "Anyone")], default="", validate_choice=False
    )
    school = SelectField("School", choices=[SelectChoice("", "All schools")], default="")
    # A select with a group per kind of action (templates/audit/log.html); any
    # code is accepted, exact or a group ending with a dot, like "member.".
    action = StringField("What they did", validators=[Optional(), Length(max=64)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To (inclusive)", validators=[Optional()])
    # The technical view's filters, for those who know the codes.
    member = EmailField(
        "Member's email address",
        validators=[Optional(), Length(max=254)],
        description="Entries of what this person did.",
    )
    object_id = StringField("Object id", validators=[Optional(), Length(max=64)])

    def offer(
        self, schools: list[tuple[uuid.UUID, str]], people: list[Member] | None, zone: str
    ) -> None:
        """The choices this reader may make: their scope's schools and people
        (None: too many to list, the email address is asked for instead)."""
        self.school.choices = [
            SelectChoice("", "All schools"),
            *(SelectChoice(str(i), name) for i, name in schools),
        ]
        self.people_listed = people is not None
        if people is not None:
            self.person.choices = [
                SelectChoice("", "Anyone"),
                *(
                    SelectChoice(str(m.id), m.name + (f" ({m.school.name})" if m.school else ""))
                    for m in people
                ),
            ]
        self.action_groups = wording.action_choices()
        chosen = (self.action.data or "").strip()
        known = {code for _, group in self.action_groups for code, _ in group}
        # A code no option names (from a link, or typed): kept, and shown by name.
        self.action_other = (chosen, wording.action_label(chosen)) if chosen not in known else None
        if not chosen:
            self.action_other = None
        hint = f"Whole days in {zone} time."
        self.since.description = hint
        self.until.description = hint

    def to_filter(self, session: Session, scope: AuditScope, tz: ZoneInfo) -> EntryFilter | None:
        """The typed filter, or None with field errors set (the page shows them)."""
        if not self.validate():
            return None
        if self.since.data and self.until.data and self.until.data < self.since.data:
            self.until.errors = ["The end date must not be before the start date."]
            return None
        actor_id = None
        if self.person.data:
            member = None
            with contextlib.suppress(ValueError):
                member = member_by_id_in_scope(session, scope, uuid.UUID(self.person.data))
            if member is None:
                self.person.errors = ["Choose a person from the list."]
                return None
            actor_id = member.id
        if self.member.data:
            member = member_in_scope(session, scope, self.member.data)
            if member is None:
                where = "your school" if scope.school_id else "your cluster"
                if scope.everything:
                    where = "the hub"
                self.member.errors = [f"No member of {where} has this email address."]
                return None
            actor_id = member.id
        since, until = self.since.data, self.until.data
        return EntryFilter(
            school_id=uuid.UUID(self.school.data) if self.school.data else None,
            actor_id=actor_id,
            action=(self.action.data or "").strip() or None,
            object_id=(self.object_id.data or "").strip() or None,
            since=_start_of(since, tz) if since else None,
            until=_start_of(until + timedelta(days=1), tz) if until else None,
        )

    def active(self) -> dict[str, str]:
        """The filters in use, as typed, as query arguments for page and export links."""
        names = ("person", "school", "member", "action", "object_id", "since", "until")
        active = {}
        for name in names:
            raw = self[name].raw_data
            if raw and raw[0]:
                active[name] = str(raw[0])
        return active


def _start_of(day: date, tz: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in the hub's zone (an aware time)."""
    return datetime.combine(day, time.min, tz)
