"""Key custody: how a school's bundle is kept so that only its credentials can open it.

The hub stores nothing that opens a bundle by itself:

* every credential (member, recovery code, API token) is an X-Wing key pair and
  the bundle is HPKE-wrapped to its public key (:func:`wrap_to_credential`);
* a member's credential seed is wrapped under an Argon2id key from their password
  (:func:`wrap_seed_with_password`); that blob is also the password verifier;
* recovery codes and API token secrets are high-entropy, so their credential
  seeds come straight from HKDF and the hub stores only a one-way id or hash;
* during a session the bundle is split between the session row (ciphertext) and
  the cookie (key), see :func:`seal_for_session`;
* after a rotation the new bundle keeps the old one readable
  (:func:`chain_previous`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._encoding import Reader, hkdf_sha256, prefix, u32
from crypto.errors import (
    CryptoError,
    HashingBusy,
    MalformedCode,
    MalformedKey,
    UnwrapError,
    WrongPassword,
)
from crypto.keys import (
    AEAD_TAG_LEN,
    HPKE_ENC_LEN,
    HPKE_SUITE,
    SEED_LEN,
    CredentialKey,
    SchoolKeys,
    xwing_public_key,
)

_VERSION = 1
_VERSIONS = frozenset({_VERSION})
_NONCE_LEN = 12
_SALT_LEN = 16
_KEY_LEN = 32


# --- password wraps -----------------------------------------------------------------


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters; stored in each password blob so they can be raised later.

    The upper bounds stop a forged blob from making the hub allocate terabytes
    or spin for hours on a sign-in attempt.
    """

    time_cost: int
    memory_kib: int
    lanes: int

    MAX_TIME_COST = 64
    MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
    MAX_LANES = 64

    def __post_init__(self) -> None:
        for name in ("time_cost", "memory_kib", "lanes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"Argon2 {name} must be an int")
        if not 1 <= self.time_cost <= self.MAX_TIME_COST:
            raise ValueError(f"Argon2 time_cost must be 1..{self.MAX_TIME_COST}")
        if not 1 <= self.lanes <= self.MAX_LANES:
            raise ValueError(f"Argon2 lanes must be 1..{self.MAX_LANES}")
        if not 8 * self.lanes <= self.memory_kib <= self.MAX_MEMORY_KIB:
            raise ValueError(f"Argon2 memory_kib must be 8 * lanes..{self.MAX_MEMORY_KIB}")


#: RFC 9106 section 4, second recommended option: t=3, m=64 MiB, p=4.
RFC9106 = Argon2Params(time_cost=3, memory_kib=65536, lanes=4)
#: The smallest legal Argon2id parameters. ONLY for tests: offers no resistance to guessing.
FAST_FOR_TESTS = Argon2Params(time_cost=1, memory_kib=8, lanes=1)

_PASSWORD_MAGIC = b"PW"
_PASSWORD_VERSION = 2
_PASSWORD_VERSIONS = frozenset({1, _PASSWORD_VERSION})
_PASSWORD_AAD_LABEL_V1 = b"alertnet/v1/password\0"
_PASSWORD_AAD_LABEL = b"alertnet/v2/password\0"
_PASSWORD_OWNER_LEN = 32
_NO_SCHOOL = uuid.UUID(int=0)
_PASSWORD_HEADER_LEN = 3 + 3 * 4 + _SALT_LEN


class HashingBudget:
    """Bounds the memory that password hashing may hold at once in this process.

    Each Argon2id derivation holds ``memory_kib`` while it runs; a derivation
    that would take the total over the budget waits for others to finish, and
    after ``wait_seconds`` gives up with :class:`HashingBusy` (the hub answers
    503 with Retry-After). One derivation is always allowed, whatever its cost,
    so parameters raised above the budget still work, one at a time.
    """

    def __init__(self, budget_kib: int, wait_seconds: float) -> None:
        if budget_kib < 1 or wait_seconds < 0:
            raise ValueError("the hashing budget and wait must be positive")
        self.budget_kib = budget_kib
        self.wait_seconds = wait_seconds
        self._in_use = 0
        self._running = 0
        self._free = threading.Condition()

    @contextmanager
    def hold(self, memory_kib: int) -> Iterator[None]:
        def fits() -> bool:
            return not self._running or self._in_use + memory_kib <= self.budget_kib

        with self._free:
            if not self._free.wait_for(fits, timeout=self.wait_seconds):
                raise HashingBusy(retry_after=max(1, round(self.wait_seconds)))
            self._in_use += memory_kib
            self._running += 1
        try:
            yield
        finally:
            with self._free:
                self._in_use -= memory_kib
                self._running -= 1
                self._free.notify_all()


#: Four derivations at RFC 9106 cost (256 MiB); the hub sets its own at start-up.
_budget = HashingBudget(4 * RFC9106.memory_kib, wait_seconds=10.0)


def set_hashing_budget(budget: HashingBudget) -> None:
    """Replace the process's password-hashing budget (the hub's settings)."""
    global _budget
    _budget = budget


def _password_key(password: str, salt: bytes, params: Argon2Params) -> bytes:
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    # NFKC so the same password typed on different keyboards/OSes gives the same key.
    material = unicodedata.normalize("NFKC", password).encode("utf-8")
    # argon2-cffi (the reference implementation) releases the GIL and is safe to
    # run in several threads at once; OpenSSL's Argon2 behind `cryptography`
    # hung with two multi-lane derivations in one process.
    with _budget.hold(params.memory_kib):
        return hash_secret_raw(
            material,
            salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.lanes,
            hash_len=_KEY_LEN,
            type=Type.ID,
        )


def password_owner(member_id: uuid.UUID, school_id: uuid.UUID | None) -> bytes:
    """The owner a password blob is bound to: ``member_uuid (16) || school_uuid (16)``,
    sixteen zero bytes for a member of no school (hub admin, coordinator). A
    blob copied to another member's row does not open there."""
    if not isinstance(member_id, uuid.UUID):
        raise TypeError("member_id must be a UUID")
    if school_id is not None and not isinstance(school_id, uuid.UUID):
        raise TypeError("school_id must be a UUID or None")
    return member_id.bytes + (school_id or _NO_SCHOOL).bytes


def wrap_seed_with_password(
    seed: bytes, password: str, params: Argon2Params, owner: bytes
) -> bytes:
    """Encrypt a credential seed under an Argon2id key from the password.

    Layout: ``"PW" 02 || u32 t || u32 m_KiB || u32 p || salt (16) || nonce (12) ||
    AES-256-GCM(seed) (48)``; the associated data is a label, everything before
    the nonce and the owner (:func:`password_owner`), so parameters and salt
    cannot be swapped between blobs, nor a blob moved to another member.
    """
    if not isinstance(seed, bytes) or len(seed) != SEED_LEN:
        raise ValueError(f"seed must be {SEED_LEN} bytes")
    if not isinstance(owner, bytes) or len(owner) != _PASSWORD_OWNER_LEN:
        raise ValueError(f"a password blob's owner is {_PASSWORD_OWNER_LEN} bytes")
    salt = os.urandom(_SALT_LEN)
    header = (
        prefix(_PASSWORD_MAGIC, _PASSWORD_VERSION)
        + u32(params.time_cost)
        + u32(params.memory_kib)
        + u32(params.lanes)
        + salt
    )
    nonce = os.urandom(_NONCE_LEN)
    key = _password_key(password, salt, params)
    return header + nonce + AESGCM(key).encrypt(nonce, seed, _password_aad(header, owner))


def _password_aad(header: bytes, owner: bytes) -> bytes:
    if header[2] == 1:  # made before blobs named their owner
        return _PASSWORD_AAD_LABEL_V1 + header
    return _PASSWORD_AAD_LABEL + header + owner


def _parse_password_blob(blob: bytes) -> tuple[Argon2Params, bytes, bytes, bytes, bytes]:
    reader = Reader(blob, MalformedKey, "password blob")
    reader.prefix(_PASSWORD_MAGIC, _PASSWORD_VERSIONS)
    try:
        params = Argon2Params(reader.u32(), reader.u32(), reader.u32())
    except ValueError as exc:
        raise MalformedKey(f"password blob: {exc}") from None
    salt = reader.take(_SALT_LEN)
    nonce = reader.take(_NONCE_LEN)
    ciphertext = reader.take(SEED_LEN + AEAD_TAG_LEN)
    reader.end()
    return params, salt, blob[:_PASSWORD_HEADER_LEN], nonce, ciphertext


def unwrap_seed_with_password(blob: bytes, password: str, owner: bytes) -> bytes:
    """Recover the seed; a GCM tag failure means the password is wrong, or the
    blob belongs to another owner (WrongPassword either way).

    A version 1 blob (made before blobs named their owner) still opens, without
    the owner check; :func:`password_blob_is_current` tells the hub to re-wrap it.
    """
    params, salt, header, nonce, ciphertext = _parse_password_blob(blob)
    key = _password_key(password, salt, params)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _password_aad(header, owner))
    except InvalidTag:
        raise WrongPassword() from None


