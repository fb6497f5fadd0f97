"""A login session's copy of the cluster correlation keys its school holds,
sealed beside the session's bundle (crypto/custody.py, "session split").

Opening a school's wraps of the correlation key costs an X-Wing decapsulation
per generation on every alert opened. A session instead keeps the keys it
opened once, sealed under a sub-key of the cookie's per-session key: the row
holds the ciphertext, the browser the key, as for the bundle. The blob also
carries the *stamp* of the school's wraps it was made from (how many, and the
newest generation), so the reader can tell when the school was given another.

Pure functions: no database, no Flask.
"""

from __future__ import annotations

import hmac
import os
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._encoding import prefix, u16, u32
from crypto.custody import SESSION_KEY_LEN
from crypto.errors import MalformedKey, UnknownVersion, UnwrapError
from crypto.indicators import CORRELATION_KEY_LEN

_MAGIC = b"SC"
_VERSION = 1
_LABEL = b"alertnet/v1/session/correlation\0"
_KEY_LABEL = b"alertnet/v1/session/correlation-key"
_NONCE_LEN = 12
_HEAD = prefix(_MAGIC, _VERSION)
_COUNTS = struct.Struct(">IIH")  # u32 wraps, u32 newest, u16 n
_GENERATION = struct.Struct(">I")
_ENTRY = 4 + CORRELATION_KEY_LEN
#: More generations than a cluster will ever make (one per school leaving).
MAX_GENERATIONS = 4096


@dataclass(frozen=True)
class Stamp:
    """The school's wraps of the cluster's key a set of keys was opened from:
    how many there were, and the newest generation (0: none)."""

    wraps: int
    newest: int


@dataclass(frozen=True)
class SealedKeys:
    """Correlation keys by generation, and the stamp of the wraps they came from."""

    keys: Mapping[int, bytes]
    stamp: Stamp


def context(session_context: bytes, cluster_id: uuid.UUID) -> bytes:
    """The associated data: the session row's own context (member, school, key
    generation, session id: ``custody.session_context``) and the cluster, so a
    blob copied to another row, or kept after a move of cluster, does not open."""
    if not isinstance(cluster_id, uuid.UUID):
        raise TypeError("cluster_id must be a UUID")
    return session_context + cluster_id.bytes


def _key(vault_key: bytes) -> bytes:
    """A sub-key: the cookie's key itself seals only the bundle. The cookie's
    key is 32 uniformly random bytes, so HKDF's extract step is skipped (RFC
    5869, section 3.3): ``HKDF-Expand-SHA256(cookie_key, label, 32)``, one HMAC,
    taken on every request that matches indicators."""
    if not isinstance(vault_key, bytes) or len(vault_key) != SESSION_KEY_LEN:
        raise UnwrapError("the session key is not 32 bytes")
    return hmac.digest(vault_key, _KEY_LABEL + b"\x01", "sha256")


def seal(vault_key: bytes, held: SealedKeys, context: bytes) -> bytes:
    """``"SC" 01 || nonce (12) || AES-256-GCM(u32 wraps || u32 newest || u16 n ||
    n * (u32 generation || key (32)))`` under ``HKDF(vault_key, label)``,
    associated data ``"alertnet/v1/session/correlation\\0" || "SC" 01 || context``."""
    if len(held.keys) > MAX_GENERATIONS:
        raise ValueError(f"at most {MAX_GENERATIONS} generations")
    if any(len(key) != CORRELATION_KEY_LEN for key in held.keys.values()):
        raise ValueError("a correlation key is 32 bytes")
    plain = b"".join(
        [
            u32(held.stamp.wraps),
            u32(held.stamp.newest),
            u16(len(held.keys)),
            *(u32(generation) + held.keys[generation] for generation in sorted(held.keys)),
        ]
    )
    head = prefix(_MAGIC, _VERSION)
    nonce = os.urandom(_NONCE_LEN)
    return head + nonce + AESGCM(_key(vault_key)).encrypt(nonce, plain, _LABEL + head + context)


def open_(vault_key: bytes, blob: bytes | bytearray | memoryview, context: bytes) -> SealedKeys:
    """The keys a blob seals; UnwrapError for a wrong key, a changed byte or a
    blob of another row, MalformedKey for one that does not parse.

    Read with ``struct`` rather than a ``Reader``: it is opened on every alert a
    signed-in reader opens, and the reader's dozen calls cost as much as the
    AES-GCM opening (bench/indicators.py)."""
    blob = bytes(blob)  # as a Reader takes it: any bytes-like value
    if len(blob) < len(_HEAD) + _NONCE_LEN:
        raise MalformedKey("session correlation keys: truncated")
    if blob[:2] != _MAGIC:
        raise MalformedKey("not session correlation keys (expected tag 'SC')")
    if blob[2] != _VERSION:
        raise UnknownVersion(f"session correlation keys: unknown version {blob[2]}")
    nonce, ciphertext = blob[3 : 3 + _NONCE_LEN], blob[3 + _NONCE_LEN :]
    try:
        plain = AESGCM(_key(vault_key)).decrypt(nonce, ciphertext, _LABEL + _HEAD + context)
    except InvalidTag:
        raise UnwrapError("the session key does not open these correlation keys") from None
    if len(plain) < _COUNTS.size:
        raise MalformedKey("session correlation keys: truncated")
    wraps, newest, count = _COUNTS.unpack_from(plain)
    if len(plain) != _COUNTS.size + count * _ENTRY:
        raise MalformedKey("session correlation keys: wrong length")
    keys: dict[int, bytes] = {}
    for offset in range(_COUNTS.size, len(plain), _ENTRY):
        (generation,) = _GENERATION.unpack_from(plain, offset)
        keys[generation] = plain[offset + 4 : offset + _ENTRY]
    return SealedKeys(keys, Stamp(wraps, newest))


__all__ = ["MAX_GENERATIONS", "SealedKeys", "Stamp", "context", "open_", "seal"]
