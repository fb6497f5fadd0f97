"""Second factors: authenticator apps and backup codes, the waiting session,
who must have one, removing and resetting, and step-up before dangerous
actions. Codes are computed in the tests (tests/network/factor_helpers.py)."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from crypto import custody
from network.cli import main
from network.db import own_transaction
from network.notifications.models import Notification
from schools import factors, invitations, leadership, personal, throttle
from schools.audit.models import AuditEvent
from schools.db import utcnow
from schools.models import (
    BackupCode,
    LeadershipKeyGeneration,
    LeadershipWrap,
    LoginSession,
    Member,
    Role,
    School,
    SecondFactor,
)
from tests.conftest import PASSWORD, post_form, sign_in
from tests.network import tier_helpers
from tests.network.alerts_helpers import audit_entries
from tests.network.api_helpers import member_named
from tests.network.factor_helpers import BACKUP, enrol_app, secret_on, totp

HEAD = "head@oakfield.example.org"
STAFF = "dsl@oakfield.example.org"


def _school(world, *, second_factors=True):
    cluster = world.cluster(second_factors=second_factors)
    school = world.school(cluster, "Oakfield Primary")
    world.person(Role.HEAD, HEAD, school=school)
    return cluster, school


def _events(app, action):
    with own_transaction(app) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


def _enrolled_head(world, client):
    _school(world)
    sign_in(client, HEAD)
    secret, codes = enrol_app(client)
    post_form(client, "/sign-out", {}, page="/account")
    return secret, codes


def _code_at_next_step(secret):
    """A code of a step not yet used (enrolment used the current one)."""
    return totp(secret, steps=1)


def test_head_in_a_default_cluster_is_taken_to_enrolment_and_nothing_else_opens(world, client):
    _school(world)
    response = sign_in(client, HEAD)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/second-factors")
    for page in ("/school", "/alerts", "/account", "/account/tokens"):
        refused = client.get(page)
        assert refused.status_code == 302, page
        assert refused.headers["Location"] == "/account/second-factors"
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/account/second-factors").get_data(as_text=True)
    assert "Set one up now to continue" in page


def test_authenticator_app_is_set_up_with_one_code_and_gives_eight_backup_codes_once(
    world, client, app
):
    _school(world)
    sign_in(client, HEAD)
    page = client.get("/account/second-factors/app").get_data(as_text=True)
    assert "<svg" in page  # the QR code
    secret = secret_on(page)
    response = post_form(client, "/account/second-factors/app", {"code": totp(secret)})
    shown = response.get_data(as_text=True)
    codes = BACKUP.findall(shown)
    assert len(codes) == 8
    assert len(set(codes)) == 8
    assert "shown only this once" in shown
    assert client.get("/school").status_code == 200  # the sign-in is finished
    with own_transaction(app) as session:
        factor = session.scalars(select(SecondFactor)).one()
        assert factor.confirmed_at is not None
        assert secret not in (factor.secret_sealed or b"")  # sealed, not in clear
        stored = [row.code_hash for row in session.scalars(select(BackupCode))]
    assert len(stored) == 8
    assert not any(code.encode() in digest for code in codes for digest in stored)
    assert [e.detail.get("kind") for e in _events(app, "member.second_factor_enrolled")] == ["totp"]
    # Shown once: the account pages never show them again.
    assert codes[0] not in client.get("/account/second-factors").get_data(as_text=True)


def test_sign_in_with_an_app_waits_for_the_code_then_opens_the_school(world, client, app):
    secret, _codes = _enrolled_head(world, client)
    response = sign_in(client, HEAD)
    assert response.headers["Location"].startswith("/sign-in/second-factor")
    assert client.get("/school").headers["Location"] == "/sign-in/second-factor"
    with own_transaction(app) as session:
        assert session.scalars(select(LoginSession)).one().state == "factor_pending"
    done = post_form(client, "/sign-in/second-factor", {"app-code": _code_at_next_step(secret)})
    assert done.status_code == 303
    assert done.headers["Location"] == "/home"
    assert client.get("/school").status_code == 200
    # The waiting pages serve only a waiting session: deny by default otherwise.
    assert client.get("/sign-in/second-factor").status_code == 403


def test_the_second_step_does_not_hash_the_password_again(world, client, monkeypatch):
    secret, _codes = _enrolled_head(world, client)
    sign_in(client, HEAD)
    calls = []
    real = custody.unwrap_seed_with_password

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(custody, "unwrap_seed_with_password", counting)
    done = post_form(client, "/sign-in/second-factor", {"app-code": _code_at_next_step(secret)})
    assert done.status_code == 303
    assert calls == []


def test_wrong_replayed_and_expired_codes_are_refused_with_a_clear_message_and_audited(
    world, client, app
):
    secret, _codes = _enrolled_head(world, client)
    sign_in(client, HEAD)
    wrong = "000000" if totp(secret) != "000000" else "111111"
    response = post_form(client, "/sign-in/second-factor", {"app-code": wrong})
    assert response.status_code == 401
    assert "That code is not right" in response.get_data(as_text=True)
    expired = totp(secret, time.time() - 150)
    response = post_form(client, "/sign-in/second-factor", {"app-code": expired})
    assert response.status_code == 401
    assert "That code has expired" in response.get_data(as_text=True)
    # The code enrolment used cannot be used again.
    with own_transaction(app) as session:
        used_step = session.scalars(select(SecondFactor.last_step)).one()
    response = post_form(
        client, "/sign-in/second-factor", {"app-code": totp(secret, used_step * 30)}
    )
    assert response.status_code == 401
    assert "already been used" in response.get_data(as_text=True)
    assert client.get("/school").status_code == 302  # nothing unlocked
    reasons = [e.detail["reason"] for e in _events(app, "member.second_factor_refused")]
    assert reasons == ["wrong", "expired", "replayed"]


def test_a_code_is_accepted_once_even_in_a_new_sign_in(world, client):
    secret, _codes = _enrolled_head(world, client)
    code = _code_at_next_step(secret)
    sign_in(client, HEAD)
    assert post_form(client, "/sign-in/second-factor", {"app-code": code}).status_code == 303
    post_form(client, "/sign-out", {}, page="/account")
    sign_in(client, HEAD)
    again = post_form(client, "/sign-in/second-factor", {"app-code": code})
    assert again.status_code == 401
    assert "already been used" in again.get_data(as_text=True)


def test_a_backup_code_signs_in_once(world, client, app):
    _secret, codes = _enrolled_head(world, client)
    sign_in(client, HEAD)
    used = post_form(client, "/sign-in/second-factor", {"backup-backup_code": codes[0].lower()})
    assert used.status_code == 303
    post_form(client, "/sign-out", {}, page="/account")
    sign_in(client, HEAD)
    again = post_form(client, "/sign-in/second-factor", {"backup-backup_code": codes[0]})
    assert again.status_code == 401
    assert "already been used" in again.get_data(as_text=True)
    assert [e.detail["left"] for e in _events(app, "member.backup_code_used")] == [7]


def test_five_wrong_codes_end_the_waiting_session(world, client, app):
    secret, _codes = _enrolled_head(world, client)
    sign_in(client, HEAD)
    wrong = "000000" if totp(secret) != "000000" else "111111"
    for _ in range(4):
        assert post_form(client, "/sign-in/second-factor", {"app-code": wrong}).status_code == 401
    last = post_form(client, "/sign-in/second-factor", {"app-code": wrong})
    assert last.status_code == 303
    assert last.headers["Location"] == "/sign-in"
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_staff_need_a_factor_only_when_the_coordinator_says_so(world, client, app):
    cluster, school = _school(world)
    world.person(Role.STAFF, STAFF, school=school)
    assert sign_in(client, STAFF).headers["Location"] == "/school"
    post_form(client, "/sign-out", {}, page="/school")
    coordinator = world.person(Role.COORDINATOR, "coord@north.example.org", cluster=cluster)
    coordinator_client = app.test_client()
    sign_in(coordinator_client, coordinator.email)
    enrol_app(coordinator_client)
    saved = post_form(coordinator_client, "/cluster/second-factors", {"leaders": "y", "staff": "y"})
    assert saved.status_code == 303
    assert [e.detail["after"] for e in _events(app, "cluster.second_factor_rule_changed")] == [
        "heads and coordinators: required; staff: required"
    ]
    assert sign_in(client, STAFF).headers["Location"] == "/account/second-factors"


def test_removing_a_factor_ends_the_members_other_sessions(world, client, app):
    secret, codes = _enrolled_head(world, client)
    elsewhere = app.test_client()
    sign_in(elsewhere, HEAD)
    post_form(elsewhere, "/sign-in/second-factor", {"app-code": _code_at_next_step(secret)})
    assert elsewhere.get("/school").status_code == 200
    sign_in(client, HEAD)
    post_form(client, "/sign-in/second-factor", {"backup-backup_code": codes[0]})
    with own_transaction(app) as session:
        factor_id = session.scalars(select(SecondFactor.id)).one()
    removed = post_form(
        client,
        f"/account/second-factors/{factor_id}/remove",
        {"confirm": "yes"},
        page="/account/second-factors",
    )
    assert removed.status_code == 303
    assert elsewhere.get("/school").status_code == 302  # signed out there
    assert client.get("/account/second-factors").status_code == 200  # not here
    [event] = _events(app, "member.second_factor_removed")
    assert event.detail["sessions_ended"] == 1


def test_a_head_resets_a_staff_members_factor_and_it_is_audited(world, client, app):
    _cluster, school = _school(world, second_factors=False)
    staff = world.person(Role.STAFF, STAFF, school=school)
    staff_client = app.test_client()
    sign_in(staff_client, STAFF)
    enrol_app(staff_client)
    sign_in(client, HEAD)
    reset = post_form(
        client, f"/school/members/{staff.member.id}/reset-second-factor", {}, page="/school"
    )
    assert reset.status_code == 303
    assert staff_client.get("/school").status_code == 302  # their session ended
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(SecondFactor)) == 0
        assert session.scalar(select(func.count()).select_from(BackupCode)) == 0
    [event] = _events(app, "member.second_factors_reset")
    assert event.object_id == str(staff.member.id)


def test_dangerous_actions_need_the_password_and_factor_within_five_minutes(world, client, app):
    secret, codes = _enrolled_head(world, client)
    sign_in(client, HEAD)
    post_form(client, "/sign-in/second-factor", {"app-code": _code_at_next_step(secret)})
    with own_transaction(app) as session:
        login = session.scalars(select(LoginSession)).one()
        login.confirmed_at = login.confirmed_at - timedelta(minutes=6)
    made = post_form(
        client,
        "/account/tokens",
        {"name": "MIS", "scopes": "inbox:read", "expires_days": "30"},
        headers={"Referer": "http://localhost/account/tokens"},
    )
    assert made.status_code == 303
    assert made.headers["Location"] == "/account/confirm?next=/account/tokens"
    wrong = post_form(
        client,
        "/account/confirm",
        {"password": PASSWORD, "code": "000000" if totp(secret) != "000000" else "111111"},
    )
    assert wrong.status_code == 401
    assert _events(app, "member.identity_confirmation_refused")
    confirmed = post_form(
        client,
        "/account/confirm?next=/account/tokens",
        {"password": PASSWORD, "code": codes[0], "next": "/account/tokens"},
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == "/account/tokens"
    with own_transaction(app) as session:
        member = session.scalars(select(Member).where(Member.email == HEAD)).one()
        assert session.scalars(select(LoginSession)).one().confirmed_at is not None
    assert _events(app, "member.identity_confirmed")[0].object_id == str(member.id)


def test_codes_guessed_after_the_password_count_towards_the_account_lock(world, client, app):
    secret, _codes = _enrolled_head(world, client)
    wrong = "000000" if totp(secret) != "000000" else "111111"
    for _round in range(2):
        with own_transaction(app) as session:
            session.execute(update(Member).values(sign_in_wait_until=None))
        assert sign_in(client, HEAD).status_code == 302
        for _ in range(factors.MAX_FACTOR_FAILURES):
            post_form(client, "/sign-in/second-factor", {"app-code": wrong})
    assert throttle.LOCK_AFTER == 2 * factors.MAX_FACTOR_FAILURES
    assert _events(app, "member.sign_in_locked")
    locked = sign_in(client, HEAD)
    assert locked.status_code == 429
    with own_transaction(app) as session:
        mails = session.scalars(
            select(Notification).where(Notification.event == "account.locked")
        ).all()
    assert [m.target for m in mails] == [HEAD]


def test_the_recovery_code_removes_a_heads_second_factors(world, client, app):
    cluster = world.cluster(second_factors=True)
    school = world.school(cluster, "Oakfield Primary")
    token = world.invite(Role.HEAD, HEAD, school=school)
    with own_transaction(app) as session:
        accepted = invitations.accept_invitation(
            session, token, "Amara", PASSWORD, PASSWORD, app.config["ALERTNET"].password_params
        )
        code = accepted.recovery_code
    sign_in(client, HEAD)
    enrol_app(client)
    post_form(client, "/sign-out", {}, page="/account")
    fresh = client.__class__(app)
    recovered = post_form(
        fresh,
        "/recover",
        {
            "email": HEAD,
            "code": code,
            "password": "a new long passphrase",
            "confirm": "a new long passphrase",
        },
    )
    assert recovered.status_code == 200
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(SecondFactor)) == 0
    [event] = _events(app, "member.second_factors_reset")
    assert event.detail["reason"] == "recovery code"
    # A factor is required of heads here: the recovered head sets one up next.
    assert fresh.get("/school").headers["Location"] == "/account/second-factors"


def test_the_coordinator_resets_a_heads_lost_factor_from_the_schools_page(world, client, app):
    cluster, school = _school(world, second_factors=False)
    head_client = app.test_client()
    sign_in(head_client, HEAD)
    enrol_app(head_client)
    coordinator = world.person(Role.COORDINATOR, "coord@example.org", cluster=cluster)
    sign_in(client, coordinator.email)
    head = member_named(app, HEAD)
    page = client.get(f"/cluster/schools/{school.id}").get_data(as_text=True)
    assert f"/school/members/{head.id}/reset-second-factor" in page
    asked = client.get(f"/school/members/{head.id}/reset-second-factor").get_data(as_text=True)
    assert "This cannot be undone." in asked
    assert f'href="/cluster/schools/{school.id}"' in asked
    done = post_form(
        client,
        f"/school/members/{head.id}/reset-second-factor",
        {},
        page=f"/cluster/schools/{school.id}",
    )
    assert done.status_code == 303
    assert done.headers["Location"] == f"/cluster/schools/{school.id}"
    assert head_client.get("/school").status_code == 302  # their session ended
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(SecondFactor)) == 0
    [event] = _events(app, "member.second_factors_reset")
    assert event.object_id == str(head.id)
    assert event.actor_id == coordinator.member.id


def test_a_coordinator_of_another_cluster_and_staff_cannot_reset_a_factor(world, client, app):
    _cluster, school = _school(world, second_factors=False)
    staff = world.person(Role.STAFF, STAFF, school=school)
    elsewhere = world.cluster(name="Elsewhere", second_factors=False)
    outsider = world.person(Role.COORDINATOR, "coord@elsewhere.example.org", cluster=elsewhere)
    head = member_named(app, HEAD)
    sign_in(client, outsider.email)
    assert client.get(f"/school/members/{head.id}/reset-second-factor").status_code == 404
    refused = post_form(
        client, f"/school/members/{head.id}/reset-second-factor", {}, page="/account"
    )
    assert refused.status_code == 404
    post_form(client, "/sign-out", {}, page="/account")
    sign_in(client, staff.email)
    refused = post_form(
        client, f"/school/members/{head.id}/reset-second-factor", {}, page="/account"
    )
    assert refused.status_code == 403
    assert _events(app, "member.second_factors_reset") == []


def test_the_operator_unlocks_an_account_and_resets_a_factor_at_the_command_line(
    world, client, app, runner
):
    _school(world, second_factors=False)
    sign_in(client, HEAD)
    enrol_app(client)
    with own_transaction(app) as session:
        member = session.scalars(select(Member).where(Member.email == HEAD)).one()
        member.locked_until = utcnow() + timedelta(hours=1)
    unlocked = runner.invoke(main, args=["member", "unlock", HEAD])
    assert unlocked.exit_code == 0, unlocked.output
    assert "can sign in again" in unlocked.output
    asked = runner.invoke(main, args=["member", "reset-second-factor", HEAD], input="n\n")
    assert asked.exit_code == 1  # declined: nothing removed
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(SecondFactor)) == 1
    reset = runner.invoke(main, args=["member", "reset-second-factor", "--yes", HEAD])
    assert reset.exit_code == 0, reset.output
    assert "second factors were removed and 1 session(s) ended" in reset.output
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(SecondFactor)) == 0
        assert (
            session.scalars(select(Member).where(Member.email == HEAD)).one().locked_until is None
        )
    assert [e.action for e in _events(app, "member.sign_in_unlocked")] == [
        "member.sign_in_unlocked"
    ]
    unknown = runner.invoke(main, args=["member", "unlock", "nobody@oakfield.example.org"])
    assert unknown.exit_code == 2


def test_a_head_who_signs_in_with_a_factor_has_personal_keys_and_can_be_named(world, client, app):
    """Heads sign in with a second factor by default, so their password step
    never completes a sign-in: their personal keys are made there all the
    same, held by the finished session, and a sender can name them."""
    secret, _codes = _enrolled_head(world, client)
    sign_in(client, HEAD)
    done = post_form(client, "/sign-in/second-factor", {"app-code": _code_at_next_step(secret)})
    assert done.status_code == 303
    head = member_named(app, HEAD)
    # What a sender's form checks before naming someone (network/alerts/named.py).
    with own_transaction(app) as session:
        assert head.id in personal.current_of(session, [head.id])
    held = personal.personal_of(tier_helpers.session_keys(app, client))
    assert held is not None
    assert held[0] == head.id


def test_a_head_who_signs_in_with_a_factor_gives_the_leadership_keys_to_a_dsl_without_them(
    world, client, app
):
    """A DSL who joined by an invitation that carried no keys holds no wrap of
    the leadership bundle until a leadership colleague's sign-in gives them
    one. Heads sign in with a factor by default, so the sign-in finished by
    the code must give it, as a sign-in by password alone does."""
    _cluster, school = _school(world)
    sign_in(client, HEAD)
    secret, _codes = enrol_app(client)
    post_form(client, "/sign-out", {}, page="/account")
    token = world.invite(Role.DSL, STAFF, school=school)
    with own_transaction(app) as session:
        joined = invitations.accept_invitation(
            session, token, "Dee", PASSWORD, PASSWORD, app.config["ALERTNET"].password_params
        )
        dsl, credential = joined.member, joined.credential
        assert leadership.unwrap_for_member(session, dsl, credential) is None

    sign_in(client, HEAD)
    assert leadership.leadership_of(tier_helpers.session_keys(app, client)) is not None
    with own_transaction(app) as session:
        # The password step gives nothing yet: the session waits for its code.
        assert leadership.unwrap_for_member(session, dsl, credential) is None
    done = post_form(client, "/sign-in/second-factor", {"app-code": _code_at_next_step(secret)})
    assert done.status_code == 303
    with own_transaction(app) as session:
        dsl = session.get(Member, dsl.id)
        given = leadership.unwrap_for_member(session, dsl, credential)
        assert given is not None
        assert given.generation == session.get(School, school.id).leadership_generation
    [confirmed] = audit_entries(app, "member.leadership_keys_confirmed")
    assert confirmed.object_id == str(dsl.id)
    assert confirmed.actor_id == member_named(app, HEAD).id


def test_a_head_who_signs_in_with_a_factor_makes_a_missing_leadership_bundle(world, client, app):
    """A school with no leadership bundle (one made before audience tiers) gets
    one at its head's next sign-in, factor or not, and the finished session
    holds it: made at the password step, wrapped only to the credential the
    password has just opened, as the head's personal keys are."""
    _cluster, school = _school(world)
    sign_in(client, HEAD)
    secret, _codes = enrol_app(client)
    post_form(client, "/sign-out", {}, page="/account")
    with own_transaction(app) as session:
        session.execute(delete(LeadershipWrap))
        session.execute(delete(LeadershipKeyGeneration))
        session.execute(update(School).values(leadership_generation=0))

    sign_in(client, HEAD)
    done = post_form(client, "/sign-in/second-factor", {"app-code": _code_at_next_step(secret)})
    assert done.status_code == 303
    with own_transaction(app) as session:
        assert session.get(School, school.id).leadership_generation == 1
    held = leadership.leadership_of(tier_helpers.session_keys(app, client))
    assert held is not None
    assert held.generation == 1
