"""A suspended school neither posts nor receives (docs/alerts.md). Its members
still sign in and read what the school holds, and may take access away; every
other route that changes anything refuses them, on the pages and through the
API, and writes nothing.

The walk below takes every unsafe route from the app's URL map, so a route
added later is walked too: it fails here until it refuses suspended schools,
or is added to ALLOWED with the reason."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import MetaData, select
from werkzeug.routing import Rule

from network.db import engine, own_transaction
from network.notifications import subscriptions as notify
from network.notifications import watches
from schools import directory, invitations, policy
from schools.errors import Forbidden
from schools.models import ApiToken, Cluster, Invitation, Member, Role, School
from tests.conftest import PASSWORD, csrf_token, post_form, sign_in
from tests.network.alerts_helpers import Head, keys_of, make_head
from tests.network.api_helpers import Api, alert_body, api_for, token_id

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# What a member of a suspended school may still do, and why. Each only lets
# them in to read what the school already holds, or takes access away.
ALLOWED = {
    "auth.sign_in": "members still sign in to read what their school holds",
    "auth.sign_out": "signing out ends access",
    "auth.sign_out_everywhere": "ends every session: access taken away",
    "auth.account": "a member changes their own password to protect the account",
    "auth.recover": "a head who forgot the password regains the school's own keys",
    "tokens.revoke": "revoking an API token takes access away",
    "school.withdraw": "withdrawing an invitation takes access away",
    "school.remove": "removing a member takes access away (the keys move on)",
    "school.recovery_code": "a new recovery code spends the old one",
    "inbox_actions.mark_unread": "a member's own reading aid: nothing reaches the network",
    "api.mark_unread": "a member's own reading aid: nothing reaches the network",
    "factors.second_factor": "finishing a sign-in, to read what the school holds",
    "factors.passkey_sign_in_options": "finishing a sign-in, to read what the school holds",
    "factors.passkey_sign_in": "finishing a sign-in, to read what the school holds",
    "factors.enrol_app": "a member protects their own account",
    "factors.passkey_register_options": "a member protects their own account",
    "factors.passkey_register": "a member protects their own account",
    "factors.new_backup_codes": "new backup codes spend the old ones",
    "factors.remove": "removing a second factor ends the member's other sessions",
    "factors.confirm": "confirming one's identity changes nothing of the school's",
    "factors.confirm_passkey_options": "confirming one's identity changes nothing of the school's",
    "factors.confirm_passkey": "confirming one's identity changes nothing of the school's",
    "factors.reset": "a head's reset takes a member's access away until they set one up",
    "factors.unlock": "lets a member sign in again to read, as a suspended school's members may",
}
# The API's catch-all: it only says an operation does not exist (404) or which
# methods a path answers (405); it changes nothing.
NOT_AN_OPERATION = {"api.unknown": 404}


@dataclass
class Suspended:
    """Ash, suspended, with something of each kind to act on; Beech and Cedar active."""

    head: Head
    api: Api
    beech: School
    cedar: School
    received: str  # an alert Beech sent to Ash
    sent: str  # an alert Ash sent to Beech
    subscription: uuid.UUID  # Ash's school webhook
    token: uuid.UUID  # Ash's head's API token (the one `api` sends)
    staff: uuid.UUID  # a member of Ash's staff
    invitation: uuid.UUID  # an open invitation to Ash
    invitation_token: str

    def arguments(self, rule: Rule) -> dict[str, Any]:
        values: dict[str, Any] = {
            "alert_id": self.sent
            if rule.endpoint.rpartition(".")[2] in ("resolve", "withdraw", "correct")
            else self.received,
            "subscription_id": self.subscription,
            "token_id": self.token,
            "member_id": self.staff,
            "factor_id": uuid.uuid4(),
            # A referral of no school: the suspension's refusal comes before any lookup.
            "referral_id": uuid.uuid4(),
            "held_id": uuid.uuid4(),
            "invitation_id": self.invitation,
            "school_id": self.head.school.id,
            "generation": 1,
            "entry_id": 1,
            "code": "facebook",
            "token": self.invitation_token,
            "rest": "no-such-operation",
            "category": "harassment",
            "version": 1,
        }
        missing = set(rule.arguments) - values.keys()
        assert not missing, f"give the walk a value for {sorted(missing)} of {rule.rule}"
        return {name: values[name] for name in rule.arguments}

    def form(self, endpoint: str) -> dict[str, Any]:
        """A valid form for each page: a refusal must be the suspension's."""
        digest = {"timing": "immediate", "digest_time": "07:30", "min_severity": "info"}
        return {
            "alerts.new": {
                "category": "staff_named",
                "severity": "high",
                "platform": "facebook",
                "tlp": "AMBER",
                "title": "Fake account naming staff",
                "audience": "schools",
                "schools": [str(self.beech.id)],
            },
            "alerts.acknowledge": {"comment": "Seen by the DSL"},
            "alerts.reply": {"text": "We have seen the same page."},
            "alerts.record_action": {"action_type": "reported_platform", "note": "Done."},
            "referrals.outcome": {"outcome": "content_removed"},
            "alerts.record_sighting": {"where": "In a parents' group"},
            "alerts.forward": {"schools": [str(self.cedar.id)], "note": "For you too"},
            "alerts.resolve": {"resolve_note": "Page removed.", "confirm": "y"},
            "alerts.close": {"close_note": "Dealt with here."},
            "alerts.withdraw": {"reason": "Sent in error."},
            "alerts.correct": {"correction": "It was Instagram, not Facebook."},
            "school.set_may_post": {"may_post": "yes"},
            "school.nation": {"nation": "scotland"},
            "out_of_hours.contact": {"name": "Dana Price", "email": "oncall@ash.example.org"},
            "school.review": {"reviews_staff_alerts": "on"},
            "drafts.request_changes": {"changes-text": "Shorter, please."},
            "drafts.reject": {"reject-text": "Not for other schools."},
            "notifications.watch": {"by_email": "y"},
            "notifications.new_subscription": {"channel": "in_app", "name": "Mine", **digest},
            "notifications.edit_subscription": {
                "channel": "webhook",
                "name": "MIS",
                "target_url": "https://127.0.0.1/hook",
                **digest,
            },
            "tokens.create": {"name": "MIS sync", "scopes": ["inbox:read"], "expires_days": "30"},
            "school.invite": {"email": "new@ash.example.org", "role": "staff"},
            "auth.accept": {"name": "Newcomer", "password": PASSWORD, "confirm": PASSWORD},
        }.get(endpoint, {})

    def json(self, endpoint: str) -> Any:
        return {
            "api.post_alert": alert_body([self.beech]),
            "api.acknowledge": {"comment": "Seen by the DSL"},
            "api.reply": {"text": "We have seen the same page."},
            "api.record_action": {"action_type": "reported_platform", "note": "Done."},
            "api.record_sighting": {"where": "In a parents' group"},
            "api.forward": {"schools": [str(self.cedar.id)]},
            "api.resolve": {"note": "Page removed.", "confirm": True},
            "api.close": {"note": "Dealt with here."},
            "api.withdraw": {"reason": "Sent in error."},
            "api.correct": {"text": "It was Instagram, not Facebook."},
            "api.set_may_post": {"may_post": True},
            "api.create_subscription": {"channel": "in_app", "personal": True},
            "api.update_subscription": {"name": "Renamed"},
            "api.request_review_changes": {"text": "Shorter, please."},
            "api.reject_review": {"text": "Not for other schools."},
            "api.acknowledge_many": {"alert_ids": [self.received]},
            "api.change_member_role": {"role": "dsl"},
            "api.withdraw_member_from_thread": {"member_id": str(self.staff)},
        }.get(endpoint)


