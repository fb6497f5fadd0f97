"""Second factors' cryptography: authenticator-app codes (TOTP, RFC 6238),
single-use backup codes, and the seal that keeps a TOTP secret unreadable in
the database and its backups.

A TOTP secret must be read on every sign-in, before anything of the member's
is unlocked, so it cannot be sealed to their credential. It is sealed with
AES-GCM under a key of the hub's own (``ALERTNET_FACTOR_KEY`` or the instance's
key file), bound to the member and factor it belongs to: a copy of the
database without that key reveals no secret, and a sealed secret moved to
another member's row does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from crypto._encoding import hkdf_sha256
from crypto.errors import MalformedCode, UnwrapError

TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
# 160 bits: RFC 4226's recommended length, and what authenticator apps expect.
TOTP_SECRET_LEN = 20

_SEAL_MAGIC = b"FS\x01"
_SEAL_LABEL = b"alertnet/v1/factor-seal"
_NONCE_LEN = 12

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
BACKUP_CODE_CHARS = 12  # 60 bits; single use, and sign-in attempts are throttled
_BACKUP_HASH_LABEL = b"alertnet/v1/backup-code\0"


# --- TOTP ---------------------------------------------------------------------------


def new_totp_secret() -> bytes:
    return secrets.token_bytes(TOTP_SECRET_LEN)


def _totp(secret: bytes) -> TOTP:
    # HMAC-SHA1 is what every authenticator app computes (RFC 6238); as an HMAC it is sound.
    return TOTP(secret, TOTP_DIGITS, SHA1(), TOTP_STEP_SECONDS, enforce_key_length=True)  # noqa: S303


def totp_step(now: float) -> int:
    """The time step a moment falls in."""
    return int(now) // TOTP_STEP_SECONDS


def totp_code(secret: bytes, step: int) -> str:
    """The code an authenticator app shows during ``step``."""
    return _totp(secret).generate(step * TOTP_STEP_SECONDS).decode()


def totp_uri(secret: bytes, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return _totp(secret).get_provisioning_uri(account, issuer)


def totp_matching_step(secret: bytes, code: str, first: int, last: int) -> int | None:
    """The latest step from ``first`` to ``last`` whose code is ``code``, or None.
    Every step in the range is compared, so the time taken says nothing."""
    code = code.strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    found = None
    for step in range(first, last + 1):
        if hmac.compare_digest(totp_code(secret, step), code):
            found = step
    return found


# --- backup codes ---------------------------------------------------------------------


def new_backup_code() -> str:
    """Twelve characters in groups of four, from an alphabet with no look-alikes."""
    chars = "".join(secrets.choice(_CROCKFORD) for _ in range(BACKUP_CODE_CHARS))
    return "-".join(chars[i : i + 4] for i in range(0, BACKUP_CODE_CHARS, 4))


def backup_code_hash(code: str) -> bytes:
    """What the hub stores of a backup code. The code has 60 random bits and is
    used once, so a plain hash suffices (no password hashing)."""
    normal = code.strip().upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)
    if len(normal) != BACKUP_CODE_CHARS or any(c not in _CROCKFORD for c in normal):
        raise MalformedCode("A backup code has twelve letters and digits, like ABCD-EFGH-JKMN.")
    return hashlib.sha256(_BACKUP_HASH_LABEL + normal.encode()).digest()


# --- the seal -------------------------------------------------------------------------


def seal_key(master: bytes) -> bytes:
    return hkdf_sha256(master, _SEAL_LABEL)


def seal_secret(key: bytes, secret: bytes, context: bytes) -> bytes:
    nonce = os.urandom(_NONCE_LEN)
    return _SEAL_MAGIC + nonce + AESGCM(key).encrypt(nonce, secret, _SEAL_MAGIC + context)


def open_secret(key: bytes, sealed: bytes, context: bytes) -> bytes:
    if not sealed.startswith(_SEAL_MAGIC) or len(sealed) < len(_SEAL_MAGIC) + _NONCE_LEN + 16:
        raise UnwrapError("not a sealed factor secret")
    nonce = sealed[len(_SEAL_MAGIC) : len(_SEAL_MAGIC) + _NONCE_LEN]
    try:
        return AESGCM(key).decrypt(
            nonce, sealed[len(_SEAL_MAGIC) + _NONCE_LEN :], _SEAL_MAGIC + context
        )
    except InvalidTag:
        raise UnwrapError("the factor secret does not open with this key") from None
