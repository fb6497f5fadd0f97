"""The encrypted backup file: a stream sealed to an operator's X-Wing key.

The operator makes a key pair once (``alertnet backup keygen``): the identity
(a 32-byte X-Wing seed) stays offline, the public key goes on the hub's backup
command line. A backup is sealed to the public key like an ``age`` file, with
this package's one HPKE suite:

``"alertnet-backup\\0" || u8 version (1) || u16 len || header`` — the preamble:
the header is JSON naming the recipient key's id (no secret, so the wrong key
can be named as such);
``u16 len || HPKE(X-Wing).encrypt(file_key, pk, info=INFO || SHA-256(preamble))``
— a random 32-byte file key wrapped to the recipient;
then the payload in chunks of ``CHUNK`` bytes, each
``AES-256-GCM(K, nonce = u88 counter || last flag, chunk)`` with
``K = HKDF(file_key, "alertnet/v1/backup/payload" || SHA-256(preamble))``.

Every chunk is authenticated; the counter stops reordering, the last flag
truncation at a chunk boundary; the file must end right after the last chunk.
So a flipped bit, a cut file, a wrong key or another file's preamble each stop
the reader with :class:`BackupFileError` before it yields anything of the damaged
chunk. What the payload means is the hub's business (network/operations).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._encoding import hkdf_sha256, u16
from crypto.errors import CryptoError
from crypto.keys import HPKE_SUITE, KEM_PUBLIC_LEN, SEED_LEN, xwing_private_key, xwing_public_bytes
from crypto.keys import xwing_public_key as _load_public

MAGIC = b"alertnet-backup\0"
VERSION = 1
CHUNK = 64 * 1024
_TAG = 16
_INFO = b"alertnet/v1/backup/file-key\0"
_PAYLOAD = b"alertnet/v1/backup/payload\0"
_LAST = 1
_MAX_COUNTER = 2**88 - 1
PUBLIC_PREFIX = "alertnet-backup-key-1:"
IDENTITY_PREFIX = "ALERTNET-BACKUP-IDENTITY-1:"


class BackupFileError(CryptoError):
    """The file cannot be opened: not a backup, the wrong key, or damaged."""


class NotABackup(BackupFileError):
    default_message = "this is not an alertnet backup file"


class WrongKey(BackupFileError):
    default_message = "this backup was sealed to another key"


class DamagedBackup(BackupFileError):
    default_message = "the backup is damaged or cut short"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BackupFileError("the key is not valid base64") from None


@dataclass(frozen=True)
class BackupPublicKey:
    """The 1216-byte X-Wing public key that backups are sealed to."""

    raw: bytes

    def __post_init__(self) -> None:
        _load_public(self.raw)  # refuses a malformed key at once

    @property
    def key_id(self) -> str:
        """16 hex digits naming the key; written in clear in each backup."""
        return hashlib.sha256(b"alertnet/v1/backup/key-id\0" + self.raw).hexdigest()[:16]

    def to_text(self) -> str:
        return PUBLIC_PREFIX + _b64(self.raw)

    @classmethod
    def from_text(cls, text: str) -> BackupPublicKey:
        text = text.strip()
        if not text.startswith(PUBLIC_PREFIX):
            raise BackupFileError(f"a backup public key starts with {PUBLIC_PREFIX!r}")
        raw = _unb64(text.removeprefix(PUBLIC_PREFIX))
        if len(raw) != KEM_PUBLIC_LEN:
            raise BackupFileError("the backup public key has the wrong length")
        return cls(raw)


@dataclass(frozen=True)
class BackupIdentity:
    """The operator's secret half: an X-Wing seed, kept offline."""

    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_LEN:
            raise BackupFileError("a backup identity is a 32-byte seed")

    @classmethod
    def generate(cls) -> BackupIdentity:
        return cls(os.urandom(SEED_LEN))

    def public_key(self) -> BackupPublicKey:
        return BackupPublicKey(xwing_public_bytes(self.seed))

    def to_text(self, created: str) -> str:
        """The identity file: comments a person can read, then the key line."""
        return (
            "# alertnet backup identity: it opens every backup sealed to the public key\n"
            "# below. Keep it offline and secret (a safe, a password manager).\n"
            f"# created: {created}\n"
            f"# public key: {self.public_key().to_text()}\n"
            f"{IDENTITY_PREFIX}{_b64(self.seed)}\n"
        )

    @classmethod
    def from_text(cls, text: str) -> BackupIdentity:
        for line in text.splitlines():
            if line.startswith(IDENTITY_PREFIX):
                return cls(_unb64(line.removeprefix(IDENTITY_PREFIX).strip()))
        raise BackupFileError(f"no line starting {IDENTITY_PREFIX!r}: not a backup identity")


