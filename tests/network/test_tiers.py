"""Audience tiers, enforced by keys (issue 16): an alert reaches each recipient
school at one tier, all staff or its leadership (head and safeguarding leads),
and a member outside the tier holds no key that opens it, sees nothing of it
and hears nothing of it; leadership keys move on when someone leaves the
leadership; a head or safeguarding lead withdraws one of their own people
from a thread."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from crypto import custody
from crypto.envelope import TIER_ALL, TIER_LEADERSHIP
from crypto.errors import CryptoError
from crypto.keys import CredentialKey
from network.alerts.models import Alert, AlertRecipient, SealedWrap, ThreadItem
from network.db import own_transaction
from schools import leadership
from schools.audit.models import AuditEvent
from schools.models import (
    LeadershipKeyGeneration,
    LeadershipWrap,
    LoginSession,
    Role,
    School,
)
from tests.conftest import PASSWORD, sign_in
from tests.network import tier_helpers
from tests.network.alerts_helpers import count_rows
from tests.network.api_helpers import api_for

CANARY = "CANARY-leadership-only-7f3a"


def _alert_id(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"].rsplit("/", 1)[1]


def _leadership_wraps_open(app, school_id: uuid.UUID, credential: CredentialKey) -> list[int]:
    """Generations of the school's leadership bundle this credential opens,
    trying it on every leadership wrap of every member."""
    opened = []
    with own_transaction(app) as session:
        rows = session.scalars(
            select(LeadershipWrap).where(LeadershipWrap.school_id == school_id)
        ).all()
        for row in rows:
            try:
                custody.unwrap_with_credential(
                    row.wrap,
                    credential,
                    leadership.wrap_context(
                        school_id, row.generation, row.credential_kind, row.credential_id
                    ),
                )
            except CryptoError:
                continue
            opened.append(row.generation)
    return opened


@pytest.mark.heads("Ash", "Beech", "Cedar")
def test_a_staff_member_opens_sees_and_hears_nothing_of_a_leadership_alert(app, world, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    staff, staff_client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "staff@beech.example.org"
    )
    dsl, dsl_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "dsl@beech.example.org"
    )
    tier_helpers.subscribe_by_email(staff_client)
    tier_helpers.subscribe_by_email(dsl_client)
    # "Staff named or discussed" goes to each school's leadership by default.
    alert_id = _alert_id(ash.post_alert([beech.school, cedar.school], title=CANARY))
    with own_transaction(app) as session:
        copies = {
            c.school_id: c.tier
            for c in session.scalars(
                select(AlertRecipient).where(AlertRecipient.alert_id == uuid.UUID(alert_id))
            )
        }
    assert set(copies.values()) == {TIER_LEADERSHIP}

    # Unread counts (per school, read by nobody yet): the DSL's counts it.
    assert staff_client.get("/notifications/unread.json").get_json()["unread"] == 0
    assert dsl_client.get("/notifications/unread.json").get_json()["unread"] == 1
    # The leadership reads it: the head and the DSL.
    for client in (beech.client, dsl_client):
        assert CANARY in client.get(f"/alerts/{alert_id}").get_data(as_text=True)
        assert CANARY in client.get("/alerts").get_data(as_text=True)
    # The staff member: no page, no inbox row, no count, no notification.
    assert staff_client.get(f"/alerts/{alert_id}").status_code == 404
    inbox = staff_client.get("/alerts").get_data(as_text=True)
    assert CANARY not in inbox
    assert alert_id not in inbox
    told = tier_helpers.notified(app, alert_id)
    assert dsl.member.id in told
    assert staff.member.id not in told
    # Their keys: the session's cookie opens the school bundle only, and it
    # does not open the school's wrap of the alert; their credential opens no
    # leadership wrap (they hold none).
    held = tier_helpers.session_keys(app, staff_client)
    assert held is not None
    assert leadership.leadership_of(held) is None
    assert not tier_helpers.opens(app, alert_id, beech.school.id, [held])
    assert (
        _leadership_wraps_open(app, beech.school.id, tier_helpers.credential(app, staff.member.id))
        == []
    )
    with own_transaction(app) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(LeadershipWrap)
                .where(LeadershipWrap.credential_id == staff.member.id)
            )
            == 0
        )
    # API tokens (only heads make them) act as the member who made them: the
    # head's token gets the leadership keys and reads it.
    head_api = api_for(app, beech.person.email)
    assert CANARY in head_api.get(f"/api/v1/alerts/{alert_id}").get_data(as_text=True)
    with own_transaction(app) as session:
        kinds = session.execute(
            select(LeadershipWrap.credential_kind, func.count())
            .where(LeadershipWrap.school_id == beech.school.id)
            .group_by(LeadershipWrap.credential_kind)
        ).all()
    # Beech's head and DSL, and the head's token; nothing of the staff member's.
    assert dict(kinds) == {"member": 2, "token": 1}
    # The DSL's cookie holds the leadership bundle, and it opens the wrap.
    dsl_keys = leadership.leadership_of(tier_helpers.session_keys(app, dsl_client))
    assert dsl_keys is not None
    assert tier_helpers.opens(app, alert_id, beech.school.id, [dsl_keys])


@pytest.mark.heads("Ash", "Beech")
def test_an_alert_to_all_staff_reaches_staff_and_the_subject_school_gets_it_for_leadership(
    app, world, heads
):
    ash, beech = heads["Ash"], heads["Beech"]
    _staff, staff_client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "staff@beech.example.org"
    )
    to_all = _alert_id(ash.post_alert([beech.school], title="For every member", tier="all"))
    assert "For every member" in staff_client.get(f"/alerts/{to_all}").get_data(as_text=True)
    # Marked as about a member of Beech: Beech receives it for its leadership.
    about = _alert_id(
        ash.post_alert(
            [beech.school],
            title="About one of yours",
            tier="all",
            subject_school=str(beech.school.id),
        )
    )
    assert staff_client.get(f"/alerts/{about}").status_code == 404
    assert "About one of yours" in beech.client.get(f"/alerts/{about}").get_data(as_text=True)
    # Ash's own copy (its Sent box) is at the tier chosen.
    with own_transaction(app) as session:
        tiers = dict(
            session.execute(
                select(AlertRecipient.school_id, AlertRecipient.tier).where(
                    AlertRecipient.alert_id == uuid.UUID(about)
                )
            ).all()
        )
    assert tiers == {ash.school.id: TIER_ALL, beech.school.id: TIER_LEADERSHIP}


@pytest.mark.heads("Ash", "Beech")
def test_demoting_a_dsl_moves_the_leadership_keys_on_without_them(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    dsl, dsl_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "dsl@beech.example.org"
    )
    before = _alert_id(ash.post_alert([beech.school], title="Before the change"))
    assert "Before the change" in dsl_client.get(f"/alerts/{before}").get_data(as_text=True)
    old_credential = tier_helpers.credential(app, dsl.member.id)
    old_bundle = leadership.leadership_of(tier_helpers.session_keys(app, dsl_client))
    assert old_bundle is not None
    assert old_bundle.generation == 1

    response = beech.post(
        f"/school/members/{dsl.member.id}/role", {"role": "staff"}, page="/school"
    )
    assert response.status_code == 303
    with own_transaction(app) as session:
        school = session.get(School, beech.school.id)
        assert school.leadership_generation == 2
        assert session.get(LeadershipKeyGeneration, (school.id, 1)).retired_at is not None
        # Every session holding the old bundle ended; the head carries on in a new one.
        assert (
            session.scalars(
                select(LoginSession.member_id).where(LoginSession.member_id == dsl.member.id)
            ).all()
            == []
        )
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "member.role_changed" in actions
    assert "school.leadership_keys_rotated" in actions

    after = _alert_id(ash.post_alert([beech.school], title="After the change"))
    # The head reads both (the old generation through the chain).
    assert "After the change" in beech.client.get(f"/alerts/{after}").get_data(as_text=True)
    assert "Before the change" in beech.client.get(f"/alerts/{before}").get_data(as_text=True)
    # The former DSL signs in again as staff: nothing of either.
    assert sign_in(dsl_client, dsl.email).status_code == 302
    assert dsl_client.get(f"/alerts/{after}").status_code == 404
    assert dsl_client.get(f"/alerts/{before}").status_code == 404
    # What they kept opens nothing sealed after: their credential no leadership
    # wrap, the bundle of generation 1 not the new alert's wrap.
    assert _leadership_wraps_open(app, beech.school.id, old_credential) == []
    assert not tier_helpers.opens(app, after, beech.school.id, [old_bundle])
    assert tier_helpers.opens(
        app, before, beech.school.id, [old_bundle]
    )  # what they could read then


@pytest.mark.heads("Ash", "Beech")
def test_a_dsl_withdraws_a_member_from_a_thread(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    subject, subject_client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "subject@beech.example.org"
    )
    _other, other_client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "other@beech.example.org"
    )
    _dsl, dsl_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "dsl@beech.example.org"
    )
    alert_id = _alert_id(ash.post_alert([beech.school], title="About a colleague", tier="all"))
    page = dsl_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Withdraw a member of your school from this thread" in page
    # Staff cannot withdraw anyone (the gate refuses).
    refused = other_client.post(
        f"/alerts/{alert_id}/withdraw-member",
        data={"member_id": str(subject.member.id), "csrf_token": _token(other_client)},
    )
    assert refused.status_code == 403
    # The head is not withdrawn: they hold the leadership keys.
    bad = dsl_client.post(
        f"/alerts/{alert_id}/withdraw-member",
        data={"member_id": str(beech.person.member.id), "csrf_token": _token(dsl_client)},
    )
    assert bad.status_code in (400, 422)
    assert "holds its leadership keys" in bad.get_data(as_text=True)

    done = dsl_client.post(
        f"/alerts/{alert_id}/withdraw-member",
        data={"member_id": str(subject.member.id), "csrf_token": _token(dsl_client)},
    )
    assert done.status_code == 303
    assert subject_client.get(f"/alerts/{alert_id}").status_code == 404
    assert "About a colleague" not in subject_client.get("/alerts").get_data(as_text=True)
    # Later items reach Beech's leadership only.
    reply = ash.post(
        f"/alerts/{alert_id}/reply", {"text": "Later reply"}, page=f"/alerts/{alert_id}"
    )
    assert reply.status_code == 303
    with own_transaction(app) as session:
        item = session.scalars(
            select(ThreadItem).where(ThreadItem.alert_id == uuid.UUID(alert_id))
        ).one()
        wrap = session.scalars(
            select(SealedWrap).where(
                SealedWrap.sealed_id == item.sealed_id, SealedWrap.school_id == beech.school.id
            )
        ).one()
        assert wrap.tier == TIER_LEADERSHIP
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "alert.member_withdrawn" in actions
    assert "Later reply" in dsl_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    other_page = other_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "About a colleague" in other_page
    assert "Later reply" not in other_page
    assert "leadership only" in other_page
    # Withdrawn twice: refused, nothing written.
    again = dsl_client.post(
        f"/alerts/{alert_id}/withdraw-member",
        data={"member_id": str(subject.member.id), "csrf_token": _token(dsl_client)},
    )
    assert again.status_code == 409


def _token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/account")


@pytest.mark.heads("Ash", "Beech")
def test_a_school_without_leadership_keys_is_refused_and_told_what_to_do(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    # Beech as a school from before leadership keys existed.
    with own_transaction(app) as session:
        session.execute(LeadershipWrap.__table__.delete())
        session.execute(LeadershipKeyGeneration.__table__.delete())
        session.get(School, beech.school.id).leadership_generation = 0
        session.get(School, ash.school.id).leadership_generation = 0
    # Ash's head signs in again: Ash's leadership keys are made.
    assert sign_in(ash.client, ash.person.email).status_code == 302
    alerts, wraps = count_rows(app, Alert), count_rows(app, SealedWrap)
    refused = ash.post_alert([beech.school], title="Needs leadership keys")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Beech has no leadership keys yet" in text
    assert "ask its head to sign in" in text
    assert (count_rows(app, Alert), count_rows(app, SealedWrap)) == (alerts, wraps)
    # All staff still works; and once Beech's head signs in, leadership does.
    assert ash.post_alert([beech.school], title="To all", tier="all").status_code == 303
    assert sign_in(beech.client, beech.person.email).status_code == 302
    sent = _alert_id(ash.post_alert([beech.school], title="Now for leadership"))
    assert "Now for leadership" in beech.client.get(f"/alerts/{sent}").get_data(as_text=True)


@pytest.mark.heads("Ash", "Beech")
def test_a_staff_poster_cannot_send_to_leadership(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    staff, staff_client = tier_helpers.join_signed_in(
        app, world, ash, Role.STAFF, "poster@ash.example.org"
    )
    assert (
        ash.post(
            f"/school/members/{staff.member.id}/may-post", {"may_post": "yes"}, page="/school"
        ).status_code
        == 303
    )
    from tests.network.alerts_helpers import Head

    poster = Head(staff, ash.school, staff_client)
    alerts = count_rows(app, Alert)
    refused = poster.post_alert([beech.school], title="Red one", tlp="RED")
    assert refused.status_code == 422
    assert "you are not in it" in refused.get_data(as_text=True)
    assert count_rows(app, Alert) == alerts
    assert (
        poster.post_alert([beech.school], title="Red one", tlp="RED", tier="all").status_code == 303
    )


@pytest.mark.heads("Ash", "Beech")
def test_a_dsl_invited_by_a_head_reads_leadership_alerts_from_their_first_sign_in(
    app, world, heads
):
    """The invitation link carries the leadership keys of the head who made
    it, so nobody has to sign in again to confirm the new DSL."""
    import re

    ash, beech = heads["Ash"], heads["Beech"]
    response = beech.post(
        "/school/invite",
        {"name": "Dee", "email": "dee@beech.example.org", "role": "dsl"},
        page="/school",
    )
    assert response.status_code == 201
    link = re.search(r"/invitations/([A-Za-z0-9_-]+)", response.get_data(as_text=True))
    assert link is not None
    dee = app.test_client()
    accepted = dee.post(
        link.group(0),
        data={
            "name": "Dee",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": _csrf_of(dee, link.group(0)),
        },
    )
    assert accepted.status_code == 302
    alert_id = _alert_id(ash.post_alert([beech.school], title="For the new DSL"))
    assert "For the new DSL" in dee.get(f"/alerts/{alert_id}").get_data(as_text=True)
    with own_transaction(app) as session:
        kinds = session.scalars(
            select(LeadershipWrap.credential_kind).where(
                LeadershipWrap.school_id == beech.school.id
            )
        ).all()
    assert sorted(kinds) == ["member", "member"]  # the link's wrap went with it


def _csrf_of(client, page: str) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, page)


@pytest.mark.heads("Ash", "Beech")
def test_seen_elsewhere_links_a_leadership_alert_only_for_the_leadership(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    _staff, staff_client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "staff@beech.example.org"
    )
    # Both name the same link (the helper's), one for leadership, one for all.
    hidden = _alert_id(ash.post_alert([beech.school], title="For leadership"))
    shared = _alert_id(ash.post_alert([beech.school], title="For all", tier="all"))
    head_page = beech.client.get(f"/alerts/{shared}").get_data(as_text=True)
    assert "Seen elsewhere in the network" in head_page
    assert f'href="/alerts/{hidden}"' in head_page
    staff_page = staff_client.get(f"/alerts/{shared}").get_data(as_text=True)
    assert "For all" in staff_page
    assert f'href="/alerts/{hidden}"' not in staff_page
