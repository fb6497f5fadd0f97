"""Opening an envelope again with the school's read record in place of the
signatures (crypto/records.py ``open_verified_before``): the record proves the
signed message was verified; everything else is checked as the first time."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from crypto import envelope as env
from crypto.envelope import TIER_ALL, Envelope, Header, Recipient
from crypto.errors import UnwrapError, WrapMismatch
from crypto.keys import SchoolKeys
from crypto.records import open_verified_before, read_key, seal_read_record

SENDER = SchoolKeys.generate(1)
READER = SchoolKeys.generate(1)
OTHER = SchoolKeys.generate(1)


def _sealed(text: bytes) -> tuple[Envelope, Recipient, Recipient]:
    me, other = Recipient(str(uuid.uuid4()), 1), Recipient(str(uuid.uuid4()), 1)
    header = Header(
        version=env.HEADER_VERSION,
        alert_id=os.urandom(16),
        cluster=str(uuid.uuid4()),
        sender_school=str(uuid.uuid4()),
        sender_generation=1,
        sender_member=str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        kind="alert",
        parent=None,
        category="harassment",
        severity="high",
        platform="facebook",
        tlp="AMBER",
        recipients=(me, other),
    )
    sealed = env.seal(
        header, text, {me: READER.public(), other: OTHER.public()}, SENDER, b"summary"
    )
    return sealed, me, other


def _mine(sealed: Envelope, me: Recipient) -> Envelope:
    """What the hub hands the reader: the shared part and its own wrap."""
    stored = Envelope.from_bytes(sealed.without_wraps().to_bytes())
    return stored.with_wraps([(me, sealed.wrap_for(me))])


def _record(envelope: Envelope) -> bytes:
    opened = env.open_envelope(envelope, _me(envelope), READER, SENDER.public())
    return seal_read_record(
        read_key(READER, TIER_ALL), envelope.envelope_hash(), opened.header, opened.summary
    )


def _me(envelope: Envelope) -> Recipient:
    return envelope.wraps[0][0]


def test_a_record_stands_in_for_the_signatures():
    sealed, me, _ = _sealed(b"the body")
    mine = _mine(sealed, me)
    record = _record(mine)
    opened = open_verified_before(_mine(sealed, me), me, READER, read_key(READER, TIER_ALL), record)
    assert opened.body == b"the body"
    assert opened.summary == b"summary"


def test_a_record_of_another_envelope_proves_nothing():
    first, me, _ = _sealed(b"first")
    second, me2, _ = _sealed(b"second")
    record = _record(_mine(first, me))
    with pytest.raises(UnwrapError):
        open_verified_before(_mine(second, me2), me2, READER, read_key(READER, TIER_ALL), record)


def test_a_changed_ciphertext_changes_the_hash_and_the_record_proves_nothing():
    sealed, me, _ = _sealed(b"the body as signed")
    record = _record(_mine(sealed, me))
    ciphertext = bytearray(sealed.ciphertext)
    ciphertext[0] ^= 1
    changed = replace(sealed.without_wraps(), ciphertext=bytes(ciphertext))
    changed = Envelope.from_bytes(changed.to_bytes()).with_wraps([(me, sealed.wrap_for(me))])
    with pytest.raises(UnwrapError):
        open_verified_before(changed, me, READER, read_key(READER, TIER_ALL), record)


def test_another_schools_wrap_is_still_refused():
    sealed, me, other = _sealed(b"the body")
    record = _record(_mine(sealed, me))
    swapped = Envelope.from_bytes(sealed.without_wraps().to_bytes()).with_wraps(
        [(me, sealed.wrap_for(other))]
    )
    with pytest.raises(WrapMismatch):
        open_verified_before(swapped, me, READER, read_key(READER, TIER_ALL), record)


def test_a_record_under_another_schools_key_proves_nothing():
    sealed, me, _ = _sealed(b"the body")
    mine = _mine(sealed, me)
    forged = seal_read_record(
        read_key(OTHER, TIER_ALL), mine.envelope_hash(), mine.unverified_header(), b""
    )
    with pytest.raises(UnwrapError):
        open_verified_before(mine, me, READER, read_key(READER, TIER_ALL), forged)
