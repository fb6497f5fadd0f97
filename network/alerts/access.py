"""Every rule about who may do what to an alert, decided here for pages, API,
CLI and notifications alike.

A member of a recipient school (or of the sender's school) sees content. A
coordinator sees the metadata of every alert in their cluster, and content only
when their office is a recipient. Everyone else is told the alert does not
exist: a 404, whether they guessed the URL or followed a link. Posting,
replying, acting, resolving and forwarding each add their own rule below.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, ColumnExpressionArgument, and_, exists, or_, select
from sqlalchemy.orm import Session

from crypto.header import TIER_ALL, TIER_LEADERSHIP
from network.alerts.models import Alert, AlertRecipient, ThreadExclusion
from network.alerts.named_models import TIER_NAMED, NamedReader
from network.alerts.vocab import NOT_FORWARDABLE, AlertStatus
from schools import policy
from schools.errors import Conflict, DomainError, Forbidden, NotFound
from schools.leadership import LEADERSHIP_ROLES, in_leadership
from schools.models import Member, Role

NOT_FOUND = "No such alert, or it was not sent to your school."


def visible_to_school(
    school_id: uuid.UUID | ColumnExpressionArgument[uuid.UUID | None],
    alert_id: uuid.UUID | ColumnExpressionArgument[uuid.UUID],
) -> ColumnElement[bool]:
    """SQL for "the school may read the alert": it holds a copy, an
    ``alert_recipients`` row (the sender's own school holds one too, for its
    Sent box). Either side may be a value or a column. The condition is on
    ``alert_recipients``, so a query joins by it to list a school's alerts
    (``join(Alert, visible_to_school(school_id, Alert.id))``, as the inbox does,
    a range scan of its index) or asks it of many schools at once inside
    ``exists()`` (``exists().where(visible_to_school(Member.school_id, alert.id))``).
    ``alert_for`` asks the same of one member's school by primary key."""
    return and_(AlertRecipient.alert_id == alert_id, AlertRecipient.school_id == school_id)


def tiers_of(member: Member | None) -> tuple[str, ...]:
    """The audience tiers a member is in: every member of a school is in "all";
    its head and safeguarding leads in "leadership" too."""
    if member is not None and in_leadership(member):
        return (TIER_ALL, TIER_LEADERSHIP)
    return (TIER_ALL,)


def withdrawn_from(
    member_id: uuid.UUID | ColumnExpressionArgument[uuid.UUID],
    alert_id: uuid.UUID | ColumnExpressionArgument[uuid.UUID],
) -> ColumnElement[bool]:
    """SQL: the member was withdrawn from the alert's thread (network/alerts/exclusion.py)."""
    # Correlated to the enclosing queries at any depth (inside another EXISTS
    # too, as in ``visible_to_member``), not a scan of every member.
    return (
        exists()
        .where(ThreadExclusion.alert_id == alert_id, ThreadExclusion.member_id == member_id)
        .correlate_except(ThreadExclusion)
    )


def named_in(
    member_id: uuid.UUID | ColumnExpressionArgument[uuid.UUID],
    alert_id: uuid.UUID | ColumnExpressionArgument[uuid.UUID],
) -> ColumnElement[bool]:
    """SQL: the alert was sealed to the member by name (network/alerts/named.py)."""
    return (
        exists()
        .where(NamedReader.alert_id == alert_id, NamedReader.member_id == member_id)
        .correlate_except(NamedReader)
    )


def copy_visible_to(reader: Member | None) -> ColumnElement[bool]:
    """SQL on ``alert_recipients``: the copy is at a tier the reader is in (a
    copy for named people: the reader is one of them), and the reader was not
    withdrawn from the alert's thread (no reader: the all-staff tier only).
    The inbox and the unread count list only these."""
    return copy_visible_at(tiers_of(reader), reader.id if reader is not None else None)


