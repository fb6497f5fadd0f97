"""TLP:RED is for named recipients only: never to every school of the cluster
or the hub, on the page or through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from network.alerts.models import Alert
from network.db import own_transaction
from tests.network.alerts_helpers import make_head
from tests.network.api_helpers import alert_body, api_for, assert_problem


def _alerts(app) -> int:
    with own_transaction(app) as session:
        return session.scalar(select(func.count()).select_from(Alert)) or 0


@pytest.mark.parametrize("audience", ["cluster", "hub"])
def test_a_red_alert_to_every_school_is_refused_beside_the_field_and_nothing_is_sent(
    app, world, audience
):
    cluster = world.cluster("Riverside")
    ash, beech = (make_head(app, world, cluster, n) for n in ("Ash", "Beech"))
    page = ash.post_alert([], tlp="RED", audience=audience)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "A TLP:RED alert is for named recipients only" in html
    assert "Choose the schools it goes to." in html
    answer = api_for(app, ash.person.email).post(
        "/api/v1/alerts", alert_body([], tlp="RED", audience=audience)
    )
    assert_problem(answer, 422, "named recipients only", field="audience")
    assert _alerts(app) == 0
    # Named schools are what RED is for; AMBER may still go to every school.
    assert ash.post_alert([beech.school], tlp="RED").status_code == 303
    assert ash.post_alert([], tlp="AMBER", audience=audience).status_code == 303
    assert _alerts(app) == 2