def password_params_of(blob: bytes) -> Argon2Params:
    """The parameters a blob was made with, so the hub can re-wrap after raising them."""
    return _parse_password_blob(blob)[0]


def password_blob_is_current(blob: bytes, params: Argon2Params) -> bool:
    """Whether a blob is of the current version (bound to its owner) and made
    with these parameters; if not, the hub re-wraps it once the password opened it."""
    return blob[2] == _PASSWORD_VERSION and password_params_of(blob) == params


# --- wraps to a credential ----------------------------------------------------------

_CREDENTIAL_MAGIC = b"CW"
_KEYWRAP_INFO = b"alertnet/v1/keywrap\0"


_KIND = re.compile(r"[a-z_]{1,32}", re.ASCII)


def keywrap_context(
    school_id: uuid.UUID, generation: int, kind: str, credential_id: uuid.UUID
) -> bytes:
    """The ``context`` the hub binds into every bundle wrap: the school, the
    generation, the credential's kind and id, so a wrap moved to another row
    (or another kind of credential) does not open.

    ``school_uuid (16) || 00 || u32 generation || 00 || kind || 00 ||
    credential_uuid (16)``: every field but ``kind`` has a fixed length and
    ``kind`` holds no zero byte, so the encoding is unambiguous. Every stored
    wrap depends on these exact bytes: never change them.
    """
    if not isinstance(school_id, uuid.UUID) or not isinstance(credential_id, uuid.UUID):
        raise TypeError("school_id and credential_id must be UUIDs")
    if isinstance(generation, bool) or not 0 <= generation <= 0xFFFFFFFF:
        raise ValueError("a key generation is 0..2**32-1")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValueError("a credential kind is 1-32 characters from a-z and _")
    return b"\0".join(
        [school_id.bytes, generation.to_bytes(4, "big"), kind.encode("ascii"), credential_id.bytes]
    )


