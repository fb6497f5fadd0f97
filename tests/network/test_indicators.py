"""Indicators and sightings: what only a network can see (issue 21)."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

import pytest
from sqlalchemy import delete, func, select

from crypto import indicators as ind
from network.alerts import retention
from network.alerts.models import Alert, AlertIndicator, ThreadItem
from network.db import own_transaction
from network.notifications.models import Notification
from schools import correlation, directory
from schools.audit.models import AuditEvent
from schools.models import CorrelationKeyWrap, Role, School
from tests.conftest import sign_in
from tests.network.alerts_helpers import keys_of
from tests.network.api_helpers import Api, issue_token

TROLL = "@Riverside_Gossip"
CANDIDATES = [
    "https://facebook.example.com/groups/riverside-parents/posts/1",
    "https://facebook.example.com/groups/riverside-parents/posts/2",
    "https://instagram.example.com/riverside_gossip",
    "https://tiktok.example.com/@riverside_gossip/video/77",
]


pytestmark = pytest.mark.heads("Ash", "Beech", "Cedar", "Damson")


def _posted_id(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def _hashes(app, alert_id) -> list[bytes]:
    with own_transaction(app) as session:
        return list(
            session.scalars(
                select(AlertIndicator.hash).where(AlertIndicator.alert_id == uuid.UUID(alert_id))
            )
        )


def _held(app, email) -> dict[int, bytes]:
    """The correlation keys a school's member unwraps with the school's keys."""
    with own_transaction(app) as session:
        member, keys = keys_of(session, email)
        school = session.get(School, member.school_id)

        def bundle_of(generation):
            from schools import keyring

            return keyring.keys_of_generation(session, keys, school.id, generation)

        return dict(correlation.open_held(session, school.id, school.cluster_id, bundle_of).keys)


def test_three_schools_post_about_one_account_and_the_third_sees_the_other_two(app, heads):
    a, b, c, d = (heads[n] for n in ("Ash", "Beech", "Cedar", "Damson"))
    first = _posted_id(
        a.post_alert([b.school], title="Gossip page", links="", accounts="@Riverside_Gossip")
    )
    # Written otherwise, the same account: no "@", other case, tracking on a link.
    second = _posted_id(
        d.post_alert([a.school], title="Same page again", links="", accounts="riverside_GOSSIP")
    )
    third = _posted_id(
        c.post_alert([a.school, d.school], links="", accounts=f" {TROLL} ", title="Third")
    )
    assert len(_hashes(app, first)) == len(_hashes(app, second)) == 1
    assert _hashes(app, first) == _hashes(app, second) == _hashes(app, third)

    page = c.client.get(f"/alerts/{third}").get_data(as_text=True)
    assert "2 other alerts from 2 schools mention the same account" in page
    assert "@riverside_gossip on facebook" in page
    # Cedar received neither alert: metadata only, no link to open them.
    assert f'href="/alerts/{first}"' not in page
    assert f'href="/alerts/{second}"' not in page
    assert "Not sent to your school (2): Damson" in page
    assert "Ash (" in page

    # Ash received Damson's alert: it may open that one, and sees Cedar's too.
    page = a.client.get(f"/alerts/{first}").get_data(as_text=True)
    assert "2 other alerts from 2 schools mention the same account" in page
    assert f'href="/alerts/{second}"' in page
    assert f'href="/alerts/{third}"' in page


def test_the_api_alert_document_carries_the_correlations(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    first = _posted_id(a.post_alert([b.school, c.school], accounts=TROLL, links=""))
    second = _posted_id(b.post_alert([a.school], accounts=TROLL, links=""))
    api = Api(app.test_client(), issue_token(app, c.person.email))
    document = api.get(f"/api/v1/alerts/{first}").get_json()
    (found,) = document["correlations"]
    assert found["summary"] == "1 other alert from 1 school mentions the same account"
    assert found["kind"] == "account"
    assert found["indicator"] == "@riverside_gossip on facebook"
    assert [m["id"] for m in found["matches"]] == [second]
    assert found["matches"][0]["url"] is None  # Cedar was not sent Beech's alert
    assert found["matches"][0]["school"] == "Beech"
    assert document["content"]["accounts"] == [TROLL]


def test_a_database_copy_and_the_server_secret_cannot_match_a_url_but_a_member_school_can(
    app, heads
):
    a, b = heads["Ash"], heads["Beech"]
    posted = CANDIDATES[2] + "?utm_source=share&igshid=abc"
    alert_id = _posted_id(a.post_alert([b.school], links=posted))
    (stored,) = _hashes(app, alert_id)

    # Everything on the hub: every table's bytes, the server's secret.
    secret = app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    with own_transaction(app) as session:
        blobs = [w for (w,) in session.execute(select(CorrelationKeyWrap.wrap))]
    guesses = []
    for candidate in [*CANDIDATES, posted]:
        normal = ind.normalise_link(candidate)
        assert normal is not None
        for raw in (candidate.encode(), normal.canonical(), normal.value.encode()):
            guesses.append(hashlib.sha256(raw).digest())
            guesses.append(hmac.new(secret, raw, hashlib.sha256).digest())
            for blob in blobs:  # the wraps as keys: they are ciphertext, not the key
                guesses.append(hmac.new(blob, raw, hashlib.sha256).digest())
    assert stored not in guesses

    # A member school unwraps the key with its own bundle and names the link.
    held = _held(app, b.person.email)
    assert list(held) == [1]
    matched = [
        c for c in CANDIDATES if ind.indicator_hash(held[1], ind.normalise_link(c)) == stored
    ]
    assert matched == [CANDIDATES[2]]


def test_when_a_school_leaves_a_new_key_is_made_and_old_alerts_still_match(app, heads, world):
    a, b, c, d = (heads[n] for n in ("Ash", "Beech", "Cedar", "Damson"))
    link = "https://facebook.example.com/groups/riverside-parents/"
    old = _posted_id(a.post_alert([b.school, c.school, d.school], links=link))
    assert set(_held(app, d.person.email)) == {1}

    with own_transaction(app) as session:
        directory.suspend_school(session, None, session.get(School, d.school.id), "left")
    new = _posted_id(b.post_alert([a.school, c.school], links=link + "?fbclid=xyz"))

    with own_transaction(app) as session:
        generations = dict(
            session.execute(
                select(AlertIndicator.alert_id, AlertIndicator.generation).where(
                    AlertIndicator.alert_id.in_([uuid.UUID(old), uuid.UUID(new)])
                )
            ).all()
        )
        wrapped = set(
            session.scalars(
                select(CorrelationKeyWrap.school_id).where(CorrelationKeyWrap.generation == 2)
            )
        )
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("cluster.correlation%"))
                .order_by(AuditEvent.seq)
            )
        )
    assert generations == {uuid.UUID(old): 1, uuid.UUID(new): 2}
    assert wrapped == {a.school.id, b.school.id, c.school.id}  # not Damson, which left
    assert [a for a in actions if a != "cluster.correlation_key_wrapped"] == [
        "cluster.correlation_key_created",
        "cluster.correlation_key_retired",
        "cluster.correlation_key_created",
    ]
    # Handing each generation's key to the schools lacking it is audited too.
    assert actions.count("cluster.correlation_key_wrapped") >= 2
    assert actions.index("cluster.correlation_key_wrapped") == 1
    assert _hashes(app, old) != _hashes(app, new)

    # Cedar holds both generations: the old alert still matches the new one.
    assert set(_held(app, c.person.email)) == {1, 2}
    page = c.client.get(f"/alerts/{new}").get_data(as_text=True)
    assert "1 other alert from 1 school mentions the same link" in page
    assert f'href="/alerts/{old}"' in page
    # Damson holds only the first key: the new alert's hash is out of its reach.
    held = _held(app, d.person.email)
    assert set(held) == {1}
    normal = ind.normalise_link(link)
    assert normal is not None
    assert ind.indicator_hash(held[1], normal) not in _hashes(app, new)

    # Reinstated, it is given the key in use by the next poster, and matches again.
    with own_transaction(app) as session:
        directory.reinstate_school(session, None, session.get(School, d.school.id))
    latest = _posted_id(c.post_alert([a.school], links=link))
    assert set(_held(app, d.person.email)) == {1, 2}
    assert _hashes(app, latest) == _hashes(app, new)


def test_the_hub_cannot_drop_or_add_an_indicator_unseen(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = _posted_id(a.post_alert([b.school], accounts=TROLL))
    assert len(_hashes(app, alert_id)) == 2  # the link and the account
    with own_transaction(app) as session:
        session.execute(
            delete(AlertIndicator).where(AlertIndicator.alert_id == uuid.UUID(alert_id))
        )
    page = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "does not match what the sender signed (its indicators)" in page
    assert "A page names two teachers." not in page


def test_a_link_or_account_that_normalises_to_nothing_is_refused_beside_the_field(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    response = a.post_alert([b.school], links="https://:443/?utm_source=x")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Line 1: that web address names no site" in page
    response = a.post_alert([b.school], accounts="@real_one\n@")
    assert response.status_code == 422
    assert "Line 2: give the account&#39;s name (an @ alone names nobody)." in response.get_data(
        as_text=True
    )
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
        assert session.scalar(select(func.count()).select_from(CorrelationKeyWrap)) == 0


def test_shredding_an_alert_deletes_its_indicator_hashes(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    shredded = _posted_id(a.post_alert([b.school], accounts=TROLL))
    kept = _posted_id(b.post_alert([a.school], accounts=TROLL))
    with own_transaction(app) as session:
        alert = session.get(Alert, uuid.UUID(shredded))
        alert.expires_at = alert.created_at
        retention.shred_expired(session)
    assert _hashes(app, shredded) == []
    assert len(_hashes(app, kept)) == 2
    page = a.client.get(f"/alerts/{kept}").get_data(as_text=True)
    assert "Seen elsewhere in the network" not in page


def test_a_recipient_says_it_has_seen_it_too_and_the_sender_sees_who(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id = _posted_id(a.post_alert([b.school, c.school]))
    response = b.post(
        f"/alerts/{alert_id}/sightings",
        {"seen_on": "2026-11-21", "where": "Shared in the Year 7 parents' group"},
        page=f"/alerts/{alert_id}",
    )
    assert response.status_code == 303
    assert (
        c.post(f"/alerts/{alert_id}/sightings", {}, page=f"/alerts/{alert_id}").status_code == 303
    )

    page = a.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Seen too by 2 schools:</strong> Beech, Cedar." in page
    assert "Seen 21 Nov 2026: Shared in the Year 7 parents&#39; group." in page
    assert "has seen this too" in page
    with own_transaction(app) as session:
        events = list(
            session.scalars(
                select(Notification.event).where(Notification.member_id == a.person.member.id)
            )
        )
        kinds = list(session.scalars(select(ThreadItem.kind)))
    assert events.count("alert.sighted") == 2  # the sender watches what it posted
    assert kinds == ["sighting", "sighting"]


def test_a_sighting_from_a_school_that_cannot_read_the_alert_is_refused(app, heads, world, cluster):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id = _posted_id(a.post_alert([b.school]))
    # Cedar was not sent it: to Cedar it does not exist.
    response = c.post(f"/alerts/{alert_id}/sightings", {}, page="/alerts")
    assert response.status_code == 404
    # The coordinator sees its metadata, and is told plainly why not.
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    from flask.testing import FlaskClient

    coordinator: FlaskClient = app.test_client()
    coordinator.environ_base["REMOTE_ADDR"] = "127.9.9.9"
    assert sign_in(coordinator, "coord@riverside.example.org").status_code == 302
    from tests.conftest import csrf_token

    token = csrf_token(coordinator, f"/alerts/{alert_id}")
    response = coordinator.post(f"/alerts/{alert_id}/sightings", data={"csrf_token": token})
    assert response.status_code == 403
    assert "did not receive this alert, so it cannot record a sighting" in response.get_data(
        as_text=True
    )
    # The sender cannot sight its own alert; a future date is refused beside its field.
    response = a.post(f"/alerts/{alert_id}/sightings", {}, page=f"/alerts/{alert_id}")
    assert response.status_code == 409
    response = b.post(
        f"/alerts/{alert_id}/sightings", {"seen_on": "2999-01-01"}, page=f"/alerts/{alert_id}"
    )
    assert response.status_code == 422
    assert "The date seen is in the future." in response.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(ThreadItem)) == 0


def test_a_sighting_on_a_forward_reaches_the_original_sender(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    original = _posted_id(a.post_alert([b.school], tlp="GREEN"))
    token_page = f"/alerts/{original}"
    response = b.post(
        f"/alerts/{original}/forward", {"schools": [str(c.school.id)]}, page=token_page
    )
    forward = _posted_id(response)
    # Cedar holds the forward, not the original: it sights the forward.
    assert c.post(f"/alerts/{original}/sightings", {}, page="/alerts").status_code == 404
    response = c.post(
        f"/alerts/{forward}/sightings", {"where": "TikTok"}, page=f"/alerts/{forward}"
    )
    assert response.status_code == 303
    page = a.client.get(f"/alerts/{original}").get_data(as_text=True)
    assert "Seen too by 1 school:</strong> Cedar." in page
    page = b.client.get(f"/alerts/{forward}").get_data(as_text=True)
    assert "Seen too by 1 school:</strong> Cedar." in page
    # The forward names the original's link, but it is the same report passed
    # on: neither is shown as another school's alert naming it.
    assert _hashes(app, forward) == _hashes(app, original)
    assert "Seen elsewhere in the network" not in page
    assert "Seen elsewhere in the network" not in a.client.get(f"/alerts/{original}").get_data(
        as_text=True
    )


def test_the_dashboard_lists_indicators_seen_by_three_schools_without_their_values(
    app, heads, world, cluster
):
    a, b, c, d = (heads[n] for n in ("Ash", "Beech", "Cedar", "Damson"))
    for head, to in ((a, b), (b, c), (c, d)):
        _posted_id(head.post_alert([to.school], accounts=TROLL, links=""))
    _posted_id(d.post_alert([a.school], accounts="@someone_else", links=""))
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    coordinator = app.test_client()
    coordinator.environ_base["REMOTE_ADDR"] = "127.9.9.8"
    assert sign_in(coordinator, "coord@riverside.example.org").status_code == 302
    page = coordinator.get("/cluster/dashboard").get_data(as_text=True)
    table = page[page.index('id="indicators-h"') :]
    table = table[: table.index("</section>")]
    assert re.search(r"<td class=\"num\">3</td>\s*<td class=\"num\">3</td>", table), table
    assert "riverside_gossip" not in page.lower()
    assert "someone_else" not in page
    for digest in _all_hashes(app):
        assert digest.hex() not in page


def _all_hashes(app) -> list[bytes]:
    with own_transaction(app) as session:
        return list(session.scalars(select(AlertIndicator.hash)))


def test_a_sighting_through_the_api_and_its_refusals(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id = _posted_id(a.post_alert([b.school]))
    beech = Api(app.test_client(), issue_token(app, b.person.email))
    response = beech.post(
        f"/api/v1/alerts/{alert_id}/sightings",
        {"seen_on": "2026-11-21", "where": "A parents' group"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["kind"] == "sighting"
    response = beech.post(
        f"/api/v1/alerts/{alert_id}/sightings",
        {"seen_on": "2999-01-01"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 422
    assert "The date seen is in the future." in response.get_data(as_text=True)
    cedar = Api(app.test_client(), issue_token(app, c.person.email))
    response = cedar.post(
        f"/api/v1/alerts/{alert_id}/sightings", {}, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    ash = Api(app.test_client(), issue_token(app, a.person.email))
    document = ash.get(f"/api/v1/alerts/{alert_id}").get_json()
    assert [s["name"] for s in document["sighted_by"]] == ["Beech"]
    (sighting,) = [t for t in document["thread"] if t["kind"] == "sighting"]
    assert sighting["seen_on"] == "2026-11-21"
    assert sighting["where"] == "A parents' group"


def test_without_session_keys_the_wraps_then_one_hash_index_query_find_matches(app, heads):
    from sqlalchemy import event, text

    from network.alerts import indicators
    from network.alerts.content import AlertContent
    from network.alerts.keychain import Keychain
    from network.db import engine

    a, b = heads["Ash"], heads["Beech"]
    first = _posted_id(a.post_alert([b.school], accounts=TROLL))
    second = _posted_id(b.post_alert([a.school], accounts=TROLL))
    issued: list[tuple[str, object]] = []

    def count(_conn, _cursor, statement, parameters, *_args):
        if not statement.startswith("BEGIN"):  # SQLite's write transaction, not a query
            issued.append((statement, parameters))

    with own_transaction(app) as session:
        member, keys = keys_of(session, b.person.email)
        school = session.get(School, b.school.id)
        alert = session.get(Alert, uuid.UUID(first))
        bundle_of = Keychain(session, school.id, keys).for_generation
        content = AlertContent("Gossip", accounts=(TROLL,))
        event.listen(engine(app), "before_cursor_execute", count)
        try:
            # As an API token looks (no session's keys): the school's wraps,
            # then the matching query, run as the driver's SQL.
            found = indicators.correlations(session, school, bundle_of, alert, content, member)
        finally:
            event.remove(engine(app), "before_cursor_execute", count)
        assert [[str(m.alert_id) for m in c.matches] for c in found] == [[second]]
        assert len(issued) == 2, issued
        (statement, parameters), connection = issued[1], session.connection()
        if connection.dialect.name == "postgresql":
            # A handful of rows would be scanned; the plan at scale is the index's.
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        else:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    assert "ix_alert_indicators_hash" in " ".join(str(row) for row in plan), plan
