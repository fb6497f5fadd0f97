"""The two forms that make a place and invite its first person: a new cluster
with its coordinator (the hub admin), a new school with its head (the
coordinator). Each form's fields are checked together, the invitation's
beside the cluster's or school's, so every problem is said at once; nothing
is written until all pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from schools import directory, invitations, policy
from schools.errors import InvalidInput, InvalidInputs, Problems
from schools.models import Cluster, Member, Role

# The invitation's fields as each form names them.
COORDINATOR_FIELDS = {"email": "coordinator_email", "name": "coordinator_name"}
HEAD_FIELDS = {"email": "head_email", "name": "head_name"}


def _renamed(problems: Problems, check: Callable[[], object], fields: Mapping[str, str]) -> None:
    """Run ``check``; what it refuses is kept under the form's names for its fields."""
    try:
        check()
    except InvalidInput as refused:
        for problem in refused.problems if isinstance(refused, InvalidInputs) else (refused,):
            field = fields.get(problem.field, problem.field) if problem.field else None
            problems.add(InvalidInput(problem.message, field=field))


def check_new_cluster(
    session: Session, actor: Member | None, name: str, coordinator_email: str, coordinator_name: str
) -> None:
    """Every problem of the new-cluster form at once (InvalidInputs)."""
    problems = Problems()
    problems.check("", lambda: directory.check_cluster_name(session, name))
    _renamed(
        problems,
        lambda: invitations.check_invitation(
            session, actor, Role.COORDINATOR, coordinator_email, coordinator_name
        ),
        COORDINATOR_FIELDS,
    )
    problems.raise_any()


def create_cluster_with_coordinator(
    session: Session, actor: Member | None, name: str, coordinator_email: str, coordinator_name: str
) -> invitations.Invited:
    check_new_cluster(session, actor, name, coordinator_email, coordinator_name)
    cluster = directory.create_cluster(session, actor, name)
    return invitations.invite(
        session, actor, Role.COORDINATOR, coordinator_email, coordinator_name, cluster=cluster
    )


def check_new_school(
    session: Session,
    actor: Member | None,
    name: str,
    urn: str,
    address: str,
    head_email: str,
    head_name: str,
) -> None:
    """Every problem of the admit-school form at once (InvalidInputs)."""
    problems = Problems()
    problems.check(("", "", ""), lambda: directory.check_admission(session, name, urn, address))
    _renamed(
        problems,
        lambda: invitations.check_invitation(session, actor, Role.HEAD, head_email, head_name),
        HEAD_FIELDS,
    )
    problems.raise_any()


def admit_school_with_head(
    session: Session,
    actor: Member | None,
    cluster: Cluster,
    name: str,
    urn: str,
    address: str,
    head_email: str,
    head_name: str,
) -> invitations.Invited:
    policy.check_cluster(actor, cluster)
    check_new_school(session, actor, name, urn, address, head_email, head_name)
    school = directory.admit_school(session, actor, cluster, name, urn, address)
    return invitations.invite(session, actor, Role.HEAD, head_email, head_name, school=school)
