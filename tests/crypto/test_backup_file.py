"""The sealed backup file: only the operator's identity opens it, and any damage
stops the reader before it hands over a byte of the damaged part."""

from __future__ import annotations

import io
import os

import pytest

from crypto.backup import (
    CHUNK,
    BackupIdentity,
    BackupPublicKey,
    DamagedBackup,
    NotABackup,
    SealingWriter,
    WrongKey,
    open_stream,
)

IDENTITY = BackupIdentity(bytes(range(32)))


def seal(payload: bytes, identity: BackupIdentity = IDENTITY, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    writer = SealingWriter(out, identity.public_key())
    step = max(1, len(payload) // pieces)
    for start in range(0, len(payload), step):
        writer.write(payload[start : start + step])
    writer.close()
    return out.getvalue()


def opened(data: bytes, identity: BackupIdentity = IDENTITY) -> bytes:
    return b"".join(open_stream(io.BytesIO(data), identity))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_the_identity_opens_what_was_sealed_to_its_public_key(size):
    payload = os.urandom(size)
    assert opened(seal(payload)) == payload


def test_the_keys_round_trip_through_their_text_forms():
    identity = BackupIdentity.generate()
    text = identity.to_text("2026-12-01 10:00 UTC")
    assert BackupIdentity.from_text(text) == identity
    public = identity.public_key()
    assert BackupPublicKey.from_text(public.to_text()) == public
    assert public.to_text() in text  # the identity file names its public key


def test_another_identity_is_told_it_is_the_wrong_key():
    sealed = seal(b"rows")
    with pytest.raises(WrongKey, match="sealed to the key"):
        opened(sealed, BackupIdentity(bytes(32)))


def test_a_file_that_is_not_a_backup_is_named_as_such():
    with pytest.raises(NotABackup):
        opened(b"PK\x03\x04 a zip file")


def test_a_flipped_bit_anywhere_is_refused():
    sealed = bytearray(seal(os.urandom(2 * CHUNK + 10)))
    for position in (len(sealed) // 3, len(sealed) // 2, len(sealed) - 3):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x01
        with pytest.raises((DamagedBackup, WrongKey)):
            opened(bytes(damaged))


@pytest.mark.parametrize("cut", [1, 16, CHUNK + 16])
def test_a_file_cut_short_is_refused_even_at_a_chunk_boundary(cut):
    sealed = seal(os.urandom(3 * CHUNK))
    with pytest.raises(DamagedBackup):
        opened(sealed[:-cut])


def test_bytes_after_the_last_chunk_are_refused():
    with pytest.raises(DamagedBackup):
        opened(seal(b"rows") + b"more")


def test_chunks_swapped_in_place_are_refused():
    sealed = seal(os.urandom(3 * CHUNK))
    chunk = CHUNK + 16
    body_start = len(sealed) - 3 * chunk  # three full chunks, the last one flagged as last
    first = sealed[body_start : body_start + chunk]
    second = sealed[body_start + chunk : body_start + 2 * chunk]
    swapped = sealed[:body_start] + second + first + sealed[body_start + 2 * chunk :]
    with pytest.raises(DamagedBackup):
        opened(swapped)