@pytest.fixture
def suspended(app: Flask, world: Any) -> Suspended:
    cluster = world.cluster("Riverside")
    ash, beech, cedar = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
    received = beech.post_alert([ash.school]).headers["Location"].rsplit("/", 1)[1]
    sent = ash.post_alert([beech.school]).headers["Location"].rsplit("/", 1)[1]
    staff = world.person(Role.STAFF, "dsl@ash.example.org", school=ash.school)
    api = api_for(app, ash.person.email)
    # Used once now, so the token's last use is not rewritten during the walk.
    assert api.get("/api/v1/me").status_code == 200
    with own_transaction(app) as session:
        member, _ = keys_of(session, ash.person.email)
        settings = dataclasses.replace(
            app.config["ALERTNET"], webhook_allow_networks=("127.0.0.1/32",)
        )
        draft = notify.SubscriptionDraft(
            channel="webhook", name="MIS", target="https://127.0.0.1/hook"
        )
        hook, _ = notify.create_subscription(
            session, member, draft, personal=False, settings=settings
        )
        watches.watch(session, member, uuid.UUID(received), by_email=False)
        invited = invitations.invite(
            session, member, Role.STAFF, "later@ash.example.org", school=member.school
        )
        directory.suspend_school(
            session, None, session.get(School, ash.school.id), "Unpaid subscription."
        )
    return Suspended(
        head=ash,
        api=api,
        beech=beech.school,
        cedar=cedar.school,
        received=received,
        sent=sent,
        subscription=hook.id,
        token=uuid.UUID(token_id(api.token)),
        staff=staff.member.id,
        invitation=invited.invitation.id,
        invitation_token=invited.token,
    )


