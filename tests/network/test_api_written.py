"""The inbox's page as the API writes it (network/api/written.py) is exactly
the document's own output (documents.InboxPage), values and order, for every
shape of row: titles, problems, read, acknowledged, unread, Sent boxes, pages
with a next link. The document's writer validates every row as it goes."""

from __future__ import annotations

import json

import pytest

from network.api import written
from network.api.documents import InboxPage
from tests.network.api_helpers import alert_body, api_for


@pytest.fixture
def both_writers(monkeypatch):
    """Every page the API writes, checked against the document's writer."""
    pages = []
    fast = written.inbox_page

    def checked(page, next_url, sent):
        values = fast(page, next_url, sent)
        document = InboxPage.of(page, next_url, sent).model_dump(mode="json")
        assert json.dumps(values) == json.dumps(document)
        pages.append(values)
        return values

    monkeypatch.setattr(written, "inbox_page", checked)
    return pages


def test_the_written_inbox_is_the_documents_output(app, heads, both_writers):
    ash, beech = (api_for(app, heads[n].person.email) for n in ("Ash", "Beech"))
    ids = []
    for number in range(4):
        body = alert_body([heads["Beech"].school], title=f"Written {number}")
        response = ash.post("/api/v1/alerts", body)
        assert response.status_code == 201, response.get_data(as_text=True)
        ids.append(response.get_json()["id"])
    assert beech.get(f"/api/v1/alerts/{ids[0]}").status_code == 200  # read
    acknowledged = beech.post(f"/api/v1/alerts/{ids[1]}/acknowledge", {"comment": "Seen"})
    assert acknowledged.status_code == 200
    withdrawn = ash.post(f"/api/v1/alerts/{ids[2]}/withdraw", {"reason": "Posted in error"})
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)

    first = beech.get("/api/v1/alerts?limit=3").get_json()  # first listing: records written
    assert first["next"] is not None
    rest = beech.get(first["next"]).get_json()
    again = beech.get("/api/v1/alerts").get_json()  # from the read records
    sent = ash.get("/api/v1/alerts/sent").get_json()

    assert both_writers == [first, rest, again, sent]
    rows = {row["id"]: row for row in again["alerts"]}
    assert rows[ids[0]]["read_at"]
    assert not rows[ids[0]]["unread"]
    assert rows[ids[1]]["acknowledged_at"]
    assert rows[ids[2]]["problem"]
    assert rows[ids[2]]["title"] is None
    assert rows[ids[3]]["title"] == "Written 3"
    assert rows[ids[3]]["unread"]
    assert all(not row["unread"] for row in sent["alerts"])
