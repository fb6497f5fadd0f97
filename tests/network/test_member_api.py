"""The API's operations on a school's people (issue 16), through the same
services and checks as the pages: a head changes a member's role (leaving the
leadership moves its keys on, which a token may do only when it holds them);
a head or safeguarding lead withdraws a member from an alert's thread."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select

from network.alerts.models import ThreadExclusion
from network.api.member_views import LEADERSHIP_KEYS_NOT_HELD
from network.db import own_transaction
from schools import leadership
from schools.models import LeadershipWrap, LoginSession, Member, Role, School
from tests.conftest import csrf_token, sign_in
from tests.network.alerts_helpers import audit_entries
from tests.network.api_helpers import Api, api_for, token_id
from tests.network.tier_helpers import join_signed_in


def _browser(client) -> Api:
    """A signed-in browser calling the API: its session, and the CSRF token."""
    return Api(client, None, {"X-CSRFToken": csrf_token(client, "/account")})


def _generation(app, school_id: uuid.UUID) -> int:
    with own_transaction(app) as session:
        return session.get(School, school_id).leadership_generation


def _role(app, member_id: uuid.UUID) -> str:
    with own_transaction(app) as session:
        return session.get(Member, member_id).role


@pytest.mark.heads("Ash", "Beech")
def test_a_heads_token_demotes_a_dsl_and_the_leadership_keys_move_on(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    dsl, dsl_client = join_signed_in(app, world, beech, Role.DSL, "dsl@beech.example.org")
    assert _generation(app, beech.school.id) == 1
    api = api_for(app, beech.person.email)
    changed = api.put(f"/api/v1/members/{dsl.member.id}/role", {"role": "staff"})
    assert changed.status_code == 200, changed.get_json()
    answer = changed.get_json()
    assert answer["member"]["role"] == "staff"
    assert answer["member"]["id"] == str(dsl.member.id)
    assert answer["leadership_keys_rotated"] is True
    assert _generation(app, beech.school.id) == 2
    [audited] = audit_entries(app, "member.role_changed")
    assert audited.detail["role_before"] == "dsl"
    assert audited.detail["role_after"] == "staff"
    assert audited.detail["token"] == token_id(api.token)
    assert audit_entries(app, "school.leadership_keys_rotated")
    with own_transaction(app) as session:
        ended = session.scalars(
            select(LoginSession).where(LoginSession.member_id == dsl.member.id)
        ).all()
        assert ended == []
    # The head's token was handed the new leadership keys: it reads what is
    # sealed to Beech's leadership from now on.
    sent = ash.post_alert([beech.school], title="After the change", tier="leadership")
    alert_id = sent.headers["Location"].rsplit("/", 1)[1]
    read = api.get(f"/api/v1/alerts/{alert_id}")
    assert read.status_code == 200
    assert read.get_json()["content"]["title"] == "After the change"
    # The former DSL, signed in again as staff, sees nothing of it.
    assert sign_in(dsl_client, dsl.email).status_code == 302
    assert dsl_client.get(f"/alerts/{alert_id}").status_code == 404


@pytest.mark.heads("Ash", "Beech")
def test_a_token_without_the_leadership_keys_is_told_and_nothing_changes(app, world, heads):
    beech = heads["Beech"]
    dsl, _client = join_signed_in(app, world, beech, Role.DSL, "dsl@beech.example.org")
    api = api_for(app, beech.person.email)
    with own_transaction(app) as session:  # as a token made before the head held them
        session.execute(
            delete(LeadershipWrap).where(
                LeadershipWrap.credential_kind == leadership.TOKEN,
                LeadershipWrap.credential_id == uuid.UUID(token_id(api.token)),
            )
        )
    refused = api.put(f"/api/v1/members/{dsl.member.id}/role", {"role": "staff"})
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == LEADERSHIP_KEYS_NOT_HELD
    assert _role(app, dsl.member.id) == "dsl"
    assert _generation(app, beech.school.id) == 1
    assert audit_entries(app, "member.role_changed") == []
    # Into the leadership needs no rotation: the same token may.
    staff, _ = join_signed_in(app, world, beech, Role.STAFF, "staff@beech.example.org")
    promoted = api.put(f"/api/v1/members/{staff.member.id}/role", {"role": "deputy_dsl"})
    assert promoted.status_code == 200
    assert promoted.get_json()["leadership_keys_rotated"] is False


@pytest.mark.heads("Ash", "Beech")
def test_a_head_in_the_browser_promotes_and_demotes_and_carries_on(app, world, heads):
    beech = heads["Beech"]
    staff, _client = join_signed_in(app, world, beech, Role.STAFF, "staff@beech.example.org")
    browser = _browser(beech.client)
    promoted = browser.put(f"/api/v1/members/{staff.member.id}/role", {"role": "dsl"})
    assert promoted.status_code == 200, promoted.get_json()
    assert promoted.get_json()["leadership_keys_rotated"] is False
    # Joining the leadership hands them its keys at once.
    with own_transaction(app) as session:
        wrap = session.get(LeadershipWrap, (beech.school.id, 1, leadership.MEMBER, staff.member.id))
        assert wrap is not None
    demoted = browser.put(f"/api/v1/members/{staff.member.id}/role", {"role": "staff"})
    assert demoted.status_code == 200
    assert demoted.get_json()["leadership_keys_rotated"] is True
    # The rotation ended the head's session too; they carry on in a renewed one.
    me = _browser(beech.client).get("/api/v1/me")
    assert me.status_code == 200
    assert beech.client.get("/school").status_code == 200


@pytest.mark.heads("Ash", "Beech")
def test_role_changes_are_refused_as_on_the_page(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    dsl, dsl_client = join_signed_in(app, world, beech, Role.DSL, "dsl@beech.example.org")
    api = api_for(app, beech.person.email)
    bad = api.put(f"/api/v1/members/{dsl.member.id}/role", {"role": "coordinator"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.get_json()["errors"]] == ["role"]
    own = api.put(f"/api/v1/members/{beech.person.member.id}/role", {"role": "staff"})
    assert own.status_code == 409
    assert "your own role" in own.get_json()["detail"]
    # Another school's member: not theirs to see.
    other = api.put(f"/api/v1/members/{ash.person.member.id}/role", {"role": "staff"})
    assert other.status_code == 404
    # A safeguarding lead manages no members.
    by_dsl = _browser(dsl_client).put(
        f"/api/v1/members/{beech.person.member.id}/role", {"role": "staff"}
    )
    assert by_dsl.status_code == 403
    # A head's token without the members:write scope.
    narrow = api_for(app, beech.person.email, ("inbox:read",))
    assert narrow.put(f"/api/v1/members/{dsl.member.id}/role", {"role": "staff"}).status_code == 403
    assert _role(app, dsl.member.id) == "dsl"
    assert audit_entries(app, "member.role_changed") == []


@pytest.mark.heads("Ash", "Beech")
def test_a_dsl_withdraws_a_member_from_a_thread_through_the_api(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    subject, subject_client = join_signed_in(
        app, world, beech, Role.STAFF, "subject@beech.example.org"
    )
    _other, other_client = join_signed_in(app, world, beech, Role.STAFF, "other@beech.example.org")
    _dsl, dsl_client = join_signed_in(app, world, beech, Role.DSL, "dsl@beech.example.org")
    sent = ash.post_alert([beech.school], title="About a colleague", tier="all")
    alert_id = sent.headers["Location"].rsplit("/", 1)[1]
    url = f"/api/v1/alerts/{alert_id}/withdrawn-members"
    # Staff may not; the head (in the leadership) cannot be withdrawn.
    by_staff = _browser(other_client).post(url, {"member_id": str(subject.member.id)})
    assert by_staff.status_code == 403
    dsl_api = _browser(dsl_client)
    leader = dsl_api.post(url, {"member_id": str(beech.person.member.id)})
    assert leader.status_code == 422
    assert leader.get_json()["errors"][0]["field"] == "member_id"
    assert "holds its leadership keys" in leader.get_json()["errors"][0]["message"]
    done = dsl_api.post(url, {"member_id": str(subject.member.id)})
    assert done.status_code == 201, done.get_json()
    assert done.get_json() == {
        "alert_id": alert_id,
        "member": {"id": str(subject.member.id), "name": subject.member.name},
    }
    assert subject_client.get(f"/alerts/{alert_id}").status_code == 404
    assert [e.detail["member"] for e in audit_entries(app, "alert.member_withdrawn")] == [
        str(subject.member.id)
    ]
    again = dsl_api.post(url, {"member_id": str(subject.member.id)})
    assert again.status_code == 409
    # A head's token may too, with the alerts:write scope.
    head_api = api_for(app, beech.person.email)
    other_done = head_api.post(url, {"member_id": str(_other.member.id)})
    assert other_done.status_code == 201
    with own_transaction(app) as session:
        assert len(session.scalars(select(ThreadExclusion)).all()) == 2