def _contents(app: Flask, tables: MetaData) -> dict[str, list[str]]:
    """Every row of every table: a refused request must change none."""
    with engine(app).connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in tables.sorted_tables
        }


def _unsafe_routes(app: Flask) -> list[tuple[Rule, str]]:
    return sorted(
        ((rule, method) for rule in app.url_map.iter_rules() for method in rule.methods & UNSAFE),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def _expected(app: Flask, endpoint: str, member: Member) -> tuple[int, str]:
    """The refusal due: the suspension's (403, saying so) wherever the member's
    role could otherwise act; the gate's 403 where it could not."""
    if endpoint in NOT_AN_OPERATION:
        return NOT_AN_OPERATION[endpoint], ""
    view = app.view_functions[endpoint]
    needed = getattr(view, "_alertnet_permission", None)
    if getattr(view, "_alertnet_public", False) or needed == "signed_in":
        return 403, "suspended"
    if needed is not None and policy.may(member, needed):
        return 403, "suspended"
    return 403, ""


def _walk(app: Flask, suspended: Suspended, send: Any, only_api: bool) -> list[str]:
    tables = MetaData()
    with engine(app).connect() as connection:
        tables.reflect(connection)
    with own_transaction(app) as session:
        member = session.get(Member, suspended.head.person.member.id)
        assert member is not None
        session.expunge(member)
    walked, failures = [], []
    for rule, method in _unsafe_routes(app):
        endpoint = rule.endpoint
        if endpoint in ALLOWED or (only_api and not endpoint.startswith("api.")):
            continue
        url = app.url_map.bind("localhost").build(endpoint, suspended.arguments(rule))
        before = _contents(app, tables)
        response = send(method, url, endpoint)
        status, says = _expected(app, endpoint, member)
        text = response.get_data(as_text=True)
        if response.status_code != status or says not in text:
            failures.append(f"{method} {url}: {response.status_code} {text[:300]!r}")
        changed = [
            name for name, rows in _contents(app, tables).items() if rows != before.get(name)
        ]
        if changed:
            failures.append(f"{method} {url} wrote to {changed}")
        walked.append(endpoint)
    assert not failures, "\n".join(failures)
    return walked


def test_every_unsafe_page_and_api_route_refuses_a_suspended_schools_member(app, suspended):
    head = suspended.head
    # Any page's CSRF token serves every form of the session.
    token = csrf_token(head.client, "/account")

    def send(method: str, url: str, endpoint: str) -> Any:
        if endpoint.startswith("api."):
            return head.client.open(
                url,
                method=method,
                json=suspended.json(endpoint),
                headers={"X-CSRFToken": token},
            )
        return head.client.open(
            url,
            method=method,
            # Confirmed, as irreversible actions must be (network/confirmations.py).
            data={**suspended.form(endpoint), "csrf_token": token, "confirm": "yes"},
        )

    walked = _walk(app, suspended, send, only_api=False)
    # The walk reached what the issue found open, on both sides.
    assert {
        "alerts.reply",
        "alerts.record_action",
        "alerts.acknowledge",
        "alerts.forward",
        "alerts.resolve",
        "alerts.close",
        "alerts.reopen",
        "alerts.withdraw",
        "alerts.correct",
        "school.set_may_post",
        "alerts.record_sighting",
        "api.reply",
        "api.record_action",
        "api.acknowledge",
        "notifications.new_subscription",
        "tokens.create",
        "school.invite",
    } <= set(walked)


def test_every_api_operation_refuses_a_suspended_schools_token(app, suspended):
    api = suspended.api

    def send(method: str, url: str, endpoint: str) -> Any:
        return api.client.open(
            url, method=method, json=suspended.json(endpoint), headers=api._headers(None)
        )

    walked = _walk(app, suspended, send, only_api=True)
    assert {
        "api.post_alert",
        "api.reply",
        "api.acknowledge",
        "api.forward",
        "api.record_sighting",
    } <= set(walked)


def test_the_allowed_routes_exist_and_still_work_for_a_suspended_school(app, suspended):
    endpoints = {rule.endpoint for rule, _ in _unsafe_routes(app)}
    assert set(ALLOWED) <= endpoints, set(ALLOWED) - endpoints
    head = suspended.head
    revoked = post_form(
        head.client,
        f"/account/tokens/{suspended.token}/revoke",
        {"confirm": "yes"},
        page="/account/tokens",
    )
    assert revoked.status_code == 303
    withdrawn = post_form(
        head.client,
        f"/school/invitations/{suspended.invitation}/withdraw",
        {"confirm": "yes"},
        page="/school",
    )
    assert withdrawn.status_code == 302
    removed = post_form(
        head.client, f"/school/members/{suspended.staff}/remove", {}, page="/school"
    )
    assert removed.status_code == 302
    assert (
        post_form(
            head.client, "/school/recovery-code", {"confirm": "yes"}, page="/school"
        ).status_code
        == 200
    )
    changed = post_form(
        head.client,
        "/account",
        {
            "current": PASSWORD,
            "password": "a new and long passphrase",
            "confirm": "a new and long passphrase",
        },
    )
    assert changed.status_code == 302
    with own_transaction(app) as session:
        token = session.get(ApiToken, suspended.token)
        assert token is not None
        assert token.revoked_at is not None
        invitation = session.get(Invitation, suspended.invitation)
        assert invitation is not None
        assert invitation.revoked_at is not None
        staff = session.get(Member, suspended.staff)
        assert staff is not None
        assert not staff.is_active
    # Reading what the school holds still works.
    page = head.client.get(f"/alerts/{suspended.received}")
    assert page.status_code == 200
    assert "Your school is suspended" in page.get_data(as_text=True)
    assert post_form(head.client, "/sign-out", {}, page="/account").status_code == 302
    assert sign_in(head.client, head.person.email, "a new and long passphrase").status_code == 302


def test_a_coordinator_cannot_invite_into_a_suspended_school(app, world, suspended):
    """Nobody joins a suspended school: not by a new invitation, nor by one made before."""
    with own_transaction(app) as session:
        cluster = session.get(Cluster, suspended.head.school.cluster_id)
    coordinator = world.person(Role.COORDINATOR, "coord@riverside.example.org", cluster=cluster)
    with own_transaction(app) as session:
        school = session.get(School, suspended.head.school.id)
        member = session.get(Member, coordinator.member.id)
        with pytest.raises(Forbidden, match="Ash is suspended from the network"):
            invitations.invite(session, member, Role.HEAD, "head2@ash.example.org", school=school)
    response = post_form(
        app.test_client(),
        f"/invitations/{suspended.invitation_token}",
        {"name": "Newcomer", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 403
    assert "cannot take new members" in response.get_data(as_text=True)


def test_a_suspended_schools_invite_form_answers_nothing_about_other_accounts(app, suspended):
    """The invitation form checks its fields even when one of them is refused;
    for a suspended school it says only that the school is suspended, not
    whether someone already has an account on the hub."""
    response = post_form(
        suspended.head.client,
        "/school/invite",
        {"email": "head@beech.example.org", "name": "x" * 300, "role": "staff"},
        page="/school",
    )
    body = response.get_data(as_text=True)
    assert "already has an account" not in body
    assert "suspended" in body
