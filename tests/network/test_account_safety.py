"""Per-account throttling (waits, then a lock a head or coordinator can lift,
with an email), the email about a sign-in from a new browser, and the pages
that ask in words before something cannot be undone."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from crypto import custody
from network.db import own_transaction
from network.notifications.models import Notification
from network.notifications.render import describe
from schools import throttle
from schools.db import utcnow
from schools.models import Member, Role, SignInGuess
from tests.conftest import PASSWORD, post_form, sign_in
from tests.network.alerts_helpers import audit_entries

HEAD = "head@oakfield.example.org"
STAFF = "dsl@oakfield.example.org"
WRONG = "not the right password at all"


def _school(world):
    cluster = world.cluster()
    school = world.school(cluster, "Oakfield Primary")
    world.person(Role.HEAD, HEAD, school=school)
    staff = world.person(Role.STAFF, STAFF, school=school)
    return cluster, school, staff


def _time_passes(app, email):
    """The wait is over (as if its seconds had passed)."""
    with own_transaction(app) as session:
        for counted in (Member, SignInGuess):
            session.execute(
                update(counted).values(sign_in_wait_until=utcnow() - timedelta(seconds=1))
            )


def _mail(app, event):
    with own_transaction(app) as session:
        return list(session.scalars(select(Notification).where(Notification.event == event)))


def _attempt(client, email, password, address):
    """A sign-in from its own address: the per-address limit never applies, as
    for a guesser spreading attempts over many machines."""
    return post_form(
        client,
        "/sign-in",
        {"email": email, "password": password},
        environ_base={"REMOTE_ADDR": f"192.0.2.{address}"},
    )


def _lock(app, email):
    with own_transaction(app) as session:
        for _ in range(throttle.LOCK_AFTER):
            throttle.note_failure(session, email, utcnow())


def _answers(client, email, password, offset):
    """What the sign-in page says, in order, to wrong passwords until the lock."""
    said = []
    for n in range(throttle.LOCK_AFTER + 2):
        _time_passes(client.application, email)
        answer = _attempt(client, email, password, offset + n)
        body = answer.get_data(as_text=True)
        message = re.search(
            r'id="email-error"><span class="visually-hidden">Error:</span>([^<]*)<', body
        )
        assert message, body
        said.append((answer.status_code, message.group(1).strip()))
    return said


def test_the_waits_and_the_lock_never_say_whether_an_account_exists(world, client, app):
    _school(world)
    real = _answers(client, STAFF, WRONG, 0)
    nobody = _answers(client, "nobody@oakfield.example.org", WRONG, 100)
    assert [status for status, _ in real] == [status for status, _ in nobody]
    assert real == nobody
    assert real[-1][0] == 429
    assert "locked for an hour" in real[-1][1]
    with own_transaction(app) as session:
        [guess] = session.scalars(select(SignInGuess)).all()
        assert b"nobody" not in guess.address_hash
        assert guess.locked_until is not None
    assert len(_mail(app, "account.locked")) == 1  # the member's, nobody else's


def test_counts_for_addresses_that_are_nobodys_are_forgotten_after_a_day(world, app):
    _school(world)
    with own_transaction(app) as session:
        throttle.note_failure(session, "nobody@oakfield.example.org", utcnow() - timedelta(days=2))
        throttle.note_failure(session, "someone@oakfield.example.org", utcnow())
        assert session.scalar(select(func.count()).select_from(SignInGuess)) == 1


def test_wrong_passwords_make_the_account_wait_longer_then_lock_it_and_email_the_member(
    world, client, app, monkeypatch
):
    _school(world)
    for n in range(throttle.FREE_FAILURES):
        assert _attempt(client, STAFF, WRONG, n).status_code == 401
    waiting = _attempt(client, STAFF, WRONG, 50)
    assert waiting.status_code == 429
    assert "Wait 2 second(s)" in waiting.get_data(as_text=True)
    for n in range(throttle.FREE_FAILURES, throttle.LOCK_AFTER):
        _time_passes(app, STAFF)
        assert _attempt(client, STAFF, WRONG, n).status_code == 401
    hashed = []
    real = custody.unwrap_seed_with_password
    monkeypatch.setattr(
        custody, "unwrap_seed_with_password", lambda *a: hashed.append(1) or real(*a)
    )
    locked = _attempt(client, STAFF, PASSWORD, 99)  # even the right password
    assert locked.status_code == 429
    assert "locked for an hour" in locked.get_data(as_text=True)
    assert hashed == []  # refused before any password hashing
    [event] = audit_entries(app, "member.sign_in_locked")
    [mail] = _mail(app, "account.locked")
    assert mail.channel == "email"
    assert mail.target == STAFF
    assert "locked" in describe(mail.payload, "https://hub.example.org", _zone()).subject
    assert event.object_id == str(mail.member_id)
    assert audit_entries(app, "member.sign_in_throttled")


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/London")


def test_a_head_unlocks_a_staff_member_and_it_is_audited(world, client, app):
    _cluster, _oakfield, staff = _school(world)
    _lock(app, STAFF)
    sign_in(client, HEAD)
    page = client.get("/school").get_data(as_text=True)
    assert "locked after wrong passwords" in page
    unlocked = post_form(
        client, f"/members/{staff.member.id}/unlock", {"next": "/school"}, page="/school"
    )
    assert unlocked.status_code == 303
    assert unlocked.headers["Location"] == "/school"
    [event] = audit_entries(app, "member.sign_in_unlocked")
    assert event.object_id == str(staff.member.id)
    assert sign_in(app.test_client(), STAFF).status_code == 302


def test_the_coordinator_unlocks_a_head_but_staff_of_another_school_cannot(world, client, app):
    cluster, _oakfield, _staff = _school(world)
    other = world.school(cluster, "Elm Academy")
    world.person(Role.HEAD, "head@elm.example.org", school=other)
    coordinator = world.person(Role.COORDINATOR, "coord@north.example.org", cluster=cluster)
    _lock(app, HEAD)
    with own_transaction(app) as session:
        head = session.scalars(select(Member).where(Member.email == HEAD)).one()
    sign_in(client, "head@elm.example.org")
    refused = post_form(client, f"/members/{head.id}/unlock", {}, page="/school")
    assert refused.status_code == 404
    coordinator_client = app.test_client()
    sign_in(coordinator_client, coordinator.email)
    unlocked = post_form(coordinator_client, f"/members/{head.id}/unlock", {}, page="/account")
    assert unlocked.status_code == 303
    assert sign_in(app.test_client(), HEAD).status_code == 302


def test_a_sign_in_from_a_new_browser_emails_the_member(world, app):
    _school(world)
    laptop, phone = app.test_client(), app.test_client()
    assert sign_in(laptop, STAFF).status_code == 302
    assert laptop.get_cookie("alertnet_device") is not None
    assert _mail(app, "account.new_browser") == []  # the first browser is no news
    post_form(laptop, "/sign-out", {}, page="/account")
    sign_in(laptop, STAFF)
    assert _mail(app, "account.new_browser") == []  # a browser seen before
    sign_in(phone, STAFF)
    [mail] = _mail(app, "account.new_browser")
    assert mail.target == STAFF
    assert len(audit_entries(app, "member.new_browser")) == 1  # the news, not the first browser
    rendered = describe(mail.payload, "https://hub.example.org", _zone())
    assert "another browser" in rendered.subject
    cookie = laptop.get_cookie("alertnet_device")
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_removing_a_member_and_resetting_a_factor_ask_in_words_first(world, client):
    _cluster, _oakfield, staff = _school(world)
    sign_in(client, HEAD)
    removal = client.get(f"/school/members/{staff.member.id}/remove").get_data(as_text=True)
    assert "This cannot be undone." in removal
    assert "Remove Test Person" in removal
    reset = client.get(f"/school/members/{staff.member.id}/reset-second-factor")
    assert "This cannot be undone." in reset.get_data(as_text=True)
