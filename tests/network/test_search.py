"""Inbox search: a school finds its own copies by the words of their titles and
descriptions, through a keyed index the hub cannot read (network/alerts/search.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select

from crypto.search import words
from network.alerts.models import SearchEntry, SearchToken
from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import Role, School
from tests.conftest import sign_in
from tests.factories import database_bytes
from tests.network.alerts_helpers import ALERT_LINK, integrate_queued_reads
from tests.network.api_helpers import api_for, assert_problem


def _found(head, query: str, page: str = "/alerts") -> list[str]:
    response = head.client.get(page, query_string={"q": query})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return ALERT_LINK.findall(response.get_data(as_text=True))


def _id(response) -> str:
    return response.headers["Location"].rsplit("/", 1)[1]


def test_a_school_finds_alerts_by_words_of_their_titles(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    bus = _id(a.post_alert([b.school], title="Parody account of the bus driver"))
    canteen = _id(a.post_alert([b.school], title="Canteen photos shared on TikTok"))
    # Nobody at Beech has listed them yet: the search lists them first.
    assert _found(b, "driver") == [bus]
    assert _found(b, "TIKTOK photos") == [canteen]
    assert _found(b, "canteen driver") == []  # every word must match
    assert _found(b, "parody", page="/alerts/sent") == []  # Beech sent nothing


def test_descriptions_are_found_once_the_school_opened_the_alert(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert = _id(
        a.post_alert([b.school], title="Staff named", description="Mentions the caretaker, Mr Ó")
    )
    b.client.get("/alerts")
    assert _found(b, "caretaker") == []  # the title only, so far
    assert b.client.get(f"/alerts/{alert}").status_code == 200
    assert _found(b, "Caretaker staff") == [alert]
    # The sender's own copy is indexed when the sender opens it.
    assert a.client.get(f"/alerts/{alert}").status_code == 200
    assert _found(a, "caretaker", page="/alerts/sent") == [alert]


def test_a_school_finds_nothing_through_another_schools_index(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert = _id(a.post_alert([b.school, c.school], title="Harassment of the choir"))
    assert b.client.get(f"/alerts/{alert}").status_code == 200
    assert _found(c, "choir") == [alert]  # from Cedar's own index, made as it searched
    with own_transaction(app) as session:
        tokens = {
            school: set(
                session.scalars(select(SearchToken.token).where(SearchToken.school_id == school))
            )
            for school in (b.school.id, c.school.id)
        }
    assert tokens[b.school.id]
    assert tokens[c.school.id]
    assert not tokens[b.school.id] & tokens[c.school.id]


def test_a_search_with_no_word_is_refused_beside_the_box(app, heads):
    b = heads["Beech"]
    response = b.client.get("/alerts", query_string={"q": "a ! ?"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="q-error"' in page
    assert "Type at least one word of two or more letters or digits." in page


def test_the_hub_database_holds_no_word_of_the_index(app, heads, database_url):
    a, b = heads["Ash"], heads["Beech"]
    title, description = "Zanzibarquux posting", "Quuxwobble mentioned twice"
    alert = _id(a.post_alert([b.school], title=title, description=description))
    assert b.client.get(f"/alerts/{alert}").status_code == 200
    assert _found(b, "zanzibarquux quuxwobble") == [alert]
    with own_transaction(app) as session:
        assert session.scalar(
            select(SearchEntry.scope).where(SearchEntry.alert_id == uuid.UUID(alert))
        )
        tokens = list(session.scalars(select(SearchToken.token)))
    assert len(tokens) == len(set(words(title + " " + description)))
    dump = database_bytes(app, database_url)
    assert b"CREATE TABLE" in dump or b"search_tokens" in dump
    for word in ("zanzibarquux", "Zanzibarquux", "quuxwobble", "Quuxwobble"):
        assert word.encode() not in dump
        assert word.encode("utf-16-le") not in dump


def test_search_finds_alerts_indexed_under_each_generation_after_rotation(app, world, heads):
    a, b = heads["Ash"], heads["Beech"]
    # Sealed to all staff: removing a member of staff rotates the school's bundle.
    before = _id(a.post_alert([b.school], title="Lighthouse page before rotation", tier="all"))
    assert b.client.get(f"/alerts/{before}").status_code == 200
    staff = world.person(Role.STAFF, "staff@beech.example.org", school=b.school)
    sign_in(b.client, b.person.email)  # confirms the staff member
    removed = b.post(f"/school/members/{staff.member.id}/remove", {}, page="/school")
    assert removed.status_code == 302
    with own_transaction(app) as session:
        assert session.get(School, b.school.id).key_generation == 2
    after = _id(a.post_alert([b.school], title="Lighthouse page after rotation", tier="all"))
    assert b.client.get(f"/alerts/{after}").status_code == 200
    with own_transaction(app) as session:
        generations = dict(
            session.execute(
                select(SearchEntry.alert_id, SearchEntry.generation).where(
                    SearchEntry.school_id == b.school.id
                )
            ).all()
        )
    assert {str(k): v for k, v in generations.items()} == {before: 1, after: 2}
    assert sorted(_found(b, "lighthouse page")) == sorted([before, after])
    assert _found(b, "before") == [before]
    assert _found(b, "after") == [after]


def test_withdrawing_an_alert_removes_it_from_every_index(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert = _id(a.post_alert([b.school], title="Yearbook leak"))
    assert b.client.get(f"/alerts/{alert}").status_code == 200
    assert _found(b, "yearbook") == [alert]
    page = f"/alerts/{alert}"
    assert (
        a.post(
            f"{page}/withdraw", {"reason": "Sent in error", "confirm": "yes"}, page=page
        ).status_code
        == 303
    )
    assert _found(b, "yearbook") == []
    with own_transaction(app) as session:
        assert (
            session.scalars(
                select(SearchToken).where(SearchToken.alert_id == uuid.UUID(alert))
            ).all()
            == []
        )


def test_the_api_listing_searches_with_q(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert = _id(a.post_alert([b.school], title="Deepfake video of the head"))
    other = _id(a.post_alert([b.school], title="Something else entirely"))
    api = api_for(app, b.person.email)
    assert {x["id"] for x in api.get("/api/v1/alerts").get_json()["alerts"]} == {alert, other}
    found = api.get("/api/v1/alerts?q=deepfake").get_json()["alerts"]
    assert [x["id"] for x in found] == [alert]
    assert_problem(api.get("/api/v1/alerts?q=%21%21"), 400, "Type at least one word", field="q")


def test_alerts_listed_before_the_index_existed_are_found_from_their_read_records(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert = _id(a.post_alert([b.school], title="Older harbour photos"))
    b.client.get("/alerts")  # a read record, and an index entry
    with own_transaction(app) as session:  # as before migration 0016: the record only
        for held in (SearchToken, SearchEntry):
            session.execute(delete(held).where(held.school_id == b.school.id))
    assert _found(b, "harbour") == [alert]
    with own_transaction(app) as session:
        scope = session.scalar(
            select(SearchEntry.scope).where(SearchEntry.school_id == b.school.id)
        )
    assert scope == "title"


def test_a_long_description_is_indexed_in_full(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    many = " ".join(f"w{n}x" for n in range(1_500))
    alert = _id(a.post_alert([b.school], title="Long one", description=many))
    assert b.client.get(f"/alerts/{alert}").status_code == 200
    assert _found(b, "w0x w1499x") == [alert]


def test_a_leadership_copy_is_found_by_the_leadership_and_never_by_staff(app, world, heads):
    """A copy sealed to a school's leadership is indexed under the leadership
    bundle's search key: a member of staff's query computes no token of it."""
    a, b = heads["Ash"], heads["Beech"]
    staff = world.person(Role.STAFF, "staff@beech.example.org", school=b.school)
    staff_client = app.test_client()
    sign_in(b.client, b.person.email)  # confirms the new colleague's keys
    sign_in(staff_client, staff.email)
    quiet = _id(a.post_alert([b.school], title="Lantern page naming a teacher"))  # leadership
    shared = _id(a.post_alert([b.school], title="Lantern festival photos", tier="all"))
    b.client.get("/alerts")
    assert sorted(_found(b, "lantern")) == sorted([quiet, shared])
    staff_client.get("/alerts")
    found = ALERT_LINK.findall(
        staff_client.get("/alerts", query_string={"q": "lantern"}).get_data(as_text=True)
    )
    assert found == [shared]
    with own_transaction(app) as session:
        tiers = dict(
            session.execute(
                select(SearchEntry.alert_id, SearchEntry.tier).where(
                    SearchEntry.school_id == b.school.id
                )
            ).all()
        )
    assert tiers == {uuid.UUID(quiet): "leadership", uuid.UUID(shared): "all"}


def test_an_alert_nobody_has_listed_is_found_far_down_the_inbox(app, heads):
    # More alerts than a page holds arrive; nobody at Beech pages down to the
    # oldest, yet a search finds it, and its listing is audited as any other.
    a, b = heads["Ash"], heads["Beech"]
    oldest = _id(a.post_alert([b.school], title="Impersonation of the caretaker"))
    for n in range(26):
        a.post_alert([b.school], title=f"Routine notice {n}")
    first_page = b.client.get("/alerts").get_data(as_text=True)
    assert oldest not in ALERT_LINK.findall(first_page)
    assert _found(b, "caretaker impersonation") == [oldest]
    assert len(_found(b, "routine notice")) == 25  # a page of them, all indexed
    integrate_queued_reads(app)
    with own_transaction(app) as session:
        listed = [
            event.detail.get("alerts", [])
            for event in session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "inbox.titles_decrypted",
                    AuditEvent.school_id == b.school.id,
                )
            )
        ]
    assert any(oldest in alerts for alerts in listed)
