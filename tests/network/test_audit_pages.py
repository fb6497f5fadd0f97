"""The audit log's pages: scoping, filters, paging, history, exports and the banner."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from network.audit.export import COLUMNS
from network.audit.signer import signer
from network.cli import main
from network.db import engine, own_transaction
from schools import audit
from schools.audit import leaf
from schools.audit.models import AuditEvent
from tests.factories import build_riverside, client_for  # noqa: F401  (imported from here too)
from tests.schools.test_audit import tamper

SEQ = re.compile(
    r'<th scope="row" class="audit-seq"><span class="visually-hidden">Entry </span>(\d+)</th>'
)


def seqs_on(html: str) -> list[int]:
    return [int(s) for s in SEQ.findall(html)]


def entries_where(app, **where: Any) -> list[AuditEvent]:
    with own_transaction(app) as session:
        statement = select(AuditEvent).order_by(AuditEvent.seq)
        for name, value in where.items():
            statement = statement.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(statement))


# --- who sees what ------------------------------------------------------------------------


PAGES = ["/audit", "/audit/objects/school/{oak}", "/audit/export.csv", "/audit/export.json"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("coordinator", True),
        ("head", True),
        ("staff", False),
    ],
)
def test_each_role_reaches_the_audit_pages_or_is_refused(app, riverside, role, allowed):
    client = client_for(app, getattr(riverside, role))
    for template in PAGES:
        page = template.format(oak=riverside.oak.id)
        status = client.get(page).status_code
        assert status == (200 if allowed else 403), (role, page, status)


def test_signed_out_visitors_are_sent_to_sign_in(client, riverside):
    for template in PAGES:
        response = client.get(template.format(oak=riverside.oak.id))
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/sign-in?next=")


def test_the_nav_links_to_the_audit_log_for_those_who_may_read_it(app, riverside):
    for role, shown in [("coordinator", True), ("head", True), ("admin", True), ("staff", False)]:
        client = client_for(app, getattr(riverside, role))
        html = client.get("/account").get_data(as_text=True)
        assert ('href="/audit"' in html) is shown, role


def test_a_coordinator_sees_the_whole_cluster_and_nothing_of_another(app, riverside):
    html = client_for(app, riverside.coordinator).get("/audit").get_data(as_text=True)
    shown = set(seqs_on(html))
    ours = {e.seq for e in entries_where(app, cluster_id=riverside.cluster.id)}
    assert shown == set(sorted(ours)[-50:])  # the newest page
    assert str(riverside.elm.id) in html
    assert str(riverside.oak.id) in html
    assert str(riverside.far.id) not in html
    assert "Far Away" not in html
    html = client_for(app, riverside.far_coordinator).get("/audit").get_data(as_text=True)
    assert str(riverside.oak.id) not in html
    assert "Oakfield" not in html


def test_a_head_sees_only_their_school(app, riverside):
    html = client_for(app, riverside.head).get("/audit").get_data(as_text=True)
    shown = set(seqs_on(html))
    assert shown == {e.seq for e in entries_where(app, school_id=riverside.oak.id)}
    assert str(riverside.elm.id) not in html
    assert "Elmwood" not in html
    # The school filter is pointless with one school, so it is not offered.
    assert 'name="school"' not in html


def test_the_hub_admin_sees_entries_of_every_cluster(app, riverside):
    html = client_for(app, riverside.admin).get("/audit?school=" + str(riverside.far.id))
    assert str(riverside.far.id) in html.get_data(as_text=True)


def test_another_clusters_object_history_shows_nothing(app, riverside):
    client = client_for(app, riverside.coordinator)
    html = client.get(f"/audit/objects/school/{riverside.far.id}").get_data(as_text=True)
    assert seqs_on(html) == []
    assert "No entries match" in html or "No entries yet" in html


# --- filters and paging -------------------------------------------------------------------


def test_filters_narrow_the_log(app, riverside):
    client = client_for(app, riverside.coordinator)

    def shown(query: str) -> list[AuditEvent]:
        response = client.get("/audit?" + query)
        assert response.status_code == 200, response.get_data(as_text=True)
        numbers = set(seqs_on(response.get_data(as_text=True)))
        return [e for e in entries_where(app) if e.seq in numbers]

    by_school = shown(f"school={riverside.elm.id}")
    assert by_school
    assert {e.school_id for e in by_school} == {riverside.elm.id}
    by_member = shown("member=HEAD@oak.example.org")
    assert by_member
    assert {e.actor_id for e in by_member} == {riverside.head.member.id}
    by_action = shown("action=member.")
    assert by_action
    assert all(e.action.startswith("member.") for e in by_action)
    exact = shown("action=school.admitted")
    assert {e.object_id for e in exact} == {str(riverside.oak.id), str(riverside.elm.id)}
    assert [e.object_id for e in shown(f"object_id={riverside.oak.id}")] != []
    assert shown("since=2999-01-01") == []
    assert len(shown("since=2000-01-01&until=2999-12-31")) == len(shown(""))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("member=nobody@elsewhere.example.org", "No member of your cluster has this email"),
        ("member=coord@hillside.example.org", "No member of your cluster has this email"),
        ("since=2026-02-30", "Not a valid date"),
        ("since=2026-05-02&until=2026-05-01", "must not be before"),
    ],
)
def test_bad_filters_are_explained_next_to_the_field(app, riverside, query, message):
    response = client_for(app, riverside.coordinator).get("/audit?" + query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert seqs_on(html) == []


@pytest.mark.parametrize("query", ["before=abc", "after=-1", "before=3&after=1", "before=1e3"])
def test_a_bad_page_link_is_a_400_not_a_crash(app, riverside, query):
    assert client_for(app, riverside.head).get("/audit?" + query).status_code == 400


def test_paging_walks_the_whole_log_by_keyset_without_gaps_or_repeats(app, riverside):
    with own_transaction(app) as session:
        for n in range(130):
            audit.record(
                session,
                "test.page",
                school_id=riverside.oak.id,
                object_type="thing",
                object_id=f"thing-{n}",
            )
    client = client_for(app, riverside.head)
    expected = [e.seq for e in entries_where(app, school_id=riverside.oak.id)][::-1]
    seen: list[int] = []
    url = "/audit"
    pages = 0
    while url:
        html = client.get(url).get_data(as_text=True)
        page = seqs_on(html)
        assert page == sorted(page, reverse=True)
        seen.extend(page)
        pages += 1
        older = re.search(r'href="([^"]+)" rel="next"', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
    assert seen == expected
    assert pages == -(-len(expected) // 50)
    # ...and back again from the oldest page.
    newer = re.search(r'href="([^"]+)" rel="prev"', html)
    assert newer is not None
    back = seqs_on(client.get(newer.group(1).replace("&amp;", "&")).get_data(as_text=True))
    assert back == expected[(pages - 2) * 50 : (pages - 1) * 50]


def test_the_access_history_of_an_object_lists_every_entry_naming_it(app, riverside):
    with own_transaction(app) as session:
        audit.record(
            session,
            "alert.opened",
            actor=session.merge(riverside.head.member),
            object_type="alert",
            object_id="a1b2c3",
        )
        audit.record(
            session,
            "alert.opened",
            actor=session.merge(riverside.staff.member),
            object_type="alert",
            object_id="a1b2c3",
        )
        audit.record(
            session,
            "alert.opened",
            actor=session.merge(riverside.staff.member),
            object_type="alert",
            object_id="other",
        )
    html = client_for(app, riverside.head).get("/audit/objects/alert/a1b2c3").get_data(as_text=True)
    assert len(seqs_on(html)) == 2
    assert "Who opened or changed this alert" in html
    assert riverside.staff.member.name in html
    assert client_for(app, riverside.head).get("/audit/objects/Bad Type/x").status_code == 404


# --- exports ------------------------------------------------------------------------------


def test_the_csv_export_has_the_documented_columns_and_only_scoped_entries(app, riverside):
    client = client_for(app, riverside.coordinator)
    response = client.get(f"/audit/export.csv?school={riverside.oak.id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == COLUMNS
    expected = entries_where(app, school_id=riverside.oak.id)
    assert [int(r[0]) for r in rows[1:]] == [e.seq for e in expected]
    assert {r[6] for r in rows[1:]} == {str(riverside.oak.id)}
    # The export itself is a download, so it is in the log (after the exported entries).
    exported = entries_where(app, action="audit.exported")
    assert len(exported) == 1
    assert exported[0].actor_id == riverside.coordinator.member.id
    assert exported[0].detail["format"] == "csv"
    assert exported[0].seq > expected[-1].seq


def test_the_json_export_is_the_filtered_view_with_leaf_hashes(app, riverside):
    client = client_for(app, riverside.head)
    response = client.get("/audit/export.json?action=member.")
    assert response.status_code == 200
    document = json.loads(response.get_data(as_text=True))
    assert document["tree_size"] >= len(document["entries"])
    assert document["filter_action"] == "member."
    assert document["entries"]
    for entry in document["entries"]:
        assert set(entry) == set(COLUMNS)
        assert entry["school"] == str(riverside.oak.id)
        assert entry["action"].startswith("member.")
    seq = document["entries"][0]["seq"]
    with own_transaction(app) as session:
        stored = session.get(AuditEvent, seq)
        assert stored is not None
        assert (
            document["entries"][0]["leaf_hash"]
            == __import__("base64").b64encode(leaf.entry_leaf_hash(stored)).decode()
        )


def test_an_export_with_bad_filters_is_refused(app, riverside):
    client = client_for(app, riverside.head)
    assert client.get("/audit/export.csv?since=yesterday").status_code == 400
    assert client.get("/audit/export.xml").status_code == 404


# --- the integrity banner -----------------------------------------------------------------


def test_the_banner_is_green_on_an_untouched_log(app, riverside):
    html = client_for(app, riverside.head).get("/audit").get_data(as_text=True)
    assert 'class="integrity integrity--ok"' in html
    size = len(entries_where(app))
    assert f"Verified:</strong>\n  {size:,} entries, checkpoint signed at" in html
    assert "has not been run yet" in html


def test_the_banner_turns_red_when_an_entry_on_the_page_was_changed(app, riverside):
    client = client_for(app, riverside.head)
    seq = seqs_on(client.get("/audit").get_data(as_text=True))[3]
    tamper(engine(app), ("UPDATE audit_events SET action = 'x.y' WHERE seq = :s", {"s": seq}))
    html = client.get("/audit").get_data(as_text=True)
    assert 'class="integrity integrity--failed" role="alert"' in html
    assert f"entry {seq} on this page does not match its stored leaf hash" in html


def test_the_banner_turns_red_when_the_checkpoint_does_not_verify(app, riverside):
    client = client_for(app, riverside.head)
    client.get("/audit")  # signs the first checkpoint
    tamper(engine(app), ("UPDATE audit_checkpoints SET root = :r", {"r": bytes(32)}))
    html = client.get("/audit").get_data(as_text=True)
    assert "integrity--failed" in html
    assert "its stored size or root differs from what the note signs" in html


def test_the_banner_shows_the_last_full_check_and_turns_red_when_it_failed(app, riverside, runner):
    client = client_for(app, riverside.head)
    assert runner.invoke(main, args=["audit", "verify"]).exit_code == 0
    html = client.get("/audit").get_data(as_text=True)
    assert "integrity--ok" in html
    assert "entries passed on" in html
    # An entry of another school, never on this head's page: only the full check sees it.
    far = entries_where(app, school_id=riverside.far.id)[0].seq
    tamper(engine(app), ("UPDATE audit_events SET action = 'x.y' WHERE seq = :s", {"s": far}))
    assert runner.invoke(main, args=["audit", "verify"]).exit_code == 1
    html = client.get("/audit").get_data(as_text=True)
    assert "integrity--failed" in html
    assert f"at entry {far}" not in html  # the message, not the CLI's wording
    assert f"entry {far} does not match its stored leaf hash" in html


# --- the key page -------------------------------------------------------------------------


def test_the_key_page_is_public_and_shows_the_vkey(app, client):
    with app.app_context():
        vkey = signer().verifier_key()
    html = client.get("/audit/key").get_data(as_text=True)
    assert vkey in html
    assert "127.0.0.1:5000/audit" in html


# --- in a coordinator's words -------------------------------------------------------------


def _opened_alert(app, riverside) -> str:
    """Oakfield posts an alert to Elmwood; Elmwood's head opens it."""
    from datetime import UTC, datetime

    from tests.network.alerts_helpers import post_as

    with own_transaction(app) as session:
        alert = post_as(session, riverside.head.email, [riverside.elm.id], datetime.now(UTC))
        audit.record(
            session,
            "alert.opened",
            actor=session.merge(riverside.elm_head.member),
            object_type="alert",
            object_id=alert.id,
        )
        return str(alert.id)


