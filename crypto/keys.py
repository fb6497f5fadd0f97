"""School key bundles, their public halves, fingerprints and credential key pairs.

A school's bundle for one key generation is three 32-byte seeds: X-Wing
(ML-KEM-768 + X25519) for decryption, Ed25519 and ML-DSA-65 for signing. Only
seeds are kept because ``cryptography`` cannot serialise hybrid key objects and
a seed is the smallest, version-independent form of each key. Key objects are
rebuilt on first use and cached on the (immutable) instance, so repeated seals
and opens with one bundle pay for key expansion once.

The X-Wing expansion is the one of draft-connolly-cfrg-xwing-kem and of the
HPKE X-Wing test vectors (kem_id 0x647a): ``e = SHAKE256(seed, 96)``, ML-KEM-768
from ``e[:64]`` (d || z) and X25519 from ``e[64:]``; the public key is
``mlkem_pub (1184) || x25519_pub (32)``. ``tests/crypto/test_vectors_hpke.py``
checks this against the published vectors.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey

from crypto._encoding import U32_MAX, Reader, prefix, u32
from crypto.errors import BadSignature, MalformedKey

SEED_LEN = 32
MLKEM768_PUBLIC_LEN = 1184
X25519_PUBLIC_LEN = 32
KEM_PUBLIC_LEN = MLKEM768_PUBLIC_LEN + X25519_PUBLIC_LEN  # 1216, the X-Wing public key
ED25519_PUBLIC_LEN = 32
MLDSA65_PUBLIC_LEN = 1952
ED25519_SIGNATURE_LEN = 64
MLDSA65_SIGNATURE_LEN = 3309

#: The one HPKE suite of the package (RFC 9180 base mode, X-Wing KEM).
HPKE_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
#: Length of ``enc`` for the X-Wing KEM (ML-KEM-768 ciphertext 1088 + X25519 share 32).
HPKE_ENC_LEN = 1120
#: AES-256-GCM tag length, the overhead HPKE adds to a wrapped secret beside ``enc``.
AEAD_TAG_LEN = 16

_BUNDLE_MAGIC = b"KB"
_PUBLIC_MAGIC = b"KP"
_VERSION = 1
_BUNDLE_LEN = 3 + 4 + 3 * SEED_LEN
_PUBLIC_LEN = 3 + 4 + KEM_PUBLIC_LEN + ED25519_PUBLIC_LEN + MLDSA65_PUBLIC_LEN
_FINGERPRINT_LABEL = b"alertnet/v1/fingerprint\0"
FINGERPRINT_GROUPS = 12
_FINGERPRINT_GROUP_DIGITS = 5


def xwing_private_key(seed: bytes) -> hpke.MLKEM768X25519PrivateKey:
    """Expand a 32-byte X-Wing seed into the hybrid private key object."""
    _check_seed(seed, "X-Wing seed")
    expanded = hashlib.shake_256(seed).digest(96)
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )


def xwing_public_bytes(seed: bytes) -> bytes:
    """The 1216-byte X-Wing public key of a seed (hybrid key objects cannot serialise)."""
    _check_seed(seed, "X-Wing seed")
    expanded = hashlib.shake_256(seed).digest(96)
    mlkem_pub = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]).public_key()
    x25519_pub = x25519.X25519PrivateKey.from_private_bytes(expanded[64:]).public_key()
    return mlkem_pub.public_bytes_raw() + x25519_pub.public_bytes_raw()


def xwing_public_key(public: bytes) -> hpke.MLKEM768X25519PublicKey:
    """Load a 1216-byte X-Wing public key; ML-KEM's modulus check runs here."""
    if not isinstance(public, bytes) or len(public) != KEM_PUBLIC_LEN:
        raise MalformedKey(f"an X-Wing public key is {KEM_PUBLIC_LEN} bytes")
    try:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM768_PUBLIC_LEN]),
            x25519.X25519PublicKey.from_public_bytes(public[MLKEM768_PUBLIC_LEN:]),
        )
    except ValueError as exc:
        raise MalformedKey(f"X-Wing public key does not load: {exc}") from None


def _check_seed(seed: bytes, what: str) -> None:
    if not isinstance(seed, bytes) or len(seed) != SEED_LEN:
        raise MalformedKey(f"{what} must be {SEED_LEN} bytes")


