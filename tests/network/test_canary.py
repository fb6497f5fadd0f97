"""The hub never holds alert content in clear (design.md, "What the hub may see").

A canary string goes into every sensitive field: title, description, links,
recommended action, accounts and groups named, evidence name and bytes,
replies, action notes, acknowledgement comments, forwarding notes and where a
sighting was made. It must appear nowhere in the
database (the SQLite file and its WAL, or a pg_dump), nor in the logs, nor in
any email the worker sent to the test SMTP server or any webhook body it sent.

Through the JSON API likewise: the same fields posted with an API token (the
evidence as base64), and then the answers to reading the alert are the only
place the content appears; the API's stored idempotent answers hold none of it.
"""

# The SMTP server, webhook receiver and app fixtures are imported from notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

import io
import logging
import re

import pytest

from network.db import engine
from tests.factories import database_bytes
from tests.network.alerts_helpers import make_head
from tests.network.notify_helpers import (  # noqa: F401  (fixtures)
    SECRET_ON_PAGE,
    app,
    deliver_all,
    receiver,
    smtp,
)

CANARY = "CANARY-7f3a9c-do-not-store"


def _variants(canary: str) -> list[bytes]:
    return [canary.encode(), canary.encode("utf-16-le"), canary.lower().encode()]


def _webhook(head, receiver):
    response = head.post(
        "/notifications/subscriptions/new?for=school",
        {
            "channel": "webhook",
            "target_url": receiver.url(f"/{head.school.id}"),
            "min_severity": "info",
            "timing": "immediate",
            "digest_time": "07:30",
        },
    )
    assert response.status_code == 201
    return SECRET_ON_PAGE.search(response.get_data(as_text=True)).group(1)