def wrap_to_credential(secret: bytes, credential_public: bytes, context: bytes) -> bytes:
    """HPKE (X-Wing, base mode) ``secret`` to a credential public key.

    ``info = "alertnet/v1/keywrap\\0" || context``; the hub's context names the
    school, generation and credential, so a wrap copied to another row does not
    open. Layout: ``"CW" 01 || enc (1120) || ct``.
    """
    public_key = xwing_public_key(credential_public)
    sealed = HPKE_SUITE.encrypt(secret, public_key, info=_KEYWRAP_INFO + context)
    return prefix(_CREDENTIAL_MAGIC, _VERSION) + sealed


def unwrap_with_credential(blob: bytes, credential: CredentialKey, context: bytes) -> bytes:
    """Open a credential wrap; UnwrapError if this credential/context does not open it."""
    reader = Reader(blob, MalformedKey, "credential wrap")
    reader.prefix(_CREDENTIAL_MAGIC, _VERSIONS)
    sealed = reader.rest()
    if len(sealed) < HPKE_ENC_LEN + AEAD_TAG_LEN:
        raise MalformedKey("credential wrap: truncated")
    try:
        return HPKE_SUITE.decrypt(sealed, credential.private_key(), info=_KEYWRAP_INFO + context)
    except (InvalidTag, ValueError):
        raise UnwrapError() from None