def _nonce(counter: int, last: bool) -> bytes:
    if counter > _MAX_COUNTER:
        raise BackupFileError("the backup is too large")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class SealingWriter:
    """Writes a sealed backup to ``out``: call ``write`` with the payload, then
    ``close`` (which seals the last chunk). Nothing is left out if close is not
    called: the file then has no last chunk, and opening it fails."""

    def __init__(self, out: BinaryIO, recipient: BackupPublicKey) -> None:
        header = json.dumps({"recipient": recipient.key_id}, sort_keys=True).encode()
        preamble = MAGIC + bytes((VERSION,)) + u16(len(header)) + header
        digest = hashlib.sha256(preamble).digest()
        file_key = os.urandom(32)
        wrapped = HPKE_SUITE.encrypt(file_key, _load_public(recipient.raw), info=_INFO + digest)
        out.write(preamble + u16(len(wrapped)) + wrapped)
        self._out = out
        self._aead = AESGCM(hkdf_sha256(file_key, _PAYLOAD + digest))
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False

    def write(self, data: bytes) -> None:
        self._buffer += data
        # Keep at least one byte back: the last chunk is never empty unless all is.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]

    def _seal(self, chunk: bytes, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._counter, last), chunk, None))
        self._counter += 1

    def close(self) -> None:
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise DamagedBackup("the backup is cut short in its header")
    return data


def read_header(source: BinaryIO) -> tuple[bytes, dict[str, str]]:
    """The preamble and its header; NotABackup unless the file starts like one."""
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise NotABackup()
    version = _read_exactly(source, 1)[0]
    if version != VERSION:
        raise NotABackup(f"this backup has format version {version}; this hub reads {VERSION}")
    length = int.from_bytes(_read_exactly(source, 2), "big")
    header = _read_exactly(source, length)
    try:
        parsed = json.loads(header)
    except ValueError:
        raise DamagedBackup("the backup's header is damaged") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("recipient"), str):
        raise DamagedBackup("the backup's header is damaged")
    return magic + bytes((version,)) + u16(length) + header, parsed


def open_stream(source: BinaryIO, identity: BackupIdentity) -> Iterator[bytes]:
    """Yield the payload chunk by chunk, each authenticated before it is yielded.

    Raises NotABackup, WrongKey (the file names another key, or the wrap does
    not open) or DamagedBackup (any chunk altered, reordered, missing, or bytes
    after the last one)."""
    preamble, header = read_header(source)
    ours = identity.public_key().key_id
    if header["recipient"] != ours:
        raise WrongKey(
            f"this backup was sealed to the key {header['recipient']}; "
            f"the identity given is the key {ours}"
        )
    digest = hashlib.sha256(preamble).digest()
    length = int.from_bytes(_read_exactly(source, 2), "big")
    wrapped = _read_exactly(source, length)
    try:
        file_key = HPKE_SUITE.decrypt(
            wrapped, xwing_private_key(identity.seed), info=_INFO + digest
        )
    except (InvalidTag, ValueError):
        raise WrongKey("the backup's file key does not open with this identity") from None
    aead = AESGCM(hkdf_sha256(file_key, _PAYLOAD + digest))
    counter = 0
    sealed = source.read(CHUNK + _TAG)
    while True:
        following = source.read(CHUNK + _TAG)
        last = not following
        if len(sealed) < _TAG or (not last and len(sealed) != CHUNK + _TAG):
            raise DamagedBackup()
        try:
            chunk = aead.decrypt(_nonce(counter, last), sealed, None)
        except InvalidTag:
            raise DamagedBackup() from None
        yield chunk
        if last:
            return
        counter += 1
        sealed = following