def copy_visible_at(
    tiers: tuple[str, ...], reader_id: uuid.UUID | ColumnExpressionArgument[uuid.UUID] | None
) -> ColumnElement[bool]:
    """``copy_visible_to`` for a reader in ``tiers`` whose id is ``reader_id``
    (a value, or a bound parameter: the inbox builds its statement once for
    every reader in the same tiers); None for no reader."""
    in_tier = AlertRecipient.tier.in_(tiers)
    if reader_id is None:
        return in_tier
    named = and_(AlertRecipient.tier == TIER_NAMED, named_in(reader_id, AlertRecipient.alert_id))
    return and_(or_(in_tier, named), ~withdrawn_from(reader_id, AlertRecipient.alert_id))


def visible_to_member(alert: Alert) -> ColumnElement[bool]:
    """SQL on ``Member`` for ``alert_for``'s rule: the member's school holds a
    copy (``visible_to_school``) at a tier the member is in and the member was
    not withdrawn from its thread, or the member coordinates the alert's
    cluster (metadata). Notifications ask it of every member at once."""
    return or_(
        exists().where(
            visible_to_school(Member.school_id, alert.id),
            or_(
                AlertRecipient.tier == TIER_ALL,
                and_(
                    AlertRecipient.tier == TIER_LEADERSHIP,
                    Member.role.in_([r.value for r in LEADERSHIP_ROLES]),
                ),
                and_(AlertRecipient.tier == TIER_NAMED, named_in(Member.id, alert.id)),
            ),
            ~withdrawn_from(Member.id, alert.id),
        ),
        and_(Member.role == Role.COORDINATOR, Member.cluster_id == alert.cluster_id),
    )


def reads_copy(session: Session, actor: Member, copy: AlertRecipient) -> bool:
    """``copy_visible_to`` for one member and one copy."""
    in_tier = copy.tier in tiers_of(actor) or (
        copy.tier == TIER_NAMED and session.get(NamedReader, (copy.alert_id, actor.id)) is not None
    )
    return in_tier and session.get(ThreadExclusion, (copy.alert_id, actor.id)) is None


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    # The member's school's copy, when it is a recipient (or the sender).
    copy: AlertRecipient | None

    @property
    def may_read_content(self) -> bool:
        return self.copy is not None

    @property
    def is_sender(self) -> bool:
        """The member's school sent the alert."""
        return self.copy is not None and self.copy.is_sender


def alert_for(session: Session, actor: Member, alert_id: uuid.UUID) -> AlertView:
    """The alert, if the member may see at least its metadata."""
    alert = session.get(Alert, alert_id)
    if alert is None or not actor.is_active:
        raise NotFound(NOT_FOUND)
    copy = None
    if actor.school_id is not None:
        copy = session.get(AlertRecipient, (alert.id, actor.school_id))
    if copy is not None and not reads_copy(session, actor, copy):
        # At a tier the member is not in, or withdrawn from them: to them, the
        # school holds no copy.
        copy = None
    if copy is not None:
        return AlertView(alert, copy)
    if policy.sees_cluster_metadata(actor, alert.cluster_id):
        return AlertView(alert, None)
    raise NotFound(NOT_FOUND)


def content_for(session: Session, actor: Member, alert_id: uuid.UUID) -> AlertView:
    """Like alert_for, but only for members whose school holds a copy."""
    view = alert_for(session, actor, alert_id)
    if not view.may_read_content:
        raise NotFound(NOT_FOUND)
    return view


def check_may_post(actor: Member) -> None:
    """Heads post alerts; staff when their head allows it; a suspended school
    not at all (schools.policy decides, as for every member's role)."""
    policy.check_may_post(actor)


def may_post(actor: Member) -> bool:
    try:
        check_may_post(actor)
    except DomainError:
        return False
    return True


