"""Argon2id: the RFC 9106 section 5.3 vector, and our password KDF's use of it.

The RFC vector uses a secret (``K``) and associated data (``X``). cryptography
50's ``Argon2id`` takes both (``secret=``, ``ad=``), so the vector is checked
as published; on a release without them the test skips with that reason. The
password blob itself uses neither (docs/crypto.md), which the second test pins
by recomputing a blob's key without them.
"""

from __future__ import annotations

import inspect
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto import custody
from crypto.custody import Argon2Params, unwrap_seed_with_password, wrap_seed_with_password
from tests.vectors import load_json

OWNER = custody.password_owner(uuid.UUID(int=1), uuid.UUID(int=2))


def test_rfc9106_argon2id_vector() -> None:
    v = load_json("argon2", "rfc9106-argon2id.json")
    assert v["type"] == "argon2id"
    assert v["version"] == 19  # 0x13, the only version cryptography implements
    parameters = inspect.signature(Argon2id).parameters
    if not {"secret", "ad"} <= parameters.keys():
        pytest.skip(
            "this cryptography release's Argon2id takes no secret/ad; RFC vector needs both"
        )
    tag = Argon2id(
        salt=bytes.fromhex(v["salt_hex"]),
        length=v["tag_length"],
        iterations=v["iterations"],
        lanes=v["lanes"],
        memory_cost=v["memory_kib"],
        secret=bytes.fromhex(v["secret_hex"]),
        ad=bytes.fromhex(v["associated_data_hex"]),
    ).derive(bytes.fromhex(v["password_hex"]))
    assert tag.hex() == v["tag_hex"]


def test_rfc9106_vector_parameters_drive_our_password_wrap() -> None:
    """The vector's cost parameters through our blob: plain Argon2id, no secret or ad."""
    v = load_json("argon2", "rfc9106-argon2id.json")
    params = Argon2Params(v["iterations"], v["memory_kib"], v["lanes"])
    password = bytes.fromhex(v["password_hex"]).decode()  # 32 x U+0001, NFKC-stable
    seed = bytes(range(32))
    blob = wrap_seed_with_password(seed, password, params, OWNER)
    salt, nonce, ciphertext = blob[15:31], blob[31:43], blob[43:]
    key = Argon2id(
        salt=salt,
        length=32,
        iterations=v["iterations"],
        lanes=v["lanes"],
        memory_cost=v["memory_kib"],
    ).derive(password.encode())
    assert (
        AESGCM(key).decrypt(nonce, ciphertext, b"alertnet/v2/password\0" + blob[:31] + OWNER)
        == seed
    )
    assert unwrap_seed_with_password(blob, password, OWNER) == seed