def _check_generation(generation: int) -> None:
    if isinstance(generation, bool) or not isinstance(generation, int):
        raise MalformedKey("key generation must be an int")
    if not 0 <= generation <= U32_MAX:
        raise MalformedKey("key generation must be between 0 and 2**32 - 1")


@dataclass(frozen=True)
class SchoolPublicKeys:
    """A school's public keys for one generation; validated and loaded on construction."""

    generation: int
    kem: bytes
    ed25519: bytes
    mldsa: bytes
    _kem_key: hpke.MLKEM768X25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_generation(self.generation)
        # Loading the X-Wing key here validates it (ML-KEM's modulus check) and makes
        # seal() pay for it once. The signing keys are only length-checked here: the
        # library accepts any bytes of the right length, and they load on first verify.
        object.__setattr__(self, "_kem_key", xwing_public_key(self.kem))
        if not isinstance(self.ed25519, bytes) or len(self.ed25519) != ED25519_PUBLIC_LEN:
            raise MalformedKey(f"an Ed25519 public key is {ED25519_PUBLIC_LEN} bytes")
        if not isinstance(self.mldsa, bytes) or len(self.mldsa) != MLDSA65_PUBLIC_LEN:
            raise MalformedKey(f"an ML-DSA-65 public key is {MLDSA65_PUBLIC_LEN} bytes")

    @cached_property
    def _ed25519_key(self) -> Ed25519PublicKey:
        try:
            return Ed25519PublicKey.from_public_bytes(self.ed25519)
        except ValueError as exc:
            raise MalformedKey(f"Ed25519 public key does not load: {exc}") from None

    @cached_property
    def _mldsa_key(self) -> MLDSA65PublicKey:
        try:
            return MLDSA65PublicKey.from_public_bytes(self.mldsa)
        except ValueError as exc:
            raise MalformedKey(f"ML-DSA-65 public key does not load: {exc}") from None

    def kem_public_key(self) -> hpke.MLKEM768X25519PublicKey:
        """The loaded X-Wing public key, for HPKE wraps."""
        return self._kem_key

    def verify(
        self, message: bytes, ed25519_signature: bytes, mldsa_signature: bytes, context: bytes
    ) -> None:
        """Require both signatures: either scheme alone failing must reject the message."""
        try:
            self._ed25519_key.verify(ed25519_signature, message)
        except InvalidSignature:
            raise BadSignature("the Ed25519 signature does not verify") from None
        try:
            self._mldsa_key.verify(mldsa_signature, message, context=context)
        except (InvalidSignature, ValueError):
            raise BadSignature("the ML-DSA-65 signature does not verify") from None

    def to_bytes(self) -> bytes:
        """``"KP" 01 || u32 generation || kem (1216) || ed25519 (32) || mldsa (1952)``."""
        return (
            prefix(_PUBLIC_MAGIC, _VERSION)
            + u32(self.generation)
            + self.kem
            + self.ed25519
            + self.mldsa
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SchoolPublicKeys:
        reader = Reader(data, MalformedKey, "school public keys")
        reader.prefix(_PUBLIC_MAGIC, frozenset({_VERSION}))
        if len(data) != _PUBLIC_LEN:
            raise MalformedKey(f"school public keys must be {_PUBLIC_LEN} bytes")
        generation = reader.u32()
        kem = reader.take(KEM_PUBLIC_LEN)
        ed = reader.take(ED25519_PUBLIC_LEN)
        ml = reader.take(MLDSA65_PUBLIC_LEN)
        reader.end()
        return cls(generation=generation, kem=kem, ed25519=ed, mldsa=ml)

    def fingerprint(self) -> str:
        """Twelve groups of five digits a head can read aloud to compare keys.

        ``SHA-256("alertnet/v1/fingerprint\\0" || to_bytes())`` read as a big-endian
        integer, reduced mod 10**60 and written as 60 zero-padded digits in groups
        of five (about 199 bits; the bias of the reduction is below 2**-56). It
        covers the generation and all three public keys, so any substituted key
        changes it.
        """
        digest = hashlib.sha256(_FINGERPRINT_LABEL + self.to_bytes()).digest()
        digits_total = FINGERPRINT_GROUPS * _FINGERPRINT_GROUP_DIGITS
        digits = str(int.from_bytes(digest, "big") % 10**digits_total).zfill(digits_total)
        step = _FINGERPRINT_GROUP_DIGITS
        return " ".join(digits[i : i + step] for i in range(0, digits_total, step))


@dataclass(frozen=True)
class SchoolKeys:
    """A school's private key bundle for one generation (three seeds; never stored in clear)."""

    generation: int
    kem_seed: bytes = field(repr=False)
    ed25519_seed: bytes = field(repr=False)
    mldsa_seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_generation(self.generation)
        _check_seed(self.kem_seed, "X-Wing seed")
        _check_seed(self.ed25519_seed, "Ed25519 seed")
        _check_seed(self.mldsa_seed, "ML-DSA-65 seed")

    @classmethod
    def generate(cls, generation: int) -> SchoolKeys:
        return cls(
            generation=generation,
            kem_seed=os.urandom(SEED_LEN),
            ed25519_seed=os.urandom(SEED_LEN),
            mldsa_seed=os.urandom(SEED_LEN),
        )

    def to_bytes(self) -> bytes:
        """``"KB" 01 || u32 generation || kem_seed || ed25519_seed || mldsa_seed`` (103 bytes)."""
        return (
            prefix(_BUNDLE_MAGIC, _VERSION)
            + u32(self.generation)
            + self.kem_seed
            + self.ed25519_seed
            + self.mldsa_seed
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SchoolKeys:
        reader = Reader(data, MalformedKey, "school key bundle")
        reader.prefix(_BUNDLE_MAGIC, frozenset({_VERSION}))
        if len(data) != _BUNDLE_LEN:
            raise MalformedKey(f"a school key bundle must be {_BUNDLE_LEN} bytes")
        generation = reader.u32()
        seeds = [reader.take(SEED_LEN) for _ in range(3)]
        reader.end()
        return cls(generation, seeds[0], seeds[1], seeds[2])

    @cached_property
    def _kem_private(self) -> hpke.MLKEM768X25519PrivateKey:
        return xwing_private_key(self.kem_seed)

    @cached_property
    def _ed25519_private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.ed25519_seed)

    @cached_property
    def _mldsa_private(self) -> MLDSA65PrivateKey:
        return MLDSA65PrivateKey.from_seed_bytes(self.mldsa_seed)

    @cached_property
    def _public(self) -> SchoolPublicKeys:
        return SchoolPublicKeys(
            generation=self.generation,
            kem=xwing_public_bytes(self.kem_seed),
            ed25519=self._ed25519_private.public_key().public_bytes_raw(),
            mldsa=self._mldsa_private.public_key().public_bytes_raw(),
        )

    def kem_private_key(self) -> hpke.MLKEM768X25519PrivateKey:
        """The X-Wing private key object, for opening HPKE wraps."""
        return self._kem_private

    def public(self) -> SchoolPublicKeys:
        return self._public

    def sign(self, message: bytes, context: bytes) -> tuple[bytes, bytes]:
        """Sign with both schemes: ``(ed25519_signature, mldsa_signature)``.

        ``context`` is ML-DSA's context string; Ed25519 (pure) has none, so callers
        put their domain label in ``message`` as well.
        """
        return (
            self._ed25519_private.sign(message),
            self._mldsa_private.sign(message, context=context),
        )


@dataclass(frozen=True)
class CredentialKey:
    """An X-Wing key pair for one credential (member password, recovery code, API token).

    The school bundle is HPKE-wrapped to :meth:`public_bytes`, so whoever can
    rebuild the seed can act for the school, and nobody else.
    """

    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_seed(self.seed, "credential seed")

    @classmethod
    def generate(cls) -> CredentialKey:
        return cls(os.urandom(SEED_LEN))

    @cached_property
    def _private(self) -> hpke.MLKEM768X25519PrivateKey:
        return xwing_private_key(self.seed)

    @cached_property
    def _public_bytes(self) -> bytes:
        return xwing_public_bytes(self.seed)

    def private_key(self) -> hpke.MLKEM768X25519PrivateKey:
        return self._private

    def public_bytes(self) -> bytes:
        """The 1216-byte X-Wing public key (``mlkem_pub || x25519_pub``) the hub stores."""
        return self._public_bytes


__all__ = [
    "ED25519_SIGNATURE_LEN",
    "HPKE_ENC_LEN",
    "HPKE_SUITE",
    "KEM_PUBLIC_LEN",
    "MLDSA65_SIGNATURE_LEN",
    "SEED_LEN",
    "CredentialKey",
    "SchoolKeys",
    "SchoolPublicKeys",
    "xwing_private_key",
    "xwing_public_bytes",
    "xwing_public_key",
]