def forwarding_allowed(alert: Alert) -> bool:
    """The handling label lets recipients pass the alert on to other schools:
    TLP:CLEAR and TLP:GREEN do; TLP:AMBER (the recipient's own school only),
    TLP:AMBER+STRICT and TLP:RED do not."""
    return alert.tlp not in NOT_FORWARDABLE


def may_forward(actor: Member, alert: Alert) -> bool:
    """Whether the alert page offers forwarding."""
    return may_post(actor) and forwarding_allowed(alert)


NAMED_NOT_FORWARDED = (
    "This alert was sealed to named people only: it must not be forwarded, which "
    "would widen it beyond those its sender chose. Ask the sender to send it to "
    "whoever else needs it."
)


def sent_to_named_people(session: Session, alert: Alert) -> bool:
    """The alert was sealed to named people (at any school; one indexed lookup)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    AlertRecipient.alert_id == alert.id, AlertRecipient.tier == TIER_NAMED
                )
            )
        )
    )


def forwardable(session: Session, actor: Member, alert_id: uuid.UUID) -> Alert:
    """The alert, if the member may forward it: their school may post, they
    may see it, its handling label allows it and it was not sealed to named
    people."""
    policy.check_school_may_act(actor, "forward alerts")
    check_may_post(actor)
    alert = alert_for(session, actor, alert_id).alert
    if not forwarding_allowed(alert):
        raise Forbidden(f"This alert is labelled TLP:{alert.tlp}: it must not be forwarded.")
    if sent_to_named_people(session, alert):
        raise Forbidden(NAMED_NOT_FORWARDED)
    return alert


def writable(session: Session, actor: Member, alert_id: uuid.UUID, doing: str) -> Alert:
    """The alert, if the member may add to its thread (``doing`` completes "it
    cannot ..."): their school may act and holds a copy, and the alert still
    takes replies and actions (locked as ``_still_open`` says)."""
    policy.check_school_may_act(actor, doing)
    return _still_open(session, content_for(session, actor, alert_id).alert)


def resolvable(session: Session, actor: Member, alert_id: uuid.UUID) -> AlertView:
    """The alert and the sender's copy, if the member's school sent it and has
    not resolved it yet."""
    policy.check_school_may_act(actor, "resolve alerts")
    view = content_for(session, actor, alert_id)
    if not view.is_sender:
        raise Forbidden(
            "Only the school that sent an alert can resolve it; close it for your school instead."
        )
    _still_open(session, view.alert, resolving=True)
    return view


def closable(session: Session, actor: Member, alert_id: uuid.UUID, doing: str) -> AlertView:
    """The alert and the member's school's copy, if the school may close or
    reopen it on its own side (``doing`` completes "it cannot ..."): it holds a
    copy of an alert whose content still exists. The copy's row stays locked
    until the commit, so of two closings at once the second sees the first."""
    policy.check_school_may_act(actor, doing)
    view = content_for(session, actor, alert_id)
    assert view.copy is not None
    _still_open(session, view.alert)
    session.refresh(view.copy, ["closed_at", "closed_by_id"], with_for_update=True)
    return view


def _still_open(session: Session, alert: Alert, resolving: bool = False) -> Alert:
    """The alert, if it still takes replies and actions: its content exists (not
    withdrawn, not shredded). A resolution is the sender's own closing: other
    schools still acknowledge, reply and record actions after it. The row stays
    locked until the commit (on PostgreSQL; SQLite has one writer at a time):
    shared by replies, exclusive for resolving, so of two resolutions the second
    sees the first, and a withdrawal waits for the replies in flight."""
    session.refresh(alert, ["status", "resolved_at"], with_for_update={"read": not resolving})
    if alert.status == AlertStatus.WITHDRAWN:
        raise Conflict(
            "This alert was withdrawn by its sender; it takes no more replies or actions."
        )
    if alert.status == AlertStatus.SHREDDED:
        raise Conflict("This alert has passed its retention period and was shredded.")
    if alert.status == AlertStatus.RESOLVED and resolving and alert.resolved_at is not None:
        raise Conflict(
            f"This alert was already resolved on {alert.resolved_at:%d %b %Y at %H:%M} UTC."
        )
    return alert


def acknowledgeable(session: Session, actor: Member, alert_id: uuid.UUID) -> AlertView:
    """The alert and the member's school's copy, if the school may acknowledge
    it: a recipient, not the sender, of an alert not shredded (a resolved alert
    may still be acknowledged)."""
    policy.check_school_may_act(actor, "acknowledge alerts")
    view = content_for(session, actor, alert_id)
    assert view.copy is not None
    if view.is_sender:
        raise Conflict("Your school sent this alert; recipients acknowledge it.")
    if view.alert.status == AlertStatus.WITHDRAWN:
        raise Conflict("This alert was withdrawn by its sender.")
    if view.alert.status == AlertStatus.SHREDDED:
        raise Conflict("This alert was shredded.")
    return view


# Who speaks for a sending school about an alert it sent: its head and
# safeguarding leads, and the member who posted it.
SPEAKS_FOR_THE_SCHOOL = frozenset({Role.HEAD, Role.DSL, Role.DEPUTY_DSL})


def may_amend(actor: Member, view: AlertView) -> bool:
    """Whether the alert page offers withdrawing and correcting."""
    return view.is_sender and (
        actor.role_enum in SPEAKS_FOR_THE_SCHOOL or view.alert.sender_member_id == actor.id
    )


def amendable(
    session: Session, actor: Member, alert_id: uuid.UUID, doing: str, withdrawing: bool = False
) -> Alert:
    """The alert, if the member may withdraw it or add a correction (``doing``
    completes "only ... can ..."): their school sent it, they are its head, a
    safeguarding lead or the member who posted it, and its content still exists.
    Its row stays locked until the commit, exclusively for a withdrawal, so a
    correction or reply in flight lands before it or sees it."""
    policy.check_school_may_act(actor, doing)
    view = content_for(session, actor, alert_id)
    if not view.is_sender:
        raise Forbidden(
            f"Only {view.alert.sender_school.name}, which sent this alert, can {doing}: "
            "ask them to."
        )
    if not may_amend(actor, view):
        raise Forbidden(
            f"Only your head, a safeguarding lead or {view.alert.sender_member.name}, who "
            f"posted it, can {doing}."
        )
    alert = view.alert
    session.refresh(alert, ["status"], with_for_update={"read": not withdrawing})
    if alert.status == AlertStatus.WITHDRAWN:
        raise Conflict("This alert was already withdrawn.")
    if alert.status == AlertStatus.SHREDDED:
        raise Conflict("This alert has passed its retention period and was shredded.")
    return alert


def check_has_receipt(session: Session, actor: Member, alert_id: uuid.UUID) -> None:
    """Only the sending school has an alert's receipt; to anyone else it does not exist."""
    if not content_for(session, actor, alert_id).is_sender:
        raise NotFound("Only the school that sent an alert has its receipt.")


def sightable(session: Session, actor: Member, alert_id: uuid.UUID) -> Alert:
    """The alert, if the member's school may say "We've seen this too": it
    received the alert (or a forward of it, on the forward), did not send it,
    and the alert was not shredded."""
    policy.check_school_may_act(actor, "record sightings")
    view = alert_for(session, actor, alert_id)
    if not view.may_read_content:
        raise Forbidden(
            "Your school did not receive this alert, so it cannot record a sighting of it. "
            "If a forward of it reached you, record the sighting on the forward."
        )
    if view.is_sender:
        raise Conflict("Your school sent this alert; other schools say when they see it too.")
    if view.alert.status == AlertStatus.WITHDRAWN:
        raise Conflict("This alert was withdrawn by its sender.")
    if view.alert.status == AlertStatus.SHREDDED:
        raise Conflict("This alert has passed its retention period and was shredded.")
    return view.alert
