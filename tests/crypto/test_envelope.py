"""The alert envelope: round trips, every tampering the hub could try, and bad input.

Some tests rebuild the design's construction here from primitives (``spec_*``),
independently of crypto.envelope, so seal and open_ are checked against the
design and not only against each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.envelope import (
    MAX_HEADER_BYTES,
    MAX_RECIPIENTS,
    SIG_CONTEXT,
    WRAP_LEN,
    Envelope,
    Header,
    Recipient,
    new_alert_id,
    open_,
    seal,
    wrap_hash,
)
from crypto.errors import (
    BadSignature,
    CryptoError,
    MalformedEnvelope,
    NotARecipient,
    TamperedCiphertext,
    TamperedHeader,
    UnknownVersion,
    WrapMismatch,
)
from crypto.keys import HPKE_SUITE, SchoolKeys, SchoolPublicKeys

SLOW_OK = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
POOL_SIZE = 50
CREATED = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def school(i: int) -> str:
    return f"school-{i:02d}"


@pytest.fixture(scope="module")
def pool() -> dict[str, SchoolKeys]:
    """Fifty schools at generation 1, public keys expanded once."""
    keys = {school(i): SchoolKeys.generate(1) for i in range(POOL_SIZE)}
    for k in keys.values():
        k.public()
    return keys


def make_header(schools: list[str], sender: str = "school-00", **changes: object) -> Header:
    header = Header(
        version=1,
        alert_id=new_alert_id(),
        cluster="north-cluster",
        sender_school=sender,
        sender_generation=1,
        sender_member="head@school-00",
        created_at=CREATED,
        kind="alert",
        parent=None,
        category="defamation",
        severity="high",
        platform="instagram",
        tlp="AMBER",
        recipients=tuple(Recipient(s, 1) for s in schools),
    )
    return replace(header, **changes) if changes else header  # type: ignore[arg-type]


def publics_for(
    header: Header, pool: Mapping[str, SchoolKeys]
) -> dict[Recipient, SchoolPublicKeys]:
    return {r: pool[r.school].public() for r in header.recipients}


def seal_to(
    pool: Mapping[str, SchoolKeys], schools: list[str], plaintext: bytes = b"the alert body"
) -> Envelope:
    header = make_header(schools)
    return seal(header, plaintext, publics_for(header, pool), pool["school-00"])


@pytest.fixture(scope="module")
def two(pool: dict[str, SchoolKeys]) -> Envelope:
    return seal_to(pool, ["school-00", "school-01"], b"two-school alert " * 10)


# --- the design's construction, rebuilt from primitives -------------------------------


def spec_h(header_bytes: bytes) -> bytes:
    return hashlib.sha256(b"alertnet/v1/header\0" + header_bytes).digest()


def spec_hkdf(cek: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(cek)


def spec_message(
    h: bytes, nonce: bytes, ciphertext: bytes, wrap_hashes: list[bytes], commitment: bytes
) -> bytes:
    payload = hashlib.sha256(nonce + ciphertext).digest()
    wraps = hashlib.sha256(b"alertnet/v1/wraps\0" + b"".join(wrap_hashes)).digest()
    return b"alertnet/v1/sig\0" + h + payload + wraps + commitment


def spec_seal(
    header: Header,
    plaintext: bytes,
    publics: Mapping[Recipient, SchoolPublicKeys],
    sender: SchoolKeys,
    *,
    wrap_cek: Mapping[str, bytes] | None = None,
    wrap_h: Mapping[str, bytes] | None = None,
    ciphertext: bytes | None = None,
) -> Envelope:
    """A seal written from design.md; the keyword arguments let a malicious sender deviate."""
    header_bytes = header.to_bytes()
    h = spec_h(header_bytes)
    cek, nonce = os.urandom(32), os.urandom(12)
    if ciphertext is None:
        ciphertext = AESGCM(spec_hkdf(cek, b"payload")).encrypt(nonce, plaintext, h)
    payload = hashlib.sha256(nonce + ciphertext).digest()
    commitment = hmac.new(spec_hkdf(cek, b"commit"), h + payload, "sha256").digest()
    wraps = []
    for r in header.recipients:
        info = b"alertnet/v1/wrap\0" + (wrap_h or {}).get(r.school, h) + r.school.encode()
        secret = (wrap_cek or {}).get(r.school, cek)
        wraps.append((r, HPKE_SUITE.encrypt(secret, publics[r].kem_public_key(), info=info)))
    hashes_ = [hashlib.sha256(w).digest() for _, w in wraps]
    ed_sig, ml_sig = sender.sign(
        spec_message(h, nonce, ciphertext, hashes_, commitment), b"alertnet/v1/sig"
    )
    return Envelope(
        header_bytes, nonce, ciphertext, tuple(wraps), commitment, ed_sig, ml_sig, tuple(hashes_)
    )


def resign(envelope: Envelope, sender: SchoolKeys, **changes: object) -> Envelope:
    """What only the sender could do: change parts and sign again."""
    changed = replace(envelope, **changes)  # type: ignore[arg-type]
    message = spec_message(
        spec_h(changed.header),
        changed.nonce,
        changed.ciphertext,
        list(changed.wrap_hashes),
        changed.commitment,
    )
    ed_sig, ml_sig = sender.sign(message, SIG_CONTEXT)
    return replace(changed, ed25519_signature=ed_sig, mldsa_signature=ml_sig)


# --- round trips --------------------------------------------------------------------


@settings(SLOW_OK, max_examples=12)
@given(plaintext=st.binary(max_size=4096), count=st.integers(1, POOL_SIZE))
def test_every_recipient_reads_what_was_sealed(
    pool: dict[str, SchoolKeys], plaintext: bytes, count: int
) -> None:
    schools = [school(i) for i in range(count)]
    envelope = seal_to(pool, schools, plaintext)
    assert len(envelope.wraps) == len(envelope.wrap_hashes) == count
    wire = Envelope.from_bytes(envelope.to_bytes())
    assert wire == envelope
    sender_public = pool["school-00"].public()
    for name in schools:
        header, opened = open_(wire, name, pool[name], sender_public)
        assert opened == plaintext
        assert header.to_bytes() == envelope.header


def test_a_recipient_opens_its_own_slice_as_the_hub_stores_it(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    body = two.without_wraps().to_bytes()  # the alert row
    rows = {r: two.wrap_for(r) for r, _ in two.wraps}  # one row per recipient
    me = Recipient("school-01", 1)
    rebuilt = Envelope.from_bytes(body).with_wraps([(me, rows[me])])
    assert rebuilt == two.for_recipient(me)
    _, plaintext = open_(rebuilt, "school-01", pool["school-01"], pool["school-00"].public())
    assert plaintext == b"two-school alert " * 10
    assert rebuilt.envelope_hash() == two.envelope_hash() == two.without_wraps().envelope_hash()


def test_seal_follows_the_design_step_by_step(pool: dict[str, SchoolKeys], two: Envelope) -> None:
    """Open a sealed envelope with primitives only, following design.md."""
    h = spec_h(two.header)
    assert two.unverified_header().header_hash() == h
    sender = pool["school-00"].public()
    message = spec_message(h, two.nonce, two.ciphertext, list(two.wrap_hashes), two.commitment)
    Ed25519PublicKey.from_public_bytes(sender.ed25519).verify(two.ed25519_signature, message)
    MLDSA65PublicKey.from_public_bytes(sender.mldsa).verify(
        two.mldsa_signature, message, context=b"alertnet/v1/sig"
    )
    assert list(two.wrap_hashes) == [hashlib.sha256(w).digest() for _, w in two.wraps]
    recipient, wrap = two.wraps[1]
    assert len(wrap) == WRAP_LEN == 1120 + 32 + 16
    cek = HPKE_SUITE.decrypt(
        wrap,
        pool[recipient.school].kem_private_key(),
        info=b"alertnet/v1/wrap\0" + h + recipient.school.encode(),
    )
    payload = hashlib.sha256(two.nonce + two.ciphertext).digest()
    assert two.commitment == hmac.new(spec_hkdf(cek, b"commit"), h + payload, "sha256").digest()
    plaintext = AESGCM(spec_hkdf(cek, b"payload")).decrypt(two.nonce, two.ciphertext, h)
    assert plaintext == b"two-school alert " * 10


def test_open_accepts_an_envelope_built_from_the_design(pool: dict[str, SchoolKeys]) -> None:
    header = make_header(["school-00", "school-03", "school-07"])
    envelope = spec_seal(header, b"from the spec", publics_for(header, pool), pool["school-00"])
    for name in ("school-00", "school-03", "school-07"):
        assert open_(envelope, name, pool[name], pool["school-00"].public())[1] == b"from the spec"


def test_replies_attachments_and_empty_bodies_use_the_same_envelope(
    pool: dict[str, SchoolKeys],
) -> None:
    parent = new_alert_id()
    for kind, body in [("reply", b""), ("attachment", os.urandom(100_000)), ("action", b"x")]:
        header = make_header(
            ["school-00", "school-02"], sender="school-02", kind=kind, parent=parent
        )
        envelope = seal(header, body, publics_for(header, pool), pool["school-02"])
        opened_header, opened = open_(
            envelope, "school-00", pool["school-00"], pool["school-02"].public()
        )
        assert (opened_header.kind, opened_header.parent, opened) == (kind, parent, body)


def test_sealing_is_randomised(pool: dict[str, SchoolKeys]) -> None:
    header = make_header(["school-00"])
    publics = publics_for(header, pool)
    a = seal(header, b"same", publics, pool["school-00"])
    b = seal(header, b"same", publics, pool["school-00"])
    assert a.nonce != b.nonce
    assert a.ciphertext != b.ciphertext
    assert a.wraps != b.wraps
    assert a.envelope_hash() != b.envelope_hash()


def test_a_thousand_recipients_seal_and_parse(pool: dict[str, SchoolKeys]) -> None:
    # Distinct school ids sharing one key pair: the limit is on the header, not on keys.
    shared = pool["school-01"].public()
    names = [f"s{i:04d}" for i in range(MAX_RECIPIENTS)]
    header = make_header(names, sender="s0000")
    sender = SchoolKeys(1, *(pool["school-01"].kem_seed,) * 3)
    envelope = seal(header, b"to everyone", dict.fromkeys(header.recipients, shared), sender)
    wire = Envelope.from_bytes(envelope.to_bytes())
    _, opened = open_(
        wire.for_recipient(Recipient("s0999", 1)), "s0999", pool["school-01"], sender.public()
    )
    assert opened == b"to everyone"


# --- the hub tampering --------------------------------------------------------------


def test_flipping_any_byte_of_the_serialised_envelope_fails(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    """Exhaustive: every byte position of a two-recipient envelope, for both recipients."""
    wire = two.to_bytes()
    sender = pool["school-00"].public()
    for reader in ("school-00", "school-01"):
        for i in range(len(wire)):
            bad = wire[:i] + bytes([wire[i] ^ 0x01]) + wire[i + 1 :]
            with pytest.raises(CryptoError):
                open_(Envelope.from_bytes(bad), reader, pool[reader], sender)


@settings(SLOW_OK, max_examples=150)
@given(data=st.data())
def test_any_change_to_any_part_fails_with_a_crypto_error(
    pool: dict[str, SchoolKeys], two: Envelope, data: st.DataObject
) -> None:
    wire = two.to_bytes()
    i = data.draw(st.integers(0, len(wire) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    bad = wire[:i] + bytes([wire[i] ^ mask]) + wire[i + 1 :]
    with pytest.raises(CryptoError):
        open_(Envelope.from_bytes(bad), "school-01", pool["school-01"], pool["school-00"].public())


def flip(value: bytes, i: int = 0) -> bytes:
    return value[:i] + bytes([value[i] ^ 0x80]) + value[i + 1 :]


@pytest.mark.parametrize(
    ("part", "error"),
    [
        ("nonce", BadSignature),
        ("ciphertext", BadSignature),
        ("commitment", BadSignature),
        ("ed25519_signature", BadSignature),
        ("mldsa_signature", BadSignature),
        ("wrap_hashes", BadSignature),
        ("wraps", WrapMismatch),
    ],
)
def test_each_part_fails_with_its_documented_error(
    pool: dict[str, SchoolKeys], two: Envelope, part: str, error: type[CryptoError]
) -> None:
    value = getattr(two, part)
    if part == "wrap_hashes":
        changed: object = (flip(value[0]), *value[1:])
    elif part == "wraps":
        (r0, w0), rest = value[0], value[1:]
        changed = ((r0, flip(w0, 500)), *rest)
    else:
        changed = flip(value, len(value) // 2)
    tampered = replace(two, **{part: changed})
    with pytest.raises(error):
        open_(tampered, "school-01", pool["school-01"], pool["school-00"].public())


@pytest.mark.parametrize(
    "change",
    [
        {"severity": "low"},
        {"category": "other"},
        {"tlp": "CLEAR"},
        {"cluster": "south-cluster"},
        {"sender_member": "someone-else"},
        {"created_at": CREATED + timedelta(microseconds=1)},
        {"kind": "reply"},
        {"parent": bytes(16)},
        {"alert_id": bytes(16)},
        {"sender_school": "school-01"},
        {
            "recipients": (
                Recipient("school-00", 1),
                Recipient("school-01", 1),
                Recipient("school-02", 1),
            )
        },
        {"recipients": (Recipient("school-01", 1),)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_edited_header_fails_the_signature(
    pool: dict[str, SchoolKeys], two: Envelope, change: dict[str, object]
) -> None:
    edited = replace(two.unverified_header(), **change)  # type: ignore[arg-type]
    tampered = replace(two, header=edited.to_bytes())
    with pytest.raises(BadSignature):
        open_(tampered, "school-01", pool["school-01"], pool["school-00"].public())


def test_a_header_naming_another_sender_generation_is_tampered(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    edited = replace(two.unverified_header(), sender_generation=2)
    tampered = replace(two, header=edited.to_bytes())
    with pytest.raises(TamperedHeader):
        open_(tampered, "school-01", pool["school-01"], pool["school-00"].public())
    # The same check against untouched bytes, when the caller holds other keys.
    newer = SchoolKeys.generate(2).public()
    with pytest.raises(TamperedHeader):
        open_(two, "school-01", pool["school-01"], newer)


def test_a_signature_by_another_school_fails(pool: dict[str, SchoolKeys], two: Envelope) -> None:
    with pytest.raises(BadSignature):
        open_(two, "school-01", pool["school-01"], pool["school-05"].public())


def test_a_wrap_replayed_from_another_alert_fails(pool: dict[str, SchoolKeys]) -> None:
    first = seal_to(pool, ["school-00", "school-01"], b"first")
    second = seal_to(pool, ["school-00", "school-01"], b"second")
    me = Recipient("school-01", 1)
    replayed = first.with_wraps([(me, second.wrap_for(me))])
    with pytest.raises(WrapMismatch):
        open_(replayed, "school-01", pool["school-01"], pool["school-00"].public())
    # Even with its hash swapped in too, the signature stops it ...
    swapped = replace(replayed, wrap_hashes=(first.wrap_hashes[0], wrap_hash(second.wrap_for(me))))
    with pytest.raises(BadSignature):
        open_(swapped, "school-01", pool["school-01"], pool["school-00"].public())
    # ... and if the sender itself re-signs, the HPKE info (H) stops it.
    resigned = resign(swapped, pool["school-00"])
    with pytest.raises(WrapMismatch, match="does not open"):
        open_(resigned, "school-01", pool["school-01"], pool["school-00"].public())


def test_a_wrap_moved_to_another_recipient_fails(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    a, b = Recipient("school-00", 1), Recipient("school-01", 1)
    moved = two.with_wraps([(b, two.wrap_for(a))])
    with pytest.raises(WrapMismatch):
        open_(moved, "school-01", pool["school-01"], pool["school-00"].public())
    swapped = two.with_wraps([(a, two.wrap_for(b)), (b, two.wrap_for(a))])
    with pytest.raises(WrapMismatch):
        open_(swapped, "school-00", pool["school-00"], pool["school-00"].public())
    # Sender-signed swap: the wrap is under the other school's key and school id.
    resigned = resign(swapped, pool["school-00"], wrap_hashes=tuple(reversed(two.wrap_hashes)))
    with pytest.raises(WrapMismatch, match="does not open"):
        open_(resigned, "school-01", pool["school-01"], pool["school-00"].public())


def test_a_wrap_for_an_unlisted_recipient_is_refused(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    stranger = Recipient("school-09", 1)
    padded = two.with_wraps([*two.wraps, (stranger, two.wraps[0][1])])
    with pytest.raises(WrapMismatch):
        open_(padded, "school-01", pool["school-01"], pool["school-00"].public())


def test_a_sender_cannot_show_two_schools_different_texts(pool: dict[str, SchoolKeys]) -> None:
    """Key commitment: school-01 gets a CEK that the commitment does not match."""
    header = make_header(["school-00", "school-01"])
    envelope = spec_seal(
        header,
        b"text",
        publics_for(header, pool),
        pool["school-00"],
        wrap_cek={"school-01": os.urandom(32)},
    )
    assert open_(envelope, "school-00", pool["school-00"], pool["school-00"].public())[1] == b"text"
    with pytest.raises(WrapMismatch, match="commitment"):
        open_(envelope, "school-01", pool["school-01"], pool["school-00"].public())


def test_a_wrap_made_for_another_header_does_not_open(pool: dict[str, SchoolKeys]) -> None:
    header = make_header(["school-00", "school-01"])
    envelope = spec_seal(
        header,
        b"text",
        publics_for(header, pool),
        pool["school-00"],
        wrap_h={"school-01": bytes(32)},
    )
    with pytest.raises(WrapMismatch, match="does not open"):
        open_(envelope, "school-01", pool["school-01"], pool["school-00"].public())


def test_a_signed_ciphertext_that_does_not_decrypt_is_tampered(pool: dict[str, SchoolKeys]) -> None:
    header = make_header(["school-00", "school-01"])
    envelope = spec_seal(
        header, b"", publics_for(header, pool), pool["school-00"], ciphertext=os.urandom(64)
    )
    with pytest.raises(TamperedCiphertext):
        open_(envelope, "school-01", pool["school-01"], pool["school-00"].public())


def test_a_missing_wrap_hash_is_refused_even_if_signed(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    short = resign(two, pool["school-00"], wrap_hashes=two.wrap_hashes[:1], wraps=two.wraps[:1])
    with pytest.raises(MalformedEnvelope):
        open_(short, "school-00", pool["school-00"], pool["school-00"].public())


@settings(SLOW_OK, max_examples=15)
@given(data=st.data())
def test_any_wrap_moved_to_another_alert_or_recipient_fails(
    pool: dict[str, SchoolKeys], data: st.DataObject
) -> None:
    names = data.draw(
        st.lists(st.sampled_from(sorted(pool)), min_size=2, max_size=8, unique=True),
        label="schools",
    )
    first, second = seal_to(pool, names, b"first"), seal_to(pool, names, b"second")
    source = data.draw(st.sampled_from(second.wraps), label="moved wrap")[1]
    target = data.draw(st.sampled_from(first.wraps), label="into slot")[0]
    for donor in (source, *(w for r, w in first.wraps if r != target)):
        moved = first.with_wraps([(target, donor)])
        with pytest.raises(WrapMismatch):
            open_(moved, target.school, pool[target.school], pool["school-00"].public())


@settings(SLOW_OK, max_examples=15)
@given(data=st.data())
def test_no_school_outside_the_recipients_can_open(
    pool: dict[str, SchoolKeys], data: st.DataObject
) -> None:
    names = data.draw(
        st.lists(st.sampled_from(sorted(pool)), min_size=1, max_size=8, unique=True),
        label="schools",
    )
    outsider = data.draw(st.sampled_from([s for s in sorted(pool) if s not in names]))
    envelope = seal_to(pool, names, b"not for outsiders")
    sender = pool["school-00"].public()
    with pytest.raises(NotARecipient):
        open_(envelope, outsider, pool[outsider], sender)
    for name in names:  # posing as a recipient, with its own keys
        with pytest.raises(WrapMismatch):
            open_(envelope, name, pool[outsider], sender)


# --- recipients -------------------------------------------------------------------------


def test_a_school_that_is_not_a_recipient_cannot_open(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    sender = pool["school-00"].public()
    with pytest.raises(NotARecipient):
        open_(two, "school-09", pool["school-09"], sender)
    # Claiming to be a recipient with its own keys gets it nowhere either.
    with pytest.raises(WrapMismatch):
        open_(two, "school-01", pool["school-09"], sender)


def test_keys_of_another_generation_are_told_which_one_to_use(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    with pytest.raises(NotARecipient, match="generation 1"):
        open_(two, "school-01", SchoolKeys.generate(2), pool["school-00"].public())


def test_a_recipient_whose_wrap_was_withheld_is_told_so(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    with pytest.raises(NotARecipient, match="not supplied"):
        open_(two.without_wraps(), "school-01", pool["school-01"], pool["school-00"].public())
    with pytest.raises(NotARecipient):
        two.wrap_for(Recipient("school-09", 1))


def test_seal_requires_keys_for_exactly_the_header_recipients(pool: dict[str, SchoolKeys]) -> None:
    header = make_header(["school-00", "school-01"])
    publics = publics_for(header, pool)
    with pytest.raises(ValueError, match="exactly"):
        seal(
            header,
            b"",
            {**publics, Recipient("school-02", 1): pool["school-02"].public()},
            pool["school-00"],
        )
    with pytest.raises(ValueError, match="exactly"):
        seal(header, b"", dict(list(publics.items())[:1]), pool["school-00"])
    with pytest.raises(ValueError, match="generation"):
        seal(
            header,
            b"",
            {**publics, Recipient("school-01", 1): SchoolKeys.generate(3).public()},
            pool["school-00"],
        )
    with pytest.raises(ValueError, match="sender"):
        seal(header, b"", publics, SchoolKeys.generate(2))


# --- the canonical header -------------------------------------------------------------


def test_header_bytes_follow_the_documented_layout() -> None:
    header = make_header(["b-school", "a-school"], sender="a-school", parent=bytes(range(16)))

    def t(s: str) -> bytes:
        return len(s.encode()).to_bytes(2, "big") + s.encode()

    micros = (CREATED - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    expected = b"".join(
        [
            b"AH\x01",
            header.alert_id,
            t("north-cluster"),
            t("a-school"),
            (1).to_bytes(4, "big"),
            t("head@school-00"),
            micros.to_bytes(8, "big"),
            t("alert"),
            b"\x01" + bytes(range(16)),
            t("defamation"),
            t("high"),
            t("instagram"),
            t("AMBER"),
            (2).to_bytes(2, "big"),
            t("a-school") + (1).to_bytes(4, "big"),
            t("b-school") + (1).to_bytes(4, "big"),
        ]
    )
    assert header.to_bytes() == expected
    assert header.header_hash() == spec_h(expected)
    assert Header.from_bytes(expected) == header


def test_header_keeps_microseconds_and_normalises_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    header = make_header(["a"], sender="a", created_at=CREATED.astimezone(plus_two))
    assert header.created_at.tzinfo is UTC
    assert header.created_at == CREATED
    assert header.to_bytes() == make_header(["a"], sender="a", alert_id=header.alert_id).to_bytes()
    assert Header.from_bytes(header.to_bytes()).created_at.microsecond == 891011


def test_header_recipients_are_sorted_and_unique() -> None:
    header = make_header(["c", "a", "b"], sender="a")
    assert [r.school for r in header.recipients] == ["a", "b", "c"]
    with pytest.raises(MalformedEnvelope, match="more than once"):
        make_header(["a", "b"], sender="a", recipients=(Recipient("a", 1), Recipient("a", 2)))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"version": 9}, UnknownVersion),
        ({"alert_id": b"short"}, MalformedEnvelope),
        ({"parent": b"short"}, MalformedEnvelope),
        ({"created_at": datetime(2026, 1, 1)}, MalformedEnvelope),
        ({"created_at": datetime(1969, 12, 31, tzinfo=UTC)}, MalformedEnvelope),
        (
            {"created_at": datetime.max.replace(tzinfo=timezone(timedelta(hours=-1)))},
            MalformedEnvelope,
        ),
        ({"sender_school": ""}, MalformedEnvelope),
        ({"kind": ""}, MalformedEnvelope),
        ({"sender_generation": -1}, MalformedEnvelope),
        ({"recipients": ()}, MalformedEnvelope),
        ({"category": "\udcff"}, MalformedEnvelope),
        ({"platform": "x" * 70_000}, MalformedEnvelope),
        # Each fits its field, together they do not fit the 64 KiB header.
        ({"tlp": "x" * 40_000, "platform": "y" * 40_000}, MalformedEnvelope),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else v.__name__,
)
def test_invalid_headers_are_refused_on_construction(
    change: dict[str, object], error: type[CryptoError]
) -> None:
    with pytest.raises(error):
        make_header(["a"], sender="a", **change)


def test_recipient_limits() -> None:
    names = [f"s{i:04d}" for i in range(MAX_RECIPIENTS + 1)]
    assert len(make_header(names[:MAX_RECIPIENTS], sender="s0000").recipients) == MAX_RECIPIENTS
    with pytest.raises(MalformedEnvelope, match="1000"):
        make_header(names, sender="s0000")
    with pytest.raises(MalformedEnvelope):
        Recipient("", 1)
    with pytest.raises(MalformedEnvelope):
        Recipient("a", 2**32)


def header_bytes_with(recipients: list[tuple[str, int]], count: int | None = None) -> bytes:
    """A hand-made header, to try inputs Header itself would never produce."""
    base = make_header(["x"], sender="x").to_bytes()
    tail = len(b"\x00\x01" + b"\x00\x01x" + (1).to_bytes(4, "big"))
    body = base[:-tail]
    encoded = b"".join(
        len(s.encode()).to_bytes(2, "big") + s.encode() + g.to_bytes(4, "big")
        for s, g in recipients
    )
    return body + (len(recipients) if count is None else count).to_bytes(2, "big") + encoded


def test_non_canonical_or_oversize_header_bytes_are_refused(pool: dict[str, SchoolKeys]) -> None:
    assert Header.from_bytes(header_bytes_with([("a", 1), ("b", 1)])).recipients[1].school == "b"
    with pytest.raises(MalformedEnvelope, match="canonical"):
        Header.from_bytes(header_bytes_with([("b", 1), ("a", 1)]))
    with pytest.raises(MalformedEnvelope):
        Header.from_bytes(header_bytes_with([("a", 1), ("a", 1)]))
    with pytest.raises(MalformedEnvelope, match="1000"):
        Header.from_bytes(header_bytes_with([("a", 1)], count=1001))
    with pytest.raises(MalformedEnvelope, match="larger"):
        Header.from_bytes(header_bytes_with([("a" * 60_000, 1), ("b" * 6_000, 1)]))
    with pytest.raises(MalformedEnvelope, match="larger"):
        Header.from_bytes(b"AH\x01" + bytes(MAX_HEADER_BYTES))
    good = make_header(["a"], sender="a", parent=bytes(16)).to_bytes()
    with pytest.raises(MalformedEnvelope):
        Header.from_bytes(good + b"\0")
    with pytest.raises(UnknownVersion):
        Header.from_bytes(b"AH\x09" + good[3:])
    with pytest.raises(MalformedEnvelope):
        Header.from_bytes(b"XX" + good[2:])
    flag_at = good.index(b"\x01" + bytes(16))
    with pytest.raises(MalformedEnvelope, match="parent flag"):
        Header.from_bytes(good[:flag_at] + b"\x02" + good[flag_at + 1 :])
    time_at = flag_at - len(b"\x00\x05alert") - 8
    with pytest.raises(MalformedEnvelope, match="created_at"):
        Header.from_bytes(good[:time_at] + b"\xff" * 8 + good[time_at + 8 :])
    for cut in range(len(good)):
        with pytest.raises(MalformedEnvelope):
            Header.from_bytes(good[:cut])


@settings(SLOW_OK, max_examples=80)
@given(
    st.builds(
        lambda texts, generation, micros, parent, schools: make_header(
            schools,
            sender=schools[0],
            cluster=texts[0],
            sender_member=texts[1],
            kind=texts[2],
            category=texts[3],
            severity=texts[4],
            platform=texts[5],
            tlp=texts[6],
            sender_generation=generation,
            created_at=EPOCH + timedelta(microseconds=micros),
            parent=parent,
        ),
        st.lists(st.text(min_size=1, max_size=20), min_size=7, max_size=7),
        st.integers(0, 2**32 - 1),
        st.integers(0, (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)),
        st.none() | st.binary(min_size=16, max_size=16),
        st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20, unique=True),
    )
)
def test_any_valid_header_round_trips(header: Header) -> None:
    assert Header.from_bytes(header.to_bytes()) == header


@settings(SLOW_OK, max_examples=150)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_never_an_untyped_error(data: bytes) -> None:
    for parse in (Header.from_bytes, Envelope.from_bytes):
        with contextlib.suppress(CryptoError):
            parse(data)
        with contextlib.suppress(CryptoError):
            parse(b"AH\x01" + data)
        with contextlib.suppress(CryptoError):
            parse(b"AE\x01" + data)


# --- the envelope's own framing -------------------------------------------------------


def test_every_truncation_of_an_envelope_is_malformed(two: Envelope) -> None:
    wire = two.to_bytes()
    for cut in range(len(wire)):
        with pytest.raises(MalformedEnvelope):
            Envelope.from_bytes(wire[:cut])
    with pytest.raises(MalformedEnvelope):
        Envelope.from_bytes(wire + b"\0")


def test_envelope_versions_and_tags_are_checked(two: Envelope) -> None:
    wire = two.to_bytes()
    with pytest.raises(UnknownVersion):
        Envelope.from_bytes(b"AE\x09" + wire[3:])
    with pytest.raises(MalformedEnvelope):
        Envelope.from_bytes(b"AH" + wire[2:])
    with pytest.raises(MalformedEnvelope):
        Envelope.from_bytes("AE")  # type: ignore[arg-type]


def test_envelope_layout_is_as_documented(two: Envelope) -> None:
    wire = two.to_bytes()
    n = len(two.header)
    assert wire[:7] == b"AE\x01" + n.to_bytes(4, "big")
    at = 7 + n
    assert wire[at : at + 12] == two.nonce
    at += 12
    assert int.from_bytes(wire[at : at + 4], "big") == len(two.ciphertext)
    at += 4 + len(two.ciphertext)
    assert (
        wire[at : at + 32 + 64 + 3309]
        == two.commitment + two.ed25519_signature + two.mldsa_signature
    )
    at += 32 + 64 + 3309
    assert wire[at : at + 2 + 64] == b"\x00\x02" + b"".join(two.wrap_hashes)
    at += 2 + 64
    assert wire[at : at + 2] == b"\x00\x02"
    assert wire[at + 2 :].startswith(
        b"\x00\x09school-00" + (1).to_bytes(4, "big") + two.wraps[0][1]
    )
    assert len(wire) == at + 2 + 2 * (2 + 9 + 4 + WRAP_LEN)


def test_wraps_out_of_order_on_the_wire_are_non_canonical(two: Envelope) -> None:
    wire = two.to_bytes()
    entry = 2 + 9 + 4 + WRAP_LEN
    start = len(wire) - 2 * entry
    swapped = wire[:start] + wire[start + entry :] + wire[start : start + entry]
    with pytest.raises(MalformedEnvelope, match="canonical"):
        Envelope.from_bytes(swapped)


@pytest.mark.parametrize(
    "change",
    [
        {"nonce": bytes(11)},
        {"commitment": bytes(31)},
        {"ciphertext": bytes(15)},
        {"ed25519_signature": bytes(63)},
        {"mldsa_signature": bytes(3308)},
        {"wrap_hashes": (bytes(31),)},
        {"header": bytes(MAX_HEADER_BYTES + 1)},
        {"nonce": "not bytes"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_envelope_fields_are_length_checked(two: Envelope, change: dict[str, object]) -> None:
    with pytest.raises(MalformedEnvelope):
        replace(two, **change)  # type: ignore[arg-type]


def test_envelope_wraps_are_checked_and_sorted(two: Envelope) -> None:
    (a, wa), (b, wb) = two.wraps
    assert replace(two, wraps=((b, wb), (a, wa))).wraps == two.wraps
    with pytest.raises(MalformedEnvelope, match="two wraps"):
        replace(two, wraps=((a, wa), (a, wb)))
    with pytest.raises(MalformedEnvelope):
        replace(two, wraps=((a, wa[:-1]),))
    with pytest.raises(MalformedEnvelope):
        replace(two, wraps=(("school-00", wa),))


def test_garbage_header_inside_an_envelope_is_typed(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    with pytest.raises(MalformedEnvelope):
        open_(
            replace(two, header=b"AH\x01garbage"),
            "school-01",
            pool["school-01"],
            pool["school-00"].public(),
        )
    with pytest.raises(UnknownVersion):
        open_(
            replace(two, header=b"AH\x07" + two.header[3:]),
            "school-01",
            pool["school-01"],
            pool["school-00"].public(),
        )


def test_cached_digests_match_a_fresh_computation(
    pool: dict[str, SchoolKeys], two: Envelope
) -> None:
    """seal and from_bytes hand their parsed header and digests to the envelope;
    they must equal what an envelope built from the bare fields computes."""
    message = spec_message(
        spec_h(two.header), two.nonce, two.ciphertext, list(two.wrap_hashes), two.commitment
    )
    expected = hashlib.sha256(b"alertnet/v1/envelope\0" + message).digest()
    fresh = replace(two)  # same fields, nothing cached
    parsed = Envelope.from_bytes(two.to_bytes())
    for envelope in (two, fresh, parsed):
        assert envelope.envelope_hash() == expected
        assert envelope.unverified_header() == Header.from_bytes(two.header)
        # Parsed once per instance.
        assert envelope.unverified_header() is envelope.unverified_header()
    assert two == fresh == parsed
    # A changed field is never judged by the old field's cached digests.
    edited = replace(parsed, ciphertext=bytes(len(parsed.ciphertext)))
    assert edited.envelope_hash() != expected
    with pytest.raises(BadSignature):
        open_(edited, "school-01", pool["school-01"], pool["school-00"].public())
