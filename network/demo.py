"""Demo data: a small, invented cluster built through the same service
functions people use, so a newcomer sees the hub as it really behaves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts import posting, reading, referrals, thread
from network.alerts.content import AlertContent, Link
from schools import directory, invitations, leadership
from schools.db import utcnow
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
    return invitations.accept_invitation(
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
    admin = invitations.invite(
        session, None, Role.HUB_ADMIN, "admin@demo.alertnet.example", "Hub Administrator"
    )
    _accept(session, admin.token, "Hub Administrator", password, settings)
    cluster = directory.create_cluster(session, None, CLUSTER)
    coordinator = invitations.invite(
        session,
        None,
        Role.COORDINATOR,
        "coordinator@demo.alertnet.example",
        "Helen Marsh",
        cluster=cluster,
    )
    _accept(session, coordinator.token, "Helen Marsh", password, settings)
    heads: dict[str, tuple[Member, SchoolKeys]] = {}
    for name, urn, address, head_name, slug in SCHOOLS:
        school = directory.admit_school(session, None, cluster, name, urn, address)
        head_invite = invitations.invite(
            session, None, Role.HEAD, f"head.{slug}@demo.alertnet.example", head_name, school=school
        )
        head = _accept(session, head_invite.token, head_name, password, settings)
        keys = leadership.unlock_for_member(session, head.member, head.credential)
        heads[slug] = (head.member, keys)
        if slug in STAFF:
            staff = invitations.invite(
                session,
                head.member,
                Role.DSL,
                f"dsl.{slug}@demo.alertnet.example",
                STAFF[slug],
                school=school,
                actor_keys=keys,
            )
            _accept(session, staff.token, STAFF[slug], password, settings)
    _demo_alerts(session, heads)


# Invented incidents: no real school, person or post. (sender, days ago, hour,
# category, severity, platform, TLP, title, description, recipients or "cluster",
# what the recipients did: (school, hours later, acknowledgement, reply, action))
_STORIES: list[tuple[Any, ...]] = [
    (
        "oakfield",
        26,
        8,
        "defamation",
        "medium",
        "facebook",
        "AMBER",
        "Community page claims our school 'covers up bullying'",
        "A local community group page shared a post alleging the school hides bullying "
        "incidents. Comments name the school and speculate about staff.",
        "cluster",
        [
            ("stbrigids", 2, "Seen, thank you.", "", ""),
            (
                "riverside",
                5,
                "",
                "We had a similar post last term; the page admin removed it when asked politely.",
                "reported_platform",
            ),
        ],
    ),
    (
        "riverside",
        23,
        9,
        "staff_named",
        "high",
        "x",
        "AMBER+STRICT",
        "Teacher named in a thread about a detention",
        "An account posted a teacher's full name and photo with claims about a detention. "
        "Screenshots kept by the DSL.",
        ["oakfield", "hollybank"],
        [
            ("oakfield", 1, "Acknowledged, watching for our staff.", "", ""),
            ("hollybank", 26, "", "", ""),
        ],
    ),
    (
        "stbrigids",
        20,
        13,
        "harassment",
        "urgent",
        "snapchat",
        "RED",
        "Group chat harassing a Year 6 pupil",
        "Pupils from two schools are in a group chat sending threatening messages to one "
        "child. Parents of the child have contacted the police.",
        ["oakfield"],
        [("oakfield", 1, "On it: our DSL is talking to the pupils involved today.", "", "police")],
    ),
    (
        "hollybank",
        17,
        10,
        "under_age",
        "low",
        "tiktok",
        "GREEN",
        "Year 2 pupils posting dance videos on TikTok",
        "Several infants appear in videos posted from a parent's account. Reminder letter "
        "going home about the minimum age of 13.",
        "cluster",
        [
            ("oakfield", 20, "", "We'll include the same reminder in our newsletter.", ""),
            ("riverside", 3, "Thanks.", "", "parent_spoken"),
        ],
    ),
    (
        "oakfield",
        14,
        15,
        "safeguarding",
        "urgent",
        "instagram",
        "RED",
        "Photos of pupils in uniform on a public account",
        "A public account is posting photos of pupils in our uniform outside the gates, "
        "faces visible. Reported to the platform and to the police.",
        ["riverside", "stbrigids"],
        [
            ("riverside", 1, "Checked: none of ours are pictured.", "", ""),
            ("stbrigids", 2, "", "Our uniform is similar; we checked, not ours.", ""),
        ],
    ),
    (
        "riverside",
        10,
        11,
        "staff_conduct",
        "medium",
        "facebook",
        "AMBER",
        "Guidance request: staff accepting friend requests from parents",
        "We are reviewing our social media policy after a staff member accepted friend "
        "requests from parents. Could schools share their approach?",
        "cluster",
        [
            (
                "hollybank",
                6,
                "",
                "Our policy says no personal accounts for parents; we can share the wording.",
                "",
            ),
            ("stbrigids", 30, "", "", "legal_advice"),
        ],
    ),
    (
        "stbrigids",
        6,
        8,
        "defamation",
        "high",
        "whatsapp",
        "AMBER",
        "Forwarded voice note making false claims about a teacher",
        "A voice note circulating among parents makes false allegations. We have taken "
        "legal advice and are writing to parents.",
        "cluster",
        [("oakfield", 3, "Seen; we'll let you know if it reaches our parents.", "", "")],
    ),
    (
        "oakfield",
        3,
        9,
        "other",
        "info",
        "youtube",
        "CLEAR",
        "Online safety evening for parents next month",
        "We're running an online safety evening; other schools' parents are welcome.",
        "cluster",
        [
            ("riverside", 50, "", "Our parents would like to come: could you share the date?", ""),
            ("hollybank", 60, "", "", ""),
        ],
    ),
    (
        "hollybank",
        1,
        16,
        "harassment",
        "high",
        "instagram",
        "AMBER",
        "Fake account impersonating a pupil",
        "An account using a pupil's name and photo is messaging other children. Reported.",
        ["oakfield", "riverside", "stbrigids"],
        [],
    ),
    # Hours ago (no hour of its own): Oakfield's head finds it past its deadline
    # on their home page (urgent: acknowledge within 2 hours).
    (
        "riverside",
        0.25,
        None,
        "harassment",
        "urgent",
        "snapchat",
        "AMBER",
        "Threats against a Year 9 pupil shared after school",
        "A Snapchat story threatening a pupil is being shared between pupils of several "
        "schools. The pupil's parents have been told; we have reported the story.",
        ["oakfield", "hollybank"],
        [],
    ),
]


def _demo_alerts(session: Session, heads: dict[str, tuple[Member, SchoolKeys]]) -> None:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for story in _STORIES:
        (
            sender,
            days,
            hour,
            category,
            severity,
            platform,
            tlp,
            title,
            description,
            audience,
            responses,
        ) = story
        member, keys = heads[sender]
        posted = now - timedelta(days=days)
        if hour is not None:
            posted = posted.replace(hour=hour)
        schools = () if audience == "cluster" else tuple(heads[s][0].school_id for s in audience)
        draft = posting.AlertDraft(
            category,
            severity,
            platform,
            tlp,
            AlertContent(
                title,
                description,
                (
                    Link(
                        f"https://{platform}.example.com/post/{abs(hash(title)) % 10**6}",
                        posted.date(),
                    ),
                ),
                "Check whether your pupils or staff are involved and tell us.",
            ),
            audience="cluster" if audience == "cluster" else "schools",
            school_ids=tuple(s for s in schools if s is not None),
        )
        alert = posting.post_alert(session, member, keys, draft, now=posted).alert
        for school, hours, ack, reply, action in responses:
            responder, their_keys = heads[school]
            at = posted + timedelta(hours=hours)
            if at > now:
                continue
            reading.open_alert(session, responder, their_keys, alert.id, now=at)
            if ack:
                thread.acknowledge(session, responder, their_keys, alert.id, ack, now=at)
            if reply:
                thread.reply(session, responder, their_keys, alert.id, reply, now=at)
            if action:
                referrals.record_action(
                    session,
                    responder,
                    their_keys,
                    alert.id,
                    referrals.ReferralInput(action, "Logged in our safeguarding records."),
                    now=at,
                )
    session.flush()
