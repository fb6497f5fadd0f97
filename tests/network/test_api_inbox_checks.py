"""The API's inbox read, made lean (the token read by one statement built once,
the listing's rows read past the ORM, the page written without a model per
row), refuses everything it refused before: a revoked, expired or unknown
token, a token whose member was removed, a token without the inbox scope, and
a tampered read record; a suspended school still reads what it holds, as
before, and each listing is audited in the request's own transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from network.alerts.models import Alert, ReadRecord
from network.db import own_transaction
from schools import tokens
from schools.audit.models import AuditQueued
from schools.db import utcnow
from schools.models import ApiToken, Member, MemberStatus, School
from tests.network.api_helpers import Api, alert_body, api_for, assert_problem
from tests.network.api_helpers import token_id as id_of_token

INBOX = "/api/v1/alerts"
FAILED = "Failed its integrity check: not shown."


def _posted(app, heads, title="Checked"):
    response = api_for(app, heads["Ash"].person.email).post(
        "/api/v1/alerts", alert_body([heads["Beech"].school], title=title)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return uuid.UUID(response.get_json()["id"])


def test_a_live_token_reads_and_each_listing_is_queued_for_the_log(app, heads):
    _posted(app, heads)
    beech = api_for(app, heads["Beech"].person.email)
    for _ in range(2):
        response = beech.get(INBOX)
        assert response.status_code == 200
        assert [row["title"] for row in response.get_json()["alerts"]] == ["Checked"]
    with own_transaction(app) as session:
        queued = list(
            session.scalars(
                select(AuditQueued).where(AuditQueued.action == "inbox.titles_decrypted")
            )
        )
    assert len(queued) == 2
    assert {q.detail["token"] for q in queued} == {id_of_token(beech.token)}


def test_a_revoked_token_cannot_list(app, heads):
    beech = api_for(app, heads["Beech"].person.email)
    assert beech.get(INBOX).status_code == 200
    with own_transaction(app) as session:
        member = session.get(Member, heads["Beech"].person.member.id)
        tokens.revoke_token(session, member, uuid.UUID(id_of_token(beech.token)))
    assert_problem(beech.get(INBOX), 401, tokens.NOT_VALID)


def test_an_expired_token_cannot_list(app, heads):
    beech = api_for(app, heads["Beech"].person.email)
    assert beech.get(INBOX).status_code == 200
    with own_transaction(app) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == uuid.UUID(id_of_token(beech.token)))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert_problem(beech.get(INBOX), 401, tokens.NOT_VALID)


def test_a_wrong_or_unknown_secret_cannot_list(app, heads):
    beech = api_for(app, heads["Beech"].person.email)
    id_text, _, secret = beech.token.partition(".")
    wrong = "A" * len(secret) if secret[0] != "A" else "B" * len(secret)
    assert_problem(Api(beech.client, f"{id_text}.{wrong}").get(INBOX), 401, tokens.NOT_VALID)
    unknown = uuid.uuid4().hex
    assert_problem(Api(beech.client, f"{unknown}.{secret}").get(INBOX), 401, tokens.NOT_VALID)


def test_a_removed_members_token_cannot_list(app, heads):
    beech = api_for(app, heads["Beech"].person.email)
    assert beech.get(INBOX).status_code == 200
    with own_transaction(app) as session:
        session.get(Member, heads["Beech"].person.member.id).status = MemberStatus.REMOVED
    assert_problem(beech.get(INBOX), 401, tokens.NOT_VALID)


def test_a_token_without_the_inbox_scope_cannot_list(app, heads):
    writer = api_for(app, heads["Beech"].person.email, ("alerts:write",))
    assert_problem(writer.get(INBOX), 403, "inbox:read")
    assert_problem(writer.get(f"{INBOX}/sent"), 403, "inbox:read")


def test_a_suspended_school_still_reads_what_it_holds(app, heads):
    _posted(app, heads)
    beech = api_for(app, heads["Beech"].person.email)
    with own_transaction(app) as session:
        session.get(School, heads["Beech"].school.id).status = "suspended"
    response = beech.get(INBOX)
    assert response.status_code == 200
    assert [row["title"] for row in response.get_json()["alerts"]] == ["Checked"]
    assert_problem(beech.post("/api/v1/alerts", alert_body([heads["Ash"].school])), 403)


def test_a_tampered_read_record_is_refused_by_the_api(app, heads):
    alert_id = _posted(app, heads, "Tampered later")
    beech = api_for(app, heads["Beech"].person.email)
    assert beech.get(INBOX).get_json()["alerts"][0]["title"] == "Tampered later"
    with own_transaction(app) as session:
        sealed_id = session.get(Alert, alert_id).sealed_id
        where = (
            ReadRecord.school_id == heads["Beech"].school.id,
            ReadRecord.sealed_id == sealed_id,
        )
        record = session.scalar(select(ReadRecord.record).where(*where))
        flipped = record[:-1] + bytes([record[-1] ^ 1])
        session.execute(update(ReadRecord).where(*where).values(record=flipped))
    [row] = beech.get(INBOX).get_json()["alerts"]
    assert row["title"] is None
    assert row["problem"] == FAILED
