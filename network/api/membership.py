"""What the API's member operations take and answer: a member's role changed
by their head (schools/leadership.py), a member withdrawn from an alert's
thread by their school's leadership (network/alerts/exclusion.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from network.api.documents import Id, MemberRef, SchoolMember
from network.api.fields import Body, Choice, Document
from schools.models import Member, Role

SCHOOL_ROLES = tuple(r for r in Role if r.is_school_role)


class NewRole(Body):
    """The member's new role in your school."""

    role: Annotated[
        str,
        Choice.of(SCHOOL_ROLES, only_codes=True),
        Field(
            description="head, dsl (designated safeguarding lead), deputy_dsl or staff. Moving "
            "someone out of the leadership (head and safeguarding leads) moves the school's "
            "leadership keys on without them: the token must hold those keys."
        ),
    ]


class RoleChanged(Document):
    """The member with their new role, and whether the school's leadership keys
    moved on (someone left the leadership)."""

    member: SchoolMember
    leadership_keys_rotated: Annotated[
        bool,
        Field(
            description="True when the member left the leadership: nothing sealed to the "
            "leadership from now on opens with what they hold; every session holding the "
            "leadership keys ended (live tokens of the leadership keep working)."
        ),
    ]


class ThreadWithdrawal(Body):
    """The member of your school to withdraw from the alert's thread."""

    member_id: Annotated[Id, Field(description="A member of your school outside its leadership.")]


class MemberWithdrawn(Document):
    """A member withdrawn from an alert's thread: the hub hides the alert from
    them, and what is added to the thread from now on reaches your school at its
    leadership tier only."""

    alert_id: Id
    member: MemberRef

    @classmethod
    def of(cls, alert_id: object, member: Member) -> MemberWithdrawn:
        return cls.model_validate(
            {"alert_id": alert_id, "member": {"id": member.id, "name": member.name}}
        )
