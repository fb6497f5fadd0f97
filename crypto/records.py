"""Read records: what a school keeps of an envelope it has verified once.

design.md, "Open once per school": after a school (or a tier of it, or one
person) has verified an envelope, the hub stores

    AES-256-GCM(K_read, nonce, header || summary, aad = label || envelope_hash)

with ``K_read = HKDF(bundle, "alertnet/v1/read\\0" || tier || generation)``,
where the bundle is the one the envelope was opened with. Listing an inbox then
opens these small records instead of verifying signatures and decapsulating
again, and opening the envelope again (an alert's page) checks the record in
place of the signatures (``open_verified_before``). The hub cannot make or
alter a record (it has no bundle); a record moved to another envelope fails its
tag, because the envelope hash is its associated data; and a member outside
the tier cannot derive its key.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._encoding import Reader, hkdf_sha256, prefix, u32
from crypto.envelope import (
    ENVELOPE_HASH_LEN,
    Envelope,
    Header,
    Opened,
    Recipient,
    _open_verified,
    is_tier,
)
from crypto.errors import MalformedEnvelope, UnwrapError
from crypto.keys import SchoolKeys

_MAGIC = b"RR"
_VERSION = 1
_NONCE_LEN = 12
_KEY_LABEL = b"alertnet/v1/read\0"
_AAD_LABEL = b"alertnet/v1/read-record\0"


def read_key(keys: SchoolKeys, tier: str) -> bytes:
    """``K_read`` of one bundle (school, leadership or personal) at its generation."""
    if not is_tier(tier):
        raise ValueError(f"unknown tier {tier!r}")
    return hkdf_sha256(
        keys.to_bytes(), _KEY_LABEL + tier.encode("utf-8") + b"\0" + u32(keys.generation)
    )


def _aad(envelope_hash: bytes) -> bytes:
    if not isinstance(envelope_hash, bytes) or len(envelope_hash) != ENVELOPE_HASH_LEN:
        raise ValueError(f"an envelope hash is {ENVELOPE_HASH_LEN} bytes")
    return _AAD_LABEL + envelope_hash


def seal_read_record(key: bytes, envelope_hash: bytes, header: Header, summary: bytes) -> bytes:
    """``"RR" 01 || nonce (12) || AES-256-GCM(u32 len || header bytes || summary)``."""
    header_bytes = header.to_bytes()
    nonce = os.urandom(_NONCE_LEN)
    plaintext = u32(len(header_bytes)) + header_bytes + summary
    return (
        prefix(_MAGIC, _VERSION)
        + nonce
        + AESGCM(key).encrypt(nonce, plaintext, _aad(envelope_hash))
    )


def open_read_record(key: bytes, envelope_hash: bytes, record: bytes) -> tuple[Header, bytes]:
    """The verified header and summary a record holds; UnwrapError if the record
    was not made with this key for this envelope (or was altered)."""
    reader = Reader(record, MalformedEnvelope, "read record")
    reader.prefix(_MAGIC, frozenset({_VERSION}))
    nonce = reader.take(_NONCE_LEN)
    ciphertext = reader.rest()
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _aad(envelope_hash))
    except InvalidTag:
        raise UnwrapError("the read record does not open for this envelope") from None
    inner = Reader(plaintext, MalformedEnvelope, "read record")
    header = Header.from_bytes(inner.take(inner.u32()))
    return header, inner.rest()


def open_verified_before(
    envelope: Envelope, recipient: Recipient, keys: SchoolKeys, key: bytes, record: bytes
) -> Opened:
    """Open an envelope the school verified before, as its read record proves,
    without checking the signatures again.

    The record must open under ``key`` (``K_read`` of the bundle whose wrap is
    opened) with this envelope's hash as associated data. The envelope hash is
    a hash of the signed message, which binds the header, the summary and body
    ciphertexts, every wrap's hash and the key commitment; only a member of the
    tier could have sealed the record, and only after both signatures over that
    message verified. Everything else is checked as on a first opening: the
    wrap given is the one the signed list names, it opens with these keys, the
    content key matches the commitment, and the summary and body decrypt.
    UnwrapError when the record does not prove it (then verify in full)."""
    if len(envelope.wrap_hashes) != len(envelope.unverified_header().recipients):
        raise MalformedEnvelope("envelope: one wrap hash per recipient is required")
    reader = Reader(record, MalformedEnvelope, "read record")
    reader.prefix(_MAGIC, frozenset({_VERSION}))
    nonce = reader.take(_NONCE_LEN)
    try:
        AESGCM(key).decrypt(nonce, reader.rest(), _aad(envelope.envelope_hash()))
    except InvalidTag:
        raise UnwrapError("the read record does not open for this envelope") from None
    return _open_verified(envelope, envelope.unverified_header(), recipient, keys)


__all__ = ["open_read_record", "open_verified_before", "read_key", "seal_read_record"]
