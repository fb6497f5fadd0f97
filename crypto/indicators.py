"""Indicators: the links, accounts and groups an alert names, made comparable
across schools without the hub learning them.

An indicator is normalised (a link to its lower-cased host and path, tracking
parameters dropped; an account to its handle without "@" on its platform; a
group or page to its name, case and spacing folded), then HMAC-SHA256'd under
the cluster's *correlation key*: 32 random bytes per cluster and generation,
HPKE-wrapped to each member school's X-Wing public key. The hub stores the
HMACs and so sees which alerts share an indicator, never the indicator itself:
without the key it cannot test a guess (docs/crypto.md, "Indicators").

Pure functions: no database, no Flask.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from cryptography.exceptions import InvalidTag

from crypto._encoding import Reader, prefix, u32
from crypto.errors import MalformedKey, UnwrapError
from crypto.keys import HPKE_ENC_LEN, HPKE_SUITE, SchoolKeys, SchoolPublicKeys

CORRELATION_KEY_LEN = 32
INDICATOR_HASH_LEN = 32
_WRAP_MAGIC = b"CK"
_WRAP_VERSION = 1
_WRAP_INFO = b"alertnet/v1/correlation-wrap\0"
_HMAC_LABEL = b"alertnet/v1/indicator\0"

#: Query parameters that only say how someone arrived at a page, never which page.
TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "si", "igshid", "igsh", "mc_cid", "mc_eid", "ref_src"}
)
_TRACKING_PREFIXES = ("utm_",)
_SPACES = re.compile(r"\s+")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
#: A path ``quote`` would return unchanged (ASCII letters, digits and the safe
#: characters): most links' paths, which then skip it.
_QUOTED_PATH = re.compile(r"[A-Za-z0-9/%:@!$&'()*+,;=\-._~]*")


class IndicatorKind(enum.StrEnum):
    LINK = "link"
    ACCOUNT = "account"
    GROUP = "group"


@dataclass(frozen=True, order=True)
class Indicator:
    """One normalised indicator: what is compared, and how it is shown."""

    kind: IndicatorKind
    platform: str
    value: str

    def canonical(self) -> bytes:
        """The bytes the HMAC is taken over: kind, platform and value, each
        free of zero bytes, joined by one. A link's platform is its host."""
        joined = f"{self.kind.value}\0{self.platform}\0{self.value}"
        if joined.count("\0") != 2:
            raise ValueError("an indicator holds no zero byte")
        return joined.encode("utf-8")

    def label(self) -> str:
        if self.kind == IndicatorKind.LINK:
            return self.value
        if self.kind == IndicatorKind.ACCOUNT:
            return f"@{self.value}" + (f" on {self.platform}" if self.platform else "")
        return self.value + (f" on {self.platform}" if self.platform else "")


