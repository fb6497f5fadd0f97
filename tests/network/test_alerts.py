"""Posting, reading, acknowledging, replying and acting on alerts."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import event, select

from network.alerts.models import Alert, AlertRecipient, Sealed, SealedWrap, ThreadItem
from network.db import engine, own_transaction
from schools.models import Role, School
from tests.conftest import csrf_token, sign_in
from tests.network.alerts_helpers import count_rows, make_head, png_bytes
from tests.network.notify_helpers import actions as _actions


def test_a_head_posts_and_the_recipients_read_acknowledge_and_reply(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    response = a.post_alert([b.school, c.school], title="Fake page naming Mr Jones")
    assert response.status_code == 303
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    assert "Alert sent to 2 schools" in a.client.get(response.headers["Location"]).get_data(
        as_text=True
    )

    inbox = b.client.get("/alerts").get_data(as_text=True)
    assert "Fake page naming Mr Jones" in inbox
    assert "alert-row--unread" in inbox
    assert '<span class="count">1' in inbox

    page = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Fake page naming Mr Jones" in page
    assert "Signature verified" in page
    assert "A page names two teachers." in page
    assert '<span class="count">' not in b.client.get("/alerts").get_data(as_text=True)

    response = b.post(
        f"/alerts/{alert_id}/acknowledge", {"comment": "DSL informed"}, page=f"/alerts/{alert_id}"
    )
    assert response.status_code == 303
    response = b.post(
        f"/alerts/{alert_id}/reply",
        {"text": "We saw it too, reported."},
        page=f"/alerts/{alert_id}",
    )
    assert response.status_code == 303
    response = b.post(
        f"/alerts/{alert_id}/actions",
        {"action_type": "reported_platform", "note": "Ref 12345"},
        page=f"/alerts/{alert_id}",
    )
    assert response.status_code == 303

    sender_view = a.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "We saw it too, reported." in sender_view
    assert "DSL informed" in sender_view
    assert "Reported to the platform" in sender_view
    assert "Ref 12345" in sender_view
    assert "Head of Beech" in sender_view  # who acknowledged
    # Cedar has not acknowledged yet.
    assert sender_view.count("Not yet") >= 2
    assert "Fake page naming Mr Jones" in a.client.get("/alerts/sent").get_data(as_text=True)
    actions = _actions(app)
    for action in (
        "alert.posted",
        "inbox.titles_decrypted",
        "alert.opened",
        "alert.acknowledged",
        "alert.ack_comment",
        "alert.replied",
        "alert.actioned",
    ):
        assert action in actions


def test_a_school_that_is_not_a_recipient_gets_404_everywhere(app, world, cluster, heads):
    a, b = heads["Ash"], heads["Beech"]
    response = a.post_alert([b.school], evidence=(io.BytesIO(png_bytes()), "shot.png", "image/png"))
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    with own_transaction(app) as session:
        item = session.scalars(select(ThreadItem)).one()
    d = heads["Cedar"]
    assert d.client.get(f"/alerts/{alert_id}").status_code == 404
    assert d.client.get(f"/alerts/{alert_id}/attachments/{item.id}").status_code == 404
    assert d.post(f"/alerts/{alert_id}/reply", {"text": "hi"}, page="/alerts").status_code == 404
    assert d.post(f"/alerts/{alert_id}/acknowledge", {}, page="/alerts").status_code == 404
    assert alert_id not in d.client.get("/alerts").get_data(as_text=True)
    # Another cluster's head too.
    other = make_head(app, world, world.cluster("Elsewhere"), "Damson")
    assert other.client.get(f"/alerts/{alert_id}").status_code == 404


def test_the_coordinator_sees_metadata_but_not_content_unless_named(app, world, cluster, heads):
    world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    coordinator = app.test_client()
    sign_in(coordinator, "coord@riverside.example.org")
    a, b = heads["Ash"], heads["Beech"]
    response = a.post_alert([b.school], title="Secret title for B")
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    page = coordinator.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Secret title for B" not in page
    assert "routing details only" in page
    assert "Beech" in page
    response = a.post_alert([b.school], title="For the coordinator too", include_coordinator="y")
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    page = coordinator.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "For the coordinator too" in page
    assert "For the coordinator too" in coordinator.get("/alerts").get_data(as_text=True)
    crafted = _cursor("0001-01-01T00:00:00+01:00")
    response = coordinator.get(f"/cluster/alerts?cursor={crafted}")
    assert response.status_code == 422
    assert "That page link is not valid" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "Enter the title."),
        ({"category": "gossip"}, "Choose what kind of alert this is."),
        ({"platform": "myspace"}, "Choose the platform."),
        ({"links": "javascript:alert(1)"}, "starting with https://"),
        ({"links": "https://x.example.org/1 2099-01-01"}, "in the future"),
        ({"schools": []}, "Choose at least one school"),
        ({"schools": ["00000000-0000-0000-0000-000000000000"]}, "not in your cluster"),
        ({"title": "x" * 201}, "at most 200"),
    ],
)
def test_bad_alerts_are_refused_next_to_the_field_and_nothing_is_written(
    app, heads, fields, message
):
    a, b = heads["Ash"], heads["Beech"]
    response = a.post_alert([b.school], **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page
    assert message in page
    assert count_rows(app, Alert) == 0
    assert count_rows(app, Sealed) == 0


def test_a_suspended_school_cannot_be_chosen_or_post(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    with own_transaction(app) as session:
        session.get(School, b.school.id).status = "suspended"
    response = a.post_alert([b.school])
    assert response.status_code == 422
    assert "suspended" in response.get_data(as_text=True)
    assert b.client.get("/alerts/new").status_code == 403
    assert count_rows(app, Alert) == 0


def test_evidence_must_be_what_it_claims_and_within_the_limit(app, heads):
    from network.alerts import evidence

    a, b = heads["Ash"], heads["Beech"]
    over = evidence.MAX_FILE_BYTES + 1 - len(b"%PDF-")
    cases = [
        ((io.BytesIO(b"%PDF-1.4 not really a png"), "shot.png", "image/png"), "not really a PNG"),
        ((io.BytesIO(b"MZ\x90\x00"), "tool.exe", "application/octet-stream"), "attach screenshots"),
        ((io.BytesIO(png_bytes()), "shot.png", "application/pdf"), "says it is application/pdf"),
        ((io.BytesIO(b"not a pdf"), "letter.pdf", "application/pdf"), "not really a PDF"),
        ((io.BytesIO(b"%PDF-" + b"0" * over), "big.pdf", "application/pdf"), "larger than"),
    ]
    for upload, message in cases:
        response = a.post_alert([b.school], evidence=upload)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True)
    assert count_rows(app, Alert) == 0


def test_image_metadata_is_stripped_before_encryption(app, heads):
    from PIL import Image

    a, b = heads["Ash"], heads["Beech"]
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    photo = png_bytes(exif=exif.tobytes())
    assert b"PhoneMaker" in photo
    response = a.post_alert([b.school], evidence=(io.BytesIO(photo), "photo.jpg", "image/jpeg"))
    assert response.status_code == 303
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    with own_transaction(app) as session:
        item = session.scalars(select(ThreadItem)).one()
    page = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "photo.jpg" in page
    download = b.client.get(f"/alerts/{alert_id}/attachments/{item.id}")
    assert download.status_code == 200
    assert download.mimetype == "image/jpeg"
    assert "filename=photo.jpg" in download.headers["Content-Disposition"]
    assert b"PhoneMaker" not in download.data
    with Image.open(io.BytesIO(download.data)) as image:
        assert not image.getexif()
        assert image.size == (8, 8)
    assert "alert.attachment_downloaded" in _actions(app)


def test_resolving_asks_a_note_and_a_confirmation_and_closes_it_for_the_sender_only(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = a.post_alert([b.school]).headers["Location"].rsplit("/", 1)[1]
    page = f"/alerts/{alert_id}"
    refused = b.post(f"{page}/resolve", {"resolve_note": "x", "confirm": "y"}, page=page)
    assert refused.status_code == 403  # only the sender resolves; recipients close
    assert "close it for your school instead" in refused.get_data(as_text=True)
    no_note = a.post(f"{page}/resolve", {"confirm": "y"}, page=page)
    assert no_note.status_code == 422
    assert "Enter the note." in no_note.get_data(as_text=True)
    unconfirmed = a.post(f"{page}/resolve", {"resolve_note": "Page removed."}, page=page)
    assert unconfirmed.status_code == 422
    assert "Confirm that the matter is dealt with" in unconfirmed.get_data(as_text=True)
    assert count_rows(app, ThreadItem) == 0
    done = a.post(f"{page}/resolve", {"resolve_note": "Page removed.", "confirm": "y"}, page=page)
    assert done.status_code == 303
    shown = a.client.get(page).get_data(as_text=True)
    assert "Page removed." in shown
    assert "Reopen for your school" in shown
    # Recipients still acknowledge, reply and record actions after the sender resolved it.
    assert b.post(f"{page}/acknowledge", {}, page=page).status_code == 303
    assert b.post(f"{page}/reply", {"text": "late"}, page=page).status_code == 303
    assert (
        b.post(f"{page}/actions", {"action_type": "police", "note": ""}, page=page).status_code
        == 303
    )
    assert count_rows(app, ThreadItem) == 3  # the resolution's note, the reply, the action
    again = a.post(f"{page}/resolve", {"resolve_note": "Again.", "confirm": "y"}, page=page)
    assert again.status_code == 409
    assert "already resolved on" in again.get_data(as_text=True)
    assert "Close for your school" in b.client.get(page).get_data(as_text=True)


def test_acknowledging_twice_says_who_did_it_first(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = a.post_alert([b.school]).headers["Location"].rsplit("/", 1)[1]
    b.client.get(f"/alerts/{alert_id}")
    assert (
        b.post(f"/alerts/{alert_id}/acknowledge", {}, page=f"/alerts/{alert_id}").status_code == 303
    )
    with own_transaction(app) as session:
        copy = session.get(AlertRecipient, (__import__("uuid").UUID(alert_id), b.school.id))
        assert copy.acknowledged_at is not None


def test_forwarding_respects_the_handling_label(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    red = a.post_alert([b.school], tlp="RED").headers["Location"].rsplit("/", 1)[1]
    response = b.post(
        f"/alerts/{red}/forward", {"schools": [str(c.school.id)]}, page=f"/alerts/{red}"
    )
    assert response.status_code == 403
    assert "must not be forwarded" in response.get_data(as_text=True)
    # TLP:AMBER is for the recipients' own schools: not forwarded to another.
    amber = a.post_alert([b.school], tlp="AMBER").headers["Location"].rsplit("/", 1)[1]
    response = b.post(
        f"/alerts/{amber}/forward", {"schools": [str(c.school.id)]}, page=f"/alerts/{amber}"
    )
    assert response.status_code == 403
    assert "must not be forwarded" in response.get_data(as_text=True)
    green = (
        a.post_alert(
            [b.school],
            title="Green one",
            tlp="GREEN",
            evidence=(io.BytesIO(png_bytes()), "shot.png", "image/png"),
        )
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    # Beech reads it (the page gives the form's token), then forwards it.
    token = csrf_token(b.client, f"/alerts/{green}")
    opened_before = _actions(app).count("alert.opened")
    response = b.client.post(
        f"/alerts/{green}/forward",
        data={"schools": [str(c.school.id)], "note": "From Ash, via us", "csrf_token": token},
    )
    assert response.status_code == 303
    # The forward is audited as a forward (and its evidence as downloads), not
    # as another opening.
    after = _actions(app)
    assert after.count("alert.opened") == opened_before
    assert after[-3:] == ["alert.posted", "alert.attachment_added", "alert.forwarded"]
    assert "alert.attachment_downloaded" in after[-5:]
    page = c.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Green one" in page
    assert "From Ash, via us" in page
    assert "shot.png" in page
    assert "Beech" in page
    # Forwarded by Beech, originally from Ash: both signatures checked.
    assert "originally from <strong>Ash</strong>" in page
    assert "both signatures checked" in page


def test_inbox_filters_and_pages(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    from network.alerts import vocab

    for i in range(vocab.PAGE_SIZE + 3):
        a.post_alert([b.school], title=f"Alert number {i}", severity="urgent" if i % 2 else "low")
    first = b.client.get("/alerts").get_data(as_text=True)
    assert first.count('<li class="alert-row') == vocab.PAGE_SIZE
    assert f"Alert number {vocab.PAGE_SIZE + 2}" in first
    assert "Older alerts" in first
    import re

    older = re.search(r'href="(/alerts\?cursor=[^"]+)"', first).group(1)
    second = b.client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('<li class="alert-row') == 3
    assert "Alert number 0" in second
    urgent = b.client.get("/alerts?severity=urgent").get_data(as_text=True)
    assert "Alert number 1<" in urgent
    assert "Alert number 2<" not in urgent
    assert '<option value="urgent" selected>Urgent</option>' in urgent
    # The filters keep what was chosen: one sender among the cluster's schools.
    sender = b.client.get(f"/alerts?sender={a.school.id}").get_data(as_text=True)
    assert f'<option value="{a.school.id}" selected>Ash</option>' in sender
    assert sender.count(" selected>") == 1
    # However the address spells the school's id (the filter reads it as a UUID).
    spelt = b.client.get(f"/alerts?sender={a.school.id.hex.upper()}").get_data(as_text=True)
    assert f'<option value="{a.school.id}" selected>Ash</option>' in spelt
    assert b.client.get("/alerts?severity=apocalyptic").status_code == 400
    assert b.client.get("/alerts?cursor=garbage").status_code == 400
    # A well-formed cursor dated in year 1 with an offset overflows on
    # conversion to UTC: a clear 400 naming the page link, not a 500.
    crafted = _cursor("0001-01-01T00:00:00+01:00")
    response = b.client.get(f"/alerts?cursor={crafted}")
    assert response.status_code == 400
    assert "That page link is not valid" in response.get_data(as_text=True)


def _cursor(stamp: str) -> str:
    import base64
    import uuid

    raw = f"{stamp}|{uuid.uuid4()}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_the_inbox_page_costs_the_same_queries_whatever_its_size(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries_for_inbox():
        statements.clear()
        event.listen(engine(app), "before_cursor_execute", count)
        try:
            assert b.client.get("/alerts").status_code == 200
        finally:
            event.remove(engine(app), "before_cursor_execute", count)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    a.post_alert([b.school])
    small = queries_for_inbox()
    for _ in range(6):
        a.post_alert([b.school])
    assert queries_for_inbox() == small


def test_the_alert_page_costs_the_same_queries_whatever_its_recipients(app, heads):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def selects_for(alert_id):
        statements.clear()
        event.listen(engine(app), "before_cursor_execute", count)
        try:
            assert a.client.get(f"/alerts/{alert_id}").status_code == 200
        finally:
            event.remove(engine(app), "before_cursor_execute", count)
        return [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    def read_and_acknowledged_by(alert_id, *heads_):
        for head in heads_:
            head.post(f"/alerts/{alert_id}/acknowledge", {}, page=f"/alerts/{alert_id}")
        selects_for(alert_id)  # the sender's first opening is audited differently
        return selects_for(alert_id)

    one = a.post_alert([b.school]).headers["Location"].rsplit("/", 1)[1]
    two = a.post_alert([b.school, c.school]).headers["Location"].rsplit("/", 1)[1]
    small = read_and_acknowledged_by(one, b)
    large = read_and_acknowledged_by(two, b, c)
    assert len(large) == len(small)
    # The recipients' rows do not drag the alert, its sender and their members along.
    assert max(s.upper().count(" JOIN ") for s in large) <= 6


def test_retention_shreds_content_and_keeps_a_tombstone(app, heads, runner):
    from datetime import timedelta

    from network.cli import main
    from schools.db import utcnow

    a, b = heads["Ash"], heads["Beech"]
    alert_id = (
        a.post_alert([b.school], evidence=(io.BytesIO(png_bytes()), "s.png", "image/png"))
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    b.post(f"/alerts/{alert_id}/reply", {"text": "noted"}, page=f"/alerts/{alert_id}")
    result = runner.invoke(main, ["retention", "run"])
    assert "Shredded 0 alerts." in result.output
    with own_transaction(app) as session:
        for alert in session.scalars(select(Alert)):
            alert.expires_at = utcnow() - timedelta(seconds=1)
    result = runner.invoke(main, ["retention", "run"])
    assert result.exit_code == 0
    assert "Shredded 1 alert." in result.output
    assert count_rows(app, Sealed) == 0
    assert count_rows(app, SealedWrap) == 0
    assert count_rows(app, Alert) == 1
    page = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Shredded alert" in page
    response = b.post(f"/alerts/{alert_id}/reply", {"text": "late"}, page=f"/alerts/{alert_id}")
    assert response.status_code == 409
    assert "alert.shredded" in _actions(app)


def test_history_stays_readable_after_a_member_is_removed(app, world, heads):
    a, b = heads["Ash"], heads["Beech"]
    before = a.post_alert([b.school], title="Before rotation").headers["Location"]
    staff = world.person(Role.STAFF, "staff@beech.example.org", school=b.school)
    # Confirm the staff member (invited from the factory without keys) by signing in again.
    sign_in(b.client, b.person.email)
    response = b.post(f"/school/members/{staff.member.id}/remove", {}, page="/school")
    assert response.status_code == 302
    with own_transaction(app) as session:
        assert session.get(School, b.school.id).key_generation == 2
    after = a.post_alert([b.school], title="After rotation").headers["Location"]
    assert "Before rotation" in b.client.get(before).get_data(as_text=True)
    assert "After rotation" in b.client.get(after).get_data(as_text=True)
    inbox = b.client.get("/alerts").get_data(as_text=True)
    assert "Before rotation" in inbox
    assert "After rotation" in inbox


def test_tampering_by_the_hub_is_detected_not_displayed(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    first = a.post_alert([b.school], title="First").headers["Location"].rsplit("/", 1)[1]
    second = a.post_alert([b.school], title="Second").headers["Location"].rsplit("/", 1)[1]
    import uuid

    with own_transaction(app) as session:
        # The hub relabels an alert's severity in its clear columns...
        session.get(Alert, uuid.UUID(first)).severity = "info"
        # ...and swaps the wraps of two alerts for school B.
        w1, w2 = (
            session.scalars(
                select(SealedWrap).where(
                    SealedWrap.sealed_id == session.get(Alert, uuid.UUID(alert_id)).sealed_id,
                    SealedWrap.school_id == b.school.id,
                )
            ).one()
            for alert_id in (first, second)
        )
        w1.wrap, w2.wrap = w2.wrap, w1.wrap
    for alert_id, title in ((first, "First"), (second, "Second")):
        page = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
        assert "not shown" in page
        assert f">{title}<" not in page
    inbox = b.client.get("/alerts").get_data(as_text=True)
    assert "Failed its integrity check" in inbox


def test_the_sender_gets_a_verifiable_receipt_from_the_audit_log(app, heads):
    import base64

    from crypto.checkpoint import NoteVerifier, open_checkpoint
    from crypto.merkle import verify_inclusion

    a, b = heads["Ash"], heads["Beech"]
    alert_id = a.post_alert([b.school]).headers["Location"].rsplit("/", 1)[1]
    assert "Download the audit receipt" in a.client.get(f"/alerts/{alert_id}").get_data(
        as_text=True
    )
    response = a.client.get(f"/alerts/{alert_id}/receipt.json")
    assert response.status_code == 200
    receipt = response.get_json()
    checkpoint = open_checkpoint(
        receipt["checkpoint"]["note"].encode(),
        NoteVerifier.from_vkey(receipt["key"]),
        receipt["checkpoint"]["origin"],
    )
    verify_inclusion(
        base64.b64decode(receipt["leaf_hash"]),
        receipt["seq"],
        checkpoint.size,
        [base64.b64decode(h) for h in receipt["inclusion_proof"]],
        checkpoint.root,
    )
    # Only the sending school has the receipt.
    assert b.client.get(f"/alerts/{alert_id}/receipt.json").status_code == 404


def test_the_forward_form_offers_only_schools_without_the_alert(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id = a.post_alert([b.school], tlp="GREEN").headers["Location"].rsplit("/", 1)[1]
    page = b.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    forward = page[page.index('id="forward-heading"') :]
    assert "Cedar" in forward
    assert "Ash" not in forward.split("</form>")[0]


def test_forwarding_to_no_school_asks_for_one_without_offering_the_cluster(app, heads):
    """The forward form has no "whole cluster" option, so its error names none."""
    a, b = heads["Ash"], heads["Beech"]
    alert_id = a.post_alert([b.school], tlp="GREEN").headers["Location"].rsplit("/", 1)[1]
    response = b.post(f"/alerts/{alert_id}/forward", {"note": "x"}, page=f"/alerts/{alert_id}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose at least one school to forward it to." in html
    assert "whole cluster" not in html


def test_every_error_in_the_summary_links_to_its_field(app, heads):
    """The error summary links to each field by id; groups of radios and
    checkboxes are fieldsets carrying the field's id."""
    import re

    ash = heads["Ash"]
    response = ash.post_alert([], category="", severity="", tlp="", audience="schools")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    targets = re.findall(r'<li><a href="#([^"]+)">', page)
    assert "category" in targets
    for target in targets:
        assert f'id="{target}"' in page, target