# --- recovery codes -----------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUE = {c: i for i, c in enumerate(_CROCKFORD)}
# Crockford's decoding rules: letters a person may misread as digits.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_RECOVERY_BYTES = 20  # 160 bits
_RECOVERY_DATA_CHARS = 32
_RECOVERY_CHECK_CHARS = 4  # 20 bits: a typo is caught with probability 1 - 2**-20
_RECOVERY_GROUP = 4
_RECOVERY_CHECK_LABEL = b"alertnet/v1/recovery/check\0"
_RECOVERY_SEED_LABEL = b"alertnet/v1/recovery/credential"
_RECOVERY_ID_LABEL = b"alertnet/v1/recovery/id"


def _base32(data: bytes, chars: int) -> str:
    number = int.from_bytes(data, "big")
    return "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(chars)))


def _recovery_check(entropy: bytes) -> str:
    digest = hashlib.sha256(_RECOVERY_CHECK_LABEL + entropy).digest()
    return _base32(digest[:3], _RECOVERY_CHECK_CHARS)


def new_recovery_code() -> str:
    """160 random bits as 32 Crockford base32 characters plus 4 check characters.

    Printed as nine dash-separated groups of four, e.g. ``7K3Q-...-XXXX``.
    """
    entropy = secrets.token_bytes(_RECOVERY_BYTES)
    chars = _base32(entropy, _RECOVERY_DATA_CHARS) + _recovery_check(entropy)
    step = _RECOVERY_GROUP
    return "-".join(chars[i : i + step] for i in range(0, len(chars), step))


def _recovery_entropy(code: str) -> bytes:
    if not isinstance(code, str):
        raise MalformedCode("a recovery code must be a str")
    # NFKC folds full-width forms; any dash (a PDF or word processor may turn "-"
    # into U+2010), space, dot or underscore is a separator.
    cleaned = "".join(
        c
        for c in unicodedata.normalize("NFKC", code)
        if not (c.isspace() or c in "._" or unicodedata.category(c) == "Pd")
    )
    cleaned = cleaned.upper().translate(_CONFUSABLE)
    expected = _RECOVERY_DATA_CHARS + _RECOVERY_CHECK_CHARS
    if len(cleaned) != expected:
        raise MalformedCode(f"a recovery code has {expected} letters and digits")
    if any(c not in _CROCKFORD_VALUE for c in cleaned):
        raise MalformedCode("a recovery code uses only the digits 0-9 and letters A-Z except U")
    number = 0
    for c in cleaned[:_RECOVERY_DATA_CHARS]:
        number = number << 5 | _CROCKFORD_VALUE[c]
    entropy = number.to_bytes(_RECOVERY_BYTES, "big")
    if not hmac.compare_digest(_recovery_check(entropy), cleaned[_RECOVERY_DATA_CHARS:]):
        raise MalformedCode("the recovery code has a typo (its check characters do not match)")
    return entropy


def recovery_credential(code: str) -> CredentialKey:
    """The credential key pair of a recovery code (HKDF: the code is already 160-bit random)."""
    return CredentialKey(hkdf_sha256(_recovery_entropy(code), _RECOVERY_SEED_LABEL))


def recovery_code_id(code: str) -> bytes:
    """A 32-byte lookup id for the code; one-way, and independent of the credential seed."""
    return hkdf_sha256(_recovery_entropy(code), _RECOVERY_ID_LABEL)


# --- API tokens ---------------------------------------------------------------------

_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN_SECRET_BYTES = 32
_TOKEN_SECRET_CHARS = 43  # base64url of 32 bytes, unpadded
_TOKEN_HASH_LABEL = b"alertnet/v1/token/hash\0"
_TOKEN_SEED_LABEL = b"alertnet/v1/token/credential"


def new_api_token(token_id: str) -> str:
    """``id.secret`` with a 256-bit url-safe secret; the id is the hub's row id for it."""
    if not isinstance(token_id, str) or not _TOKEN_ID.fullmatch(token_id):
        raise ValueError("a token id is 1-64 characters from A-Z a-z 0-9 _ -")
    return f"{token_id}.{secrets.token_urlsafe(_TOKEN_SECRET_BYTES)}"


