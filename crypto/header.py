"""The alert envelope's header: who sent what to whom, in a canonical binary
form that both signatures cover (docs/crypto.md, "Header: canonical binary"
and "Version 2"). ``crypto.envelope`` seals and opens envelopes around it and
re-exports these names.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from crypto._encoding import U32_MAX, Reader, prefix, text16, u8, u16, u32, u64
from crypto.errors import MalformedEnvelope, UnknownVersion

HEADER_VERSION = 2
#: Versions this code opens; it seals version 2 (version 1 for a version 1 header).
HEADER_VERSIONS = frozenset({1, 2})
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
_HEADER_MAGIC = b"AH"
_HEADER_LABEL = b"alertnet/v1/header\0"
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


def person_tier(member: object) -> str:
    """The tier of one named person's wrap: ``person:<member id>``."""
    return f"{TIER_PERSON_PREFIX}{member}"


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
        """Parse canonical header bytes; anything that would not re-encode identically fails.

        A header is public (it travels in clear in its envelope) and immutable,
        so the ones parsed lately are kept, by their bytes: an inbox lists the
        same alerts again and again, each with up to hundreds of recipients."""
        if isinstance(data, bytes | bytearray | memoryview) and len(data) > MAX_HEADER_BYTES:
            raise MalformedEnvelope(f"header is larger than {MAX_HEADER_BYTES} bytes")
        if cls is Header:
            return _parsed(bytes(data))
        return cls._parse(data)

    @classmethod
    def _parse(cls, data: bytes) -> Header:
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


@functools.lru_cache(maxsize=4096)
def _parsed(data: bytes) -> Header:
    """Parsed headers by their bytes (a failure is not kept: it raises again)."""
    return Header._parse(data)


def _optional_id(value: bytes | None) -> bytes:
    return u8(0) if value is None else u8(1) + value


def _read_optional_id(reader: Reader, name: str) -> bytes | None:
    flag = reader.u8()
    if flag not in (0, 1):
        raise MalformedEnvelope(f"header: {name} flag must be 0 or 1")
    return reader.take(ALERT_ID_LEN) if flag else None


def _header_hash(header_bytes: bytes) -> bytes:
    return hashlib.sha256(_HEADER_LABEL + header_bytes).digest()
