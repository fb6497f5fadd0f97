"""The sending school withdraws an alert (content crypto-shredded at every
school, the signed reason kept) or corrects it (a signed item shown above the
original); recipients are told. Nobody else may."""

# The SMTP server, app and cluster fixtures are imported from notify_helpers.
# ruff: noqa: F811

from __future__ import annotations

import io
import uuid

from sqlalchemy import select

from network.alerts.models import Alert, Sealed, SealedWrap, ThreadItem
from network.db import own_transaction
from schools import roles
from schools.audit.models import AuditEvent
from schools.models import Member, Role
from tests.conftest import sign_in
from tests.network.alerts_helpers import Head, count_rows, make_head, png_bytes
from tests.network.api_helpers import api_for, assert_problem
from tests.network.notify_helpers import (  # noqa: F401  (fixtures)
    app,
    cluster,
    deliver_all,
    notifications,
    smtp,
)

REASON = "Posted to the wrong schools: the page was about another school."


def _heads(app, world, cluster, *names):
    return [make_head(app, world, cluster, n) for n in names]


def _post(sender: Head, recipients: list[Head], **fields) -> str:
    # To all staff: members of staff post and read these (tiers: test_tiers.py).
    fields.setdefault("tier", "all")
    response = sender.post_alert(
        [r.school for r in recipients],
        evidence=[(io.BytesIO(png_bytes()), "shot.png", "image/png")],
        **fields,
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"].rsplit("/", 1)[1]


def _actions(app) -> list[str]:
    with own_transaction(app) as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_the_sender_withdraws_content_is_shredded_everywhere_and_recipients_see_the_reason(
    app, world, cluster, smtp
):
    ash, beech, cedar = _heads(app, world, cluster, "Ash", "Beech", "Cedar")
    alert_id = _post(ash, [beech, cedar], title="Fake account naming Mr Example")
    page = f"/alerts/{alert_id}"
    beech.post(f"{page}/reply", {"text": "We see it too."}, page=page)
    sealed_before = count_rows(app, Sealed)
    assert sealed_before == 3  # the alert, its evidence, the reply
    # A recipient school may not withdraw someone else's alert: refused, and it says whose.
    refused = beech.post(f"{page}/withdraw", {"reason": "not ours", "confirm": "yes"}, page=page)
    assert refused.status_code == 403
    assert "Only Ash, which sent this alert, can withdraw it: ask them to." in refused.get_data(
        as_text=True
    )
    assert "Withdraw the alert" not in beech.client.get(page).get_data(as_text=True)
    # No reason: refused beside the field, nothing written.
    no_reason = ash.post(f"{page}/withdraw", {"reason": "  ", "confirm": "yes"}, page=page)
    assert no_reason.status_code == 422
    assert "Enter the reason." in no_reason.get_data(as_text=True)
    assert count_rows(app, Sealed) == sealed_before
    before = len(notifications(app))
    done = ash.post(f"{page}/withdraw", {"reason": REASON, "confirm": "yes"}, page=page)
    assert done.status_code == 303
    # Crypto-shredded as retention shreds: only the signed withdrawal is left to open.
    assert count_rows(app, Sealed) == 1
    assert count_rows(app, SealedWrap) == 3  # the withdrawal, wrapped to each of the three schools
    assert count_rows(app, ThreadItem, ThreadItem.sealed_id.is_not(None)) == 1
    with own_transaction(app) as session:
        alert = session.get(Alert, uuid.UUID(alert_id))
        assert alert.status == "withdrawn"
        assert alert.sealed_id is None
        assert alert.withdrawn_at is not None
    for reader in (beech, cedar, ash):
        shown = reader.client.get(page).get_data(as_text=True)
        assert "Withdrawn by the sender" in shown
        assert REASON in shown
        assert "Fake account naming Mr Example" not in shown
        assert "We see it too." not in shown
        assert "Send reply" not in shown
    inbox = beech.client.get("/alerts").get_data(as_text=True)
    assert "Withdrawn, the hub reports" in inbox
    assert "alert.withdrawn" in _actions(app)
    # Every recipient school is told, at once; the sender is not; no content leaves.
    told = [n for n in notifications(app)[before:] if n.event == "alert.withdrawn"]
    assert {n.school_id for n in told} == {beech.school.id, cedar.school.id}
    deliver_all(app)
    assert all(REASON not in m.raw.decode() for m in smtp.mails)
    # Nothing more can be added, and it cannot be withdrawn twice.
    late = beech.post(f"{page}/reply", {"text": "late"}, page=page)
    assert late.status_code == 409
    assert "withdrawn by its sender" in late.get_data(as_text=True)
    assert_problem(
        api_for(app, ash.person.email).post(
            f"/api/v1/alerts/{alert_id}/withdraw", {"reason": "again"}
        ),
        409,
        "already withdrawn",
    )
    # The API reader sees the withdrawal, signed, and nothing else.
    read = api_for(app, cedar.person.email).get(f"/api/v1/alerts/{alert_id}").get_json()
    assert read["status"] == "withdrawn"
    assert read["content"] is None
    assert read["withdrawal"]["text"] == REASON
    assert read["thread"] == []


def test_a_correction_is_signed_shown_above_the_original_and_announced(app, world, cluster):
    ash, beech = _heads(app, world, cluster, "Ash", "Beech")
    alert_id = _post(ash, [beech])
    page = f"/alerts/{alert_id}"
    before = len(notifications(app))
    refused = beech.post(f"{page}/corrections", {"correction": "not ours"}, page=page)
    assert refused.status_code == 403
    api = api_for(app, ash.person.email)
    assert_problem(
        api.post(f"/api/v1/alerts/{alert_id}/corrections", {"text": ""}), 422, field="text"
    )
    done = ash.post(f"{page}/corrections", {"correction": "It was Instagram."}, page=page)
    assert done.status_code == 303
    shown = beech.client.get(page).get_data(as_text=True)
    assert shown.index("Corrections from the sender") < shown.index("Alert content")
    assert shown.index("It was Instagram.") < shown.index("A page names two teachers.")
    assert "signed by the school" in shown
    read = api_for(app, beech.person.email).get(f"/api/v1/alerts/{alert_id}").get_json()
    assert [c["text"] for c in read["corrections"]] == ["It was Instagram."]
    assert all(i["kind"] != "correction" for i in read["thread"])
    assert "alert.corrected" in _actions(app)
    told = [n for n in notifications(app)[before:] if n.event == "alert.corrected"]
    assert {n.school_id for n in told} == {beech.school.id}
    # Through the API as well.
    answer = api.post(f"/api/v1/alerts/{alert_id}/corrections", {"text": "And on 21 Nov."})
    assert answer.status_code == 201
    assert answer.get_json()["kind"] == "correction"


def test_a_dsl_or_the_author_may_withdraw_other_staff_may_not(app, world, cluster):
    ash, beech = _heads(app, world, cluster, "Ash", "Beech")
    world.person(Role.STAFF, "author@ash.example.org", school=ash.school, name="Ann Author")
    world.person(Role.STAFF, "other@ash.example.org", school=ash.school, name="Olly Other")
    world.person(Role.DSL, "dsl@ash.example.org", school=ash.school, name="Dee Lead")
    sign_in(ash.client, ash.person.email)  # confirms the three: their keys are wrapped
    staff = {}
    for email in ("author@ash.example.org", "other@ash.example.org", "dsl@ash.example.org"):
        client = app.test_client()
        assert sign_in(client, email).status_code == 302
        staff[email] = Head(ash.person, ash.school, client)
    with own_transaction(app) as session:
        author = session.scalars(
            select(Member).where(Member.email == "author@ash.example.org")
        ).one()
        roles.set_may_post(session, None, author.id, True)
    first = _post(staff["author@ash.example.org"], [beech])
    second = _post(staff["author@ash.example.org"], [beech])
    other = staff["other@ash.example.org"].post(
        f"/alerts/{first}/withdraw", {"reason": "x", "confirm": "yes"}, page=f"/alerts/{first}"
    )
    assert other.status_code == 403
    assert "Only your head, a safeguarding lead or Ann Author" in other.get_data(as_text=True)
    by_author = staff["author@ash.example.org"].post(
        f"/alerts/{first}/withdraw", {"reason": REASON, "confirm": "yes"}, page=f"/alerts/{first}"
    )
    assert by_author.status_code == 303
    by_dsl = staff["dsl@ash.example.org"].post(
        f"/alerts/{second}/withdraw", {"reason": REASON, "confirm": "yes"}, page=f"/alerts/{second}"
    )
    assert by_dsl.status_code == 303
    assert count_rows(app, Alert, Alert.status == "withdrawn") == 2


def test_a_forward_of_a_withdrawn_alert_stays_and_says_its_original_is_gone(app, world, cluster):
    ash, beech, cedar = _heads(app, world, cluster, "Ash", "Beech", "Cedar")
    alert_id = _post(ash, [beech], tlp="GREEN")
    page = f"/alerts/{alert_id}"
    forwarded = beech.post(f"{page}/forward", {"schools": [str(cedar.school.id)]}, page=page)
    assert forwarded.status_code == 303
    forward = forwarded.headers["Location"]
    assert (
        ash.post(f"{page}/withdraw", {"reason": REASON, "confirm": "yes"}, page=page).status_code
        == 303
    )
    shown = cedar.client.get(forward).get_data(as_text=True)
    assert "A page names two teachers." in shown
    assert "The original has since been shredded, so it could not be checked." in shown
