"""Retention per category, set by the coordinator; legal holds on one alert;
the shredder honours both."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from network.alerts.models import Alert, Sealed
from network.alerts.retention import (
    DEFAULT_RETENTION_DAYS,
    LegalHold,
    RetentionPeriod,
    periods_for,
    shred_expired,
)
from network.cli import main
from network.db import own_transaction
from schools.db import utcnow
from tests.conftest import post_form
from tests.network.alerts_helpers import post_as
from tests.network.notify_helpers import actions

pytestmark = pytest.mark.heads("Ash", "Beech")

CATEGORIES = tuple(DEFAULT_RETENTION_DAYS)


def _periods(**changed: int) -> dict[str, str]:
    form = {f"days_{c}": str(DEFAULT_RETENTION_DAYS[c]) for c in CATEGORIES}
    form.update({f"days_{c}": str(days) for c, days in changed.items()})
    return form


def _post(app, heads, category, days_ago):
    with own_transaction(app) as session:
        return post_as(
            session,
            heads["Ash"].person.email,
            [heads["Beech"].school.id],
            utcnow() - timedelta(days=days_ago),
            category=category,
        ).id


def _expiry(app, alert_id):
    with own_transaction(app) as session:
        alert = session.get(Alert, alert_id)
        return alert.expires_at - alert.created_at


def test_defaults_keep_safeguarding_far_longer_than_defamation(app, heads):
    assert DEFAULT_RETENTION_DAYS["safeguarding"] >= 10 * DEFAULT_RETENTION_DAYS["defamation"]
    assert set(CATEGORIES) == {
        "defamation",
        "staff_named",
        "harassment",
        "safeguarding",
        "under_age",
        "staff_conduct",
        "other",
    }
    safeguarding = _post(app, heads, "safeguarding", 0)
    defamation = _post(app, heads, "defamation", 0)
    assert _expiry(app, safeguarding) == timedelta(days=25 * 365)
    assert _expiry(app, defamation) == timedelta(days=2 * 365)


def test_the_coordinator_sets_a_category_and_alerts_already_posted_follow(
    app, heads, coordinator, cluster
):
    older = _post(app, heads, "defamation", 100)
    other = _post(app, heads, "harassment", 100)
    response = post_form(coordinator, "/cluster/settings", _periods(defamation=90))
    assert response.status_code == 303
    with own_transaction(app) as session:
        assert periods_for(session, cluster.id)["defamation"] == 90
    # Recomputed in the database (whole seconds on SQLite): now past its period.
    assert abs(_expiry(app, older) - timedelta(days=90)) < timedelta(seconds=1)
    assert _expiry(app, other) == timedelta(days=6 * 365)
    assert "cluster.retention_changed" in actions(app)
    with own_transaction(app) as session:
        assert shred_expired(session) == [older]


@pytest.mark.parametrize("days", ["29", "9151", "-1"])
def test_a_period_outside_the_limits_is_refused_beside_its_field(app, coordinator, cluster, days):
    response = post_form(coordinator, "/cluster/settings", {**_periods(), "days_harassment": days})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="days_harassment-error"' in html
    assert "Keep alerts between 30 and 9,150 days" in html
    with own_transaction(app) as session:
        assert session.scalars(select(RetentionPeriod)).all() == []


def test_a_legal_hold_keeps_an_alert_until_released(app, heads, coordinator, runner):
    alert_id = _post(app, heads, "harassment", 10)
    page = f"/alerts/{alert_id}"
    assert "Place a legal hold" in coordinator.get(page).get_data(as_text=True)
    assert post_form(coordinator, f"{page}/hold", {}, page=page).status_code == 303
    again = post_form(coordinator, f"{page}/hold", {}, page=page)
    assert again.status_code == 409
    assert "already under a legal hold" in again.get_data(as_text=True)
    # Every reader sees the hold on the alert page.
    seen = heads["Beech"].client.get(page).get_data(as_text=True)
    assert "Legal hold" in seen
    assert "Release the legal hold" not in seen
    # A head places no hold: the role may not (the gate refuses).
    head = heads["Beech"].post(f"{page}/release-hold", {"confirm": "yes"}, page=page)
    assert head.status_code == 403
    with own_transaction(app) as session:
        session.get(Alert, alert_id).expires_at = utcnow() - timedelta(seconds=1)
    assert "Shredded 0 alerts." in runner.invoke(main, ["retention", "run"]).output
    with own_transaction(app) as session:
        assert session.get(Alert, alert_id).sealed_id is not None
    assert (
        post_form(coordinator, f"{page}/release-hold", {"confirm": "yes"}, page=page).status_code
        == 303
    )
    assert "Shredded 1 alert." in runner.invoke(main, ["retention", "run"]).output
    with own_transaction(app) as session:
        assert session.scalars(select(Sealed)).all() == []
        hold = session.scalars(select(LegalHold)).one()
        assert hold.released_at is not None
    assert {"alert.legal_hold_placed", "alert.legal_hold_released", "alert.shredded"} <= set(
        actions(app)
    )


def test_a_period_shorter_than_an_open_hold_is_refused_clearly(app, heads, coordinator, cluster):
    held = _post(app, heads, "harassment", 400)
    page = f"/alerts/{held}"
    assert post_form(coordinator, f"{page}/hold", {}, page=page).status_code == 303
    before = _expiry(app, held)
    response = post_form(coordinator, "/cluster/settings", _periods(harassment=365, defamation=90))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'id="days_harassment-error"' in html
    assert "is 400 days old, older than 365 days: release its hold first" in html
    assert "at least 401 days" in html
    with own_transaction(app) as session:
        assert session.scalars(select(RetentionPeriod)).all() == []  # defamation not saved either
    assert _expiry(app, held) == before
    # With another period out of range, both are said at once.
    both = post_form(coordinator, "/cluster/settings", _periods(harassment=365, defamation=0))
    html = both.get_data(as_text=True)
    assert both.status_code == 422
    assert 'id="days_harassment-error"' in html
    assert "release its hold first" in html
    assert 'id="days_defamation-error"' in html
    # Longer than the hold's alert: accepted.
    response = post_form(coordinator, "/cluster/settings", _periods(harassment=401))
    assert response.status_code == 303