def _token_secret_bytes(secret: str) -> bytes:
    if not isinstance(secret, str) or len(secret) != _TOKEN_SECRET_CHARS:
        raise MalformedCode("an API token secret is 43 url-safe base64 characters")
    try:
        raw = base64.urlsafe_b64decode(secret.encode("ascii") + b"=")
    except (UnicodeEncodeError, ValueError):
        raise MalformedCode("an API token secret is url-safe base64") from None
    # Refuse non-canonical spellings (other last characters, '+' '/'), so one
    # secret has exactly one string form.
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != secret.encode("ascii"):
        raise MalformedCode("an API token secret is url-safe base64")
    return raw


def parse_api_token(token: str) -> tuple[str, str]:
    """Split and check ``id.secret``; MalformedCode for anything else."""
    if not isinstance(token, str):
        raise MalformedCode("an API token must be a str")
    token_id, dot, secret = token.strip().partition(".")
    if not dot or not _TOKEN_ID.fullmatch(token_id):
        raise MalformedCode("an API token looks like <id>.<secret>")
    _token_secret_bytes(secret)
    return token_id, secret


def token_secret_hash(secret: str) -> bytes:
    """What the hub stores: ``SHA-256("alertnet/v1/token/hash\0" || UTF-8 secret)``.

    A plain hash suffices because the secret is 256 random bits. It is total over
    strings (a mistyped or truncated secret just matches no row), so callers can
    look up user-supplied tokens, such as invitation links, without a parse step.
    """
    if not isinstance(secret, str):
        raise MalformedCode("an API token secret must be a str")
    return hashlib.sha256(_TOKEN_HASH_LABEL + secret.encode("utf-8", "surrogatepass")).digest()


def token_secret_matches(secret: str, stored_hash: bytes) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(token_secret_hash(secret), stored_hash)


def token_credential(secret: str) -> CredentialKey:
    """The credential key pair of a token secret (HKDF with its own label).

    Strict, unlike :func:`token_secret_hash`: a credential must come from a full
    256-bit secret, so anything else is MalformedCode.
    """
    return CredentialKey(hkdf_sha256(_token_secret_bytes(secret), _TOKEN_SEED_LABEL))


# --- session split ------------------------------------------------------------------

_SESSION_MAGIC = b"SS"
# Version 2 binds the owner (member, school, generation, session) into the
# associated data; version 1 rows bound only a label and are no longer opened.
_SESSION_VERSION = 2
_SESSION_AAD = b"alertnet/v2/session\0"
SESSION_KEY_LEN = 32
SESSION_ID_LEN = 32


def session_context(
    member_id: uuid.UUID, school_id: uuid.UUID, generation: int, session_id: bytes
) -> bytes:
    """The associated data of a session row: whose bundle it is and which row it
    belongs to, so a row's ciphertext copied to another row does not open.

    ``member_uuid (16) || school_uuid (16) || u32 generation || session_id (32)``:
    every field has a fixed length, so the encoding is unambiguous.
    """
    if not isinstance(member_id, uuid.UUID) or not isinstance(school_id, uuid.UUID):
        raise TypeError("member_id and school_id must be UUIDs")
    if isinstance(generation, bool) or not 0 <= generation <= 0xFFFFFFFF:
        raise ValueError("a key generation is 0..2**32-1")
    if not isinstance(session_id, bytes) or len(session_id) != SESSION_ID_LEN:
        raise ValueError(f"a session id is {SESSION_ID_LEN} bytes")
    return member_id.bytes + school_id.bytes + u32(generation) + session_id


def seal_for_session(plaintext: bytes, context: bytes) -> tuple[bytes, bytes]:
    """Return ``(cookie_key, row_blob)``; neither half alone gives the plaintext back.

    Blob layout: ``"SS" 02 || nonce (12) || AES-256-GCM(plaintext)``, associated
    data ``"alertnet/v2/session\0" || "SS" 02 || context`` (see
    :func:`session_context`).
    """
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE_LEN)
    head = prefix(_SESSION_MAGIC, _SESSION_VERSION)
    return key, head + nonce + AESGCM(key).encrypt(nonce, plaintext, _SESSION_AAD + head + context)


