"""Wycheproof known answers for every primitive the envelope and custody code rely on.

Every test case runs: ``valid`` must pass, ``invalid`` must fail. ``acceptable``
(only in the X25519 file) may go either way, but if the library computes a
result it must be the published one; see docs/crypto.md, "Known-answer tests".
Each test collects all mismatches and reports them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.vectors import load_json

# The AES-GCM API (and GCM itself in OpenSSL) takes 8- to 128-byte nonces; the
# envelope and custody code only ever use 12. Wycheproof's valid vectors with
# other IV sizes are therefore refused by the library, which we record, not hide.
GCM_NONCE_RANGE = range(8, 129)


def cases(name: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    data = load_json("wycheproof", name)
    for group in data["testGroups"]:
        for test in group["tests"]:
            yield group, test


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def test_x25519() -> None:
    failures, outcomes = [], Counter[str]()
    for _, t in cases("x25519_test.json"):
        try:
            shared = X25519PrivateKey.from_private_bytes(h(t["private"])).exchange(
                X25519PublicKey.from_public_bytes(h(t["public"]))
            )
        except ValueError:
            shared = None
        result = t["result"]
        if result == "valid" and shared != h(t["shared"]):
            failures.append(t["tcId"])
        elif result == "acceptable":
            # Rejecting an all-zero (low-order point) result is allowed and is what
            # OpenSSL does; any computed result must still be the right one.
            if shared is not None and shared != h(t["shared"]):
                failures.append(t["tcId"])
            if shared is None and "ZeroSharedSecret" not in t["flags"]:
                failures.append(t["tcId"])  # rejected for some other reason
            outcomes["acceptable-rejected" if shared is None else "acceptable-computed"] += 1
        elif result == "invalid" and shared == h(t["shared"]):
            failures.append(t["tcId"])
        outcomes[result] += 1
    assert not failures, f"X25519 cases disagreeing with Wycheproof: {failures}"
    assert outcomes["valid"] == 264
    assert outcomes["acceptable"] == 254
    # Exactly the 31 zero-shared-secret cases are rejected; 223 are computed correctly.
    assert outcomes["acceptable-rejected"] == 31
    assert outcomes["acceptable-computed"] == 223


def test_ed25519() -> None:
    failures, outcomes = [], Counter[str]()
    for group, t in cases("ed25519_test.json"):
        key = Ed25519PublicKey.from_public_bytes(h(group["publicKey"]["pk"]))
        try:
            key.verify(h(t["sig"]), h(t["msg"]))
            verified = True
        except InvalidSignature:
            verified = False
        if verified != (t["result"] == "valid"):
            failures.append(t["tcId"])
        outcomes[t["result"]] += 1
    assert not failures, f"Ed25519 cases disagreeing with Wycheproof: {failures}"
    assert outcomes == Counter(valid=88, invalid=63)


def test_aes_gcm() -> None:
    failures, refused, outcomes = [], [], Counter[str]()
    for _, t in cases("aes_gcm_test.json"):
        key, iv, aad, msg = h(t["key"]), h(t["iv"]), h(t["aad"]), h(t["msg"])
        expected = h(t["ct"]) + h(t["tag"])
        outcomes[t["result"]] += 1
        if len(iv) not in GCM_NONCE_RANGE:
            refused.append((t["tcId"], len(iv), t["result"]))
            try:
                AESGCM(key).decrypt(iv, expected, aad)
            except ValueError:
                continue
            failures.append(t["tcId"])  # the library must refuse, not compute
            continue
        aead = AESGCM(key)
        if t["result"] == "valid":
            if aead.encrypt(iv, msg, aad) != expected or aead.decrypt(iv, expected, aad) != msg:
                failures.append(t["tcId"])
        else:
            try:
                aead.decrypt(iv, expected, aad)
                failures.append(t["tcId"])
            except InvalidTag:
                pass
    assert not failures, f"AES-GCM cases disagreeing with Wycheproof: {failures}"
    assert outcomes == Counter(valid=229, invalid=87)
    # Refused by nonce length: 24 valid "SmallIv" (1-6 bytes) and 3 valid "LongIv"
    # (257 bytes) cases, and the 6 invalid zero-length-IV ones.
    assert Counter(result for _, _, result in refused) == Counter(valid=27, invalid=6)
    assert {length for _, length, _ in refused} == {0, 1, 2, 4, 6, 257}
    assert 12 in GCM_NONCE_RANGE


def test_hkdf_sha256() -> None:
    failures, outcomes = [], Counter[str]()
    for _, t in cases("hkdf_sha256_test.json"):
        try:
            okm = HKDF(
                algorithm=hashes.SHA256(),
                length=t["size"],
                salt=h(t["salt"]),
                info=h(t["info"]),
            ).derive(h(t["ikm"]))
        except ValueError:  # output longer than 255 * 32 bytes
            okm = None
        if (okm == h(t["okm"])) != (t["result"] == "valid"):
            failures.append(t["tcId"])
        outcomes[t["result"]] += 1
    assert not failures, f"HKDF-SHA256 cases disagreeing with Wycheproof: {failures}"
    assert outcomes == Counter(valid=83, invalid=3)


def test_mldsa_65_verify() -> None:
    failures, outcomes = [], Counter[str]()
    for group, t in cases("mldsa_65_verify_test.json"):
        try:
            key = MLDSA65PublicKey.from_public_bytes(h(group["publicKey"]))
            context = h(t["ctx"]) if "ctx" in t else None
            key.verify(h(t["sig"]), h(t["msg"]), context=context)
            verified = True
        except (InvalidSignature, ValueError):  # bad key length, context > 255 bytes
            verified = False
        if verified != (t["result"] == "valid"):
            failures.append(t["tcId"])
        outcomes[t["result"]] += 1
    assert not failures, f"ML-DSA-65 cases disagreeing with Wycheproof: {failures}"
    assert outcomes == Counter(valid=79, invalid=131)
