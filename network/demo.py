"""Demo data: a small, invented cluster built through the same service
functions people use, so a newcomer sees the hub as it really behaves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schools import directory, keyring
from schools.models import Cluster, Member, Role

DEMO_PASSWORD = "riverside-demo-2026"  # noqa: S105  (printed for the demo only)
CLUSTER = "Riverside Schools Partnership (demo)"
SCHOOLS = [
    ("Oakfield Primary School", "900001", "1 Oak Lane, Riverside", "Amara Okafor", "oakfield"),
    (
        "St Brigid's Catholic Primary",
        "900002",
        "12 Church Street, Riverside",
        "Daniel Byrne",
        "stbrigids",
    ),
    ("Riverside Academy", "900003", "Mill Road, Riverside", "Priya Shah", "riverside"),
    ("Hollybank Infant School", "900004", "3 Holly Bank, Riverside", "Tom Hughes", "hollybank"),
]
STAFF = {"oakfield": "Grace Lewis", "riverside": "Sam Patel"}


def _accept(session: Session, token: str, name: str, password: str, settings: Any) -> Any:
    return directory.accept_invitation(
        session, token, name, password, password, settings.password_params
    )


def load_demo(session: Session, settings: Any, password: str) -> list[tuple[str, str, str]]:
    """Create the demo cluster unless it exists; return (role, email, where) logins."""
    cluster = session.scalars(select(Cluster).where(Cluster.name == CLUSTER)).one_or_none()
    if cluster is None:
        _create(session, settings, password)
    members = session.scalars(
        select(Member).where(Member.email.like("%@demo.alertnet.example")).order_by(Member.role)
    ).all()
    where = {
        m.id: (m.school.name if m.school else m.cluster.name if m.cluster else "the hub")
        for m in members
    }
    order = {r.value: i for i, r in enumerate(Role)}
    return [
        (Role(m.role).label, m.email, where[m.id])
        for m in sorted(members, key=lambda m: (order[m.role], m.email))
    ]


def _create(session: Session, settings: Any, password: str) -> None:
    admin = directory.invite(
        session, None, Role.HUB_ADMIN, "admin@demo.alertnet.example", "Hub Administrator"
    )
    _accept(session, admin.token, "Hub Administrator", password, settings)
    cluster = directory.create_cluster(session, None, CLUSTER)
    coordinator = directory.invite(
        session,
        None,
        Role.COORDINATOR,
        "coordinator@demo.alertnet.example",
        "Helen Marsh",
        cluster=cluster,
    )
    _accept(session, coordinator.token, "Helen Marsh", password, settings)
    for name, urn, address, head_name, slug in SCHOOLS:
        school = directory.admit_school(session, None, cluster, name, urn, address)
        head_invite = directory.invite(
            session, None, Role.HEAD, f"head.{slug}@demo.alertnet.example", head_name, school=school
        )
        head = _accept(session, head_invite.token, head_name, password, settings)
        if slug in STAFF:
            keys = keyring.unlock_for_member(session, head.member, head.credential)
            staff = directory.invite(
                session,
                head.member,
                Role.STAFF,
                f"dsl.{slug}@demo.alertnet.example",
                STAFF[slug],
                school=school,
                actor_keys=keys,
            )
            _accept(session, staff.token, STAFF[slug], password, settings)
