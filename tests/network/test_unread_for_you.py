"""Unread means unread by you (issue 17): the inbox's "Unread" filter and the
count beside Inbox list the same alerts, those the member has not opened or
has marked unread; a colleague's reading changes neither."""

from __future__ import annotations

import re

import pytest

from tests.network.alerts_helpers import ALERT_LINK, colleague_of

pytestmark = pytest.mark.heads("Ash", "Beech")


def _id(response) -> str:
    return str(response.headers["Location"].rsplit("/", 1)[1])


def _count(html: str) -> int:
    found = re.search(
        r'<span class="count">(\d+)<span class="visually-hidden"> unread by you', html
    )
    return int(found.group(1)) if found else 0


def _unread(client) -> tuple[set[str], int]:
    """The alerts the Unread filter lists, and the count beside Inbox on that page."""
    html = client.get("/alerts?status=unread").get_data(as_text=True)
    return set(ALERT_LINK.findall(html)), _count(html)


def test_the_unread_filter_and_the_count_agree_for_each_member(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    dsl = colleague_of(app, beech, "dsl", "dsl@beech.example.org")
    first = _id(ash.post_alert([beech.school], title="Fake account"))
    second = _id(ash.post_alert([beech.school], title="Threats online"))
    assert _unread(beech.client) == ({first, second}, 2)
    assert _unread(dsl) == ({first, second}, 2)

    # The head opens one: read for the head, still unread for the DSL.
    beech.client.get(f"/alerts/{first}")
    assert _unread(beech.client) == ({second}, 1)
    assert _unread(dsl) == ({first, second}, 2)

    # The head marks it unread again: the filter lists it and the count has it.
    beech.post(f"/alerts/{first}/unread", {}, page="/alerts")
    assert _unread(beech.client) == ({first, second}, 2)

    # Acknowledging counts as reading for the one who acknowledges.
    beech.post("/alerts/acknowledge", {"alert_ids": [second]}, page="/alerts")
    assert _unread(beech.client) == ({first}, 1)
    assert _unread(dsl) == ({first, second}, 2)

    # The DSL opens both; the head's mark is the head's alone.
    for alert_id in (first, second):
        dsl.get(f"/alerts/{alert_id}")
    assert _unread(dsl) == (set(), 0)
    assert _unread(beech.client) == ({first}, 1)
    assert beech.client.get("/notifications/unread.json").get_json()["unread"] == 1


def test_the_inbox_says_what_unread_means(heads):
    page = heads["Beech"].client.get("/alerts").get_data(as_text=True)
    assert '<option value="unread">Unread by you</option>' in page
    assert "Unread by you: alerts you have not opened yourself, or have marked unread." in page
    assert "the number beside Inbox counts the same alerts" in page
