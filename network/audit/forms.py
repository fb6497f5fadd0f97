"""The audit log's filter form: a GET form, so no CSRF token (it changes nothing)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import DateField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from network.audit.search import EntryFilter, member_in_scope
from schools.policy import AuditScope


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    school = SelectField("School", choices=[SelectChoice("", "All schools")], default="")
    member = EmailField(
        "Member's email address",
        validators=[Optional(), Length(max=254)],
        description="Entries of what this person did.",
    )
    action = StringField(
        "Action",
        validators=[Optional(), Length(max=64)],
        description="Exact, like member.signed_in; end with a dot for a group, like alert.",
    )
    object_id = StringField("Object id", validators=[Optional(), Length(max=64)])
    since = DateField("From (UTC)", validators=[Optional()])
    until = DateField("To (UTC, inclusive)", validators=[Optional()])

    def limit_schools(self, schools: list[tuple[uuid.UUID, str]]) -> None:
        self.school.choices = [
            SelectChoice("", "All schools"),
            *(SelectChoice(str(i), name) for i, name in schools),
        ]

    def to_filter(self, session: Session, scope: AuditScope) -> EntryFilter | None:
        """The typed filter, or None with field errors set (the page shows them)."""
        if not self.validate():
            return None
        if self.since.data and self.until.data and self.until.data < self.since.data:
            self.until.errors = ["The end date must not be before the start date."]
            return None
        actor_id = None
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
            since=datetime.combine(since, time.min, UTC) if since else None,
            until=datetime.combine(until + timedelta(days=1), time.min, UTC) if until else None,
        )

    def active(self) -> dict[str, str]:
        """The filters in use, as typed, as query arguments for page and export links."""
        names = ("school", "member", "action", "object_id", "since", "until")
        active = {}
        for name in names:
            raw = self[name].raw_data
            if raw and raw[0]:
                active[name] = str(raw[0])
        return active