def _fold(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(_TRACKING_PREFIXES)


def normalise_link(url: str) -> Indicator | None:
    """A link's indicator: ``host/path?query`` with the host lower-cased
    (``www.`` and ``m.`` dropped), default ports, the fragment, a trailing
    ``/`` and tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``si``,
    ``igshid``...) removed, the remaining parameters sorted. None when nothing
    identifying is left (no host)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    for prefix_ in ("www.", "m."):
        if host.startswith(prefix_) and len(host) > len(prefix_):
            host = host[len(prefix_) :]
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path
    if not _QUOTED_PATH.fullmatch(path):
        path = quote(path, safe=_PATH_SAFE)
    path = path.rstrip("/")
    query = (
        sorted(
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if not _tracking(name)
        )
        if parts.query
        else []
    )
    value = host + path + (f"?{urlencode(query)}" if query else "")
    return Indicator(IndicatorKind.LINK, host, value)


def normalise_account(handle: str, platform: str) -> Indicator | None:
    """An account's indicator: the handle without a leading ``@``, folded to
    lower case, on its platform. None when only ``@`` or spaces were given."""
    value = _fold(handle).lstrip("@").strip()
    if not value:
        return None
    return Indicator(IndicatorKind.ACCOUNT, platform.lower(), value)


def normalise_group(name: str, platform: str) -> Indicator | None:
    """A group's or page's indicator: its name, case and spacing folded, on its platform."""
    value = _fold(name)
    if not value:
        return None
    return Indicator(IndicatorKind.GROUP, platform.lower(), value)


def indicator_hash(key: bytes, indicator: Indicator) -> bytes:
    """``HMAC-SHA256(key, "alertnet/v1/indicator\\0" || canonical)``."""
    return indicator_hashes(key, [indicator])[0]


def indicator_hashes(key: bytes, indicators: Sequence[Indicator]) -> list[bytes]:
    """``indicator_hash`` of each of ``indicators``, in order. The key and the
    label are absorbed once and the state copied per indicator: a reader takes
    one per indicator and generation on every alert opened, and a fresh HMAC
    (``hmac.digest``) each cost half as much again (OpenSSL 3 fetches the
    algorithm per call)."""
    if len(key) != CORRELATION_KEY_LEN:
        raise ValueError("a correlation key is 32 bytes")
    keyed = hmac.new(key, _HMAC_LABEL, hashlib.sha256)
    hashes = []
    for indicator in indicators:
        one = keyed.copy()
        one.update(indicator.canonical())
        hashes.append(one.digest())
    return hashes


def new_correlation_key() -> bytes:
    return os.urandom(CORRELATION_KEY_LEN)


def _wrap_info(
    cluster_id: uuid.UUID, generation: int, school_id: uuid.UUID, school_generation: int
) -> bytes:
    """Binds a wrap to its cluster, key generation, school and the school's key
    generation, so a wrap moved to another row does not open."""
    return b"".join(
        [
            _WRAP_INFO,
            cluster_id.bytes,
            u32(generation),
            school_id.bytes,
            u32(school_generation),
        ]
    )


def wrap_correlation_key(
    key: bytes,
    cluster_id: uuid.UUID,
    generation: int,
    school_id: uuid.UUID,
    school_public: SchoolPublicKeys,
) -> bytes:
    """HPKE (X-Wing) the cluster's correlation key to one school's public key.
    Layout: ``"CK" 01 || enc (1120) || ct``."""
    if len(key) != CORRELATION_KEY_LEN:
        raise ValueError("a correlation key is 32 bytes")
    info = _wrap_info(cluster_id, generation, school_id, school_public.generation)
    sealed = HPKE_SUITE.encrypt(key, school_public.kem_public_key(), info=info)
    return prefix(_WRAP_MAGIC, _WRAP_VERSION) + sealed


def unwrap_correlation_key(
    blob: bytes,
    cluster_id: uuid.UUID,
    generation: int,
    school_id: uuid.UUID,
    school_keys: SchoolKeys,
) -> bytes:
    """Open a school's wrap of the correlation key with the school's bundle of
    the generation it was wrapped to; UnwrapError if it does not open."""
    reader = Reader(blob, MalformedKey, "correlation key wrap")
    reader.prefix(_WRAP_MAGIC, frozenset({_WRAP_VERSION}))
    sealed = reader.rest()
    if len(sealed) < HPKE_ENC_LEN + CORRELATION_KEY_LEN:
        raise MalformedKey("correlation key wrap: truncated")
    info = _wrap_info(cluster_id, generation, school_id, school_keys.generation)
    try:
        key = HPKE_SUITE.decrypt(sealed, school_keys.kem_private_key(), info=info)
    except (InvalidTag, ValueError):
        raise UnwrapError() from None
    if len(key) != CORRELATION_KEY_LEN:
        raise MalformedKey("correlation key wrap: wrong key length")
    return key


__all__ = [
    "CORRELATION_KEY_LEN",
    "INDICATOR_HASH_LEN",
    "TRACKING_PARAMETERS",
    "Indicator",
    "IndicatorKind",
    "indicator_hash",
    "indicator_hashes",
    "new_correlation_key",
    "normalise_account",
    "normalise_group",
    "normalise_link",
    "unwrap_correlation_key",
    "wrap_correlation_key",
]
