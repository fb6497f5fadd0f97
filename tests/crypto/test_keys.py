"""School key bundles, public keys, fingerprints and credential key pairs."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.errors import BadSignature, CryptoError, MalformedKey, UnknownVersion
from crypto.keys import (
    KEM_PUBLIC_LEN,
    SEED_LEN,
    CredentialKey,
    SchoolKeys,
    SchoolPublicKeys,
    xwing_public_bytes,
    xwing_public_key,
)

FIXED = SchoolKeys(7, bytes(range(32)), bytes(range(32, 64)), bytes(range(64, 96)))
FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def bundle() -> SchoolKeys:
    return SchoolKeys.generate(3)


def test_bundle_round_trips_through_its_fixed_layout(bundle: SchoolKeys) -> None:
    raw = bundle.to_bytes()
    assert len(raw) == 103
    assert raw[:3] == b"KB\x01"
    assert raw[3:7] == (3).to_bytes(4, "big")
    assert raw[7:] == bundle.kem_seed + bundle.ed25519_seed + bundle.mldsa_seed
    assert SchoolKeys.from_bytes(raw) == bundle


def test_generated_bundles_are_distinct_and_seeds_are_32_bytes() -> None:
    a, b = SchoolKeys.generate(1), SchoolKeys.generate(1)
    assert a != b
    for seed in (a.kem_seed, a.ed25519_seed, a.mldsa_seed):
        assert len(seed) == SEED_LEN
    assert len({a.kem_seed, a.ed25519_seed, a.mldsa_seed}) == 3


def test_repr_of_secret_keys_shows_no_seed(bundle: SchoolKeys) -> None:
    text = repr(bundle) + repr(CredentialKey(bundle.kem_seed))
    for seed in (bundle.kem_seed, bundle.ed25519_seed, bundle.mldsa_seed):
        assert repr(seed) not in text
        assert seed.hex() not in text


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda b: b[:-1], MalformedKey),
        (lambda b: b + b"\0", MalformedKey),
        (lambda b: b"", MalformedKey),
        (lambda b: b"KP" + b[2:], MalformedKey),
        (lambda b: b[:2] + b"\x02" + b[3:], UnknownVersion),
        (lambda b: "not bytes", MalformedKey),  # type: ignore[arg-type,return-value],
    ],
    ids=["truncated", "trailing", "empty", "wrong-tag", "version-2", "str"],
)
def test_bad_bundle_bytes_raise_typed_errors(
    bundle: SchoolKeys, mutate: Callable[[bytes], bytes], error: type[CryptoError]
) -> None:
    with pytest.raises(error):
        SchoolKeys.from_bytes(mutate(bundle.to_bytes()))


def test_bundle_construction_checks_seeds_and_generation() -> None:
    with pytest.raises(MalformedKey):
        SchoolKeys(1, b"short", bytes(32), bytes(32))
    with pytest.raises(MalformedKey):
        SchoolKeys(-1, bytes(32), bytes(32), bytes(32))
    with pytest.raises(MalformedKey):
        SchoolKeys(2**32, bytes(32), bytes(32), bytes(32))
    with pytest.raises(MalformedKey):
        CredentialKey(bytes(31))


def test_public_keys_have_the_documented_sizes_and_round_trip(bundle: SchoolKeys) -> None:
    public = bundle.public()
    assert public.generation == 3
    assert len(public.kem) == KEM_PUBLIC_LEN == 1216
    assert len(public.ed25519) == 32
    assert len(public.mldsa) == 1952
    raw = public.to_bytes()
    assert len(raw) == 3 + 4 + 1216 + 32 + 1952
    assert raw[:7] == b"KP\x01" + (3).to_bytes(4, "big")
    assert raw[7:] == public.kem + public.ed25519 + public.mldsa
    assert SchoolPublicKeys.from_bytes(raw) == public


def test_kem_public_key_is_the_xwing_expansion_of_the_seed(bundle: SchoolKeys) -> None:
    """X-Wing: SHAKE256(seed, 96) -> ML-KEM-768 from [:64], X25519 from [64:]."""
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

    expanded = hashlib.shake_256(bundle.kem_seed).digest(96)
    mlkem_pub = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]).public_key()
    x_pub = x25519.X25519PrivateKey.from_private_bytes(expanded[64:]).public_key()
    assert bundle.public().kem == mlkem_pub.public_bytes_raw() + x_pub.public_bytes_raw()
    assert CredentialKey(bundle.kem_seed).public_bytes() == bundle.public().kem


@pytest.mark.parametrize("field", ["kem", "ed25519", "mldsa"])
def test_public_keys_of_wrong_length_are_malformed(bundle: SchoolKeys, field: str) -> None:
    public = bundle.public()
    values = {"kem": public.kem, "ed25519": public.ed25519, "mldsa": public.mldsa}
    values[field] = values[field][:-1]
    with pytest.raises(MalformedKey):
        SchoolPublicKeys(generation=1, **values)


def test_an_mlkem_key_failing_the_modulus_check_is_malformed(bundle: SchoolKeys) -> None:
    bad_kem = b"\xff" * 1184 + bundle.public().kem[1184:]
    with pytest.raises(MalformedKey):
        SchoolPublicKeys(1, bad_kem, bundle.public().ed25519, bundle.public().mldsa)
    with pytest.raises(MalformedKey):
        xwing_public_key(bad_kem)


@FAST
@given(st.binary(max_size=3300))
def test_arbitrary_bytes_never_escape_as_untyped_errors(data: bytes) -> None:
    for parse in (SchoolKeys.from_bytes, SchoolPublicKeys.from_bytes):
        with contextlib.suppress(CryptoError):
            parse(data)


def test_fingerprint_is_twelve_groups_of_five_digits(bundle: SchoolKeys) -> None:
    fingerprint = bundle.public().fingerprint()
    assert re.fullmatch(r"\d{5}( \d{5}){11}", fingerprint)
    assert fingerprint == SchoolPublicKeys.from_bytes(bundle.public().to_bytes()).fingerprint()


def test_fingerprint_follows_its_documented_definition() -> None:
    public = FIXED.public()
    digest = hashlib.sha256(b"alertnet/v1/fingerprint\0" + public.to_bytes()).digest()
    digits = f"{int.from_bytes(digest, 'big') % 10**60:060d}"
    assert public.fingerprint() == " ".join(digits[i : i + 5] for i in range(0, 60, 5))
    # Pinned, so a change to key expansion or the format cannot slip through unnoticed.
    assert public.fingerprint() == (
        "73081 11146 15959 04109 97720 43370 11281 88291 91618 74106 05022 04855"
    )


def test_fingerprint_changes_when_any_key_or_the_generation_changes() -> None:
    base = FIXED.public()
    other = SchoolKeys.generate(7).public()
    variants = [
        SchoolPublicKeys(8, base.kem, base.ed25519, base.mldsa),
        SchoolPublicKeys(7, other.kem, base.ed25519, base.mldsa),
        SchoolPublicKeys(7, base.kem, other.ed25519, base.mldsa),
        SchoolPublicKeys(7, base.kem, base.ed25519, other.mldsa),
    ]
    prints = {v.fingerprint() for v in variants} | {base.fingerprint()}
    assert len(prints) == 5


def test_both_signatures_are_required(bundle: SchoolKeys) -> None:
    public = bundle.public()
    message = b"alertnet/v1/test\0message"
    ed_sig, ml_sig = bundle.sign(message, b"ctx")
    public.verify(message, ed_sig, ml_sig, b"ctx")
    flipped_ed = bytes([ed_sig[0] ^ 1]) + ed_sig[1:]
    flipped_ml = ml_sig[:-1] + bytes([ml_sig[-1] ^ 1])
    for args in [
        (message, flipped_ed, ml_sig, b"ctx"),
        (message, ed_sig, flipped_ml, b"ctx"),
        (message, ed_sig, ml_sig, b"other context"),
        (message + b"!", ed_sig, ml_sig, b"ctx"),
        (message, ed_sig[:-1], ml_sig, b"ctx"),
        (message, ed_sig, ml_sig[:-1], b"ctx"),
    ]:
        with pytest.raises(BadSignature):
            public.verify(*args)
    with pytest.raises(BadSignature):
        SchoolKeys.generate(3).public().verify(message, ed_sig, ml_sig, b"ctx")


def test_credential_public_key_is_deterministic_per_seed() -> None:
    credential = CredentialKey.generate()
    assert len(credential.public_bytes()) == 1216
    assert CredentialKey(credential.seed).public_bytes() == credential.public_bytes()
    assert CredentialKey.generate().public_bytes() != credential.public_bytes()
    assert xwing_public_bytes(credential.seed) == credential.public_bytes()
    assert (
        hashlib.sha256(CredentialKey(bytes(32)).public_bytes()).hexdigest()
        == "3bb0b003f553f49f38bab31546b7f4fdd323c74cbf4aaf97d9703ede4e83eff7"
    )
