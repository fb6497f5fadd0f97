"""Who may do what: decided here and only here. Views, the API and the CLI all
ask these functions; nothing else compares roles."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from schools.errors import Forbidden, NotFound
from schools.models import Cluster, Invitation, Member, Role, School, SchoolStatus


class Permission(enum.StrEnum):
    MANAGE_CLUSTERS = "manage_clusters"
    MANAGE_SCHOOLS = "manage_schools"
    VIEW_SCHOOL = "view_school"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_OWN_ACCOUNT = "manage_own_account"
    READ_ALERTS = "read_alerts"
    POST_ALERTS = "post_alerts"
    MANAGE_PLATFORMS = "manage_platforms"
    VIEW_CLUSTER_DASHBOARD = "view_cluster_dashboard"
    VIEW_SCHOOL_DASHBOARD = "view_school_dashboard"
    VIEW_AUDIT_LOG = "view_audit_log"
    VIEW_AUDIT_PROOFS = "view_audit_proofs"
    MANAGE_OWN_NOTIFICATIONS = "manage_own_notifications"
    MANAGE_SCHOOL_NOTIFICATIONS = "manage_school_notifications"
    SET_ACK_DEADLINES = "set_ack_deadlines"
    MANAGE_API_TOKENS = "manage_api_tokens"
    EDIT_GUIDANCE = "edit_guidance"
    SET_OUT_OF_HOURS_CONTACT = "set_out_of_hours_contact"
    REVIEW_ALERTS = "review_alerts"
    # Withdraw a member of one's own school from an alert's thread
    # (network/alerts/exclusion.py): the school's leadership.
    WITHDRAW_FROM_THREADS = "withdraw_from_threads"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.HUB_ADMIN: frozenset(
        {Permission.MANAGE_CLUSTERS, Permission.MANAGE_PLATFORMS, Permission.MANAGE_OWN_ACCOUNT}
    ),
    # The coordinator's office can be named as a recipient, so it has an inbox.
    Role.COORDINATOR: frozenset(
        {
            Permission.MANAGE_SCHOOLS,
            Permission.READ_ALERTS,
            Permission.VIEW_CLUSTER_DASHBOARD,
            Permission.MANAGE_OWN_ACCOUNT,
            # The cluster's guidance on what to do per category (network/alerts/guidance.py).
            Permission.EDIT_GUIDANCE,
        }
    ),
    Role.HEAD: frozenset(
        {
            Permission.VIEW_SCHOOL,
            Permission.MANAGE_MEMBERS,
            Permission.READ_ALERTS,
            Permission.POST_ALERTS,
            Permission.VIEW_SCHOOL_DASHBOARD,
            Permission.MANAGE_OWN_ACCOUNT,
            # Who is told of urgent alerts outside school days (network/alerts/out_of_hours.py).
            Permission.SET_OUT_OF_HOURS_CONTACT,
            Permission.WITHDRAW_FROM_THREADS,
        }
    ),
    Role.STAFF: frozenset(
        {
            Permission.VIEW_SCHOOL,
            Permission.READ_ALERTS,
            Permission.POST_ALERTS,
            Permission.MANAGE_OWN_ACCOUNT,
        }
    ),
}
# Safeguarding leads hold what other staff hold, and with the head make the
# school's leadership: they withdraw members from threads. They differ from staff
# in posting by default (Role.posts_by_default), in withdrawing their school's
# alerts (alerts/access.py) and in holding the leadership keys (schools/leadership.py).
_GRANTS[Role.DSL] = _GRANTS[Role.DEPUTY_DSL] = _GRANTS[Role.STAFF] | {
    Permission.WITHDRAW_FROM_THREADS
}
# Four-eyes review (network/alerts/review.py): a head or the designated
# safeguarding lead approves alerts from staff when their school asks for it.
_GRANTS[Role.HEAD] = _GRANTS[Role.HEAD] | {Permission.REVIEW_ALERTS}
_GRANTS[Role.DSL] = _GRANTS[Role.DSL] | {Permission.REVIEW_ALERTS}

# Granted by the role only to members whose head allows it (``Member.may_post``):
# every role but the head's. A head grants and withdraws it on the members page,
# through the API or with `alertnet member set --may-post/--no-may-post`.
PER_MEMBER: dict[Permission, frozenset[Role]] = {
    Permission.POST_ALERTS: frozenset({Role.DSL, Role.DEPUTY_DSL, Role.STAFF}),
}


def may(member: Member | None, permission: Permission) -> bool:
    """Whether this member's role carries the permission (None: nobody signed
    in), and for a permission granted per member (PER_MEMBER), their head
    granted it."""
    if member is None or not member.is_active or permission not in _GRANTS[member.role_enum]:
        return False
    if member.role_enum in PER_MEMBER.get(permission, ()):
        return member.may_post
    return True


def require(member: Member | None, permission: Permission) -> None:
    if not may(member, permission):
        raise Forbidden(refusal(member, permission) or "You do not have access to this page.")


def refusal(member: Member | None, permission: Permission) -> str | None:
    """What to do, when the member's role carries the permission but their
    head has not granted it to them (PER_MEMBER); None otherwise."""
    if (
        member is not None
        and member.is_active
        and permission in _GRANTS[member.role_enum]
        and member.role_enum in PER_MEMBER.get(permission, ())
        and not member.may_post
    ):
        return NOT_ALLOWED_TO_POST
    return None


NOT_ALLOWED_TO_POST = (
    "Your head has not allowed you to post alerts. Ask your head to allow it: "
    "they do it on the school's Members page (Allow posting)."
)


def needs_review(member: Member) -> bool:
    """Whether what this member posts waits for a reviewer: their school asks
    for four-eyes review and they are neither a head nor a safeguarding lead."""
    school = member.school
    return (
        school is not None
        and school.reviews_staff_alerts
        and member.role_enum not in (Role.HEAD, Role.DSL, Role.DEPUTY_DSL)
    )


REVIEW_FIRST = (
    "Your school reviews alerts from staff before they are sent: submit it on the "
    "Post an alert page, where a head or safeguarding lead approves it."
)


def check_cluster(actor: Member | None, cluster: Cluster) -> None:
    """A coordinator acts only in their own cluster; an operator (actor None,
    the CLI) and the hub admin may act in any. Others learn nothing: 404."""
    if actor is None or actor.role_enum is Role.HUB_ADMIN:
        return
    if actor.role_enum is Role.COORDINATOR and actor.cluster_id == cluster.id:
        return
    raise NotFound("No such cluster.")


def check_school_admin(actor: Member | None, school: School) -> None:
    """Coordinator of the school's cluster (admission, suspension)."""
    if actor is None:
        return
    if actor.role_enum is Role.COORDINATOR and actor.cluster_id == school.cluster_id:
        return
    raise NotFound("No such school.")


