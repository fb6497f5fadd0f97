"""Byte layouts shared by the formats of the crypto package, and its one KDF helper.

Every stored or transmitted format is a fixed sequence of big-endian integers,
fixed-size fields and length-prefixed fields, read by :class:`Reader`, which
refuses truncation and trailing bytes. Keeping the parser in one place means
every format gets the same strictness, and a bad blob becomes a typed
:class:`~crypto.errors.CryptoError` instead of an ``IndexError`` or
``struct.error`` deep in a caller.
"""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import CryptoError, UnknownVersion

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")

U32_MAX = 2**32 - 1


def u8(value: int) -> bytes:
    return bytes((value,))


def u16(value: int) -> bytes:
    return _U16.pack(value)


def u32(value: int) -> bytes:
    return _U32.pack(value)


def u64(value: int) -> bytes:
    return _U64.pack(value)


def bytes16(value: bytes) -> bytes:
    """A field of at most 65,535 bytes, prefixed with its length."""
    return _U16.pack(len(value)) + value


def text16(value: str) -> bytes:
    """A UTF-8 string (strict: lone surrogates refuse to encode) with a u16 length."""
    return bytes16(value.encode("utf-8"))


def prefix(magic: bytes, version: int) -> bytes:
    """The start of every blob: two ASCII letters naming the format, then its version."""
    return magic + u8(version)


class Reader:
    """Reads one blob front to back, raising ``error`` on any shortfall or excess."""

    def __init__(self, data: bytes, error: type[CryptoError], what: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise error(f"{what} must be bytes, not {type(data).__name__}")
        self._data = bytes(data)
        self._pos = 0
        self._error = error
        self._what = what

    def fail(self, reason: str) -> CryptoError:
        return self._error(f"{self._what}: {reason}")

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.remaining() < n:
            raise self.fail("truncated")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def rest(self) -> bytes:
        return self.take(self.remaining())

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = _U16.unpack(self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = _U32.unpack(self.take(4))[0]
        return value

    def u64(self) -> int:
        value: int = _U64.unpack(self.take(8))[0]
        return value

    def bytes16(self) -> bytes:
        return self.take(self.u16())

    def text16(self) -> str:
        raw = self.bytes16()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("a text field is not valid UTF-8") from None

    def prefix(self, magic: bytes, versions: frozenset[int]) -> int:
        """Check the format letters and return the version; unknown ones are typed."""
        if self.take(len(magic)) != magic:
            raise self.fail(f"not a {self._what} (expected tag {magic.decode()!r})")
        version = self.u8()
        if version not in versions:
            raise UnknownVersion(f"{self._what}: unknown version {version}")
        return version

    def end(self) -> None:
        if self.remaining():
            raise self.fail(f"{self.remaining()} unexpected trailing bytes")


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
    """HKDF-SHA256 (RFC 5869); the one derivation every sub-key in the package uses."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)
