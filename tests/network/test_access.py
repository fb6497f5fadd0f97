"""Every role against every page: allowed where it should be, refused elsewhere.

The gate is deny-by-default, so this also proves that every registered view
declared who may use it.
"""

from __future__ import annotations

import pytest

from schools.models import Role
from tests.conftest import sign_in

PAGES = {
    # page: roles that may open it
    "/admin/clusters": {"hub_admin"},
    "/cluster/schools": {"coordinator"},
    "/cluster/schools/{school_b}": {"coordinator"},
    "/school": {"head", "staff"},
    "/account": {"hub_admin", "coordinator", "head", "staff"},
}
PUBLIC = ["/sign-in", "/recover", "/healthz", "/static/app.css"]


@pytest.fixture
def people(world):
    cluster = world.cluster("East")
    school_a = world.school(cluster, "School A")
    school_b = world.school(cluster, "School B")
    return {
        "ids": {"school_b": school_b.id},
        "hub_admin": world.person(Role.HUB_ADMIN, "admin@hub.example.org"),
        "coordinator": world.person(Role.COORDINATOR, "coord@east.example.org", cluster=cluster),
        "head": world.person(Role.HEAD, "head@a.example.org", school=school_a),
        "staff": world.person(Role.STAFF, "staff@a.example.org", school=school_a),
    }


@pytest.mark.parametrize("role", ["hub_admin", "coordinator", "head", "staff"])
def test_each_role_reaches_its_pages_and_no_others(app, people, role):
    client = app.test_client()
    assert sign_in(client, people[role].email).status_code == 302
    for template, allowed in PAGES.items():
        page = template.format(**people["ids"])
        status = client.get(page).status_code
        if role in allowed:
            assert status == 200, (role, page, status)
        else:
            assert status in (403, 404), (role, page, status)


def test_signed_out_visitors_are_sent_to_sign_in(client, people):
    for template in PAGES:
        page = template.format(**people["ids"])
        response = client.get(page)
        assert response.status_code == 302, page
        assert response.headers["Location"].startswith("/sign-in?next=")


def test_public_pages_need_no_sign_in(client):
    for page in PUBLIC:
        with client.get(page) as response:
            assert response.status_code == 200, page


def test_a_view_that_declares_no_permission_is_refused_to_everyone(app, people):
    @app.route("/forgotten")
    def forgotten():  # no @public, no @requires: the gate must refuse it
        return "leak"

    client = app.test_client()
    sign_in(client, people["hub_admin"].email)
    assert client.get("/forgotten").status_code == 403


def test_coordinator_of_another_cluster_cannot_see_a_school(app, world, people):
    other = world.cluster("West")
    world.person(Role.COORDINATOR, "coord@west.example.org", cluster=other)
    client = app.test_client()
    sign_in(client, "coord@west.example.org")
    assert client.get(f"/cluster/schools/{people['ids']['school_b']}").status_code == 404
    assert "School B" not in client.get("/cluster/schools").get_data(as_text=True)


def test_staff_cannot_invite_or_remove(app, people):
    from tests.conftest import post_form

    client = app.test_client()
    sign_in(client, people["staff"].email)
    response = post_form(
        client, "/school/invite", {"email": "x@a.example.org", "role": "staff"}, page="/school"
    )
    assert response.status_code == 403
    response = post_form(
        client, f"/school/members/{people['head'].member.id}/remove", {}, page="/school"
    )
    assert response.status_code == 403


def test_head_cannot_remove_a_member_of_another_school(app, world, people):
    from tests.conftest import post_form

    cluster = world.cluster("South")
    other_school = world.school(cluster, "Other")
    outsider = world.person(Role.STAFF, "staff@other.example.org", school=other_school)
    client = app.test_client()
    sign_in(client, people["head"].email)
    response = post_form(client, f"/school/members/{outsider.member.id}/remove", {}, page="/school")
    assert response.status_code == 404


def test_every_route_declares_who_may_use_it_and_refuses_strangers(app):
    """Deny by default, checked over the whole URL map: every view is public,
    declares a permission or the unfinished sign-in it serves, or sits behind
    its blueprint's own gate; and a visitor who is not signed in reaches none
    of the non-public ones."""
    from network.auth import _BLUEPRINT_GATES

    client = app.test_client()
    undeclared, reachable = [], []
    visits = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else ""
        public = getattr(view, "_alertnet_public", False)
        gated = blueprint in _BLUEPRINT_GATES
        # A page of an unfinished sign-in (the second factor) declares the
        # waiting state it serves; everyone else is refused it.
        waiting = getattr(view, "_alertnet_during", None)
        if not (public or gated or waiting or getattr(view, "_alertnet_permission", None)):
            undeclared.append(rule.endpoint)
        if public or rule.arguments or "GET" not in (rule.methods or ()):
            continue
        # Each from an address of its own: refused API calls count against
        # their address (like wrong passwords), and there are more than ten.
        visits += 1
        address = f"127.0.{visits // 250}.{visits % 250 + 1}"
        status = client.get(rule.rule, environ_base={"REMOTE_ADDR": address}).status_code
        if status not in (302, 401, 404):
            reachable.append((rule.rule, status))
    assert undeclared == []
    assert reachable == []