def check_school_member(actor: Member | None, school: School) -> None:
    """Any active member of the school itself."""
    if actor is None:
        return
    if actor.is_active and actor.school_id == school.id:
        return
    raise NotFound("No such school.")


def check_manages_members(actor: Member | None, school: School) -> None:
    """The head of the school invites and removes its members; the CLI may too."""
    if actor is None:
        return
    check_school_member(actor, school)
    if actor.role_enum is not Role.HEAD:
        raise Forbidden("Only the head can invite or remove members, or change what they may do.")


def check_resets_factors(actor: Member | None, member: Member) -> None:
    """A head resets their school's members' second factors; the coordinator
    those of any member of their cluster's schools (a head who lost their
    phone has nobody above them in the school); the CLI anyone's."""
    if actor is None or member.school is None:
        return
    if actor.role_enum is Role.COORDINATOR:
        check_school_admin(actor, member.school)
    else:
        check_manages_members(actor, member.school)


def check_invites_to_school(actor: Member | None, school: School) -> None:
    """Coordinators invite heads of their cluster's schools; heads invite their own staff."""
    if actor is not None and actor.role_enum is Role.COORDINATOR:
        check_school_admin(actor, school)
    else:
        check_manages_members(actor, school)


def check_manages_invitation(actor: Member | None, invitation: Invitation) -> None:
    """Who may withdraw an invitation: whoever may invite into its place. A
    coordinator's is their cluster's (or the hub admin's); a school's, its head's
    (or, for a head, the cluster's coordinator's). One with neither school nor
    cluster (a hub administrator's) is the hub administrators' alone. The
    operator at the CLI (None) manages every one. Others: 404."""
    if actor is None:
        return
    if invitation.cluster is not None:
        check_cluster(actor, invitation.cluster)
    elif invitation.school is not None:
        check_invites_to_school(actor, invitation.school)
    elif not (actor.is_active and actor.role_enum is Role.HUB_ADMIN):
        raise NotFound("No such open invitation.")