def open_for_session(key: bytes, blob: bytes, context: bytes) -> bytes:
    """Open a session row with the cookie's key and the row's context;
    UnwrapError for a wrong or foreign key, or a row moved to another owner."""
    reader = Reader(blob, MalformedKey, "session blob")
    reader.prefix(_SESSION_MAGIC, frozenset({_SESSION_VERSION}))
    nonce = reader.take(_NONCE_LEN)
    ciphertext = reader.rest()
    if not isinstance(key, bytes) or len(key) != SESSION_KEY_LEN:
        raise UnwrapError("the session key is not 32 bytes")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _SESSION_AAD + blob[:3] + context)
    except InvalidTag:
        raise UnwrapError("the session key does not open this session") from None


# --- generation history -------------------------------------------------------------

_HISTORY_MAGIC = b"HC"
_HISTORY_LABEL = b"alertnet/v1/history"


def _history_key(bundle: SchoolKeys) -> bytes:
    return hkdf_sha256(bundle.kem_seed + bundle.ed25519_seed + bundle.mldsa_seed, _HISTORY_LABEL)


def chain_previous(new: SchoolKeys, old: SchoolKeys) -> bytes:
    """Encrypt the previous bundle under a key derived from the new one.

    Whoever can open generation g+1 can then walk back to every older
    generation; a member removed at the rotation gets nothing new. Layout:
    ``"HC" 01 || u32 new_gen || u32 old_gen || nonce (12) || AES-256-GCM(old)``,
    associated data the label plus everything before the nonce.
    """
    if old.generation >= new.generation:
        raise ValueError("the previous bundle must have an older generation")
    head = prefix(_HISTORY_MAGIC, _VERSION) + u32(new.generation) + u32(old.generation)
    nonce = os.urandom(_NONCE_LEN)
    aad = _HISTORY_LABEL + b"\0" + head
    return head + nonce + AESGCM(_history_key(new)).encrypt(nonce, old.to_bytes(), aad)


def open_previous(new: SchoolKeys, blob: bytes) -> SchoolKeys:
    """Recover the previous bundle; UnwrapError if ``new`` is not the bundle that chained it."""
    reader = Reader(blob, MalformedKey, "history blob")
    reader.prefix(_HISTORY_MAGIC, _VERSIONS)
    new_generation = reader.u32()
    old_generation = reader.u32()
    nonce = reader.take(_NONCE_LEN)
    ciphertext = reader.rest()
    if new_generation != new.generation:
        raise UnwrapError(
            f"history blob is chained from generation {new_generation}, not {new.generation}"
        )
    aad = _HISTORY_LABEL + b"\0" + blob[:11]
    try:
        plain = AESGCM(_history_key(new)).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise UnwrapError("this bundle does not open the history blob") from None
    try:
        old = SchoolKeys.from_bytes(plain)
    except CryptoError:
        raise UnwrapError("history blob holds no valid bundle") from None
    if old.generation != old_generation:
        raise UnwrapError("history blob's generation does not match its contents")
    return old


__all__ = [
    "FAST_FOR_TESTS",
    "RFC9106",
    "SESSION_ID_LEN",
    "SESSION_KEY_LEN",
    "Argon2Params",
    "HashingBudget",
    "chain_previous",
    "keywrap_context",
    "new_api_token",
    "new_recovery_code",
    "open_for_session",
    "open_previous",
    "parse_api_token",
    "password_blob_is_current",
    "password_owner",
    "password_params_of",
    "recovery_code_id",
    "recovery_credential",
    "seal_for_session",
    "session_context",
    "set_hashing_budget",
    "token_credential",
    "token_secret_hash",
    "token_secret_matches",
    "unwrap_seed_with_password",
    "unwrap_with_credential",
    "wrap_seed_with_password",
    "wrap_to_credential",
]