def test_an_inbox_across_rotations_opens_each_older_generation_once(app, world, heads, monkeypatch):
    from crypto import custody

    a, b = heads["Ash"], heads["Beech"]
    for n in range(4):
        a.post_alert([b.school], title=f"Sealed at generation {n + 1}", tier="all")
        staff = world.person(Role.STAFF, f"staff{n}@beech.example.org", school=b.school)
        sign_in(b.client, b.person.email)  # confirms the staff member
        response = b.post(f"/school/members/{staff.member.id}/remove", {}, page="/school")
        assert response.status_code == 302
    a.post_alert([b.school], title="Sealed at generation 5", tier="all")
    with own_transaction(app) as session:
        assert session.get(School, b.school.id).key_generation == 5

    statements: list[str] = []
    opens: list[int] = []
    real_open = custody.open_previous

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def counting_open(new, blob):
        opens.append(new.generation)
        return real_open(new, blob)

    monkeypatch.setattr(custody, "open_previous", counting_open)
    event.listen(engine(app), "before_cursor_execute", count)
    try:
        inbox = b.client.get("/alerts").get_data(as_text=True)
    finally:
        event.remove(engine(app), "before_cursor_execute", count)
    for generation in range(1, 6):
        assert f"Sealed at generation {generation}" in inbox
    assert "integrity" not in inbox
    history = [
        s for s in statements if "previous_bundle" in s and s.lstrip().upper()[:6] == "SELECT"
    ]
    # Newest first, the page asks for generations 4, 3, 2, 1. Each walk starts
    # from the oldest bundle already opened: 4 queries and 4 openings (before:
    # every walk started from generation 5, 1 + 2 + 3 + 4 = 10 of each).
    assert opens == [5, 4, 3, 2]
    assert len(history) == 4


def test_retention_shreds_in_batches_with_their_threads(app, heads, monkeypatch):
    from datetime import timedelta

    from network.alerts import retention
    from schools.db import utcnow

    a, b = heads["Ash"], heads["Beech"]
    ids = []
    for n in range(5):
        location = a.post_alert([b.school], title=f"Alert {n}").headers["Location"]
        alert_id = location.rsplit("/", 1)[1]
        b.post(f"/alerts/{alert_id}/reply", {"text": "noted"}, page=location)
        ids.append(alert_id)
    with own_transaction(app) as session:
        for alert in session.scalars(select(Alert)):
            alert.expires_at = utcnow() - timedelta(seconds=1)
    monkeypatch.setattr(retention, "SHRED_BATCH", 2)
    with own_transaction(app) as session:
        shredded = retention.shred_expired(session)
    assert sorted(str(i) for i in shredded) == sorted(ids)
    assert count_rows(app, Sealed) == 0
    assert count_rows(app, SealedWrap) == 0
    assert count_rows(app, ThreadItem, ThreadItem.sealed_id.is_not(None)) == 0
    assert count_rows(app, Alert, Alert.status == "shredded") == 5
    assert _actions(app).count("alert.shredded") == 5