def invitable_roles(actor: Member | None) -> tuple[Role, ...]:
    """Which roles this actor may invite people into."""
    if actor is None:
        return tuple(Role)
    return {
        Role.HUB_ADMIN: (Role.COORDINATOR,),
        Role.COORDINATOR: (Role.HEAD,),
        Role.HEAD: (Role.HEAD, Role.DSL, Role.DEPUTY_DSL, Role.STAFF),
        Role.DSL: (),
        Role.DEPUTY_DSL: (),
        Role.STAFF: (),
    }[actor.role_enum]


def check_school_may_act(actor: Member | None, doing: str, *, school: School | None = None) -> None:
    """The one check of suspension. A suspended school neither posts nor
    receives: its members still read what it holds, but nothing they do reaches
    the network or changes what it sends them, and nobody joins it. Every
    service that changes state for a school asks this first (``doing``
    completes "it cannot ..."; ``school`` when it is not the actor's own), so
    pages, API and CLI refuse alike. What only takes access away stays open:
    signing out, changing one's password, recovery, revoking a token,
    withdrawing an invitation, removing a member, replacing the recovery code.
    The operator at the CLI (None) has no school; a coordinators' office is
    never suspended."""
    acting = school if school is not None else actor.school if actor is not None else None
    if acting is None or acting.status != SchoolStatus.SUSPENDED:
        return
    if actor is not None and actor.school_id == acting.id:
        raise Forbidden(
            f"Your school is suspended from the network, so it cannot {doing} "
            "until your coordinator reinstates it."
        )
    raise Forbidden(
        f"{acting.name} is suspended from the network, so it cannot {doing} until it is reinstated."
    )


def check_may_post(actor: Member) -> None:
    """Heads post alerts; safeguarding leads and staff when their head allows
    it (leads from the day they join); a suspended school not at all."""
    school = actor.school
    if school is None or school.is_office or not actor.is_active:
        raise Forbidden("Only members of a school can post alerts.")
    check_school_may_act(actor, "post alerts")
    require(actor, Permission.POST_ALERTS)


def check_reads_alerts(actor: Member) -> School:
    """The key holder whose inbox this member reads: their school, or for a
    coordinator their cluster's office."""
    if actor.school is None or not actor.is_active:
        raise Forbidden("You have no inbox.")
    return actor.school


# --- the audit trail --------------------------------------------------------------
# Entries are metadata, never content. A coordinator reads the whole cluster's
# trail, a head their own school's, the hub admin the whole hub's (they run the
# hub and its database anyway). Staff read none of it. Proofs, checkpoints and
# the log's public key reveal only hashes, so every signed-in member may fetch them.
_AUDIT_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.HUB_ADMIN: frozenset({Permission.VIEW_AUDIT_LOG, Permission.VIEW_AUDIT_PROOFS}),
    Role.COORDINATOR: frozenset({Permission.VIEW_AUDIT_LOG, Permission.VIEW_AUDIT_PROOFS}),
    Role.HEAD: frozenset({Permission.VIEW_AUDIT_LOG, Permission.VIEW_AUDIT_PROOFS}),
    Role.DSL: frozenset({Permission.VIEW_AUDIT_PROOFS}),
    Role.DEPUTY_DSL: frozenset({Permission.VIEW_AUDIT_PROOFS}),
    Role.STAFF: frozenset({Permission.VIEW_AUDIT_PROOFS}),
}
for _role, _granted in _AUDIT_GRANTS.items():
    _GRANTS[_role] = _GRANTS[_role] | _granted