def test_a_coordinator_reads_sentences_not_codes(app, riverside):
    alert_id = _opened_alert(app, riverside)
    html = client_for(app, riverside.coordinator).get("/audit").get_data(as_text=True)
    name = riverside.elm_head.member.name
    assert (
        f'{name} (Elmwood) opened <a href="/audit/objects/alert/{alert_id}">'
        "an alert from Oakfield</a>." in html
    )
    assert f'(Oakfield) posted <a href="/audit/objects/alert/{alert_id}">an alert</a>.' in html
    # No codes, ids, JSON or command lines in the plain view.
    assert "<code>alert.opened</code>" not in html
    assert f"<code>{riverside.elm_head.member.id}</code>" not in html
    assert '{"' not in html
    assert "alertnet audit" not in html
    assert "Show the technical view" in html


def test_the_technical_view_shows_the_codes_and_ids(app, riverside):
    alert_id = _opened_alert(app, riverside)
    client = client_for(app, riverside.coordinator)
    html = client.get("/audit?view=technical").get_data(as_text=True)
    assert "<code>alert.opened</code>" in html
    assert f"<code>{riverside.elm_head.member.id}</code>" in html
    assert f"alert <code>{alert_id}</code>" in html
    assert "Show the plain view" in html
    # Filtering keeps the view.
    assert 'name="view" value="technical"' in html


