"""A repeat read of an alert's page: the school's read records of the alert and
its thread stand in for the signatures (docs/crypto.md, "Read records"), and
everything else is checked as on the first view."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from crypto.envelope import Envelope
from network.alerts import sealing
from network.alerts.models import Alert, ReadRecord, Sealed
from network.db import own_transaction
from tests.network.api_helpers import api_for

VERIFIED = "✓ Signature verified"


def _post(heads, title: str) -> uuid.UUID:
    response = heads["Ash"].post_alert([heads["Beech"].school, heads["Cedar"].school], title=title)
    assert response.status_code == 303
    return uuid.UUID(response.headers["Location"].rsplit("/", 1)[1])


def _page(head, alert_id) -> str:
    response = head.client.get(f"/alerts/{alert_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _records(app, school_id) -> dict[int, bytes]:
    with own_transaction(app) as session:
        rows = session.execute(
            select(ReadRecord.sealed_id, ReadRecord.record).where(ReadRecord.school_id == school_id)
        ).all()
        return dict(rows)


def _counting(monkeypatch) -> list[int]:
    """Count the full verifications (both signatures) the hub makes."""
    calls: list[int] = []
    verify = sealing.env.open_envelope

    def counted(*args, **kwargs):
        calls.append(1)
        return verify(*args, **kwargs)

    monkeypatch.setattr(sealing.env, "open_envelope", counted)
    return calls


def test_a_second_view_checks_the_records_instead_of_the_signatures(app, heads, monkeypatch):
    alert_id = _post(heads, "Fake account naming a teacher")
    beech = heads["Beech"]
    page = f"/alerts/{alert_id}"
    assert beech.post(f"{page}/reply", {"text": "Seen it here too"}, page=page).status_code == 303
    # The reply's page view verified the alert in full and kept a record; this
    # one verifies the reply in full and keeps a record of it.
    calls = _counting(monkeypatch)
    assert "Seen it here too" in _page(beech, alert_id)
    assert len(calls) == 1
    assert len(_records(app, beech.school.id)) == 2
    calls.clear()
    html = _page(beech, alert_id)
    assert VERIFIED in html
    assert "Fake account naming a teacher" in html
    assert "Seen it here too" in html
    assert "integrity check" not in html
    body = api_for(app, beech.person.email).get(f"/api/v1/alerts/{alert_id}").get_json()
    assert body["verified"] is True
    assert [item["text"] for item in body["thread"]] == ["Seen it here too"]
    assert calls == []
    # Records are per school: Cedar's first view verifies both in full.
    assert "Seen it here too" in _page(heads["Cedar"], alert_id)
    assert len(calls) == 2


def test_a_record_that_does_not_prove_it_means_verifying_in_full(app, heads, monkeypatch):
    alert_id = _post(heads, "Harassment of a parent")
    beech = heads["Beech"]
    _page(beech, alert_id)
    with own_transaction(app) as session:
        sealed_id = session.get(Alert, alert_id).sealed_id
        record = session.scalar(select(ReadRecord.record).where(ReadRecord.sealed_id == sealed_id))
        session.execute(
            update(ReadRecord)
            .where(ReadRecord.sealed_id == sealed_id)
            .values(record=record[:-1] + bytes([record[-1] ^ 1]))
        )
    calls = _counting(monkeypatch)
    html = _page(beech, alert_id)
    assert VERIFIED in html
    assert "Harassment of a parent" in html
    assert len(calls) == 1


def test_an_envelope_changed_after_a_first_view_fails_its_check(app, heads):
    """The record is bound to the envelope hash, which covers the header, both
    ciphertexts, the wraps' hashes and the commitment: changing any of them
    leaves the record proving nothing, and the full check refuses it."""
    alert_id = _post(heads, "Gossip page about Year 6")
    beech = heads["Beech"]
    assert VERIFIED in _page(beech, alert_id)
    with own_transaction(app) as session:
        sealed_id = session.get(Alert, alert_id).sealed_id
        body = session.scalar(select(Sealed.body).where(Sealed.id == sealed_id))
        ciphertext = Envelope.from_bytes(body).ciphertext
        at = body.index(ciphertext) + len(ciphertext) // 2
        changed = body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]
        session.execute(update(Sealed).where(Sealed.id == sealed_id).values(body=changed))
    html = _page(beech, alert_id)
    assert VERIFIED not in html
    assert "Gossip page about Year 6" not in html
    assert "integrity check" in html