@dataclass(frozen=True)
class AuditScope:
    """The audit entries someone may read: one cluster's, one school's, or all.

    Proofs are over the whole log whatever the scope: a leaf hash reveals nothing.
    """

    cluster_id: uuid.UUID | None = None
    school_id: uuid.UUID | None = None

    @property
    def everything(self) -> bool:
        return self.cluster_id is None and self.school_id is None


def audit_scope(actor: Member | None) -> AuditScope:
    """Whose entries this actor reads; the operator at the CLI (None) reads all."""
    if actor is None:
        return AuditScope()
    if actor.is_active:
        role = actor.role_enum
        if role is Role.HUB_ADMIN:
            return AuditScope()
        if role is Role.COORDINATOR and actor.cluster_id is not None:
            return AuditScope(cluster_id=actor.cluster_id)
        if role is Role.HEAD and actor.school_id is not None:
            return AuditScope(school_id=actor.school_id)
    raise Forbidden("Only heads and coordinators can read the audit log.")


# --- notifications ----------------------------------------------------------------
# Every member of a key holder (school or office) manages their own subscriptions
# and watches; a head also the school's (shared addresses, webhooks) and sees its
# whole delivery log; a coordinator sets the cluster's acknowledgement deadlines.
_NOTIFICATION_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.HUB_ADMIN: frozenset(),
    Role.COORDINATOR: frozenset(
        {Permission.MANAGE_OWN_NOTIFICATIONS, Permission.SET_ACK_DEADLINES}
    ),
    Role.HEAD: frozenset(
        {Permission.MANAGE_OWN_NOTIFICATIONS, Permission.MANAGE_SCHOOL_NOTIFICATIONS}
    ),
    Role.DSL: frozenset({Permission.MANAGE_OWN_NOTIFICATIONS}),
    Role.DEPUTY_DSL: frozenset({Permission.MANAGE_OWN_NOTIFICATIONS}),
    Role.STAFF: frozenset({Permission.MANAGE_OWN_NOTIFICATIONS}),
}
for _role, _granted in _NOTIFICATION_GRANTS.items():
    _GRANTS[_role] = _GRANTS[_role] | _granted


def check_manages_subscription(
    actor: Member, school_id: uuid.UUID, owner_id: uuid.UUID | None
) -> None:
    """A member's own subscription is theirs alone; a school's (owner None) its
    heads'. Anyone else is told it does not exist."""
    if not actor.is_active or actor.school_id != school_id:
        raise NotFound("No such subscription.")
    if owner_id is not None:
        if owner_id != actor.id:
            raise NotFound("No such subscription.")
        return
    if not may(actor, Permission.MANAGE_SCHOOL_NOTIFICATIONS):
        raise Forbidden("Only the head can change the school's subscriptions.")


def sees_school_deliveries(actor: Member) -> bool:
    """Heads see every delivery of their school; others only their own."""
    return may(actor, Permission.MANAGE_SCHOOL_NOTIFICATIONS)


def check_sets_deadlines(actor: Member | None, cluster_id: uuid.UUID) -> None:
    """A coordinator sets acknowledgement deadlines for their own cluster; the CLI too."""
    if actor is None:
        return
    if actor.is_active and actor.role_enum is Role.COORDINATOR and actor.cluster_id == cluster_id:
        return
    raise Forbidden("Only the cluster's coordinator sets acknowledgement deadlines.")


# --- API tokens -------------------------------------------------------------------
# Heads make tokens for their school's systems, coordinators for their office's
# (design.md: the head "manages the school's subscriptions and API tokens"). A
# token acts as its member, so every page's permission still applies to it; its
# scopes narrow that further. The API declares one scope per operation and the
# gate (network/api/gate.py) asks check_token_scope.
for _role in (Role.HEAD, Role.COORDINATOR):
    _GRANTS[_role] = _GRANTS[_role] | {Permission.MANAGE_API_TOKENS}


class Scope(enum.StrEnum):
    INBOX_READ = "inbox:read"
    ALERTS_WRITE = "alerts:write"
    AUDIT_READ = "audit:read"
    SUBSCRIPTIONS_READ = "subscriptions:read"
    SUBSCRIPTIONS_WRITE = "subscriptions:write"
    DIRECTORY_READ = "directory:read"
    MEMBERS_WRITE = "members:write"

    @property
    def description(self) -> str:
        return _SCOPE_DESCRIPTIONS[self]