def test_a_coordinator_filters_by_person_action_and_school_by_name(app, riverside):
    _opened_alert(app, riverside)
    client = client_for(app, riverside.coordinator)
    page = client.get("/audit").get_data(as_text=True)
    member = riverside.elm_head.member
    assert f'<option value="{member.id}">{member.name} (Elmwood)</option>' in page
    assert '<option value="alert.opened">Opened an alert</option>' in page
    assert '<optgroup label="People and sign-in">' in page
    assert "Far Away" not in page
    html = client.get(f"/audit?person={member.id}&action=alert.opened").get_data(as_text=True)
    entries = [e for e in entries_where(app) if e.seq in set(seqs_on(html))]
    assert [e.action for e in entries] == ["alert.opened"]
    assert {e.actor_id for e in entries} == {member.id}
    assert '<option value="alert.opened" selected>Opened an alert</option>' in html
    # A person outside the cluster cannot be picked, even by a crafted link.
    outside = client.get(f"/audit?person={riverside.far_head.member.id}")
    assert outside.status_code == 400
    assert "Choose a person from the list." in outside.get_data(as_text=True)
    # A code no option names is kept, and said in words.
    kept = client.get("/audit?action=member.").get_data(as_text=True)
    assert '<option value="member." selected>' in kept


def test_filter_dates_are_whole_days_in_the_hub_zone():
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from network.audit.forms import _start_of

    london = ZoneInfo("Europe/London")
    assert _start_of(date(2026, 7, 1), london) == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert _start_of(date(2026, 12, 1), london) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_the_history_of_an_alert_names_it_by_its_sender(app, riverside):
    alert_id = _opened_alert(app, riverside)
    html = client_for(app, riverside.coordinator).get(f"/audit/objects/alert/{alert_id}")
    text = html.get_data(as_text=True)
    assert "<title>History of an alert · alertnet</title>" in text
    assert "An alert from Oakfield: every entry that names it" in text
    described = text.split("An alert from Oakfield")[1].split("</p>")[0]
    assert alert_id not in described  # the id is for the technical view


