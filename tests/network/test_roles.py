"""Roles and "may post": the permission table (schools/policy.py), the pages,
the API and the command line agree, role by role, before and after a head
grants or withdraws posting."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from network.alerts.models import Alert
from network.cli import main
from network.db import own_transaction
from schools import policy
from schools.audit.models import AuditEvent
from schools.models import Role
from schools.policy import Permission
from tests.conftest import csrf_token, post_form, sign_in
from tests.network.alerts_helpers import Head, make_head
from tests.network.api_helpers import Api, alert_body, api_for, assert_problem, member_named

P = Permission
# What each school role may do, read straight from the design: the one table
# the pages and the API are checked against below. POST_ALERTS is listed apart:
# a head always, the others as their head allows (safeguarding leads from the
# day they join).
EVERY_MEMBER = {P.VIEW_SCHOOL, P.READ_ALERTS, P.MANAGE_OWN_ACCOUNT, P.VIEW_AUDIT_PROOFS}
EVERY_MEMBER |= {P.MANAGE_OWN_NOTIFICATIONS}
TABLE = {
    Role.HEAD: EVERY_MEMBER
    | {
        P.MANAGE_MEMBERS,
        P.VIEW_SCHOOL_DASHBOARD,
        P.VIEW_AUDIT_LOG,
        P.MANAGE_SCHOOL_NOTIFICATIONS,
        P.MANAGE_API_TOKENS,
        P.SET_OUT_OF_HOURS_CONTACT,
        P.REVIEW_ALERTS,
        P.WITHDRAW_FROM_THREADS,
    },
    # The school's leadership, with the head (schools/leadership.py); four-eyes
    # review: a head or the DSL approves alerts from staff.
    Role.DSL: EVERY_MEMBER | {P.WITHDRAW_FROM_THREADS, P.REVIEW_ALERTS},
    Role.DEPUTY_DSL: EVERY_MEMBER | {P.WITHDRAW_FROM_THREADS},
    Role.STAFF: EVERY_MEMBER,
}
POSTS_ON_JOINING = {Role.HEAD: True, Role.DSL: True, Role.DEPUTY_DSL: True, Role.STAFF: False}
# The pages each permission opens, to show the gate reads the same table.
PAGE_OF = {
    P.POST_ALERTS: "/alerts/new",
    P.MANAGE_MEMBERS: None,  # a POST only; checked through the members page below
    P.VIEW_SCHOOL: "/school",
    P.READ_ALERTS: "/alerts",
    P.VIEW_AUDIT_LOG: "/audit",
    P.MANAGE_API_TOKENS: None,
    P.SET_OUT_OF_HOURS_CONTACT: "/school/out-of-hours",
    P.REVIEW_ALERTS: "/alerts/reviews",
}


def _email(role: Role) -> str:
    return f"{role.value}.member@ash.example.org"


def _alerts(app) -> int:
    with own_transaction(app) as session:
        return session.scalar(select(func.count()).select_from(Alert)) or 0


def _check_agrees(app, client, api, member_email: str, role: Role, posts: bool, beech) -> None:
    """policy.may, the pages and the API say the same for this member."""
    member = member_named(app, member_email)
    for permission in Permission:
        expected = permission in TABLE[role] or (permission is P.POST_ALERTS and posts)
        assert policy.may(member, permission) == expected, (role, permission)
        page = PAGE_OF.get(permission)
        if page is not None:
            status = client.get(page).status_code
            assert (status == 200) == expected, (role, permission, page, status)
    before = _alerts(app)
    answer = api.post("/api/v1/alerts", alert_body([beech.school], tier="all"))
    if posts:
        assert answer.status_code == 201, answer.get_json()
        assert _alerts(app) == before + 1
    else:
        assert_problem(answer, 403, "Ask your head to allow it")
        assert _alerts(app) == before


@pytest.fixture
def ash_and_beech(app, world):
    cluster = world.cluster("Riverside")
    return make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")


def _join(app, world, ash: Head, role: Role):
    world.person(role, _email(role), school=ash.school, name=f"A {role.label}")
    sign_in(ash.client, ash.person.email)  # confirms the new member: their keys are wrapped
    client = app.test_client()
    assert sign_in(client, _email(role)).status_code == 302
    if role is Role.HEAD:
        return client, api_for(app, _email(role))
    # Only heads make API tokens: the others call the API from their signed-in session.
    return client, Api(client, None, {"X-CSRFToken": csrf_token(client, "/account")})


@pytest.mark.parametrize("role", [Role.HEAD, Role.DSL, Role.DEPUTY_DSL, Role.STAFF])
def test_each_role_may_what_the_table_says_on_pages_and_api_before_and_after_the_head_decides(
    app, world, ash_and_beech, role
):
    ash, beech = ash_and_beech
    client, api = _join(app, world, ash, role)
    _check_agrees(app, client, api, _email(role), role, POSTS_ON_JOINING[role], beech)
    member_id = member_named(app, _email(role)).id
    if role is Role.HEAD:
        # Heads always post: there is nothing to grant or withdraw.
        answer = api.put(f"/api/v1/members/{member_id}/may-post", {"may_post": False})
        assert_problem(answer, 409, "Heads always post")
        return
    # The head flips it on the members page...
    flipped = not POSTS_ON_JOINING[role]
    page = ash.client.get("/school").get_data(as_text=True)
    label = "Allow posting" if flipped else "Stop posting"
    assert f'{label}<span class="visually-hidden"> for A {role.label}' in page
    done = ash.post(
        f"/school/members/{member_id}/may-post",
        {"may_post": "yes" if flipped else "no"},
        page="/school",
    )
    assert done.status_code == 303
    _check_agrees(app, client, api, _email(role), role, flipped, beech)
    # ...and back through the API.
    head_api = api_for(app, ash.person.email)
    answer = head_api.put(f"/api/v1/members/{member_id}/may-post", {"may_post": not flipped})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["may_post"] is (not flipped)
    listed = head_api.get("/api/v1/members").get_json()["members"]
    assert {m["email"]: m["may_post"] for m in listed}[_email(role)] is (not flipped)
    _check_agrees(app, client, api, _email(role), role, not flipped, beech)


def test_staff_without_permission_posting_by_url_is_told_to_ask_their_head_and_nothing_is_written(
    app, world, ash_and_beech
):
    ash, beech = ash_and_beech
    client, api = _join(app, world, ash, Role.STAFF)
    page = client.get("/alerts/new")
    assert page.status_code == 403
    assert "Ask your head to allow it" in page.get_data(as_text=True)
    # The form's page refuses, so send the post with a token from a page that has one.
    token = csrf_token(client, "/account")
    posted = client.post(
        "/alerts/new",
        data={"csrf_token": token, "title": "x", "audience": "schools"},
    )
    assert posted.status_code == 403
    assert "Ask your head to allow it" in posted.get_data(as_text=True)
    assert_problem(api.post("/api/v1/alerts", alert_body([beech.school])), 403, "Members page")
    assert _alerts(app) == 0
    inbox = client.get("/alerts").get_data(as_text=True)
    assert "Post an alert" not in inbox


def test_only_a_head_of_the_members_school_changes_what_they_may_do(app, world, ash_and_beech):
    ash, beech = ash_and_beech
    client, _ = _join(app, world, ash, Role.STAFF)
    world.person(Role.DSL, "dsl@ash.example.org", school=ash.school)
    dsl = member_named(app, "dsl@ash.example.org")
    refused = post_form(
        client, f"/school/members/{dsl.id}/may-post", {"may_post": "no"}, page="/school"
    )
    assert refused.status_code == 403
    other_head = api_for(app, beech.person.email)
    answer = other_head.put(f"/api/v1/members/{dsl.id}/may-post", {"may_post": False})
    assert answer.status_code == 404
    staff_api = Api(client, None, {"X-CSRFToken": csrf_token(client, "/account")})
    answer = staff_api.put(f"/api/v1/members/{dsl.id}/may-post", {"may_post": False})
    assert answer.status_code == 403
    assert member_named(app, "dsl@ash.example.org").may_post is True


def test_the_operator_grants_and_withdraws_posting_at_the_command_line(
    app, world, runner, ash_and_beech
):
    ash, _ = ash_and_beech
    world.person(Role.STAFF, "staff@ash.example.org", school=ash.school, name="Sam Staff")
    result = runner.invoke(main, args=["member", "set", "--may-post", "STAFF@ash.example.org"])
    assert result.exit_code == 0, result.output
    assert result.output == "Sam Staff (Ash) may now post alerts.\n"
    assert member_named(app, "staff@ash.example.org").may_post is True
    result = runner.invoke(main, args=["member", "set", "--no-may-post", "staff@ash.example.org"])
    assert result.output == "Sam Staff (Ash) may no longer post alerts.\n"
    assert member_named(app, "staff@ash.example.org").may_post is False
    with own_transaction(app) as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("member.may_post%"))
                .order_by(AuditEvent.seq)
            )
        )
    assert actions == ["member.may_post_granted", "member.may_post_withdrawn"]
    refused = runner.invoke(main, args=["member", "set", "--no-may-post", ash.person.email])
    assert refused.exit_code == 2
    assert "Heads always post" in refused.output
    unknown = runner.invoke(main, args=["member", "set", "--may-post", "nobody@ash.example.org"])
    assert unknown.exit_code == 2
    assert "No member of a school has the email address nobody@ash.example.org" in unknown.output
    bare = runner.invoke(main, args=["member", "set", "staff@ash.example.org"])
    assert bare.exit_code == 2
    assert "--may-post or --no-may-post" in bare.output
