"""Open once per school: the first listing verifies an envelope in full and
keeps a read record sealed under a key only the school derives; later
listings open the record instead. The hub can neither read a record nor make
or move one."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crypto.envelope import TIER_ALL
from crypto.errors import CryptoError
from crypto.records import open_read_record, read_key
from network.alerts import inbox, retention
from network.alerts.models import Alert, ReadRecord
from network.alerts.sealing import IntegrityFailure
from network.db import own_transaction
from schools.db import utcnow
from tests.network.alerts_helpers import keys_of

FAILED = "Failed its integrity check: not shown."


def _post(heads, title: str) -> uuid.UUID:
    response = heads["Ash"].post_alert(
        [heads["Beech"].school, heads["Cedar"].school], title=title, tier="all"
    )
    assert response.status_code == 303
    return uuid.UUID(response.headers["Location"].rsplit("/", 1)[1])


def _records(app, school_id) -> dict[int, bytes]:
    with own_transaction(app) as session:
        rows = session.execute(
            select(ReadRecord.sealed_id, ReadRecord.record).where(ReadRecord.school_id == school_id)
        ).all()
        return dict(rows)


def _inbox(head) -> str:
    response = head.client.get("/alerts")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_first_listing_keeps_a_record_and_later_ones_verify_nothing_again(
    app, heads, monkeypatch
):
    _post(heads, "Fake account naming the Year 4 teacher")
    beech = heads["Beech"]
    assert _records(app, beech.school.id) == {}
    assert "Fake account naming the Year 4 teacher" in _inbox(beech)
    records = _records(app, beech.school.id)
    assert len(records) == 1
    # The record holds the title only under the school's key.
    assert b"Year 4" not in next(iter(records.values()))

    def no_second_verification(*args, **kwargs):
        raise AssertionError("the envelope was verified again")

    monkeypatch.setattr(inbox, "open_summary", no_second_verification)
    assert "Fake account naming the Year 4 teacher" in _inbox(beech)
    # Listing again, by the school or by another member, writes no second record.
    assert _records(app, beech.school.id) == records
    # Records are per school: Cedar's first listing verifies in full.
    monkeypatch.undo()
    assert "Fake account naming the Year 4 teacher" in _inbox(heads["Cedar"])
    assert len(_records(app, heads["Cedar"].school.id)) == 1


def test_a_record_opens_only_with_the_schools_own_keys(app, heads):
    alert_id = _post(heads, "Harassment of a parent")
    _inbox(heads["Beech"])
    with own_transaction(app) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        record = session.scalar(
            select(ReadRecord.record).where(ReadRecord.school_id == heads["Beech"].school.id)
        )
        assert record is not None
        _, beech_keys = keys_of(session, heads["Beech"].person.email)
        _, cedar_keys = keys_of(session, heads["Cedar"].person.email)
        header, summary = open_read_record(
            read_key(beech_keys, TIER_ALL), alert.envelope_hash, record
        )
        assert header.alert_id == alert_id.bytes
        assert b"Harassment of a parent" in summary
        # Another school's keys (what a copy of the database plus the server's
        # secret gives nobody, and another school has) derive another key.
        with pytest.raises(CryptoError):
            open_read_record(read_key(cedar_keys, TIER_ALL), alert.envelope_hash, record)


def _flip_a_byte(session, school_id, sealed_id):
    record = session.scalar(
        select(ReadRecord.record).where(
            ReadRecord.school_id == school_id, ReadRecord.sealed_id == sealed_id
        )
    )
    changed = record[:-1] + bytes([record[-1] ^ 1])
    session.execute(
        update(ReadRecord)
        .where(ReadRecord.school_id == school_id, ReadRecord.sealed_id == sealed_id)
        .values(record=changed)
    )


def _swap_records(session, school_id, first, second):
    one, two = (
        session.scalar(
            select(ReadRecord.record).where(
                ReadRecord.school_id == school_id, ReadRecord.sealed_id == s
            )
        )
        for s in (first, second)
    )
    for sealed_id, record in ((first, two), (second, one)):
        session.execute(
            update(ReadRecord)
            .where(ReadRecord.school_id == school_id, ReadRecord.sealed_id == sealed_id)
            .values(record=record)
        )


def _change_envelope_hash(session, school_id, sealed_id):
    session.execute(
        update(Alert).where(Alert.sealed_id == sealed_id).values(envelope_hash=bytes(32))
    )


def _change_category(session, school_id, sealed_id):
    session.execute(update(Alert).where(Alert.sealed_id == sealed_id).values(category="defamation"))


@pytest.mark.parametrize(
    "tamper",
    [_flip_a_byte, _swap_records, _change_envelope_hash, _change_category],
    ids=["a byte of the record", "two records swapped", "the envelope hash", "the category"],
)
def test_a_tampered_record_is_refused_not_shown(app, heads, tamper):
    first = _post(heads, "First alert title")
    second = _post(heads, "Second alert title")
    beech = heads["Beech"]
    _inbox(beech)
    with own_transaction(app) as session:
        sealed = {
            a.id: a.sealed_id
            for a in session.scalars(select(Alert).where(Alert.id.in_([first, second])))
        }
        if tamper is _swap_records:
            _swap_records(session, beech.school.id, sealed[first], sealed[second])
        else:
            tamper(session, beech.school.id, sealed[first])
    page = _inbox(beech)
    assert FAILED in page
    assert "First alert title" not in page
    if tamper is _swap_records:
        assert "Second alert title" not in page
        assert page.count(FAILED) == 2
    else:
        assert "Second alert title" in page


def test_a_tampered_record_is_refused_by_the_listing_the_api_shares(app, heads):
    alert_id = _post(heads, "Seen through the API")
    beech = heads["Beech"]
    with own_transaction(app) as session:
        member, keys = keys_of(session, beech.person.email)
        page = inbox.inbox_for(session, member, keys, inbox.InboxFilters())
        assert [r.title for r in page.rows] == ["Seen through the API"]
        sealed_id = session.get(Alert, alert_id).sealed_id
        _flip_a_byte(session, beech.school.id, sealed_id)
    with own_transaction(app) as session:
        member, keys = keys_of(session, beech.person.email)
        page = inbox.inbox_for(session, member, keys, inbox.InboxFilters())
        assert [(r.title, r.problem) for r in page.rows] == [("", FAILED)]
        record = session.scalar(select(ReadRecord.record))
        records = inbox._RecordKeys(inbox.Keychain(session, beech.school.id, keys))
        alert = session.get(Alert, alert_id)
        with pytest.raises(IntegrityFailure):
            records.title(alert, record, keys.generation, None)


def test_shredding_deletes_the_schools_records(app, heads):
    _post(heads, "To be shredded")
    _inbox(heads["Beech"])
    _inbox(heads["Cedar"])
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(ReadRecord)) == 2
        for alert in session.scalars(select(Alert)):
            alert.expires_at = utcnow() - timedelta(seconds=1)
    with own_transaction(app) as session:
        assert len(retention.shred_expired(session)) == 1
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(ReadRecord)) == 0
    assert "Shredded after its retention period." in _inbox(heads["Beech"])
