"""Version 2 of the envelope: every value a page shows is signed, audiences have
tiers, a summary can be read without the body, and a forward hands on the
original's content key so its readers check the original signature themselves."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from crypto.envelope import (
    MAX_INDICATORS,
    TIER_ALL,
    TIER_LEADERSHIP,
    Envelope,
    Header,
    Origin,
    Recipient,
    new_alert_id,
    open_,
    open_envelope,
    open_with_content_key,
    seal,
)
from crypto.errors import (
    BadSignature,
    CryptoError,
    MalformedEnvelope,
    NotARecipient,
    UnwrapError,
    WrapMismatch,
)
from crypto.keys import SchoolKeys
from crypto.records import open_read_record, read_key, seal_read_record

CREATED = datetime(2026, 12, 4, 8, 15, 30, 123456, tzinfo=UTC)
PERSON = "person:member-7"


@pytest.fixture(scope="module")
def keys() -> dict[tuple[str, str], SchoolKeys]:
    """Bundles by (school, tier): Ash sends; Beech has staff, leadership and one person."""
    return {
        ("ash", TIER_ALL): SchoolKeys.generate(3),
        ("beech", TIER_ALL): SchoolKeys.generate(1),
        ("beech", TIER_LEADERSHIP): SchoolKeys.generate(2),
        ("beech", PERSON): SchoolKeys.generate(1),
    }


def recipient(keys: dict[tuple[str, str], SchoolKeys], school: str, tier: str) -> Recipient:
    return Recipient(school, keys[(school, tier)].generation, tier)


def header(keys: dict[tuple[str, str], SchoolKeys], **changes: object) -> Header:
    value = Header(
        version=2,
        alert_id=new_alert_id(),
        cluster="north",
        sender_school="ash",
        sender_generation=3,
        sender_member="member-1",
        created_at=CREATED,
        kind="alert",
        parent=None,
        category="staff_named",
        severity="high",
        platform="facebook",
        tlp="AMBER",
        recipients=(
            recipient(keys, "ash", TIER_ALL),
            recipient(keys, "beech", TIER_LEADERSHIP),
            recipient(keys, "beech", PERSON),
        ),
        indicators=(bytes([9]) * 32, bytes([1]) * 32),
    )
    return replace(value, **changes) if changes else value  # type: ignore[arg-type]


def sealed(keys: dict[tuple[str, str], SchoolKeys], h: Header) -> Envelope:
    publics = {r: keys[(r.school, r.tier)].public() for r in h.recipients}
    return seal(h, b"the body: names and links", publics, keys[("ash", TIER_ALL)], b"the title")


def test_each_tier_opens_its_own_wrap_and_reads_summary_and_body(keys) -> None:
    h = header(keys)
    envelope = Envelope.from_bytes(sealed(keys, h).to_bytes())
    for r in h.recipients:
        opened = open_envelope(
            envelope, r, keys[(r.school, r.tier)], keys[("ash", TIER_ALL)].public()
        )
        assert opened.header == h
        assert (opened.summary, opened.body) == (b"the title", b"the body: names and links")


def test_staff_keys_open_nothing_sealed_to_leadership_or_a_person(keys) -> None:
    envelope = sealed(keys, header(keys))
    staff = keys[("beech", TIER_ALL)]
    with pytest.raises(NotARecipient):
        open_envelope(
            envelope, Recipient("beech", 1, TIER_ALL), staff, keys[("ash", "all")].public()
        )
    # The leadership wrap presented as the staff tier's: the wrap's info binds the tier.
    leadership_wrap = envelope.wrap_for(recipient(keys, "beech", TIER_LEADERSHIP))
    relabelled = replace(envelope, wraps=((Recipient("beech", 2, TIER_ALL), leadership_wrap),))
    with pytest.raises(CryptoError):
        open_envelope(
            relabelled,
            Recipient("beech", 2, TIER_ALL),
            keys[("beech", TIER_LEADERSHIP)],
            keys[("ash", "all")].public(),
        )


def test_every_v2_field_is_signed(keys) -> None:
    h = header(
        keys,
        kind="attachment",
        parent=new_alert_id(),
        attached_to=new_alert_id(),
        position=2,
        action_type="police",
        forwarded_from=Origin(new_alert_id(), "cedar", os.urandom(32)),
    )
    envelope = sealed(keys, h)
    parsed = Header.from_bytes(h.to_bytes())
    assert parsed == h
    assert parsed.position == 2
    assert parsed.action_type == "police"
    assert parsed.forwarded_from == h.forwarded_from
    for change in (
        {"action_type": "legal"},
        {"position": 1},
        {"attached_to": new_alert_id()},
        {"forwarded_from": None},
        {"indicators": ()},
        {"sender_member": "member-2"},
        {"created_at": datetime(2026, 1, 1, tzinfo=UTC)},
    ):
        forged = replace(envelope, header=replace(h, **change).to_bytes())  # type: ignore[arg-type]
        with pytest.raises(BadSignature):
            open_envelope(
                forged,
                recipient(keys, "beech", PERSON),
                keys[("beech", PERSON)],
                keys[("ash", TIER_ALL)].public(),
            )


def test_a_summary_reads_without_the_body_and_proves_the_same_envelope(keys) -> None:
    envelope = sealed(keys, header(keys))
    short = Envelope.from_bytes(envelope.summary_only().to_bytes())
    assert len(short.to_bytes()) < len(envelope.to_bytes())
    assert short.envelope_hash() == envelope.envelope_hash()
    opened = open_envelope(
        short,
        recipient(keys, "beech", PERSON),
        keys[("beech", PERSON)],
        keys[("ash", "all")].public(),
    )
    assert opened.summary == b"the title"
    assert opened.body is None
    with pytest.raises(MalformedEnvelope, match="withheld"):
        open_(short, "ash", keys[("ash", TIER_ALL)], keys[("ash", "all")].public())


@pytest.mark.parametrize("part", ["summary", "body_hash"])
def test_a_changed_summary_or_body_hash_fails_the_signature(keys, part) -> None:
    short = sealed(keys, header(keys)).summary_only()
    value = bytearray(getattr(short, part))
    value[-1] ^= 1
    with pytest.raises(BadSignature):
        open_envelope(
            replace(short, **{part: bytes(value)}),
            recipient(keys, "beech", PERSON),
            keys[("beech", PERSON)],
            keys[("ash", "all")].public(),
        )


def test_flipping_any_byte_of_a_v2_envelope_fails(keys) -> None:
    h = header(keys)
    mine = sealed(keys, h).for_recipient(recipient(keys, "beech", PERSON))
    wire = mine.to_bytes()
    for i in list(range(0, len(h.to_bytes()) + 80)) + list(range(len(wire) - 2000, len(wire), 7)):
        bad = bytearray(wire)
        bad[i] ^= 0x40
        with pytest.raises(CryptoError):
            open_envelope(
                Envelope.from_bytes(bytes(bad)),
                recipient(keys, "beech", PERSON),
                keys[("beech", PERSON)],
                keys[("ash", TIER_ALL)].public(),
            )


def test_a_forward_hands_on_the_content_key_and_the_original_signature_is_checked(keys) -> None:
    original = sealed(keys, header(keys))
    opened = open_envelope(
        original,
        recipient(keys, "ash", TIER_ALL),
        keys[("ash", TIER_ALL)],
        keys[("ash", "all")].public(),
    )
    # A school outside the original's audience, given the key by a forward, reads
    # the original's shared part (no wraps) and checks its sender's signatures.
    shared = Envelope.from_bytes(original.without_wraps().to_bytes())
    again = open_with_content_key(shared, opened.content_key, keys[("ash", TIER_ALL)].public())
    assert (again.header, again.summary, again.body) == (opened.header, opened.summary, opened.body)
    with pytest.raises(WrapMismatch):
        open_with_content_key(shared, os.urandom(32), keys[("ash", TIER_ALL)].public())
    with pytest.raises(BadSignature):
        open_with_content_key(shared, opened.content_key, SchoolKeys.generate(3).public())


def test_a_version_1_header_carries_no_version_2_fields(keys) -> None:
    base = header(keys, recipients=(Recipient("ash", 3), Recipient("beech", 1)), indicators=())
    assert Header.from_bytes(replace(base, version=1).to_bytes()).version == 1
    for change in (
        {"action_type": "police"},
        {"position": 1},
        {"indicators": (bytes(32),)},
        {"recipients": (Recipient("beech", 2, TIER_LEADERSHIP),)},
    ):
        with pytest.raises(MalformedEnvelope, match="version 1"):
            replace(base, version=1, **change)  # type: ignore[arg-type]


def test_indicators_are_canonical_and_bounded(keys) -> None:
    h = header(keys, indicators=(bytes([5]) * 32, bytes([2]) * 32, bytes([5]) * 32))
    assert h.indicators == (bytes([2]) * 32, bytes([5]) * 32)
    with pytest.raises(MalformedEnvelope):
        header(keys, indicators=tuple(os.urandom(32) for _ in range(MAX_INDICATORS + 1)))
    with pytest.raises(MalformedEnvelope):
        header(keys, indicators=(b"short",))
    with pytest.raises(MalformedEnvelope):
        Recipient("beech", 1, "everyone")


def test_a_read_record_opens_only_with_the_tiers_key_for_that_envelope(keys) -> None:
    envelope = sealed(keys, header(keys))
    h = envelope.unverified_header()
    leadership = keys[("beech", TIER_LEADERSHIP)]
    key = read_key(leadership, TIER_LEADERSHIP)
    record = seal_read_record(key, envelope.envelope_hash(), h, b"the title")
    assert open_read_record(key, envelope.envelope_hash(), record) == (h, b"the title")
    # Another envelope's hash, the staff bundle's key, another tier, or an altered
    # record: nothing opens.
    other = sealed(keys, header(keys)).envelope_hash()
    for wrong_key, envelope_hash, blob in (
        (key, other, record),
        (read_key(keys[("beech", TIER_ALL)], TIER_ALL), envelope.envelope_hash(), record),
        (read_key(leadership, TIER_ALL), envelope.envelope_hash(), record),
        (key, envelope.envelope_hash(), record[:-1] + bytes([record[-1] ^ 1])),
    ):
        with pytest.raises(UnwrapError):
            open_read_record(wrong_key, envelope_hash, blob)
    assert read_key(leadership, TIER_LEADERSHIP) != read_key(
        replace(leadership, generation=leadership.generation + 1), TIER_LEADERSHIP
    )
