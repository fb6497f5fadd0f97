"""The alert envelope: one sealed message to many schools, which the hub can route but not read.

The construction is the one of design.md, "The alert envelope":

1. ``H = SHA-256("alertnet/v1/header\\0" || header)`` over the canonical header;
2. payload ``AES-256-GCM(HKDF(CEK, "payload"), nonce, plaintext, aad=H)``;
3. one HPKE (X-Wing, HKDF-SHA256, AES-256-GCM) wrap of the CEK per recipient,
   ``info = "alertnet/v1/wrap\\0" || H || school_id``;
4. key commitment ``HMAC-SHA256(HKDF(CEK, "commit"), H || SHA-256(nonce || ct))``;
5. Ed25519 and ML-DSA-65 signatures over
   ``"alertnet/v1/sig\\0" || H || SHA-256(nonce || ct) || wraps_digest || commitment``.

One refinement: ``wraps_digest`` is ``SHA-256("alertnet/v1/wraps\\0" ||
SHA-256(wrap_1) || ... || SHA-256(wrap_n))`` in header recipient order, and the
list of per-wrap hashes travels with the envelope. The hub can then keep each
wrap in its own row and hand a school only its own wrap, and that school still
verifies the signature over all of them (docs/crypto.md, "Envelope").

Version 2 (docs/crypto.md, "Version 2") adds what version 1 left to the hub's
clear columns, so that everything a page shows is signed: the action type, the
item an attachment belongs to and its place there, a forward's origin, indicator
hashes, and an audience tier per recipient (``all``, ``leadership`` or one
person). Its payload has two parts under the one content key: a small
*summary* (what a list shows) and the *body*, each with its own hash, so a list
can verify and read the summary while the body stays on the hub. Version 1
envelopes still open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._encoding import U32_MAX, Reader, prefix, text16, u8, u16, u32, u64
from crypto._encoding import hkdf_sha256 as _hkdf
from crypto.errors import (
    MalformedEnvelope,
    NotARecipient,
    TamperedCiphertext,
    TamperedHeader,
    UnknownVersion,
    WrapMismatch,
)
from crypto.keys import (
    AEAD_TAG_LEN,
    ED25519_SIGNATURE_LEN,
    HPKE_ENC_LEN,
    HPKE_SUITE,
    MLDSA65_SIGNATURE_LEN,
    SchoolKeys,
    SchoolPublicKeys,
)

HEADER_VERSION = 2
ENVELOPE_VERSION = 2
#: Versions this code opens; it seals version 2 (version 1 for a version 1 header).
HEADER_VERSIONS = frozenset({1, 2})
ENVELOPE_VERSIONS = frozenset({1, 2})
#: Audience tiers (version 2): a school's staff, its leadership, or one person.
TIER_ALL = "all"
TIER_LEADERSHIP = "leadership"
TIER_PERSON_PREFIX = "person:"
MAX_INDICATORS = 64
INDICATOR_LEN = 32
ENVELOPE_HASH_LEN = 32
MAX_HEADER_BYTES = 64 * 1024
MAX_RECIPIENTS = 1000
ALERT_ID_LEN = 16
NONCE_LEN = 12
CEK_LEN = 32
COMMITMENT_LEN = 32
WRAP_HASH_LEN = 32
#: One HPKE wrap of a 32-byte CEK: enc (1120) || AES-256-GCM(CEK) (32 + 16).
WRAP_LEN = HPKE_ENC_LEN + CEK_LEN + AEAD_TAG_LEN
MAX_CIPHERTEXT_BYTES = U32_MAX

#: ML-DSA-65 context string of envelope signatures.
SIG_CONTEXT = b"alertnet/v1/sig"
_HEADER_MAGIC = b"AH"
_ENVELOPE_MAGIC = b"AE"
_HEADER_LABEL = b"alertnet/v1/header\0"
_WRAP_INFO = b"alertnet/v1/wrap\0"
_SIG_LABEL = b"alertnet/v1/sig\0"
_WRAPS_LABEL = b"alertnet/v1/wraps\0"
_ENVELOPE_HASH_LABEL = b"alertnet/v1/envelope\0"
# The design's HKDF labels for the content key, verbatim.
_PAYLOAD_LABEL = b"payload"
_SUMMARY_LABEL = b"summary"
_PAYLOAD_V2_LABEL = b"alertnet/v2/payload\0"
_COMMIT_LABEL = b"commit"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MAX_TEXT_BYTES = 0xFFFF


def new_alert_id() -> bytes:
    """A fresh 128-bit random alert id (also used for replies and attachments)."""
    return os.urandom(ALERT_ID_LEN)


def _check_text(value: object, name: str, *, required: bool) -> None:
    if not isinstance(value, str):
        raise MalformedEnvelope(f"{name} must be a str")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedEnvelope(f"{name} is not encodable as UTF-8") from None
    if required and not encoded:
        raise MalformedEnvelope(f"{name} must not be empty")
    if len(encoded) > _MAX_TEXT_BYTES:
        raise MalformedEnvelope(f"{name} is longer than {_MAX_TEXT_BYTES} bytes")


def _check_generation(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U32_MAX:
        raise MalformedEnvelope(f"{name} must be an int between 0 and 2**32 - 1")


def is_tier(value: str) -> bool:
    """``all``, ``leadership`` or ``person:<member>``."""
    return value in (TIER_ALL, TIER_LEADERSHIP) or (
        value.startswith(TIER_PERSON_PREFIX) and len(value) > len(TIER_PERSON_PREFIX)
    )


@dataclass(frozen=True, order=True)
class Recipient:
    """A recipient at the key generation its wrap was made for.

    ``school`` is the school; ``tier`` says whose keys within it (version 2):
    ``all`` is the school bundle every member holds, ``leadership`` the bundle
    of its head and safeguarding leads, ``person:<member>`` one person's own
    bundle. Version 1 knows only ``all``.
    """

    school: str
    generation: int
    tier: str = TIER_ALL

    def __post_init__(self) -> None:
        _check_text(self.school, "recipient school", required=True)
        _check_generation(self.generation, "recipient generation")
        _check_text(self.tier, "recipient tier", required=True)
        if not is_tier(self.tier):
            raise MalformedEnvelope(f"unknown recipient tier {self.tier!r}")


@dataclass(frozen=True)
class Origin:
    """What a forward names of the alert it forwards (version 2)."""

    alert_id: bytes
    sender_school: str
    envelope_hash: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.alert_id, bytes) or len(self.alert_id) != ALERT_ID_LEN:
            raise MalformedEnvelope(f"forwarded alert id must be {ALERT_ID_LEN} bytes")
        _check_text(self.sender_school, "forwarded sender school", required=True)
        if not isinstance(self.envelope_hash, bytes) or len(self.envelope_hash) != 32:
            raise MalformedEnvelope("forwarded envelope hash must be 32 bytes")


@dataclass(frozen=True)
class Header:
    """The clear, signed metadata of an alert, reply, attachment or action.

    ``recipients`` is sorted (by school, generation, tier) on construction and
    must name each (school, tier) once. ``created_at`` must be timezone-aware;
    it is converted to UTC and kept to the microsecond.

    Version 2 fields (version 1 headers must leave them at their defaults):
    ``action_type`` of a recorded action; ``attached_to`` and ``position``,
    the item an attachment belongs to and its place among that item's files;
    ``forwarded_from``, a forward's origin; ``indicators``, keyed hashes of the
    links and accounts the alert names (sorted, unique).
    """

    version: int
    alert_id: bytes
    cluster: str
    sender_school: str
    sender_generation: int
    sender_member: str
    created_at: datetime
    kind: str
    parent: bytes | None
    category: str
    severity: str
    platform: str
    tlp: str
    recipients: tuple[Recipient, ...]
    action_type: str = ""
    attached_to: bytes | None = None
    position: int = 0
    forwarded_from: Origin | None = None
    indicators: tuple[bytes, ...] = ()
    _bytes: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version not in HEADER_VERSIONS:
            raise UnknownVersion(f"header version {self.version} is not supported")
        for name in ("alert_id",):
            if not isinstance(self.alert_id, bytes) or len(self.alert_id) != ALERT_ID_LEN:
                raise MalformedEnvelope(f"{name} must be {ALERT_ID_LEN} bytes")
        for name in ("parent", "attached_to"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, bytes) or len(value) != ALERT_ID_LEN):
                raise MalformedEnvelope(f"{name} must be None or {ALERT_ID_LEN} bytes")
        for name in ("cluster", "sender_school", "sender_member", "kind"):
            _check_text(getattr(self, name), name, required=True)
        for name in ("category", "severity", "platform", "tlp", "action_type"):
            _check_text(getattr(self, name), name, required=False)
        _check_generation(self.sender_generation, "sender_generation")
        if isinstance(self.position, bool) or not isinstance(self.position, int):
            raise MalformedEnvelope("position must be an int")
        if not 0 <= self.position <= 0xFFFF:
            raise MalformedEnvelope("position must be between 0 and 65535")
        if self.forwarded_from is not None and not isinstance(self.forwarded_from, Origin):
            raise MalformedEnvelope("forwarded_from must be an Origin")
        if not isinstance(self.created_at, datetime) or self.created_at.utcoffset() is None:
            raise MalformedEnvelope("created_at must be a timezone-aware datetime")
        try:
            created_at = self.created_at.astimezone(UTC)
        except OverflowError:
            raise MalformedEnvelope("created_at is out of range") from None
        if created_at < _EPOCH:
            raise MalformedEnvelope("created_at must not be before 1970")
        object.__setattr__(self, "created_at", created_at)

        recipients = tuple(self.recipients)
        if not all(isinstance(r, Recipient) for r in recipients):
            raise MalformedEnvelope("recipients must be Recipient values")
        if not 1 <= len(recipients) <= MAX_RECIPIENTS:
            raise MalformedEnvelope(f"an envelope has 1 to {MAX_RECIPIENTS} recipients")
        recipients = tuple(sorted(recipients))
        if len({(r.school, r.tier) for r in recipients}) != len(recipients):
            raise MalformedEnvelope("a school appears more than once among the recipients")
        object.__setattr__(self, "recipients", recipients)

        indicators = tuple(self.indicators)
        if not all(isinstance(i, bytes) and len(i) == INDICATOR_LEN for i in indicators):
            raise MalformedEnvelope(f"each indicator is {INDICATOR_LEN} bytes")
        if len(indicators) > MAX_INDICATORS:
            raise MalformedEnvelope(f"at most {MAX_INDICATORS} indicators")
        indicators = tuple(sorted(set(indicators)))
        object.__setattr__(self, "indicators", indicators)

        if self.version == 1 and (
            self.action_type
            or self.attached_to is not None
            or self.position
            or self.forwarded_from is not None
            or indicators
            or any(r.tier != TIER_ALL for r in recipients)
        ):
            raise MalformedEnvelope("a version 1 header has no version 2 fields")

        encoded = self._encode()
        if len(encoded) > MAX_HEADER_BYTES:
            raise MalformedEnvelope(f"header is larger than {MAX_HEADER_BYTES} bytes")
        object.__setattr__(self, "_bytes", encoded)

    def _encode(self) -> bytes:
        micros = (self.created_at - _EPOCH) // _MICROSECOND
        parts = [
            prefix(_HEADER_MAGIC, self.version),
            self.alert_id,
            text16(self.cluster),
            text16(self.sender_school),
            u32(self.sender_generation),
            text16(self.sender_member),
            u64(micros),
            text16(self.kind),
            _optional_id(self.parent),
            text16(self.category),
            text16(self.severity),
            text16(self.platform),
            text16(self.tlp),
            u16(len(self.recipients)),
        ]
        if self.version == 1:
            parts.extend(text16(r.school) + u32(r.generation) for r in self.recipients)
            return b"".join(parts)
        parts.extend(text16(r.school) + u32(r.generation) + text16(r.tier) for r in self.recipients)
        origin = self.forwarded_from
        parts += [
            text16(self.action_type),
            _optional_id(self.attached_to),
            u16(self.position),
            u8(0)
            if origin is None
            else u8(1) + origin.alert_id + text16(origin.sender_school) + origin.envelope_hash,
            u16(len(self.indicators)),
            *self.indicators,
        ]
        return b"".join(parts)

    def to_bytes(self) -> bytes:
        """The canonical bytes (docs/crypto.md, "Header"); what ``H`` and signatures cover."""
        return self._bytes

    def header_hash(self) -> bytes:
        """``H = SHA-256("alertnet/v1/header\\0" || header bytes)``."""
        return _header_hash(self._bytes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Header:
        """Parse canonical header bytes; anything that would not re-encode identically fails."""
        if isinstance(data, bytes | bytearray | memoryview) and len(data) > MAX_HEADER_BYTES:
            raise MalformedEnvelope(f"header is larger than {MAX_HEADER_BYTES} bytes")
        reader = Reader(data, MalformedEnvelope, "header")
        version = reader.prefix(_HEADER_MAGIC, HEADER_VERSIONS)
        alert_id = reader.take(ALERT_ID_LEN)
        cluster = reader.text16()
        sender_school = reader.text16()
        sender_generation = reader.u32()
        sender_member = reader.text16()
        micros = reader.u64()
        kind = reader.text16()
        parent = _read_optional_id(reader, "parent")
        category = reader.text16()
        severity = reader.text16()
        platform = reader.text16()
        tlp = reader.text16()
        count = reader.u16()
        if count > MAX_RECIPIENTS:
            raise MalformedEnvelope(f"header: more than {MAX_RECIPIENTS} recipients")
        if version == 1:
            recipients = tuple(Recipient(reader.text16(), reader.u32()) for _ in range(count))
        else:
            recipients = tuple(
                Recipient(reader.text16(), reader.u32(), reader.text16()) for _ in range(count)
            )
        extra: dict[str, object] = {}
        if version >= 2:
            extra["action_type"] = reader.text16()
            extra["attached_to"] = _read_optional_id(reader, "attached_to")
            extra["position"] = reader.u16()
            has_origin = reader.u8()
            if has_origin not in (0, 1):
                raise MalformedEnvelope("header: forwarded_from flag must be 0 or 1")
            if has_origin:
                extra["forwarded_from"] = Origin(
                    reader.take(ALERT_ID_LEN), reader.text16(), reader.take(ENVELOPE_HASH_LEN)
                )
            indicator_count = reader.u16()
            if indicator_count > MAX_INDICATORS:
                raise MalformedEnvelope(f"header: more than {MAX_INDICATORS} indicators")
            extra["indicators"] = tuple(reader.take(INDICATOR_LEN) for _ in range(indicator_count))
        reader.end()
        try:
            created_at = _EPOCH + micros * _MICROSECOND
        except OverflowError:
            raise MalformedEnvelope("header: created_at is out of range") from None
        header = cls(
            version=version,
            alert_id=alert_id,
            cluster=cluster,
            sender_school=sender_school,
            sender_generation=sender_generation,
            sender_member=sender_member,
            created_at=created_at,
            kind=kind,
            parent=parent,
            category=category,
            severity=severity,
            platform=platform,
            tlp=tlp,
            recipients=recipients,
            **extra,  # type: ignore[arg-type]
        )
        if header.to_bytes() != bytes(data):
            raise MalformedEnvelope("header is not in canonical form")
        return header


def _optional_id(value: bytes | None) -> bytes:
    return u8(0) if value is None else u8(1) + value


def _read_optional_id(reader: Reader, name: str) -> bytes | None:
    flag = reader.u8()
    if flag not in (0, 1):
        raise MalformedEnvelope(f"header: {name} flag must be 0 or 1")
    return reader.take(ALERT_ID_LEN) if flag else None


def _header_hash(header_bytes: bytes) -> bytes:
    return hashlib.sha256(_HEADER_LABEL + header_bytes).digest()


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


def seal(
    header: Header,
    plaintext: bytes,
    recipients: Mapping[Recipient, SchoolPublicKeys],
    sender_keys: SchoolKeys,
    summary: bytes = b"",
) -> Envelope:
    """Encrypt ``plaintext`` (and, version 2, ``summary``) to every recipient in
    ``header`` and sign as the sender school.

    ``recipients`` must map exactly the header's recipients to their public keys
    of the named generation (the caller should have verified them, e.g. by
    fingerprint). Per recipient the only work is one HPKE wrap and one hash.
    """
    if set(recipients) != set(header.recipients):
        raise ValueError("the recipient keys must match the header's recipients exactly")
    for recipient, public in recipients.items():
        if public.generation != recipient.generation:
            raise ValueError(f"keys for {recipient.school} are not of the header's generation")
    if header.sender_generation != sender_keys.generation:
        raise ValueError("the sender's keys are not of the header's sender generation")
    if header.version == 1 and summary:
        raise ValueError("a version 1 envelope has no summary")

    header_bytes = header.to_bytes()
    h = _header_hash(header_bytes)
    cek = os.urandom(CEK_LEN)
    nonce = os.urandom(NONCE_LEN)
    ciphertext = AESGCM(_hkdf(cek, _PAYLOAD_LABEL)).encrypt(nonce, plaintext, h)
    body_hash = _payload_hash(nonce, ciphertext)
    summary_nonce = summary_ct = b""
    if header.version == 1:
        payload_hash = body_hash
    else:
        summary_nonce = os.urandom(NONCE_LEN)
        summary_ct = AESGCM(_hkdf(cek, _SUMMARY_LABEL)).encrypt(summary_nonce, summary, h)
        payload_hash = _payload_hash_v2(_payload_hash(summary_nonce, summary_ct), body_hash)
    commitment = _commitment(cek, h, payload_hash)

    wraps = tuple(
        (
            recipient,
            HPKE_SUITE.encrypt(
                cek,
                recipients[recipient].kem_public_key(),
                info=_wrap_info(h, recipient, header.version),
            ),
        )
        for recipient in header.recipients
    )
    wrap_hashes = tuple(wrap_hash(wrap) for _, wrap in wraps)
    message = _signed_message(h, payload_hash, _wraps_digest(wrap_hashes), commitment)
    ed_sig, ml_sig = sender_keys.sign(message, SIG_CONTEXT)
    envelope = Envelope(
        header=header_bytes,
        nonce=nonce,
        ciphertext=ciphertext,
        wraps=wraps,
        commitment=commitment,
        ed25519_signature=ed_sig,
        mldsa_signature=ml_sig,
        wrap_hashes=wrap_hashes,
        summary_nonce=summary_nonce,
        summary=summary_ct,
    )
    _prime(
        envelope,
        _header=header,
        _header_hash=h,
        _body_hash=body_hash,
        _payload_hash=payload_hash,
        _signed_message=message,
    )
    return envelope


@dataclass(frozen=True)
class Opened:
    """What opening an envelope proves and yields.

    ``header`` is the verified header; ``summary`` the verified summary (empty
    in version 1); ``body`` the verified body, or None when it was withheld;
    ``content_key`` the envelope's content key, which a forward hands on so
    that its recipients can check the original for themselves."""

    header: Header
    summary: bytes
    body: bytes | None
    content_key: bytes = field(repr=False)


def _verify_signature(envelope: Envelope, sender_public_keys: SchoolPublicKeys) -> Header:
    header = envelope.unverified_header()
    if header.sender_generation != sender_public_keys.generation:
        raise TamperedHeader(
            f"header names sender generation {header.sender_generation}, "
            f"but the trusted keys are generation {sender_public_keys.generation}"
        )
    sender_public_keys.verify(
        envelope._signed_message, envelope.ed25519_signature, envelope.mldsa_signature, SIG_CONTEXT
    )
    if len(envelope.wrap_hashes) != len(header.recipients):
        # Signed by the sender, so a broken sender rather than the hub.
        raise MalformedEnvelope("envelope: one wrap hash per recipient is required")
    return header


def _decrypt(envelope: Envelope, header: Header, cek: bytes) -> Opened:
    h = envelope._header_hash
    if len(cek) != CEK_LEN or not hmac.compare_digest(
        _commitment(cek, h, envelope._payload_hash), envelope.commitment
    ):
        raise WrapMismatch("the content key fails its commitment")
    try:
        summary = b""
        if envelope.version >= 2:
            summary = AESGCM(_hkdf(cek, _SUMMARY_LABEL)).decrypt(
                envelope.summary_nonce, envelope.summary, h
            )
        body = None
        if not envelope.withheld:
            body = AESGCM(_hkdf(cek, _PAYLOAD_LABEL)).decrypt(
                envelope.nonce, envelope.ciphertext, h
            )
    except InvalidTag:
        raise TamperedCiphertext() from None
    return Opened(header, summary, body, cek)


def open_envelope(
    envelope: Envelope,
    recipient: Recipient,
    keys: SchoolKeys,
    sender_public_keys: SchoolPublicKeys,
) -> Opened:
    """Verify everything, then decrypt; any mismatch raises and nothing is returned.

    ``recipient`` names whose wrap to open (school, ``keys``' generation, tier)
    and ``keys`` the bundle that opens it. ``sender_public_keys`` must be the
    keys the caller trusts for the header's sender school (look them up by
    ``unverified_header().sender_school`` and ``sender_generation``). Order of
    checks and their errors:

    1. header parses (MalformedEnvelope, UnknownVersion);
    2. its sender generation is that of ``sender_public_keys`` (TamperedHeader);
    3. both signatures verify (BadSignature) -- any other edit of the header,
       nonce, ciphertext, summary, commitment or wrap-hash list ends here;
    4. each supplied wrap hashes to its entry (WrapMismatch: swapped/replayed);
    5. ``recipient`` is a recipient with a wrap (NotARecipient);
    6. the wrap opens with these keys and info (WrapMismatch);
    7. the CEK matches the commitment (WrapMismatch);
    8. the summary and the body decrypt (TamperedCiphertext).
    """
    header = _verify_signature(envelope, sender_public_keys)
    position = {r: i for i, r in enumerate(header.recipients)}
    for candidate, wrap in envelope.wraps:
        i = position.get(candidate)
        if i is None or not hmac.compare_digest(wrap_hash(wrap), envelope.wrap_hashes[i]):
            raise WrapMismatch(f"the wrap given for {candidate.school} is not this envelope's")

    if recipient.generation != keys.generation:
        raise ValueError("the keys are not of the recipient's generation")
    if recipient not in position:
        sealed_to = [
            r.generation
            for r in header.recipients
            if r.school == recipient.school and r.tier == recipient.tier
        ]
        if sealed_to:
            raise NotARecipient(
                f"{recipient.school} received this at key generation {sealed_to[0]}, "
                f"not {keys.generation}: open it with that generation's keys"
            )
        raise NotARecipient(f"{recipient.school} is not a recipient of this envelope")
    my_wrap = next((w for r, w in envelope.wraps if r == recipient), None)
    if my_wrap is None:
        raise NotARecipient(f"the wrap for {recipient.school} was not supplied")
    try:
        cek = HPKE_SUITE.decrypt(
            my_wrap,
            keys.kem_private_key(),
            info=_wrap_info(envelope._header_hash, recipient, header.version),
        )
    except (InvalidTag, ValueError):
        raise WrapMismatch("the wrap does not open with this school's key") from None
    return _decrypt(envelope, header, cek)


def open_with_content_key(
    envelope: Envelope, content_key: bytes, sender_public_keys: SchoolPublicKeys
) -> Opened:
    """Open an envelope with a content key handed on by a forward: the sender's
    signatures and the key commitment are checked exactly as for a recipient,
    so the forward's readers see the original as its sender signed it."""
    header = _verify_signature(envelope, sender_public_keys)
    return _decrypt(envelope, header, content_key)


def open_(
    envelope: Envelope,
    recipient_school: str,
    keys: SchoolKeys,
    sender_public_keys: SchoolPublicKeys,
) -> tuple[Header, bytes]:
    """The header and body of an envelope sealed to a school's staff (tier
    ``all``); see :func:`open_envelope` for the checks. The body must be present."""
    opened = open_envelope(
        envelope, Recipient(recipient_school, keys.generation), keys, sender_public_keys
    )
    if opened.body is None:
        raise MalformedEnvelope("envelope: the body was withheld")
    return opened.header, opened.body


__all__ = [
    "HEADER_VERSION",
    "HEADER_VERSIONS",
    "MAX_HEADER_BYTES",
    "MAX_RECIPIENTS",
    "SIG_CONTEXT",
    "TIER_ALL",
    "TIER_LEADERSHIP",
    "TIER_PERSON_PREFIX",
    "WRAP_LEN",
    "Envelope",
    "Header",
    "Opened",
    "Origin",
    "Recipient",
    "is_tier",
    "new_alert_id",
    "open_",
    "open_envelope",
    "open_with_content_key",
    "seal",
    "wrap_hash",
]