def test_every_known_action_has_words_and_an_unknown_one_is_still_readable():

    from network.audit import wording
    from network.audit.search import Names

    school = SimpleNamespace(id=uuid.uuid4(), name="Elmwood")
    person = SimpleNamespace(id=uuid.uuid4(), name="Priya Shah")
    names = Names({person.id: person}, {school.id: school})  # type: ignore[dict-item]

    def entry(action: str, **kw: Any) -> Any:
        fields = {"actor_id": person.id, "school_id": school.id, "object_type": None}
        return SimpleNamespace(action=action, object_id=None, detail={}, **{**fields, **kw})

    for code, action in wording.ACTIONS.items():
        said = str(wording.sentence(entry(code, object_type="school"), names))
        assert said.startswith("Priya Shah (Elmwood) "), code
        assert "{" not in said
        assert code not in said
        assert action.label
    unknown = wording.sentence(entry("alert.withdrawn", object_type="alert"), names)
    assert str(unknown) == "Priya Shah (Elmwood) did “alert withdrawn” on an alert"
    by_hub = wording.sentence(entry("member.signed_in", actor_id=None), names)
    assert str(by_hub) == "The hub (for Elmwood) signed in"


def test_reads_waiting_for_the_log_are_shown_as_queued_in_their_scope(app, riverside):
    from schools.audit import queue as audit_queue

    # Signed in first: a sign-in is a change, and a change integrates the queue.
    coordinator = client_for(app, riverside.coordinator)
    others = [client_for(app, p) for p in (riverside.far_coordinator, riverside.elm_head)]
    with own_transaction(app) as session:
        audit.record_read(
            session,
            "alert.opened",
            actor=session.merge(riverside.staff.member),
            object_type="alert",
            object_id="q1",
        )
    assert "1 recent opening, listing or download is queued for the log" in (
        coordinator.get("/audit").get_data(as_text=True)
    )
    # Another cluster's coordinator and another school's head have none queued.
    for other in others:
        assert "queued for the log" not in other.get("/audit").get_data(as_text=True)
    with own_transaction(app) as session:
        audit_queue.integrate_all(session)
    assert "queued for the log" not in coordinator.get("/audit").get_data(as_text=True)
    assert "q1" in coordinator.get("/audit?view=technical").get_data(as_text=True)
