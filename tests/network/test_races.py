"""Simultaneous requests that may each succeed only once: exactly one does, the
others are told why (409), nothing is written twice and nothing fails with a
500. Each request runs in its own thread with its own client, so each is a
real transaction of its own against the same database."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from network.alerts.models import Alert, AlertRecipient, ThreadItem
from network.api.models import IdempotentRequest
from network.db import own_transaction
from schools import directory
from schools.audit.models import AuditEvent
from schools.models import Invitation, Member, RecoveryCode, Role
from tests.conftest import PASSWORD, csrf_token, post_form, sign_in
from tests.network.alerts_helpers import keys_of
from tests.network.api_helpers import alert_body, api_for

# Every test here finishes in a few seconds; a hung request fails it instead.
JOIN_SECONDS = 30


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, all released together; a call that
    raises (an unhandled error: the test client re-raises it) gives its error."""
    release = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        release.wait()
        try:
            results[index] = call()
        except Exception as error:  # reported below, as a 500 would be
            results[index] = error

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), "a request hung"
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results


def statuses(responses: list[Any]) -> list[int]:
    return sorted(r.status_code for r in responses)


def count(app, model, *where) -> int:
    with own_transaction(app) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def entries(app, action: str) -> list[AuditEvent]:
    with own_transaction(app) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _posted(head, recipients, **fields) -> str:
    response = head.post_alert(recipients, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return str(response.headers["Location"].rsplit("/", 1)[1])


def _warm(api) -> None:
    """One call first, so the token's last use is fresh and the racing requests
    write nothing before the step they race on."""
    assert api.get("/api/v1/me").status_code == 200


# --- acknowledging ------------------------------------------------------------------------


@pytest.mark.parametrize("sender_watches", [True, False], ids=["watched", "unwatched"])
def test_ten_simultaneous_acknowledgements_make_one(app, heads, sender_watches):
    ash, beech = heads["Ash"], heads["Beech"]
    alert_id = _posted(ash, [beech.school])
    if sender_watches:
        page = f"/alerts/{alert_id}"
        response = ash.post(f"/notifications/watch/{alert_id}", {"by_email": "y"}, page=page)
        assert response.status_code < 400
    api = api_for(app, beech.person.email)
    _warm(api)
    first_ack = None
    responses = at_once(
        [
            lambda n=n: api.post(f"/api/v1/alerts/{alert_id}/acknowledge", {"comment": f"n{n}"})
            for n in range(10)
        ]
    )
    assert statuses(responses) == [200] + [409] * 9, [r.get_data(as_text=True) for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert "Already acknowledged by Head of Beech" in response.get_json()["detail"]
        else:
            first_ack = response.get_json()["acknowledged_at"]
    assert len(entries(app, "alert.acknowledged")) == 1
    assert len(entries(app, "alert.ack_comment")) == 1
    assert count(app, ThreadItem, ThreadItem.kind == "acknowledgement") == 1
    with own_transaction(app) as session:
        copy = session.get(AlertRecipient, (uuid.UUID(alert_id), beech.school.id))
        assert copy.acknowledged_by_id == beech.person.member.id
        assert copy.acknowledged_at.isoformat().startswith(first_ack[:19])


def test_an_acknowledgement_on_the_page_and_one_by_the_api_at_once_make_one(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    alert_id = _posted(ash, [beech.school])
    page = f"/alerts/{alert_id}"
    token = csrf_token(beech.client, page)
    api = api_for(app, beech.person.email)
    _warm(api)
    responses = at_once(
        [
            lambda: beech.client.post(
                f"{page}/acknowledge", data={"comment": "on the page", "csrf_token": token}
            ),
            lambda: api.post(f"/api/v1/alerts/{alert_id}/acknowledge", {"comment": "by API"}),
        ]
    )
    # The page redirects back to the alert (303) or re-renders it refused (409).
    assert statuses(responses) in ([200, 409], [303, 409]), statuses(responses)
    assert len(entries(app, "alert.acknowledged")) == 1
    assert count(app, ThreadItem, ThreadItem.kind == "acknowledgement") == 1


# --- resolving and replying ---------------------------------------------------------------


def test_five_simultaneous_resolutions_make_one(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    alert_id = _posted(ash, [beech.school])
    api = api_for(app, ash.person.email)
    _warm(api)
    resolution = {"note": "Dealt with.", "confirm": True}
    responses = at_once(
        [lambda: api.post(f"/api/v1/alerts/{alert_id}/resolve", resolution) for _ in range(5)]
    )
    assert statuses(responses) == [200] + [409] * 4
    for response in responses:
        if response.status_code == 409:
            assert "already resolved on" in response.get_json()["detail"]
    assert len(entries(app, "alert.resolved")) == 1


def test_replies_racing_a_resolution_all_land_it_closes_only_the_senders_side(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    alert_id = _posted(ash, [beech.school])
    sender, recipient = api_for(app, ash.person.email), api_for(app, beech.person.email)
    _warm(sender)
    _warm(recipient)
    replies = [
        lambda n=n: recipient.post(f"/api/v1/alerts/{alert_id}/replies", {"text": f"r{n}"})
        for n in range(4)
    ]
    resolution = {"note": "Dealt with.", "confirm": True}
    responses = at_once(
        [lambda: sender.post(f"/api/v1/alerts/{alert_id}/resolve", resolution), *replies]
    )
    assert statuses(responses) == [200] + [201] * 4
    assert len(entries(app, "alert.resolved")) == 1
    assert len(entries(app, "alert.replied")) == 4


def test_a_withdrawal_racing_replies_leaves_no_reply_readable(app, heads):
    """Replies that land before the withdrawal are shredded with it; the rest are refused."""
    ash, beech = heads["Ash"], heads["Beech"]
    alert_id = _posted(ash, [beech.school])
    sender, recipient = api_for(app, ash.person.email), api_for(app, beech.person.email)
    _warm(sender)
    _warm(recipient)
    replies = [
        lambda n=n: recipient.post(f"/api/v1/alerts/{alert_id}/replies", {"text": f"r{n}"})
        for n in range(4)
    ]
    reason = {"reason": "Sent to the wrong schools."}
    responses = at_once(
        [lambda: sender.post(f"/api/v1/alerts/{alert_id}/withdraw", reason), *replies]
    )
    assert responses[0].status_code == 200
    refused = [r for r in responses[1:] if r.status_code != 201]
    assert all(r.status_code == 409 for r in refused), [r.status_code for r in refused]
    assert all("withdrawn" in r.get_json()["detail"] for r in refused)
    [withdrawn] = entries(app, "alert.withdrawn")
    assert all(entry.seq < withdrawn.seq for entry in entries(app, "alert.replied"))
    assert count(app, ThreadItem, ThreadItem.sealed_id.is_not(None)) == 1  # the withdrawal


# --- forwarding ---------------------------------------------------------------------------


def test_two_simultaneous_forwards_to_one_school_make_one(app, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id = _posted(ash, [beech.school], tlp="GREEN")
    api = api_for(app, beech.person.email)
    _warm(api)
    body = {"schools": [str(cedar.school.id)], "note": "via Beech"}
    responses = at_once(
        [lambda: api.post(f"/api/v1/alerts/{alert_id}/forward", body) for _ in range(2)]
    )
    assert statuses(responses) == [201, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert "Cedar already has this alert" in refused.get_json()["detail"]
    assert len(entries(app, "alert.forwarded")) == 1
    assert count(app, Alert, Alert.forwarded_from_id == uuid.UUID(alert_id)) == 1
    # Asked again later, the answer is the same, and the page no longer offers Cedar.
    again = api.post(f"/api/v1/alerts/{alert_id}/forward", body)
    assert again.status_code == 409
    page = beech.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert f'value="{cedar.school.id}"' not in page


# --- invitations and recovery -------------------------------------------------------------


def test_one_invitation_accepted_twice_at_once_makes_one_member(app, world, cluster):
    school = world.school(cluster, "Damson")
    token = world.invite(Role.HEAD, "head@damson.example.org", school=school)
    link = f"/invitations/{token}"
    clients = [app.test_client() for _ in range(2)]
    forms = [
        {
            "name": "Dee",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_token(c, link),
        }
        for c in clients
    ]
    responses = at_once(
        [lambda c=c, f=f: c.post(link, data=f) for c, f in zip(clients, forms, strict=True)]
    )
    # The first head is shown the school's recovery code (200); the other is
    # told the link was used, as anyone using it again later is (410).
    assert statuses(responses) == [200, 410]
    refused = next(r for r in responses if r.status_code == 410)
    assert "already been used" in refused.get_data(as_text=True)
    with own_transaction(app) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Member)
                .where(Member.email == "head@damson.example.org")
            )
            == 1
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.school_id == school.id)
            )
            == 1
        )
    assert len(entries(app, "invitation.accepted")) == len(entries(app, "member.joined")) == 1


def test_one_invitation_withdrawn_twice_at_once_is_withdrawn_once(app, world, heads):
    beech = heads["Beech"]
    response = post_form(
        beech.client,
        "/school/invite",
        {"email": "dsl@beech.example.org", "role": "staff"},
        page="/school",
    )
    assert response.status_code == 201
    with own_transaction(app) as session:
        invitation_id = session.scalars(
            select(Invitation.id).where(Invitation.email == "dsl@beech.example.org")
        ).one()
    url = f"/school/invitations/{invitation_id}/withdraw"
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        assert sign_in(client, beech.person.email).status_code == 302
    tokens = [csrf_token(c, "/school") for c in clients]
    responses = at_once(
        [
            lambda c=c, t=t: c.post(url, data={"csrf_token": t, "confirm": "yes"})
            for c, t in zip(clients, tokens, strict=True)
        ]
    )
    assert statuses(responses) == [302, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert "already withdrawn" in refused.get_data(as_text=True)
    assert len(entries(app, "invitation.withdrawn")) == 1


def test_one_recovery_code_used_twice_at_once_recovers_once(app, heads):
    beech = heads["Beech"]
    with own_transaction(app) as session:
        member, keys = keys_of(session, beech.person.email)
        code = directory.issue_recovery_code(session, member.school, keys, member)
    new_password = "a new and long enough passphrase"
    fields = {
        "email": beech.person.email,
        "code": code,
        "password": new_password,
        "confirm": new_password,
    }
    clients = [app.test_client() for _ in range(2)]
    forms = [{**fields, "csrf_token": csrf_token(c, "/recover")} for c in clients]
    responses = at_once(
        [lambda c=c, f=f: c.post("/recover", data=f) for c, f in zip(clients, forms, strict=True)]
    )
    # The other is answered as a later use of the spent code is: no match.
    assert statuses(responses) == [200, 422]
    refused = next(r for r in responses if r.status_code == 422)
    assert "do not match" in refused.get_data(as_text=True)
    assert len(entries(app, "member.recovered")) == 1
    with own_transaction(app) as session:
        unused = session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.school_id == beech.school.id, RecoveryCode.used_at.is_(None))
        )
    # The winner's replacement code, and only it.
    assert unused == 1
    winner = next(r for r in responses if r.status_code == 200).get_data(as_text=True)
    shown = re.search(r'class="recovery-code"[^>]*><code>(.+?)</code>', winner)
    assert shown
    # Its groups may break onto a new line after a dash (<wbr>), nowhere else.
    assert shown.group(1).replace("<wbr>", "") != code


# --- idempotency keys -----------------------------------------------------------------------


def test_five_simultaneous_requests_with_one_idempotency_key_post_once(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    api = api_for(app, ash.person.email)
    _warm(api)
    body = alert_body([beech.school])
    key = {"Idempotency-Key": "simultaneous-1"}
    responses = at_once([lambda: api.post("/api/v1/alerts", body, headers=key) for _ in range(5)])
    fresh = [
        r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    ]
    assert len(fresh) == 1, statuses(responses)
    for response in responses:
        if response is fresh[0]:
            continue
        # Each other copy waited for the first and replays its answer, or is
        # told the first is still being processed.
        assert response.status_code in (201, 409), response.get_data(as_text=True)
        if response.status_code == 201:
            assert response.headers["Idempotent-Replayed"] == "true"
            assert response.get_json() == fresh[0].get_json()
    assert count(app, Alert) == 1
    assert len(entries(app, "alert.posted")) == 1
    assert count(app, IdempotentRequest) == 1
