"""What a person wrote on the post form, and turning it into an alert to send:
every field is checked and every problem reported at once (issue 17), so the
form shows them all in one round. The same fields are what a draft seals to
its author's school (network/alerts/held.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from network.alerts import evidence as evidence_files
from network.alerts import platforms as platform_ops
from network.alerts.audience import resolve_audience
from network.alerts.content import (
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_TITLE,
    AlertContent,
    Evidence,
    clean_text,
    parse_links,
    parse_names,
)
from network.alerts.posting import AlertDraft, term_problems
from network.alerts.steps import StepsTaken, check_steps
from network.alerts.vocab import SendTo
from schools.errors import InvalidInput, Problems
from schools.models import Member

T = TypeVar("T")


@dataclass(frozen=True)
class FormFields:
    """The post form's fields as typed, before any check: what a draft keeps."""

    category: str = ""
    severity: str = "medium"
    platform: str = ""
    tlp: str = "AMBER"
    year_group: str = ""
    title: str = ""
    description: str = ""
    links: str = ""
    accounts: str = ""
    groups: str = ""
    recommended_action: str = ""
    audience: str = "schools"
    schools: tuple[str, ...] = ()
    include_coordinator: bool = False
    # What was done at posting (network/alerts/steps.py): sealed with the alert.
    referred_to: tuple[str, ...] = ()
    references: str = ""
    referred_on: str = ""  # ISO date, or empty
    dsl_name: str = ""
    # Who at each school reads it (network/alerts/audience.py): empty for the
    # category's default, and a recipient school one of whose members is its subject.
    tier: str = ""
    subject_school: str = ""
    # Tier "named": the member ids ticked (network/alerts/named.py).
    named: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        value: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        value["schools"] = list(self.schools)
        value["referred_to"] = list(self.referred_to)
        value["named"] = list(self.named)
        return json.dumps({"v": 1, **value}, ensure_ascii=False, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> FormFields:
        value = json.loads(data)
        text = {
            f.name: str(value.get(f.name, f.default))
            for f in fields(cls)
            if f.name not in ("schools", "include_coordinator", "referred_to", "named")
        }
        return cls(
            **text,
            schools=tuple(str(s) for s in value.get("schools", ())),
            referred_to=tuple(str(agency) for agency in value.get("referred_to", ())),
            named=tuple(str(m) for m in value.get("named", ())),
            include_coordinator=bool(value.get("include_coordinator", False)),
        )

    def summary(self) -> bytes:
        """What the drafts list shows: the title alone."""
        return json.dumps({"v": 1, "title": self.title}, ensure_ascii=False).encode()


def _check(problems: Problems, default: T, check: Callable[[], T]) -> T:
    try:
        return check()
    except InvalidInput as problem:
        problems.add(problem)
        return default


def _steps(form: FormFields, today: date) -> StepsTaken:
    try:
        referred_on = date.fromisoformat(form.referred_on) if form.referred_on else None
    except ValueError:
        raise InvalidInput("Give the date as day, month and year.", field="referred_on") from None
    return check_steps(form.referred_to, form.references, referred_on, form.dsl_name, today)


def _subject_school(value: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("Choose from the list.", field="subject_school") from None


def _school_ids(values: Sequence[str]) -> tuple[uuid.UUID, ...]:
    try:
        return tuple(uuid.UUID(v) for v in values)
    except ValueError:
        raise InvalidInput("Choose from the list.", field="schools") from None


def accept_evidence(
    uploads: Sequence[tuple[str, str, bytes]], kept: int, problems: Problems
) -> list[Evidence]:
    """Each uploaded file (name, declared type, bytes) checked on its own: the
    ones accepted come back, each refusal is reported beside the field."""
    accepted: list[Evidence] = []
    room = evidence_files.MAX_FILES - kept
    if len(uploads) > room:
        problems.add(
            InvalidInput(
                f"Attach at most {evidence_files.MAX_FILES} files"
                + (f" ({kept} already attached)." if kept else "."),
                field="evidence",
            )
        )
        return accepted
    for name, content_type, data in uploads:
        try:
            accepted.append(evidence_files.prepare(name, content_type, data))
        except InvalidInput as problem:
            problems.add(problem)
    return accepted


def compose(
    session: Session,
    form: FormFields,
    evidence: Sequence[Evidence],
    today: date,
    problems: Problems | None = None,
    sender: Member | None = None,
) -> AlertDraft:
    """The alert the fields describe; InvalidInputs naming every field at fault
    (with any problems already found, e.g. by the form's own validators).
    With ``sender``, chosen schools are checked too (posting checks them again,
    with every other audience)."""
    problems = problems or Problems()
    content = AlertContent(
        title=_check(
            problems,
            "",
            lambda: clean_text(form.title, "title", "title", MAX_TITLE, required=True),
        ),
        description=_check(
            problems,
            "",
            lambda: clean_text(form.description, "description", "description", MAX_DESCRIPTION),
        ),
        links=_check(problems, (), lambda: parse_links(form.links, today)),
        accounts=_check(
            problems, (), lambda: parse_names(form.accounts, "accounts", "account", form.platform)
        ),
        groups=_check(
            problems,
            (),
            lambda: parse_names(form.groups, "groups", "group or page", form.platform),
        ),
        recommended_action=_check(
            problems,
            "",
            lambda: clean_text(
                form.recommended_action, "recommended_action", "recommended action", MAX_NOTE
            ),
        ),
        year_group=_check(
            problems,
            "",
            lambda: platform_ops.check_year_group(form.year_group, form.category),
        ),
        steps=_check(problems, StepsTaken(), lambda: _steps(form, today)),
    )
    draft = AlertDraft(
        category=form.category,
        severity=form.severity,
        platform=form.platform,
        tlp=form.tlp,
        content=content,
        audience=form.audience,
        school_ids=_check(problems, (), lambda: _school_ids(form.schools)),
        include_coordinator=form.include_coordinator,
        evidence=tuple(evidence),
        tier=form.tier,
        subject_school_id=_check(problems, None, lambda: _subject_school(form.subject_school)),
        named=form.named,
    )
    if (
        sender is not None
        and draft.audience == SendTo.SCHOOLS
        and "schools" not in problems.fields()
    ):
        _check(
            problems,
            None,
            lambda: resolve_audience(
                session, sender, draft.audience, draft.school_ids, draft.include_coordinator
            ),
        )
    already = problems.fields()
    for problem in term_problems(session, draft):
        if problem.field not in already:
            problems.add(problem)
    problems.raise_any()
    return draft
