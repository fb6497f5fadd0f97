"""The cluster's guidance: what the school's policy says to do for each
category of alert, shown on the post form beside the category.

A coordinator edits their cluster's text per category; each save is a new
version (older ones stay, to read), with a change summary, and is audited
(``guidance.edited``). A category the cluster has not written its own for
shows the default below (version 0). Guidance is policy, not alert content:
the hub holds it in clear.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network.alerts import vocab
from network.text import unstorable
from schools import audit, policy
from schools.db import Base, UTCDateTime, utcnow
from schools.errors import InvalidInput, NotFound, Problems
from schools.models import Cluster, Member

MAX_TEXT = 5_000
MAX_SUMMARY = 500

# Plain words for a cluster that has written none of its own. A starting
# point, not legal advice: each cluster writes what its schools' policies say.
DEFAULT_GUIDANCE: dict[str, str] = {
    "defamation": (
        "Report the post to the platform first, through its reporting link (listed under "
        "Platform). If the platform has not acted after 48 hours, report it to Report "
        "Harmful Content (reportharmfulcontent.com, run by the UK Safer Internet Centre). "
        "Take legal advice (your local authority's or the school's legal service) before "
        "replying in public or contacting the author. Record below what you reported, to "
        "whom, and their reference."
    ),
    "staff_named": (
        "Report the post to the platform through its reporting link, and support the member "
        "of staff named. If it alleges that a member of staff has harmed a child or may be a "
        "risk to children, it is an allegation about staff: refer it to the LADO (Local "
        "Authority Designated Officer) within one working day. Take legal advice before "
        "replying in public."
    ),
    "harassment": (
        "If the posts threaten someone, target them for who they are (hate), or go on after "
        "being asked to stop, refer it to the police (101; 999 if someone is in immediate "
        "danger) and record the force's reference number (the crime or incident number) "
        "below. Report the posts to the platform and keep screenshots as evidence."
    ),
    "safeguarding": (
        "Tell your designated safeguarding lead (DSL) at once, and name them below. The DSL "
        "refers to children's social care through the MASH (multi-agency safeguarding hub) "
        "and to the police where a child is at risk or a crime may have been committed, "
        "within the timescales of your local safeguarding partnership's procedures (the same "
        "day, by phone, when a child is at immediate risk; 999 in an emergency). Record the "
        "agencies and their reference numbers below. Never copy or forward indecent images "
        "of children, even as evidence."
    ),
    "under_age": (
        "Record the pupils' year group, never a pupil's name: you are warned if pupils of "
        "that year are under the platform's minimum age. Report the under-age account "
        "through the platform's under-age reporting link (listed under Platform), and tell "
        "parents. Tell the DSL if there is a safeguarding concern."
    ),
    "staff_conduct": (
        "An allegation that a member of staff has harmed a child, or may be a risk to "
        "children, goes to the LADO (Local Authority Designated Officer) within one working "
        "day. Tell the head (the chair of governors when it concerns the head). Do not "
        "investigate before speaking to the LADO. Record the referral and its reference "
        "below."
    ),
    "other": (
        "Follow your school's policy. Tell your designated safeguarding lead if a child may "
        "be at risk."
    ),
}


class GuidanceVersion(Base):
    """One version of a cluster's guidance for one category. The highest
    version is the one shown; the others are kept, to read."""

    __tablename__ = "guidance_versions"
    __table_args__ = (CheckConstraint("version >= 1", name="version_from_one"),)

    cluster_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(MAX_SUMMARY))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )

    created_by: Mapped[Member | None] = relationship(lazy="joined")


@dataclass(frozen=True)
class Guidance:
    """What the form shows for a category: version 0 is the default."""

    category: str
    label: str
    text: str
    version: int = 0
    created_at: datetime | None = None
    created_by: str = ""
    summary: str = ""

    @property
    def is_default(self) -> bool:
        return self.version == 0

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.text.split("\n\n") if p.strip()]


def _category(category: str) -> str:
    if category not in vocab.codes(vocab.CATEGORIES):
        raise NotFound("No such category.")
    return category


def _of(row: GuidanceVersion) -> Guidance:
    return Guidance(
        row.category,
        vocab.label(vocab.CATEGORIES, row.category),
        row.text,
        row.version,
        row.created_at,
        row.created_by.name if row.created_by is not None else "",
        row.summary,
    )


def _default(category: str) -> Guidance:
    return Guidance(
        category, vocab.label(vocab.CATEGORIES, category), DEFAULT_GUIDANCE.get(category, "")
    )


def current_guidance(session: Session, cluster_id: uuid.UUID) -> dict[str, Guidance]:
    """Every category's guidance shown in the cluster, in the categories'
    order: its latest version, else the default. One query."""
    latest = (
        select(GuidanceVersion.category, func.max(GuidanceVersion.version).label("version"))
        .where(GuidanceVersion.cluster_id == cluster_id)
        .group_by(GuidanceVersion.category)
        .subquery()
    )
    rows = {
        row.category: row
        for row in session.scalars(
            select(GuidanceVersion)
            .join(
                latest,
                (GuidanceVersion.category == latest.c.category)
                & (GuidanceVersion.version == latest.c.version),
            )
            .where(GuidanceVersion.cluster_id == cluster_id)
        )
    }
    return {
        term.code: _of(rows[term.code]) if term.code in rows else _default(term.code)
        for term in vocab.CATEGORIES
    }


def guidance_for(session: Session, member: Member) -> dict[str, Guidance]:
    """The guidance the member's post form shows: their cluster's."""
    cluster_id = member.effective_cluster_id
    if cluster_id is None:
        return {term.code: _default(term.code) for term in vocab.CATEGORIES}
    return current_guidance(session, cluster_id)


def versions_of(
    session: Session, actor: Member | None, cluster: Cluster, category: str
) -> list[Guidance]:
    """Every version the cluster wrote for the category, newest first."""
    policy.check_cluster(actor, cluster)
    rows = session.scalars(
        select(GuidanceVersion)
        .where(
            GuidanceVersion.cluster_id == cluster.id,
            GuidanceVersion.category == _category(category),
        )
        .order_by(GuidanceVersion.version.desc())
    )
    return [_of(row) for row in rows]


def version_of(
    session: Session, actor: Member | None, cluster: Cluster, category: str, version: int
) -> Guidance:
    """One version (0: the default)."""
    policy.check_cluster(actor, cluster)
    if version == 0:
        return _default(_category(category))
    row = session.get(GuidanceVersion, (cluster.id, _category(category), version))
    if row is None:
        raise NotFound("No such version of the guidance.")
    return _of(row)


def _clean(value: str, field: str, label: str, limit: int) -> str:
    text = value.replace("\r\n", "\n").strip()
    refused = unstorable(text)
    if refused is not None:
        raise InvalidInput(f"The {label} must not contain {refused}.", field=field)
    if not text:
        raise InvalidInput(f"Enter the {label}.", field=field)
    if len(text) > limit:
        raise InvalidInput(
            f"The {label} must be at most {limit:,} characters (it has {len(text):,}).",
            field=field,
        )
    return text


def check_guidance(
    session: Session, cluster: Cluster, category: str, text: str, summary: str
) -> tuple[str, str]:
    """The new version's text and summary, every problem at once (InvalidInputs);
    an unchanged text is refused. Writes nothing."""
    problems = Problems()
    cleaned = problems.check(None, lambda: _clean(text, "text", "guidance", MAX_TEXT))
    summary = " ".join(
        problems.check(
            "", lambda: _clean(summary, "summary", "summary of the change", MAX_SUMMARY)
        ).split()
    )
    if cleaned is not None and cleaned == current_guidance(session, cluster.id)[category].text:
        problems.add(
            InvalidInput(
                "The guidance is the same as the version shown now: change it, or leave the page.",
                field="text",
            )
        )
    problems.raise_any()
    assert cleaned is not None
    return cleaned, summary


def edit_guidance(
    session: Session,
    actor: Member | None,
    cluster: Cluster,
    category: str,
    text: str,
    summary: str,
) -> Guidance:
    """A new version of the cluster's guidance for the category, with what
    changed and why (``summary``). Audited; an unchanged text is refused."""
    policy.check_cluster(actor, cluster)
    category = _category(category)
    text, summary = check_guidance(session, cluster, category, text, summary)
    current = current_guidance(session, cluster.id)[category]
    row = GuidanceVersion(
        cluster_id=cluster.id,
        category=category,
        version=current.version + 1,
        text=text,
        summary=summary,
        created_at=utcnow(),
        created_by_id=actor.id if actor is not None else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "guidance.edited",
        actor=actor,
        cluster_id=cluster.id,
        object_type="cluster",
        object_id=cluster.id,
        category=category,
        version=row.version,
        before=current.version,
        summary=summary,
    )
    return _of(row)
