"""The alert envelope as bytes: its parts, the hashes that bind them, and its
serialisation (docs/crypto.md, "Envelope serialisation"). ``crypto.envelope``
seals and opens envelopes and re-exports ``Envelope``; the helpers named with
a leading underscore are shared with it and with nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

from crypto._encoding import U32_MAX, Reader, prefix, text16, u8, u16, u32
from crypto._encoding import hkdf_sha256 as _hkdf
from crypto.errors import (
    MalformedEnvelope,
    NotARecipient,
    UnknownVersion,
)
from crypto.header import (
    MAX_HEADER_BYTES,
    MAX_RECIPIENTS,
    Header,
    Recipient,
    _header_hash,
)
from crypto.keys import (
    AEAD_TAG_LEN,
    ED25519_SIGNATURE_LEN,
    HPKE_ENC_LEN,
    MLDSA65_SIGNATURE_LEN,
)

ENVELOPE_VERSION = 2
#: Versions this code opens.
ENVELOPE_VERSIONS = frozenset({1, 2})
NONCE_LEN = 12
CEK_LEN = 32
COMMITMENT_LEN = 32
WRAP_HASH_LEN = 32
#: One HPKE wrap of a 32-byte CEK: enc (1120) || AES-256-GCM(CEK) (32 + 16).
WRAP_LEN = HPKE_ENC_LEN + CEK_LEN + AEAD_TAG_LEN
MAX_CIPHERTEXT_BYTES = U32_MAX

#: ML-DSA-65 context string of envelope signatures.
SIG_CONTEXT = b"alertnet/v1/sig"
_ENVELOPE_MAGIC = b"AE"
_WRAP_INFO = b"alertnet/v1/wrap\0"
_SIG_LABEL = b"alertnet/v1/sig\0"
_WRAPS_LABEL = b"alertnet/v1/wraps\0"
_ENVELOPE_HASH_LABEL = b"alertnet/v1/envelope\0"
# The design's HKDF labels for the content key, verbatim.
_PAYLOAD_LABEL = b"payload"
_SUMMARY_LABEL = b"summary"
_PAYLOAD_V2_LABEL = b"alertnet/v2/payload\0"
_COMMIT_LABEL = b"commit"


def _payload_hash(nonce: bytes, ciphertext: bytes) -> bytes:
    digest = hashlib.sha256(nonce)
    digest.update(ciphertext)
    return digest.digest()


def _payload_hash_v2(summary_hash: bytes, body_hash: bytes) -> bytes:
    """Version 2: the summary's and the body's hashes, so either may be checked alone."""
    return hashlib.sha256(_PAYLOAD_V2_LABEL + summary_hash + body_hash).digest()


def wrap_hash(wrap: bytes) -> bytes:
    """``SHA-256(wrap)``: what the envelope lists for each wrap (and what the hub may store)."""
    return hashlib.sha256(wrap).digest()


def _wraps_digest(wrap_hashes: Iterable[bytes]) -> bytes:
    return hashlib.sha256(_WRAPS_LABEL + b"".join(wrap_hashes)).digest()


def _signed_message(
    header_hash: bytes, payload_hash: bytes, wraps_digest: bytes, commitment: bytes
) -> bytes:
    return _SIG_LABEL + header_hash + payload_hash + wraps_digest + commitment


def _commitment(cek: bytes, header_hash: bytes, payload_hash: bytes) -> bytes:
    return hmac.new(_hkdf(cek, _COMMIT_LABEL), header_hash + payload_hash, "sha256").digest()


def _wrap_info(header_hash: bytes, recipient: Recipient, version: int) -> bytes:
    info = _WRAP_INFO + header_hash + recipient.school.encode("utf-8")
    return info if version == 1 else info + b"\0" + recipient.tier.encode("utf-8")


@dataclass(frozen=True)
class Envelope:
    """A sealed alert: the clear header, the encrypted payload, wraps and signatures.

    ``wraps`` may hold every recipient's wrap (as sealed) or only some (as the hub
    hands them out); ``wrap_hashes`` always lists all of them in header order,
    because the signature covers their digest. ``wraps`` is sorted by recipient on
    construction.

    Version 2 adds the sealed summary (``summary_nonce``, ``summary``). Its body
    may be *withheld* (``summary_only()``): then ``nonce`` and ``ciphertext`` are
    empty and ``body_hash`` stands in for them, which is enough to check the
    signature and read the summary.
    """

    header: bytes
    nonce: bytes
    ciphertext: bytes
    wraps: tuple[tuple[Recipient, bytes], ...]
    commitment: bytes
    ed25519_signature: bytes
    mldsa_signature: bytes
    wrap_hashes: tuple[bytes, ...]
    summary_nonce: bytes = b""
    summary: bytes = b""
    body_hash: bytes = b""

    def __post_init__(self) -> None:
        def require(ok: bool, reason: str) -> None:
            if not ok:
                raise MalformedEnvelope(f"envelope: {reason}")

        for name in (
            "header",
            "nonce",
            "ciphertext",
            "commitment",
            "ed25519_signature",
            "mldsa_signature",
            "summary_nonce",
            "summary",
            "body_hash",
        ):
            require(isinstance(getattr(self, name), bytes), f"{name} must be bytes")
        require(len(self.header) <= MAX_HEADER_BYTES, "header is too large")
        require(len(self.header) >= 3, "header is truncated")
        version = self.header[2]
        if version not in ENVELOPE_VERSIONS:
            raise UnknownVersion(f"header version {version} is not supported")
        if self.withheld:
            require(version >= 2, "only version 2 withholds the body")
            require(len(self.body_hash) == 32, "the body hash is 32 bytes")
            require(not self.nonce and not self.ciphertext, "a withheld body has no ciphertext")
        else:
            require(not self.body_hash, "a body hash stands only for a withheld body")
            require(len(self.nonce) == NONCE_LEN, f"nonce must be {NONCE_LEN} bytes")
            require(len(self.ciphertext) >= AEAD_TAG_LEN, "ciphertext is truncated")
            require(len(self.ciphertext) <= MAX_CIPHERTEXT_BYTES, "ciphertext is too large")
        if version >= 2:
            require(len(self.summary_nonce) == NONCE_LEN, f"summary nonce is {NONCE_LEN} bytes")
            require(len(self.summary) >= AEAD_TAG_LEN, "summary is truncated")
            require(len(self.summary) <= MAX_CIPHERTEXT_BYTES, "summary is too large")
        else:
            require(not self.summary_nonce and not self.summary, "version 1 has no summary")
        require(len(self.commitment) == COMMITMENT_LEN, "commitment must be 32 bytes")
        require(
            len(self.ed25519_signature) == ED25519_SIGNATURE_LEN,
            f"an Ed25519 signature is {ED25519_SIGNATURE_LEN} bytes",
        )
        require(
            len(self.mldsa_signature) == MLDSA65_SIGNATURE_LEN,
            f"an ML-DSA-65 signature is {MLDSA65_SIGNATURE_LEN} bytes",
        )
        hashes = tuple(self.wrap_hashes)
        require(len(hashes) <= MAX_RECIPIENTS, "too many wrap hashes")
        require(
            all(isinstance(h, bytes) and len(h) == WRAP_HASH_LEN for h in hashes),
            "each wrap hash is 32 bytes",
        )
        object.__setattr__(self, "wrap_hashes", hashes)
        wraps = tuple(self.wraps)
        require(len(wraps) <= MAX_RECIPIENTS, "too many wraps")
        for pair in wraps:
            require(
                isinstance(pair, tuple)
                and len(pair) == 2
                and isinstance(pair[0], Recipient)
                and isinstance(pair[1], bytes)
                and len(pair[1]) == WRAP_LEN,
                f"each wrap is (Recipient, {WRAP_LEN} bytes)",
            )
        wraps = tuple(sorted(wraps, key=lambda pair: pair[0]))
        require(len({r for r, _ in wraps}) == len(wraps), "a recipient has two wraps")
        object.__setattr__(self, "wraps", wraps)

    @property
    def version(self) -> int:
        return self.header[2]

    @property
    def withheld(self) -> bool:
        """Whether the body was left out (``summary_only``)."""
        return bool(self.body_hash)

    def wrap_for(self, recipient: Recipient) -> bytes:
        """The wrap of one recipient, e.g. to store it in that recipient's row."""
        for candidate, wrap in self.wraps:
            if candidate == recipient:
                return wrap
        raise NotARecipient(f"no wrap for {recipient.school} at generation {recipient.generation}")

    def without_wraps(self) -> Envelope:
        """The part every recipient shares (the hub stores wraps per recipient row)."""
        return self._keep(replace(self, wraps=()))

    def with_wraps(self, wraps: Iterable[tuple[Recipient, bytes]]) -> Envelope:
        """Rebuild an envelope from the shared part and stored wraps (usually one)."""
        return self._keep(replace(self, wraps=tuple(wraps)))

    def for_recipient(self, recipient: Recipient) -> Envelope:
        """This envelope with only ``recipient``'s wrap: what the hub hands that school."""
        return self.with_wraps([(recipient, self.wrap_for(recipient))])

    def summary_only(self) -> Envelope:
        """Version 2: the envelope without its body, for lists (the signature
        still verifies, through the body's hash)."""
        if self.version < 2:
            raise MalformedEnvelope("envelope: version 1 has no summary to keep alone")
        if self.withheld:
            return self
        return self._keep(replace(self, nonce=b"", ciphertext=b"", body_hash=self._body_hash))

    def _keep(self, other: Envelope) -> Envelope:
        """Carry over digests that the change does not affect: the header, the
        payload's hash and what is signed depend neither on which wraps are
        present nor on whether the body travels or only its hash."""
        known = {
            name: self.__dict__[name]
            for name in ("_header", "_header_hash", "_payload_hash", "_signed_message")
            if name in self.__dict__
        }
        _prime(other, **known)
        return other

    def unverified_header(self) -> Header:
        """Parse the header WITHOUT checking signatures (routing, display of hub metadata)."""
        return self._header

    # Computed once per instance (a frozen dataclass without slots keeps
    # cached_property values in the instance __dict__, outside the fields, so
    # equality and replace() are unaffected; replace() starts a fresh cache).
    @cached_property
    def _header(self) -> Header:
        return Header.from_bytes(self.header)

    @cached_property
    def _header_hash(self) -> bytes:
        return _header_hash(self.header)

    @cached_property
    def _body_hash(self) -> bytes:
        return self.body_hash or _payload_hash(self.nonce, self.ciphertext)

    @cached_property
    def _payload_hash(self) -> bytes:
        if self.version == 1:
            return self._body_hash
        return _payload_hash_v2(_payload_hash(self.summary_nonce, self.summary), self._body_hash)

    @cached_property
    def _signed_message(self) -> bytes:
        return _signed_message(
            self._header_hash,
            self._payload_hash,
            _wraps_digest(self.wrap_hashes),
            self.commitment,
        )

    def envelope_hash(self) -> bytes:
        """A stable id of the signed content for the audit log.

        ``SHA-256("alertnet/v1/envelope\\0" || signed message)``; the same for every
        per-recipient view of one envelope (with or without its body), and
        independent of the (randomised) ML-DSA signature bytes.
        """
        return hashlib.sha256(_ENVELOPE_HASH_LABEL + self._signed_message).digest()

    def to_bytes(self) -> bytes:
        """Serialise (docs/crypto.md, "Envelope serialisation"); parsing checks every length."""
        version = self.version
        parts = [prefix(_ENVELOPE_MAGIC, version), u32(len(self.header)), self.header]
        if version >= 2:
            parts += [self.summary_nonce, u32(len(self.summary)), self.summary]
            parts += [u8(1), self.body_hash] if self.withheld else [u8(0)]
        if not self.withheld:
            parts += [self.nonce, u32(len(self.ciphertext)), self.ciphertext]
        parts += [
            self.commitment,
            self.ed25519_signature,
            self.mldsa_signature,
            u16(len(self.wrap_hashes)),
            *self.wrap_hashes,
            u16(len(self.wraps)),
        ]
        for recipient, wrap in self.wraps:
            parts += [text16(recipient.school), u32(recipient.generation)]
            if version >= 2:
                parts.append(text16(recipient.tier))
            parts.append(wrap)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse an envelope; MalformedEnvelope for truncation, garbage or non-canonical order."""
        reader = Reader(data, MalformedEnvelope, "envelope")
        version = reader.prefix(_ENVELOPE_MAGIC, ENVELOPE_VERSIONS)
        header_len = reader.u32()
        if header_len > MAX_HEADER_BYTES:
            raise MalformedEnvelope(f"envelope: header is larger than {MAX_HEADER_BYTES} bytes")
        header = reader.take(header_len)
        parsed = Header.from_bytes(header)  # first, so a bad header is the error reported
        if parsed.version != version:
            raise MalformedEnvelope("envelope: its version is not its header's")
        summary_nonce = summary = body_hash = nonce = ciphertext = b""
        withheld = False
        if version >= 2:
            summary_nonce = reader.take(NONCE_LEN)
            summary = reader.take(reader.u32())
            flag = reader.u8()
            if flag not in (0, 1):
                raise MalformedEnvelope("envelope: body flag must be 0 or 1")
            withheld = flag == 1
            if withheld:
                body_hash = reader.take(32)
        if not withheld:
            nonce = reader.take(NONCE_LEN)
            ciphertext = reader.take(reader.u32())
        commitment = reader.take(COMMITMENT_LEN)
        ed_sig = reader.take(ED25519_SIGNATURE_LEN)
        ml_sig = reader.take(MLDSA65_SIGNATURE_LEN)
        hash_count = reader.u16()
        if hash_count > MAX_RECIPIENTS:
            raise MalformedEnvelope("envelope: too many wrap hashes")
        wrap_hashes = tuple(reader.take(WRAP_HASH_LEN) for _ in range(hash_count))
        wrap_count = reader.u16()
        if wrap_count > MAX_RECIPIENTS:
            raise MalformedEnvelope("envelope: too many wraps")
        wraps = tuple(
            (
                Recipient(reader.text16(), reader.u32())
                if version == 1
                else Recipient(reader.text16(), reader.u32(), reader.text16()),
                reader.take(WRAP_LEN),
            )
            for _ in range(wrap_count)
        )
        reader.end()
        envelope = cls(
            header=header,
            nonce=nonce,
            ciphertext=ciphertext,
            wraps=wraps,
            commitment=commitment,
            ed25519_signature=ed_sig,
            mldsa_signature=ml_sig,
            wrap_hashes=wrap_hashes,
            summary_nonce=summary_nonce,
            summary=summary,
            body_hash=body_hash,
        )
        if tuple(r for r, _ in envelope.wraps) != tuple(r for r, _ in wraps):
            raise MalformedEnvelope("envelope: wraps are not in canonical order")
        _prime(envelope, _header=parsed)
        return envelope


def _prime(envelope: Envelope, **computed: object) -> None:
    """Fill ``envelope``'s cached properties with values already computed for
    exactly its fields (while parsing or sealing it), so they are not redone."""
    for name, value in computed.items():
        assert isinstance(getattr(type(envelope), name), cached_property)
        envelope.__dict__[name] = value
