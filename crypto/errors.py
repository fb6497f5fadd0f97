"""Typed failures of the crypto package.

The hub maps these to user-facing outcomes (sign in again, "this alert was
tampered with", 400 on a bad upload), so every failure the package can detect
in its inputs surfaces as a subclass of :class:`CryptoError`, never as a bare
``ValueError``/``InvalidTag`` from the underlying library. Messages name what was
wrong, never secret values.

The ``Malformed*`` classes are also ``ValueError`` subclasses, because they are
raised for arguments that are invalid in themselves (wrong length, bad
encoding); code that already catches ``ValueError`` for bad input keeps working.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Root of every error raised by ``crypto``."""

    default_message = "cryptographic operation failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class MalformedKey(CryptoError, ValueError):
    """A key, key bundle or key-holding blob does not parse (length, tag, encoding)."""

    default_message = "malformed key or key blob"


class MalformedEnvelope(CryptoError, ValueError):
    """An envelope or header is truncated, oversize, non-canonical or badly encoded."""

    default_message = "malformed envelope"


class UnknownVersion(CryptoError):
    """A blob carries a format version this code does not know (written by newer code?)."""

    default_message = "unknown format version"


class UnwrapError(CryptoError):
    """A wrapped secret does not open with this credential (wrong key, wrong context)."""

    default_message = "the wrapped secret does not open with this credential"


class WrongPassword(UnwrapError):
    """The password does not open the password blob (the blob is the verifier)."""

    default_message = "wrong password"


class MalformedCode(CryptoError, ValueError):
    """A recovery code or API token string does not parse or fails its check."""

    default_message = "malformed recovery code or API token"


class NotARecipient(CryptoError):
    """The envelope holds no wrap for this school at this key generation."""

    default_message = "this school is not a recipient of the envelope"


class TamperedHeader(CryptoError):
    """The header contradicts what the caller trusts (it names another signing key)."""

    default_message = "the envelope header has been altered"


class TamperedCiphertext(CryptoError):
    """The payload does not decrypt under the committed content key."""

    default_message = "the envelope payload has been altered"


class WrapMismatch(CryptoError):
    """A wrap was swapped or replayed, or the content key fails its commitment."""

    default_message = "the key wrap does not belong to this envelope"


class BadSignature(CryptoError):
    """The Ed25519 or the ML-DSA-65 signature does not verify (both are required)."""

    default_message = "the sender's signature does not verify"


class HashingBusy(Exception):
    """Too much password hashing is running in this process: try again shortly.

    Not a :class:`CryptoError`: nothing is wrong with the input, and code that
    treats any crypto failure as a wrong password must not swallow it.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"password hashing is busy; retry after {retry_after} s")
        self.retry_after = retry_after


__all__ = [
    "BadSignature",
    "CryptoError",
    "HashingBusy",
    "MalformedCode",
    "MalformedEnvelope",
    "MalformedKey",
    "NotARecipient",
    "TamperedCiphertext",
    "TamperedHeader",
    "UnknownVersion",
    "UnwrapError",
    "WrapMismatch",
    "WrongPassword",
]
