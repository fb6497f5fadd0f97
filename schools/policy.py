"""Who may do what: decided here and only here. Views, the API and the CLI all
ask these functions; nothing else compares roles."""

from __future__ import annotations

import enum

from schools.errors import Forbidden, NotFound
from schools.models import Cluster, Member, Role, School


class Permission(enum.StrEnum):
    MANAGE_CLUSTERS = "manage_clusters"
    MANAGE_SCHOOLS = "manage_schools"
    VIEW_SCHOOL = "view_school"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_OWN_ACCOUNT = "manage_own_account"
    READ_ALERTS = "read_alerts"
    POST_ALERTS = "post_alerts"
    MANAGE_PLATFORMS = "manage_platforms"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.HUB_ADMIN: frozenset(
        {Permission.MANAGE_CLUSTERS, Permission.MANAGE_PLATFORMS, Permission.MANAGE_OWN_ACCOUNT}
    ),
    # The coordinator's office can be named as a recipient, so it has an inbox.
    Role.COORDINATOR: frozenset(
        {Permission.MANAGE_SCHOOLS, Permission.READ_ALERTS, Permission.MANAGE_OWN_ACCOUNT}
    ),
    Role.HEAD: frozenset(
        {
            Permission.VIEW_SCHOOL,
            Permission.MANAGE_MEMBERS,
            Permission.READ_ALERTS,
            Permission.POST_ALERTS,
            Permission.MANAGE_OWN_ACCOUNT,
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


def may(member: Member | None, permission: Permission) -> bool:
    """Whether this member's role carries the permission (None: nobody signed in)."""
    return member is not None and member.is_active and permission in _GRANTS[member.role_enum]


def require(member: Member | None, permission: Permission) -> None:
    if not may(member, permission):
        raise Forbidden("You do not have access to this page.")


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
        raise Forbidden("Only the head can invite or remove members.")


def check_invites_to_school(actor: Member | None, school: School) -> None:
    """Coordinators invite heads of their cluster's schools; heads invite their own staff."""
    if actor is not None and actor.role_enum is Role.COORDINATOR:
        check_school_admin(actor, school)
    else:
        check_manages_members(actor, school)


def invitable_roles(actor: Member | None) -> tuple[Role, ...]:
    """Which roles this actor may invite people into."""
    if actor is None:
        return tuple(Role)
    return {
        Role.HUB_ADMIN: (Role.COORDINATOR,),
        Role.COORDINATOR: (Role.HEAD,),
        Role.HEAD: (Role.HEAD, Role.STAFF),
        Role.STAFF: (),
    }[actor.role_enum]
