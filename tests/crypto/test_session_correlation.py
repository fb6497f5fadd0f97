"""A session's sealed correlation keys (crypto/session_correlation.py)."""

from __future__ import annotations

import os
import uuid

import pytest

from crypto import session_correlation as sealing
from crypto.custody import session_context
from crypto.errors import CryptoError, UnwrapError

CLUSTER = uuid.uuid4()
KEYS = {1: os.urandom(32), 2: os.urandom(32)}
HELD = sealing.SealedKeys(KEYS, sealing.Stamp(wraps=2, newest=2))


def _context(session_id: bytes = b"\1" * 32, cluster: uuid.UUID = CLUSTER) -> bytes:
    row = session_context(uuid.UUID(int=1), uuid.UUID(int=2), 3, session_id)
    return sealing.context(row, cluster)


def test_the_keys_and_their_stamp_come_back_with_the_cookies_key():
    vault_key = os.urandom(32)
    blob = sealing.seal(vault_key, HELD, _context())
    assert blob[:3] == b"SC\x01"
    opened = sealing.open_(vault_key, blob, _context())
    assert dict(opened.keys) == KEYS
    assert opened.stamp == sealing.Stamp(2, 2)
    # No key is in the row in clear.
    assert all(key not in blob for key in KEYS.values())


def test_a_changed_byte_anywhere_is_refused():
    vault_key = os.urandom(32)
    blob = sealing.seal(vault_key, HELD, _context())
    for at in range(len(blob)):
        tampered = blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]
        with pytest.raises(CryptoError):
            sealing.open_(vault_key, tampered, _context())
    with pytest.raises(CryptoError):
        sealing.open_(vault_key, blob[:-1], _context())


def test_another_rows_blob_another_cluster_or_another_cookie_does_not_open():
    vault_key = os.urandom(32)
    blob = sealing.seal(vault_key, HELD, _context())
    with pytest.raises(UnwrapError):
        sealing.open_(vault_key, blob, _context(session_id=b"\2" * 32))
    with pytest.raises(UnwrapError):
        sealing.open_(vault_key, blob, _context(cluster=uuid.uuid4()))
    with pytest.raises(UnwrapError):
        sealing.open_(os.urandom(32), blob, _context())
    with pytest.raises(UnwrapError):
        sealing.open_(b"short", blob, _context())


def test_a_school_without_keys_yet_seals_an_empty_set():
    vault_key = os.urandom(32)
    empty = sealing.SealedKeys({}, sealing.Stamp(0, 0))
    opened = sealing.open_(vault_key, sealing.seal(vault_key, empty, _context()), _context())
    assert dict(opened.keys) == {}
    assert opened.stamp == sealing.Stamp(0, 0)


def test_the_sub_key_is_hkdf_expand_of_the_cookies_key():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    vault_key = os.urandom(32)
    blob = sealing.seal(vault_key, HELD, _context())
    sub_key = HKDFExpand(hashes.SHA256(), 32, b"alertnet/v1/session/correlation-key").derive(
        vault_key
    )
    aad = b"alertnet/v1/session/correlation\0" + blob[:3] + _context()
    plain = AESGCM(sub_key).decrypt(blob[3:15], blob[15:], aad)
    assert plain[:10] == (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (2).to_bytes(2, "big")
    assert plain[10:14] == (1).to_bytes(4, "big")
    assert plain[14:46] == KEYS[1]