@pytest.fixture
def everything_posted(app, world, caplog, receiver, smtp):
    caplog.set_level(logging.DEBUG)
    cluster = world.cluster("Riverside")
    a, b, c = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
    # Every channel is in use: the heads' default email, webhooks, and Ash watches
    # its alert by email, so replies, actions and acknowledgements are mailed too.
    app.config["WEBHOOK_SECRETS"] = {f"/{h.school.id}": _webhook(h, receiver) for h in (a, b, c)}
    pdf = b"%PDF-1.4\n% " + CANARY.encode() + b"\n%%EOF"
    response = a.post_alert(
        [b.school],
        title=f"Title {CANARY}",
        description=f"Body {CANARY}",
        links=f"https://example.org/{CANARY} 2026-11-20",
        recommended_action=f"Do {CANARY}",
        accounts=f"@{CANARY}",
        groups=f"Group {CANARY}",
        referred_to=["police"],
        references=f"Ref {CANARY}",
        dsl_name=f"DSL {CANARY}",
        evidence=(io.BytesIO(pdf), f"{CANARY}.pdf", "application/pdf"),
        tlp="GREEN",  # may be forwarded, so the forward's note is written too
        tier="all",  # to every member, so schools' webhooks are told of it too
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    alert = response.headers["Location"]
    assert (
        a.post(
            f"/notifications/watch/{alert.rsplit('/', 1)[1]}", {"by_email": "y"}, page=alert
        ).status_code
        == 303
    )
    page = b.client.get(alert).get_data(as_text=True)
    assert f"Title {CANARY}" in page  # it really was there to leak
    for url, data in [
        (f"{alert}/acknowledge", {"comment": f"Ack {CANARY}"}),
        (f"{alert}/reply", {"text": f"Reply {CANARY}"}),
        (
            f"{alert}/actions",
            {"action_type": "police", "note": f"Note {CANARY}", "reference": f"Ref {CANARY}"},
        ),
        (f"{alert}/forward", {"schools": [str(c.school.id)], "note": f"Fwd {CANARY}"}),
        (f"{alert}/sightings", {"seen_on": "2026-11-21", "where": f"Seen {CANARY}"}),
        (f"{alert}/close", {"close_note": f"Closed {CANARY}"}),
    ]:
        assert b.post(url, data, page=alert).status_code == 303, url
    # What came of the referral: its note sealed in the thread too.
    referrals = b.client.get("/school/referrals").get_data(as_text=True)
    outcome = re.search(r'href="(/school/referrals/[0-9a-f-]{36}/outcome)"', referrals)
    assert outcome is not None
    data = {"outcome": "investigating", "note": f"Outcome {CANARY}"}
    assert b.post(outcome.group(1), data, page=outcome.group(1)).status_code == 303
    assert f"Outcome {CANARY}" in b.client.get(alert).get_data(as_text=True)
    for url, data in [
        (f"{alert}/corrections", {"correction": f"Correction {CANARY}"}),
        (f"{alert}/resolve", {"resolve_note": f"Resolved {CANARY}", "confirm": "y"}),
    ]:
        assert a.post(url, data, page=alert).status_code == 303, url
    # A second alert, withdrawn: its signed reason is all that stays, sealed.
    second = a.post_alert([b.school], title=f"Second {CANARY}", tier="all").headers["Location"]
    withdrawn = a.post(
        f"{second}/withdraw", {"reason": f"Withdrawn {CANARY}", "confirm": "yes"}, page=second
    )
    assert withdrawn.status_code == 303
    assert f"Withdrawn {CANARY}" in b.client.get(second).get_data(as_text=True)
    # A saved draft, and a refused submission whose file is kept in a draft:
    # both sealed to Ash alone.
    saved = a.post(
        "/alerts/new",
        {
            "title": f"Draft {CANARY}",
            "description": f"Draft body {CANARY}",
            "save_draft": "1",
            "evidence": (io.BytesIO(pdf), f"Draft-{CANARY}.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    assert saved.status_code == 303
    assert f"Draft {CANARY}" in a.client.get("/alerts/drafts").get_data(as_text=True)
    refused = a.post_alert(
        [b.school],
        title="",
        description=f"Refused {CANARY}",
        evidence=(io.BytesIO(pdf), f"Kept-{CANARY}.pdf", "application/pdf"),
    )
    assert refused.status_code == 422
    assert f"Kept-{CANARY}.pdf" in refused.get_data(as_text=True)
    assert a.client.get(alert).status_code == 200
    assert a.client.get("/alerts/sent").status_code == 200
    assert c.client.get("/alerts").status_code == 200
    deliver_all(app)
    return app


def _assert_nowhere_stored(app, caplog, database_url):
    for record in caplog.records:
        for variant in _variants(CANARY):
            assert variant.decode(errors="ignore") not in record.getMessage()
    engine(app).dispose()
    dump = database_bytes(app, database_url)
    assert dump
    if database_url.startswith("postgresql"):
        assert b"CREATE TABLE public.alerts" in dump
    for variant in _variants(CANARY):
        assert variant not in dump


def test_the_canary_is_nowhere_in_the_database_or_the_logs(
    everything_posted, caplog, database_url, tmp_path
):
    _assert_nowhere_stored(everything_posted, caplog, database_url)


@pytest.fixture
def posted_through_the_api(app, world, caplog):
    import base64
    import uuid

    from tests.network.api_helpers import api_for

    caplog.set_level(logging.DEBUG)
    cluster = world.cluster("Riverside")
    a, b, c = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
    ash, beech = api_for(app, a.person.email), api_for(app, b.person.email)
    pdf = b"%PDF-1.4\n% " + CANARY.encode() + b"\n%%EOF"
    response = ash.post(
        "/api/v1/alerts",
        {
            "category": "harassment",
            "platform": "facebook",
            "severity": "high",
            "tlp": "GREEN",
            "title": f"Title {CANARY}",
            "description": f"Body {CANARY}",
            "links": [{"url": f"https://example.org/{CANARY}", "seen_on": "2026-11-20"}],
            "recommended_action": f"Do {CANARY}",
            "accounts": [f"@{CANARY}"],
            "groups": [f"Group {CANARY}"],
            "done": {
                "referred_to": ["police"],
                "references": f"Ref {CANARY}",
                "dsl_name": f"DSL {CANARY}",
            },
            "schools": [str(b.school.id)],
            "attachments": [{"filename": f"{CANARY}.pdf", "data": base64.b64encode(pdf).decode()}],
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert CANARY not in response.get_data(as_text=True)  # posting answers metadata only
    alert = response.get_json()["url"]
    read = beech.get(alert)
    assert f"Title {CANARY}" in read.get_data(as_text=True)  # it really was there to leak
    assert CANARY in beech.get("/api/v1/alerts").get_data(as_text=True)
    for url, body in [
        (f"{alert}/acknowledge", {"comment": f"Ack {CANARY}"}),
        (f"{alert}/replies", {"text": f"Reply {CANARY}"}),
        (f"{alert}/actions", {"action_type": "police", "note": f"Note {CANARY}"}),
        (f"{alert}/forward", {"schools": [str(c.school.id)], "note": f"Fwd {CANARY}"}),
        (f"{alert}/sightings", {"seen_on": "2026-11-21", "where": f"Seen {CANARY}"}),
    ]:
        response = beech.post(url, body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code in (200, 201), (url, response.get_data(as_text=True))
        assert CANARY not in response.get_data(as_text=True)
    assert f"Reply {CANARY}" in ash.get(alert).get_data(as_text=True)
    for api, url, body in [
        (beech, f"{alert}/close", {"note": f"Closed {CANARY}"}),
        (ash, f"{alert}/corrections", {"text": f"Correction {CANARY}"}),
        (ash, f"{alert}/resolve", {"note": f"Resolved {CANARY}", "confirm": True}),
        (ash, f"{alert}/withdraw", {"reason": f"Withdrawn {CANARY}"}),
    ]:
        response = api.post(url, body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code in (200, 201), (url, response.get_data(as_text=True))
        assert CANARY not in response.get_data(as_text=True)
    assert f"Withdrawn {CANARY}" in beech.get(alert).get_data(as_text=True)
    return app


def test_the_canary_posted_through_the_api_is_nowhere_stored(
    posted_through_the_api, caplog, database_url
):
    _assert_nowhere_stored(posted_through_the_api, caplog, database_url)


def test_the_canary_is_in_no_email_and_no_webhook_body(everything_posted, smtp, receiver):
    app = everything_posted
    # Alert, forward, reply, action, acknowledgement, closing, correction,
    # resolution, the second alert and its withdrawal were all announced.
    assert len(smtp.mails) >= 5
    # Beech's webhook: both alerts, the correction and the withdrawal; Cedar's: the forward.
    assert len(receiver.deliveries) == 5
    secrets = app.config["WEBHOOK_SECRETS"]
    for delivery in receiver.deliveries:
        delivery.verify(secrets[delivery.path])
        for variant in _variants(CANARY):
            assert variant not in delivery.body
            assert variant not in repr(delivery.headers).encode()
    for mail in smtp.mails:
        decoded = mail.part("plain") + mail.part("html") + str(mail.message)
        for variant in _variants(CANARY):
            assert variant not in mail.raw
            assert variant.decode(errors="ignore") not in decoded