_SCOPE_DESCRIPTIONS = {
    Scope.INBOX_READ: "List the inbox and Sent box, read alerts and download their evidence",
    Scope.ALERTS_WRITE: (
        "Post, acknowledge, reply, record actions, close and reopen, resolve, correct, "
        "withdraw and forward; withdraw members of your school from threads"
    ),
    Scope.AUDIT_READ: "Fetch checkpoints and proofs of the audit log (and entries, for heads)",
    Scope.SUBSCRIPTIONS_READ: "List notification subscriptions",
    Scope.SUBSCRIPTIONS_WRITE: "Create, change and delete notification subscriptions",
    Scope.DIRECTORY_READ: "List the cluster's schools with their public keys and fingerprints",
    Scope.MEMBERS_WRITE: (
        "Allow members of your school to post alerts, or stop them; change their roles"
    ),
}

# A member may grant a scope only if their role could do its work on the pages.
_SCOPE_NEEDS = {
    Scope.INBOX_READ: Permission.READ_ALERTS,
    Scope.ALERTS_WRITE: Permission.READ_ALERTS,
    Scope.AUDIT_READ: Permission.VIEW_AUDIT_PROOFS,
    Scope.SUBSCRIPTIONS_READ: Permission.MANAGE_OWN_NOTIFICATIONS,
    Scope.SUBSCRIPTIONS_WRITE: Permission.MANAGE_OWN_NOTIFICATIONS,
    Scope.DIRECTORY_READ: Permission.READ_ALERTS,
    Scope.MEMBERS_WRITE: Permission.MANAGE_MEMBERS,
}


def grantable_scopes(member: Member) -> frozenset[Scope]:
    return frozenset(scope for scope, needed in _SCOPE_NEEDS.items() if may(member, needed))


def check_token_scope(granted: frozenset[str], needed: Scope) -> None:
    """The one check of a token's scopes, for every API operation."""
    if needed.value not in granted:
        raise Forbidden(
            f"This API token does not have the '{needed.value}' scope this needs. "
            "Make a token with it."
        )


def check_manages_token(actor: Member | None, school_id: uuid.UUID, owner_id: uuid.UUID) -> None:
    """A member revokes their own tokens; a head or coordinator every token of
    their key holder; the operator at the CLI (None) any. Others: 404."""
    if actor is None:
        return
    if not actor.is_active or actor.school_id != school_id:
        raise NotFound("No such API token.")
    if owner_id != actor.id and not may(actor, Permission.MANAGE_API_TOKENS):
        raise NotFound("No such API token.")


def check_sees_school(actor: Member, school: School) -> None:
    """The directory: a member sees the schools (and office) of their own cluster."""
    if not actor.is_active or actor.effective_cluster_id != school.cluster_id:
        raise NotFound("No such school.")


# --- alerts' metadata and the directory -------------------------------------------
# A coordinator sees the routing metadata (never the content) of every alert of
# their own cluster; content only when their office is a recipient, which
# network/alerts/access.py decides from the recipient rows.


def metadata_cluster(actor: Member) -> uuid.UUID | None:
    """The cluster whose alerts' metadata this member sees: a coordinator's own."""
    if actor.is_active and actor.role_enum is Role.COORDINATOR:
        return actor.cluster_id
    return None


def sees_cluster_metadata(actor: Member, cluster_id: uuid.UUID) -> bool:
    """Whether this member sees the metadata of the cluster's alerts."""
    return metadata_cluster(actor) == cluster_id


def check_sees_cluster_alerts(actor: Member) -> uuid.UUID:
    """The cluster whose list of alerts (metadata only) the coordinator reads."""
    cluster_id = metadata_cluster(actor)
    if cluster_id is None:
        raise Forbidden("Only a coordinator sees the cluster's alerts.")
    return cluster_id


def check_has_directory(actor: Member) -> uuid.UUID:
    """The cluster whose directory this member reads: their school's, or their office's."""
    cluster_id = actor.effective_cluster_id
    if not actor.is_active or cluster_id is None:
        raise Forbidden("Only members of a cluster have a directory.")
    return cluster_id
