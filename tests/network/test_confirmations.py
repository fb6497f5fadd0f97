"""Irreversible actions are confirmed first, without JavaScript
(network/confirmations.py): every one listed is walked here, unconfirmed
(a confirmation page, nothing written), and the common ones to the end."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask
from sqlalchemy import MetaData, select

from network.alerts.models import Alert
from network.confirmations import CONFIRMED_ELSEWHERE, IRREVERSIBLE
from network.db import engine, own_transaction
from schools import factors
from schools.models import ApiToken, Member, Role
from tests.factories import CSRF, client_for, csrf_token, post_form
from tests.network.api_helpers import issue_token, token_id

# Every page action that cannot be undone, found by reading each unsafe route
# (the API's own are for programs, which confirm in their own way).
KNOWN_IRREVERSIBLE = {
    "alerts.withdraw",
    "alerts.release_hold",
    "alerts.resolve",
    "cluster.suspend",
    "tokens.revoke",
    "school.recovery_code",
    "school.remove",
    "school.withdraw",
    "cluster.withdraw",
    "factors.reset",
    "factors.remove",
    "factors.new_backup_codes",
    "notifications.delete_subscription",
    "notifications.rotate_secret",
    "platforms.retire",
    "auth.sign_out_everywhere",
}
CHECKBOX = re.compile(r'<input type="checkbox" id="confirm" name="confirm" value="yes" required>')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _contents(app: Flask) -> dict[str, list[str]]:
    tables = MetaData()
    with engine(app).connect() as connection:
        tables.reflect(connection)
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in tables.sorted_tables
            if not table.name.startswith("audit_")  # sign-ins and page reads are audited
        }


def _url(app: Flask, endpoint: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {name: uuid.uuid4() for name in rule.arguments}
    values.update(dict.fromkeys(rule.arguments & {"code"}, "facebook"))
    return app.url_map.bind("localhost").build(endpoint, values)


def test_every_irreversible_action_is_confirmed_somewhere(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(IRREVERSIBLE) | set(CONFIRMED_ELSEWHERE) == KNOWN_IRREVERSIBLE
    assert endpoints >= KNOWN_IRREVERSIBLE
    assert not set(IRREVERSIBLE) & set(CONFIRMED_ELSEWHERE)


def test_each_unconfirmed_action_shows_a_confirmation_page_and_writes_nothing(
    app, world, cluster, ash, coordinator
):
    admin = client_for(app, world.person(Role.HUB_ADMIN, "admin@hub.example.org"))
    # New backup codes ask only when unused ones would be spent.
    with own_transaction(app) as session:
        factors.issue_backup_codes(session, session.get(Member, ash.person.member.id))
    by_role = {"cluster": coordinator, "platforms": admin}
    for endpoint, action in IRREVERSIBLE.items():
        client = by_role.get(endpoint.partition(".")[0], ash.client)
        if endpoint == "alerts.release_hold":
            client = coordinator
        url = _url(app, endpoint)
        token = csrf_token(client, "/account")
        before = _contents(app)
        response = client.post(url, data={"csrf_token": token, "reason": "Kept <b>as typed</b>"})
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (endpoint, response.status_code)
        assert action.question in html, endpoint
        assert "This cannot be undone." in html
        assert CHECKBOX.search(html), endpoint
        # The same fields go again, escaped, with the box to tick.
        assert ("reason", "Kept &lt;b&gt;as typed&lt;/b&gt;") in HIDDEN.findall(html), endpoint
        assert f'<form method="post" action="{url}">' in html
        assert _contents(app) == before, endpoint
        # A box left unticked asks again.
        again = client.post(url, data={"csrf_token": token, "confirm": "no"})
        assert action.question in again.get_data(as_text=True)
        assert _contents(app) == before, endpoint


def _confirm(client: Any, response: Any) -> Any:
    """Tick the box of a confirmation page and send it, as a browser would."""
    html = response.get_data(as_text=True)
    url = re.search(r'<form method="post" action="([^"]+)">', html).group(1)
    data = dict(HIDDEN.findall(html))
    return client.post(
        url, data={**data, "csrf_token": CSRF.search(html).group(1), "confirm": "yes"}
    )


def test_a_revoked_token_needs_its_confirmation(app, ash):
    token = issue_token(app, ash.person.email)
    url = f"/account/tokens/{token_id(token)}/revoke"
    asked = post_form(ash.client, url, {}, page="/account/tokens")
    assert "Revoke this API token?" in asked.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.get(ApiToken, uuid.UUID(token_id(token))).revoked_at is None
    assert _confirm(ash.client, asked).status_code == 303
    with own_transaction(app) as session:
        assert session.get(ApiToken, uuid.UUID(token_id(token))).revoked_at is not None


def test_withdrawing_an_alert_asks_for_the_tick_box_beside_the_reason(app, pair):
    ash, beech = pair
    alert_id = ash.post_alert([beech.school]).headers["Location"].rsplit("/", 1)[1]
    page = f"/alerts/{alert_id}"
    form = ash.client.get(page).get_data(as_text=True)
    assert 'id="withdraw-confirm" name="confirm" value="yes" required' in form
    asked = ash.post(f"{page}/withdraw", {"reason": "Sent in error."}, page=page)
    assert "Withdraw this alert?" in asked.get_data(as_text=True)
    with own_transaction(app) as session:
        assert session.get(Alert, uuid.UUID(alert_id)).status == "open"
    done = _confirm(ash.client, asked)
    assert done.status_code == 303
    with own_transaction(app) as session:
        assert session.get(Alert, uuid.UUID(alert_id)).status == "withdrawn"


def test_a_new_recovery_code_is_made_only_once_confirmed(app, ash):
    asked = post_form(ash.client, "/school/recovery-code", {}, page="/school")
    assert "Make a new recovery code?" in asked.get_data(as_text=True)
    assert 'class="recovery-code"' not in asked.get_data(as_text=True)
    made = _confirm(ash.client, asked)
    assert made.status_code == 200
    assert 'class="recovery-code"' in made.get_data(as_text=True)


def test_actions_confirmed_by_their_own_step(app, world, ash, beech):
    staff = world.person(Role.STAFF, "staff@ash.example.org", school=ash.school)
    # Removing a member and resetting their factors: a page of its own first.
    overview = ash.client.get("/school").get_data(as_text=True)
    assert f'href="/school/members/{staff.member.id}/remove"' in overview
    for path in ("remove", "reset-second-factor"):
        page = ash.client.get(f"/school/members/{staff.member.id}/{path}")
        assert page.status_code == 200
        assert "This cannot be undone." in page.get_data(as_text=True)
    # Resolving: the tick box is required; without it nothing is resolved.
    alert_id = ash.post_alert([beech.school]).headers["Location"].rsplit("/", 1)[1]
    page = f"/alerts/{alert_id}"
    refused = ash.post(f"{page}/resolve", {"resolve_note": "Dealt with."}, page=page)
    assert refused.status_code == 422
    with own_transaction(app) as session:
        assert session.get(Alert, uuid.UUID(alert_id)).status == "open"
    # Signing out everywhere: the member's password.
    refused = ash.post("/account/sign-out-everywhere", {}, page="/account")
    assert refused.status_code == 422
    assert ash.client.get("/home").status_code == 200


def test_confirming_it_is_you_comes_before_the_confirmation_page(app, ash):
    from schools.models import LoginSession

    with own_transaction(app) as session:
        for login in session.scalars(select(LoginSession)):
            login.confirmed_at = None
    pressed = post_form(
        ash.client, "/school/recovery-code", {}, page="/school", headers={"Referer": "/school"}
    )
    # Back to the page with the button once it is them: then the confirmation.
    assert pressed.status_code == 303
    assert pressed.headers["Location"] == "/account/confirm?next=/school"


def test_first_backup_codes_need_no_confirmation(app, ash):
    """A member's first backup codes spend nothing: made at once (the view's
    own rules apply: without a second factor it sends them to set one up)."""
    made = post_form(ash.client, "/account/second-factors/backup-codes", {}, page="/account")
    assert "Make new backup codes?" not in made.get_data(as_text=True)
    assert made.status_code == 303
