"""The JSON API's operations: each one's success and its refusals, the same
authorisation as the pages, bad input named by field, and idempotent posting."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from network.alerts.models import Alert, Sealed, ThreadItem
from network.alerts.paging import encode_cursor
from network.api.models import IdempotentRequest
from network.db import own_transaction
from schools.models import Role, School
from tests.conftest import sign_in
from tests.network.alerts_helpers import (
    audit_entries,
    count_rows,
    make_head,
    png_bytes,
)
from tests.network.api_helpers import (
    Api,
    alert_body,
    api_for,
    app_with,
    assert_problem,
    attachment,
    issue_token,
    token_id,
)


@pytest.fixture
def apis(app, heads):
    return {name: api_for(app, head.person.email) for name, head in heads.items()}


def _post(api, recipients, **fields):
    response = api.post("/api/v1/alerts", alert_body(recipients, **fields))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# --- posting and reading ---------------------------------------------------------------------


def test_a_head_posts_through_the_api_and_the_recipients_read_it_verified(app, heads, apis):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    response = apis["Ash"].post(
        "/api/v1/alerts", alert_body([b.school, c.school], title="Fake page naming Mr Jones")
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    posted = response.get_json()
    assert response.headers["Location"] == f"/api/v1/alerts/{posted['id']}"
    assert {r["name"] for r in posted["recipients"]} == {"Beech", "Cedar"}
    assert "Fake page" not in response.get_data(as_text=True)  # the answer is metadata only

    inbox = apis["Beech"].get("/api/v1/alerts").get_json()
    assert [row["title"] for row in inbox["alerts"]] == ["Fake page naming Mr Jones"]
    assert inbox["alerts"][0]["read_at"] is None
    opened = apis["Beech"].get(f"/api/v1/alerts/{posted['id']}").get_json()
    assert opened["verified"] is True
    assert opened["content"]["title"] == "Fake page naming Mr Jones"
    assert opened["content"]["links"] == [
        {"url": "https://facebook.example.com/p/1", "seen_on": "2026-11-20"}
    ]
    assert opened["sender_fingerprint"].count(" ") == 11
    # The page shows the same alert to the same reader.
    assert "Fake page naming Mr Jones" in b.client.get(f"/alerts/{posted['id']}").get_data(
        as_text=True
    )
    # Posted in the same transaction as the hub's own record, audited with the token.
    [entry] = audit_entries(app, "alert.posted")
    assert entry.actor_id == a.person.member.id
    assert entry.detail["token"] == token_id(apis["Ash"].token)
    by_token, by_page = audit_entries(app, "alert.opened")
    assert by_token.detail["token"] == token_id(apis["Beech"].token)
    assert "token" not in by_page.detail


def test_evidence_goes_in_as_base64_and_comes_back_as_the_file(app, heads, apis):
    b = heads["Beech"]
    pdf = b"%PDF-1.4\n% evidence\n%%EOF"
    posted = _post(
        apis["Ash"],
        [b.school],
        attachments=[
            attachment("shot.png", png_bytes(), "image/png"),
            attachment("report.pdf", pdf),
        ],
    )
    assert posted["attachment_count"] == 2
    opened = apis["Beech"].get(f"/api/v1/alerts/{posted['id']}").get_json()
    files = {i["attachment"]["filename"]: i["attachment"] for i in opened["thread"]}
    assert set(files) == {"shot.png", "report.pdf"}
    response = apis["Beech"].get(files["report.pdf"]["url"])
    assert response.status_code == 200
    assert response.data == pdf
    assert response.mimetype == "application/pdf"
    assert "report.pdf" in response.headers["Content-Disposition"]
    assert audit_entries(app, "alert.attachment_downloaded")


def test_evidence_downloads_carry_the_same_sandbox_policy_from_the_api_and_the_page(
    app, heads, apis
):
    b = heads["Beech"]
    posted = _post(apis["Ash"], [b.school], attachments=[attachment("shot.png", png_bytes())])
    opened = apis["Beech"].get(f"/api/v1/alerts/{posted['id']}").get_json()
    [item] = [i for i in opened["thread"] if i["attachment"]]
    from_api = apis["Beech"].get(item["attachment"]["url"])
    from_page = b.client.get(f"/alerts/{posted['id']}/attachments/{item['id']}")
    for response in (from_api, from_page):
        assert response.status_code == 200
        # Rendered by a browser anyway, the file runs nothing, in an origin of its own.
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert from_api.headers["Content-Disposition"] == from_page.headers["Content-Disposition"]
    assert from_api.data == from_page.data


def test_a_school_that_is_not_a_recipient_gets_404_for_everything(app, world, heads, apis):
    b = heads["Beech"]
    posted = _post(apis["Ash"], [b.school], attachments=[attachment("s.png", png_bytes())])
    with own_transaction(app) as session:
        item = session.scalars(select(ThreadItem)).one()
    cedar = apis["Cedar"]
    alert = f"/api/v1/alerts/{posted['id']}"
    assert_problem(cedar.get(alert), 404, "not sent to your school")
    assert_problem(cedar.get(f"{alert}/attachments/{item.id}"), 404)
    assert_problem(cedar.post(f"{alert}/acknowledge", {}), 404)
    assert_problem(cedar.post(f"{alert}/replies", {"text": "hi"}), 404)
    assert_problem(cedar.post(f"{alert}/actions", {"action_type": "police"}), 404)
    assert_problem(cedar.post(f"{alert}/forward", {"schools": [str(b.school.id)]}), 404)
    assert cedar.get("/api/v1/alerts").get_json()["alerts"] == []
    # Another cluster's head too, even with every scope.
    other = make_head(app, world, world.cluster("Elsewhere"), "Damson")
    assert_problem(api_for(app, other.person.email).get(alert), 404)


def test_a_coordinator_gets_metadata_only_unless_named(app, world, cluster, heads, apis):
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    coordinator = api_for(app, "coord@riverside.example.org")
    secret = _post(apis["Ash"], [heads["Beech"].school], title="Secret title for B")
    response = coordinator.get(f"/api/v1/alerts/{secret['id']}")
    assert response.status_code == 200
    document = response.get_json()
    assert document["content"] is None
    assert document["content_visible"] is False
    assert "Secret title" not in response.get_data(as_text=True)
    named = _post(
        apis["Ash"], [heads["Beech"].school], title="For the coordinator", include_coordinator=True
    )
    assert coordinator.get(f"/api/v1/alerts/{named['id']}").get_json()["content"]["title"] == (
        "For the coordinator"
    )
    assert_problem(coordinator.post("/api/v1/alerts", alert_body([])), 403)


def test_acknowledge_reply_act_resolve_and_forward(app, heads, apis):
    b, c = heads["Beech"], heads["Cedar"]
    posted = _post(apis["Ash"], [b.school], tlp="GREEN")
    alert = f"/api/v1/alerts/{posted['id']}"
    beech = apis["Beech"]

    response = beech.post(f"{alert}/acknowledge", {"comment": "DSL informed"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["acknowledged_by"]["name"] == "Head of Beech"
    assert_problem(beech.post(f"{alert}/acknowledge"), 409, "Already acknowledged")
    assert_problem(apis["Ash"].post(f"{alert}/acknowledge"), 409, "recipients acknowledge")

    response = beech.post(f"{alert}/replies", {"text": "We saw it too."})
    assert response.status_code == 201
    assert response.get_json()["kind"] == "reply"
    response = beech.post(f"{alert}/actions", {"action_type": "reported_platform", "note": "12"})
    assert response.status_code == 201
    assert response.get_json()["action_type"] == "reported_platform"

    thread = apis["Ash"].get(alert).get_json()
    texts = {(i["kind"], i["text"]) for i in thread["thread"]}
    assert {("reply", "We saw it too."), ("action", "12"), ("acknowledgement", "DSL informed")} <= (
        texts
    )
    beech_copy = next(r for r in thread["recipients"] if not r["is_sender"])
    assert beech_copy["acknowledged_by"]["name"] == "Head of Beech"

    response = beech.post(f"{alert}/forward", {"schools": [str(c.school.id)], "note": "FYI"})
    assert response.status_code == 201, response.get_data(as_text=True)
    forwarded = response.get_json()
    assert forwarded["forwarded_from"] == posted["id"]
    assert apis["Cedar"].get(forwarded["url"]).get_json()["content"]["forwarded_note"] == "FYI"

    resolution = {"note": "Page taken down.", "confirm": True}
    assert_problem(beech.post(f"{alert}/resolve", resolution), 403, "Only the school that sent")
    assert_problem(
        apis["Ash"].post(f"{alert}/resolve", {"note": "x", "confirm": False}), 422, "Confirm"
    )
    response = apis["Ash"].post(f"{alert}/resolve", resolution)
    assert response.status_code == 200
    assert response.get_json()["status"] == "resolved"
    # It closed for the sender only: recipients still reply.
    assert beech.post(f"{alert}/replies", {"text": "late"}).status_code == 201
    assert apis["Ash"].get("/api/v1/alerts/sent").get_json()["alerts"][0]["status"] == "resolved"


def test_red_alerts_cannot_be_forwarded(app, heads, apis):
    posted = _post(apis["Ash"], [heads["Beech"].school], tlp="RED")
    response = apis["Beech"].post(
        f"/api/v1/alerts/{posted['id']}/forward", {"schools": [str(heads["Cedar"].school.id)]}
    )
    assert_problem(response, 403, "TLP:RED")
    assert count_rows(app, Alert) == 1


def test_the_inbox_filters_and_pages_with_a_cursor(app, heads, apis):
    b = heads["Beech"]
    for number in range(5):
        _post(
            apis["Ash"],
            [b.school],
            title=f"Alert {number}",
            severity="urgent" if number % 2 else "low",
        )
    beech = apis["Beech"]
    first = beech.get("/api/v1/alerts?limit=2").get_json()
    assert [a["title"] for a in first["alerts"]] == ["Alert 4", "Alert 3"]
    assert first["next"].startswith("/api/v1/alerts?")
    second = beech.get(first["next"]).get_json()
    assert [a["title"] for a in second["alerts"]] == ["Alert 2", "Alert 1"]
    third = beech.get(f"/api/v1/alerts?limit=2&cursor={second['next_cursor']}").get_json()
    assert [a["title"] for a in third["alerts"]] == ["Alert 0"]
    assert third["next_cursor"] is None
    urgent = beech.get("/api/v1/alerts?severity=urgent").get_json()["alerts"]
    assert [a["title"] for a in urgent] == ["Alert 3", "Alert 1"]
    sender = beech.get(f"/api/v1/alerts?sender={heads['Cedar'].school.id}").get_json()
    assert sender["alerts"] == []
    beech.get(f"/api/v1/alerts/{urgent[0]['id']}")
    unread = beech.get("/api/v1/alerts?status=unread").get_json()["alerts"]
    assert len(unread) == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=maybe", "status"),
        ("category=gossip", "category"),
        ("severity=9", "severity"),
        ("platform=myspace", "platform"),
        ("sender=not-an-id", "sender"),
        ("limit=0", "limit"),
        ("limit=1.0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        # A well-formed cursor whose time cannot be converted to UTC.
        (
            "cursor="
            + encode_cursor(
                datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), uuid.UUID(int=0)
            ),
            "cursor",
        ),
    ],
)
def test_bad_inbox_parameters_are_a_400_naming_the_parameter(apis, query, field):
    assert_problem(apis["Beech"].get(f"/api/v1/alerts?{query}"), 400, field=field)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": ""}, "title", "Enter the title."),
        ({"title": "   "}, "title", "Enter the title."),
        ({"title": "x" * 201}, "title", "at most 200"),
        ({"title": 7}, "title", "must be a string"),
        ({"category": "gossip"}, "category", "must be one of"),
        ({"category": None}, "category", "is required"),
        ({"severity": ["high"]}, "severity", "must be a string"),
        ({"platform": "myspace"}, "platform", "must be one of"),
        ({"tlp": "PURPLE"}, "tlp", "must be one of"),
        ({"audience": "everyone"}, "audience", "must be one of"),
        ({"schools": "all"}, "schools", "must be a list"),
        ({"schools": [5]}, "schools[0]", "must be an id"),
        ({"schools": []}, "schools", "Choose at least one school"),
        ({"schools": ["00000000-0000-0000-0000-000000000000"]}, "schools", "not in your cluster"),
        ({"include_coordinator": "yes"}, "include_coordinator", "true or false"),
        ({"links": [{"url": "javascript:alert(1)"}]}, "links[0].url", "starting with https://"),
        (
            {"links": [{"url": "https://x.example.org/1", "seen_on": "2099-01-01"}]},
            "links[0].seen_on",
            "in the future",
        ),
        (
            {"links": [{"url": "https://x.example.org/1", "seen_on": "yesterday"}]},
            "links[0].seen_on",
            "a date like",
        ),
        ({"links": [{"href": "https://x.example.org/1"}]}, "links[0].href", "not a field"),
        ({"links": "https://x.example.org"}, "links", "must be a list"),
        ({"attachments": [{"filename": "a.png", "data": "!!!"}]}, "attachments[0].data", "base64"),
        ({"attachments": [{"filename": "a.exe", "data": "TVo="}]}, "attachments[0]", "PDF"),
        (
            {"attachments": [{"filename": "a.png", "data": "JVBERi0="}]},
            "attachments[0]",
            "not really a PNG",
        ),
        ({"colour": "red"}, "colour", "not a field"),
        # null means "left out" only for a field the request has.
        ({"colour": None}, "colour", "not a field"),
        ({"": None}, "body", "not a field"),
    ],
)
def test_bad_alerts_are_refused_naming_the_field_and_nothing_is_written(
    app, heads, apis, fields, field, message
):
    response = apis["Ash"].post("/api/v1/alerts", alert_body([heads["Beech"].school], **fields))
    assert_problem(response, 422, message, field=field)
    assert count_rows(app, Alert) == 0
    assert count_rows(app, Sealed) == 0
    assert count_rows(app, IdempotentRequest) == 0


def test_a_body_that_is_not_json_or_not_an_object_is_refused(app, heads, apis):
    ash = apis["Ash"]
    headers = {"Content-Type": "application/json"}
    assert_problem(
        ash.post("/api/v1/alerts", data="{not json", headers=headers), 400, "not valid JSON"
    )
    assert_problem(ash.post("/api/v1/alerts", data=b"\xff\xfe", headers=headers), 400, "not valid")
    assert_problem(ash.post("/api/v1/alerts", data="title=x"), 415, "JSON")
    assert_problem(ash.post("/api/v1/alerts", data="[1, 2]", headers=headers), 422, "object")
    assert_problem(ash.post("/api/v1/alerts", data="", headers=headers), 400)
    assert_problem(ash.post("/api/v1/alerts", {"category": "other"}), 422, field="title")
    deep = "[" * 50_000 + "]" * 50_000
    assert_problem(ash.post("/api/v1/alerts", data=deep, headers=headers), 400, "nests")
    assert_problem(
        ash.post("/api/v1/subscriptions", {"channel": "in_app", "name": "a\x00b"}),
        422,
        field="name",
    )
    assert count_rows(app, Alert) == 0


def test_a_large_attachment_fits_the_post_endpoint_but_not_others(database_url, tmp_path):
    from network.db import engine
    from tests.conftest import World

    app = app_with(database_url, tmp_path, max_json_upload_bytes=1024 * 1024)
    world = World(app)
    cluster = world.cluster("Riverside")
    ash, beech = (make_head(app, world, cluster, n) for n in ("Ash", "Beech"))
    api = api_for(app, ash.person.email)
    big = b"%PDF-1.4\n" + bytes(300 * 1024)  # far over the 64 KiB of a text form
    posted = _post(api, [beech.school], attachments=[attachment("big.pdf", big)])
    reply = api.post(f"/api/v1/alerts/{posted['id']}/replies", {"text": "x" * 100_000})
    assert_problem(reply, 413, "65,536 bytes")
    huge = alert_body([beech.school], attachments=[attachment("huge.pdf", bytes(1024 * 1024))])
    assert_problem(api.post("/api/v1/alerts", huge), 413, "1,048,576 bytes")
    assert count_rows(app, Alert) == 1
    engine(app).dispose()


# --- idempotency ----------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_posts_once(app, heads, apis):
    body = alert_body([heads["Beech"].school])
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = apis["Ash"].post("/api/v1/alerts", body, headers=key)
    again = apis["Ash"].post("/api/v1/alerts", body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(app, Alert) == 1
    assert len(audit_entries(app, "alert.posted")) == 1
    # The same key with another body is refused, and posts nothing.
    other = apis["Ash"].post("/api/v1/alerts", {**body, "title": "Another"}, headers=key)
    assert_problem(other, 422, "already used", field="Idempotency-Key")
    # Keys belong to one token: another token may use the same key.
    second_token = Api(apis["Ash"].client, issue_token(app, heads["Ash"].person.email))
    assert second_token.post("/api/v1/alerts", body, headers=key).status_code == 201
    assert count_rows(app, Alert) == 2
    assert_problem(
        apis["Ash"].post("/api/v1/alerts", body, headers={"Idempotency-Key": "é"}),
        400,
        field="Idempotency-Key",
    )


def test_a_failed_request_keeps_no_key_so_a_corrected_retry_posts(app, heads, apis):
    key = {"Idempotency-Key": "retry-1"}
    body = alert_body([heads["Beech"].school], title="")
    assert apis["Ash"].post("/api/v1/alerts", body, headers=key).status_code == 422
    body["title"] = "Now with a title"
    assert apis["Ash"].post("/api/v1/alerts", body, headers=key).status_code == 201


def test_concurrent_retries_with_one_key_make_one_alert(app, heads, apis):
    """Two copies of a request racing on a live hub: the second waits for the
    first's transaction and replays its answer."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    import json
    import urllib.request

    body = json.dumps(alert_body([heads["Beech"].school])).encode()
    results = []

    def post():
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}/api/v1/alerts",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {apis['Ash'].token}",
                "Content-Type": "application/json",
                "Idempotency-Key": "race-1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                results.append((response.status, json.loads(response.read())["id"]))
        except urllib.error.HTTPError as error:
            results.append((error.code, None))

    try:
        workers = [threading.Thread(target=post) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert count_rows(app, Alert) == 1
    ids = {alert_id for status, alert_id in results if status == 201}
    assert len(ids) == 1
    assert all(status in (201, 409) for status, _ in results)


# --- subscriptions and the directory ----------------------------------------------------------


def test_subscriptions_are_listed_made_changed_and_deleted_through_the_services(
    app, world, heads, apis
):
    ash = apis["Ash"]
    made = ash.post(
        "/api/v1/subscriptions",
        {
            "channel": "email",
            "personal": False,
            "target": "dsl@ash.example.org",
            "categories": ["harassment"],
            "min_severity": "high",
            "timing": "digest",
            "digest_time": "08:15",
            "name": "DSL digest",
        },
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    saved = made.get_json()["subscription"]
    assert saved["personal"] is False
    assert saved["digest_time"] == "08:15"
    assert made.headers["Location"] == f"/api/v1/subscriptions/{saved['id']}"
    listed = ash.get("/api/v1/subscriptions").get_json()["subscriptions"]
    assert saved["id"] in [s["id"] for s in listed]
    changed = ash.patch(f"/api/v1/subscriptions/{saved['id']}", {"min_severity": "urgent"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    after = changed.get_json()["subscription"]
    assert (after["min_severity"], after["categories"], after["target"]) == (
        "urgent",
        ["harassment"],
        "dsl@ash.example.org",
    )
    assert_problem(
        ash.patch(f"/api/v1/subscriptions/{saved['id']}", {"timing": "weekly"}),
        422,
        field="timing",
    )
    assert_problem(ash.post("/api/v1/subscriptions", {"channel": "pigeon"}), 422, field="channel")
    # Another school's head cannot see it: 404, as on the pages.
    assert_problem(apis["Beech"].get(f"/api/v1/subscriptions/{saved['id']}"), 404)
    assert_problem(apis["Beech"].delete(f"/api/v1/subscriptions/{saved['id']}"), 404)
    # A token without the write scope reads but does not change.
    reader = api_for(app, heads["Ash"].person.email, scopes=("subscriptions:read",))
    assert reader.get(f"/api/v1/subscriptions/{saved['id']}").status_code == 200
    assert_problem(
        reader.delete(f"/api/v1/subscriptions/{saved['id']}"), 403, "subscriptions:write"
    )
    assert ash.delete(f"/api/v1/subscriptions/{saved['id']}").status_code == 204
    assert_problem(ash.get(f"/api/v1/subscriptions/{saved['id']}"), 404)
    assert [e.action for e in audit_entries(app, "subscription.deleted")] == [
        "subscription.deleted"
    ]


@pytest.mark.parametrize("digest_time", ["7:30", "07:30:00", "0730", "24:00", "07:30+01:00"])
def test_a_digest_time_is_hours_and_minutes_as_the_document_says(apis, digest_time):
    body = {"channel": "in_app", "digest_time": digest_time}
    assert_problem(apis["Ash"].post("/api/v1/subscriptions", body), 422, field="digest_time")


def test_the_directory_lists_the_cluster_with_keys_and_fingerprints(app, world, heads, apis):
    listed = apis["Ash"].get("/api/v1/schools").get_json()["schools"]
    names = {s["name"] for s in listed}
    assert {"Ash", "Beech", "Cedar"} <= names
    beech = next(s for s in listed if s["name"] == "Beech")
    assert beech["receives_alerts"] is True
    assert len(beech["keys"]["fingerprint"].split()) == 12
    one = apis["Ash"].get(f"/api/v1/schools/{beech['id']}").get_json()
    assert [h["generation"] for h in one["history"]] == [1]
    import base64

    from crypto.keys import SchoolPublicKeys

    public = SchoolPublicKeys.from_bytes(base64.b64decode(one["keys"]["public_keys"]))
    assert public.fingerprint() == beech["keys"]["fingerprint"]
    elsewhere = world.school(world.cluster("Elsewhere"), "Damson")
    assert_problem(apis["Ash"].get(f"/api/v1/schools/{elsewhere.id}"), 404)
    assert "Damson" not in {
        s["name"] for s in apis["Ash"].get("/api/v1/schools").get_json()["schools"]
    }


def test_suspended_schools_cannot_post_through_the_api(app, heads, apis):
    with own_transaction(app) as session:
        session.get(School, heads["Ash"].school.id).status = "suspended"
    assert_problem(
        apis["Ash"].post("/api/v1/alerts", alert_body([heads["Beech"].school])), 403, "suspended"
    )
    assert count_rows(app, Alert) == 0


def test_staff_cannot_make_tokens(app, world, heads):
    world.person(Role.STAFF, "staff@ash.example.org", school=heads["Ash"].school)
    staff = app.test_client()
    sign_in(staff, "staff@ash.example.org")
    assert staff.get("/account/tokens").status_code == 403
    assert "API tokens" not in staff.get("/account").get_data(as_text=True)
