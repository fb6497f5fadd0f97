"""Every form says every problem in one response (issue 17): a field the
form's own validators refuse and a problem only the service finds are both
beside their fields and in the summary, and nothing is written."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from network.alerts.deadlines import AckDeadline
from network.alerts.guidance import DEFAULT_GUIDANCE
from network.alerts.models import Alert, Referral, ThreadItem
from network.alerts.out_of_hours import OutOfHoursContact
from network.alerts.retention import DEFAULT_RETENTION_DAYS, RetentionPeriod
from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import Cluster, Invitation, Role, School, SchoolKind
from tests.factories import post_form, sign_in
from tests.network.alerts_helpers import count_rows, integrate_queued_reads


def _summary(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert found, "no error summary"
    return found.group(0)


def _refused(response, *expected: tuple[str, str]) -> None:
    """A 422 naming each (field, message) beside the field and in the summary."""
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    summary = _summary(html)
    for field, message in expected:
        beside = re.search(rf'id="{field}-error">(.*?)</p>', html, re.S)
        assert beside, field
        assert message in beside.group(1), (field, message)
        assert message in summary, message


def _actions(app) -> list[str]:
    integrate_queued_reads(app)
    with own_transaction(app) as session:
        return list(session.scalars(select(AuditEvent.action)))


def test_the_invite_form_says_a_long_name_and_a_bad_address_at_once(app, ash):
    invited = count_rows(app, Invitation)
    response = ash.post(
        "/school/invite",
        {"name": "x" * 201, "email": "not-an-address", "role": "staff"},
        page="/school",
    )
    _refused(
        response,
        ("name", "Field cannot be longer than 200 characters."),
        ("email", "Enter an email address like name@school.org.uk."),
    )
    # A colleague's address is found with a field the form refused, too.
    again = ash.post(
        "/school/invite",
        {"name": "x" * 201, "email": ash.person.email, "role": "staff"},
        page="/school",
    )
    _refused(again, ("email", "already has an account on this hub"))
    assert count_rows(app, Invitation) == invited


def test_a_new_cluster_says_its_name_and_the_coordinators_address_at_once(app, world):
    world.person(Role.HUB_ADMIN, "admin@hub.example.org")
    world.cluster("Riverside")
    admin = app.test_client()
    sign_in(admin, "admin@hub.example.org")
    response = post_form(
        admin,
        "/admin/clusters",
        {"name": "riverside", "coordinator_email": "", "coordinator_name": "y" * 201},
    )
    _refused(
        response,
        ("name", "A cluster called 'riverside' already exists."),
        ("coordinator_email", "Enter the coordinator's email address."),
        ("coordinator_name", "Field cannot be longer than 200 characters."),
    )
    response = post_form(
        admin, "/admin/clusters", {"name": "", "coordinator_email": "admin@hub.example.org"}
    )
    _refused(
        response,
        ("name", "Enter the cluster name."),
        ("coordinator_email", "admin@hub.example.org already has an account on this hub."),
    )
    assert count_rows(app, Cluster) == 1
    assert count_rows(app, Invitation, Invitation.role == Role.COORDINATOR) == 0


def test_admitting_a_school_says_the_school_and_its_head_at_once(app, world, cluster, coordinator):
    world.school(cluster, "First")  # URN 100001
    response = post_form(
        coordinator,
        "/cluster/schools",
        {
            "name": "",
            "urn": "100001",
            "address": "",
            "head_email": "coord@riverside.example.org",
            "head_name": "",
        },
    )
    _refused(
        response,
        ("name", "Enter the school name."),
        ("urn", "URN 100001 is already registered (First)."),
        ("head_email", "coord@riverside.example.org already has an account on this hub."),
    )
    response = post_form(
        coordinator,
        "/cluster/schools",
        {"name": "Second", "urn": "12ab", "head_email": "", "head_name": "z" * 201},
    )
    _refused(
        response,
        ("urn", "six-digit DfE Unique Reference Number"),
        ("head_email", "Enter the head's email address."),
        ("head_name", "Field cannot be longer than 200 characters."),
    )
    assert count_rows(app, School, School.kind == SchoolKind.SCHOOL) == 1
    assert count_rows(app, Invitation, Invitation.role == Role.HEAD) == 0


def test_retention_says_a_word_for_a_number_and_a_period_too_short_at_once(
    app, world, cluster, coordinator
):
    form = {f"days_{c}": str(days) for c, days in DEFAULT_RETENTION_DAYS.items()}
    response = post_form(
        coordinator,
        "/cluster/settings",
        {**form, "days_harassment": "a year", "days_defamation": "7"},
    )
    _refused(
        response,
        ("days_harassment", "Not a valid integer value."),
        ("days_defamation", "Keep alerts between 30 and 9,150 days"),
    )
    assert count_rows(app, RetentionPeriod) == 0


def test_deadlines_say_a_word_for_a_number_and_too_many_school_days_at_once(
    app, world, cluster, coordinator
):
    severities = ("info", "low", "medium", "high", "urgent")
    form = {f"amount_{s}": "0" for s in severities} | {f"unit_{s}": "hours" for s in severities}
    form |= {
        "amount_high": "soon",
        "amount_urgent": "20",
        "unit_urgent": "school_days",
        "amount_low": "11",
        "unit_low": "school_days",
    }
    response = post_form(coordinator, "/notifications/deadlines", form)
    _refused(
        response,
        ("amount_high", "Not a valid integer value."),
        ("amount_urgent", "Enter a number from 0 (no deadline) to 10."),
        ("amount_low", "Enter a number from 0 (no deadline) to 10."),
    )
    assert count_rows(app, AckDeadline) == 0
    assert "ack_deadlines.changed" not in _actions(app)


def test_accepting_an_invitation_says_a_missing_name_and_a_weak_password_at_once(app, world):
    cluster = world.cluster()
    token = world.invite(Role.COORDINATOR, "c@x.example.org", cluster=cluster)
    response = post_form(
        app.test_client(),
        f"/invitations/{token}",
        {"name": "", "password": "short", "confirm": "other"},
    )
    _refused(
        response,
        ("name", "Enter your name."),
        ("password", "at least 12 characters"),
    )
    assert count_rows(app, Invitation, Invitation.accepted_at.is_not(None)) == 0


def test_the_out_of_hours_contact_says_a_long_phone_and_a_bad_address_at_once(app, ash):
    response = ash.post(
        "/school/out-of-hours", {"name": "", "email": "not an address", "phone": "1" * 41}
    )
    _refused(
        response,
        ("phone", "Write at most 40 characters."),
        ("email", "Enter an email address like dsl.oncall@school.example.org"),
        ("name", "Enter the contact's name."),
    )
    assert count_rows(app, OutOfHoursContact) == 0


def _alert_to(sender, recipient) -> str:
    response = sender.post_alert([recipient.school], title="Threats to a teacher")
    assert response.status_code == 303
    return str(response.headers["Location"].rsplit("/", 1)[1])


def test_an_action_says_a_long_reference_and_a_future_referral_at_once(app, pair):
    ash, beech = pair
    alert_id = _alert_to(ash, beech)
    items = count_rows(app, ThreadItem)
    response = beech.post(
        f"/alerts/{alert_id}/actions",
        {
            "action_type": "fbi",
            "reference": "x" * 101,
            "referred_on": str(date.today() + timedelta(days=30)),
            "due_on": "2020-01-01",
        },
        page=f"/alerts/{alert_id}",
    )
    _refused(
        response,
        ("action_type", "that one is not known"),
        ("reference", "Write at most 100 characters."),
        ("referred_on", "The date of the referral is in the future"),
        ("due_on", "has passed"),
    )
    assert (count_rows(app, ThreadItem), count_rows(app, Referral)) == (items, 0)


def test_an_outcome_says_an_unknown_outcome_and_a_day_that_is_no_date_at_once(app, pair):
    ash, beech = pair
    alert_id = _alert_to(ash, beech)
    made = beech.post(
        f"/alerts/{alert_id}/actions", {"action_type": "police"}, page=f"/alerts/{alert_id}"
    )
    assert made.status_code == 303
    with own_transaction(app) as session:
        referral_id = session.scalars(select(Referral.id)).one()
    items = count_rows(app, ThreadItem)
    url = f"/school/referrals/{referral_id}/outcome"
    response = beech.post(url, {"outcome": "lost", "next_due_on": "next week"}, page=url)
    _refused(
        response,
        ("outcome", "Choose the outcome from the list."),
        ("next_due_on", "Not a valid date value."),
    )
    assert count_rows(app, ThreadItem) == items


def test_a_sighting_says_a_long_place_and_a_future_day_at_once(app, pair):
    ash, beech = pair
    alert_id = _alert_to(ash, beech)
    items = count_rows(app, ThreadItem)
    response = beech.post(
        f"/alerts/{alert_id}/sightings",
        {"seen_on": str(date.today() + timedelta(days=30)), "where": "y" * 501},
        page=f"/alerts/{alert_id}",
    )
    _refused(
        response,
        ("where", "Write at most 500 characters."),
        ("seen_on", "The date seen is in the future."),
    )
    assert count_rows(app, ThreadItem) == items


def test_recovery_says_a_missing_code_and_a_weak_password_at_once(app, ash):
    client = app.test_client()
    response = post_form(
        client,
        "/recover",
        {"email": ash.person.email, "code": "", "password": "short", "confirm": "short"},
    )
    _refused(
        response,
        ("code", "Enter the recovery code."),
        ("password", "at least 12 characters"),
    )
    # A wrong code and a weak password: both, and nothing says which part was wrong.
    response = post_form(
        client,
        "/recover",
        {"email": ash.person.email, "code": "AAAA-BBBB", "password": "short", "confirm": "x"},
    )
    _refused(
        response,
        ("code", "That email address and recovery code do not match."),
        ("password", "at least 12 characters"),
    )


def test_guidance_says_a_long_summary_and_an_unchanged_text_at_once(app, coordinator):
    page = "/cluster/guidance/harassment"
    response = post_form(
        coordinator, page, {"text": DEFAULT_GUIDANCE["harassment"], "summary": "s" * 501}
    )
    _refused(
        response,
        ("summary", "Write at most 500 characters."),
        ("text", "same as the version shown now"),
    )
    assert "guidance.edited" not in _actions(app)


@pytest.mark.heads("Ash", "Beech", "Cedar")
def test_a_forward_says_a_long_note_and_no_school_chosen_at_once(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    response = ash.post_alert([beech.school], title="Fake account", tlp="GREEN")
    alert_id = str(response.headers["Location"].rsplit("/", 1)[1])
    response = beech.post(
        f"/alerts/{alert_id}/forward", {"note": "n" * 5_001}, page=f"/alerts/{alert_id}"
    )
    _refused(response, ("note", "Write at most 5,000 characters."))
    html = unescape(response.get_data(as_text=True))
    chosen = "Choose at least one school to forward it to."
    assert chosen in _summary(html)
    fieldset = html.split('id="forward-schools"', 1)[1].split("</fieldset>", 1)[0]
    assert f'<p class="error-message">{chosen}</p>' in fieldset
    assert count_rows(app, Alert, Alert.forwarded_from_id.is_not(None)) == 0


def test_a_forward_says_a_long_note_and_a_school_that_already_has_it_at_once(app, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    response = ash.post_alert([beech.school], title="Fake account", tlp="GREEN")
    alert_id = str(response.headers["Location"].rsplit("/", 1)[1])
    to_cedar = {"schools": [str(cedar.school.id)]}
    first = beech.post(f"/alerts/{alert_id}/forward", to_cedar, page=f"/alerts/{alert_id}")
    assert first.status_code == 303
    again = beech.post(
        f"/alerts/{alert_id}/forward",
        {**to_cedar, "note": "n" * 5_001},
        page=f"/alerts/{alert_id}",
    )
    # Both in one answer (Cedar was the only school left to offer, so the
    # form itself is no longer shown beside them).
    assert again.status_code == 422
    summary = _summary(unescape(again.get_data(as_text=True)))
    assert "Write at most 5,000 characters." in summary
    assert "Cedar already has this alert." in summary
    # Alone, it is a conflict with the forward made before (as two at once are).
    alone = beech.post(f"/alerts/{alert_id}/forward", to_cedar, page=f"/alerts/{alert_id}")
    assert alone.status_code == 409
    assert "Cedar already has this alert." in unescape(alone.get_data(as_text=True))
    assert count_rows(app, Alert, Alert.forwarded_from_id.is_not(None)) == 1
