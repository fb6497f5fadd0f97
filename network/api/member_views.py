"""The API's operations on a school's people, beside the members page and the
alert page: a head changes a member's role; the school's leadership withdraws
one of its members from an alert's thread. The same services as the pages,
with the same checks (schools/policy.py, schools/leadership.py,
network/alerts/exclusion.py). Registered on the API's blueprint (views.py)."""

from __future__ import annotations

from network import auth
from network.alerts import exclusion
from network.api import gate
from network.api.contract import Created, operation
from network.api.documents import SchoolMember
from network.api.inputs import AlertId, MemberId
from network.api.membership import MemberWithdrawn, NewRole, RoleChanged, ThreadWithdrawal
from network.api.views import bp
from network.db import db
from schools import roles
from schools.errors import KeysLocked
from schools.policy import Permission, Scope

# Said instead of the page's "sign in again" when a token is what lacks the keys.
LEADERSHIP_KEYS_NOT_HELD = (
    "This takes the member out of your school's leadership, so its leadership keys must "
    "move on without them, and this API token holds no copy of the current ones (it was "
    "made before your school had them, or before you held them). Change the role on the "
    "Members page, or make a new token while signed in as a head and use that."
)


@bp.route("/members/<uuid:member_id>/role", methods=["PUT"])
@operation(Permission.MANAGE_MEMBERS, Scope.MEMBERS_WRITE)
def change_member_role(member_id: MemberId, body: NewRole) -> RoleChanged:
    """Change the role of a member of your school (heads only; audited).

    Moving someone out of the leadership (head and safeguarding leads) moves the
    school's leadership keys on without them, which needs the current ones: a
    head's token holds them when it was made while the head held them (each move
    hands them on to the leadership's live tokens). One that does not is refused
    (403) and nothing changes. Moving someone into the leadership hands them the keys at
    once. Nobody changes their own role, and a school keeps at least one head."""
    try:
        changed = roles.change_role(db(), auth.actor(), member_id, body.role, auth.school_keys())
    except KeysLocked as locked:
        if gate.current_token() is None:
            raise
        raise KeysLocked(LEADERSHIP_KEYS_NOT_HELD) from locked
    if changed.rotated and changed.keys is not None and gate.current_token() is None:
        # As on the page: the rotation ended this browser's session too.
        auth.renew_session(changed.keys)
    return RoleChanged(
        member=SchoolMember.of(changed.member), leadership_keys_rotated=changed.rotated
    )


@bp.route("/alerts/<uuid:alert_id>/withdrawn-members", methods=["POST"])
@operation(Permission.WITHDRAW_FROM_THREADS, Scope.ALERTS_WRITE)
def withdraw_member_from_thread(
    alert_id: AlertId, body: ThreadWithdrawal
) -> Created[MemberWithdrawn]:
    """Withdraw a member of your school from an alert's thread (head or
    safeguarding lead; audited).

    When an alert is about one of your own people: the hub hides the alert, its
    thread and its notifications from them, and what is added to the thread from
    now on reaches your school at its leadership tier only. Items sealed before
    stay sealed as they were. A member of the leadership cannot be withdrawn
    (change their role first)."""
    member = exclusion.withdraw_member(db(), auth.actor(), alert_id, str(body.member_id))
    return Created(MemberWithdrawn.of(alert_id, member))
